
/*
 * A share link's password: POST /s/{code} with a form (password=...) or
 * JSON ({"password": ...}). Each try is counted in PostgreSQL before the
 * password is checked (argon2id, in the thread pool), 5 per link and
 * client in 15 minutes, so parallel guesses get no more; a right one takes
 * the client's tries back and earns a grant cookie and a 302 back to the
 * link.
 */

/* SQL: sql/tenant/011_share_links.sql */
#include "ngx_kanban_share.h"

#include <openssl/sha.h>


static ngx_int_t ngx_kanban_share_bad_body(ngx_kanban_share_ctx_t *ctx,
    ngx_uint_t error, char *detail);
static ngx_int_t ngx_kanban_share_body_text(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_kanban_share_form_password(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_str_t *body);
static void ngx_kanban_share_tries(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_granted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_share_client(ngx_http_request_t *r,
    ngx_str_t *out);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_try_stmt =
    ngx_kanban_pg_stmt("share_try",
    "SELECT allowed, retry_after FROM share_link_try($1::uuid, $2)");

static ngx_kanban_pg_stmt_t  ngx_kanban_share_tries_clear_stmt =
    ngx_kanban_pg_stmt("share_tries_clear",
    "SELECT share_link_tries_clear($1::uuid, $2)");


static ngx_int_t
ngx_kanban_share_bad_body(ngx_kanban_share_ctx_t *ctx, ngx_uint_t error,
    char *detail)
{
    ctx->error = error;
    ctx->detail = detail;

    return NGX_DECLINED;
}


/* The password from a form (password=...) or JSON ({"password": ...}):
 * NGX_OK; NGX_DECLINED with the problem in ctx->error and ctx->detail;
 * or an error status. */

ngx_int_t
ngx_kanban_share_password_read(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx)
{
    char               *error;
    ngx_int_t           rc;
    ngx_str_t           body, *type, *s;
    ngx_kanban_json_t  *root;

    rc = ngx_kanban_share_body_text(r, ctx, &body);
    if (rc != NGX_OK) {
        return rc;
    }

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type && type->len >= 16
        && ngx_strncasecmp(type->data, (u_char *) "application/json", 16)
           == 0)
    {
        if (ngx_kanban_json_parse(r->pool, body.data, body.len, &root,
                                  &error)
            != NGX_OK
            || (s = ngx_kanban_json_string(root, "password")) == NULL)
        {
            return ngx_kanban_share_bad_body(ctx, NGX_KANBAN_ERR_BAD_REQUEST,
                                             "Send {\"password\": \"...\"}.");
        }

        ctx->password = *s;
        return NGX_OK;
    }

    if (type == NULL || type->len < 33
        || ngx_strncasecmp(type->data,
                           (u_char *) "application/x-www-form-urlencoded",
                           33) != 0)
    {
        return ngx_kanban_share_bad_body(ctx, NGX_KANBAN_ERR_MEDIA_TYPE,
                                         "Send the password as a form or "
                                         "JSON.");
    }

    return ngx_kanban_share_form_password(r, ctx, &body);
}


/* the body in one piece of memory, NUL-terminated space included; a
 * chunked body comes in several buffers, all in memory (4k) */
static ngx_int_t
ngx_kanban_share_body_text(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char       *dst;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return ngx_kanban_share_bad_body(ctx, NGX_KANBAN_ERR_BAD_REQUEST,
                                         "Send the password.");
    }

    body->len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            return ngx_kanban_share_bad_body(ctx, NGX_KANBAN_ERR_TOO_LARGE,
                                             NULL);
        }

        body->len += cl->buf->last - cl->buf->pos;
    }

    if (body->len > NGX_KANBAN_SHARE_BODY_MAX) {
        return ngx_kanban_share_bad_body(ctx, NGX_KANBAN_ERR_TOO_LARGE,
                                         NULL);
    }

    body->data = ngx_pnalloc(r->pool, body->len + 1);
    if (body->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst = body->data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        /* an empty body's buffer has no memory: no memcpy from NULL */
        if (b->last != b->pos) {
            dst = ngx_cpymem(dst, b->pos, b->last - b->pos);
        }
    }

    return NGX_OK;
}


