
/*
 * Token keys, read at configuration time (a reload reads rotated files):
 * a PEM file is an EC P-256, RSA (2048 bits or more) or Ed25519 key,
 * private (signs and verifies) or public (verifies); anything else is an
 * HS256 secret of at least 32 bytes. The algorithm is the key's, never the
 * token's. The key id is a hash of the public key (of the secret for
 * HS256), so rotated keys are told apart; the public ones are published
 * as a JWKS.
 */

/* SQL: none of its own */
#include "ngx_kanban_jwt.h"
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/sha.h>


#define NGX_KANBAN_JWT_SECRET_MIN  32
#define NGX_KANBAN_JWT_KEY_MAX     65536


static ngx_int_t ngx_kanban_jwt_key_id(ngx_pool_t *pool,
    ngx_kanban_jwt_key_t *key);
static void ngx_kanban_jwt_key_free(void *data);
static ngx_int_t ngx_kanban_jwt_key_secret(ngx_conf_t *cf, ngx_str_t *file,
    ngx_str_t *data, ngx_kanban_jwt_key_t *key);
static ngx_int_t ngx_kanban_jwt_key_pem(ngx_conf_t *cf, ngx_str_t *file,
    ngx_str_t *data, ngx_kanban_jwt_key_t *key);
static ngx_int_t ngx_kanban_jwt_key_alg(ngx_conf_t *cf, ngx_str_t *file,
    ngx_kanban_jwt_key_t *key);
static ngx_int_t ngx_kanban_jwt_jwk_param(ngx_pool_t *pool, EVP_PKEY *pkey,
    const char *name, size_t width, ngx_str_t *out);
static ngx_int_t ngx_kanban_jwt_b64url(ngx_pool_t *pool, u_char *data,
    size_t len, ngx_str_t *out);
static ngx_int_t ngx_kanban_jwt_jwk_ec(ngx_pool_t *pool, ngx_kanban_jw_t *jw,
    EVP_PKEY *pkey);
static ngx_int_t ngx_kanban_jwt_jwk_rsa(ngx_pool_t *pool, ngx_kanban_jw_t *jw,
    EVP_PKEY *pkey);
static ngx_int_t ngx_kanban_jwt_jwk_okp(ngx_pool_t *pool, ngx_kanban_jw_t *jw,
    EVP_PKEY *pkey);


ngx_int_t
ngx_kanban_jwt_key_load(ngx_conf_t *cf, ngx_str_t *file,
    ngx_kanban_jwt_key_t *key)
{
    ngx_str_t  data;

    ngx_memzero(key, sizeof(ngx_kanban_jwt_key_t));

    if (ngx_kanban_conf_read_file(cf, file, NGX_KANBAN_JWT_KEY_MAX, cf->pool,
                                  &data)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_strstrn(data.data, "-----BEGIN", 10 - 1) == NULL) {
        return ngx_kanban_jwt_key_secret(cf, file, &data, key);
    }

    if (ngx_kanban_jwt_key_pem(cf, file, &data, key) != NGX_OK
        || ngx_kanban_jwt_key_alg(cf, file, key) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_kanban_jwt_key_id(cf->pool, key);
}


/* An HS256 secret: the file as it is, a trailing newline aside. */

static ngx_int_t
ngx_kanban_jwt_key_secret(ngx_conf_t *cf, ngx_str_t *file, ngx_str_t *data,
    ngx_kanban_jwt_key_t *key)
{
    while (data->len && (data->data[data->len - 1] == '\n'
                         || data->data[data->len - 1] == '\r'))
    {
        data->len--;
    }

    if (data->len < NGX_KANBAN_JWT_SECRET_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the HS256 secret in \"%V\" is shorter than "
                           "%d bytes", file, NGX_KANBAN_JWT_SECRET_MIN);
        return NGX_ERROR;
    }

    key->alg = NGX_KANBAN_JWT_HS256;
    key->secret = *data;
    key->can_sign = 1;

    return ngx_kanban_jwt_key_id(cf->pool, key);
}


/* A PEM private key (it signs) or public key (it only verifies), freed
 * with the configuration; the file's bytes are wiped once read. */

