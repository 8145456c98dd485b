
/*
 * Responses: JSON passed through as PostgreSQL built it, and problem
 * details (RFC 9457), the one place every error leaves from.
 */

#include "ngx_kanban.h"
#include "ngx_kanban_json.h"


#define NGX_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE  431


typedef struct {
    ngx_uint_t                 status;
    char                      *code;
    char                      *title;
} ngx_kanban_error_t;


static ngx_kanban_error_t  ngx_kanban_errors[] = {
    { 400, "bad_request", "The request is malformed." },
    { 401, "unauthorized", "Authentication is required." },
    { 403, "forbidden", "This is not allowed." },
    { 404, "not_found", "Nothing is here." },
    { 405, "method_not_allowed", "The method is not allowed here." },
    { 409, "already_exists", "It already exists." },
    { 413, "payload_too_large", "The body is too large." },
    { 415, "unsupported_media_type", "The body must be application/json." },
    { 422, "validation_failed", "The input is not valid." },
    { 429, "rate_limited", "Too many requests." },
    { 500, "internal_error", "Something went wrong on our side." },
    { 503, "unavailable", "A service this needs is unavailable." },
    { 404, "tenant_not_found", "There is no such workspace." },
    { 403, "tenant_suspended", "This workspace is suspended." },
    { 409, "version_conflict", "It was changed by someone else." },
    { 409, "conflict", "It conflicts with the current state." },
    { 401, "invalid_credentials", "The email or password is wrong." },
    { 401, "token_reused", "This refresh token was used before." },
    { 401, "invalid_token", "The token is not valid." },
    { 422, "dependency_cycle", "This would make tasks wait on each other." },
    { 409, "wip_limit_reached", "The column is at its WIP limit." },
    { 409, "locked", "It is locked: the week is submitted or approved." },
    { 410, "gone", "This is no longer available." },
    { 414, "uri_too_long", "The URI is too long." },
    { 431, "headers_too_large", "The request's headers are too large." },
    { 503, "tenant_moving", "This workspace is moving to another server; "
                            "writes resume in a few seconds." },
    { 410, "tenant_deleted", "This workspace has been deleted." },
    { 429, "ai_budget_exhausted", "The workspace's AI token budget for "
                                  "this month is spent." }
};


static ngx_uint_t ngx_kanban_problem_for(ngx_http_request_t *r,
    ngx_str_t *prefix);


ngx_int_t
ngx_kanban_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json)
{
    ngx_str_t  type = ngx_string("application/json");

    return ngx_kanban_send_text(r, status, &type, json);
}


ngx_int_t
ngx_kanban_send_text(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (r->header_sent) {
        return NGX_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = body->len;

    if (r->method == NGX_HTTP_HEAD || body->len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* A body nobody reads is still read to its end (discarded). Framing that
 * is not valid chunked encoding is the client's error: a 400 problem, and
 * the connection closes after it, since where a next request would start
 * is unknown. NGX_OK, else what the handler returns. */

ngx_int_t
ngx_kanban_discard_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_HTTP_BAD_REQUEST) {
        r->keepalive = 0;
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST,
                                  "The body's chunked framing is malformed.");
    }

    return rc;
}

ngx_int_t
ngx_kanban_problem(ngx_http_request_t *r, ngx_uint_t error, char *detail)
{
    return ngx_kanban_problem_errors(r, error, detail, NULL);
}


/* A problem named by its code, as SQL answers them. */

ngx_int_t
ngx_kanban_problem_code(ngx_http_request_t *r, ngx_str_t *code, char *detail)
{
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_kanban_errors) / sizeof(ngx_kanban_error_t);
         i++)
    {
        if (code->len == ngx_strlen(ngx_kanban_errors[i].code)
            && ngx_strncmp(code->data, ngx_kanban_errors[i].code, code->len)
               == 0)
        {
            return ngx_kanban_problem(r, i, detail);
        }
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "kanban: unknown problem code \"%V\"", code);

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_INTERNAL, NULL);
}


