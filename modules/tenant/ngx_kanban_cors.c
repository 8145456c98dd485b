
/*
 * CORS for a workspace's API: the origins its admins list
 * (PATCH /api/v1/workspace {"cors_origins": [...]}) may call it from a
 * browser, with a token; nobody else may, and cookies never cross.
 *
 * A request with an Origin of the list gets Access-Control-Allow-Origin
 * (that origin: never "*" or "null") and Vary: Origin; a preflight
 * (OPTIONS with Access-Control-Request-Method) from it is answered here,
 * 204 with the methods, headers and max-age it needs, before any route.
 * Any other origin gets no CORS header, so the browser keeps the answer
 * from the page. Access-Control-Allow-Credentials is never sent.
 *
 * The list is read from the workspace's database once and kept in the
 * tenant cache (key "cors:<slug>") for NGX_KANBAN_CORS_TTL, so that a
 * preflight costs PostgreSQL nothing but once per workspace and ttl; a
 * PATCH forgets the key at once on this node.
 */

/* SQL: sql/tenant/019_cors_origins.sql */
#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_cache.h"
#include "ngx_kanban_tenant_module.h"


#define NGX_KANBAN_CORS_TTL         5000
#define NGX_KANBAN_CORS_ORIGIN_MAX  255
#define NGX_KANBAN_CORS_MAX_AGE     "600"


