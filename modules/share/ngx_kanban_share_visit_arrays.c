
/*
 * A batch of share-link visits in PostgreSQL's binary array format: each
 * field of a group's visits is kept as the elements of an array while the
 * batch fills, so that sealing a batch is copying bytes, and PostgreSQL
 * stores a group as one row of arrays
 * (sql/tenant/099_share_visit_batches.sql) without parsing a visit.
 *
 * A batch PostgreSQL refuses for its data is tried again one visit at a
 * time (ngx_kanban_share_visit_flush.c): the visit to store alone is read
 * back from the same arrays, a field at a time, and sent as a batch of
 * one.
 */

/* SQL: none of its own */
#include "ngx_kanban_share_visit_batch.h"


static u_char *ngx_kanban_share_header(u_char *p, ngx_uint_t type,
    ngx_uint_t n);


static ngx_uint_t  ngx_kanban_share_types[NGX_KANBAN_SHARE_COLUMNS] = {
    NGX_KANBAN_PG_TIMESTAMPTZ, NGX_KANBAN_PG_TEXT, NGX_KANBAN_PG_TEXT,
    NGX_KANBAN_PG_BOOL, NGX_KANBAN_PG_INET, NGX_KANBAN_PG_INT2,
    NGX_KANBAN_PG_TEXT, NGX_KANBAN_PG_TEXT, NGX_KANBAN_PG_BOOL
};


/* Room for size more bytes in a column: it doubles as it grows. */

u_char *
ngx_kanban_share_column_reserve(ngx_pool_t *pool,
    ngx_kanban_share_column_t *c, size_t size)
{
    u_char  *p;
    size_t   used, want;

    if ((size_t) (c->end - c->pos) >= size) {
        return c->pos;
    }

    used = c->start ? (size_t) (c->pos - c->start)
                    : NGX_KANBAN_SHARE_ARRAY_HEADER;
    want = ngx_max(2 * (size_t) (c->end - c->start), used + size);
    want = ngx_max(want, 256);

    p = ngx_pnalloc(pool, want);
    if (p == NULL) {
        return NULL;
    }

    if (c->start) {
        ngx_memcpy(p, c->start, used);
        ngx_pfree(pool, c->start);     /* a large one's, else a no-op */
    }

    c->start = p;
    c->pos = p + used;
    c->end = p + want;

    return c->pos;
}


/* a text element; empty is NULL */

void
ngx_kanban_share_text(ngx_kanban_share_column_t *c, ngx_str_t *s)
{
    if (s->len == 0) {
        c->pos = ngx_kanban_share_put32(c->pos, (uint32_t) -1);
        return;
    }

    c->pos = ngx_kanban_share_put32(c->pos, s->len);
    c->pos = ngx_cpymem(c->pos, s->data, s->len);
}


/* a link's id, "8-4-4-4-12" hex digits, as its 16 bytes */

ngx_int_t
ngx_kanban_share_uuid(ngx_str_t *id, u_char *out)
{
    u_char      *p, *end;
    ngx_int_t    hi, lo;
    ngx_uint_t   n;

    n = 0;
    p = id->data;
    end = id->data + id->len;

    while (p < end && n < 16) {
        if (*p == '-') {
            p++;
            continue;
        }

        if (end - p < 2) {
            return NGX_ERROR;
        }

        hi = ngx_hextoi(p, 1);
        lo = ngx_hextoi(p + 1, 1);

        if (hi == NGX_ERROR || lo == NGX_ERROR) {
            return NGX_ERROR;
        }

        out[n++] = (u_char) (hi << 4 | lo);
        p += 2;
    }

    return (n == 16 && p == end) ? NGX_OK : NGX_ERROR;
}


static u_char *
ngx_kanban_share_header(u_char *p, ngx_uint_t type, ngx_uint_t n)
{
    p = ngx_kanban_share_put32(p, 1);                   /* dimensions */
    p = ngx_kanban_share_put32(p, 0);                   /* flags */
    p = ngx_kanban_share_put32(p, type);
    p = ngx_kanban_share_put32(p, n);
    return ngx_kanban_share_put32(p, 1);                /* lower bound */
}


/* The batch as share_visits_add's parameters: the groups' figures, then
 * each column of all groups' visits, one group after the other. */

