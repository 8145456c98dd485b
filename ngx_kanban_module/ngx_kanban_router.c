
/*
 * The router: method and path pattern ("/api/v1/tasks/{id}/move") to a
 * route of the table. A path that matches with another method is 405 with
 * Allow; nothing matching is 404.
 *
 * Every module brings a table of its own at configuration time
 * (ngx_kanban_routes_add); they are searched in the order the modules
 * registered them, and no two routes of them overlap, so that order
 * decides nothing but the rows of the metrics.
 *
 * Each worker indexes the routes by their first three segments
 * ("/api/v1/tasks"), so that a request compares its path with the few
 * routes that can match it, not with every route of every table (that
 * scan, a strlen of each pattern, was the module's largest cost per
 * request). A pattern with a "{name}" among its first three segments is
 * tried on every path.
 */

#include "ngx_kanban_routes.h"


/* a route as the worker's index holds it */
typedef struct {
    ngx_str_t                  key;        /* its first three segments */
    size_t                     len;        /* the whole pattern's */
    ngx_kanban_route_t        *route;
    ngx_uint_t                 index;      /* among all: its metrics row */
} ngx_kanban_route_entry_t;


static ngx_int_t ngx_kanban_routes_name(ngx_conf_t *cf,
    ngx_kanban_route_t *routes, ngx_uint_t n);
static ngx_int_t ngx_kanban_routes_index(ngx_cycle_t *cycle);
static void ngx_kanban_route_key(u_char *p, size_t len, ngx_str_t *key);
static ngx_int_t ngx_kanban_route_entry_cmp(const void *one,
    const void *two);
static ngx_kanban_route_entry_t *ngx_kanban_route_next(
    ngx_kanban_route_entry_t **keyed, ngx_kanban_route_entry_t *keyed_end,
    ngx_kanban_route_entry_t **loose, ngx_kanban_route_entry_t *loose_end);
static ngx_uint_t ngx_kanban_route_match(ngx_kanban_route_t *route,
    size_t from, size_t len, ngx_str_t *path, ngx_kanban_ctx_t *ctx);


/* routes in all tables: each route's index is its place among them */
static ngx_uint_t  ngx_kanban_routes_total;

/* the worker's index: routes with a literal key, sorted by key and then
 * index; the others ("loose"), by index */
static ngx_kanban_route_entry_t  *ngx_kanban_routes_keyed;
static ngx_uint_t                 ngx_kanban_routes_nkeyed;
static ngx_kanban_route_entry_t  *ngx_kanban_routes_loose;
static ngx_uint_t                 ngx_kanban_routes_nloose;


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


/* The worker's index of every table's routes, made by the first request
 * it routes (configuration is read-only by then), in the cycle's pool. */

static ngx_int_t
ngx_kanban_routes_index(ngx_cycle_t *cycle)
{
    size_t                     len;
    ngx_str_t                  key;
    ngx_uint_t                 i, k, index, n;
    ngx_kanban_route_t        *route;
    ngx_kanban_main_conf_t    *kmcf;
    ngx_kanban_route_entry_t  *all, *e;
    ngx_kanban_route_table_t  *t;

    kmcf = ngx_kanban_main_conf();
    t = kmcf->route_tables->elts;

    n = 0;
    for (k = 0; k < kmcf->route_tables->nelts; k++) {
        n += t[k].n;
    }

    /* one more: room to swap two */
    all = ngx_palloc(cycle->pool, (n + 1) * sizeof(ngx_kanban_route_entry_t));
    if (all == NULL) {
        return NGX_ERROR;
    }

    /* the keyed from the front, the loose from the back */
    ngx_kanban_routes_nkeyed = 0;
    ngx_kanban_routes_nloose = 0;
    index = 0;

    for (k = 0; k < kmcf->route_tables->nelts; k++) {
        for (i = 0; i < t[k].n; i++, index++) {
            route = &t[k].routes[i];

            len = ngx_strlen(route->pattern);
            ngx_kanban_route_key((u_char *) route->pattern, len, &key);

            if (ngx_strlchr(key.data, key.data + key.len, '{') == NULL) {
                e = &all[ngx_kanban_routes_nkeyed++];

            } else {
                e = &all[n - ++ngx_kanban_routes_nloose];
            }

            e->key = key;
            e->len = len;
            e->route = route;
            e->index = index;
        }
    }

    ngx_kanban_routes_keyed = all;
    ngx_kanban_routes_loose = all + ngx_kanban_routes_nkeyed;

    ngx_sort(ngx_kanban_routes_keyed, ngx_kanban_routes_nkeyed,
             sizeof(ngx_kanban_route_entry_t), ngx_kanban_route_entry_cmp);

    /* filled backwards: put them back in the order of their index */
    for (i = 0; i < ngx_kanban_routes_nloose / 2; i++) {
        all[n] = ngx_kanban_routes_loose[i];
        ngx_kanban_routes_loose[i] =
            ngx_kanban_routes_loose[ngx_kanban_routes_nloose - 1 - i];
        ngx_kanban_routes_loose[ngx_kanban_routes_nloose - 1 - i] = all[n];
    }

    return NGX_OK;
}


