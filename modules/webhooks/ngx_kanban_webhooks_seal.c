
/*
 * Secrets sealed at rest, for every module that keeps one (webhooks,
 * OAuth providers, two-factor and operators' TOTP secrets): AES-256-GCM
 * under the key of kanban_webhooks_key (the SHA-256 of the file's
 * contents), so that a dump of a workspace's database alone does not
 * give the secrets away; without a key they are stored as they are.
 * The module hands this worker its configuration at its start.
 */

/* SQL: none of its own */
#include "ngx_kanban_webhooks.h"
#include <openssl/evp.h>
#include <openssl/rand.h>


#define NGX_KANBAN_WEBHOOKS_NONCE   12
#define NGX_KANBAN_WEBHOOKS_TAG     16


static ngx_kanban_webhooks_conf_t  *ngx_kanban_webhooks_sealing;


void
ngx_kanban_webhooks_seal_init(ngx_kanban_webhooks_conf_t *whcf)
{
    ngx_kanban_webhooks_sealing = whcf;
}


ngx_int_t
ngx_kanban_webhooks_seal(ngx_pool_t *pool, ngx_str_t *secret,
    ngx_str_t *stored)
{
    int                          len, fin;
    u_char                      *raw, *p;
    size_t                       n;
    ngx_str_t                    src, b64;
    EVP_CIPHER_CTX              *ctx;
    ngx_kanban_webhooks_conf_t  *whcf;

    whcf = ngx_kanban_webhooks_sealing;

    if (whcf == NULL || !whcf->has_key) {
        *stored = *secret;
        return NGX_OK;
    }

    n = NGX_KANBAN_WEBHOOKS_NONCE + secret->len + NGX_KANBAN_WEBHOOKS_TAG;

    raw = ngx_pnalloc(pool, n);
    stored->data = ngx_pnalloc(pool, 3 + ngx_base64_encoded_length(n));
    if (raw == NULL || stored->data == NULL) {
        return NGX_ERROR;
    }

    if (RAND_bytes(raw, NGX_KANBAN_WEBHOOKS_NONCE) != 1) {
        return NGX_ERROR;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    p = raw + NGX_KANBAN_WEBHOOKS_NONCE;

    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, whcf->key, raw) != 1
        || EVP_EncryptUpdate(ctx, p, &len, secret->data, secret->len) != 1
        || EVP_EncryptFinal_ex(ctx, p + len, &fin) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                               NGX_KANBAN_WEBHOOKS_TAG, p + len + fin) != 1)
    {
        EVP_CIPHER_CTX_free(ctx);
        return NGX_ERROR;
    }

    EVP_CIPHER_CTX_free(ctx);

    ngx_memcpy(stored->data, "v1:", 3);
    src.data = raw;
    src.len = n;
    b64.data = stored->data + 3;
    ngx_encode_base64(&b64, &src);
    stored->len = 3 + b64.len;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_webhooks_unseal(ngx_pool_t *pool, ngx_str_t *stored,
    ngx_str_t *secret)
{
    int                          len, fin;
    u_char                      *p;
    ngx_str_t                    b64, raw;
    EVP_CIPHER_CTX              *ctx;
    ngx_kanban_webhooks_conf_t  *whcf;

    if (stored->len < 3 || ngx_strncmp(stored->data, "v1:", 3) != 0) {
        *secret = *stored;
        return NGX_OK;
    }

    whcf = ngx_kanban_webhooks_sealing;

    if (whcf == NULL || !whcf->has_key) {
        return NGX_DECLINED;
    }

    b64.data = stored->data + 3;
    b64.len = stored->len - 3;

    raw.data = ngx_pnalloc(pool, ngx_base64_decoded_length(b64.len));
    if (raw.data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64(&raw, &b64) != NGX_OK
        || raw.len < NGX_KANBAN_WEBHOOKS_NONCE + NGX_KANBAN_WEBHOOKS_TAG)
    {
        return NGX_DECLINED;
    }

    secret->len = raw.len - NGX_KANBAN_WEBHOOKS_NONCE
                  - NGX_KANBAN_WEBHOOKS_TAG;
    secret->data = ngx_pnalloc(pool, secret->len + 16);
    if (secret->data == NULL) {
        return NGX_ERROR;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    p = raw.data + NGX_KANBAN_WEBHOOKS_NONCE;

    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, whcf->key,
                           raw.data) != 1
        || EVP_DecryptUpdate(ctx, secret->data, &len, p, secret->len) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
                               NGX_KANBAN_WEBHOOKS_TAG,
                               p + secret->len) != 1
        || EVP_DecryptFinal_ex(ctx, secret->data + len, &fin) != 1)
    {
        EVP_CIPHER_CTX_free(ctx);
        return NGX_DECLINED;             /* another key, or tampered with */
    }

    EVP_CIPHER_CTX_free(ctx);

    return NGX_OK;
}