ngx_int_t
ngx_kanban_problem_field(ngx_http_request_t *r, char *detail, char *field,
    char *code, char *message)
{
    ngx_array_t  *errors;

    errors = ngx_array_create(r->pool, 1, sizeof(ngx_kanban_field_error_t));
    if (errors == NULL
        || ngx_kanban_field_error(errors, NULL, field, code, message)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_problem_errors(r, NGX_KANBAN_ERR_VALIDATION, detail,
                                     errors);
}


ngx_int_t
ngx_kanban_problem_errors(ngx_http_request_t *r, ngx_uint_t error,
    char *detail, ngx_array_t *errors)
{
    ngx_str_t                  body, type = ngx_string(
                                            "application/problem+json");
    ngx_uint_t                 i;
    ngx_kanban_jw_t            jw;
    ngx_kanban_error_t        *e;
    ngx_kanban_field_error_t  *fe;

    e = &ngx_kanban_errors[error];

    if (ngx_kanban_jw_init(&jw, r->pool, 512) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "type");

    {
        u_char     buf[128], *p;
        ngx_str_t  uri;

        p = ngx_snprintf(buf, sizeof(buf),
                         "https://kanban.example/problems/%s", e->code);
        uri.data = buf;
        uri.len = p - buf;
        ngx_kanban_jw_string(&jw, &uri);
    }

    ngx_kanban_jw_key(&jw, "title");
    ngx_kanban_jw_cstring(&jw, e->title);
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_int(&jw, e->status);
    ngx_kanban_jw_key(&jw, "code");
    ngx_kanban_jw_cstring(&jw, e->code);

    ngx_kanban_jw_key(&jw, "detail");
    ngx_kanban_jw_cstring(&jw, detail ? detail : e->title);

    if (errors && errors->nelts) {
        ngx_kanban_jw_key(&jw, "errors");
        ngx_kanban_jw_open(&jw, '[');

        fe = errors->elts;
        for (i = 0; i < errors->nelts; i++) {
            ngx_kanban_jw_open(&jw, '{');
            ngx_kanban_jw_key(&jw, "field");
            ngx_kanban_jw_string(&jw, &fe[i].field);
            ngx_kanban_jw_key(&jw, "code");
            ngx_kanban_jw_cstring(&jw, fe[i].code);
            ngx_kanban_jw_key(&jw, "message");
            ngx_kanban_jw_cstring(&jw, fe[i].message);
            ngx_kanban_jw_close(&jw, '}');
        }

        ngx_kanban_jw_close(&jw, ']');
    }

    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK) {
        return NGX_ERROR;
    }

    if (e->status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        /* a retry may succeed: never from a cache */
        ngx_str_t  no_store = ngx_string("no-store");

        if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_kanban_send_text(r, e->status, &type, &body);
}


/* The error_page target of API locations and of servers (kanban_problem):
 * nginx's own errors (a body over client_max_body_size, a malformed
 * request line, headers too large) leave in the same shape as ours. With
 * a prefix (a server's error_page), requests for other paths keep nginx's
 * own page. */

ngx_int_t
ngx_kanban_problem_handler(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_uint_t              status, error;
    ngx_kanban_ctx_t       *ctx;
    ngx_kanban_loc_conf_t  *klcf;

    status = r->err_status ? r->err_status : r->headers_out.status;
    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_module);

    if (klcf->problem_prefix.len
        && !ngx_kanban_problem_for(r, &klcf->problem_prefix))
    {
        /* r->error_page is set: nginx's own page is sent */
        return status == NGX_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE
               ? NGX_HTTP_REQUEST_HEADER_TOO_LARGE : status;
    }

    /* what the API answers before routing (a workspace's CORS: a listed
     * origin's page reads a 413 too); NGX_DONE: this handler runs again
     * once it may go on */
    ctx = ngx_kanban_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->tenant = ngx_kanban_tenant(r);

    if (ctx->tenant) {
        rc = ngx_kanban_preroute(r, ctx);

        if (rc == NGX_DONE) {
            r->main->count++;
            return NGX_DONE;
        }

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    switch (status) {
    case NGX_HTTP_BAD_REQUEST:
        error = NGX_KANBAN_ERR_BAD_REQUEST;
        break;
    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
        error = NGX_KANBAN_ERR_URI_TOO_LONG;
        break;
    case NGX_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE:
        error = NGX_KANBAN_ERR_HEADERS_TOO_LARGE;
        break;
    case NGX_HTTP_NOT_FOUND:
        error = NGX_KANBAN_ERR_NOT_FOUND;
        break;
    case NGX_HTTP_NOT_ALLOWED:
        error = NGX_KANBAN_ERR_METHOD;
        break;
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        error = NGX_KANBAN_ERR_TOO_LARGE;
        break;
    case NGX_HTTP_BAD_GATEWAY:
    case NGX_HTTP_SERVICE_UNAVAILABLE:
    case NGX_HTTP_GATEWAY_TIME_OUT:
        error = NGX_KANBAN_ERR_UNAVAILABLE;
        break;
    default:
        error = NGX_KANBAN_ERR_INTERNAL;
    }

    r->err_status = 0;

    return ngx_kanban_problem(r, error, NULL);
}


/* Whether the request was for a path under prefix, by its request line:
 * the error page is an internal redirect, and nginx may have refused the
 * line before it made a URI of it (%00, too long). The line is in the
 * connection's buffer or in one of its large header buffers. */

static ngx_uint_t
ngx_kanban_problem_for(ngx_http_request_t *r, ngx_str_t *prefix)
{
    u_char                  *p;
    ngx_buf_t               *b;
    ngx_chain_t             *cl;
    ngx_http_connection_t   *hc;

    p = r->uri_start;
    hc = r->http_connection;

    if (p == NULL || hc == NULL) {
        return 0;
    }

    b = r->connection->buffer;
    cl = hc->busy;

    for ( ;; ) {
        if (b && p >= b->start && p + prefix->len <= b->last) {
            return ngx_strncmp(p, prefix->data, prefix->len) == 0;
        }

        if (cl == NULL) {
            return 0;
        }

        b = cl->buf;
        cl = cl->next;
    }
}

