
/*
 * The analytics module's routes: a project's flow of work and the
 * workspace's activity.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_analytics_routes.h"


static ngx_kanban_route_t  ngx_kanban_analytics_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET,
        "/api/v1/analytics/projects/{id}/overview",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_analytics_project),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/analytics/tenant",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_analytics_tenant),
};


ngx_kanban_routes_module(ngx_http_kanban_analytics_routes_module,
                         ngx_kanban_analytics_routes);
