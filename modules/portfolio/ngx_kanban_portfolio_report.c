
/*
 * The weekly status report: GET /api/v1/portfolio/report?week=YYYY-Www
 * (this week by default), JSON or CSV (Accept: text/csv, or
 * format=csv). A week that has ended is frozen: its first reading after
 * the end is stored and answered ever after (portfolio_report(),
 * 025_portfolio_updates.sql). Admins and project managers read each
 * project's budget figures in it (096_budget_figures_currency.sql).
 */

/* SQL: sql/tenant/025_portfolio_updates.sql,
 * 096_budget_figures_currency.sql */
#include "ngx_kanban_portfolio.h"


static ngx_kanban_sql_t  ngx_kanban_portfolio_report_get = {
    ngx_kanban_pg_stmt("portfolio_report_get",
    "SELECT * FROM portfolio_report($1, $2, $3,"
    "                               $4 IN ('admin', 'project_manager'))"),
    { "query:week", "accept", "query_enum:format=json|csv", "role", NULL },
    NULL
};


ngx_kanban_route_t  ngx_kanban_portfolio_report_routes[] = {

    { NGX_HTTP_GET, "/api/v1/portfolio/report", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_sql_handler, NULL,
      ngx_null_string, &ngx_kanban_portfolio_report_get },
};

ngx_uint_t  ngx_kanban_portfolio_report_nroutes =
    sizeof(ngx_kanban_portfolio_report_routes) / sizeof(ngx_kanban_route_t);
