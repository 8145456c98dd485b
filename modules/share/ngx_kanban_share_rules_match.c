
/*
 * Where a visit of a link with redirect rules goes: the first rule that
 * matches the visitor, else the link's own URL. The rules come with the
 * cached link in the compact form PostgreSQL made of them (one a line,
 * share_link_rules_compact in sql/tenant/087_share_link_rules.sql), their
 * URLs already carrying the link's UTM parameters, so a visit reads no
 * JSON and asks no one: it scans a few short lines. What the visitor is
 * (device, language, country) is worked out only when a rule asks.
 *
 *   d TAB device bits TAB url
 *   l TAB languages (lower case, ",") TAB url
 *   c TAB countries (upper case, ",") TAB url
 *   s (TAB weight TAB url)...           weights 1..100
 */

/* SQL: sql/tenant/087_share_link_rules.sql */
#include "ngx_kanban_share.h"


/* share_device_bits() */
#define NGX_KANBAN_DEVICE_IOS       1
#define NGX_KANBAN_DEVICE_ANDROID   2
#define NGX_KANBAN_DEVICE_WINDOWS   4
#define NGX_KANBAN_DEVICE_MACOS     8
#define NGX_KANBAN_DEVICE_LINUX     16
#define NGX_KANBAN_DEVICE_MOBILE    32
#define NGX_KANBAN_DEVICE_DESKTOP   64

#define NGX_KANBAN_SHARE_LANG_MAX   35