ngx_int_t
ngx_kanban_share_seal(ngx_kanban_share_batch_t *b)
{
    u_char                     *p[NGX_KANBAN_SHARE_PARAMS];
    size_t                      size;
    ngx_uint_t                  i, j, m;
    ngx_kanban_share_group_t  **groups, *g;
    ngx_kanban_share_column_t  *c;

    groups = b->groups.elts;

    /* a group whose first visit failed for memory has none */
    for (i = 0, m = 0; i < b->groups.nelts; i++) {
        if (groups[i]->count) {
            groups[m++] = groups[i];
        }
    }

    b->groups.nelts = m;

    for (i = 0; i < NGX_KANBAN_SHARE_PARAMS; i++) {
        if (i < NGX_KANBAN_SHARE_GROUP_PARAMS) {
            size = NGX_KANBAN_SHARE_ARRAY_HEADER + m * (4 + 16);

        } else {
            size = NGX_KANBAN_SHARE_ARRAY_HEADER;

            for (j = 0; j < m; j++) {
                c = &groups[j]->columns[i - NGX_KANBAN_SHARE_GROUP_PARAMS];
                size += c->pos - c->start - NGX_KANBAN_SHARE_ARRAY_HEADER;
            }
        }

        p[i] = ngx_pnalloc(b->pool, size);
        if (p[i] == NULL) {
            return NGX_ERROR;
        }

        b->params[i].data = p[i];
    }

    p[0] = ngx_kanban_share_header(p[0], NGX_KANBAN_PG_UUID, m);
    p[1] = ngx_kanban_share_header(p[1], NGX_KANBAN_PG_INT4, m);
    p[2] = ngx_kanban_share_header(p[2], NGX_KANBAN_PG_TIMESTAMPTZ, m);
    p[3] = ngx_kanban_share_header(p[3], NGX_KANBAN_PG_TIMESTAMPTZ, m);
    p[4] = ngx_kanban_share_header(p[4], NGX_KANBAN_PG_INT4, m);
    p[5] = ngx_kanban_share_header(p[5], NGX_KANBAN_PG_INT4, m);

    for (i = NGX_KANBAN_SHARE_GROUP_PARAMS; i < NGX_KANBAN_SHARE_PARAMS; i++)
    {
        p[i] = ngx_kanban_share_header(p[i],
                   ngx_kanban_share_types[i - NGX_KANBAN_SHARE_GROUP_PARAMS],
                   b->count);
    }

    for (j = 0; j < m; j++) {
        g = groups[j];

        p[0] = ngx_kanban_share_put32(p[0], 16);
        p[0] = ngx_cpymem(p[0], g->link, 16);
        p[1] = ngx_kanban_share_put32(p[1], 4);
        p[1] = ngx_kanban_share_put32(p[1], g->count);
        p[2] = ngx_kanban_share_put32(p[2], 8);
        p[2] = ngx_kanban_share_put64(p[2], g->first);
        p[3] = ngx_kanban_share_put32(p[3], 8);
        p[3] = ngx_kanban_share_put64(p[3], g->last);
        p[4] = ngx_kanban_share_put32(p[4], 4);
        p[4] = ngx_kanban_share_put32(p[4], g->bots);
        p[5] = ngx_kanban_share_put32(p[5], 4);
        p[5] = ngx_kanban_share_put32(p[5], g->uncounted);

        for (i = NGX_KANBAN_SHARE_GROUP_PARAMS; i < NGX_KANBAN_SHARE_PARAMS;
             i++)
        {
            c = &g->columns[i - NGX_KANBAN_SHARE_GROUP_PARAMS];
            p[i] = ngx_cpymem(p[i], c->start + NGX_KANBAN_SHARE_ARRAY_HEADER,
                              c->pos - c->start
                              - NGX_KANBAN_SHARE_ARRAY_HEADER);
        }
    }

    for (i = 0; i < NGX_KANBAN_SHARE_PARAMS; i++) {
        b->params[i].len = p[i] - b->params[i].data;
    }

    return NGX_OK;
}


/* The next visit to store alone (b->group, b->at) as a batch of one. */

