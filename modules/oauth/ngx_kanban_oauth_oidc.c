
/*
 * OpenID Connect: the issuer's discovery document and its keys (JWKS),
 * each cached in the worker for kanban_oauth_cache_ttl and fetched again
 * once when a token names a key it does not know (the issuer rotated),
 * and the ID token checked: its signature (RS256 or ES256), iss, aud and
 * azp, exp and iat within a minute's skew, and the nonce of this sign-in.
 *
 * A cache entry's strings live in pools of its own, replaced whole when
 * it is fetched again, and destroyed with the cycle's pool when the worker
 * exits; a sign-in copies what it uses into its request.
 */

/* SQL: none of its own */
#include "ngx_kanban_oauth.h"


#define NGX_KANBAN_OAUTH_CACHE_MAX   64      /* issuers a worker keeps */
#define NGX_KANBAN_OAUTH_MAX_KEYS    32


typedef struct {
    ngx_str_t                  issuer;          /* the key, in meta_pool */
    ngx_pool_t                *meta_pool;
    ngx_str_t                  authorization_endpoint;
    ngx_str_t                  token_endpoint;
    ngx_str_t                  jwks_uri;
    time_t                     meta_fetched;
    ngx_pool_t                *keys_pool;
    ngx_array_t               *keys;            /* ngx_kanban_jwt_key_t */
    time_t                     keys_fetched;
} ngx_kanban_oauth_issuer_t;


typedef struct {
    ngx_http_request_t        *request;
    ngx_kanban_oauth_t        *oa;
    ngx_kanban_oauth_done_pt   done;
} ngx_kanban_oauth_call_t;


static ngx_kanban_oauth_issuer_t *ngx_kanban_oauth_issuer(ngx_str_t *issuer,
    ngx_uint_t create);
static void ngx_kanban_oauth_issuers_free(void *data);
static void ngx_kanban_oauth_discovered(ngx_kanban_http_req_t *hr);
static ngx_int_t ngx_kanban_oauth_endpoint(ngx_pool_t *pool,
    ngx_kanban_json_t *doc, char *name, ngx_str_t *out);
static void ngx_kanban_oauth_copy(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, ngx_kanban_oauth_issuer_t *is);
static ngx_int_t ngx_kanban_oauth_fetch_keys(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, ngx_kanban_oauth_done_pt done);
static void ngx_kanban_oauth_keys_fetched(ngx_kanban_http_req_t *hr);
static char *ngx_kanban_oauth_id_token(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, ngx_array_t *keys, ngx_uint_t *unknown_kid);
static ngx_uint_t ngx_kanban_oauth_equal(ngx_str_t *a, ngx_str_t *b);


static ngx_array_t  *ngx_kanban_oauth_issuers;   /* this worker's */


static ngx_kanban_oauth_issuer_t *
ngx_kanban_oauth_issuer(ngx_str_t *issuer, ngx_uint_t create)
{
    ngx_uint_t                  i, oldest;
    ngx_pool_cleanup_t         *cln;
    ngx_kanban_oauth_issuer_t  *is;

    if (ngx_kanban_oauth_issuers == NULL) {
        if (!create) {
            return NULL;
        }

        /* the entries' pools are malloc'ed: the cycle's pool frees them */
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return NULL;
        }

        ngx_kanban_oauth_issuers = ngx_array_create(ngx_cycle->pool, 8,
                                           sizeof(ngx_kanban_oauth_issuer_t));
        if (ngx_kanban_oauth_issuers == NULL) {
            return NULL;
        }

        cln->handler = ngx_kanban_oauth_issuers_free;
    }

    is = ngx_kanban_oauth_issuers->elts;
    oldest = 0;

    for (i = 0; i < ngx_kanban_oauth_issuers->nelts; i++) {
        if (ngx_kanban_oauth_equal(&is[i].issuer, issuer)) {
            return &is[i];
        }

        if (is[i].meta_fetched < is[oldest].meta_fetched) {
            oldest = i;
        }
    }

    if (!create) {
        return NULL;
    }

    if (ngx_kanban_oauth_issuers->nelts < NGX_KANBAN_OAUTH_CACHE_MAX) {
        is = ngx_array_push(ngx_kanban_oauth_issuers);
        if (is == NULL) {
            return NULL;
        }

    } else {
        /* the longest unused goes */
        is = &is[oldest];

        if (is->meta_pool) {
            ngx_destroy_pool(is->meta_pool);
        }

        if (is->keys_pool) {
            ngx_destroy_pool(is->keys_pool);
        }
    }

    ngx_memzero(is, sizeof(ngx_kanban_oauth_issuer_t));

    return is;
}


