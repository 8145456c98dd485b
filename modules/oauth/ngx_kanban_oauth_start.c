
/*
 * GET /api/v1/auth/oauth/{provider}/start?return_to=/path: the browser
 * goes to the provider's authorization endpoint with a fresh state, a
 * PKCE S256 challenge and (OIDC) a nonce. The state's and the cookie
 * handle's hashes, the verifier and the nonce stay in the workspace's
 * database for ten minutes; the browser keeps only the handle, in an
 * HttpOnly cookie. return_to is a path of this origin, or "/".
 */

/* SQL: sql/tenant/021_sign_in_providers.sql */
#include "ngx_kanban_oauth.h"
#include <openssl/sha.h>


#define NGX_KANBAN_OAUTH_RETURN_MAX   512


typedef struct {
    ngx_kanban_oauth_t         oa;
    ngx_str_t                  state;
    ngx_str_t                  handle;
    ngx_str_t                  challenge;
} ngx_kanban_oauth_start_t;


static void ngx_kanban_oauth_start_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_oauth_start_discovered(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, char *error);
static void ngx_kanban_oauth_start_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_uint_t ngx_kanban_oauth_return_ok(ngx_str_t *path);
static ngx_uint_t ngx_kanban_oauth_slug_ok(ngx_str_t *slug);


static ngx_kanban_pg_stmt_t  ngx_kanban_oauth_start_provider =
    ngx_kanban_pg_stmt("oauth_start_provider",
    "SELECT id, kind, coalesce(issuer, ''), client_id, scopes"
    "  FROM auth_providers WHERE slug = $1 AND enabled");

/* states of sign-ins nobody finished go as new ones come, an hour after
 * they expired: until then a late callback is told it was too late */
static ngx_kanban_pg_stmt_t  ngx_kanban_oauth_start_store =
    ngx_kanban_pg_stmt("oauth_start_store",
    "WITH old AS (DELETE FROM oauth_states"
    "              WHERE expires_at < now() - interval '1 hour')"
    " INSERT INTO oauth_states (state_hash, binding_hash, provider_id,"
    "                           verifier, nonce, return_to)"
    " VALUES ($1, $2, $3::uuid, $4, $5, $6)");


ngx_int_t
ngx_kanban_oauth_start_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_str_t                 *slug;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_pg_query_t     *q;
    ngx_kanban_oauth_start_t  *st;

    st = ngx_pcalloc(r->pool, sizeof(ngx_kanban_oauth_start_t));
    if (st == NULL) {
        return ngx_kanban_oauth_retry(r);
    }

    ctx->data = st;

    slug = ngx_kanban_arg(ctx, "provider");
    if (slug == NULL || !ngx_kanban_oauth_slug_ok(slug)) {
        return ngx_kanban_oauth_fail(r, "unknown_provider");
    }

    st->oa.slug = *slug;

    rc = ngx_kanban_oauth_arg(r, "return_to", NGX_KANBAN_OAUTH_RETURN_MAX,
                              &st->oa.return_to);
    if (rc == NGX_ERROR) {
        return ngx_kanban_oauth_retry(r);
    }

    if (rc == NGX_DECLINED || !ngx_kanban_oauth_return_ok(&st->oa.return_to))
    {
        ngx_str_set(&st->oa.return_to, "/");
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_oauth_start_provider,
                             ngx_kanban_oauth_start_found, 1, slug)
           != NGX_OK)
    {
        return ngx_kanban_oauth_retry(r);
    }

    return NGX_DONE;
}


static void
ngx_kanban_oauth_start_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    PGresult                  *res;
    ngx_int_t                  rc;
    ngx_str_t                  src, *v[5];
    ngx_uint_t                 i;
    ngx_kanban_oauth_t        *oa;
    ngx_kanban_oauth_start_t  *st;
    u_char                     digest[SHA256_DIGEST_LENGTH];

    st = ngx_kanban_ctx(r)->data;
    oa = &st->oa;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r,
                                  ngx_kanban_oauth_fail(r, "unknown_provider"));
        return;
    }

    res = ngx_kanban_pg_keep(r, q);

    for (i = 0; i < 5; i++) {
        v[i] = ngx_kanban_pg_value(r, res, 0, i);
        if (v[i] == NULL) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
            return;
        }
    }

    oa->id = *v[0];
    oa->kind = *v[1];
    oa->issuer = *v[2];
    oa->client_id = *v[3];
    oa->scopes = *v[4];

    /* 256 bits each; the verifier's 43 characters are within PKCE's
     * 43 to 128 */
    if (ngx_kanban_oauth_random(r->pool, 32, &st->state) != NGX_OK
        || ngx_kanban_oauth_random(r->pool, 32, &st->handle) != NGX_OK
        || ngx_kanban_oauth_random(r->pool, 32, &oa->verifier) != NGX_OK
        || ngx_kanban_oauth_random(r->pool, 24, &oa->nonce) != NGX_OK
        || ngx_kanban_oauth_redirect_uri(r, oa) != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    SHA256(oa->verifier.data, oa->verifier.len, digest);

    src.data = digest;
    src.len = sizeof(digest);

    st->challenge.data = ngx_pnalloc(r->pool,
                                     ngx_base64_encoded_length(src.len));
    if (st->challenge.data == NULL) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    ngx_encode_base64url(&st->challenge, &src);

    if (oa->kind.len == 4 && ngx_strncmp(oa->kind.data, "oidc", 4) == 0) {
        rc = ngx_kanban_oauth_oidc_discover(r, oa,
                                            ngx_kanban_oauth_start_discovered);
        if (rc != NGX_OK && rc != NGX_DONE) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        }

        return;
    }

    if (oa->issuer.len) {
        /* GitHub Enterprise Server: its own host */
        oa->authorization_endpoint.len = oa->issuer.len
                                         + sizeof("/login/oauth/authorize") - 1;
        oa->authorization_endpoint.data =
            ngx_pnalloc(r->pool, oa->authorization_endpoint.len);
        if (oa->authorization_endpoint.data == NULL) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
            return;
        }

        ngx_sprintf(oa->authorization_endpoint.data,
                    "%V/login/oauth/authorize", &oa->issuer);

    } else {
        ngx_str_set(&oa->authorization_endpoint,
                    "https://github.com/login/oauth/authorize");
    }

    ngx_kanban_oauth_start_discovered(r, oa, NULL);
}