/* ngx_http_arg reads the query string: the form's field found by hand */
static ngx_int_t
ngx_kanban_share_form_password(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_str_t *body)
{
    u_char     *dst, *src;
    ngx_str_t   value;

    src = body->data;

    while (src < body->data + body->len) {
        dst = ngx_strlchr(src, body->data + body->len, '&');
        if (dst == NULL) {
            dst = body->data + body->len;
        }

        if (dst - src >= 9 && ngx_strncmp(src, "password=", 9) == 0) {
            value.len = dst - src - 9;
            value.data = ngx_pnalloc(r->pool, value.len + 1);
            if (value.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            /* '+' is a space in forms */
            ngx_memcpy(value.data, src + 9, value.len);
            for (dst = value.data; dst < value.data + value.len; dst++) {
                if (*dst == '+') {
                    *dst = ' ';
                }
            }

            dst = value.data;
            src = value.data;
            ngx_unescape_uri(&dst, &src, value.len, 0);

            ctx->password.data = value.data;
            ctx->password.len = dst - value.data;
            return NGX_OK;
        }

        src = dst + 1;
    }

    return ngx_kanban_share_bad_body(ctx, NGX_KANBAN_ERR_BAD_REQUEST,
                                     "Send the password.");
}


/* POST: the password of a protected link. The argon2id check answers
 * verified, the caller's, which hands the request's ctx back to
 * ngx_kanban_share_checked. */

ngx_int_t
ngx_kanban_share_unlock(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx,
    ngx_kanban_verified_pt verified)
{
    ngx_uint_t              verdict;
    ngx_str_t               back;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    verdict = ngx_kanban_share_judge(r, &ctx->link, &ctx->code, 0);

    if (verdict == NGX_KANBAN_SHARE_NOT_FOUND
        || verdict == NGX_KANBAN_SHARE_EXPIRED)
    {
        return ngx_kanban_share_refuse(r, ctx, verdict);
    }

    if (ctx->link.password_hash.len == 0) {
        /* nothing to unlock: on to the link */
        back.data = r->uri.data;
        back.len = r->uri.len;

        if (ngx_kanban_share_location(r, &back) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_MOVED_TEMPORARILY;
    }

    if (ctx->password.len == 0 || ctx->password.len > NGX_KANBAN_PASSWORD_MAX)
    {
        ctx->wrong = 1;
        return ngx_kanban_share_refuse(r, ctx, NGX_KANBAN_SHARE_LOCKED);
    }

    if (ngx_kanban_share_client(r, &ctx->client) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->verified = verified;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->data = ctx;

    if (ngx_kanban_pg_run(q, &ngx_kanban_share_try_stmt,
                          ngx_kanban_share_tries, 2, &ctx->link.id,
                          &ctx->client)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_share_tries(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t               *allowed, *retry;
    ngx_kanban_share_ctx_t  *ctx;

    ctx = q->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    allowed = ngx_kanban_pg_value(r, q->result, 0, 0);
    retry = ngx_kanban_pg_value(r, q->result, 0, 1);

    if (allowed == NULL || retry == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (allowed->data[0] != 't') {
        retry->data = ngx_pstrdup(r->pool, retry);

        if (retry->data == NULL
            || ngx_kanban_add_header(r, "Retry-After", retry) != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_RATE_LIMITED,
                               "Too many wrong passwords for this link; "
                               "try again later."));
        return;
    }

    if (ngx_kanban_password_verify(r, &ctx->link.password_hash,
                                   &ctx->password, ctx->verified)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* Right: this client's tries are taken back, then the grant. Wrong:
 * the try stays counted. */

void
ngx_kanban_share_checked(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx,
    ngx_uint_t match)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (!match) {
        ctx->wrong = 1;
        ngx_http_finalize_request(r,
            ngx_kanban_share_refuse(r, ctx, NGX_KANBAN_SHARE_LOCKED));
        return;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    q->data = ctx;

    if (ngx_kanban_pg_run(q, &ngx_kanban_share_tries_clear_stmt,
                          ngx_kanban_share_granted, 2, &ctx->link.id,
                          &ctx->client)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_share_granted(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                back;
    ngx_kanban_share_ctx_t  *ctx;

    ctx = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    back.data = r->uri.data;
    back.len = r->uri.len;

    if (ngx_kanban_share_grant(r, &ctx->link, &ctx->code) != NGX_OK
        || ngx_kanban_share_location(r, &back) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, NGX_HTTP_MOVED_TEMPORARILY);
}


/* The client for the password tries: its IPv4 address or its IPv6 /64
 * (one host's share of addresses), hashed, so that the table never holds
 * an address. */

static ngx_int_t
ngx_kanban_share_client(ngx_http_request_t *r, ngx_str_t *out)
{
    u_char               digest[SHA256_DIGEST_LENGTH], *a;
    size_t               len;
    struct sockaddr_in  *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        a = (u_char *) &sin->sin_addr.s_addr;
        len = 4;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
        a = sin6->sin6_addr.s6_addr;
        len = 8;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            a += 12;
            len = 4;
        }

        break;
#endif

    default:
        a = r->connection->addr_text.data;
        len = r->connection->addr_text.len;
    }

    out->data = ngx_pnalloc(r->pool, 2 * SHA256_DIGEST_LENGTH);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    SHA256(a, len, digest);

    out->len = ngx_hex_dump(out->data, digest, sizeof(digest)) - out->data;

    return NGX_OK;
}
