
/*
 * The batches of share-link visits handed to PostgreSQL: each worker's
 * queues of them and its flush timer, the statement that stores a batch
 * and what is done with its answer.
 *
 * A batch goes every kanban_share_flush, or sooner when it grows past
 * NGX_KANBAN_SHARE_BATCH_MAX (ngx_kanban_share_visits.c). The flush timer
 * is not cancelable, so a worker that is told to quit (a reload, nginx -s
 * quit) stays until its last batch is stored. A batch PostgreSQL could not
 * take for a passing reason is kept and tried again (for a few minutes; a
 * quitting worker, a few seconds).
 *
 * A batch PostgreSQL refuses for its data (a value a column does not
 * take) is tried again one visit at a time, so that only the visit it
 * cannot take is lost: logged, and counted in /metrics
 * (kanban_share_visits_lost_total).
 */

/* SQL: sql/tenant/011_share_links.sql, 087_share_link_rules.sql,
 * 099_share_visit_batches.sql */
#include "ngx_kanban_share_visit_batch.h"
#include "ngx_kanban_redis.h"
#include "ngx_kanban_sweep.h"


/* how often a batch is tried before it is given up: for five minutes of
 * an outage; a worker that quits waits a few seconds only */
#define NGX_KANBAN_SHARE_ATTEMPTS     300
#define NGX_KANBAN_SHARE_ATTEMPTS_EXITING  5


static void ngx_kanban_share_flush_handler(ngx_event_t *ev);
static void ngx_kanban_share_flushed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_next(ngx_kanban_share_batch_t *b);
static void ngx_kanban_share_publish(ngx_kanban_share_batch_t *b,
    PGresult *res);
static ngx_uint_t ngx_kanban_share_transient(ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_visits_stmt =
    ngx_kanban_pg_stmt("share_visits_add",
    "SELECT activity, link, visits FROM share_visits_add($1::uuid[],"
    " $2::int4[], $3::timestamptz[], $4::timestamptz[], $5::int4[],"
    " $6::int4[], $7::timestamptz[], $8::text[], $9::text[], $10::bool[],"
    " $11::inet[], $12::int2[], $13::text[], $14::text[])");


ngx_queue_t         ngx_kanban_share_pending;     /* batches filling */
static ngx_queue_t  ngx_kanban_share_retry;       /* batches refused */
static ngx_event_t  ngx_kanban_share_timer;
ngx_uint_t          ngx_kanban_share_npending;    /* visits not stored */


ngx_int_t
ngx_kanban_share_visits_init_process(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_kanban_share_pending);
    ngx_queue_init(&ngx_kanban_share_retry);

    ngx_kanban_share_timer.handler = ngx_kanban_share_flush_handler;
    ngx_kanban_share_timer.log = cycle->log;
    ngx_kanban_share_timer.data = &ngx_kanban_share_timer;
    ngx_kanban_share_timer.cancelable = 0;

    return NGX_OK;
}


static void
ngx_kanban_share_flush_handler(ngx_event_t *ev)
{
    ngx_queue_t  *q;

    while (!ngx_queue_empty(&ngx_kanban_share_retry)) {
        q = ngx_queue_head(&ngx_kanban_share_retry);
        ngx_queue_remove(q);
        ngx_kanban_share_flush(ngx_queue_data(q, ngx_kanban_share_batch_t,
                                              queue));
    }

    while (!ngx_queue_empty(&ngx_kanban_share_pending)) {
        q = ngx_queue_head(&ngx_kanban_share_pending);
        ngx_queue_remove(q);
        ngx_kanban_share_flush(ngx_queue_data(q, ngx_kanban_share_batch_t,
                                              queue));
    }
}


/* The batch, off every queue, goes to PostgreSQL; its pool goes with the
 * answer. */

void
ngx_kanban_share_flush(ngx_kanban_share_batch_t *b)
{
    ngx_str_t               one[NGX_KANBAN_SHARE_PARAMS], *params;
    ngx_kanban_pg_query_t  *q;

    if (b->params[0].data == NULL && ngx_kanban_share_seal(b) != NGX_OK) {
        goto failed;
    }

    params = b->params;

    if (b->one_by_one) {
        if (ngx_kanban_share_one(b, one) != NGX_OK) {
            goto failed;
        }

        params = one;
    }

    q = ngx_kanban_pg_query_background(b->pool, &b->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = b;
    q->binary = ((ngx_uint_t) 1 << NGX_KANBAN_SHARE_PARAMS) - 1;

    if (ngx_kanban_pg_run(q, &ngx_kanban_share_visits_stmt,
                          ngx_kanban_share_flushed, NGX_KANBAN_SHARE_PARAMS,
                          &params[0], &params[1], &params[2], &params[3],
                          &params[4], &params[5], &params[6], &params[7],
                          &params[8], &params[9], &params[10], &params[11],
                          &params[12], &params[13])
        == NGX_OK)
    {
        return;
    }

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "kanban: %ui share visits of \"%V\" lost: no memory",
                  b->count - b->row, &b->slug);

    ngx_kanban_metrics_share_visits_lost(b->count - b->row);
    ngx_kanban_share_npending -= b->count - b->row;
    ngx_destroy_pool(b->pool);
}