static void
ngx_kanban_oauth_issuers_free(void *data)
{
    ngx_uint_t                  i;
    ngx_kanban_oauth_issuer_t  *is;

    if (ngx_kanban_oauth_issuers == NULL) {
        return;
    }

    is = ngx_kanban_oauth_issuers->elts;

    for (i = 0; i < ngx_kanban_oauth_issuers->nelts; i++) {
        if (is[i].meta_pool) {
            ngx_destroy_pool(is[i].meta_pool);
        }

        if (is[i].keys_pool) {
            ngx_destroy_pool(is[i].keys_pool);
        }
    }

    ngx_kanban_oauth_issuers = NULL;
}


/* Calls done (now or later) with the endpoints in oa; NGX_ERROR when it
 * cannot start, and done is then not called. */

ngx_int_t
ngx_kanban_oauth_oidc_discover(ngx_http_request_t *r, ngx_kanban_oauth_t *oa,
    ngx_kanban_oauth_done_pt done)
{
    ngx_str_t                   url;
    ngx_kanban_http_req_t      *hr;
    ngx_kanban_oauth_call_t    *call;
    ngx_kanban_oauth_conf_t    *ocf;
    ngx_kanban_oauth_issuer_t  *is;

    ocf = ngx_kanban_oauth_conf();

    is = ngx_kanban_oauth_issuer(&oa->issuer, 0);

    if (is && is->meta_pool && ngx_time() - is->meta_fetched < ocf->cache_ttl)
    {
        ngx_kanban_oauth_copy(r, oa, is);

        if (oa->token_endpoint.data == NULL) {
            return NGX_ERROR;
        }

        done(r, oa, NULL);
        return NGX_OK;
    }

    url.len = oa->issuer.len + sizeof("/.well-known/openid-configuration");
    url.data = ngx_pnalloc(r->pool, url.len);
    if (url.data == NULL) {
        return NGX_ERROR;
    }

    /* the issuer's path, if any, comes before the well-known part */
    url.len = oa->issuer.len;
    while (url.len && oa->issuer.data[url.len - 1] == '/') {
        url.len--;
    }

    ngx_memcpy(url.data, oa->issuer.data, url.len);
    url.len = ngx_cpymem(url.data + url.len,
                         "/.well-known/openid-configuration",
                         sizeof("/.well-known/openid-configuration") - 1)
              - url.data;

    call = ngx_palloc(r->pool, sizeof(ngx_kanban_oauth_call_t));
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->request = r;
    call->oa = oa;
    call->done = done;

    hr = ngx_kanban_oauth_http(r, "GET", &url, ngx_kanban_oauth_discovered,
                               call);
    if (hr == NULL || ngx_kanban_http_send(hr) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_oauth_discovered(ngx_kanban_http_req_t *hr)
{
    char                       *error;
    ngx_str_t                  *iss;
    ngx_pool_t                 *pool;
    ngx_kanban_json_t          *doc;
    ngx_kanban_oauth_t         *oa;
    ngx_http_request_t         *r;
    ngx_kanban_oauth_call_t    *call;
    ngx_kanban_oauth_issuer_t  *is, fresh;

    call = hr->data;
    r = call->request;
    oa = call->oa;

    doc = ngx_kanban_oauth_http_json(hr, NGX_KANBAN_JSON_OBJECT, &error);
    if (doc == NULL) {
        call->done(r, oa, error);
        return;
    }

    /* OIDC Discovery 4.3: the document names exactly the issuer asked */
    iss = ngx_kanban_json_string(doc, "issuer");
    if (iss == NULL || !ngx_kanban_oauth_equal(iss, &oa->issuer)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban oauth: the discovery document of \"%V\" "
                      "names another issuer", &oa->issuer);
        call->done(r, oa, "provider_misconfigured");
        return;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        call->done(r, oa, "temporarily_unavailable");
        return;
    }

    ngx_memzero(&fresh, sizeof(fresh));

    fresh.issuer.len = oa->issuer.len;
    fresh.issuer.data = ngx_pstrdup(pool, &oa->issuer);

    if (fresh.issuer.data == NULL
        || ngx_kanban_oauth_endpoint(pool, doc, "authorization_endpoint",
                                     &fresh.authorization_endpoint) != NGX_OK
        || ngx_kanban_oauth_endpoint(pool, doc, "token_endpoint",
                                     &fresh.token_endpoint) != NGX_OK
        || ngx_kanban_oauth_endpoint(pool, doc, "jwks_uri", &fresh.jwks_uri)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban oauth: the discovery document of \"%V\" "
                      "lacks an endpoint", &oa->issuer);
        call->done(r, oa, "provider_misconfigured");
        return;
    }

    is = ngx_kanban_oauth_issuer(&oa->issuer, 1);
    if (is == NULL) {
        ngx_destroy_pool(pool);
        call->done(r, oa, "temporarily_unavailable");
        return;
    }

    if (is->meta_pool) {
        ngx_destroy_pool(is->meta_pool);
    }

    is->issuer = fresh.issuer;
    is->meta_pool = pool;
    is->authorization_endpoint = fresh.authorization_endpoint;
    is->token_endpoint = fresh.token_endpoint;
    is->jwks_uri = fresh.jwks_uri;
    is->meta_fetched = ngx_time();

    ngx_kanban_oauth_copy(r, oa, is);

    if (oa->token_endpoint.data == NULL) {
        call->done(r, oa, "temporarily_unavailable");
        return;
    }

    call->done(r, oa, NULL);
}


