
/*
 * Operators' sessions on the platform host: an opaque token (256 random
 * bits; the catalog keeps its SHA-256), sent as a bearer token or, for
 * browsers, in a host-only HttpOnly cookie whose changes need the CSRF
 * header and the platform's own Origin, as the refresh cookie of a
 * workspace's host does. Nothing on a workspace's host reads the
 * operators' tables, and nothing here reads a workspace's tokens: each
 * is useless on the other's host.
 */

/* SQL: sql/catalog/008_operators.sql */
#include "ngx_kanban_platform.h"
#include <openssl/rand.h>
#include <openssl/sha.h>


#define NGX_KANBAN_PLATFORM_TOKEN_PREFIX  "kbo_"


static void ngx_kanban_platform_guarded(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_platform_presented(ngx_http_request_t *r,
    ngx_str_t *token, ngx_uint_t *cookie);
static ngx_int_t ngx_kanban_platform_origin_ok(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_platform_refuse(ngx_http_request_t *r,
    ngx_uint_t cookie, char *detail);
static ngx_int_t ngx_kanban_platform_logout_run(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_platform_logged_out(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_platform_session =
    ngx_kanban_pg_stmt("platform_session",
    "SELECT o.id, o.email"
    "  FROM operator_sessions s JOIN operators o ON o.id = s.operator_id"
    " WHERE s.token_hash = $1 AND s.expires_at > now()"
    "   AND o.status = 'active'");

/* $1 the session's hash, $2 the operator, $3 the address */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_logout =
    ngx_kanban_pg_stmt("platform_logout",
    "WITH s AS (DELETE FROM operator_sessions WHERE token_hash = $1"
    "           RETURNING operator_id)"
    " INSERT INTO platform_audit (operator_id, operator_email, action,"
    "                             address)"
    " SELECT o.id, o.email, 'operator.signed_out', $3::inet"
    "   FROM operators o WHERE o.id = $2::uuid");


ngx_kanban_sql_t  ngx_kanban_platform_me = {
    ngx_kanban_pg_stmt("platform_me",
    "SELECT 200, json_build_object('id', o.id, 'email', o.email)"
    "  FROM operators o WHERE o.id = $1::uuid"),
    { "actor", NULL },
    NULL
};


/* A route whose work is one statement, behind the guard. */

ngx_int_t
ngx_kanban_platform_sql_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_guard(r, ctx, ngx_kanban_sql_handler);
}


/* The operator's session, then next with ctx->identity the operator's:
 * 401 without a valid one, 403 for a cookie's change without its guards.
 * A workspace's JWT or API token is no operator's token: 401. */

ngx_int_t
ngx_kanban_platform_guard(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_handler_pt next)
{
    ngx_str_t                       token, *csrf;
    ngx_kanban_pg_db_t              db;
    ngx_kanban_pg_query_t          *q;
    ngx_kanban_platform_session_t  *ps;

    ps = ngx_pcalloc(r->pool, sizeof(ngx_kanban_platform_session_t));
    if (ps == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = ps;
    ps->next = next;

    if (ngx_kanban_platform_presented(r, &token, &ps->cookie) != NGX_OK) {
        return ngx_kanban_platform_refuse(r, 0, "Sign in as an operator.");
    }

    if (ps->cookie && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        csrf = ngx_kanban_header_in(r, "X-Kanban-CSRF");

        if (csrf == NULL || csrf->len != 1 || csrf->data[0] != '1'
            || ngx_kanban_platform_origin_ok(r) != NGX_OK)
        {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN,
                                      "A change by the session cookie needs "
                                      "the X-Kanban-CSRF header and the "
                                      "platform's own Origin.");
        }
    }

    if (ngx_kanban_platform_hash(r->pool, &token, &ps->token_hash)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_platform_session,
                             ngx_kanban_platform_guarded, 1, &ps->token_hash)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_platform_guarded(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t                       rc;
    ngx_str_t                      *id, *email;
    ngx_kanban_ctx_t               *ctx;
    ngx_kanban_identity_t          *who;
    ngx_kanban_platform_session_t  *ps;

    ctx = ngx_kanban_ctx(r);
    ps = ctx->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r,
            ngx_kanban_platform_refuse(r, ps->cookie,
                                       "This operator session is not valid "
                                       "(signed out or expired): sign in "
                                       "again."));
        return;
    }

    id = ngx_kanban_pg_value(r, q->result, 0, 0);
    email = ngx_kanban_pg_value(r, q->result, 0, 1);

    who = ngx_pcalloc(r->pool, sizeof(ngx_kanban_identity_t));
    if (who == NULL || id == NULL || email == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the result is cleared after this handler */
    ps->operator_id.data = ngx_pstrdup(r->pool, id);
    ps->operator_id.len = id->len;
    ps->email.data = ngx_pstrdup(r->pool, email);
    ps->email.len = email->len;

    if (ps->operator_id.data == NULL || ps->email.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    who->user_id = ps->operator_id;
    ngx_str_set(&who->role, "operator");
    who->level = NGX_KANBAN_ROLE_ADMIN;
    who->scopes = NGX_KANBAN_SCOPE_ALL;
    ctx->identity = who;

    rc = ps->next(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* "Authorization: Bearer kbo_..." or the cookie; anything else is none */

static ngx_int_t
ngx_kanban_platform_presented(ngx_http_request_t *r, ngx_str_t *token,
    ngx_uint_t *cookie)
{
    size_t      plen;
    ngx_str_t   name = ngx_string(NGX_KANBAN_PLATFORM_COOKIE), *auth;

    plen = sizeof(NGX_KANBAN_PLATFORM_TOKEN_PREFIX) - 1;
    *cookie = 0;

    auth = r->headers_in.authorization
           ? &r->headers_in.authorization->value : NULL;

    if (auth) {
        if (auth->len > 7 + plen
            && ngx_strncasecmp(auth->data, (u_char *) "Bearer ", 7) == 0
            && ngx_strncmp(auth->data + 7, NGX_KANBAN_PLATFORM_TOKEN_PREFIX,
                           plen) == 0
            && auth->len <= 7 + 128)
        {
            token->data = auth->data + 7;
            token->len = auth->len - 7;
            return NGX_OK;
        }

        return NGX_DECLINED;
    }

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                          token)
        == NGX_DECLINED
        || token->len <= plen || token->len > 128
        || ngx_strncmp(token->data, NGX_KANBAN_PLATFORM_TOKEN_PREFIX, plen)
           != 0)
    {
        return NGX_DECLINED;
    }

    *cookie = 1;

    return NGX_OK;
}


/* The platform's origin: kanban_tenant_url without its "*." */

static ngx_int_t
ngx_kanban_platform_origin_ok(ngx_http_request_t *r)
{
    u_char                  *star, *p, *end, buf[512];
    ngx_str_t               *origin;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();
    origin = ngx_kanban_header_in(r, "Origin");

    if (origin == NULL || kmcf->tenant_url.len > sizeof(buf)) {
        return NGX_DECLINED;
    }

    end = kmcf->tenant_url.data + kmcf->tenant_url.len;
    star = ngx_strlchr(kmcf->tenant_url.data, end, '*');

    if (star == NULL || star + 1 >= end || star[1] != '.') {
        return NGX_DECLINED;
    }

    p = ngx_cpymem(buf, kmcf->tenant_url.data, star - kmcf->tenant_url.data);
    p = ngx_cpymem(p, star + 2, end - star - 2);

    while (p > buf && p[-1] == '/') {
        p--;
    }

    return ((size_t) (p - buf) == origin->len
            && ngx_strncmp(buf, origin->data, origin->len) == 0)
           ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_kanban_platform_refuse(ngx_http_request_t *r, ngx_uint_t cookie,
    char *detail)
{
    ngx_str_t  challenge = ngx_string("Bearer realm=\"kanban-platform\"");

    if (ngx_kanban_add_header(r, "WWW-Authenticate", &challenge) != NGX_OK
        || (cookie && ngx_kanban_platform_set_cookie(r, NULL, "0") != NGX_OK))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED, detail);
}


ngx_int_t
ngx_kanban_platform_new_token(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *hash)
{
    u_char     raw[32];
    ngx_str_t  src, b64;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    src.data = raw;
    src.len = sizeof(raw);

    token->data = ngx_pnalloc(r->pool, sizeof(NGX_KANBAN_PLATFORM_TOKEN_PREFIX)
                                       + ngx_base64_encoded_length(32));
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    b64.data = ngx_cpymem(token->data, NGX_KANBAN_PLATFORM_TOKEN_PREFIX,
                          sizeof(NGX_KANBAN_PLATFORM_TOKEN_PREFIX) - 1);
    ngx_encode_base64url(&b64, &src);
    token->len = sizeof(NGX_KANBAN_PLATFORM_TOKEN_PREFIX) - 1 + b64.len;

    ngx_explicit_memzero(raw, sizeof(raw));

    return ngx_kanban_platform_hash(r->pool, token, hash);
}


/* What the catalog keeps of a token: its SHA-256, in hex. A lookup by
 * it compares digests, so the token itself is never compared. */

ngx_int_t
ngx_kanban_platform_hash(ngx_pool_t *pool, ngx_str_t *token, ngx_str_t *hash)
{
    u_char  digest[SHA256_DIGEST_LENGTH];

    SHA256(token->data, token->len, digest);

    hash->data = ngx_pnalloc(pool, 2 * sizeof(digest));
    if (hash->data == NULL) {
        return NGX_ERROR;
    }

    hash->len = ngx_hex_dump(hash->data, digest, sizeof(digest)) - hash->data;

    return NGX_OK;
}


/* value NULL clears it */

ngx_int_t
ngx_kanban_platform_set_cookie(ngx_http_request_t *r, ngx_str_t *value,
    char *max_age)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   cookie;

    len = sizeof(NGX_KANBAN_PLATFORM_COOKIE "=; Path=/; Max-Age=; HttpOnly; "
                 "Secure; SameSite=Strict")
          + (value ? value->len : 0) + ngx_strlen(max_age);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cookie.data = p;

    if (value) {
        p = ngx_sprintf(p, NGX_KANBAN_PLATFORM_COOKIE "=%V", value);

    } else {
        p = ngx_sprintf(p, NGX_KANBAN_PLATFORM_COOKIE "=");
    }

    p = ngx_sprintf(p, "; Path=/; Max-Age=%s; HttpOnly; Secure; "
                    "SameSite=Strict", max_age);
    cookie.len = p - cookie.data;

    return ngx_kanban_add_header(r, "Set-Cookie", &cookie);
}


ngx_int_t
ngx_kanban_platform_logout_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_guard(r, ctx, ngx_kanban_platform_logout_run);
}


static ngx_int_t
ngx_kanban_platform_logout_run(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_pg_db_t              db;
    ngx_kanban_pg_query_t          *q;
    ngx_kanban_platform_session_t  *ps;

    ps = ctx->data;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_platform_logout,
                             ngx_kanban_platform_logged_out, 3,
                             &ps->token_hash, &ps->operator_id,
                             &r->connection->addr_text)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_platform_logged_out(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t                       none = ngx_null_string;
    ngx_kanban_platform_session_t  *ps;

    ps = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (ps->cookie && ngx_kanban_platform_set_cookie(r, NULL, "0") != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_NO_CONTENT,
                                                      &none));
}
