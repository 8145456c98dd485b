
/*
 * Moving in: POST /api/v1/timesheets/import?source=toggl|clockify|kimai,
 * the CSV export of one of those trackers as the body (text/csv, at most
 * client_max_body_size). Its rows become time entries, matched to the
 * workspace's people (by email, else name) and projects (by name or key);
 * people import their own rows, admins anyone's. All or nothing: every
 * bad row is named and nothing is kept.
 */

/* SQL: sql/tenant/078_time_import.sql */
#include "ngx_kanban_worktime_routes.h"


ngx_kanban_sql_t  ngx_kanban_time_import = {
    ngx_kanban_pg_stmt("time_import",
    "SELECT * FROM time_import($1::uuid, $2, $3, $4::bytea)"),
    { "actor", "role", "query:source", "bytes", NULL },
    NULL
};