static ngx_int_t ngx_kanban_cors_answer(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_str_t *origin);
static void ngx_kanban_cors_read(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_uint_t ngx_kanban_cors_answered(ngx_http_request_t *r);
static ngx_uint_t ngx_kanban_cors_listed(ngx_str_t *list,
    ngx_str_t *origin);
static ngx_uint_t ngx_kanban_cors_origin_valid(ngx_str_t *origin);
static ngx_int_t ngx_kanban_cors_key(ngx_pool_t *pool, ngx_str_t *slug,
    ngx_str_t *key);


static ngx_kanban_pg_stmt_t  ngx_kanban_cors_stmt = ngx_kanban_pg_stmt(
    "cors_origins",
    "SELECT workspace_cors_origins()::text");

static ngx_str_t  ngx_kanban_cors_none = ngx_string("[]");


/* NGX_DECLINED: the request goes on (with CORS headers when its origin is
 * listed); NGX_DONE: the list is being read, the request resumes after;
 * else the preflight's answer. */

ngx_int_t
ngx_kanban_cors(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_str_t                 *origin, key;
    ngx_shm_zone_t            *zone;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_pg_query_t     *q;
    ngx_kanban_cache_value_t   v;

    if (ctx->tenant == NULL) {
        return NGX_DECLINED;            /* the platform host: no CORS */
    }

    origin = ngx_kanban_header_in(r, "Origin");

    if (origin == NULL || !ngx_kanban_cors_origin_valid(origin)
        || ngx_kanban_cors_answered(r))
    {
        return NGX_DECLINED;
    }

    if (ctx->cors == NULL) {
        zone = ngx_kanban_tenant_cache_zone();

        if (zone == NULL
            || ngx_kanban_cors_key(r->pool, &ctx->tenant->slug, &key)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_kanban_cache_get(zone, &key, r->pool, &v) == NGX_OK
            && v.nfields == 1)
        {
            ctx->cors = ngx_palloc(r->pool, sizeof(ngx_str_t));
            if (ctx->cors == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            *ctx->cors = v.fields[0];

        } else {
            ngx_kanban_pg_tenant_db(ctx->tenant, &db);

            q = ngx_kanban_pg_query(r, &db);
            if (q == NULL
                || ngx_kanban_pg_run(q, &ngx_kanban_cors_stmt,
                                     ngx_kanban_cors_read, 0)
                   != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return NGX_DONE;
        }
    }

    return ngx_kanban_cors_answer(r, ctx, origin);
}


static ngx_int_t
ngx_kanban_cors_answer(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_str_t *origin)
{
    ngx_str_t  vary = ngx_string("Origin");
    ngx_str_t  expose = ngx_string("ETag, Location, Retry-After, "
                                   "RateLimit-Limit, RateLimit-Remaining, "
                                   "RateLimit-Reset, X-Request-Id");
    ngx_str_t  methods = ngx_string("GET, POST, PUT, PATCH, DELETE");
    ngx_str_t  headers = ngx_string("Authorization, Content-Type, If-Match, "
                                    "If-None-Match, Last-Event-ID, "
                                    "X-Request-Id");
    ngx_str_t  max_age = ngx_string(NGX_KANBAN_CORS_MAX_AGE);

    /* the answer depends on the origin, listed or not: caches must know */
    if (ngx_kanban_add_header(r, "Vary", &vary) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_kanban_cors_listed(ctx->cors, origin)) {
        return NGX_DECLINED;
    }

    if (ngx_kanban_add_header(r, "Access-Control-Allow-Origin", origin)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_OPTIONS
        || ngx_kanban_header_in(r, "Access-Control-Request-Method") == NULL)
    {
        return ngx_kanban_add_header(r, "Access-Control-Expose-Headers",
                                     &expose)
               == NGX_OK ? NGX_DECLINED : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_discard_body(r) != NGX_OK
        || ngx_kanban_add_header(r, "Access-Control-Allow-Methods", &methods)
           != NGX_OK
        || ngx_kanban_add_header(r, "Access-Control-Allow-Headers", &headers)
           != NGX_OK
        || ngx_kanban_add_header(r, "Access-Control-Max-Age", &max_age)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* The list has come: kept for the next requests, and this one resumes. */

static void
ngx_kanban_cors_read(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t                  rc;
    ngx_str_t                  key, *list;
    ngx_shm_zone_t            *zone;
    ngx_kanban_ctx_t          *ctx;
    ngx_kanban_cache_value_t   v;

    ctx = ngx_kanban_ctx(r);
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    list = (q->error == NGX_KANBAN_PG_OK)
           ? ngx_kanban_pg_value(r, q->result, 0, 0) : NULL;

    if (list) {
        list->data = ngx_pstrdup(r->pool, list);
        if (list->data == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        zone = ngx_kanban_tenant_cache_zone();

        if (zone
            && ngx_kanban_cors_key(r->pool, &ctx->tenant->slug, &key)
               == NGX_OK)
        {
            v.fields[0] = *list;
            v.nfields = 1;
            v.nnumbers = 0;

            ngx_kanban_cache_put(zone, &key, NGX_KANBAN_CORS_TTL, &v);
        }

    } else {
        /* the database is away: no origin is listed this time, and the
         * request meets the outage on its own way */
        list = &ngx_kanban_cors_none;
    }

    ctx->cors = list;

    /* the handler that asked runs again: the API's, or the event
     * stream's */
    rc = r->content_handler(r);

    ngx_http_finalize_request(r, rc);
}


/* Whether this request has its CORS headers already: an error page
 * (a body too large while it was read, a 500) goes through here again,
 * and a second Access-Control-Allow-Origin makes browsers refuse it. */

static ngx_uint_t
ngx_kanban_cors_answered(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0 && h[i].key.len == sizeof("Vary") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Vary",
                               h[i].key.len) == 0
            && h[i].value.len == sizeof("Origin") - 1
            && ngx_strncasecmp(h[i].value.data, (u_char *) "Origin",
                               h[i].value.len) == 0)
        {
            return 1;
        }
    }
}


/* Whether "origin" (checked: no quote or backslash) is in the list, the
 * JSON text of an array of strings as PostgreSQL writes it. */

static ngx_uint_t
ngx_kanban_cors_listed(ngx_str_t *list, ngx_str_t *origin)
{
    u_char  *p, *last;

    p = list->data;
    last = list->data + list->len;

    while (p + origin->len + 2 <= last) {
        p = ngx_strlchr(p, last, '"');
        if (p == NULL || p + origin->len + 2 > last) {
            return 0;
        }

        if (ngx_strncmp(p + 1, origin->data, origin->len) == 0
            && p[origin->len + 1] == '"')
        {
            return 1;
        }

        /* past this string: origins hold no quotes */
        p = ngx_strlchr(p + 1, last, '"');
        if (p == NULL) {
            return 0;
        }

        p++;
    }

    return 0;
}


/* scheme://host[:port], as browsers send it: http or https, a host of
 * lower-case letters, digits, dots and hyphens (or an IPv6 literal), no
 * path. */

static ngx_uint_t
ngx_kanban_cors_origin_valid(ngx_str_t *origin)
{
    u_char  *p, *last, c;

    if (origin->len > NGX_KANBAN_CORS_ORIGIN_MAX) {
        return 0;
    }

    p = origin->data;
    last = p + origin->len;

    if (origin->len > 8 && ngx_strncmp(p, "https://", 8) == 0) {
        p += 8;

    } else if (origin->len > 7 && ngx_strncmp(p, "http://", 7) == 0) {
        p += 7;

    } else {
        return 0;
    }

    if (*p == '.' || *p == '-' || *p == ':') {
        return 0;
    }

    for ( /* void */ ; p < last; p++) {
        c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')
        {
            continue;
        }

        return 0;
    }

    return last[-1] != ':' && last[-1] != '.';
}


/* An item of cors_origins in a PATCH. */

char *
ngx_kanban_cors_origin_check(ngx_str_t *value, char **message)
{
    if (ngx_kanban_cors_origin_valid(value)) {
        return NULL;
    }

    *message = "An origin is scheme://host[:port] in lower case, http or "
               "https, without a path.";

    return "invalid_format";
}


/* A PATCH of the workspace may change the list: this node reads it anew,
 * the others within NGX_KANBAN_CORS_TTL. */

void
ngx_kanban_cors_forget(ngx_http_request_t *r, ngx_str_t *slug)
{
    ngx_str_t        key;
    ngx_shm_zone_t  *zone;

    zone = ngx_kanban_tenant_cache_zone();

    if (zone && ngx_kanban_cors_key(r->pool, slug, &key) == NGX_OK) {
        ngx_kanban_cache_forget(zone, &key);
    }
}


static ngx_int_t
ngx_kanban_cors_key(ngx_pool_t *pool, ngx_str_t *slug, ngx_str_t *key)
{
    key->data = ngx_pnalloc(pool, sizeof("cors:") - 1 + slug->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    key->len = ngx_sprintf(key->data, "cors:%V", slug) - key->data;

    return NGX_OK;
}
