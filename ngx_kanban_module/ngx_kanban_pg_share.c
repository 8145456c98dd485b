
/*
 * Shared reads: a query of a shared statement (ngx_kanban_pg_shared_stmt)
 * that would wait for a connection joins an identical one already waiting
 * (same database, statement and parameters), and is answered with a copy
 * of that one's result instead of a round trip of its own. Fifty people
 * opening the same task at once cost PostgreSQL one statement.
 *
 * Never stale: only a query still waiting, not yet sent, is joined. Its
 * statement starts (and takes its snapshot) after every query that joined
 * it arrived, so each of them sees every write committed before it
 * arrived, as if it had run alone. A query already sent is never joined.
 */

/* SQL: none of its own */
#include "ngx_kanban_pg_pool.h"


/* at most this many waiting queries are compared with a new one */
#define NGX_KANBAN_PG_SHARE_SCAN  64


static ngx_uint_t ngx_kanban_pg_share_same(ngx_kanban_pg_query_t *a,
    ngx_kanban_pg_query_t *b);
static void ngx_kanban_pg_share_copy(ngx_kanban_pg_query_t *leader,
    ngx_kanban_pg_query_t *f);


/* 1: q follows a waiting query of pool and waits for its answer. */

ngx_uint_t
ngx_kanban_pg_share_join(ngx_kanban_pg_pool_t *pool, ngx_kanban_pg_query_t *q)
{
    ngx_uint_t              n;
    ngx_queue_t            *qu;
    ngx_kanban_pg_query_t  *leader;

    if (q->stmt == NULL || !q->stmt->shared || q->request == NULL
        || q->alone || q->binary)
    {
        return 0;
    }

    n = 0;

    for (qu = ngx_queue_head(&pool->waiters);
         qu != ngx_queue_sentinel(&pool->waiters)
         && n < NGX_KANBAN_PG_SHARE_SCAN;
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


static ngx_uint_t
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


/* The leader's outcome, before its own handler runs: a copy of its rows
 * for each follower, from the event loop; the same unavailability; after
 * an SQL error each follower runs its statement alone (its own error). */

void
ngx_kanban_pg_share_answer(ngx_kanban_pg_query_t *q)
{
    ngx_queue_t            *qu;
    ngx_kanban_pg_query_t  *f;

    while (!ngx_queue_empty(&q->followers)) {
        qu = ngx_queue_head(&q->followers);
        f = ngx_queue_data(qu, ngx_kanban_pg_query_t, follow);

        ngx_queue_remove(&f->follow);
        f->leader = NULL;

        if (q->error == NGX_KANBAN_PG_OK && q->result != NULL) {
            ngx_kanban_pg_share_copy(q, f);
            continue;
        }

        if (q->error == NGX_KANBAN_PG_SQL) {
            f->alone = 1;
            ngx_kanban_pg_acquire(f);
            continue;
        }

        ngx_kanban_pg_fail(f, NGX_KANBAN_PG_UNAVAILABLE);
    }
}


static void
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

        ngx_kanban_pg_fail(f, NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    /* the follower's request owns the copy to its end */
    cln->handler = ngx_kanban_pg_clear;
    cln->data = res;

    f->result = res;
    f->error = NGX_KANBAN_PG_OK;

    ngx_kanban_metrics_pg_shared_read();

    ngx_post_event(&f->fail, &ngx_posted_events);
}


/* q's request goes away. A follower leaves its leader; a leader hands
 * its place (in the queue, or on its connection) and its followers to
 * the first of them. */

void
ngx_kanban_pg_share_leave(ngx_kanban_pg_query_t *q)
{
    ngx_queue_t            *qu;
    ngx_kanban_pg_query_t  *f, *next;

    if (q->leader) {
        ngx_queue_remove(&q->follow);
        q->leader = NULL;
        return;
    }

    if (ngx_queue_empty(&q->followers)) {
        return;
    }

    qu = ngx_queue_head(&q->followers);
    f = ngx_queue_data(qu, ngx_kanban_pg_query_t, follow);
    ngx_queue_remove(&f->follow);
    f->leader = NULL;

    while (!ngx_queue_empty(&q->followers)) {
        qu = ngx_queue_head(&q->followers);
        next = ngx_queue_data(qu, ngx_kanban_pg_query_t, follow);
        ngx_queue_remove(&next->follow);
        next->leader = f;
        ngx_queue_insert_tail(&f->followers, &next->follow);
    }

    if (q->queued) {
        /* its place in the queue; q leaves it right after */
        ngx_queue_insert_after(&q->waiting, &f->waiting);
        f->queued = 1;
        ngx_kanban_pg_worker->waiting++;
        ngx_add_timer(&f->timer, ngx_kanban_main_conf()->pg_queue_timeout);
        return;
    }

    if (q->conn) {
        /* its statement is on the way: the answer is f's now */
        f->conn = q->conn;
        q->conn->query = f;
        q->conn = NULL;
        return;
    }

    if (q->fail.posted) {
        ngx_kanban_pg_fail(f, NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    /* no other state holds followers; run alone rather than be lost */
    ngx_kanban_pg_acquire(f);
}
