
/*
 * Who may pass a share link: codes, the verdict on a visit, and grant
 * cookies. A grant is "kanban_grant_CODE=EXP.MAC", MAC being
 * HMAC-SHA256(the link's own secret, "CODE.EXP") in hex: a visitor who
 * gave the password (or, for a task or project, was let through once)
 * keeps the shared page until EXP, and nothing of it is stored.
 */

/* SQL: none of its own */
#include "ngx_kanban_share.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>


#define NGX_KANBAN_SHARE_GRANT_TTL   (12 * 60 * 60)
#define NGX_KANBAN_SHARE_MAC_LEN     64


static ngx_int_t ngx_kanban_share_mac(ngx_kanban_share_link_t *link,
    ngx_str_t *code, time_t exp, u_char *hex);
static ngx_uint_t ngx_kanban_share_granted(ngx_http_request_t *r,
    ngx_kanban_share_link_t *link, ngx_str_t *code);


static u_char  ngx_kanban_share_base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";


ngx_uint_t
ngx_kanban_share_code_valid(ngx_str_t *code)
{
    size_t  i;

    if (code->len < NGX_KANBAN_SHARE_CODE_MIN
        || code->len > NGX_KANBAN_SHARE_CODE_MAX)
    {
        return 0;
    }

    for (i = 0; i < code->len; i++) {
        if (!isalnum(code->data[i])) {
            return 0;
        }
    }

    return 1;
}


/* NGX_KANBAN_SHARE_CODE_LEN characters from OpenSSL's CSPRNG; bytes past
 * 247 are dropped so that every character is equally likely. */

ngx_int_t
ngx_kanban_share_code_make(u_char *code)
{
    u_char      random[64];
    ngx_uint_t  i, n;

    n = 0;

    while (n < NGX_KANBAN_SHARE_CODE_LEN) {
        if (RAND_bytes(random, sizeof(random)) != 1) {
            return NGX_ERROR;
        }

        for (i = 0; i < sizeof(random) && n < NGX_KANBAN_SHARE_CODE_LEN; i++)
        {
            if (random[i] < 248) {
                code[n++] = ngx_kanban_share_base62[random[i] % 62];
            }
        }
    }

    return NGX_OK;
}


/* What this request may have of the link. A read (the shared page) of
 * a link that counts its visits needs the grant a visit gives, and is
 * let through on it even once the link is used up; a visit never is, it
 * is counted against max_visits. */

ngx_uint_t
ngx_kanban_share_judge(ngx_http_request_t *r, ngx_kanban_share_link_t *link,
    ngx_str_t *code, ngx_uint_t read)
{
    ngx_uint_t  granted;

    switch (link->state) {

    case NGX_KANBAN_SHARE_ACTIVE:
    case NGX_KANBAN_SHARE_USED_UP:
        break;

    case NGX_KANBAN_SHARE_UNKNOWN:
        return NGX_KANBAN_SHARE_NOT_FOUND;

    default:
        return NGX_KANBAN_SHARE_EXPIRED;
    }

    if (link->expires && link->expires <= ngx_time()) {
        return NGX_KANBAN_SHARE_EXPIRED;
    }

    /* the grant cookie (an HMAC to check) only when the verdict turns
     * on it: an open link's visit, the redirect's common case, has none
     * to read */
    if (link->state != NGX_KANBAN_SHARE_USED_UP && !link->password_hash.len
        && !(read && link->max_visits))
    {
        return NGX_KANBAN_SHARE_OPEN;
    }

    granted = ngx_kanban_share_granted(r, link, code);

    if (link->state == NGX_KANBAN_SHARE_USED_UP && !(read && granted)) {
        return NGX_KANBAN_SHARE_EXPIRED;
    }

    if (link->password_hash.len && !granted) {
        return NGX_KANBAN_SHARE_LOCKED;
    }

    if (read && link->max_visits && !granted) {
        return NGX_KANBAN_SHARE_VISIT_FIRST;
    }

    return NGX_KANBAN_SHARE_OPEN;
}


