
/*
 * Request bodies: yajl's event parser builds a small tree in the request
 * pool. yajl checks UTF-8 and rejects trailing data; the depth limit is
 * ours, so that a hostile body cannot make a deep tree.
 */

#include "ngx_kanban_json.h"
#include <yajl/yajl_parse.h>


typedef struct {
    ngx_pool_t                *pool;
    ngx_kanban_json_t         *root;
    ngx_kanban_json_t         *current;    /* the open object or array */
    ngx_str_t                  key;        /* the pending member name */
    ngx_uint_t                 depth;
    char                      *error;
} ngx_kanban_json_parser_t;


static ngx_kanban_json_t *ngx_kanban_json_add(ngx_kanban_json_parser_t *p,
    ngx_uint_t type);
static int ngx_kanban_json_on_null(void *ctx);
static int ngx_kanban_json_on_bool(void *ctx, int b);
static int ngx_kanban_json_on_number(void *ctx, const char *s, size_t len);
static int ngx_kanban_json_on_string(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_kanban_json_on_start_map(void *ctx);
static int ngx_kanban_json_on_key(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_kanban_json_on_end(void *ctx);
static int ngx_kanban_json_on_start_array(void *ctx);


static yajl_callbacks  ngx_kanban_json_callbacks = {
    ngx_kanban_json_on_null,
    ngx_kanban_json_on_bool,
    NULL,
    NULL,
    ngx_kanban_json_on_number,
    ngx_kanban_json_on_string,
    ngx_kanban_json_on_start_map,
    ngx_kanban_json_on_key,
    ngx_kanban_json_on_end,
    ngx_kanban_json_on_start_array,
    ngx_kanban_json_on_end
};


ngx_int_t
ngx_kanban_json_parse(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_kanban_json_t **root, char **error)
{
    yajl_handle               h;
    yajl_status               st;
    ngx_kanban_json_parser_t  p;

    ngx_memzero(&p, sizeof(ngx_kanban_json_parser_t));
    p.pool = pool;

    h = yajl_alloc(&ngx_kanban_json_callbacks, NULL, &p);
    if (h == NULL) {
        return NGX_ERROR;
    }

    st = yajl_parse(h, data, len);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    if (st != yajl_status_ok || p.root == NULL) {
        *error = p.error ? p.error
                         : "The body is not valid JSON in UTF-8.";
        return NGX_DECLINED;
    }

    *root = p.root;

    return NGX_OK;
}


ngx_kanban_json_t *
ngx_kanban_json_get(ngx_kanban_json_t *obj, char *key)
{
    size_t              n;
    ngx_kanban_json_t  *m;

    if (obj == NULL || obj->type != NGX_KANBAN_JSON_OBJECT) {
        return NULL;
    }

    n = ngx_strlen(key);

    for (m = obj->first; m; m = m->next) {
        if (m->key.len == n && ngx_strncmp(m->key.data, key, n) == 0) {
            return m;
        }
    }

    return NULL;
}


ngx_str_t *
ngx_kanban_json_string(ngx_kanban_json_t *obj, char *key)
{
    ngx_kanban_json_t  *m;

    m = ngx_kanban_json_get(obj, key);

    if (m == NULL || m->type != NGX_KANBAN_JSON_STRING) {
        return NULL;
    }

    return &m->value;
}


static ngx_kanban_json_t *
ngx_kanban_json_add(ngx_kanban_json_parser_t *p, ngx_uint_t type)
{
    ngx_kanban_json_t  *v, *parent;

    v = ngx_pcalloc(p->pool, sizeof(ngx_kanban_json_t));
    if (v == NULL) {
        p->error = "Out of memory.";
        return NULL;
    }

    v->type = type;
    parent = p->current;

    if (parent == NULL) {
        if (p->root) {
            return NULL;             /* yajl forbids it; never trust it */
        }
        p->root = v;
        return v;
    }

    if (parent->type == NGX_KANBAN_JSON_OBJECT) {
        v->key = p->key;
        ngx_str_null(&p->key);
    }

    v->parent = parent;

    if (parent->last) {
        parent->last->next = v;

    } else {
        parent->first = v;
    }

    parent->last = v;

    return v;
}


static int
ngx_kanban_json_on_null(void *ctx)
{
    return ngx_kanban_json_add(ctx, NGX_KANBAN_JSON_NULL) != NULL;
}


static int
ngx_kanban_json_on_bool(void *ctx, int b)
{
    ngx_kanban_json_t  *v;

    v = ngx_kanban_json_add(ctx, NGX_KANBAN_JSON_BOOL);
    if (v == NULL) {
        return 0;
    }

    v->boolean = b ? 1 : 0;

    return 1;
}


static int
ngx_kanban_json_on_number(void *ctx, const char *s, size_t len)
{
    ngx_kanban_json_t         *v;
    ngx_kanban_json_parser_t  *p = ctx;

    v = ngx_kanban_json_add(p, NGX_KANBAN_JSON_NUMBER);
    if (v == NULL) {
        return 0;
    }

    v->value.data = ngx_pnalloc(p->pool, len);
    if (v->value.data == NULL) {
        return 0;
    }

    ngx_memcpy(v->value.data, s, len);
    v->value.len = len;

    v->integer = (ngx_strlchr((u_char *) s, (u_char *) s + len, '.') == NULL
                  && ngx_strlchr((u_char *) s, (u_char *) s + len, 'e') == NULL
                  && ngx_strlchr((u_char *) s, (u_char *) s + len, 'E') == NULL);

    return 1;
}


static int
ngx_kanban_json_on_string(void *ctx, const unsigned char *s, size_t len)
{
    ngx_kanban_json_t         *v;
    ngx_kanban_json_parser_t  *p = ctx;

    if (!ngx_kanban_utf8_valid(s, len)) {
        return 0;
    }

    v = ngx_kanban_json_add(p, NGX_KANBAN_JSON_STRING);
    if (v == NULL) {
        return 0;
    }

    v->value.data = ngx_pnalloc(p->pool, len + 1);
    if (v->value.data == NULL) {
        return 0;
    }

    /* NUL-terminated: it may travel to libpq as it is */
    ngx_memcpy(v->value.data, s, len);
    v->value.data[len] = '\0';
    v->value.len = len;

    return 1;
}


static int
ngx_kanban_json_open(ngx_kanban_json_parser_t *p, ngx_uint_t type)
{
    ngx_kanban_json_t  *v;

    if (++p->depth > NGX_KANBAN_JSON_MAX_DEPTH) {
        p->error = "The body nests deeper than 32 levels.";
        return 0;
    }

    v = ngx_kanban_json_add(p, type);
    if (v == NULL) {
        return 0;
    }

    p->current = v;

    return 1;
}


static int
ngx_kanban_json_on_start_map(void *ctx)
{
    return ngx_kanban_json_open(ctx, NGX_KANBAN_JSON_OBJECT);
}


static int
ngx_kanban_json_on_start_array(void *ctx)
{
    return ngx_kanban_json_open(ctx, NGX_KANBAN_JSON_ARRAY);
}


static int
ngx_kanban_json_on_key(void *ctx, const unsigned char *s, size_t len)
{
    ngx_kanban_json_t         *m;
    ngx_kanban_json_parser_t  *p = ctx;

    if (!ngx_kanban_utf8_valid(s, len)) {
        return 0;
    }

    for (m = p->current->first; m; m = m->next) {
        if (m->key.len == len && ngx_strncmp(m->key.data, s, len) == 0) {
            p->error = "The body repeats a member name.";
            return 0;
        }
    }

    p->key.data = ngx_pnalloc(p->pool, len);
    if (p->key.data == NULL) {
        return 0;
    }

    ngx_memcpy(p->key.data, s, len);
    p->key.len = len;

    return 1;
}


static int
ngx_kanban_json_on_end(void *ctx)
{
    ngx_kanban_json_parser_t  *p = ctx;

    p->depth--;
    p->current = p->current->parent;

    return 1;
}


/* UTF-8 as RFC 3629 has it: yajl lets overlong forms, surrogates and code
 * points past U+10FFFF through, and PostgreSQL would refuse them later. */

ngx_uint_t
ngx_kanban_utf8_valid(const u_char *p, size_t len)
{
    u_char        c;
    uint32_t      cp, min;
    const u_char *end;
    ngx_uint_t    n, i;

    end = p + len;

    while (p < end) {
        c = *p++;

        if (c < 0x80) {
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1; cp = c & 0x1f; min = 0x80;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2; cp = c & 0x0f; min = 0x800;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3; cp = c & 0x07; min = 0x10000;

        } else {
            return 0;
        }

        if ((size_t) (end - p) < n) {
            return 0;
        }

        for (i = 0; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (p[i] & 0x3f);
        }

        p += n;

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}
