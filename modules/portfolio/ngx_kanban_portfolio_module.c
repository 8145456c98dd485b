
/*
 * ngx_http_kanban_portfolio_module: portfolio reporting. It has no
 * directives; at configuration time it hands its route tables to the
 * router.
 */

/* SQL: none of its own */
#include "ngx_kanban_portfolio.h"


static ngx_int_t ngx_kanban_portfolio_postconfiguration(ngx_conf_t *cf);


static ngx_http_module_t  ngx_kanban_portfolio_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_portfolio_postconfiguration, /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_portfolio_module = {
    NGX_MODULE_V1,
    &ngx_kanban_portfolio_module_ctx,      /* module context */
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
ngx_kanban_portfolio_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t  i;

    struct {
        ngx_kanban_route_t    *routes;
        ngx_uint_t            *n;
    } tables[] = {
        { ngx_kanban_portfolio_health_routes,
          &ngx_kanban_portfolio_health_nroutes },
        { ngx_kanban_portfolio_suggestions_routes,
          &ngx_kanban_portfolio_suggestions_nroutes },
        { ngx_kanban_portfolio_updates_routes,
          &ngx_kanban_portfolio_updates_nroutes },
        { ngx_kanban_portfolio_draft_routes,
          &ngx_kanban_portfolio_draft_nroutes },
        { ngx_kanban_portfolio_report_routes,
          &ngx_kanban_portfolio_report_nroutes },
        { ngx_kanban_portfolio_timeline_routes,
          &ngx_kanban_portfolio_timeline_nroutes },
    };

    for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if (ngx_kanban_routes_add(cf, tables[i].routes, *tables[i].n)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* The sweeps (mail) look at a workspace after a write, and these reads
 * may notify. */

ngx_int_t
ngx_kanban_portfolio_writing_get(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ctx->wrote = 1;

    return ngx_kanban_sql_handler(r, ctx);
}
