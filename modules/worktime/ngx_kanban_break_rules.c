
/*
 * The break rules: /api/v1/timesheets/break-rules. Each says how long a
 * day's breaks must be at least once it has worked more than so many
 * minutes (30 after 6 hours by default); the working-time report checks
 * every day against the strictest that applies. Admins set them (at most
 * five; [] for none); everyone reads them.
 */

/* SQL: sql/tenant/077_working_time.sql */
#include "ngx_kanban_worktime_routes.h"


static ngx_kanban_field_t  ngx_kanban_break_rule_fields[] = {
    { "after_minutes", NGX_KANBAN_FIELD_INTEGER, 1, 1, 1440, NULL, NULL },
    { "break_minutes", NGX_KANBAN_FIELD_INTEGER, 1, 1, 240, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_break_rule[] = {
    { "", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0, ngx_kanban_break_rule_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_break_rules_fields[] = {
    { "rules", NGX_KANBAN_FIELD_ARRAY, 1, 0, 5, ngx_kanban_break_rule, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_break_rules_get = {
    ngx_kanban_pg_stmt("break_rules_get",
    "SELECT 200, break_rules_json()::text"),
    { NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_break_rules_put = {
    ngx_kanban_pg_stmt("break_rules_put",
    "SELECT * FROM break_rules_put($1::uuid, $2::jsonb)"),
    { "actor", "body", NULL },
    NULL
};
