
/*
 * Analytics: GET /api/v1/analytics/projects/{id}/overview (anyone who
 * reads the project) and GET /api/v1/analytics/tenant (admins), over
 * ?from=&to= (dates; the last 30 days by default). PostgreSQL works the
 * figures out of the tasks, the audit trail and the share-link visits
 * (sql/tenant/013_analytics.sql).
 */

/* SQL: sql/tenant/015_workspace_calendar.sql */
#include "ngx_kanban_analytics_routes.h"


ngx_kanban_sql_t  ngx_kanban_analytics_project = {
    ngx_kanban_pg_stmt("analytics_project",
    "SELECT * FROM project_analytics($1::uuid, $2::date, $3::date)"),
    { "uuid:id", "query_date:from", "query_date:to", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_analytics_tenant = {
    ngx_kanban_pg_stmt("analytics_tenant",
    "SELECT * FROM tenant_analytics($1::date, $2::date)"),
    { "query_date:from", "query_date:to", NULL },
    NULL
};
