
/*
 * kanban_api: the content handler of API locations. It routes the
 * request, reads and checks its body (media type, JSON, the route's field
 * list; or, for a route of ngx_kanban_raw_body, the bytes as they came),
 * then hands it to the route's handler, which either answers at
 * once or returns NGX_DONE and finalizes the request when its work is done.
 */

#include "ngx_kanban_routes.h"


static void ngx_kanban_api_body_ready(ngx_http_request_t *r);
static void ngx_kanban_api_raw_ready(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_api_body(ngx_http_request_t *r, ngx_str_t *body);
static ngx_int_t ngx_kanban_api_read_body(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_api_dispatch(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_uint_t ngx_kanban_api_is_json(ngx_http_request_t *r);
static ngx_uint_t ngx_kanban_api_authorized(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_api_refuse(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_uint_t ngx_kanban_api_scope_allows(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_identity_t *id);


/* The sentinel body spec of routes that take any bytes (attachments,
 * imports); only its address matters. */
ngx_kanban_field_t  ngx_kanban_raw_body[] = {
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_int_t
ngx_kanban_api_handler(ngx_http_request_t *r)
{
    ngx_int_t               rc, found;
    ngx_str_t               allow;
    ngx_uint_t              host;
    ngx_kanban_ctx_t       *ctx;
    ngx_kanban_identity_t  *id;

    ctx = ngx_kanban_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->tenant = ngx_kanban_tenant(r);
    host = ctx->tenant ? NGX_KANBAN_HOST_TENANT : NGX_KANBAN_HOST_PLATFORM;

    /* what a module answers before routing (CORS: another origin's
     * preflight, or its headers once the workspace's list is read) */
    rc = ngx_kanban_preroute(r, ctx);

    if (rc != NGX_DECLINED) {
        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;
    }

    rc = ngx_kanban_route_find(r, ctx, host, &allow);

    if (rc != NGX_OK) {
        found = rc;

        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (found == NGX_HTTP_NOT_ALLOWED) {
            if (ngx_kanban_add_header(r, "Allow", &allow) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_kanban_problem(r, NGX_KANBAN_ERR_METHOD, NULL);
        }

        if (found == NGX_HTTP_NOT_FOUND) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a deleted workspace is gone for everyone signed in but its admins,
     * before the route's role check: its 403 would say it still works */
    id = ngx_kanban_identity(r);

    if (ctx->tenant && ctx->tenant->admins_only
        && ctx->route->access != NGX_KANBAN_ACCESS_PUBLIC
        && id && id->level < NGX_KANBAN_ACCESS_ADMIN)
    {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TENANT_DELETED,
                                  "This workspace is deleted; only its "
                                  "admin may still download its export.");
    }

    if (ctx->route->access != NGX_KANBAN_ACCESS_PUBLIC
        && !ngx_kanban_api_authorized(r, ctx))
    {
        return ngx_kanban_api_refuse(r, ctx);
    }

    if (ctx->route->body == NULL) {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = ngx_kanban_api_dispatch(r, ctx);

        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;
    }

    return ngx_kanban_api_read_body(r, ctx);
}


/* The route's body: as it comes for a raw one, else JSON (media type
 * checked first); the handler runs once it is read. */

static ngx_int_t
ngx_kanban_api_read_body(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t  rc;

    r->request_body_in_single_buf = 1;

    if (ctx->route->body == ngx_kanban_raw_body) {
        rc = ngx_http_read_client_request_body(r, ngx_kanban_api_raw_ready);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST,
                                  "This request needs a JSON body.");
    }

    if (!ngx_kanban_api_is_json(r)) {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_kanban_problem(r, NGX_KANBAN_ERR_MEDIA_TYPE,
                                  "Send the body as application/json.");
    }

    rc = ngx_http_read_client_request_body(r, ngx_kanban_api_body_ready);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* The route's role, from the table: no token is 401, too small a role
 * 403. Finer rules (a project manager's own teams, a contributor's own
 * tasks) are the handlers'. */

static ngx_uint_t
ngx_kanban_api_authorized(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_identity_t  *id;

    id = ngx_kanban_identity(r);

    if (id && id->level >= ctx->route->access
        && ngx_kanban_api_scope_allows(r, ctx, id))
    {
        ctx->identity = id;
        return 1;
    }

    return 0;
}


/* The answer to a caller the route's role refuses; the route never runs. */

static ngx_int_t
ngx_kanban_api_refuse(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_str_t               challenge = ngx_string("Bearer realm=\"kanban\"");
    ngx_kanban_identity_t  *id;

    id = ngx_kanban_identity(r);

    rc = ngx_kanban_discard_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (id == NULL) {
        if (ngx_kanban_add_header(r, "WWW-Authenticate", &challenge)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                                  "Sign in to do this.");
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN,
                              id->level < ctx->route->access
                              ? "Your role does not allow this."
                              : "This API token's scopes do not allow this.");
}


/* An API token may read with any scope, change things with write, and
 * reach the admin routes with admin; sessions may do what the role may. */

static ngx_uint_t
ngx_kanban_api_scope_allows(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_identity_t *id)
{
    if (ctx->route->access == NGX_KANBAN_ACCESS_ADMIN
        && !(id->scopes & NGX_KANBAN_SCOPE_ADMIN))
    {
        return 0;
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return id->scopes != 0;
    }

    return (id->scopes & (NGX_KANBAN_SCOPE_WRITE|NGX_KANBAN_SCOPE_ADMIN))
           != 0;
}


static void
ngx_kanban_api_body_ready(ngx_http_request_t *r)
{
    char              *error;
    ngx_int_t          rc;
    ngx_str_t          body;
    ngx_array_t       *errors;
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (ngx_kanban_api_body(r, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->raw_body = body;

    rc = ngx_kanban_json_parse(r->pool, body.data, body.len, &ctx->body,
                               &error);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST, error));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_kanban_validate(r->pool, ctx->body, ctx->route->body, &errors);

    if (rc == NGX_OK) {
        rc = ngx_kanban_password_context(r, ctx, errors);
    }

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem_errors(r, NGX_KANBAN_ERR_VALIDATION,
                                      "Some fields are not valid.", errors));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_kanban_api_dispatch(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* A body taken as it is: its media type and contents are the handler's
 * to judge. */

static void
ngx_kanban_api_raw_ready(ngx_http_request_t *r)
{
    ngx_int_t          rc;
    ngx_str_t          body;
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (ngx_kanban_api_body(r, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (body.len == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                               "The body is empty."));
        return;
    }

    ctx->raw_body = body;

    rc = ngx_kanban_api_dispatch(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_kanban_api_dispatch(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ctx->route->handler(r, ctx);

    if (rc == NGX_DONE) {
        /* a client that leaves while the handler waits is noticed, and
         * the request's cleanups let go of what it holds */
        r->read_event_handler = ngx_http_test_reading;
    }

    return rc;
}


/* The body as one run of bytes: client_body_buffer_size keeps it in
 * memory; a body nginx wrote to a file anyway is read back. */

static ngx_int_t
ngx_kanban_api_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    size_t        len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            /* a chunked body's last buffer is empty, its pos NULL */
            if (b->last != b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);
        if (n != b->file_last - b->file_pos) {
            return NGX_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}


/* application/json, with an optional charset of utf-8 */

static ngx_uint_t
ngx_kanban_api_is_json(ngx_http_request_t *r)
{
    u_char     *p, *end;
    ngx_str_t  *type;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    type = &r->headers_in.content_type->value;
    p = type->data;
    end = type->data + type->len;

    if (type->len < 16 || ngx_strncasecmp(p, (u_char *) "application/json",
                                          16) != 0)
    {
        return 0;
    }

    for (p += 16; p < end && (*p == ' ' || *p == '\t'); p++) { /* void */ }

    if (p == end) {
        return 1;
    }

    if (*p++ != ';') {
        return 0;
    }

    for ( /* void */ ; p < end && (*p == ' ' || *p == '\t'); p++) {
        /* void */
    }

    return (end - p == 13
            && ngx_strncasecmp(p, (u_char *) "charset=utf-8", 13) == 0)
           || (end - p == 15
               && ngx_strncasecmp(p, (u_char *) "charset=\"utf-8\"", 15) == 0);
}
