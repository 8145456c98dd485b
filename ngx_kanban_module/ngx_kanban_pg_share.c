
/*
 * Shared reads: a query of a shared statement (ngx_kanban_pg_shared_stmt)
 * that would wait for a connection joins an identical one already waiting
 * (same database, statement and parameters), and is answered with a copy
 * of that one's result instead of a round trip of its own. Fifty people
 * opening the same task at once cost PostgreSQL one statement. A read
 * identical to one already sent on a connection waits for that one's
 * answer even beside idle connections (ngx_kanban_pg_asked), so that the
 * reads arriving meanwhile gather behind it: under load one statement a
 * worker is in flight for a hot read, not one a request.
 *
 * Never stale: only a query still waiting, not yet sent, is joined. Its
 * statement starts (and takes its snapshot) after every query that joined
 * it arrived, so each of them sees every write committed before it
 * arrived, as if it had run alone. A query already sent is never joined.
 *
 * This file looks at queries only; the pool calls it and decides the rest
 * (ngx_kanban_pg.c), so the two never call each other back.
 */

/* SQL: none of its own */
#include "ngx_kanban_pg_share.h"


/* at most this many waiting queries are compared with a new one */
#define NGX_KANBAN_PG_SHARE_SCAN  64


static void ngx_kanban_pg_share_clear(void *data);


ngx_uint_t
ngx_kanban_pg_share_may(ngx_kanban_pg_query_t *q)
{
    return q->stmt && q->stmt->shared && q->request && !q->alone
           && !q->binary;
}


ngx_uint_t
ngx_kanban_pg_share_join(ngx_queue_t *waiters, ngx_kanban_pg_query_t *q)
{
    ngx_uint_t              n;
    ngx_queue_t            *qu;
    ngx_kanban_pg_query_t  *leader;

    if (!ngx_kanban_pg_share_may(q)) {
        return 0;
    }

    n = 0;

    for (qu = ngx_queue_head(waiters);
         qu != ngx_queue_sentinel(waiters) && n < NGX_KANBAN_PG_SHARE_SCAN;
         qu = ngx_queue_next(qu), n++)
    {
        leader = ngx_queue_data(qu, ngx_kanban_pg_query_t, waiting);

        if (ngx_kanban_pg_share_same(leader, q)) {
            q->leader = leader;
            ngx_queue_insert_tail(&leader->followers, &q->follow);
            return 1;
        }
    }

    return 0;
}


ngx_uint_t
ngx_kanban_pg_share_same(ngx_kanban_pg_query_t *a, ngx_kanban_pg_query_t *b)
{
    ngx_uint_t  i;

    if (a->stmt != b->stmt || a->request == NULL || a->alone || a->binary
        || a->nparams != b->nparams || a->binary_result != b->binary_result)
    {
        return 0;
    }

    for (i = 0; i < a->nparams; i++) {

        if (a->values[i] == NULL || b->values[i] == NULL) {
            if (a->values[i] != b->values[i]) {
                return 0;
            }

            continue;
        }

        if (ngx_strcmp(a->values[i], b->values[i]) != 0) {
            return 0;
        }
    }

    return 1;
}


ngx_kanban_pg_query_t *
ngx_kanban_pg_share_next(ngx_kanban_pg_query_t *q)
{
    ngx_queue_t            *qu;
    ngx_kanban_pg_query_t  *f;

    if (ngx_queue_empty(&q->followers)) {
        return NULL;
    }

    qu = ngx_queue_head(&q->followers);
    f = ngx_queue_data(qu, ngx_kanban_pg_query_t, follow);

    ngx_queue_remove(&f->follow);
    f->leader = NULL;

    return f;
}


ngx_int_t
ngx_kanban_pg_share_copy(ngx_kanban_pg_query_t *leader,
    ngx_kanban_pg_query_t *f)
{
    PGresult            *res;
    ngx_pool_cleanup_t  *cln;

    res = PQcopyResult(leader->result, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    cln = res ? ngx_pool_cleanup_add(f->pool, 0) : NULL;

    if (cln == NULL) {
        if (res) {
            PQclear(res);
        }

        return NGX_ERROR;
    }

    /* the follower's request owns the copy to its end */
    cln->handler = ngx_kanban_pg_share_clear;
    cln->data = res;

    f->result = res;
    f->error = NGX_KANBAN_PG_OK;

    ngx_kanban_metrics_pg_shared_read();

    ngx_post_event(&f->fail, &ngx_posted_events);

    return NGX_OK;
}


static void
ngx_kanban_pg_share_clear(void *data)
{
    PQclear(data);
}


ngx_kanban_pg_query_t *
ngx_kanban_pg_share_leave(ngx_kanban_pg_query_t *q)
{
    ngx_kanban_pg_query_t  *f, *next;

    if (q->leader) {
        ngx_queue_remove(&q->follow);
        q->leader = NULL;
        return NULL;
    }

    f = ngx_kanban_pg_share_next(q);

    if (f == NULL) {
        return NULL;
    }

    while ((next = ngx_kanban_pg_share_next(q)) != NULL) {
        next->leader = f;
        ngx_queue_insert_tail(&f->followers, &next->follow);
    }

    return f;
}
