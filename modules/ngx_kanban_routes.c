
/*
 * Every endpoint of the product, in one table: nothing is reachable that
 * is not listed here with the host it lives on and who may call it.
 */

#include "ngx_kanban_routes.h"


ngx_kanban_route_t  ngx_kanban_routes[] = {

    { NGX_HTTP_POST, "/api/v1/tenants", NGX_KANBAN_HOST_PLATFORM,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_signup_handler,
      ngx_kanban_signup_fields, ngx_null_string },

    { NGX_HTTP_GET, "/api/v1/workspace", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_workspace_handler,
      NULL, ngx_null_string },

    { NGX_HTTP_POST, "/api/v1/auth/login", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_login_handler,
      ngx_kanban_login_fields, ngx_null_string },

    { NGX_HTTP_POST, "/api/v1/auth/refresh", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_refresh_handler,
      ngx_kanban_refresh_fields, ngx_null_string },

    { NGX_HTTP_POST, "/api/v1/auth/logout", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_logout_handler,
      ngx_kanban_refresh_fields, ngx_null_string },

    { NGX_HTTP_GET, "/api/v1/auth/me", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_me_handler,
      NULL, ngx_null_string },

    { NGX_HTTP_POST, "/api/v1/auth/password", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_password_change_handler,
      ngx_kanban_password_fields, ngx_null_string },
};


ngx_uint_t  ngx_kanban_nroutes =
    sizeof(ngx_kanban_routes) / sizeof(ngx_kanban_route_t);
