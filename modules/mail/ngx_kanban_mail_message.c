
/*
 * One message as it goes to the SMTP server: its headers and a
 * multipart/alternative body (text, then HTML), from the parts the
 * outbox holds.
 *
 * No field reaches a header as it was given: a control character (CR
 * and LF first) becomes a space, and a value that is not plain printable
 * ASCII is sent as RFC 2047 encoded words (UTF-8, base64), a display
 * name that is ASCII as a quoted string; an address must be a plain
 * address or the message is refused. The bodies are base64, so no line
 * of them can end the message or start a part.
 *
 * The unsubscribe link's signature is made here too (ngx_kanban_mail_sign,
 * also checked by the API): the configuration is passed in, so that this
 * file needs nothing of the module's.
 */

/* SQL: none of its own */
#include "ngx_kanban_mail.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>


#define NGX_KANBAN_MAIL_WORD   45      /* bytes an encoded word carries */


static ngx_int_t ngx_kanban_mail_footer(ngx_pool_t *pool,
    ngx_kanban_mail_msg_t *m, u_char *sig);
static ngx_uint_t ngx_kanban_mail_address_ok(ngx_str_t *a);
static ngx_uint_t ngx_kanban_mail_plain(ngx_str_t *v);
static u_char *ngx_kanban_mail_clean(ngx_pool_t *pool, ngx_str_t *v,
    ngx_str_t *out);
static size_t ngx_kanban_mail_header_len(ngx_str_t *v);
static u_char *ngx_kanban_mail_header(u_char *p, ngx_str_t *v,
    ngx_uint_t phrase);
static size_t ngx_kanban_mail_body_len(ngx_str_t *v);
static u_char *ngx_kanban_mail_body(u_char *p, ngx_str_t *v);
static ngx_int_t ngx_kanban_mail_unsubscribe_link(ngx_pool_t *pool,
    ngx_kanban_mail_conf_t *mcf, ngx_kanban_mail_msg_t *m, ngx_str_t *unsub);
static u_char *ngx_kanban_mail_parts(u_char *p, ngx_kanban_mail_msg_t *m);


static char  *ngx_kanban_mail_days[] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

static char  *ngx_kanban_mail_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


