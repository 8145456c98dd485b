
/*
 * Billable rates: /api/v1/billing/rates[/{id}], for admins. A rate is of
 * a person, a role, a project, a person or role on a project, or the
 * workspace's default, and takes effect on its date. Rates are not
 * edited: a new one from a later date changes what is billed from then
 * on, and what was billed before keeps its rate. A rate has a currency
 * (the workspace's by default) and applies only to projects that bill in
 * it, so no amount adds two currencies (096_budget_figures_currency.sql).
 */

/* SQL: sql/tenant/076_budgets_rates.sql,
 * 096_budget_figures_currency.sql */
#include "ngx_kanban_budget_routes.h"


ngx_kanban_field_t  ngx_kanban_billing_rate_fields[] = {
    { "user_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "role", NGX_KANBAN_FIELD_STRING, 0, 1, 40, NULL, NULL },
    { "project_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "hourly_rate", NGX_KANBAN_FIELD_NUMBER, 1, 0, 0, NULL, NULL },
    { "currency", NGX_KANBAN_FIELD_STRING, 0, 3, 3, NULL, NULL },
    { "effective_from", NGX_KANBAN_FIELD_DATE, 1, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_billing_rates_list = {
    ngx_kanban_pg_stmt("billing_rates_list",
    "SELECT * FROM billing_rates_list($1::uuid, $2::uuid)"),
    { "query_uuid:user_id", "query_uuid:project_id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_billing_rate_create = {
    ngx_kanban_pg_stmt("billing_rate_create",
    "SELECT * FROM billing_rate_create($1::uuid, $2::jsonb)"),
    { "actor", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_billing_rate_delete = {
    ngx_kanban_pg_stmt("billing_rate_delete",
    "SELECT * FROM billing_rate_delete($1::uuid, $2::uuid)"),
    { "actor", "uuid:id", NULL },
    NULL
};