#define ngx_kanban_share_letter(c)                                            \
    (((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z'))


/* what is known of the visitor so far */
typedef struct {
    ngx_int_t                  device;         /* -1: not yet */
    ngx_uint_t                 language_read;
    ngx_str_t                  language;       /* most preferred, or empty */
} ngx_kanban_share_visitor_t;


static ngx_uint_t ngx_kanban_share_device(ngx_http_request_t *r);
static void ngx_kanban_share_language(ngx_http_request_t *r, ngx_str_t *tag);
static ngx_uint_t ngx_kanban_share_language_in(ngx_str_t *tag, u_char *list,
    u_char *end);
static ngx_uint_t ngx_kanban_share_country_in(ngx_str_t *country,
    u_char *list, u_char *end);
static void ngx_kanban_share_country(ngx_http_request_t *r,
    ngx_kanban_share_choice_t *choice);
static ngx_uint_t ngx_kanban_share_split(u_char *p, u_char *end,
    ngx_str_t *url);
static ngx_uint_t ngx_kanban_share_has(ngx_str_t *s, char *needle);


ngx_int_t
ngx_kanban_share_choose(ngx_http_request_t *r, ngx_kanban_share_link_t *link,
    ngx_kanban_share_choice_t *choice)
{
    u_char                      *p, *end, *line, *arg, *url, *next;
    ngx_int_t                    bits;
    ngx_str_t                    target;
    ngx_uint_t                   n, match;
    ngx_kanban_share_visitor_t   who;

    choice->destination = link->url;
    choice->rule = 0;
    ngx_str_null(&choice->country);

    /* the country is recorded with every visit, rules or none */
    ngx_kanban_share_country(r, choice);

    who.device = -1;
    who.language_read = 0;
    ngx_str_null(&who.language);

    p = link->rules.data;
    end = p + link->rules.len;

    for (n = 1; p < end; n++, p = next + 1) {
        line = p;
        next = ngx_strlchr(line, end, '\n');    /* the line's end */
        next = next ? next : end;

        if (next - line < 3 || line[1] != '\t') {
            break;                              /* not ours: nothing after */
        }

        if (line[0] == 's') {
            if (ngx_kanban_share_split(line + 1, next, &target)) {
                choice->destination = target;
                choice->rule = n;
                return NGX_OK;
            }

            continue;
        }

        arg = line + 2;
        url = ngx_strlchr(arg, next, '\t');
        if (url == NULL) {
            break;
        }

        match = 0;

        switch (line[0]) {

        case 'd':
            if (who.device < 0) {
                who.device = ngx_kanban_share_device(r);
            }

            bits = ngx_atoi(arg, url - arg);
            match = bits > 0 && (bits & who.device);
            break;

        case 'l':
            if (!who.language_read) {
                ngx_kanban_share_language(r, &who.language);
                who.language_read = 1;
            }

            match = ngx_kanban_share_language_in(&who.language, arg, url);
            break;

        case 'c':
            match = ngx_kanban_share_country_in(&choice->country, arg, url);
            break;
        }

        if (match) {
            choice->destination.data = url + 1;
            choice->destination.len = next - (url + 1);
            choice->rule = n;
            return NGX_OK;
        }
    }

    return NGX_OK;
}


/* One of a split's targets, by weight: "\tw\turl\tw\turl..." */

static ngx_uint_t
ngx_kanban_share_split(u_char *p, u_char *end, ngx_str_t *url)
{
    u_char      *q, *w, *u;
    ngx_int_t    weight;
    ngx_uint_t   total, pick;

    total = 0;

    for (q = p; q < end; q = u) {
        w = q + 1;
        u = ngx_strlchr(w, end, '\t');
        if (u == NULL) {
            return 0;
        }

        weight = ngx_atoi(w, u - w);
        if (weight <= 0) {
            return 0;
        }

        total += weight;

        u = ngx_strlchr(u + 1, end, '\t');
        u = u ? u : end;
    }

    if (total == 0) {
        return 0;
    }

    pick = (ngx_uint_t) ngx_random() % total;

    for (q = p; q < end; q = u) {
        w = q + 1;
        u = ngx_strlchr(w, end, '\t');
        weight = ngx_atoi(w, u - w);

        url->data = u + 1;
        u = ngx_strlchr(u + 1, end, '\t');
        u = u ? u : end;
        url->len = u - url->data;

        if (pick < (ngx_uint_t) weight) {
            return 1;
        }

        pick -= weight;
    }

    return 0;
}


/* The User-Agent's platform and form, as share_device_bits names them:
 * phones and tablets are mobile, the rest desktop. */

static ngx_uint_t
ngx_kanban_share_device(ngx_http_request_t *r)
{
    ngx_str_t   *ua;
    ngx_uint_t   bits;

    if (r->headers_in.user_agent == NULL) {
        return NGX_KANBAN_DEVICE_DESKTOP;
    }

    ua = &r->headers_in.user_agent->value;
    bits = 0;

    if (ngx_kanban_share_has(ua, "iphone") || ngx_kanban_share_has(ua, "ipad")
        || ngx_kanban_share_has(ua, "ipod"))
    {
        bits = NGX_KANBAN_DEVICE_IOS|NGX_KANBAN_DEVICE_MOBILE;

    } else if (ngx_kanban_share_has(ua, "android")) {
        bits = NGX_KANBAN_DEVICE_ANDROID|NGX_KANBAN_DEVICE_MOBILE;

    } else if (ngx_kanban_share_has(ua, "windows")) {
        bits = NGX_KANBAN_DEVICE_WINDOWS;

    } else if (ngx_kanban_share_has(ua, "macintosh")
               || ngx_kanban_share_has(ua, "mac os x"))
    {
        bits = NGX_KANBAN_DEVICE_MACOS;

    } else if (ngx_kanban_share_has(ua, "linux")
               || ngx_kanban_share_has(ua, "x11"))
    {
        bits = NGX_KANBAN_DEVICE_LINUX;
    }

    if (!(bits & NGX_KANBAN_DEVICE_MOBILE) && ngx_kanban_share_has(ua, "mobi"))
    {
        bits |= NGX_KANBAN_DEVICE_MOBILE;
    }

    if (!(bits & NGX_KANBAN_DEVICE_MOBILE)) {
        bits |= NGX_KANBAN_DEVICE_DESKTOP;
    }

    return bits;
}


/* needle in lower case: ngx_strlcasestrn wants it so */

static ngx_uint_t
ngx_kanban_share_has(ngx_str_t *s, char *needle)
{
    size_t  n;

    n = ngx_strlen(needle);

    return ngx_strlcasestrn(s->data, s->data + s->len, (u_char *) needle,
                            n - 1)
           != NULL;
}


/* The visitor's most preferred language: the Accept-Language range of
 * the highest q (the first of equals), "*" and q=0 ignored. */

static void
ngx_kanban_share_language(ngx_http_request_t *r, ngx_str_t *tag)
{
    u_char           *p, *end, *item, *stop, *t, *te;
    ngx_uint_t        i, q, best, frac;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_str_null(tag);
    best = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("Accept-Language") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Accept-Language",
                               sizeof("Accept-Language") - 1) != 0)
        {
            continue;
        }

        p = h[i].value.data;
        end = p + h[i].value.len;

        for (item = p; item < end; item = stop + 1) {
            stop = ngx_strlchr(item, end, ',');
            stop = stop ? stop : end;

            t = item;
            while (t < stop && (*t == ' ' || *t == '\t')) {
                t++;
            }

            te = t;
            while (te < stop && *te != ';' && *te != ' ' && *te != '\t') {
                te++;
            }

            /* q in thousandths: "q=1", "q=0.8", "q=0.125" */
            q = 1000;
            p = ngx_strlcasestrn(te, stop, (u_char *) "q=", 2 - 1);

            if (p) {
                p += 2;
                q = (p < stop && *p == '1') ? 1000 : 0;

                if (p + 1 < stop && p[1] == '.') {
                    frac = 100;
                    for (p += 2; p < stop && *p >= '0' && *p <= '9'
                                 && frac; p++)
                    {
                        q += (*p - '0') * frac;
                        frac /= 10;
                    }
                }

                q = ngx_min(q, 1000);
            }

            if (q > best && te - t > 0 && te - t <= NGX_KANBAN_SHARE_LANG_MAX
                && !(te - t == 1 && *t == '*'))
            {
                best = q;
                tag->data = t;
                tag->len = te - t;
            }
        }
    }
}


