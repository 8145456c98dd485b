
/*
 * The tenant module's routes: a workspace's sign-up (on the platform's
 * host), and the workspace's own settings.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_tenant_routes.h"


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

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/workspace/usage",
      NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_workspace_usage),

    { NGX_HTTP_POST, "/api/v1/workspace/export", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_catalog_handler, NULL,
      ngx_null_string, &ngx_kanban_workspace_export_queue },

    { NGX_HTTP_GET, "/api/v1/workspace/exports", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_catalog_handler, NULL,
      ngx_null_string, &ngx_kanban_workspace_exports_list },

    { NGX_HTTP_GET, "/api/v1/workspace/exports/{id}", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_catalog_handler, NULL,
      ngx_null_string, &ngx_kanban_workspace_export_get },

    { NGX_HTTP_GET, "/api/v1/workspace/exports/{id}/download",
      NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_ADMIN,
      ngx_kanban_workspace_export_download_handler, NULL, ngx_null_string,
      NULL },
};


ngx_kanban_routes_module(ngx_http_kanban_tenant_routes_module,
                         ngx_kanban_tenant_routes);
