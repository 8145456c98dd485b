
/*
 * The tenant module's routes: a workspace's sign-up (on the platform's
 * host), and the workspace's own settings.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_tenant_routes.h"


static ngx_int_t ngx_kanban_tenant_routes_init(ngx_conf_t *cf);


static ngx_kanban_route_t  ngx_kanban_tenant_routes[] = {

    { NGX_HTTP_POST, "/api/v1/tenants", NGX_KANBAN_HOST_PLATFORM,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_signup_handler,
      ngx_kanban_signup_fields, ngx_null_string, NULL },

    { NGX_HTTP_GET, "/api/v1/workspace", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_workspace_handler,
      NULL, ngx_null_string, NULL },

    { NGX_HTTP_PATCH, "/api/v1/workspace", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_workspace_patch_handler,
      ngx_kanban_workspace_patch_fields, ngx_null_string,
      &ngx_kanban_workspace_patch },
};


static ngx_http_module_t  ngx_kanban_tenant_routes_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_tenant_routes_init,         /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_tenant_routes_module = {
    NGX_MODULE_V1,
    &ngx_kanban_tenant_routes_module_ctx,  /* module context */
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
ngx_kanban_tenant_routes_init(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_tenant_routes,
                                 sizeof(ngx_kanban_tenant_routes)
                                 / sizeof(ngx_kanban_route_t));
}
