
/*
 * A project's budget: /api/v1/projects/{id}/budget. Hours, money or both;
 * what the project has spent, billed and has left; the 80 % and 100 %
 * thresholds it has crossed (each notified once to its managers, by the
 * time entries' trigger). Its managers and admins read and set it.
 */

/* SQL: sql/tenant/076_budgets_rates.sql */
#include "ngx_kanban_budget_routes.h"


ngx_kanban_field_t  ngx_kanban_budget_fields[] = {
    { "hours", NGX_KANBAN_FIELD_NUMBER, 0, 0, 0, NULL, NULL },
    { "amount", NGX_KANBAN_FIELD_NUMBER, 0, 0, 0, NULL, NULL },
    { "currency", NGX_KANBAN_FIELD_STRING, 0, 3, 3, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_budget_get = {
    ngx_kanban_pg_stmt("budget_get",
    "SELECT * FROM budget_get($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_budget_put = {
    ngx_kanban_pg_stmt("budget_put",
    "SELECT * FROM budget_put($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};
