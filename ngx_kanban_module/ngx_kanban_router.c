
/*
 * The router: method and path pattern ("/api/v1/tasks/{id}/move") to a
 * route of the table. A path that matches with another method is 405 with
 * Allow; nothing matching is 404.
 *
 * Every module brings a table of its own at configuration time
 * (ngx_kanban_routes_add); they are searched in the order the modules
 * registered them, and no two routes of them overlap, so that order
 * decides nothing but the rows of the metrics.
 */

#include "ngx_kanban_routes.h"


static ngx_int_t ngx_kanban_routes_name(ngx_conf_t *cf,
    ngx_kanban_route_t *routes, ngx_uint_t n);
static ngx_uint_t ngx_kanban_route_match(ngx_kanban_route_t *route,
    ngx_str_t *path, ngx_kanban_ctx_t *ctx);


/* routes in all tables: each route's index is its place among them */
static ngx_uint_t  ngx_kanban_routes_total;


static struct {
    ngx_uint_t                 method;
    char                      *name;
} ngx_kanban_methods[] = {
    { NGX_HTTP_GET, "GET" },
    { NGX_HTTP_HEAD, "HEAD" },
    { NGX_HTTP_POST, "POST" },
    { NGX_HTTP_PUT, "PUT" },
    { NGX_HTTP_PATCH, "PATCH" },
    { NGX_HTTP_DELETE, "DELETE" },
    { 0, NULL }
};


ngx_int_t
ngx_kanban_routes_init(ngx_conf_t *cf)
{
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kanban_module);

    kmcf->route_tables = ngx_array_create(cf->pool, 16,
                                          sizeof(ngx_kanban_route_table_t));
    if (kmcf->route_tables == NULL) {
        return NGX_ERROR;
    }

    ngx_kanban_routes_total = 0;

    return NGX_OK;
}


/* A module's own table, from its postconfiguration (after the core's,
 * which readies the list). */

ngx_int_t
ngx_kanban_routes_add(ngx_conf_t *cf, ngx_kanban_route_t *routes,
    ngx_uint_t n)
{
    ngx_kanban_main_conf_t     *kmcf;
    ngx_kanban_route_table_t   *t;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kanban_module);

    if (kmcf == NULL || kmcf->route_tables == NULL) {
        return NGX_ERROR;
    }

    t = ngx_array_push(kmcf->route_tables);
    if (t == NULL) {
        return NGX_ERROR;
    }

    t->routes = routes;
    t->n = n;

    if (ngx_kanban_routes_name(cf, routes, n) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_kanban_routes_total + 3 > NGX_KANBAN_METRICS_ROWS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban: too many routes for the metrics zone");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_routes_name(ngx_conf_t *cf, ngx_kanban_route_t *routes,
    ngx_uint_t n)
{
    u_char              *p;
    size_t               len;
    ngx_uint_t           i, m;
    ngx_kanban_route_t  *route;

    for (i = 0; i < n; i++) {
        route = &routes[i];
        ngx_kanban_routes_total++;

        for (m = 0; ngx_kanban_methods[m].name; m++) {
            if (ngx_kanban_methods[m].method == route->method) {
                break;
            }
        }

        if (ngx_kanban_methods[m].name == NULL) {
            return NGX_ERROR;
        }

        len = ngx_strlen(ngx_kanban_methods[m].name) + 1
              + ngx_strlen(route->pattern);

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        route->name.data = p;
        route->name.len = len;
        ngx_sprintf(p, "%s %s", ngx_kanban_methods[m].name, route->pattern);
    }

    return NGX_OK;
}


ngx_uint_t
ngx_kanban_routes_count(void)
{
    return ngx_kanban_routes_total;
}


ngx_kanban_route_t *
ngx_kanban_route_at(ngx_uint_t index)
{
    ngx_uint_t                 k;
    ngx_kanban_main_conf_t    *kmcf;
    ngx_kanban_route_table_t  *t;

    kmcf = ngx_kanban_main_conf();
    t = kmcf->route_tables->elts;

    for (k = 0; k < kmcf->route_tables->nelts; k++) {
        if (index < t[k].n) {
            return &t[k].routes[index];
        }

        index -= t[k].n;
    }

    return NULL;
}


ngx_int_t
ngx_kanban_route_find(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_uint_t host, ngx_str_t *allow)
{
    u_char                    *p;
    ngx_uint_t                 i, k, methods, index;
    ngx_kanban_route_t        *route;
    ngx_kanban_main_conf_t    *kmcf;
    ngx_kanban_route_table_t  *t;

    methods = 0;
    index = 0;
    kmcf = ngx_kanban_main_conf();
    t = kmcf->route_tables->elts;

    for (k = 0; k < kmcf->route_tables->nelts; k++) {
        for (i = 0; i < t[k].n; i++) {
            route = &t[k].routes[i];

            if (route->host != host
                || !ngx_kanban_route_match(route, &r->uri, ctx))
            {
                continue;
            }

            if ((route->method & r->method)
                || (r->method == NGX_HTTP_HEAD
                    && route->method == NGX_HTTP_GET))
            {
                ctx->route = route;
                ctx->metric = index + i;      /* its row of the metrics */
                return NGX_OK;
            }

            methods |= route->method;
        }

        index += t[k].n;
    }

    if (methods == 0) {
        return NGX_HTTP_NOT_FOUND;
    }

    if (methods & NGX_HTTP_GET) {
        methods |= NGX_HTTP_HEAD;
    }

    p = ngx_pnalloc(r->pool, 64);
    if (p == NULL) {
        return NGX_ERROR;
    }

    allow->data = p;

    for (i = 0; ngx_kanban_methods[i].name; i++) {
        if (methods & ngx_kanban_methods[i].method) {
            p = ngx_sprintf(p, "%s%s", p == allow->data ? "" : ", ",
                            ngx_kanban_methods[i].name);
        }
    }

    allow->len = p - allow->data;

    return NGX_HTTP_NOT_ALLOWED;
}


ngx_str_t *
ngx_kanban_arg(ngx_kanban_ctx_t *ctx, char *name)
{
    size_t      n;
    ngx_uint_t  i;

    n = ngx_strlen(name);

    for (i = 0; i < ctx->nargs; i++) {
        if (ctx->args[i].name.len == n
            && ngx_strncmp(ctx->args[i].name.data, name, n) == 0)
        {
            return &ctx->args[i].value;
        }
    }

    return NULL;
}


/* Segment by segment; "{name}" takes one non-empty segment. */

static ngx_uint_t
ngx_kanban_route_match(ngx_kanban_route_t *route, ngx_str_t *path,
    ngx_kanban_ctx_t *ctx)
{
    u_char  *p, *pend, *u, *uend, *seg, *close;

    ctx->nargs = 0;

    p = (u_char *) route->pattern;
    pend = p + ngx_strlen(route->pattern);
    u = path->data;
    uend = path->data + path->len;

    while (p < pend && u < uend) {

        if (*p != '{') {
            if (*p != *u) {
                return 0;
            }
            p++;
            u++;
            continue;
        }

        close = ngx_strlchr(p, pend, '}');
        if (close == NULL || ctx->nargs == 4) {
            return 0;
        }

        seg = u;
        while (u < uend && *u != '/') {
            u++;
        }

        if (u == seg) {
            return 0;
        }

        ctx->args[ctx->nargs].name.data = p + 1;
        ctx->args[ctx->nargs].name.len = close - p - 1;
        ctx->args[ctx->nargs].value.data = seg;
        ctx->args[ctx->nargs].value.len = u - seg;
        ctx->nargs++;

        p = close + 1;
    }

    return p == pend && u == uend;
}
