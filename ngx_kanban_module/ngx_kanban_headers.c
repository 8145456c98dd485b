
/*
 * The headers every response of a kanban location carries (kanban_headers
 * on): X-Request-Id, nosniff, the referrer policy; on HTML a strict
 * Content-Security-Policy; on TLS, HSTS. A header filter, so that static
 * files and nginx's own error pages carry them too.
 *
 * Whatever the setting, an answer to an authenticated API request carries
 * a person's data and is kept by no cache: Cache-Control: no-store, or,
 * when it has an ETag, "private, no-cache": no-store would forbid the
 * browser to keep the copy its If-None-Match revalidates, and no-cache
 * still has it ask every time (a 304 when nothing changed).
 *
 * Here too what every part of the core reads and writes of a request
 * before answering: its context (with the request id in its log lines),
 * a header added, a request header by name.
 */

#include "ngx_kanban.h"
#include <openssl/rand.h>


#define NGX_KANBAN_REQUEST_ID_MAX    128
#define NGX_KANBAN_REQUEST_ID_BATCH  256        /* ids drawn at once */


static ngx_int_t ngx_kanban_headers_filter(ngx_http_request_t *r);
static u_char *ngx_kanban_log_handler(ngx_http_request_t *r,
    ngx_http_request_t *sr, u_char *buf, size_t len);
static ngx_uint_t ngx_kanban_request_id_sane(ngx_str_t *id);
static ngx_int_t ngx_kanban_request_id_draw(ngx_http_request_t *r,
    ngx_http_variable_value_t *v);
static ngx_int_t ngx_kanban_headers_private(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_kanban_next_header_filter;
static ngx_int_t                         ngx_kanban_request_id_index;

static u_char  ngx_kanban_request_id_bytes[16 * NGX_KANBAN_REQUEST_ID_BATCH];
static ngx_uint_t  ngx_kanban_request_id_next = NGX_KANBAN_REQUEST_ID_BATCH;
static ngx_pid_t  ngx_kanban_request_id_pid;


static ngx_str_t  ngx_kanban_csp = ngx_string(
    "default-src 'self'; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'");


ngx_int_t
ngx_kanban_headers_init(ngx_conf_t *cf)
{
    ngx_str_t  name = ngx_string("request_id");

    ngx_kanban_request_id_index = ngx_http_get_variable_index(cf, &name);
    if (ngx_kanban_request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    ngx_kanban_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_kanban_headers_filter;

    return NGX_OK;
}


/* The client's X-Request-Id when it is sane, else the request's
 * $request_id. */

ngx_str_t *
ngx_kanban_request_id(ngx_http_request_t *r)
{
    ngx_list_part_t            *part;
    ngx_table_elt_t            *h;
    ngx_uint_t                  i;
    ngx_http_variable_value_t  *v;
    static ngx_str_t            none = ngx_null_string;
    ngx_str_t                  *id;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 12
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Request-Id", 12)
               == 0
            && ngx_kanban_request_id_sane(&h[i].value))
        {
            return &h[i].value;
        }
    }

    v = &r->main->variables[ngx_kanban_request_id_index];

    if (!v->valid && ngx_kanban_request_id_draw(r->main, v) != NGX_OK) {
        v = ngx_http_get_indexed_variable(r->main,
                                          ngx_kanban_request_id_index);
        if (v == NULL || v->not_found) {
            return &none;
        }
    }

    id = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (id == NULL) {
        return &none;
    }

    id->data = v->data;
    id->len = v->len;

    return id;
}


/* $request_id as nginx makes it, 32 hex digits of 16 random bytes, but
 * drawn from OpenSSL 4 KB at a time: a draw a request (a lock, getpid,
 * parameter lookups) cost 6,000 instructions, a third of a bare
 * "return 200". The value becomes the request's $request_id, so that a
 * log format naming it shows the id the response carries. */