static ngx_int_t
ngx_kanban_jwt_key_pem(ngx_conf_t *cf, ngx_str_t *file, ngx_str_t *data,
    ngx_kanban_jwt_key_t *key)
{
    BIO                 *bio;
    ngx_pool_cleanup_t  *cln;

    bio = BIO_new_mem_buf(data->data, (int) data->len);
    if (bio == NULL) {
        return NGX_ERROR;
    }

    key->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

    if (key->pkey) {
        key->can_sign = 1;

    } else {
        (void) BIO_reset(bio);
        key->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    }

    BIO_free(bio);
    ngx_explicit_memzero(data->data, data->len);

    if (key->pkey == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" holds no PEM key OpenSSL can read", file);
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        EVP_PKEY_free(key->pkey);
        return NGX_ERROR;
    }

    cln->handler = ngx_kanban_jwt_key_free;
    cln->data = key->pkey;

    return NGX_OK;
}


/* The algorithm the key is for: ES256 (P-256 only), RS256 (2048 bits at
 * least) or EdDSA (Ed25519). */

static ngx_int_t
ngx_kanban_jwt_key_alg(ngx_conf_t *cf, ngx_str_t *file,
    ngx_kanban_jwt_key_t *key)
{
    size_t  glen;
    char    gname[64];

    switch (EVP_PKEY_get_base_id(key->pkey)) {

    case EVP_PKEY_EC:
        if (!EVP_PKEY_get_group_name(key->pkey, gname, sizeof(gname), &glen)
            || ngx_strcmp(gname, "prime256v1") != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the EC key in \"%V\" is not on P-256", file);
            return NGX_ERROR;
        }

        key->alg = NGX_KANBAN_JWT_ES256;
        return NGX_OK;

    case EVP_PKEY_RSA:
        if (EVP_PKEY_get_bits(key->pkey) < 2048) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the RSA key in \"%V\" has fewer than 2048 "
                               "bits", file);
            return NGX_ERROR;
        }

        key->alg = NGX_KANBAN_JWT_RS256;
        return NGX_OK;

    case EVP_PKEY_ED25519:
        key->alg = NGX_KANBAN_JWT_EDDSA;
        return NGX_OK;

    default:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": only P-256, RSA and Ed25519 keys are "
                           "supported", file);
        return NGX_ERROR;
    }
}


/* The JWKS of the public keys; HS256 secrets are never published. */

