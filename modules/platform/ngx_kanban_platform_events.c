
/*
 * The operators' event stream, GET /api/v1/platform/events: Server-Sent
 * Events of the catalog's platform_events log (catalog 020: a job's every
 * change, a workspace created or changed), to operators only, behind
 * their session (ngx_kanban_platform_guard).
 *
 * The stream is the core's (ngx_kanban_module/ngx_kanban_sse.c: head,
 * Last-Event-ID, shared events, heartbeat, end). A worker with streams
 * open reads the log from the oldest point any of them needs when the
 * catalog notifies that an event was committed (the worker LISTENs to
 * platform_events while it has streams: ngx_kanban_pg_listen.h; every
 * event notifies at its commit, catalog 023), and each event is encoded
 * once and shared by all of them; once every 10 s besides, and every
 * second while that connection is down. A worker without streams asks nothing and
 * listens to nothing. Any node sees what any other, or kanbanctl, wrote:
 * the log is the catalog's, its ids in commit order.
 *
 * A stream ends when its session expires or is signed out (the tick asks
 * the catalog which sessions of its streams are still there, one query
 * for all of them, so a sign-out on any node ends them within a second
 * or two), and when the worker quits (so
 * that the console reconnects); a client resumes with Last-Event-ID, and
 * one whose id is older than the log (24 hours) gets a reset event.
 */

#include "ngx_kanban_platform.h"
#include "ngx_kanban_pg_listen.h"
#include "ngx_kanban_sse.h"


#define NGX_KANBAN_PLATFORM_EVENTS_TICK   1000
#define NGX_KANBAN_PLATFORM_EVENTS_BATCH  500     /* the poll's LIMIT */
#define NGX_KANBAN_PLATFORM_EVENTS_SPARE  10      /* ticks between reads
                                                     while listening */


typedef struct {
    ngx_kanban_sse_t           sse;            /* first */
    ngx_queue_t                queue;          /* in the worker's streams */
    int64_t                    last;           /* the last id it has had */
    int64_t                    after;          /* Last-Event-ID */
    ngx_uint_t                 resume;
    ngx_event_t                expiry;         /* its session's */
    ngx_str_t                  token_hash;     /* its session's */
    ngx_uint_t                 checked;        /* in the check under way */
} ngx_kanban_platform_stream_t;


