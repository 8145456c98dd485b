
/*
 * Verifying and signing compact JWS tokens.
 *
 * A token is header.payload.signature, unpadded base64url, at most 8 KB.
 * The algorithm must be the configured key's (a token naming another, or
 * "none" in any spelling, never passes); HMACs are compared in constant
 * time; ES256 signatures are the raw 64 bytes of r and s. Claims: exp is
 * required, nbf and iat are honoured, each with the configured leeway;
 * iss and aud must match when configured.
 *
 * An asymmetric signature costs tens of microseconds to verify, and a
 * client sends the same token with every request for its 15 minutes: a
 * worker remembers the SHA-256 of what it verified (signed part and
 * signature) with the key that verified it, so the same bytes under the
 * same key are not verified twice. The claims are checked every time.
 */

/* SQL: none of its own */
#include "ngx_kanban_jwt.h"
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>


#define NGX_KANBAN_JWT_MEMO_SIZE  4096            /* entries a worker */


typedef struct {
    u_char                     digest[SHA256_DIGEST_LENGTH];
    ngx_kanban_jwt_key_t      *key;
} ngx_kanban_jwt_memo_t;


static ngx_int_t ngx_kanban_jwt_header(ngx_pool_t *pool, ngx_str_t *header,
    ngx_uint_t *alg, ngx_str_t **kid, char **why);
static ngx_int_t ngx_kanban_jwt_signed_by(ngx_kanban_jwt_verifier_t *v,
    ngx_uint_t alg, ngx_str_t *kid, ngx_str_t *input, ngx_str_t *sig,
    char **why);
static ngx_int_t ngx_kanban_jwt_segment(ngx_pool_t *pool, u_char *start,
    u_char *end, ngx_str_t *out);
static ngx_uint_t ngx_kanban_jwt_alg(ngx_str_t *name);
static ngx_int_t ngx_kanban_jwt_check_signature(ngx_kanban_jwt_key_t *key,
    ngx_str_t *input, ngx_str_t *sig);
static void ngx_kanban_jwt_memo_free(void *data);
static ngx_int_t ngx_kanban_jwt_verify_signature(ngx_kanban_jwt_key_t *key,
    ngx_str_t *input, ngx_str_t *sig);
static ngx_int_t ngx_kanban_jwt_time(ngx_kanban_json_t *payload, char *name,
    ngx_uint_t required, time_t *t);
static ngx_int_t ngx_kanban_jwt_claims(ngx_kanban_jwt_verifier_t *v,
    ngx_kanban_json_t *payload, ngx_kanban_jwt_claims_t *claims, char **why);
static ngx_int_t ngx_kanban_jwt_audience(ngx_kanban_json_t *aud,
    ngx_str_t *want);
static ngx_uint_t ngx_kanban_jwt_has_control(ngx_str_t *s);
static ngx_int_t ngx_kanban_jwt_signature(ngx_pool_t *pool,
    ngx_kanban_jwt_key_t *key, ngx_str_t *input, ngx_str_t *sig);


static char  *ngx_kanban_jwt_alg_names[] = {
    NULL, "HS256", "ES256", "RS256", "EdDSA"
};

static ngx_kanban_jwt_memo_t  ngx_kanban_jwt_memo[NGX_KANBAN_JWT_MEMO_SIZE];

/* The memo's SHA-256, made once a worker: a context made and freed, and
 * the digest looked up again, on every request cost more than the hash. */
static EVP_MD_CTX            *ngx_kanban_jwt_memo_ctx;
static const EVP_MD          *ngx_kanban_jwt_memo_sha256;


