
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
static void ngx_kanban_oauth_jwk_free(void *data);


EVP_PKEY *
ngx_kanban_oauth_jwk_key(ngx_pool_t *pool, ngx_kanban_json_t *jwk,
    ngx_uint_t *alg)
{
    u_char               point[65];
    BIGNUM              *n, *e;
    EVP_PKEY            *pkey;
    ngx_str_t           *kty, *crv, *use, *a, nb, eb, xb, yb;
    OSSL_PARAM          *params;
    EVP_PKEY_CTX        *pctx;
    OSSL_PARAM_BLD      *bld;
    ngx_pool_cleanup_t  *cln;

    kty = ngx_kanban_json_string(jwk, "kty");
    use = ngx_kanban_json_string(jwk, "use");
    a = ngx_kanban_json_string(jwk, "alg");

    if (kty == NULL
        || (use && (use->len != 3 || ngx_strncmp(use->data, "sig", 3) != 0)))
    {
        return NULL;
    }

    n = NULL;
    e = NULL;
    pkey = NULL;
    pctx = NULL;
    params = NULL;

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        return NULL;
    }

    if (kty->len == 3 && ngx_strncmp(kty->data, "RSA", 3) == 0) {

        if ((a && (a->len != 5 || ngx_strncmp(a->data, "RS256", 5) != 0))
            || ngx_kanban_oauth_jwk_bytes(pool, jwk, "n", &nb) != NGX_OK
            || ngx_kanban_oauth_jwk_bytes(pool, jwk, "e", &eb) != NGX_OK
            || nb.len < 256 || nb.len > 1024 || eb.len > 8)
        {
            goto failed;
        }

        n = BN_bin2bn(nb.data, (int) nb.len, NULL);
        e = BN_bin2bn(eb.data, (int) eb.len, NULL);

        if (n == NULL || e == NULL
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        {
            goto failed;
        }

        pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        *alg = NGX_KANBAN_JWT_RS256;

    } else if (kty->len == 2 && ngx_strncmp(kty->data, "EC", 2) == 0) {

        crv = ngx_kanban_json_string(jwk, "crv");

        if (crv == NULL || crv->len != 5
            || ngx_strncmp(crv->data, "P-256", 5) != 0
            || (a && (a->len != 5 || ngx_strncmp(a->data, "ES256", 5) != 0))
            || ngx_kanban_oauth_jwk_bytes(pool, jwk, "x", &xb) != NGX_OK
            || ngx_kanban_oauth_jwk_bytes(pool, jwk, "y", &yb) != NGX_OK
            || xb.len != 32 || yb.len != 32)
        {
            goto failed;
        }

        point[0] = 0x04;                    /* uncompressed */
        ngx_memcpy(point + 1, xb.data, 32);
        ngx_memcpy(point + 33, yb.data, 32);

        if (!OSSL_PARAM_BLD_push_utf8_string(bld,
                                             OSSL_PKEY_PARAM_GROUP_NAME,
                                             "prime256v1", 0)
            || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                                 point, sizeof(point)))
        {
            goto failed;
        }

        pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        *alg = NGX_KANBAN_JWT_ES256;

    } else {
        goto failed;
    }

    params = OSSL_PARAM_BLD_to_param(bld);

    if (pctx == NULL || params == NULL
        || EVP_PKEY_fromdata_init(pctx) != 1
        || EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        pkey = NULL;
        goto failed;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
        goto failed;
    }

    cln->handler = ngx_kanban_oauth_jwk_free;
    cln->data = pkey;

failed:

    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    BN_free(n);
    BN_free(e);

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
