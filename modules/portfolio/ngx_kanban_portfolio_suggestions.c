
/*
 * Who should take a task: GET /api/v1/tasks/{id}/assignee-suggestions
 * ranks the people of the project's team by the skills the task requires,
 * their free capacity this week and their work in progress, each with the
 * reasons in words (assignee_suggestions(), 024_portfolio_assignment.sql).
 */

/* SQL: sql/tenant/024_portfolio_assignment.sql */
#include "ngx_kanban_portfolio.h"


/* no row (404) for a task that is not there */
static ngx_kanban_sql_t  ngx_kanban_portfolio_suggestions_get = {
    ngx_kanban_pg_stmt("portfolio_suggestions_get",
    "SELECT 200, s FROM assignee_suggestions($1::uuid) s"
    " WHERE s IS NOT NULL"),
    { "uuid:id", NULL },
    NULL
};


ngx_kanban_route_t  ngx_kanban_portfolio_suggestions_routes[] = {

    { NGX_HTTP_GET, "/api/v1/tasks/{id}/assignee-suggestions",
      NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MEMBER,
      ngx_kanban_sql_handler, NULL, ngx_null_string,
      &ngx_kanban_portfolio_suggestions_get },
};

ngx_uint_t  ngx_kanban_portfolio_suggestions_nroutes =
    sizeof(ngx_kanban_portfolio_suggestions_routes)
    / sizeof(ngx_kanban_route_t);