/* Set-Cookie of a grant for this link, until the link expires or for
 * NGX_KANBAN_SHARE_GRANT_TTL. */

ngx_int_t
ngx_kanban_share_grant(ngx_http_request_t *r, ngx_kanban_share_link_t *link,
    ngx_str_t *code)
{
    u_char           *p;
    time_t            exp;
    ngx_str_t         cookie;
    ngx_table_elt_t  *h;

    exp = ngx_time() + NGX_KANBAN_SHARE_GRANT_TTL;

    if (link->expires && link->expires < exp) {
        exp = link->expires;
    }

    p = ngx_pnalloc(r->pool,
                    sizeof("kanban_grant_=.; Max-Age=; Path=/; HttpOnly; "
                           "SameSite=Lax; Secure") - 1
                    + code->len + 2 * NGX_TIME_T_LEN
                    + NGX_KANBAN_SHARE_MAC_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cookie.data = p;
    p = ngx_sprintf(p, "kanban_grant_%V=%T.", code, exp);

    if (ngx_kanban_share_mac(link, code, exp, p) != NGX_OK) {
        return NGX_ERROR;
    }

    p += NGX_KANBAN_SHARE_MAC_LEN;
    p = ngx_sprintf(p, "; Max-Age=%T; Path=/; HttpOnly; SameSite=Lax",
                    exp - ngx_time());

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }
#endif

    cookie.len = p - cookie.data;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Set-Cookie");
    h->value = cookie;

    return NGX_OK;
}


static ngx_uint_t
ngx_kanban_share_granted(ngx_http_request_t *r, ngx_kanban_share_link_t *link,
    ngx_str_t *code)
{
    u_char      *dot, name[sizeof("kanban_grant_") + NGX_KANBAN_SHARE_CODE_MAX];
    u_char       mac[NGX_KANBAN_SHARE_MAC_LEN];
    time_t       exp;
    ngx_str_t    value, cookie_name;

    cookie_name.data = name;
    cookie_name.len = ngx_sprintf(name, "kanban_grant_%V", code) - name;

#if (nginx_version >= 1023000)
    if (ngx_http_parse_multi_header_lines(r, r->headers_in.cookie,
                                          &cookie_name, &value)
        == NULL)
    {
        return 0;
    }
#else
    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                          &cookie_name, &value)
        == NGX_DECLINED)
    {
        return 0;
    }
#endif

    dot = ngx_strlchr(value.data, value.data + value.len, '.');

    if (dot == NULL
        || (size_t) (value.data + value.len - dot - 1)
           != NGX_KANBAN_SHARE_MAC_LEN)
    {
        return 0;
    }

    exp = ngx_atotm(value.data, dot - value.data);

    if (exp == NGX_ERROR || exp <= ngx_time()) {
        return 0;
    }

    if (ngx_kanban_share_mac(link, code, exp, mac) != NGX_OK) {
        return 0;
    }

    return CRYPTO_memcmp(mac, dot + 1, NGX_KANBAN_SHARE_MAC_LEN) == 0;
}


static ngx_int_t
ngx_kanban_share_mac(ngx_kanban_share_link_t *link, ngx_str_t *code,
    time_t exp, u_char *hex)
{
    u_char        msg[NGX_KANBAN_SHARE_CODE_MAX + 1 + NGX_TIME_T_LEN];
    u_char        mac[EVP_MAX_MD_SIZE];
    size_t        len;
    unsigned int  mac_len;

    if (link->grant_secret.len == 0) {
        return NGX_ERROR;
    }

    len = ngx_sprintf(msg, "%V.%T", code, exp) - msg;

    if (HMAC(EVP_sha256(), link->grant_secret.data,
             (int) link->grant_secret.len, msg, len, mac, &mac_len)
        == NULL)
    {
        return NGX_ERROR;
    }

    ngx_hex_dump(hex, mac, mac_len);

    return NGX_OK;
}
