
/*
 * The built-in triage agent: a priority, labels and an assignee for a
 * task, proposed as a question, never applied by itself. Its data is the
 * task, the labels the workspace uses and the people with skills (ids,
 * names and skills, no addresses); what it names outside those is dropped
 * before it is proposed (agent_triage_answer()), and a person's "yes"
 * applies the rest as that person (agent_triage_prompted(),
 * sql/tenant/064_agents_builtin_sweep.sql).
 */

#include "ngx_kanban_agents.h"


static char *ngx_kanban_agents_priority_check(ngx_str_t *value,
    char **message);


static ngx_kanban_field_t  ngx_kanban_agents_label[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 100, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agents_triage_answer[] = {
    { "priority", NGX_KANBAN_FIELD_STRING, 1, 1, 16, NULL,
      ngx_kanban_agents_priority_check },
    { "labels", NGX_KANBAN_FIELD_ARRAY, 1, 0, 5, ngx_kanban_agents_label,
      NULL },
    { "assignee_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "reason", NGX_KANBAN_FIELD_STRING, 1, 1, 500, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_agents_builtin_t  ngx_kanban_agents_triage = {
    "triage",
    "You triage one new software task. You are given JSON data: the task "
    "(key, title, description), the labels the team uses and the people "
    "with their skills (name and level 1 to 5). Answer with one JSON "
    "object and nothing else: {\"priority\": one of \"low\", \"medium\", "
    "\"high\", \"urgent\"; \"labels\": up to 5 of the given labels; "
    "\"assignee_id\": the id of the person whose skills fit best, or null; "
    "\"reason\": string, at most 500 characters}.",
    ngx_kanban_agents_triage_answer
};


static char *
ngx_kanban_agents_priority_check(ngx_str_t *value, char **message)
{
    static ngx_str_t  priorities[] = {
        ngx_string("low"), ngx_string("medium"), ngx_string("high"),
        ngx_string("urgent")
    };

    ngx_uint_t  i;

    for (i = 0; i < sizeof(priorities) / sizeof(ngx_str_t); i++) {
        if (value->len == priorities[i].len
            && ngx_strncmp(value->data, priorities[i].data, value->len) == 0)
        {
            return NULL;
        }
    }

    *message = "priority is low, medium, high or urgent";

    return "invalid";
}
