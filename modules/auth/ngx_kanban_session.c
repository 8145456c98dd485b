
/*
 * Sessions: making refresh tokens, answering with a new token pair, and
 * reading the refresh token a client presents (the body, or for browsers
 * the __Host- cookie, guarded by a CSRF header and the Origin check).
 */

/* SQL: none of its own */
#include "ngx_kanban_session.h"
#include "ngx_kanban_jwt.h"
#include <openssl/rand.h>
#include <openssl/sha.h>


#define NGX_KANBAN_COOKIE         "__Host-kanban_refresh"
#define NGX_KANBAN_COOKIE_MAX_AGE "2592000"


static ngx_int_t ngx_kanban_session_origin_ok(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_session_set_cookie(ngx_http_request_t *r,
    ngx_str_t *value, char *max_age);


ngx_int_t
ngx_kanban_session_create(ngx_http_request_t *r, ngx_kanban_session_t *s)
{
    u_char     raw[32];
    ngx_str_t  src;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    src.data = raw;
    src.len = sizeof(raw);

    s->refresh.data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(32));
    if (s->refresh.data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64url(&s->refresh, &src);

    /* what the person's list of sessions shows of this one */
    s->user_agent = r->headers_in.user_agent
                    ? &r->headers_in.user_agent->value : NULL;
    s->addr = &r->connection->addr_text;

    s->lifetime.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (s->lifetime.data == NULL) {
        return NGX_ERROR;
    }

    s->lifetime.len = ngx_sprintf(s->lifetime.data, "%T",
                                  ngx_kanban_jwt_session_lifetime(r))
                      - s->lifetime.data;

    return ngx_kanban_session_hash(r, &s->refresh, &s->hash);
}


ngx_int_t
ngx_kanban_session_hash(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *hash)
{
    u_char  digest[SHA256_DIGEST_LENGTH];

    SHA256(token->data, token->len, digest);

    hash->data = ngx_pnalloc(r->pool, 2 * sizeof(digest));
    if (hash->data == NULL) {
        return NGX_ERROR;
    }

    hash->len = ngx_hex_dump(hash->data, digest, sizeof(digest))
                - hash->data;

    return NGX_OK;
}


/* user: a row of (id, role, teams json, user json) */

ngx_int_t
ngx_kanban_session_send(ngx_http_request_t *r, ngx_kanban_session_t *s,
    PGresult *user, ngx_uint_t status)
{
    return ngx_kanban_session_send_with(r, s, user, status, NULL, NULL);
}


/* the same with one more member, key: raw JSON (an enrolment's recovery
 * codes, shown once beside the session it ends in) */

ngx_int_t
ngx_kanban_session_send_with(ngx_http_request_t *r, ngx_kanban_session_t *s,
    PGresult *user, ngx_uint_t status, char *key, ngx_str_t *raw)
{
    time_t            ttl;
    ngx_str_t         token, body, *id, *role, *teams, *json;
    ngx_str_t         no_store = ngx_string("no-store");
    ngx_kanban_jw_t   jw;

    id = ngx_kanban_pg_value(r, user, 0, 0);
    role = ngx_kanban_pg_value(r, user, 0, 1);
    teams = ngx_kanban_pg_value(r, user, 0, 2);
    json = ngx_kanban_pg_value(r, user, 0, 3);

    if (id == NULL || role == NULL || teams == NULL || json == NULL
        || ngx_kanban_jwt_issue(r, id, role, teams, &token, &ttl) != NGX_OK
        || ngx_kanban_jw_init(&jw, r->pool, 1024) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "access_token");
    ngx_kanban_jw_string(&jw, &token);
    ngx_kanban_jw_key(&jw, "token_type");
    ngx_kanban_jw_cstring(&jw, "Bearer");
    ngx_kanban_jw_key(&jw, "expires_in");
    ngx_kanban_jw_int(&jw, ttl);

    if (!s->cookie) {
        ngx_kanban_jw_key(&jw, "refresh_token");
        ngx_kanban_jw_string(&jw, &s->refresh);
    }

    ngx_kanban_jw_key(&jw, "user");
    ngx_kanban_jw_raw(&jw, json);

    if (key) {
        ngx_kanban_jw_key(&jw, key);
        ngx_kanban_jw_raw(&jw, raw);
    }

    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK
        || ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (s->cookie
        && ngx_kanban_session_set_cookie(r, &s->refresh,
                                         NGX_KANBAN_COOKIE_MAX_AGE)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_json(r, status, &body);
}


/* The refresh token of a refresh or logout: {"refresh_token": ...}, or
 * with {"cookie": true} the cookie, which only counts with the CSRF header
 * and the workspace's own Origin. NGX_DECLINED: none came; NGX_ABORT: the
 * cookie came without its guards (a forged cross-site request, say). */

ngx_int_t
ngx_kanban_session_presented(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_session_t *s, ngx_str_t *token)
{
    ngx_str_t           name = ngx_string(NGX_KANBAN_COOKIE), *t, *csrf;
    ngx_kanban_json_t  *cookie;

    cookie = ngx_kanban_json_get(ctx->body, "cookie");
    s->cookie = (cookie && cookie->type == NGX_KANBAN_JSON_BOOL
                 && cookie->boolean);

    if (!s->cookie) {
        t = ngx_kanban_json_string(ctx->body, "refresh_token");
        if (t == NULL || t->len == 0) {
            return NGX_DECLINED;
        }

        *token = *t;
        return NGX_OK;
    }

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                          token)
        == NGX_DECLINED
        || token->len == 0)
    {
        return NGX_DECLINED;
    }

    csrf = ngx_kanban_header_in(r, "X-Kanban-CSRF");

    if (csrf == NULL || csrf->len != 1 || csrf->data[0] != '1'
        || ngx_kanban_session_origin_ok(r) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kanban: refresh cookie without the CSRF header or "
                      "from another origin");
        return NGX_ABORT;
    }

    return NGX_OK;
}


