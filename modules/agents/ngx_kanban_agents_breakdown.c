
/*
 * The built-in breakdown agent: subtasks with estimates and acceptance
 * criteria, proposed as a question; a person's "yes" creates them as that
 * person (agent_breakdown_prompted(), sql/tenant/057_agents.sql).
 */

#include "ngx_kanban_agents.h"


static ngx_kanban_field_t  ngx_kanban_agents_subtask_fields[] = {
    { "title", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "estimate_minutes", NGX_KANBAN_FIELD_INTEGER, 1, 0, 100000, NULL,
      NULL },
    { "acceptance_criteria", NGX_KANBAN_FIELD_STRING, 1, 1, 1000, NULL,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agents_subtask[] = {
    { "", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0, ngx_kanban_agents_subtask_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agents_breakdown_answer[] = {
    { "subtasks", NGX_KANBAN_FIELD_ARRAY, 1, 1, 8, ngx_kanban_agents_subtask,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_agents_builtin_t  ngx_kanban_agents_breakdown = {
    "breakdown",
    "You break one software task into subtasks. You are given the task as "
    "JSON data: its key, title and description. Answer with one JSON "
    "object and nothing else: {\"subtasks\": [{\"title\": string, at most "
    "200 characters, \"estimate_minutes\": integer, \"acceptance_criteria\": "
    "string, at most 1000 characters}]}, 2 to 8 subtasks.",
    ngx_kanban_agents_breakdown_answer
};
