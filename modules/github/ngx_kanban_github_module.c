
/*
 * ngx_http_kanban_github_module: the GitHub link. It has no directives:
 * its secrets are sealed with the webhooks' key (kanban_webhooks_key), and
 * its routes are two tables of its own, given to the router at
 * configuration time.
 */

/* SQL: none of its own */
#include "ngx_kanban_github.h"


static ngx_int_t ngx_kanban_github_postconfiguration(ngx_conf_t *cf);


static ngx_http_module_t  ngx_kanban_github_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_github_postconfiguration,   /* postconfiguration */
    NULL, NULL, NULL, NULL, NULL, NULL
};


ngx_module_t  ngx_http_kanban_github_module = {
    NGX_MODULE_V1,
    &ngx_kanban_github_module_ctx,
    NULL,
    NGX_HTTP_MODULE,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_kanban_github_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_kanban_routes_add(cf, ngx_kanban_github_api_routes,
                              ngx_kanban_github_api_nroutes)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_kanban_routes_add(cf, ngx_kanban_github_hook_routes,
                                 ngx_kanban_github_hook_nroutes);
}
