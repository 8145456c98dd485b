
/*
 * ngx_http_kanban_portal_module: the portal's routes, a table of the
 * module's own given to the router, and the log-phase handler and timer
 * that keep the catalog's directory of members.
 */

/* SQL: none of its own */
#include "ngx_kanban_portal.h"


static ngx_int_t ngx_kanban_portal_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_portal_init_process(ngx_cycle_t *cycle);


static ngx_kanban_route_t  ngx_kanban_portal_routes[] = {

    { NGX_HTTP_POST, "/api/v1/portal/find-workspaces",
      NGX_KANBAN_HOST_PLATFORM, NGX_KANBAN_ACCESS_PUBLIC,
      ngx_kanban_portal_find_handler, ngx_kanban_portal_find_fields,
      ngx_null_string, NULL },

    { NGX_HTTP_GET, "/auth/magic",
      NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_PUBLIC,
      ngx_kanban_portal_link_handler, NULL, ngx_null_string, NULL },

    { NGX_HTTP_GET, "/api/v1/me/workspaces",
      NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MEMBER,
      ngx_kanban_portal_list_handler, NULL, ngx_null_string, NULL },

    { NGX_HTTP_POST, "/api/v1/me/workspaces/{slug}/handoff",
      NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MEMBER,
      ngx_kanban_portal_handoff_handler, NULL, ngx_null_string, NULL },
};


static ngx_http_module_t  ngx_kanban_portal_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_portal_postconfiguration,   /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_portal_module = {
    NGX_MODULE_V1,
    &ngx_kanban_portal_module_ctx,         /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_portal_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_kanban_portal_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_kanban_portal_directory_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_kanban_routes_add(cf, ngx_kanban_portal_routes,
                                 sizeof(ngx_kanban_portal_routes)
                                 / sizeof(ngx_kanban_route_t));
}


static ngx_int_t
ngx_kanban_portal_init_process(ngx_cycle_t *cycle)
{
    return ngx_kanban_portal_directory_init_process(cycle);
}


ngx_int_t
ngx_kanban_portal_origin(ngx_str_t *head, ngx_str_t *tail)
{
    u_char                  *star, *end;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();

    end = kmcf->tenant_url.data + kmcf->tenant_url.len;
    star = ngx_strlchr(kmcf->tenant_url.data, end, '*');
    if (star == NULL) {
        return NGX_ERROR;
    }

    head->data = kmcf->tenant_url.data;
    head->len = star - kmcf->tenant_url.data;
    tail->data = star + 1;
    tail->len = end - star - 1;

    while (tail->len && tail->data[tail->len - 1] == '/') {
        tail->len--;
    }

    return NGX_OK;
}
