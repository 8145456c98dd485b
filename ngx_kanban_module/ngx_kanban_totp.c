
/*
 * TOTP (RFC 6238 over RFC 4226's HOTP), for operators now and for
 * workspace users' second factor later. The caller keeps the last step
 * accepted and stores the step returned, so a code works once.
 */

#include "ngx_kanban_totp.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>


static u_char  ngx_kanban_totp_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";


ngx_int_t
ngx_kanban_totp_secret(ngx_pool_t *pool, ngx_str_t *base32)
{
    u_char  raw[NGX_KANBAN_TOTP_SECRET_LEN];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    base32->data = ngx_pnalloc(pool, ngx_kanban_totp_base32_length(
                                         sizeof(raw)));
    if (base32->data == NULL) {
        return NGX_ERROR;
    }

    ngx_kanban_totp_base32_encode(base32, raw, sizeof(raw));
    ngx_explicit_memzero(raw, sizeof(raw));

    return NGX_OK;
}


size_t
ngx_kanban_totp_base32_length(size_t len)
{
    return (len * 8 + 4) / 5;
}


void
ngx_kanban_totp_base32_encode(ngx_str_t *dst, u_char *src, size_t len)
{
    u_char      *p;
    ngx_uint_t   bits, value;

    p = dst->data;
    bits = 0;
    value = 0;

    while (len--) {
        value = (value << 8) | *src++;
        bits += 8;

        while (bits >= 5) {
            bits -= 5;
            *p++ = ngx_kanban_totp_alphabet[(value >> bits) & 31];
        }
    }

    if (bits) {
        *p++ = ngx_kanban_totp_alphabet[(value << (5 - bits)) & 31];
    }

    dst->len = p - dst->data;
}


/* Upper or lower case; spaces and padding, as people copy them, ignored. */

ngx_int_t
ngx_kanban_totp_base32_decode(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst)
{
    u_char      *p, c;
    ngx_uint_t   i, bits, value, v;

    dst->data = ngx_pnalloc(pool, src->len * 5 / 8 + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    p = dst->data;
    bits = 0;
    value = 0;

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if (c == ' ' || c == '=' || c == '-') {
            continue;
        }

        if (c >= 'a' && c <= 'z') {
            c -= 'a' - 'A';
        }

        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';

        } else if (c >= '2' && c <= '7') {
            v = c - '2' + 26;

        } else {
            return NGX_DECLINED;
        }

        value = ((value << 5) | v) & 0xffff;
        bits += 5;

        if (bits >= 8) {
            bits -= 8;
            *p++ = (u_char) (value >> bits);
        }
    }

    dst->len = p - dst->data;

    return dst->len ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_kanban_totp_code(ngx_str_t *key, int64_t step, u_char *out)
{
    u_char        msg[8], mac[EVP_MAX_MD_SIZE];
    uint32_t      bin;
    ngx_uint_t    i, offset;
    unsigned int  len;

    for (i = 0; i < 8; i++) {
        msg[7 - i] = (u_char) ((uint64_t) step >> (8 * i));
    }

    if (HMAC(EVP_sha1(), key->data, (int) key->len, msg, sizeof(msg), mac,
             &len)
        == NULL || len < 20)
    {
        return NGX_ERROR;
    }

    /* RFC 4226's dynamic truncation */
    offset = mac[len - 1] & 0x0f;
    bin = ((uint32_t) (mac[offset] & 0x7f) << 24)
          | ((uint32_t) mac[offset + 1] << 16)
          | ((uint32_t) mac[offset + 2] << 8)
          | (uint32_t) mac[offset + 3];

    bin %= 1000000;

    for (i = NGX_KANBAN_TOTP_DIGITS; i > 0; i--) {
        out[i - 1] = (u_char) ('0' + bin % 10);
        bin /= 10;
    }

    ngx_explicit_memzero(mac, sizeof(mac));

    return NGX_OK;
}


ngx_int_t
ngx_kanban_totp_verify(ngx_pool_t *pool, ngx_str_t *secret, ngx_str_t *code,
    time_t now, int64_t last_step, int64_t *step)
{
    u_char      want[NGX_KANBAN_TOTP_DIGITS];
    int64_t     current, s;
    ngx_int_t   rc;
    ngx_str_t   key;
    ngx_uint_t  i, match;

    if (code->len != NGX_KANBAN_TOTP_DIGITS) {
        return NGX_DECLINED;
    }

    for (i = 0; i < code->len; i++) {
        if (code->data[i] < '0' || code->data[i] > '9') {
            return NGX_DECLINED;
        }
    }

    rc = ngx_kanban_totp_base32_decode(pool, secret, &key);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? NGX_ERROR : rc;
    }

    current = (int64_t) now / NGX_KANBAN_TOTP_PERIOD;
    match = 0;

    /* every candidate is computed and compared in constant time, so the
     * time taken does not say which step (if any) matched */
    for (s = current - 1; s <= current + 1; s++) {
        if (ngx_kanban_totp_code(&key, s, want) != NGX_OK) {
            ngx_explicit_memzero(key.data, key.len);
            return NGX_ERROR;
        }

        if (CRYPTO_memcmp(want, code->data, NGX_KANBAN_TOTP_DIGITS) == 0
            && s > last_step && !match)
        {
            *step = s;
            match = 1;
        }
    }

    ngx_explicit_memzero(key.data, key.len);
    ngx_explicit_memzero(want, sizeof(want));

    return match ? NGX_OK : NGX_DECLINED;
}