ngx_int_t
ngx_kanban_jwt_jwks(ngx_pool_t *pool, ngx_array_t *keys, ngx_str_t *out)
{
    ngx_int_t              rc;
    ngx_uint_t             i;
    ngx_kanban_jw_t        jw;
    ngx_kanban_jwt_key_t  *key;

    if (ngx_kanban_jw_init(&jw, pool, 1024) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "keys");
    ngx_kanban_jw_open(&jw, '[');

    key = keys ? keys->elts : NULL;

    for (i = 0; keys && i < keys->nelts; i++) {

        if (key[i].alg == NGX_KANBAN_JWT_HS256) {
            continue;
        }

        ngx_kanban_jw_open(&jw, '{');
        ngx_kanban_jw_key(&jw, "kid");
        ngx_kanban_jw_string(&jw, &key[i].kid);
        ngx_kanban_jw_key(&jw, "use");
        ngx_kanban_jw_cstring(&jw, "sig");

        switch (key[i].alg) {

        case NGX_KANBAN_JWT_ES256:
            rc = ngx_kanban_jwt_jwk_ec(pool, &jw, key[i].pkey);
            break;

        case NGX_KANBAN_JWT_RS256:
            rc = ngx_kanban_jwt_jwk_rsa(pool, &jw, key[i].pkey);
            break;

        default: /* NGX_KANBAN_JWT_EDDSA */
            rc = ngx_kanban_jwt_jwk_okp(pool, &jw, key[i].pkey);
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_kanban_jw_close(&jw, '}');
    }

    ngx_kanban_jw_close(&jw, ']');
    ngx_kanban_jw_close(&jw, '}');

    return ngx_kanban_jw_result(&jw, out);
}


/* an ES256 key's members: its curve and point */
static ngx_int_t
ngx_kanban_jwt_jwk_ec(ngx_pool_t *pool, ngx_kanban_jw_t *jw, EVP_PKEY *pkey)
{
    ngx_str_t  x, y;

    if (ngx_kanban_jwt_jwk_param(pool, pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32, &x)
        != NGX_OK
        || ngx_kanban_jwt_jwk_param(pool, pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32,
                                    &y)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kanban_jw_key(jw, "kty");
    ngx_kanban_jw_cstring(jw, "EC");
    ngx_kanban_jw_key(jw, "alg");
    ngx_kanban_jw_cstring(jw, "ES256");
    ngx_kanban_jw_key(jw, "crv");
    ngx_kanban_jw_cstring(jw, "P-256");
    ngx_kanban_jw_key(jw, "x");
    ngx_kanban_jw_string(jw, &x);
    ngx_kanban_jw_key(jw, "y");
    ngx_kanban_jw_string(jw, &y);

    return NGX_OK;
}


/* an RS256 key's members: its modulus and exponent */
static ngx_int_t
ngx_kanban_jwt_jwk_rsa(ngx_pool_t *pool, ngx_kanban_jw_t *jw, EVP_PKEY *pkey)
{
    ngx_str_t  n, e;

    if (ngx_kanban_jwt_jwk_param(pool, pkey, OSSL_PKEY_PARAM_RSA_N, 0, &n)
        != NGX_OK
        || ngx_kanban_jwt_jwk_param(pool, pkey, OSSL_PKEY_PARAM_RSA_E, 0, &e)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kanban_jw_key(jw, "kty");
    ngx_kanban_jw_cstring(jw, "RSA");
    ngx_kanban_jw_key(jw, "alg");
    ngx_kanban_jw_cstring(jw, "RS256");
    ngx_kanban_jw_key(jw, "n");
    ngx_kanban_jw_string(jw, &n);
    ngx_kanban_jw_key(jw, "e");
    ngx_kanban_jw_string(jw, &e);

    return NGX_OK;
}


/* an EdDSA key's members: Ed25519 and its raw public key */
static ngx_int_t
ngx_kanban_jwt_jwk_okp(ngx_pool_t *pool, ngx_kanban_jw_t *jw, EVP_PKEY *pkey)
{
    u_char     raw[32];
    size_t     len;
    ngx_str_t  x;

    len = sizeof(raw);

    if (!EVP_PKEY_get_raw_public_key(pkey, raw, &len)
        || ngx_kanban_jwt_b64url(pool, raw, len, &x) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kanban_jw_key(jw, "kty");
    ngx_kanban_jw_cstring(jw, "OKP");
    ngx_kanban_jw_key(jw, "alg");
    ngx_kanban_jw_cstring(jw, "EdDSA");
    ngx_kanban_jw_key(jw, "crv");
    ngx_kanban_jw_cstring(jw, "Ed25519");
    ngx_kanban_jw_key(jw, "x");
    ngx_kanban_jw_string(jw, &x);

    return NGX_OK;
}


/* base64url(SHA-256(SubjectPublicKeyInfo or secret)), 16 characters */

static ngx_int_t
ngx_kanban_jwt_key_id(ngx_pool_t *pool, ngx_kanban_jwt_key_t *key)
{
    int         len;
    u_char     *der, *p, digest[SHA256_DIGEST_LENGTH];
    ngx_str_t   id;

    if (key->alg == NGX_KANBAN_JWT_HS256) {
        SHA256(key->secret.data, key->secret.len, digest);

    } else {
        len = i2d_PUBKEY(key->pkey, NULL);
        if (len <= 0) {
            return NGX_ERROR;
        }

        der = ngx_pnalloc(pool, len);
        if (der == NULL) {
            return NGX_ERROR;
        }

        p = der;
        if (i2d_PUBKEY(key->pkey, &p) != len) {
            return NGX_ERROR;
        }

        SHA256(der, len, digest);
    }

    if (ngx_kanban_jwt_b64url(pool, digest, sizeof(digest), &id) != NGX_OK) {
        return NGX_ERROR;
    }

    key->kid.data = id.data;
    key->kid.len = 16;

    return NGX_OK;
}


static void
ngx_kanban_jwt_key_free(void *data)
{
    EVP_PKEY_free(data);
}


/* A big number of the key as unpadded base64url, left-padded with zeros
 * to width bytes when width is given (EC coordinates). */

static ngx_int_t
ngx_kanban_jwt_jwk_param(ngx_pool_t *pool, EVP_PKEY *pkey, const char *name,
    size_t width, ngx_str_t *out)
{
    int        n;
    u_char     buf[1024];
    BIGNUM    *bn;
    ngx_int_t  rc;

    bn = NULL;

    if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) {
        return NGX_ERROR;
    }

    n = BN_num_bytes(bn);

    if (width == 0) {
        width = n;
    }

    if ((size_t) n > width || width > sizeof(buf)
        || BN_bn2binpad(bn, buf, (int) width) < 0)
    {
        BN_free(bn);
        return NGX_ERROR;
    }

    BN_free(bn);

    rc = ngx_kanban_jwt_b64url(pool, buf, width, out);

    return rc;
}


static ngx_int_t
ngx_kanban_jwt_b64url(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_str_t *out)
{
    ngx_str_t  src;

    src.data = data;
    src.len = len;

    out->data = ngx_pnalloc(pool, ngx_base64_encoded_length(len));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64url(out, &src);

    return NGX_OK;
}