ngx_int_t
ngx_kanban_session_clear_cookie(ngx_http_request_t *r)
{
    ngx_str_t  empty = ngx_string("");

    return ngx_kanban_session_set_cookie(r, &empty, "0");
}


/* The refresh cookie alone, for a sign-in that answers with a redirect
 * (OAuth's callback) instead of a token pair. */

ngx_int_t
ngx_kanban_session_cookie(ngx_http_request_t *r, ngx_kanban_session_t *s)
{
    return ngx_kanban_session_set_cookie(r, &s->refresh,
                                         NGX_KANBAN_COOKIE_MAX_AGE);
}


/* Origin must be the workspace's own: kanban_tenant_url with its slug. */

static ngx_int_t
ngx_kanban_session_origin_ok(ngx_http_request_t *r)
{
    u_char                  *star, *p, buf[512];
    ngx_str_t               *origin;
    ngx_kanban_tenant_t     *t;
    ngx_kanban_main_conf_t  *kmcf;

    t = ngx_kanban_tenant(r);
    kmcf = ngx_kanban_main_conf();

    origin = ngx_kanban_header_in(r, "Origin");

    if (t == NULL || origin == NULL
        || kmcf->tenant_url.len + t->slug.len > sizeof(buf))
    {
        return NGX_DECLINED;
    }

    star = ngx_strlchr(kmcf->tenant_url.data,
                       kmcf->tenant_url.data + kmcf->tenant_url.len, '*');

    p = ngx_cpymem(buf, kmcf->tenant_url.data, star - kmcf->tenant_url.data);
    p = ngx_cpymem(p, t->slug.data, t->slug.len);
    p = ngx_cpymem(p, star + 1,
                   kmcf->tenant_url.data + kmcf->tenant_url.len - star - 1);

    while (p > buf && p[-1] == '/') {
        p--;
    }

    return ((size_t) (p - buf) == origin->len
            && ngx_strncmp(buf, origin->data, origin->len) == 0)
           ? NGX_OK : NGX_DECLINED;
}


/* __Host- cookies must be Secure with Path=/ (browsers refuse them
 * otherwise), so the path is / rather than /api/v1/auth. */

static ngx_int_t
ngx_kanban_session_set_cookie(ngx_http_request_t *r, ngx_str_t *value,
    char *max_age)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   cookie;

    len = sizeof(NGX_KANBAN_COOKIE "=; Path=/; Max-Age=; HttpOnly; Secure; "
                 "SameSite=Strict") + value->len + ngx_strlen(max_age);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cookie.data = p;
    p = ngx_sprintf(p, NGX_KANBAN_COOKIE "=%V; Path=/; Max-Age=%s; HttpOnly; "
                    "Secure; SameSite=Strict", value, max_age);
    cookie.len = p - cookie.data;

    return ngx_kanban_add_header(r, "Set-Cookie", &cookie);
}