static ngx_int_t
ngx_kanban_request_id_draw(ngx_http_request_t *r, ngx_http_variable_value_t *v)
{
    u_char  *id, *bytes;

    /* a worker draws its own: never the bytes of the process it forked
     * from */
    if (ngx_kanban_request_id_next == NGX_KANBAN_REQUEST_ID_BATCH
        || ngx_kanban_request_id_pid != ngx_pid)
    {
        if (RAND_bytes(ngx_kanban_request_id_bytes,
                       sizeof(ngx_kanban_request_id_bytes))
            != 1)
        {
            return NGX_ERROR;           /* nginx's own then */
        }

        ngx_kanban_request_id_next = 0;
        ngx_kanban_request_id_pid = ngx_pid;
    }

    id = ngx_pnalloc(r->pool, 32);
    if (id == NULL) {
        return NGX_ERROR;
    }

    bytes = ngx_kanban_request_id_bytes + 16 * ngx_kanban_request_id_next++;
    ngx_hex_dump(id, bytes, 16);

    v->data = id;
    v->len = 32;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* Error log lines of the request end with its id, the one its response
 * carries, so a user's report leads to the log. */

void
ngx_kanban_log_request_id(ngx_http_request_t *r)
{
    if (r->log_handler == NULL) {
        r->log_handler = ngx_kanban_log_handler;
    }
}


/* The request's context, made on first use, when its request id goes
 * into the log lines. */

ngx_kanban_ctx_t *
ngx_kanban_ctx(ngx_http_request_t *r)
{
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_kanban_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ctx->metric = NGX_CONF_UNSET_UINT;
        ngx_http_set_ctx(r, ctx, ngx_http_kanban_module);

        ngx_kanban_log_request_id(r);
    }

    return ctx;
}


ngx_int_t
ngx_kanban_add_header(ngx_http_request_t *r, char *name, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return NGX_OK;
}


/* A request header nginx does not keep a pointer to, by name. */

ngx_str_t *
ngx_kanban_header_in(ngx_http_request_t *r, char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i].value;
        }
    }
}


static u_char *
ngx_kanban_log_handler(ngx_http_request_t *r, ngx_http_request_t *sr,
    u_char *buf, size_t len)
{
    return ngx_snprintf(buf, len, ", request_id: %V",
                        ngx_kanban_request_id(r));
}


static ngx_int_t
ngx_kanban_headers_filter(ngx_http_request_t *r)
{
    ngx_str_t               *id, v;
    ngx_kanban_loc_conf_t   *klcf;

    if (r == r->main && ngx_kanban_headers_private(r) != NGX_OK) {
        return NGX_ERROR;
    }

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_module);

    if (r != r->main || klcf == NULL || !klcf->headers) {
        return ngx_kanban_next_header_filter(r);
    }

    id = ngx_kanban_request_id(r);

    if (id->len && ngx_kanban_add_header(r, "X-Request-Id", id) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&v, "nosniff");
    if (ngx_kanban_add_header(r, "X-Content-Type-Options", &v) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&v, "same-origin");
    if (ngx_kanban_add_header(r, "Referrer-Policy", &v) != NGX_OK) {
        return NGX_ERROR;
    }

    if (r->headers_out.content_type.len >= 9
        && ngx_strncasecmp(r->headers_out.content_type.data,
                           (u_char *) "text/html", 9) == 0)
    {
        if (ngx_kanban_add_header(r, "Content-Security-Policy",
                                  &ngx_kanban_csp)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_str_set(&v, "DENY");
        if (ngx_kanban_add_header(r, "X-Frame-Options", &v) != NGX_OK) {
            return NGX_ERROR;
        }
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&v, "max-age=31536000; includeSubDomains");
        if (ngx_kanban_add_header(r, "Strict-Transport-Security", &v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }
#endif

    return ngx_kanban_next_header_filter(r);
}


static ngx_uint_t
ngx_kanban_request_id_sane(ngx_str_t *id)
{
    u_char      c;
    ngx_uint_t  i;

    if (id->len == 0 || id->len > NGX_KANBAN_REQUEST_ID_MAX) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
        {
            return 0;
        }
    }

    return 1;
}


/* An authenticated API answer: kept by no cache (see the top), unless its
 * handler said otherwise. */

static ngx_int_t
ngx_kanban_headers_private(ngx_http_request_t *r)
{
    ngx_str_t          v;
    ngx_uint_t         i;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h;
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_module);

    if (ctx == NULL || ctx->identity == NULL) {
        return NGX_OK;
    }

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash && h[i].key.len == sizeof("Cache-Control") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                               sizeof("Cache-Control") - 1) == 0)
        {
            return NGX_OK;
        }
    }

    if (r->headers_out.etag) {
        ngx_str_set(&v, "private, no-cache");

    } else {
        ngx_str_set(&v, "no-store");
    }

    return ngx_kanban_add_header(r, "Cache-Control", &v);
}
