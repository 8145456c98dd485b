
/*
 * The working-time report: /api/v1/timesheets/working-time?user_id&from&to
 * (by default the caller and the current week). Each day's target, worked
 * minutes, breaks against the break rules and what made it a day off;
 * each week's overtime and the balance carried into it. Whoever may read
 * the person's time reads it.
 */

/* SQL: sql/tenant/077_working_time.sql */
#include "ngx_kanban_worktime_routes.h"


ngx_kanban_sql_t  ngx_kanban_working_time_get = {
    ngx_kanban_pg_stmt("working_time_get",
    "SELECT * FROM working_time($1::uuid, $2, $3::uuid, $4::date,"
    "                           $5::date)"),
    { "actor", "role", "query_uuid:user_id", "query_date:from",
      "query_date:to", NULL },
    NULL
};
