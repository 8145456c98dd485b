
/*
 * What the browser of a sign-in is sent: the redirect to a provider or
 * back into the app, the sign-in page with an error code when anything
 * fails (never a bare 500), the short-lived cookie that binds a sign-in
 * to its browser, and the pieces those are made of: random values,
 * percent-encoding, a query argument, the callback's own URL.
 */

/* SQL: none of its own */
#include "ngx_kanban_oauth.h"
#include <openssl/rand.h>


/* A path of the app becomes a URL of the workspace's origin (as
 * kanban_tenant_url says, not as the request's Host does). */

ngx_int_t
ngx_kanban_oauth_redirect(ngx_http_request_t *r, ngx_str_t *to)
{
    u_char               *p;
    ngx_str_t             no_store = ngx_string("no-store"), origin, url;
    ngx_kanban_tenant_t  *t;

    if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t = ngx_kanban_tenant(r);

    if (to->len && to->data[0] == '/' && t) {
        if (ngx_kanban_tenant_origin(r->pool, &t->slug, "", &origin)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        while (origin.len && origin.data[origin.len - 1] == '/') {
            origin.len--;
        }

        url.len = origin.len + to->len;
        url.data = ngx_pnalloc(r->pool, url.len);
        if (url.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(url.data, origin.data, origin.len);
        ngx_memcpy(p, to->data, to->len);

        to = &url;
    }

    ngx_http_clear_location(r);

    r->headers_out.location = ngx_list_push(&r->headers_out.headers);
    if (r->headers_out.location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.location->hash = 1;
    ngx_str_set(&r->headers_out.location->key, "Location");
    r->headers_out.location->value = *to;

    r->headers_out.status = NGX_HTTP_MOVED_TEMPORARILY;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* The sign-in page, which shows what the code means; the flow's cookie
 * goes, since that sign-in is over either way. */

ngx_int_t
ngx_kanban_oauth_fail(ngx_http_request_t *r, char *error)
{
    ngx_str_t  to;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "kanban oauth: sign-in failed: %s", error);

    to.len = sizeof("/signin?oauth_error=") - 1 + ngx_strlen(error);
    to.data = ngx_pnalloc(r->pool, to.len);
    if (to.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(to.data, "/signin?oauth_error=%s", error);

    if (ngx_kanban_oauth_cookie(r, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_oauth_redirect(r, &to);
}


/* What went wrong was ours (the database away, memory): the person may
 * try again. */

ngx_int_t
ngx_kanban_oauth_retry(ngx_http_request_t *r)
{
    return ngx_kanban_oauth_fail(r, "temporarily_unavailable");
}


/* The flow's cookie: SameSite=Lax, since the provider's redirect back is
 * a cross-site navigation that must carry it; NULL clears it. */

ngx_int_t
ngx_kanban_oauth_cookie(ngx_http_request_t *r, ngx_str_t *handle)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   cookie, empty = ngx_string("");

    if (handle == NULL) {
        handle = &empty;
    }

    len = sizeof(NGX_KANBAN_OAUTH_COOKIE "=; Path=/; Max-Age="
                 NGX_KANBAN_OAUTH_STATE_TTL "; HttpOnly; Secure; "
                 "SameSite=Lax") + handle->len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cookie.data = p;
    p = ngx_sprintf(p, NGX_KANBAN_OAUTH_COOKIE "=%V; Path=/; Max-Age=%s; "
                    "HttpOnly; Secure; SameSite=Lax", handle,
                    handle->len ? NGX_KANBAN_OAUTH_STATE_TTL : "0");
    cookie.len = p - cookie.data;

    return ngx_kanban_add_header(r, "Set-Cookie", &cookie);
}


/* n random bytes, base64url without padding */

ngx_int_t
ngx_kanban_oauth_random(ngx_pool_t *pool, size_t n, ngx_str_t *out)
{
    u_char     raw[64];
    ngx_str_t  src;

    if (n > sizeof(raw) || RAND_bytes(raw, (int) n) != 1) {
        return NGX_ERROR;
    }

    src.data = raw;
    src.len = n;

    out->data = ngx_pnalloc(pool, ngx_base64_encoded_length(n));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64url(out, &src);

    return NGX_OK;
}


/* Percent-encoding of everything but RFC 3986's unreserved characters:
 * right for a query's values and for a form's. */

u_char *
ngx_kanban_oauth_escape(u_char *dst, ngx_str_t *src)
{
    u_char         c;
    size_t         i;
    static u_char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            *dst++ = c;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0xf];
    }

    return dst;
}


/* "k1=v1&k2=v2...", each value escaped; pairs end with a NULL name */

ngx_int_t
ngx_kanban_oauth_form(ngx_pool_t *pool, ngx_str_t *prefix, char **names,
    ngx_str_t **values, ngx_str_t *out)
{
    u_char      *p;
    size_t       len;
    ngx_uint_t   i;

    len = prefix ? prefix->len : 0;

    for (i = 0; names[i]; i++) {
        len += ngx_strlen(names[i]) + 2 + 3 * values[i]->len;
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    if (prefix) {
        p = ngx_cpymem(p, prefix->data, prefix->len);
    }

    for (i = 0; names[i]; i++) {
        if (i) {
            *p++ = '&';
        }

        p = ngx_cpymem(p, names[i], ngx_strlen(names[i]));
        *p++ = '=';
        p = ngx_kanban_oauth_escape(p, values[i]);
    }

    out->len = p - out->data;

    return NGX_OK;
}


/* A query argument, unescaped; NGX_DECLINED when there is none or it is
 * longer than max. */

ngx_int_t
ngx_kanban_oauth_arg(ngx_http_request_t *r, char *name, size_t max,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK
        || raw.len == 0 || raw.len > 3 * max)
    {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(r->pool, raw.len);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    dst = value->data;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;

    return (value->len == 0 || value->len > max) ? NGX_DECLINED : NGX_OK;
}


/* The callback's URL on the workspace's own origin: what the provider
 * was registered with, and sends the browser back to. */

ngx_int_t
ngx_kanban_oauth_redirect_uri(ngx_http_request_t *r, ngx_kanban_oauth_t *oa)
{
    u_char               *p;
    ngx_str_t             origin;
    ngx_kanban_tenant_t  *t;

    t = ngx_kanban_tenant(r);

    if (t == NULL
        || ngx_kanban_tenant_origin(r->pool, &t->slug, "", &origin)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    while (origin.len && origin.data[origin.len - 1] == '/') {
        origin.len--;
    }

    oa->redirect_uri.len = origin.len + sizeof("/api/v1/auth/oauth/") - 1
                           + oa->slug.len + sizeof("/callback") - 1;

    p = ngx_pnalloc(r->pool, oa->redirect_uri.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    oa->redirect_uri.data = p;

    p = ngx_cpymem(p, origin.data, origin.len);
    p = ngx_cpymem(p, "/api/v1/auth/oauth/", sizeof("/api/v1/auth/oauth/") - 1);
    p = ngx_cpymem(p, oa->slug.data, oa->slug.len);
    ngx_memcpy(p, "/callback", sizeof("/callback") - 1);

    return NGX_OK;
}
