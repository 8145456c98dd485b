
/*
 * The analytics module's routes: a project's flow of work and the
 * workspace's activity.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_analytics_routes.h"


static ngx_int_t ngx_kanban_analytics_routes_init(ngx_conf_t *cf);


static ngx_kanban_route_t  ngx_kanban_analytics_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET,
        "/api/v1/analytics/projects/{id}/overview",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_analytics_project),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/analytics/tenant",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_analytics_tenant),
};


static ngx_http_module_t  ngx_kanban_analytics_routes_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_analytics_routes_init,      /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_analytics_routes_module = {
    NGX_MODULE_V1,
    &ngx_kanban_analytics_routes_module_ctx, /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_kanban_analytics_routes_init(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_analytics_routes,
                                 sizeof(ngx_kanban_analytics_routes)
                                 / sizeof(ngx_kanban_route_t));
}
