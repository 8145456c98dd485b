
/*
 * The auth module's routes: sign-in, refresh, sign-out, the caller's own
 * account and password, two-factor sign-in, and API tokens.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_auth_routes.h"


static ngx_kanban_route_t  ngx_kanban_auth_routes[] = {

    { NGX_HTTP_POST, "/api/v1/auth/login", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_login_handler,
      ngx_kanban_login_fields, ngx_null_string, NULL },

    { NGX_HTTP_POST, "/api/v1/auth/refresh", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_refresh_handler,
      ngx_kanban_refresh_fields, ngx_null_string, NULL },

    { NGX_HTTP_POST, "/api/v1/auth/logout", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_logout_handler,
      ngx_kanban_refresh_fields, ngx_null_string, NULL },

    { NGX_HTTP_GET, "/api/v1/auth/me", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_me_handler,
      NULL, ngx_null_string, NULL },

    { NGX_HTTP_POST, "/api/v1/auth/password", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_password_change_handler,
      ngx_kanban_password_fields, ngx_null_string, NULL },

    { NGX_HTTP_POST, "/api/v1/auth/login/mfa", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_mfa_login_handler,
      ngx_kanban_mfa_login_fields, ngx_null_string, NULL },

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/me/mfa",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_mfa_status),

    { NGX_HTTP_POST, "/api/v1/me/mfa/totp", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_mfa_start_handler,
      ngx_kanban_mfa_start_fields, ngx_null_string, NULL },

    { NGX_HTTP_POST, "/api/v1/me/mfa/totp/confirm", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_mfa_confirm_handler,
      ngx_kanban_mfa_confirm_fields, ngx_null_string, NULL },

    { NGX_HTTP_DELETE, "/api/v1/me/mfa/totp", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_mfa_disable_handler,
      ngx_kanban_mfa_disable_fields, ngx_null_string, NULL },

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/users/{id}/mfa",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_mfa_reset),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/api-tokens",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_api_tokens_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/api-tokens",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_api_token_fields,
        &ngx_kanban_api_tokens_create),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/api-tokens/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_api_tokens_revoke),
};


ngx_kanban_routes_module(ngx_http_kanban_auth_routes_module,
                         ngx_kanban_auth_routes);