/* The authorization endpoint is known: the sign-in's state is stored,
 * then the browser is sent there. */

static void
ngx_kanban_oauth_start_discovered(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, char *error)
{
    ngx_str_t                  state_hash, handle_hash;
    ngx_kanban_ctx_t          *ctx;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_pg_query_t     *q;
    ngx_kanban_oauth_start_t  *st;

    if (error) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r, error));
        return;
    }

    ctx = ngx_kanban_ctx(r);
    st = ctx->data;

    if (ngx_kanban_session_hash(r, &st->state, &state_hash) != NGX_OK
        || ngx_kanban_session_hash(r, &st->handle, &handle_hash) != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_oauth_start_store,
                             ngx_kanban_oauth_start_stored, 6, &state_hash,
                             &handle_hash, &oa->id, &oa->verifier,
                             &oa->nonce, &oa->return_to)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
    }
}


static void
ngx_kanban_oauth_start_stored(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    u_char                    *sep;
    ngx_str_t                  to, prefix, s256 = ngx_string("S256"),
                               code = ngx_string("code"), *values[8];
    ngx_kanban_oauth_t        *oa;
    ngx_kanban_oauth_start_t  *st;
    char                      *names[] = { "response_type", "client_id",
                                           "redirect_uri", "scope", "state",
                                           "code_challenge",
                                           "code_challenge_method", "nonce",
                                           NULL };

    st = ngx_kanban_ctx(r)->data;
    oa = &st->oa;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    values[0] = &code;
    values[1] = &oa->client_id;
    values[2] = &oa->redirect_uri;
    values[3] = &oa->scopes;
    values[4] = &st->state;
    values[5] = &st->challenge;
    values[6] = &s256;
    values[7] = &oa->nonce;

    if (oa->kind.len != 4) {
        names[7] = NULL;          /* GitHub has no nonce */
    }

    sep = ngx_strlchr(oa->authorization_endpoint.data,
                      oa->authorization_endpoint.data
                      + oa->authorization_endpoint.len, '?');

    prefix.len = oa->authorization_endpoint.len + 1;
    prefix.data = ngx_pnalloc(r->pool, prefix.len);
    if (prefix.data == NULL) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    ngx_memcpy(prefix.data, oa->authorization_endpoint.data,
               oa->authorization_endpoint.len);
    prefix.data[prefix.len - 1] = sep ? '&' : '?';

    if (ngx_kanban_oauth_form(r->pool, &prefix, names, values, &to) != NGX_OK
        || ngx_kanban_oauth_cookie(r, &st->handle) != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_oauth_redirect(r, &to));
}


/* A path of this origin: "/" and no second "/" or "\" after it (which
 * browsers read as another host), nothing blank or a control. */

static ngx_uint_t
ngx_kanban_oauth_return_ok(ngx_str_t *path)
{
    size_t  i;

    if (path->len == 0 || path->data[0] != '/'
        || (path->len > 1 && (path->data[1] == '/' || path->data[1] == '\\')))
    {
        return 0;
    }

    for (i = 0; i < path->len; i++) {
        if (path->data[i] <= ' ' || path->data[i] >= 0x7f
            || path->data[i] == '\\')
        {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ngx_kanban_oauth_slug_ok(ngx_str_t *slug)
{
    size_t  i;

    if (slug->len == 0 || slug->len > 40) {
        return 0;
    }

    for (i = 0; i < slug->len; i++) {
        if (!((slug->data[i] >= 'a' && slug->data[i] <= 'z')
              || (slug->data[i] >= '0' && slug->data[i] <= '9')
              || slug->data[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}