static ngx_int_t
ngx_kanban_oauth_endpoint(ngx_pool_t *pool, ngx_kanban_json_t *doc,
    char *name, ngx_str_t *out)
{
    ngx_str_t  *s;

    s = ngx_kanban_json_string(doc, name);

    if (s == NULL || s->len > 2000
        || !((s->len > 8 && ngx_strncmp(s->data, "https://", 8) == 0)
             || (s->len > 7 && ngx_strncmp(s->data, "http://", 7) == 0)))
    {
        return NGX_ERROR;
    }

    out->len = s->len;
    out->data = ngx_pstrdup(pool, s);

    return out->data ? NGX_OK : NGX_ERROR;
}


static void
ngx_kanban_oauth_copy(ngx_http_request_t *r, ngx_kanban_oauth_t *oa,
    ngx_kanban_oauth_issuer_t *is)
{
    oa->authorization_endpoint.len = is->authorization_endpoint.len;
    oa->authorization_endpoint.data =
        ngx_pstrdup(r->pool, &is->authorization_endpoint);
    oa->jwks_uri.len = is->jwks_uri.len;
    oa->jwks_uri.data = ngx_pstrdup(r->pool, &is->jwks_uri);
    oa->token_endpoint.len = is->token_endpoint.len;
    oa->token_endpoint.data = ngx_pstrdup(r->pool, &is->token_endpoint);

    if (oa->authorization_endpoint.data == NULL
        || oa->jwks_uri.data == NULL)
    {
        oa->token_endpoint.data = NULL;
    }
}


/* oa->id_token is there: the keys (cached, or fetched), then the token.
 * done is called once, now or later; NGX_ERROR: it cannot start. */

