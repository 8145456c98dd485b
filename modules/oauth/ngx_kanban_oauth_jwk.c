
/*
 * A JSON Web Key (RFC 7517) as a public key to verify ID tokens with:
 * RSA (RS256, a modulus of 2048 bits at least) or EC on P-256 (ES256).
 * Other kinds, curves and private parts are no key here.
 */

/* SQL: none of its own */
#include "ngx_kanban_oauth.h"
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>


static ngx_int_t ngx_kanban_oauth_jwk_bytes(ngx_pool_t *pool,
    ngx_kanban_json_t *jwk, char *name, ngx_str_t *out);
static OSSL_PARAM *ngx_kanban_oauth_jwk_rsa(ngx_pool_t *pool,
    ngx_kanban_json_t *jwk, ngx_str_t *a);
static OSSL_PARAM *ngx_kanban_oauth_jwk_ec(ngx_pool_t *pool,
    ngx_kanban_json_t *jwk, ngx_str_t *a);
static EVP_PKEY *ngx_kanban_oauth_jwk_public(ngx_pool_t *pool, char *type,
    OSSL_PARAM *params);
static void ngx_kanban_oauth_jwk_free(void *data);


EVP_PKEY *
ngx_kanban_oauth_jwk_key(ngx_pool_t *pool, ngx_kanban_json_t *jwk,
    ngx_uint_t *alg)
{
    char        *type;
    EVP_PKEY    *pkey;
    ngx_str_t   *kty, *use, *a;
    OSSL_PARAM  *params;

    kty = ngx_kanban_json_string(jwk, "kty");
    use = ngx_kanban_json_string(jwk, "use");
    a = ngx_kanban_json_string(jwk, "alg");

    if (kty == NULL
        || (use && (use->len != 3 || ngx_strncmp(use->data, "sig", 3) != 0)))
    {
        return NULL;
    }

    if (kty->len == 3 && ngx_strncmp(kty->data, "RSA", 3) == 0) {
        params = ngx_kanban_oauth_jwk_rsa(pool, jwk, a);
        type = "RSA";
        *alg = NGX_KANBAN_JWT_RS256;

    } else if (kty->len == 2 && ngx_strncmp(kty->data, "EC", 2) == 0) {
        params = ngx_kanban_oauth_jwk_ec(pool, jwk, a);
        type = "EC";
        *alg = NGX_KANBAN_JWT_ES256;

    } else {
        return NULL;
    }

    if (params == NULL) {
        return NULL;
    }

    pkey = ngx_kanban_oauth_jwk_public(pool, type, params);

    OSSL_PARAM_free(params);

    return pkey;
}


/* an RSA key's modulus and exponent, for RS256 only */
static OSSL_PARAM *
ngx_kanban_oauth_jwk_rsa(ngx_pool_t *pool, ngx_kanban_json_t *jwk,
    ngx_str_t *a)
{
    BIGNUM          *n, *e;
    ngx_str_t        nb, eb;
    OSSL_PARAM      *params;
    OSSL_PARAM_BLD  *bld;

    if ((a && (a->len != 5 || ngx_strncmp(a->data, "RS256", 5) != 0))
        || ngx_kanban_oauth_jwk_bytes(pool, jwk, "n", &nb) != NGX_OK
        || ngx_kanban_oauth_jwk_bytes(pool, jwk, "e", &eb) != NGX_OK
        || nb.len < 256 || nb.len > 1024 || eb.len > 8)
    {
        return NULL;
    }

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        return NULL;
    }

    params = NULL;

    n = BN_bin2bn(nb.data, (int) nb.len, NULL);
    e = BN_bin2bn(eb.data, (int) eb.len, NULL);

    /* the builder holds the numbers until the params are made of them */
    if (n && e
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
    {
        params = OSSL_PARAM_BLD_to_param(bld);
    }

    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    return params;
}


/* an EC key's point, on P-256 for ES256 only */
static OSSL_PARAM *
ngx_kanban_oauth_jwk_ec(ngx_pool_t *pool, ngx_kanban_json_t *jwk,
    ngx_str_t *a)
{
    u_char           point[65];
    ngx_str_t       *crv, xb, yb;
    OSSL_PARAM      *params;
    OSSL_PARAM_BLD  *bld;

    crv = ngx_kanban_json_string(jwk, "crv");

    if (crv == NULL || crv->len != 5
        || ngx_strncmp(crv->data, "P-256", 5) != 0
        || (a && (a->len != 5 || ngx_strncmp(a->data, "ES256", 5) != 0))
        || ngx_kanban_oauth_jwk_bytes(pool, jwk, "x", &xb) != NGX_OK
        || ngx_kanban_oauth_jwk_bytes(pool, jwk, "y", &yb) != NGX_OK
        || xb.len != 32 || yb.len != 32)
    {
        return NULL;
    }

    point[0] = 0x04;                    /* uncompressed */
    ngx_memcpy(point + 1, xb.data, 32);
    ngx_memcpy(point + 33, yb.data, 32);

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        return NULL;
    }

    params = NULL;

    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        "prime256v1", 0)
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            point, sizeof(point)))
    {
        params = OSSL_PARAM_BLD_to_param(bld);
    }

    OSSL_PARAM_BLD_free(bld);

    return params;
}


/* the public key made of its params, freed with the pool */
static EVP_PKEY *
ngx_kanban_oauth_jwk_public(ngx_pool_t *pool, char *type, OSSL_PARAM *params)
{
    EVP_PKEY            *pkey;
    EVP_PKEY_CTX        *pctx;
    ngx_pool_cleanup_t  *cln;

    pkey = NULL;

    pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    if (pctx == NULL
        || EVP_PKEY_fromdata_init(pctx) != 1
        || EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        EVP_PKEY_CTX_free(pctx);
        return NULL;
    }

    EVP_PKEY_CTX_free(pctx);

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }

    cln->handler = ngx_kanban_oauth_jwk_free;
    cln->data = pkey;

    return pkey;
}


static ngx_int_t
ngx_kanban_oauth_jwk_bytes(ngx_pool_t *pool, ngx_kanban_json_t *jwk,
    char *name, ngx_str_t *out)
{
    ngx_str_t  *s;

    s = ngx_kanban_json_string(jwk, name);
    if (s == NULL || s->len == 0 || s->len > 2048) {
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(pool, ngx_base64_decoded_length(s->len));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    return ngx_decode_base64url(out, s);
}


static void
ngx_kanban_oauth_jwk_free(void *data)
{
    EVP_PKEY_free(data);
}
