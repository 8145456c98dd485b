
/*
 * The built-in digest agent: the project's last day (tasks created,
 * completed, overdue) in a few sentences and highlights, written as a
 * comment on the task by the agent, which notifies the task's people and
 * the one who asked (agent_digest_answer(),
 * sql/tenant/064_agents_builtin_sweep.sql).
 */

#include "ngx_kanban_agents.h"


static ngx_kanban_field_t  ngx_kanban_agents_highlight[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 300, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agents_digest_answer[] = {
    { "summary", NGX_KANBAN_FIELD_STRING, 1, 1, 2000, NULL, NULL },
    { "highlights", NGX_KANBAN_FIELD_ARRAY, 1, 0, 10,
      ngx_kanban_agents_highlight, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_agents_builtin_t  ngx_kanban_agents_digest = {
    "digest",
    "You write a project's daily digest for its team. You are given JSON "
    "data: the project, the tasks created and completed in the last day "
    "and the overdue ones. Answer with one JSON object and nothing else: "
    "{\"summary\": string, at most 2000 characters, plain sentences; "
    "\"highlights\": up to 10 strings of at most 300 characters}.",
    ngx_kanban_agents_digest_answer
};