static void
ngx_kanban_share_flushed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_uint_t                 limit, left;
    ngx_kanban_share_batch_t  *b;

    b = q->data;

    if (q->error == NGX_KANBAN_PG_OK) {
        ngx_kanban_share_publish(b, q->result);

        /* the visits' events may have queued webhook deliveries, after
         * the redirect's own wake */
        ngx_kanban_sweep_wrote(&b->slug, &b->db);

        ngx_kanban_share_next(b);
        return;
    }

    limit = ngx_exiting ? NGX_KANBAN_SHARE_ATTEMPTS_EXITING
                        : NGX_KANBAN_SHARE_ATTEMPTS;
    left = b->count - b->row;

    if (ngx_kanban_share_transient(q)) {
        if (++b->attempts < limit) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "kanban: %ui share visits of \"%V\" wait: %s",
                          left, &b->slug,
                          q->result ? PQresultErrorMessage(q->result)
                                    : "PostgreSQL is unavailable");

            ngx_queue_insert_tail(&ngx_kanban_share_retry, &b->queue);
            ngx_kanban_share_arm();
            return;
        }

        /* the outage outlasted the tries: what is left is lost */
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: %ui share visits of \"%V\" lost after %ui "
                      "tries: %s", left, &b->slug, b->attempts,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");

        ngx_kanban_metrics_share_visits_lost(left);
        ngx_kanban_share_npending -= left;
        ngx_destroy_pool(b->pool);
        return;
    }

    if (!b->one_by_one && b->count > 1) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: %ui share visits of \"%V\" refused, "
                      "stored one by one: %s", b->count, &b->slug,
                      PQresultErrorMessage(q->result));

        ngx_kanban_share_rewind(b, 0);

        b->one_by_one = 1;
        b->attempts = 0;
        ngx_kanban_share_flush(b);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "kanban: a share visit of \"%V\" lost: %s",
                  &b->slug, PQresultErrorMessage(q->result));

    ngx_kanban_metrics_share_visits_lost(1);
    ngx_kanban_share_next(b);
}


/* What was sent is stored (or lost for its data): one by one, the next
 * visit goes; else the batch is done. */

static void
ngx_kanban_share_next(ngx_kanban_share_batch_t *b)
{
    if (b->one_by_one) {
        ngx_kanban_share_npending--;
        b->attempts = 0;

        if (++b->row < b->count) {
            ngx_kanban_share_skip(b);
            ngx_kanban_share_flush(b);
            return;
        }

    } else {
        ngx_kanban_share_npending -= b->count;
    }

    ngx_destroy_pool(b->pool);
}


/* Worth another try: PostgreSQL away, or the statement undone by
 * something passing (a deadlock, a serialization failure, a timeout, a
 * lock not granted, resources short); anything else is in the data. */

static ngx_uint_t
ngx_kanban_share_transient(ngx_kanban_pg_query_t *q)
{
    char  *state;

    if (q->error == NGX_KANBAN_PG_UNAVAILABLE) {
        return 1;
    }

    state = q->result ? PQresultErrorField(q->result, PG_DIAG_SQLSTATE)
                      : NULL;

    return state == NULL
           || ngx_strncmp(state, "40", 2) == 0
           || ngx_strncmp(state, "53", 2) == 0
           || ngx_strncmp(state, "08", 2) == 0
           || ngx_strcmp(state, "57014") == 0
           || ngx_strcmp(state, "55P03") == 0;
}


/* share_link.visited, one event a link and batch, with its audit row */

static void
ngx_kanban_share_publish(ngx_kanban_share_batch_t *b, PGresult *res)
{
    u_char  *p, channel[sizeof("kanban:events:") + 64];
    u_char   event[256];
    int      i, n;

    if (b->slug.len > 64) {
        return;
    }

    p = ngx_sprintf(channel, "kanban:events:%V", &b->slug);
    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        if (PQgetlength(res, i, 1) > 36 || PQgetlength(res, i, 0) > 20
            || PQgetlength(res, i, 2) > 20)
        {
            continue;
        }

        ngx_kanban_redis_command(NULL, NULL, "PUBLISH %b %b",
            channel, (size_t) (p - channel),
            event,
            (size_t) (ngx_sprintf(event,
                          "{\"id\":%s,\"type\":\"share_link.visited\","
                          "\"data\":{\"id\":\"%s\",\"visits\":%s}}",
                          PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                          PQgetvalue(res, i, 2))
                      - event));
    }
}


void
ngx_kanban_share_arm(void)
{
    ngx_kanban_share_main_conf_t  *smcf;

    if (ngx_kanban_share_timer.timer_set) {
        return;
    }

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_share_module);

    ngx_add_timer(&ngx_kanban_share_timer, smcf->flush);
}
