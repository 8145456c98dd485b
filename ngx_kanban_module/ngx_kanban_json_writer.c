
/*
 * A JSON writer for the few bodies the module builds itself (problems,
 * health, sign-up); reads come ready-made from PostgreSQL.
 */

#include "ngx_kanban_json.h"


static u_char *ngx_kanban_jw_reserve(ngx_kanban_jw_t *jw, size_t n);
static void ngx_kanban_jw_separate(ngx_kanban_jw_t *jw);


ngx_int_t
ngx_kanban_jw_init(ngx_kanban_jw_t *jw, ngx_pool_t *pool, size_t size)
{
    ngx_memzero(jw, sizeof(ngx_kanban_jw_t));

    jw->pool = pool;
    jw->start = ngx_pnalloc(pool, size);
    if (jw->start == NULL) {
        return NGX_ERROR;
    }

    jw->pos = jw->start;
    jw->end = jw->start + size;

    return NGX_OK;
}


void
ngx_kanban_jw_open(ngx_kanban_jw_t *jw, u_char c)
{
    u_char  *p;

    ngx_kanban_jw_separate(jw);

    p = ngx_kanban_jw_reserve(jw, 1);
    if (p == NULL) {
        return;
    }

    *p = c;
    jw->pos++;

    if (++jw->depth >= 64) {
        jw->failed = 1;
        return;
    }

    jw->commas &= ~((uint64_t) 1 << jw->depth);
}


void
ngx_kanban_jw_close(ngx_kanban_jw_t *jw, u_char c)
{
    u_char  *p;

    p = ngx_kanban_jw_reserve(jw, 1);
    if (p == NULL) {
        return;
    }

    *p = c;
    jw->pos++;

    if (jw->depth) {
        jw->depth--;
    }
}


void
ngx_kanban_jw_key(ngx_kanban_jw_t *jw, char *key)
{
    ngx_kanban_jw_cstring(jw, key);

    if (ngx_kanban_jw_reserve(jw, 1) == NULL) {
        return;
    }

    *jw->pos++ = ':';
    jw->after_key = 1;
}


void
ngx_kanban_jw_string(ngx_kanban_jw_t *jw, ngx_str_t *s)
{
    if (s == NULL || s->data == NULL) {
        ngx_str_t  null = ngx_string("null");

        ngx_kanban_jw_raw(jw, &null);
        return;
    }

    ngx_kanban_jw_separate(jw);

    if (ngx_kanban_jw_reserve(jw, 1) == NULL) {
        return;
    }

    *jw->pos++ = '"';

    ngx_kanban_json_escape_into(jw, s->data, s->len);

    if (ngx_kanban_jw_reserve(jw, 1) == NULL) {
        return;
    }

    *jw->pos++ = '"';
}


void
ngx_kanban_jw_cstring(ngx_kanban_jw_t *jw, char *s)
{
    ngx_str_t  str;

    str.data = (u_char *) s;
    str.len = s ? ngx_strlen(s) : 0;

    ngx_kanban_jw_string(jw, &str);
}


void
ngx_kanban_jw_int(ngx_kanban_jw_t *jw, ngx_int_t n)
{
    u_char  *p;

    ngx_kanban_jw_separate(jw);

    p = ngx_kanban_jw_reserve(jw, NGX_INT_T_LEN);
    if (p == NULL) {
        return;
    }

    jw->pos = ngx_sprintf(p, "%i", n);
}


void
ngx_kanban_jw_raw(ngx_kanban_jw_t *jw, ngx_str_t *s)
{
    u_char  *p;

    ngx_kanban_jw_separate(jw);

    p = ngx_kanban_jw_reserve(jw, s->len);
    if (p == NULL) {
        return;
    }

    jw->pos = ngx_cpymem(p, s->data, s->len);
}


ngx_int_t
ngx_kanban_jw_result(ngx_kanban_jw_t *jw, ngx_str_t *out)
{
    if (jw->failed) {
        return NGX_ERROR;
    }

    out->data = jw->start;
    out->len = jw->pos - jw->start;

    return NGX_OK;
}


/* Control characters, quotes and backslashes escaped; other bytes as they
 * are (the input was valid UTF-8 or came from PostgreSQL). */

void
ngx_kanban_json_escape_into(ngx_kanban_jw_t *jw, u_char *s, size_t n)
{
    u_char  *p, *end, *chunk, c;

    static u_char  hex[] = "0123456789abcdef";

    end = s + n;

    /* room for a chunk's worst case at once: a reserve a byte cost more
     * than the byte (a share visit's record is escaped on the redirect);
     * a chunk at a time, so that a long string does not ask six times
     * its size */
    while (s < end) {
        chunk = s + ngx_min((size_t) (end - s), 4096);

        p = ngx_kanban_jw_reserve(jw, 6 * (chunk - s));
        if (p == NULL) {
            return;
        }

        for ( /* void */ ; s < chunk; s++) {
            c = *s;

            if (c >= 0x20 && c != '"' && c != '\\') {
                *p++ = c;
                continue;
            }

            switch (c) {
            case '"':  *p++ = '\\'; *p++ = '"'; break;
            case '\\': *p++ = '\\'; *p++ = '\\'; break;
            case '\n': *p++ = '\\'; *p++ = 'n'; break;
            case '\r': *p++ = '\\'; *p++ = 'r'; break;
            case '\t': *p++ = '\\'; *p++ = 't'; break;
            default:
                p = ngx_cpymem(p, "\\u00", 4);
                *p++ = hex[c >> 4];
                *p++ = hex[c & 0xf];
            }
        }

        jw->pos = p;
    }
}


static void
ngx_kanban_jw_separate(ngx_kanban_jw_t *jw)
{
    uint64_t  bit;

    if (jw->after_key) {
        jw->after_key = 0;
        return;
    }

    bit = (uint64_t) 1 << jw->depth;

    if (jw->commas & bit) {
        if (ngx_kanban_jw_reserve(jw, 1) == NULL) {
            return;
        }
        *jw->pos++ = ',';
    }

    jw->commas |= bit;
}


static u_char *
ngx_kanban_jw_reserve(ngx_kanban_jw_t *jw, size_t n)
{
    u_char  *p;
    size_t   size, used;

    if (jw->failed) {
        return NULL;
    }

    if ((size_t) (jw->end - jw->pos) >= n) {
        return jw->pos;
    }

    used = jw->pos - jw->start;
    size = 2 * (jw->end - jw->start) + n;

    p = ngx_pnalloc(jw->pool, size);
    if (p == NULL) {
        jw->failed = 1;
        return NULL;
    }

    ngx_memcpy(p, jw->start, used);

    jw->start = p;
    jw->pos = p + used;
    jw->end = p + size;

    return jw->pos;
}