static ngx_int_t ngx_kanban_platform_events_open(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_platform_events_opened(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_platform_events_start(ngx_http_request_t *r,
    ngx_kanban_platform_stream_t *st, time_t expires, int64_t head,
    int64_t oldest);
static ngx_int_t ngx_kanban_platform_events_reset(
    ngx_kanban_platform_stream_t *st, int64_t head);
static void ngx_kanban_platform_events_closed(ngx_kanban_sse_t *s,
    ngx_uint_t dropped);
static void ngx_kanban_platform_events_write(ngx_http_request_t *r);
static void ngx_kanban_platform_events_detach(void *data);
static void ngx_kanban_platform_events_cleanup(void *data);
static void ngx_kanban_platform_events_expired(ngx_event_t *ev);
static void ngx_kanban_platform_events_tick(ngx_event_t *ev);
static void ngx_kanban_platform_events_poll(void);
static void ngx_kanban_platform_events_polled(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_platform_events_check(void);
static void ngx_kanban_platform_events_checked(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_kanban_sse_event_t *ngx_kanban_platform_events_encode(
    PGresult *res, int row, int64_t *id);
static void ngx_kanban_platform_events_news(ngx_kanban_pg_listener_t *l);


/* the session's end, where the log stands and how far back it reaches */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_events_open_stmt =
    ngx_kanban_pg_stmt("platform_events_open",
    "SELECT extract(epoch FROM s.expires_at)::bigint,"
    "       (SELECT coalesce(max(e.id), 0) FROM platform_events e),"
    "       (SELECT coalesce(min(e.id), 0) FROM platform_events e)"
    "  FROM operator_sessions s WHERE s.token_hash = $1");

/* $1 the oldest id any stream of the worker has had */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_events_poll_stmt =
    ngx_kanban_pg_stmt("platform_events_poll",
    "SELECT e.id, e.type, e.data::text FROM platform_events e"
    " WHERE e.id > $1::bigint ORDER BY e.id"
    " LIMIT 500");


/* $1 the sessions of the worker's streams: those still signed in */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_events_check_stmt =
    ngx_kanban_pg_stmt("platform_events_check",
    "SELECT s.token_hash FROM operator_sessions s"
    " WHERE s.token_hash = ANY ($1::text[]) AND s.expires_at > now()");


/* the worker's streams, its tick and its one poll at a time */
static ngx_queue_t   ngx_kanban_platform_streams;
static ngx_event_t   ngx_kanban_platform_events_timer;
static ngx_uint_t    ngx_kanban_platform_polling;
static ngx_uint_t    ngx_kanban_platform_poll_again;
static ngx_uint_t    ngx_kanban_platform_checking;
static ngx_uint_t    ngx_kanban_platform_ticks;

/* the catalog's word that the log has news */
static ngx_kanban_pg_listener_t  ngx_kanban_platform_events_listener = {
    .channel = ngx_string("platform_events"),
    .handler = ngx_kanban_platform_events_news,
};


/* GET /api/v1/platform/events */

ngx_int_t
ngx_kanban_platform_events_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_guard(r, ctx, ngx_kanban_platform_events_open);
}


static ngx_int_t
ngx_kanban_platform_events_open(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    char                           *bad;
    ngx_kanban_pg_db_t              db;
    ngx_kanban_pg_query_t          *q;
    ngx_kanban_platform_stream_t   *st;
    ngx_kanban_platform_session_t  *ps;

    ps = ctx->data;

    st = ngx_pcalloc(r->pool, sizeof(ngx_kanban_platform_stream_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->token_hash = ps->token_hash;

    bad = ngx_kanban_sse_last_event_id(r, &st->after, &st->resume);
    if (bad) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST, bad);
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->data = st;

    if (ngx_kanban_pg_run(q, &ngx_kanban_platform_events_open_stmt,
                          ngx_kanban_platform_events_opened, 1,
                          &ps->token_hash)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_platform_events_opened(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    int64_t                        head, oldest;
    time_t                         expires;
    ngx_int_t                      rc;
    ngx_kanban_platform_stream_t  *st;

    st = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        /* signed out between the guard and here */
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                               "This operator session is not valid: sign "
                               "in again."));
        return;
    }

    expires = (time_t) ngx_atotm((u_char *) PQgetvalue(q->result, 0, 0),
                                 PQgetlength(q->result, 0, 0));
    head = ngx_atoof((u_char *) PQgetvalue(q->result, 0, 1),
                     PQgetlength(q->result, 0, 1));
    oldest = ngx_atoof((u_char *) PQgetvalue(q->result, 0, 2),
                       PQgetlength(q->result, 0, 2));

    if (expires == NGX_ERROR || head == NGX_ERROR || oldest == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_kanban_platform_events_start(r, st, expires, head, oldest);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* The head goes out, the stream joins the worker's; NGX_DONE from then
 * on (the stream owns the request), else the status to end with. */

static ngx_int_t
ngx_kanban_platform_events_start(ngx_http_request_t *r,
    ngx_kanban_platform_stream_t *st, time_t expires, int64_t head,
    int64_t oldest)
{
    ngx_int_t                    rc;
    ngx_pool_cleanup_t          *cln;
    ngx_http_cleanup_t          *hcln;
    ngx_kanban_platform_conf_t  *pcf;

    pcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_platform_module);

    ngx_kanban_sse_init(&st->sse, r, &pcf->events);
    st->sse.closed = ngx_kanban_platform_events_closed;

    rc = ngx_kanban_sse_header(r);
    if (r->header_only || rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    /* out of the worker's streams as soon as the request ends, however
     * it ends; its events given back when nginx is done with them */
    hcln = ngx_http_cleanup_add(r, 0);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (hcln == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    hcln->handler = ngx_kanban_platform_events_detach;
    hcln->data = st;
    cln->handler = ngx_kanban_platform_events_cleanup;
    cln->data = st;

    ngx_http_set_ctx(r, st, ngx_http_kanban_platform_module);
    ngx_queue_insert_tail(&ngx_kanban_platform_streams, &st->queue);

    /* the worker's first stream: the catalog's news from now on */
    ngx_kanban_pg_listen_start(&ngx_kanban_platform_events_listener);

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_kanban_platform_events_write;

    st->expiry.handler = ngx_kanban_platform_events_expired;
    st->expiry.data = st;
    st->expiry.log = r->connection->log;

    ngx_add_timer(&st->expiry, expires > ngx_time()
                               ? (ngx_msec_t) (expires - ngx_time()) * 1000
                               : 1);

    if (ngx_kanban_sse_send(&st->sse, &ngx_kanban_sse_retry) != NGX_OK) {
        return NGX_DONE;
    }

    st->last = head;

    if (st->resume) {
        /* older than the log reaches, or newer than it (another
         * catalog): nothing can be resumed, the client starts anew */
        if (st->after > head || (oldest > 0 && st->after < oldest - 1)) {
            (void) ngx_kanban_platform_events_reset(st, head);
            return NGX_DONE;
        }

        st->last = st->after;

        if (st->after < head) {
            ngx_kanban_platform_events_poll();
        }
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_kanban_platform_events_reset(ngx_kanban_platform_stream_t *st,
    int64_t head)
{
    u_char                  *p;
    ngx_int_t                rc;
    ngx_kanban_sse_event_t  *ev;

    ev = ngx_alloc(sizeof(ngx_kanban_sse_event_t) + 128, ngx_cycle->log);
    if (ev == NULL) {
        ngx_kanban_sse_end(&st->sse, 0);
        return NGX_ERROR;
    }

    ngx_memzero(ev, sizeof(ngx_kanban_sse_event_t));
    ev->refs = 1;
    ev->text = (u_char *) (ev + 1);

    p = ngx_sprintf(ev->text, "id: %L\nevent: reset\ndata: "
                    "{\"last_event_id\":%L}\n\n", head, head);
    ev->len = p - ev->text;

    rc = ngx_kanban_sse_send(&st->sse, ev);

    ngx_kanban_sse_release(ev);

    return rc;
}


/* nothing reaches the stream any more */

static void
ngx_kanban_platform_events_closed(ngx_kanban_sse_t *s, ngx_uint_t dropped)
{
    ngx_kanban_platform_stream_t  *st = (ngx_kanban_platform_stream_t *) s;

    if (st->queue.next) {
        ngx_queue_remove(&st->queue);
        st->queue.next = NULL;
    }

    if (st->expiry.timer_set) {
        ngx_del_timer(&st->expiry);
    }
}


static void
ngx_kanban_platform_events_write(ngx_http_request_t *r)
{
    ngx_kanban_platform_stream_t  *st;

    st = ngx_http_get_module_ctx(r, ngx_http_kanban_platform_module);

    if (st != NULL) {
        ngx_kanban_sse_writable(&st->sse);
    }
}


static void
ngx_kanban_platform_events_detach(void *data)
{
    ngx_kanban_platform_stream_t  *st = data;

    ngx_kanban_sse_close(&st->sse, 0);
}


static void
ngx_kanban_platform_events_cleanup(void *data)
{
    ngx_kanban_platform_stream_t  *st = data;

    ngx_kanban_sse_close(&st->sse, 0);
    ngx_kanban_sse_release_busy(&st->sse);
}


static void
ngx_kanban_platform_events_expired(ngx_event_t *ev)
{
    ngx_kanban_platform_stream_t  *st = ev->data;

    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "kanban: operators' event stream ends: its session "
                  "expired");

    ngx_kanban_sse_end(&st->sse, 0);
}


/* The worker's tick: not cancelable, so that a quitting worker waits for
 * it and it ends the streams (cleanly: the console reconnects). */

ngx_int_t
ngx_kanban_platform_events_init_process(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_kanban_platform_streams);

    ngx_kanban_platform_events_timer.handler = ngx_kanban_platform_events_tick;
    ngx_kanban_platform_events_timer.log = cycle->log;
    ngx_kanban_platform_events_timer.data = &ngx_kanban_platform_events_timer;

    ngx_add_timer(&ngx_kanban_platform_events_timer,
                  NGX_KANBAN_PLATFORM_EVENTS_TICK);

    return NGX_OK;
}


static void
ngx_kanban_platform_events_tick(ngx_event_t *ev)
{
    ngx_queue_t                   *qu, *next;
    ngx_kanban_platform_stream_t  *st;

    for (qu = ngx_queue_head(&ngx_kanban_platform_streams);
         qu != ngx_queue_sentinel(&ngx_kanban_platform_streams);
         qu = next)
    {
        next = ngx_queue_next(qu);
        st = ngx_queue_data(qu, ngx_kanban_platform_stream_t, queue);

        if (ngx_exiting || ngx_terminate || ngx_quit) {
            ngx_kanban_sse_quit(&st->sse);

        } else {
            ngx_kanban_sse_beat(&st->sse);
        }
    }

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_kanban_pg_listen_stop(&ngx_kanban_platform_events_listener);
        return;
    }

    /* listened to while there are streams; read on the tick only while
     * not, and now and then as a safety net */
    if (ngx_queue_empty(&ngx_kanban_platform_streams)) {
        ngx_kanban_pg_listen_stop(&ngx_kanban_platform_events_listener);

    } else {
        ngx_kanban_pg_listen_start(&ngx_kanban_platform_events_listener);
    }

    if (!ngx_kanban_platform_events_listener.on
        || ++ngx_kanban_platform_ticks % NGX_KANBAN_PLATFORM_EVENTS_SPARE == 0)
    {
        ngx_kanban_platform_events_poll();
    }

    ngx_kanban_platform_events_check();

    ngx_add_timer(ev, NGX_KANBAN_PLATFORM_EVENTS_TICK);
}


/* Which sessions of the worker's streams are still signed in: one query
 * at a time for all of them, none without streams. A stream opened while
 * it runs is not in it and is judged at the next. */

static void
ngx_kanban_platform_events_check(void)
{
    u_char                        *p;
    size_t                         len;
    ngx_str_t                      hashes;
    ngx_pool_t                    *pool;
    ngx_queue_t                   *qu;
    ngx_kanban_pg_db_t             db;
    ngx_kanban_pg_query_t         *q;
    ngx_kanban_platform_stream_t  *st;

    if (ngx_kanban_platform_checking
        || ngx_queue_empty(&ngx_kanban_platform_streams))
    {
        return;
    }

    len = sizeof("{}") - 1;

    for (qu = ngx_queue_head(&ngx_kanban_platform_streams);
         qu != ngx_queue_sentinel(&ngx_kanban_platform_streams);
         qu = ngx_queue_next(qu))
    {
        st = ngx_queue_data(qu, ngx_kanban_platform_stream_t, queue);
        len += st->token_hash.len + 1;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    hashes.data = ngx_pnalloc(pool, len);
    if (hashes.data == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    /* the hashes are hex (the catalog's CHECK): an array literal as is */
    p = hashes.data;
    *p++ = '{';

    for (qu = ngx_queue_head(&ngx_kanban_platform_streams);
         qu != ngx_queue_sentinel(&ngx_kanban_platform_streams);
         qu = ngx_queue_next(qu))
    {
        st = ngx_queue_data(qu, ngx_kanban_platform_stream_t, queue);
        st->checked = 1;

        if (p > hashes.data + 1) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, st->token_hash.data, st->token_hash.len);
    }

    *p++ = '}';
    hashes.len = p - hashes.data;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    q->data = pool;
    ngx_kanban_platform_checking = 1;

    if (ngx_kanban_pg_run(q, &ngx_kanban_platform_events_check_stmt,
                          ngx_kanban_platform_events_checked, 1, &hashes)
        != NGX_OK)
    {
        ngx_kanban_platform_checking = 0;
        ngx_destroy_pool(pool);
    }
}


/* A stream that was asked about and whose session is gone ends (cleanly:
 * the console finds its operator signed out); a failed query ends none. */

static void
ngx_kanban_platform_events_checked(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    int                            row, rows;
    ngx_uint_t                     live;
    ngx_pool_t                    *pool;
    ngx_queue_t                   *qu, *next;
    ngx_kanban_platform_stream_t  *st;

    pool = q->data;
    ngx_kanban_platform_checking = 0;

    rows = (q->error == NGX_KANBAN_PG_OK) ? PQntuples(q->result) : -1;

    for (qu = ngx_queue_head(&ngx_kanban_platform_streams);
         qu != ngx_queue_sentinel(&ngx_kanban_platform_streams);
         qu = next)
    {
        next = ngx_queue_next(qu);
        st = ngx_queue_data(qu, ngx_kanban_platform_stream_t, queue);

        if (!st->checked || rows < 0) {
            continue;
        }

        st->checked = 0;
        live = 0;

        for (row = 0; row < rows && !live; row++) {
            live = (size_t) PQgetlength(q->result, row, 0)
                       == st->token_hash.len
                   && ngx_strncmp(PQgetvalue(q->result, row, 0),
                                  st->token_hash.data,
                                  st->token_hash.len) == 0;
        }

        if (!live) {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "kanban: operators' event stream ends: its "
                          "session signed out");
            ngx_kanban_sse_end(&st->sse, 0);
        }
    }

    if (rows < 0) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: the operators' sessions could not be read");
    }

    ngx_destroy_pool(pool);
}


static void
ngx_kanban_platform_events_news(ngx_kanban_pg_listener_t *l)
{
    ngx_kanban_platform_events_poll();
}


/* What is new since the oldest point a stream of this worker has had:
 * one query at a time, none without streams. */

static void
ngx_kanban_platform_events_poll(void)
{
    u_char                        *p;
    int64_t                        from;
    ngx_str_t                      after;
    ngx_pool_t                    *pool;
    ngx_queue_t                   *qu;
    ngx_kanban_pg_db_t             db;
    ngx_kanban_pg_query_t         *q;
    ngx_kanban_platform_stream_t  *st;

    if (ngx_kanban_platform_polling) {
        ngx_kanban_platform_poll_again = 1;
        return;
    }

    if (ngx_queue_empty(&ngx_kanban_platform_streams)) {
        return;
    }

    from = -1;

    for (qu = ngx_queue_head(&ngx_kanban_platform_streams);
         qu != ngx_queue_sentinel(&ngx_kanban_platform_streams);
         qu = ngx_queue_next(qu))
    {
        st = ngx_queue_data(qu, ngx_kanban_platform_stream_t, queue);

        if (from < 0 || st->last < from) {
            from = st->last;
        }
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    p = ngx_pnalloc(pool, NGX_INT64_LEN);
    if (p == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    after.data = p;
    after.len = ngx_sprintf(p, "%L", from) - p;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    q->data = pool;
    ngx_kanban_platform_polling = 1;
    ngx_kanban_platform_poll_again = 0;

    if (ngx_kanban_pg_run(q, &ngx_kanban_platform_events_poll_stmt,
                          ngx_kanban_platform_events_polled, 1, &after)
        != NGX_OK)
    {
        ngx_kanban_platform_polling = 0;
        ngx_destroy_pool(pool);
    }
}


/* Each event to every stream that has not had it, a batch a write; a
 * full batch asks again at once. */

static void
ngx_kanban_platform_events_polled(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    int                            row, rows;
    int64_t                        id;
    ngx_pool_t                    *pool;
    ngx_queue_t                   *qu, *next;
    ngx_kanban_sse_event_t        *ev;
    ngx_kanban_platform_stream_t  *st;

    pool = q->data;
    ngx_kanban_platform_polling = 0;
    rows = 0;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: the operators' event log could not be read");
        goto done;
    }

    rows = PQntuples(q->result);

    for (row = 0; row < rows; row++) {
        ev = ngx_kanban_platform_events_encode(q->result, row, &id);
        if (ev == NULL) {
            break;
        }

        for (qu = ngx_queue_head(&ngx_kanban_platform_streams);
             qu != ngx_queue_sentinel(&ngx_kanban_platform_streams);
             qu = next)
        {
            next = ngx_queue_next(qu);
            st = ngx_queue_data(qu, ngx_kanban_platform_stream_t, queue);

            if (st->last < id) {
                st->last = id;
                (void) ngx_kanban_sse_queue(&st->sse, ev);
            }
        }

        ngx_kanban_sse_release(ev);
    }

    /* a stream whose write fails or that is dropped leaves the queue */
    for (qu = ngx_queue_head(&ngx_kanban_platform_streams);
         qu != ngx_queue_sentinel(&ngx_kanban_platform_streams);
         qu = next)
    {
        next = ngx_queue_next(qu);
        st = ngx_queue_data(qu, ngx_kanban_platform_stream_t, queue);

        if (st->sse.out) {
            (void) ngx_kanban_sse_flush(&st->sse);
        }
    }

done:

    ngx_destroy_pool(pool);

    if (rows == NGX_KANBAN_PLATFORM_EVENTS_BATCH
        || ngx_kanban_platform_poll_again)
    {
        ngx_kanban_platform_events_poll();
    }
}


/* "id: N\nevent: TYPE\ndata: JSON\n\n", once for every stream */

static ngx_kanban_sse_event_t *
ngx_kanban_platform_events_encode(PGresult *res, int row, int64_t *id)
{
    u_char                  *p;
    size_t                   len;
    ngx_kanban_sse_event_t  *ev;

    *id = ngx_atoof((u_char *) PQgetvalue(res, row, 0),
                    PQgetlength(res, row, 0));
    if (*id == NGX_ERROR) {
        return NULL;
    }

    len = sizeof("id: \nevent: \ndata: \n\n") - 1
          + PQgetlength(res, row, 0) + PQgetlength(res, row, 1)
          + PQgetlength(res, row, 2);

    ev = ngx_alloc(sizeof(ngx_kanban_sse_event_t) + len, ngx_cycle->log);
    if (ev == NULL) {
        return NULL;
    }

    ngx_memzero(ev, sizeof(ngx_kanban_sse_event_t));
    ev->refs = 1;
    ev->text = (u_char *) (ev + 1);

    p = ngx_sprintf(ev->text, "id: %s\nevent: %s\ndata: %s\n\n",
                    PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
                    PQgetvalue(res, row, 2));
    ev->len = p - ev->text;

    return ev;
}