ngx_int_t
ngx_kanban_oauth_oidc_identify(ngx_http_request_t *r, ngx_kanban_oauth_t *oa,
    ngx_kanban_oauth_done_pt done)
{
    char                       *error;
    ngx_uint_t                  unknown_kid;
    ngx_kanban_oauth_conf_t    *ocf;
    ngx_kanban_oauth_issuer_t  *is;

    ocf = ngx_kanban_oauth_conf();

    is = ngx_kanban_oauth_issuer(&oa->issuer, 0);

    if (is == NULL || is->keys == NULL
        || ngx_time() - is->keys_fetched >= ocf->cache_ttl)
    {
        return ngx_kanban_oauth_fetch_keys(r, oa, done);
    }

    error = ngx_kanban_oauth_id_token(r, oa, is->keys, &unknown_kid);

    if (unknown_kid && !oa->jwks_refetched) {
        return ngx_kanban_oauth_fetch_keys(r, oa, done);
    }

    done(r, oa, error);

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_oauth_fetch_keys(ngx_http_request_t *r, ngx_kanban_oauth_t *oa,
    ngx_kanban_oauth_done_pt done)
{
    ngx_kanban_http_req_t    *hr;
    ngx_kanban_oauth_call_t  *call;

    oa->jwks_refetched = 1;

    call = ngx_palloc(r->pool, sizeof(ngx_kanban_oauth_call_t));
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->request = r;
    call->oa = oa;
    call->done = done;

    hr = ngx_kanban_oauth_http(r, "GET", &oa->jwks_uri,
                               ngx_kanban_oauth_keys_fetched, call);
    if (hr == NULL || ngx_kanban_http_send(hr) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_oauth_keys_fetched(ngx_kanban_http_req_t *hr)
{
    char                       *error;
    EVP_PKEY                   *pkey;
    ngx_str_t                  *kid;
    ngx_uint_t                  alg, unknown_kid;
    ngx_pool_t                 *pool;
    ngx_array_t                *keys;
    ngx_kanban_json_t          *doc, *list, *jwk;
    ngx_kanban_oauth_t         *oa;
    ngx_http_request_t         *r;
    ngx_kanban_jwt_key_t       *key;
    ngx_kanban_oauth_call_t    *call;
    ngx_kanban_oauth_issuer_t  *is;

    call = hr->data;
    r = call->request;
    oa = call->oa;

    doc = ngx_kanban_oauth_http_json(hr, NGX_KANBAN_JSON_OBJECT, &error);
    if (doc == NULL) {
        call->done(r, oa, error);
        return;
    }

    list = ngx_kanban_json_get(doc, "keys");
    if (list == NULL || list->type != NGX_KANBAN_JSON_ARRAY) {
        call->done(r, oa, "provider_misconfigured");
        return;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        call->done(r, oa, "temporarily_unavailable");
        return;
    }

    keys = ngx_array_create(pool, 4, sizeof(ngx_kanban_jwt_key_t));
    if (keys == NULL) {
        ngx_destroy_pool(pool);
        call->done(r, oa, "temporarily_unavailable");
        return;
    }

    /* keys of kinds we do not use are passed over, not fatal */
    for (jwk = list->first; jwk; jwk = jwk->next) {
        if (jwk->type != NGX_KANBAN_JSON_OBJECT
            || keys->nelts == NGX_KANBAN_OAUTH_MAX_KEYS)
        {
            continue;
        }

        pkey = ngx_kanban_oauth_jwk_key(pool, jwk, &alg);
        if (pkey == NULL) {
            continue;
        }

        key = ngx_array_push(keys);
        if (key == NULL) {
            break;
        }

        ngx_memzero(key, sizeof(ngx_kanban_jwt_key_t));
        key->alg = alg;
        key->pkey = pkey;

        kid = ngx_kanban_json_string(jwk, "kid");
        if (kid) {
            key->kid.len = kid->len;
            key->kid.data = ngx_pstrdup(pool, kid);
        }
    }

    is = ngx_kanban_oauth_issuer(&oa->issuer, 1);
    if (is == NULL) {
        ngx_destroy_pool(pool);
        call->done(r, oa, "temporarily_unavailable");
        return;
    }

    if (is->keys_pool) {
        ngx_destroy_pool(is->keys_pool);
    }

    is->keys_pool = pool;
    is->keys = keys;
    is->keys_fetched = ngx_time();

    error = ngx_kanban_oauth_id_token(r, oa, keys, &unknown_kid);

    call->done(r, oa, error);
}


/* NULL when the ID token is good (and oa has who it names), else the
 * error code for the sign-in page; *unknown_kid when no key matched. */

static char *
ngx_kanban_oauth_id_token(ngx_http_request_t *r, ngx_kanban_oauth_t *oa,
    ngx_array_t *keys, ngx_uint_t *unknown_kid)
{
    char                       *why;
    ngx_str_t                  *nonce, *azp, *email, *name;
    ngx_uint_t                  audiences;
    ngx_kanban_json_t          *aud, *a, *verified;
    ngx_kanban_jwt_claims_t     claims;
    ngx_kanban_jwt_verifier_t   v;

    *unknown_kid = 0;

    ngx_memzero(&v, sizeof(v));
    ngx_memzero(&claims, sizeof(claims));

    v.keys = keys;
    v.issuer = oa->issuer;
    v.audience = oa->client_id;
    v.leeway = NGX_KANBAN_OAUTH_SKEW;

    if (ngx_kanban_jwt_verify(r->pool, &v, &oa->id_token, &claims, &why)
        != NGX_OK)
    {
        *unknown_kid = (ngx_strcmp(why, "no key for this token") == 0);
        goto invalid;
    }

    if (ngx_kanban_json_get(claims.claims, "iat") == NULL) {
        why = "no iat";
        goto invalid;
    }

    nonce = ngx_kanban_json_string(claims.claims, "nonce");
    if (nonce == NULL || nonce->len != oa->nonce.len
        || CRYPTO_memcmp(nonce->data, oa->nonce.data, nonce->len) != 0)
    {
        why = "wrong nonce";
        goto invalid;
    }

    /* OIDC Core 3.1.3.7: with several audiences, azp names us */
    aud = ngx_kanban_json_get(claims.claims, "aud");
    audiences = 1;

    if (aud && aud->type == NGX_KANBAN_JSON_ARRAY) {
        for (audiences = 0, a = aud->first; a; a = a->next) {
            audiences++;
        }
    }

    azp = ngx_kanban_json_string(claims.claims, "azp");

    if ((audiences > 1 && azp == NULL)
        || (azp && !ngx_kanban_oauth_equal(azp, &oa->client_id)))
    {
        why = "wrong azp";
        goto invalid;
    }

    if (claims.sub.len > 255) {
        why = "subject too long";
        goto invalid;
    }

    oa->subject = claims.sub;

    email = ngx_kanban_json_string(claims.claims, "email");
    if (email && email->len >= 3 && email->len <= 254) {
        oa->email = *email;
    }

    verified = ngx_kanban_json_get(claims.claims, "email_verified");

    /* some issuers send it as a string */
    oa->email_verified =
        verified
        && ((verified->type == NGX_KANBAN_JSON_BOOL && verified->boolean)
            || (verified->type == NGX_KANBAN_JSON_STRING
                && verified->value.len == 4
                && ngx_strncmp(verified->value.data, "true", 4) == 0));

    name = ngx_kanban_json_string(claims.claims, "name");
    if (name) {
        oa->name = *name;
    }

    return NULL;

invalid:

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "kanban oauth: ID token of \"%V\" refused: %s",
                  &oa->issuer, why);

    return "id_token_invalid";
}


static ngx_uint_t
ngx_kanban_oauth_equal(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len && ngx_strncmp(a->data, b->data, a->len) == 0;
}