ngx_int_t
ngx_kanban_mail_compose(ngx_pool_t *pool, ngx_kanban_mail_conf_t *mcf,
    ngx_kanban_mail_msg_t *m, ngx_str_t *out, char **error)
{
    u_char     *p, *at;
    size_t      len;
    ngx_tm_t    tm;
    ngx_str_t   name, to_name, subject, unsub, domain, *from;

    from = &mcf->from;

    if (!ngx_kanban_mail_address_ok(&m->to_addr)) {
        *error = "the recipient's address is no plain address";
        return NGX_DECLINED;
    }

    if (ngx_kanban_mail_clean(pool, &m->workspace, &name) == NULL
        || ngx_kanban_mail_clean(pool, &m->to_name, &to_name) == NULL
        || ngx_kanban_mail_clean(pool, &m->subject, &subject) == NULL)
    {
        return NGX_ERROR;
    }

    at = ngx_strlchr(from->data, from->data + from->len, '@');
    domain.data = at + 1;
    domain.len = from->data + from->len - at - 1;

    if (ngx_kanban_mail_unsubscribe_link(pool, mcf, m, &unsub) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_gmtime(ngx_time(), &tm);

    len = sizeof("Date: Sun, 06 Dec 2026 08:29:29 +0000\r\n") - 1
          + sizeof("From: <>\r\n") - 1
          + ngx_kanban_mail_header_len(&name) + from->len
          + sizeof("To: <>\r\n") - 1
          + ngx_kanban_mail_header_len(&to_name) + m->to_addr.len
          + sizeof("Subject: \r\n") - 1
          + ngx_kanban_mail_header_len(&subject)
          + sizeof("Message-ID: <@>\r\n") - 1 + m->id.len + domain.len
          + sizeof("MIME-Version: 1.0\r\n") - 1
          + sizeof("Auto-Submitted: auto-generated\r\n") - 1
          + sizeof("List-Unsubscribe: <>\r\n") - 1 + unsub.len
          + sizeof("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
          - 1
          + sizeof("Content-Type: multipart/alternative; boundary=\"\"\r\n\r\n")
          - 1 + 3 * (sizeof("=_kanban_") - 1 + m->id.len + 6)
          + 2 * sizeof("Content-Type: text/plain; charset=UTF-8\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n")
          + ngx_kanban_mail_body_len(&m->text)
          + ngx_kanban_mail_body_len(&m->html) + 64;

    out->data = ngx_pnalloc(pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(out->data, "Date: %s, %02d %s %4d %02d:%02d:%02d +0000\r\n",
                    ngx_kanban_mail_days[tm.ngx_tm_wday], tm.ngx_tm_mday,
                    ngx_kanban_mail_months[tm.ngx_tm_mon - 1], tm.ngx_tm_year,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    p = ngx_cpymem(p, "From: ", 6);
    p = ngx_kanban_mail_header(p, &name, 1);
    p = ngx_sprintf(p, " <%V>\r\n", from);

    p = ngx_cpymem(p, "To: ", 4);
    if (to_name.len) {
        p = ngx_kanban_mail_header(p, &to_name, 1);
        *p++ = ' ';
    }
    p = ngx_sprintf(p, "<%V>\r\n", &m->to_addr);

    p = ngx_cpymem(p, "Subject: ", 9);
    p = ngx_kanban_mail_header(p, &subject, 0);
    p = ngx_sprintf(p, "\r\nMessage-ID: <%V@%V>\r\n", &m->id, &domain);
    p = ngx_cpymem(p, "MIME-Version: 1.0\r\n", 19);
    p = ngx_cpymem(p, "Auto-Submitted: auto-generated\r\n", 32);

    if (unsub.len) {
        p = ngx_sprintf(p, "List-Unsubscribe: <%V>\r\n"
                        "List-Unsubscribe-Post: List-Unsubscribe=One-Click"
                        "\r\n", &unsub);
    }

    p = ngx_kanban_mail_parts(p, m);

    out->len = p - out->data;

    return NGX_OK;
}


/* the one-click unsubscribe link, signed, when it stops something (and
 * the footer that says so); none otherwise */
static ngx_int_t
ngx_kanban_mail_unsubscribe_link(ngx_pool_t *pool,
    ngx_kanban_mail_conf_t *mcf, ngx_kanban_mail_msg_t *m, ngx_str_t *unsub)
{
    u_char  sig[64], path[512];

    ngx_str_null(unsub);

    if (m->unsubscribe.len && m->user_id.len
        && ngx_kanban_mail_sign(mcf, &m->slug, &m->user_id,
                                &m->unsubscribe, sig)
           == NGX_OK
        && m->user_id.len + m->unsubscribe.len + 200 < sizeof(path))
    {
        ngx_sprintf(path, "/api/v1/mail/unsubscribe?u=%V&k=%V&s=%*s%Z",
                    &m->user_id, &m->unsubscribe, (size_t) 64, sig);

        if (ngx_kanban_tenant_origin(pool, &m->slug, (char *) path, unsub)
            != NGX_OK
            || ngx_kanban_mail_footer(pool, m, sig) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the body: the text and the HTML as the two parts of one alternative */
static u_char *
ngx_kanban_mail_parts(u_char *p, ngx_kanban_mail_msg_t *m)
{
    p = ngx_sprintf(p, "Content-Type: multipart/alternative; "
                    "boundary=\"=_kanban_%V\"\r\n\r\n", &m->id);

    p = ngx_sprintf(p, "--=_kanban_%V\r\n"
                    "Content-Type: text/plain; charset=UTF-8\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n", &m->id);
    p = ngx_kanban_mail_body(p, &m->text);

    p = ngx_sprintf(p, "--=_kanban_%V\r\n"
                    "Content-Type: text/html; charset=UTF-8\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n", &m->id);
    p = ngx_kanban_mail_body(p, &m->html);

    return ngx_sprintf(p, "--=_kanban_%V--\r\n", &m->id);
}


/* The bodies end with a link to the unsubscribe page of the web UI, for
 * a reader whose client does not offer List-Unsubscribe: the same signed
 * link, and one click there. */

static ngx_int_t
ngx_kanban_mail_footer(ngx_pool_t *pool, ngx_kanban_mail_msg_t *m,
    u_char *sig)
{
    u_char     *p, path[512];
    size_t      tail;
    ngx_str_t   page, href;

    ngx_sprintf(path, "/unsubscribe?u=%V&k=%V&s=%*s%Z", &m->user_id,
                &m->unsubscribe, (size_t) 64, sig);

    if (ngx_kanban_tenant_origin(pool, &m->slug, (char *) path, &page)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the same in an HTML attribute */
    ngx_sprintf(path, "/unsubscribe?u=%V&amp;k=%V&amp;s=%*s%Z", &m->user_id,
                &m->unsubscribe, (size_t) 64, sig);

    if (ngx_kanban_tenant_origin(pool, &m->slug, (char *) path, &href)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(pool, m->text.len + page.len + 64);
    if (p == NULL) {
        return NGX_ERROR;
    }

    m->text.len = ngx_sprintf(p, "%V\n--\nStop these emails: %V\n",
                              &m->text, &page) - p;
    m->text.data = p;

    /* inside the frame's body, when the HTML has the frame */
    tail = sizeof("</body></html>") - 1;

    if (m->html.len < tail
        || ngx_strncmp(m->html.data + m->html.len - tail, "</body></html>",
                       tail) != 0)
    {
        tail = 0;
    }

    p = ngx_pnalloc(pool, m->html.len + href.len + 128);
    if (p == NULL) {
        return NGX_ERROR;
    }

    m->html.len = ngx_sprintf(p, "%*s<p style=\"color:#666;font-size:12px\">"
                              "<a href=\"%V\">Unsubscribe</a></p>%*s",
                              m->html.len - tail, m->html.data, &href,
                              tail, m->html.data + m->html.len - tail)
                  - p;
    m->html.data = p;

    return NGX_OK;
}


/* local@domain, one "@", nothing that could end or split a header */

static ngx_uint_t
ngx_kanban_mail_address_ok(ngx_str_t *a)
{
    u_char      *p, *end;
    ngx_uint_t   ats;

    if (a->len < 3 || a->len > 254) {
        return 0;
    }

    ats = 0;
    end = a->data + a->len;

    for (p = a->data; p < end; p++) {
        if (*p <= 0x20 || *p >= 0x7f || ngx_strchr("<>,;:\"()[]\\", *p)) {
            return 0;
        }

        if (*p == '@') {
            ats++;
        }
    }

    return ats == 1 && a->data[0] != '@' && end[-1] != '@';
}


/* a copy with every control character (CR and LF first) a space */

static u_char *
ngx_kanban_mail_clean(ngx_pool_t *pool, ngx_str_t *v, ngx_str_t *out)
{
    size_t   i;

    out->len = v->len;
    out->data = ngx_pnalloc(pool, v->len + 1);
    if (out->data == NULL) {
        return NULL;
    }

    for (i = 0; i < v->len; i++) {
        out->data[i] = (v->data[i] < 0x20 || v->data[i] == 0x7f)
                       ? ' ' : v->data[i];
    }

    return out->data;
}


static ngx_uint_t
ngx_kanban_mail_plain(ngx_str_t *v)
{
    size_t  i;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] < 0x20 || v->data[i] > 0x7e) {
            return 0;
        }

        if (v->data[i] == '=' && i + 1 < v->len && v->data[i + 1] == '?') {
            return 0;
        }
    }

    return v->len < 900;
}


static size_t
ngx_kanban_mail_header_len(ngx_str_t *v)
{
    /* quoted: each byte escaped at worst; encoded: words of WORD bytes
     * (3 fewer when cut before a character), each "=?UTF-8?B?" "?=" and
     * a fold */
    return ngx_max(2 * v->len + 2,
                   (v->len / (NGX_KANBAN_MAIL_WORD - 3) + 1)
                   * (ngx_base64_encoded_length(NGX_KANBAN_MAIL_WORD) + 15));
}


/* The value as a header's text (phrase: a display name, quoted when
 * plain), or as encoded words, each cut on a UTF-8 character's start and
 * folded onto its own line. */

static u_char *
ngx_kanban_mail_header(u_char *p, ngx_str_t *v, ngx_uint_t phrase)
{
    size_t      i, n;
    ngx_str_t   src, dst;

    if (ngx_kanban_mail_plain(v)) {
        if (!phrase) {
            return ngx_cpymem(p, v->data, v->len);
        }

        *p++ = '"';

        for (i = 0; i < v->len; i++) {
            if (v->data[i] == '"' || v->data[i] == '\\') {
                *p++ = '\\';
            }

            *p++ = v->data[i];
        }

        *p++ = '"';

        return p;
    }

    for (i = 0; i < v->len; i += n) {
        n = ngx_min(NGX_KANBAN_MAIL_WORD, v->len - i);

        /* not in the middle of a character */
        while (n > 1 && i + n < v->len && (v->data[i + n] & 0xc0) == 0x80) {
            n--;
        }

        if (i) {
            p = ngx_cpymem(p, "\r\n ", 3);
        }

        src.data = v->data + i;
        src.len = n;
        dst.data = ngx_cpymem(p, "=?UTF-8?B?", 10);

        ngx_encode_base64(&dst, &src);

        p = ngx_cpymem(dst.data + dst.len, "?=", 2);
    }

    return p;
}


static size_t
ngx_kanban_mail_body_len(ngx_str_t *v)
{
    size_t  b64;

    b64 = ngx_base64_encoded_length(v->len);

    return b64 + 2 * (b64 / 76 + 1) + 2;
}


/* base64 in lines of 76 */

static u_char *
ngx_kanban_mail_body(u_char *p, ngx_str_t *v)
{
    size_t      i, n;
    ngx_str_t   src, dst;

    for (i = 0; i < v->len; i += n) {
        n = ngx_min(57, v->len - i);     /* 57 bytes: 76 characters */

        src.data = v->data + i;
        src.len = n;
        dst.data = p;

        ngx_encode_base64(&dst, &src);

        p = ngx_cpymem(dst.data + dst.len, "\r\n", 2);
    }

    return p;
}


/* hex HMAC-SHA256 of "slug\nuser\nwhat" */

ngx_int_t
ngx_kanban_mail_sign(ngx_kanban_mail_conf_t *mcf, ngx_str_t *slug,
    ngx_str_t *user_id, ngx_str_t *what, u_char *sig)
{
    u_char         mac[EVP_MAX_MD_SIZE], buf[512], *p;
    unsigned int   maclen;

    if (mcf == NULL || !mcf->has_key) {
        return NGX_DECLINED;
    }

    if (slug->len + user_id->len + what->len + 2 > sizeof(buf)) {
        return NGX_DECLINED;
    }

    p = ngx_cpymem(buf, slug->data, slug->len);
    *p++ = '\n';
    p = ngx_cpymem(p, user_id->data, user_id->len);
    *p++ = '\n';
    p = ngx_cpymem(p, what->data, what->len);

    if (HMAC(EVP_sha256(), mcf->key, NGX_KANBAN_MAIL_KEY_LEN, buf, p - buf,
             mac, &maclen)
        == NULL)
    {
        return NGX_ERROR;
    }

    ngx_hex_dump(sig, mac, 32);

    return NGX_OK;
}