ngx_int_t
ngx_kanban_jwt_verify(ngx_pool_t *pool, ngx_kanban_jwt_verifier_t *v,
    ngx_str_t *token, ngx_kanban_jwt_claims_t *claims, char **why)
{
    char               *error;
    u_char             *dot1, *dot2, *end;
    ngx_str_t           header, payload, sig, input, *kid;
    ngx_uint_t          a;
    ngx_kanban_json_t  *p;

    *why = "malformed token";

    if (token->len == 0 || token->len > NGX_KANBAN_JWT_MAX_LEN) {
        *why = "token too long";
        return NGX_DECLINED;
    }

    end = token->data + token->len;

    dot1 = ngx_strlchr(token->data, end, '.');
    if (dot1 == NULL) {
        return NGX_DECLINED;
    }

    dot2 = ngx_strlchr(dot1 + 1, end, '.');
    if (dot2 == NULL || ngx_strlchr(dot2 + 1, end, '.') != NULL) {
        return NGX_DECLINED;
    }

    if (ngx_kanban_jwt_segment(pool, token->data, dot1, &header) != NGX_OK
        || ngx_kanban_jwt_segment(pool, dot1 + 1, dot2, &payload) != NGX_OK
        || ngx_kanban_jwt_segment(pool, dot2 + 1, end, &sig) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ngx_kanban_jwt_header(pool, &header, &a, &kid, why) != NGX_OK) {
        return NGX_DECLINED;
    }

    input.data = token->data;
    input.len = dot2 - token->data;

    if (ngx_kanban_jwt_signed_by(v, a, kid, &input, &sig, why) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_kanban_json_parse(pool, payload.data, payload.len, &p, &error)
        != NGX_OK
        || p->type != NGX_KANBAN_JSON_OBJECT)
    {
        return NGX_DECLINED;
    }

    return ngx_kanban_jwt_claims(v, p, claims, why);
}


/* The JOSE header: its algorithm (one we take), no "crit", the key's id
 * (NULL when it names none). */

static ngx_int_t
ngx_kanban_jwt_header(ngx_pool_t *pool, ngx_str_t *header, ngx_uint_t *alg,
    ngx_str_t **kid, char **why)
{
    char               *error;
    ngx_str_t          *name;
    ngx_kanban_json_t  *h, *k;

    if (ngx_kanban_json_parse(pool, header->data, header->len, &h, &error)
        != NGX_OK
        || h->type != NGX_KANBAN_JSON_OBJECT)
    {
        return NGX_DECLINED;
    }

    name = ngx_kanban_json_string(h, "alg");
    *alg = name ? ngx_kanban_jwt_alg(name) : 0;

    if (*alg == 0) {
        *why = "unsupported algorithm";
        return NGX_DECLINED;
    }

    if (ngx_kanban_json_get(h, "crit") != NULL) {
        *why = "critical header extensions are not understood";
        return NGX_DECLINED;
    }

    k = ngx_kanban_json_get(h, "kid");
    if (k && k->type != NGX_KANBAN_JSON_STRING) {
        return NGX_DECLINED;
    }

    *kid = k ? &k->value : NULL;

    return NGX_OK;
}


/* Whether a key of the verifier's, of this algorithm and id, signed
 * input: each one that may have is tried. */

static ngx_int_t
ngx_kanban_jwt_signed_by(ngx_kanban_jwt_verifier_t *v, ngx_uint_t alg,
    ngx_str_t *kid, ngx_str_t *input, ngx_str_t *sig, char **why)
{
    ngx_uint_t             i, tried;
    ngx_kanban_jwt_key_t  *key;

    key = v->keys->elts;
    tried = 0;

    for (i = 0; i < v->keys->nelts; i++) {

        if (key[i].alg != alg) {
            continue;
        }

        if (kid && (kid->len != key[i].kid.len
                    || ngx_strncmp(kid->data, key[i].kid.data, kid->len)))
        {
            continue;
        }

        tried++;

        if (ngx_kanban_jwt_check_signature(&key[i], input, sig) == NGX_OK) {
            return NGX_OK;
        }
    }

    *why = tried ? "bad signature" : "no key for this token";

    return NGX_DECLINED;
}


ngx_int_t
ngx_kanban_jwt_sign(ngx_pool_t *pool, ngx_kanban_jwt_key_t *key,
    ngx_str_t *payload, ngx_str_t *token)
{
    u_char     *p, buf[128];
    ngx_str_t   header, input, sig, enc;

    if (!key->can_sign) {
        return NGX_ERROR;
    }

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%V\"}",
                     ngx_kanban_jwt_alg_names[key->alg], &key->kid);
    header.data = buf;
    header.len = p - buf;

    input.len = ngx_base64_encoded_length(header.len)
                + 1 + ngx_base64_encoded_length(payload->len);
    input.data = ngx_pnalloc(pool, input.len
                             + 1 + ngx_base64_encoded_length(512));
    if (input.data == NULL) {
        return NGX_ERROR;
    }

    enc.data = input.data;
    ngx_encode_base64url(&enc, &header);
    p = input.data + enc.len;
    *p++ = '.';

    enc.data = p;
    ngx_encode_base64url(&enc, payload);
    p += enc.len;

    input.len = p - input.data;

    if (ngx_kanban_jwt_signature(pool, key, &input, &sig) != NGX_OK
        || sig.len > 512)
    {
        return NGX_ERROR;
    }

    *p++ = '.';
    enc.data = p;
    ngx_encode_base64url(&enc, &sig);
    p += enc.len;

    token->data = input.data;
    token->len = p - input.data;

    return NGX_OK;
}


