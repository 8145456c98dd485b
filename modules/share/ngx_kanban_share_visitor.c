
/*
 * What a visit of a share link keeps of its visitor, taken from the
 * request. What a visit records: time, referrer, user agent (valid UTF-8,
 * at most 512 bytes each), whether the agent is a crawler
 * (kanban_share_bots, one signature a line, matched without case), and
 * the address with its last octet (IPv4) or last 80 bits (IPv6) zeroed:
 * the full address is never kept. All but the time are made here.
 *
 * Each comes out as PostgreSQL takes it: a value a column does not take
 * would have the whole batch refused, and then stored one visit at a time
 * (ngx_kanban_share_visit_flush.c).
 */

/* SQL: none of its own */
#include "ngx_kanban_share_visit_batch.h"


#define NGX_KANBAN_SHARE_HEADER_MAX   512

/* an inet's families, as PostgreSQL numbers them (utils/inet.h) */
#define NGX_KANBAN_PG_AF_INET         (AF_INET + 0)
#define NGX_KANBAN_PG_AF_INET6        (AF_INET + 1)


/* A header as text PostgreSQL takes: at most NGX_KANBAN_SHARE_HEADER_MAX
 * bytes, whole UTF-8 characters, "?" for what is not one or is a control
 * character. */

void
ngx_kanban_share_clean(ngx_pool_t *pool, ngx_str_t *in, ngx_str_t *out)
{
    u_char    *p, *q, *s, *end, *next;
    uint32_t   c;

    /* printable ASCII within the limit, as browsers' agents and most
     * referrers are: taken as it is, neither decoded nor copied */
    if (in->len <= NGX_KANBAN_SHARE_HEADER_MAX) {
        for (s = in->data, end = s + in->len;
             s < end && *s >= 0x20 && *s < 0x7f;
             s++)
        { /* void */ }

        if (s == end) {
            *out = *in;
            return;
        }
    }

    out->data = ngx_pnalloc(pool, NGX_KANBAN_SHARE_HEADER_MAX);
    if (out->data == NULL) {
        out->len = 0;
        return;
    }

    p = out->data;
    s = in->data;
    end = in->data + in->len;

    while (s < end) {
        next = s;
        c = (*s < 0x80) ? *next++ : ngx_utf8_decode(&next, end - s);

        /* ngx_utf8_decode takes any byte past 0x7f for a continuation
         * and lets surrogates through: PostgreSQL takes neither, and
         * would refuse the whole batch */
        for (q = s + 1; c <= 0x10ffff && q < next; q++) {
            if ((*q & 0xc0) != 0x80) {
                c = 0xffffffff;
            }
        }

        if (c >= 0xd800 && c <= 0xdfff) {
            c = 0xffffffff;
        }

        if (c > 0x10ffff || c < 0x20 || c == 0x7f) {
            /* a byte that does not start a character, or a control */
            next = s + 1;
            c = '?';
        }

        if ((size_t) (p - out->data) + (next - s)
            > NGX_KANBAN_SHARE_HEADER_MAX)
        {
            break;
        }

        if (c == '?') {
            *p++ = '?';

        } else {
            p = ngx_cpymem(p, s, next - s);
        }

        s = next;
    }

    out->len = p - out->data;
}


/* The client's address, anonymised, as an inet in PostgreSQL's binary
 * format (family, bits, is_cidr, length, bytes): IPv4 /24, IPv6 /48
 * (IPv4-mapped ones as IPv4); its length, 0 for none (a unix socket). */

size_t
ngx_kanban_share_address(ngx_http_request_t *r, u_char *out)
{
    u_char               *a;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        a = (u_char *) &sin->sin_addr.s_addr;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
        a = sin6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            a += 12;
            break;
        }

        out[0] = NGX_KANBAN_PG_AF_INET6;
        out[1] = 128;
        out[2] = 0;
        out[3] = 16;
        ngx_memcpy(out + 4, a, 6);
        ngx_memzero(out + 10, 10);
        return 20;
#endif

    default:
        return 0;
    }

    out[0] = NGX_KANBAN_PG_AF_INET;
    out[1] = 32;
    out[2] = 0;
    out[3] = 4;
    ngx_memcpy(out + 4, a, 3);
    out[7] = 0;
    return 8;
}


/* A crawler, by its User-Agent (kanban_share_bots). */

ngx_uint_t
ngx_kanban_share_is_bot(ngx_http_request_t *r)
{
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_share_module);

    if (smcf->bots == NULL || r->headers_in.user_agent == NULL) {
        return 0;
    }

    return ngx_regex_exec(smcf->bots, &r->headers_in.user_agent->value,
                          NULL, 0)
           >= 0;
}


/* kanban_share_bots file: crawler signatures, one a line ("#" starts a
 * comment), each matched as a literal part of the User-Agent, without
 * case; they become one regular expression. */

char *
ngx_kanban_share_bots(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_share_main_conf_t  *smcf = conf;

    u_char               *p, *line, *end, *next, errstr[NGX_MAX_CONF_ERRSTR];
    size_t                size;
    ngx_str_t            *value, file, data;
    ngx_uint_t            count;
    ngx_regex_compile_t   rc;

    if (smcf->bots) {
        return "is duplicate";
    }

    value = cf->args->elts;
    file = value[1];

    if (ngx_kanban_conf_read_file(cf, &file, 1024 * 1024, cf->temp_pool,
                                  &data)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    size = data.len;
    line = data.data;

    /* every byte may need a backslash, and a "|" between lines */
    p = ngx_pnalloc(cf->pool, 2 * size + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));
    rc.pattern.data = p;
    rc.options = NGX_REGEX_CASELESS;
    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    end = line + size;
    count = 0;

    for ( /* void */ ; line < end; line = next + 1) {
        next = ngx_strlchr(line, end, '\n');
        if (next == NULL) {
            next = end;
        }

        while (next > line && (next[-1] == '\r' || next[-1] == ' ')) {
            next--;
        }

        if (next == line || *line == '#') {
            next = ngx_strlchr(line, end, '\n');
            if (next == NULL) {
                break;
            }
            continue;
        }

        if (count++) {
            *p++ = '|';
        }

        for ( /* void */ ; line < next; line++) {
            if (ngx_strchr("\\^$.|?*+()[]{}", *line)) {
                *p++ = '\\';
            }
            *p++ = *line;
        }

        next = ngx_strlchr(next, end, '\n');
        if (next == NULL) {
            break;
        }
    }

    if (count == 0) {
        return "has no signatures in the file";
    }

    rc.pattern.len = p - rc.pattern.data;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
        return NGX_CONF_ERROR;
    }

    smcf->bots = rc.regex;

    return NGX_CONF_OK;
}
