
/*
 * The auth module's routes: sign-in, refresh, sign-out, the caller's own
 * account and password, and API tokens.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_auth_routes.h"


static ngx_int_t ngx_kanban_auth_routes_init(ngx_conf_t *cf);


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

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/api-tokens",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_api_tokens_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/api-tokens",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_api_token_fields,
        &ngx_kanban_api_tokens_create),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/api-tokens/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_api_tokens_revoke),
};


static ngx_http_module_t  ngx_kanban_auth_routes_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_auth_routes_init,           /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_auth_routes_module = {
    NGX_MODULE_V1,
    &ngx_kanban_auth_routes_module_ctx,    /* module context */
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
ngx_kanban_auth_routes_init(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_auth_routes,
                                 sizeof(ngx_kanban_auth_routes)
                                 / sizeof(ngx_kanban_route_t));
}