/* Strict unpadded base64url: no "=", no other characters, not empty. */

static ngx_int_t
ngx_kanban_jwt_segment(ngx_pool_t *pool, u_char *start, u_char *end,
    ngx_str_t *out)
{
    u_char     *p;
    ngx_str_t   src;

    if (start == end) {
        return NGX_ERROR;
    }

    for (p = start; p < end; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
        {
            return NGX_ERROR;
        }
    }

    src.data = start;
    src.len = end - start;

    out->data = ngx_pnalloc(pool, ngx_base64_decoded_length(src.len) + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    return ngx_decode_base64url(out, &src);
}


static ngx_uint_t
ngx_kanban_jwt_alg(ngx_str_t *name)
{
    ngx_uint_t  i;

    for (i = 1; i <= NGX_KANBAN_JWT_EDDSA; i++) {
        if (name->len == ngx_strlen(ngx_kanban_jwt_alg_names[i])
            && ngx_strncmp(name->data, ngx_kanban_jwt_alg_names[i],
                           name->len) == 0)
        {
            return i;
        }
    }

    return 0;
}


static ngx_int_t
ngx_kanban_jwt_check_signature(ngx_kanban_jwt_key_t *key, ngx_str_t *input,
    ngx_str_t *sig)
{
    int                     ok;
    EVP_MD_CTX             *md;
    ngx_uint_t              n;
    ngx_pool_cleanup_t     *cln;
    ngx_kanban_jwt_memo_t  *memo;
    u_char                  digest[SHA256_DIGEST_LENGTH];

    if (key->alg == NGX_KANBAN_JWT_HS256) {
        return ngx_kanban_jwt_verify_signature(key, input, sig);
    }

    if (ngx_kanban_jwt_memo_ctx == NULL) {
        /* OpenSSL's, for the worker's life: the cycle's pool frees them */
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_kanban_jwt_memo_free;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        ngx_kanban_jwt_memo_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
#else
        ngx_kanban_jwt_memo_sha256 = EVP_sha256();
#endif
        ngx_kanban_jwt_memo_ctx = EVP_MD_CTX_new();

        if (ngx_kanban_jwt_memo_sha256 == NULL
            || ngx_kanban_jwt_memo_ctx == NULL)
        {
            ngx_kanban_jwt_memo_free(NULL);
            return NGX_ERROR;
        }
    }

    md = ngx_kanban_jwt_memo_ctx;

    ok = EVP_DigestInit_ex(md, ngx_kanban_jwt_memo_sha256, NULL) == 1
         && EVP_DigestUpdate(md, input->data, input->len) == 1
         && EVP_DigestUpdate(md, ".", 1) == 1
         && EVP_DigestUpdate(md, sig->data, sig->len) == 1
         && EVP_DigestFinal_ex(md, digest, NULL) == 1;

    if (!ok) {
        return NGX_ERROR;
    }

    n = ((ngx_uint_t) digest[0] << 8 | digest[1]) % NGX_KANBAN_JWT_MEMO_SIZE;
    memo = &ngx_kanban_jwt_memo[n];

    if (memo->key == key
        && CRYPTO_memcmp(memo->digest, digest, sizeof(digest)) == 0)
    {
        return NGX_OK;
    }

    if (ngx_kanban_jwt_verify_signature(key, input, sig) != NGX_OK) {
        return NGX_DECLINED;
    }

    ngx_memcpy(memo->digest, digest, sizeof(digest));
    memo->key = key;

    return NGX_OK;
}


/* The worker exits (or the memo could not be made): the context and the
 * digest go before the module, their only pointer, is unloaded. */

static void
ngx_kanban_jwt_memo_free(void *data)
{
    if (ngx_kanban_jwt_memo_ctx) {
        EVP_MD_CTX_free(ngx_kanban_jwt_memo_ctx);
        ngx_kanban_jwt_memo_ctx = NULL;
    }

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    if (ngx_kanban_jwt_memo_sha256) {
        EVP_MD_free((EVP_MD *) ngx_kanban_jwt_memo_sha256);
    }
#endif

    ngx_kanban_jwt_memo_sha256 = NULL;
}


static ngx_int_t
ngx_kanban_jwt_verify_signature(ngx_kanban_jwt_key_t *key, ngx_str_t *input,
    ngx_str_t *sig)
{
    int             ok, derlen;
    u_char          mac[EVP_MAX_MD_SIZE], *der;
    BIGNUM         *r, *s;
    ECDSA_SIG      *es;
    unsigned int    maclen;
    EVP_MD_CTX     *ctx;
    const EVP_MD   *md;

    if (key->alg == NGX_KANBAN_JWT_HS256) {
        if (HMAC(EVP_sha256(), key->secret.data, (int) key->secret.len,
                 input->data, input->len, mac, &maclen) == NULL)
        {
            return NGX_ERROR;
        }

        return (sig->len == maclen
                && CRYPTO_memcmp(mac, sig->data, maclen) == 0)
               ? NGX_OK : NGX_DECLINED;
    }

    der = NULL;
    derlen = 0;

    if (key->alg == NGX_KANBAN_JWT_ES256) {
        if (sig->len != 64) {
            return NGX_DECLINED;
        }

        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig->data, 32, NULL);
        s = BN_bin2bn(sig->data + 32, 32, NULL);

        if (es == NULL || r == NULL || s == NULL
            || !ECDSA_SIG_set0(es, r, s))
        {
            ECDSA_SIG_free(es);
            BN_free(r);
            BN_free(s);
            return NGX_ERROR;
        }

        derlen = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);

        if (derlen <= 0) {
            return NGX_ERROR;
        }
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        OPENSSL_free(der);
        return NGX_ERROR;
    }

    md = (key->alg == NGX_KANBAN_JWT_EDDSA) ? NULL : EVP_sha256();

    ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, key->pkey) == 1
         && EVP_DigestVerify(ctx, der ? der : sig->data,
                             der ? (size_t) derlen : sig->len,
                             input->data, input->len) == 1;

    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);

    return ok ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_kanban_jwt_signature(ngx_pool_t *pool, ngx_kanban_jwt_key_t *key,
    ngx_str_t *input, ngx_str_t *sig)
{
    int                 ok;
    size_t              len;
    u_char             *buf;
    const u_char       *p;
    unsigned int        maclen;
    EVP_MD_CTX         *ctx;
    ECDSA_SIG          *es;
    const BIGNUM       *r, *s;

    if (key->alg == NGX_KANBAN_JWT_HS256) {
        sig->data = ngx_pnalloc(pool, EVP_MAX_MD_SIZE);
        if (sig->data == NULL
            || HMAC(EVP_sha256(), key->secret.data, (int) key->secret.len,
                    input->data, input->len, sig->data, &maclen) == NULL)
        {
            return NGX_ERROR;
        }

        sig->len = maclen;
        return NGX_OK;
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    len = 0;
    buf = NULL;

    ok = EVP_DigestSignInit(ctx, NULL,
                            key->alg == NGX_KANBAN_JWT_EDDSA
                            ? NULL : EVP_sha256(), NULL, key->pkey) == 1
         && EVP_DigestSign(ctx, NULL, &len, input->data, input->len) == 1
         && (buf = ngx_pnalloc(pool, len)) != NULL
         && EVP_DigestSign(ctx, buf, &len, input->data, input->len) == 1;

    EVP_MD_CTX_free(ctx);

    if (!ok) {
        return NGX_ERROR;
    }

    if (key->alg != NGX_KANBAN_JWT_ES256) {
        sig->data = buf;
        sig->len = len;
        return NGX_OK;
    }

    /* DER to the raw r || s that JWS wants */
    p = buf;
    es = d2i_ECDSA_SIG(NULL, &p, (long) len);
    if (es == NULL) {
        return NGX_ERROR;
    }

    ECDSA_SIG_get0(es, &r, &s);

    sig->data = ngx_pnalloc(pool, 64);
    ok = sig->data != NULL
         && BN_bn2binpad(r, sig->data, 32) == 32
         && BN_bn2binpad(s, sig->data + 32, 32) == 32;

    ECDSA_SIG_free(es);
    sig->len = 64;

    return ok ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_kanban_jwt_claims(ngx_kanban_jwt_verifier_t *v,
    ngx_kanban_json_t *payload, ngx_kanban_jwt_claims_t *claims, char **why)
{
    time_t              now, exp, nbf, iat;
    ngx_str_t          *s;
    ngx_kanban_json_t  *m;

    now = ngx_time();

    /* claims become nginx variables, and headers through them: a line
     * break in one must never split a header */
    for (m = payload->first; m; m = m->next) {
        if (m->type == NGX_KANBAN_JSON_STRING
            && ngx_kanban_jwt_has_control(&m->value))
        {
            *why = "a claim holds control characters";
            return NGX_DECLINED;
        }
    }

    if (ngx_kanban_jwt_time(payload, "exp", 1, &exp) != NGX_OK
        || ngx_kanban_jwt_time(payload, "nbf", 0, &nbf) != NGX_OK
        || ngx_kanban_jwt_time(payload, "iat", 0, &iat) != NGX_OK)
    {
        *why = "bad time claims";
        return NGX_DECLINED;
    }

    if (now > exp + v->leeway) {
        *why = "token expired";
        return NGX_DECLINED;
    }

    if (nbf && now + v->leeway < nbf) {
        *why = "token not yet valid";
        return NGX_DECLINED;
    }

    if (iat && now + v->leeway < iat) {
        *why = "token issued in the future";
        return NGX_DECLINED;
    }

    if (v->issuer.len) {
        s = ngx_kanban_json_string(payload, "iss");
        if (s == NULL || s->len != v->issuer.len
            || ngx_strncmp(s->data, v->issuer.data, s->len) != 0)
        {
            *why = "wrong issuer";
            return NGX_DECLINED;
        }
    }

    if (v->audience.len
        && ngx_kanban_jwt_audience(ngx_kanban_json_get(payload, "aud"),
                                   &v->audience) != NGX_OK)
    {
        *why = "wrong audience";
        return NGX_DECLINED;
    }

    s = ngx_kanban_json_string(payload, "sub");
    if (s == NULL || s->len == 0) {
        *why = "no subject";
        return NGX_DECLINED;
    }

    claims->sub = *s;
    claims->exp = exp;
    claims->not_before = ngx_max(nbf, iat);
    claims->claims = payload;

    s = ngx_kanban_json_string(payload, "tid");
    if (s) {
        claims->tid = *s;
    }

    s = ngx_kanban_json_string(payload, "role");
    if (s) {
        claims->role = *s;
    }

    s = ngx_kanban_json_string(payload, "jti");
    if (s) {
        claims->jti = *s;
    }

    m = ngx_kanban_json_get(payload, "teams");
    if (m && m->type == NGX_KANBAN_JSON_ARRAY) {
        claims->teams = m;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_jwt_time(ngx_kanban_json_t *payload, char *name,
    ngx_uint_t required, time_t *t)
{
    ngx_kanban_json_t  *m;

    *t = 0;

    m = ngx_kanban_json_get(payload, name);

    if (m == NULL) {
        return required ? NGX_ERROR : NGX_OK;
    }

    if (m->type != NGX_KANBAN_JSON_NUMBER || !m->integer
        || m->value.len == 0 || m->value.data[0] == '-')
    {
        return NGX_ERROR;
    }

    *t = ngx_atotm(m->value.data, m->value.len);

    return *t == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_kanban_jwt_audience(ngx_kanban_json_t *aud, ngx_str_t *want)
{
    ngx_kanban_json_t  *m;

    if (aud == NULL) {
        return NGX_DECLINED;
    }

    if (aud->type == NGX_KANBAN_JSON_STRING) {
        return (aud->value.len == want->len
                && ngx_strncmp(aud->value.data, want->data, want->len) == 0)
               ? NGX_OK : NGX_DECLINED;
    }

    if (aud->type != NGX_KANBAN_JSON_ARRAY) {
        return NGX_DECLINED;
    }

    for (m = aud->first; m; m = m->next) {
        if (m->type == NGX_KANBAN_JSON_STRING && m->value.len == want->len
            && ngx_strncmp(m->value.data, want->data, want->len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_kanban_jwt_has_control(ngx_str_t *s)
{
    ngx_uint_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < 0x20 || s->data[i] == 0x7f) {
            return 1;
        }
    }

    return 0;
}