/* "de" takes de and de-AT; "de-at" only de-AT. */

static ngx_uint_t
ngx_kanban_share_language_in(ngx_str_t *tag, u_char *list, u_char *end)
{
    u_char  *v, *ve;
    size_t   n;

    if (tag->len == 0) {
        return 0;
    }

    for (v = list; v < end; v = ve + 1) {
        ve = ngx_strlchr(v, end, ',');
        ve = ve ? ve : end;
        n = ve - v;

        if (n <= tag->len && ngx_strncasecmp(tag->data, v, n) == 0
            && (n == tag->len || tag->data[n] == '-'))
        {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_kanban_share_country_in(ngx_str_t *country, u_char *list, u_char *end)
{
    u_char  *v;

    if (country->len != 2) {
        return 0;
    }

    for (v = list; v + 2 <= end; v += 3) {
        if (ngx_toupper(v[0]) == ngx_toupper(country->data[0])
            && ngx_toupper(v[1]) == ngx_toupper(country->data[1]))
        {
            return 1;
        }
    }

    return 0;
}


/* kanban_share_country: the visitor's country code from a variable the
 * installation names, such as nginx's $geoip_country_code (an offline
 * database: no request leaves the machine). "--" and the like: unknown. */

static void
ngx_kanban_share_country(ngx_http_request_t *r,
    ngx_kanban_share_choice_t *choice)
{
    ngx_str_t                      value;
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_share_module);

    if (smcf->country == NULL
        || ngx_http_complex_value(r, smcf->country, &value) != NGX_OK)
    {
        return;
    }

    if (value.len == 2 && ngx_kanban_share_letter(value.data[0])
        && ngx_kanban_share_letter(value.data[1]))
    {
        choice->country = value;
    }
}