/* A path's (or a pattern's) first three segments: "/api/v1/tasks" of
 * "/api/v1/tasks/{id}/move"; the whole of a shorter one. */

static void
ngx_kanban_route_key(u_char *p, size_t len, ngx_str_t *key)
{
    size_t      i;
    ngx_uint_t  slashes;

    slashes = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '/' && ++slashes == 4) {
            break;
        }
    }

    key->data = p;
    key->len = i;
}


static ngx_int_t
ngx_kanban_route_entry_cmp(const void *one, const void *two)
{
    ngx_int_t                        rc;
    const ngx_kanban_route_entry_t  *a, *b;

    a = one;
    b = two;

    rc = ngx_memn2cmp(a->key.data, b->key.data, a->key.len, b->key.len);
    if (rc != 0) {
        return rc;
    }

    return (a->index > b->index) - (a->index < b->index);
}


ngx_int_t
ngx_kanban_route_find(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_uint_t host, ngx_str_t *allow)
{
    u_char                    *p;
    ngx_int_t                  rc;
    ngx_str_t                  key;
    ngx_uint_t                 i, lo, hi, methods;
    ngx_kanban_route_t        *route;
    ngx_kanban_route_entry_t  *e, *keyed, *keyed_end, *loose, *loose_end;

    methods = 0;

    if (ngx_kanban_routes_keyed == NULL
        && ngx_kanban_routes_index((ngx_cycle_t *) ngx_cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the first route of the path's key, if any */
    ngx_kanban_route_key(r->uri.data, r->uri.len, &key);

    lo = 0;
    hi = ngx_kanban_routes_nkeyed;

    while (lo < hi) {
        i = lo + (hi - lo) / 2;
        e = &ngx_kanban_routes_keyed[i];

        rc = ngx_memn2cmp(e->key.data, key.data, e->key.len, key.len);

        if (rc < 0) {
            lo = i + 1;

        } else {
            hi = i;
        }
    }

    keyed = &ngx_kanban_routes_keyed[lo];

    for (keyed_end = keyed;
         keyed_end < ngx_kanban_routes_keyed + ngx_kanban_routes_nkeyed
         && keyed_end->key.len == key.len
         && ngx_memcmp(keyed_end->key.data, key.data, key.len) == 0;
         keyed_end++)
    {
        /* void */
    }

    loose = ngx_kanban_routes_loose;
    loose_end = loose + ngx_kanban_routes_nloose;

    /* the candidates in the tables' order, as a scan of all would; a
     * keyed one's key is the path's, literal bytes already compared
     * equal: its match starts after it (/api/v1/projects, a key of
     * 44 routes, compared its 16 bytes 44 times) */
    while ((e = ngx_kanban_route_next(&keyed, keyed_end, &loose, loose_end))
           != NULL)
    {
        route = e->route;

        if (route->host != host
            || !ngx_kanban_route_match(route, e < ngx_kanban_routes_loose
                                              ? e->key.len : 0,
                                       e->len, &r->uri, ctx))
        {
            continue;
        }

        if ((route->method & r->method)
            || (r->method == NGX_HTTP_HEAD
                && route->method == NGX_HTTP_GET))
        {
            ctx->route = route;
            ctx->metric = e->index;           /* its row of the metrics */
            return NGX_OK;
        }

        methods |= route->method;
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


/* Of the two runs of candidates, the one with the lower index next. */

static ngx_kanban_route_entry_t *
ngx_kanban_route_next(ngx_kanban_route_entry_t **keyed,
    ngx_kanban_route_entry_t *keyed_end, ngx_kanban_route_entry_t **loose,
    ngx_kanban_route_entry_t *loose_end)
{
    if (*keyed < keyed_end
        && (*loose == loose_end || (*keyed)->index < (*loose)->index))
    {
        return (*keyed)++;
    }

    if (*loose < loose_end) {
        return (*loose)++;
    }

    return NULL;
}


/* Segment by segment from the offset from (of both: a literal prefix
 * known equal); "{name}" takes one non-empty segment. len is the
 * pattern's, measured once a worker. */

static ngx_uint_t
ngx_kanban_route_match(ngx_kanban_route_t *route, size_t from, size_t len,
    ngx_str_t *path, ngx_kanban_ctx_t *ctx)
{
    u_char  *p, *pend, *u, *uend, *seg, *close;

    ctx->nargs = 0;

    p = (u_char *) route->pattern + from;
    pend = (u_char *) route->pattern + len;
    u = path->data + from;
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