ngx_int_t
ngx_kanban_share_one(ngx_kanban_share_batch_t *b, ngx_str_t *params)
{
    u_char                    *p, *at;
    size_t                     len, size;
    ngx_uint_t                 i, bot, counted;
    ngx_kanban_share_group_t  *g;

    g = ((ngx_kanban_share_group_t **) b->groups.elts)[b->group];

    size = 6 * (NGX_KANBAN_SHARE_ARRAY_HEADER + 4 + 16);

    for (i = 0; i < NGX_KANBAN_SHARE_SENT; i++) {
        size += NGX_KANBAN_SHARE_ARRAY_HEADER
                + 4 + ngx_max((int32_t) ngx_kanban_share_get32(b->at[i]), 0);
    }

    p = ngx_pnalloc(b->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* a field's bytes: its length, then what it is */
    at = b->at[NGX_KANBAN_SHARE_BOT];
    bot = at[4];
    at = b->at[NGX_KANBAN_SHARE_COUNTED];
    counted = at[4];

    params[0].data = p;
    p = ngx_kanban_share_header(p, NGX_KANBAN_PG_UUID, 1);
    p = ngx_kanban_share_put32(p, 16);
    p = ngx_cpymem(p, g->link, 16);

    params[1].data = p;
    p = ngx_kanban_share_header(p, NGX_KANBAN_PG_INT4, 1);
    p = ngx_kanban_share_put32(p, 4);
    p = ngx_kanban_share_put32(p, 1);

    for (i = 2; i < 4; i++) {
        params[i].data = p;
        p = ngx_kanban_share_header(p, NGX_KANBAN_PG_TIMESTAMPTZ, 1);
        p = ngx_cpymem(p, b->at[NGX_KANBAN_SHARE_TIME], 4 + 8);
    }

    params[4].data = p;
    p = ngx_kanban_share_header(p, NGX_KANBAN_PG_INT4, 1);
    p = ngx_kanban_share_put32(p, 4);
    p = ngx_kanban_share_put32(p, bot);

    params[5].data = p;
    p = ngx_kanban_share_header(p, NGX_KANBAN_PG_INT4, 1);
    p = ngx_kanban_share_put32(p, 4);
    p = ngx_kanban_share_put32(p, !bot && !counted);

    for (i = 0; i < NGX_KANBAN_SHARE_SENT; i++) {
        len = 4 + ngx_max((int32_t) ngx_kanban_share_get32(b->at[i]), 0);

        params[NGX_KANBAN_SHARE_GROUP_PARAMS + i].data = p;
        p = ngx_kanban_share_header(p, ngx_kanban_share_types[i], 1);
        p = ngx_cpymem(p, b->at[i], len);
    }

    for (i = 0; i < NGX_KANBAN_SHARE_PARAMS; i++) {
        params[i].len = ((i + 1 < NGX_KANBAN_SHARE_PARAMS)
                         ? params[i + 1].data : p)
                        - params[i].data;
    }

    return NGX_OK;
}


/* past the visit just stored alone (or lost) */

void
ngx_kanban_share_skip(ngx_kanban_share_batch_t *b)
{
    ngx_uint_t                 i;
    ngx_kanban_share_group_t  *g;

    g = ((ngx_kanban_share_group_t **) b->groups.elts)[b->group];

    for (i = 0; i < NGX_KANBAN_SHARE_COLUMNS; i++) {
        b->at[i] += 4 + ngx_max((int32_t) ngx_kanban_share_get32(b->at[i]),
                                0);
    }

    if (b->at[0] >= g->columns[0].pos) {
        ngx_kanban_share_rewind(b, b->group + 1);
    }
}


/* to the first visit of the groups from the one numbered from (a group
 * whose first visit failed for memory has none) */

void
ngx_kanban_share_rewind(ngx_kanban_share_batch_t *b, ngx_uint_t from)
{
    ngx_uint_t                  i;
    ngx_kanban_share_group_t  **groups;

    groups = b->groups.elts;

    for (b->group = from; b->group < b->groups.nelts; b->group++) {
        if (groups[b->group]->count == 0) {
            continue;
        }

        for (i = 0; i < NGX_KANBAN_SHARE_COLUMNS; i++) {
            b->at[i] = groups[b->group]->columns[i].start
                       + NGX_KANBAN_SHARE_ARRAY_HEADER;
        }

        return;
    }
}
