
/*
 * The worker's webhook dispatcher: it takes due deliveries from the
 * workspaces' outboxes (webhook_claim(), sql/tenant/018_webhooks.sql),
 * POSTs each with the worker's HTTP client and records the attempt
 * (webhook_attempted()), which says when to try again.
 *
 * Which workspaces, and when: the core's sweeper with its due index
 * (ngx_kanban_sweep.h, catalog 018). A workspace is asked when a write
 * through this worker may have queued a delivery (any write: the events
 * trigger queues them), when a Redis event message names one it
 * watches, when a delivery of its ends here, and when its next pending
 * delivery is due: the claim says when (a retry's backoff, or the
 * leases of deliveries in flight, tenant 094), and that time is kept in
 * the catalog, so that another node sends what a node that died had
 * claimed once its leases end. A workspace with nothing pending is never
 * asked. kanban_webhooks_sweep is how often the due index is read.
 *
 * One slow receiver holds up nothing else: a webhook with requests in
 * flight in this worker gets no more until they are done, and at most
 * kanban_webhooks_concurrency at once; each request has its timeout; and
 * a claim is a lease (the timeout and a margin), so a delivery whose
 * worker went away is due again, with the same id, when the lease ends.
 */

/* SQL: sql/catalog/018_sweep_due.sql; sql/tenant/018_webhooks.sql,
 * 094_webhook_claim_due.sql */
#include "ngx_kanban_webhooks.h"
#include "ngx_kanban_sweep.h"
#include <openssl/hmac.h>


#define NGX_KANBAN_WEBHOOKS_TICK       1000
#define NGX_KANBAN_WEBHOOKS_BATCH      "100"   /* deliveries a claim takes */
#define NGX_KANBAN_WEBHOOKS_MARGIN     5000    /* a lease past the timeout */
#define NGX_KANBAN_WEBHOOKS_HINT_GAP   100     /* ms between polls on hints */
#define NGX_KANBAN_WEBHOOKS_UUID_LEN   36
#define NGX_KANBAN_WEBHOOKS_AGENT      "kanban-webhooks/" NGX_KANBAN_VERSION


/* a workspace's, beside the sweeper's entry */
typedef struct {
    ngx_queue_t                inflight;       /* its deliveries */
} ngx_kanban_webhooks_ws_t;


typedef struct {
    ngx_queue_t                queue;          /* in its workspace's */
    ngx_pool_t                *pool;
    ngx_kanban_sweep_ws_t     *ws;
    ngx_str_t                  id;
    ngx_str_t                  webhook_id;
    ngx_str_t                  url;
    ngx_str_t                  type;
    ngx_str_t                  body;
    ngx_str_t                  stored;         /* the secret as stored */
    ngx_str_t                  attempts;
    ngx_kanban_http_req_t     *hr;
} ngx_kanban_webhooks_delivery_t;


static void ngx_kanban_webhooks_ws_init(ngx_kanban_sweep_ws_t *ws);
static ngx_int_t ngx_kanban_webhooks_poll(ngx_kanban_sweep_ws_t *ws);
static ngx_int_t ngx_kanban_webhooks_busy(ngx_pool_t *pool,
    ngx_queue_t *inflight, ngx_str_t *busy);
static void ngx_kanban_webhooks_polled(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_webhooks_start(ngx_kanban_sweep_ws_t *ws,
    PGresult *res, int row);
static ngx_int_t ngx_kanban_webhooks_request(
    ngx_kanban_webhooks_delivery_t *d, char **error);
static void ngx_kanban_webhooks_sent(ngx_kanban_http_req_t *hr);
static void ngx_kanban_webhooks_record(ngx_kanban_webhooks_delivery_t *d,
    ngx_str_t *code, ngx_str_t *error);
static void ngx_kanban_webhooks_recorded(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_uint_t ngx_kanban_webhooks_hook_busy(ngx_queue_t *inflight,
    ngx_str_t *hook);


static ngx_kanban_pg_stmt_t  ngx_kanban_webhooks_claim = ngx_kanban_pg_stmt(
    "webhooks_claim",
    "SELECT id, webhook_id, url, secret, type, body, attempts, next_in"
    "  FROM webhook_claim($1::integer, " NGX_KANBAN_WEBHOOKS_BATCH ","
    "                     $2::uuid[], $3::float8)");

static ngx_kanban_pg_stmt_t  ngx_kanban_webhooks_attempted =
    ngx_kanban_pg_stmt("webhooks_attempted",
    "SELECT webhook_attempted($1::uuid, $2::integer, $3::integer, $4,"
    "                         $5::float8, $6::float8)");


static ngx_kanban_webhooks_conf_t  *ngx_kanban_webhooks_sender_conf;

static ngx_kanban_sweep_t  ngx_kanban_webhooks_sweep = {
    .name = "webhooks",
    .due_index = 1,
    .tick = NGX_KANBAN_WEBHOOKS_TICK,
    .data_size = sizeof(ngx_kanban_webhooks_ws_t),
    .step = ngx_kanban_webhooks_poll,
    .init = ngx_kanban_webhooks_ws_init,
};


ngx_int_t
ngx_kanban_webhooks_send_init_process(ngx_cycle_t *cycle,
    ngx_kanban_webhooks_conf_t *whcf)
{
    ngx_kanban_webhooks_sender_conf = whcf;
    ngx_kanban_webhooks_sweep.period = whcf->sweep;

    return ngx_kanban_sweep_start(&ngx_kanban_webhooks_sweep, cycle);
}


/* A Redis event message: the workspace may have queued deliveries. A
 * workspace written to all the time sends a message a write: its outbox
 * is asked at most every HINT_GAP, not once a write. */

void
ngx_kanban_webhooks_hint(ngx_str_t *slug)
{
    ngx_kanban_sweep_hint(&ngx_kanban_webhooks_sweep, slug,
                          NGX_KANBAN_WEBHOOKS_HINT_GAP);
}


/* A webhook was written in this worker: the workspace is one to watch
 * from now on, and may have a delivery (a ping). */

void
ngx_kanban_webhooks_wake(ngx_kanban_tenant_t *tenant)
{
    ngx_kanban_sweep_wake(&ngx_kanban_webhooks_sweep, tenant);
}


static void
ngx_kanban_webhooks_ws_init(ngx_kanban_sweep_ws_t *ws)
{
    ngx_kanban_webhooks_ws_t  *wws;

    wws = ws->data;
    ngx_queue_init(&wws->inflight);
}


/* Claims what is due, but for the webhooks with requests in flight here. */

static ngx_int_t
ngx_kanban_webhooks_poll(ngx_kanban_sweep_ws_t *ws)
{
    ngx_str_t                    per_hook, busy, *lease;
    ngx_pool_t                  *pool;
    ngx_kanban_pg_query_t       *q;
    ngx_kanban_webhooks_ws_t    *wws;
    ngx_kanban_webhooks_conf_t  *whcf;

    whcf = ngx_kanban_webhooks_sender_conf;
    wws = ws->data;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    per_hook.data = ngx_pnalloc(pool, NGX_INT_T_LEN);
    lease = ngx_kanban_sweep_number(pool, whcf->timeout
                                          + NGX_KANBAN_WEBHOOKS_MARGIN, 1);
    if (per_hook.data == NULL || lease == NULL
        || ngx_kanban_webhooks_busy(pool, &wws->inflight, &busy) != NGX_OK)
    {
        goto failed;
    }

    per_hook.len = ngx_sprintf(per_hook.data, "%ui", whcf->concurrency)
                   - per_hook.data;

    q = ngx_kanban_pg_query_background(pool, &ws->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_webhooks_claim,
                          ngx_kanban_webhooks_polled, 3, &per_hook, &busy,
                          lease)
        != NGX_OK)
    {
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);

    return NGX_ERROR;
}


/* The webhooks with requests in flight here, as a uuid[] literal. */

static ngx_int_t
ngx_kanban_webhooks_busy(ngx_pool_t *pool, ngx_queue_t *inflight,
    ngx_str_t *busy)
{
    u_char                          *p;
    ngx_uint_t                       n;
    ngx_queue_t                     *qu;
    ngx_kanban_webhooks_delivery_t  *d;

    n = 0;

    for (qu = ngx_queue_head(inflight);
         qu != ngx_queue_sentinel(inflight);
         qu = ngx_queue_next(qu))
    {
        n++;
    }

    busy->data = ngx_pnalloc(pool,
                             2 + n * (NGX_KANBAN_WEBHOOKS_UUID_LEN + 1));
    if (busy->data == NULL) {
        return NGX_ERROR;
    }

    p = busy->data;
    *p++ = '{';

    for (qu = ngx_queue_head(inflight);
         qu != ngx_queue_sentinel(inflight);
         qu = ngx_queue_next(qu))
    {
        d = ngx_queue_data(qu, ngx_kanban_webhooks_delivery_t, queue);

        if (p - busy->data > 1) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, d->webhook_id.data, d->webhook_id.len);
    }

    *p++ = '}';
    busy->len = p - busy->data;

    return NGX_OK;
}


static void
ngx_kanban_webhooks_polled(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                     i, n;
    ngx_msec_t              wait;
    ngx_kanban_sweep_ws_t  *ws;

    ws = q->data;
    wait = NGX_KANBAN_SWEEP_NOTHING;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_sweep_failed(ws, q);
        wait = ngx_kanban_webhooks_sender_conf->sweep;
        goto done;
    }

    n = PQntuples(q->result);

    for (i = 0; i < n; i++) {
        if (!PQgetisnull(q->result, i, 0)) {
            ngx_kanban_webhooks_start(ws, q->result, i);
            continue;
        }

        wait = ngx_kanban_sweep_next_in(q->result, i, 7, wait);
    }

done:

    ngx_destroy_pool(q->pool);

    ngx_kanban_sweep_done(ws, wait);
}


static void
ngx_kanban_webhooks_start(ngx_kanban_sweep_ws_t *ws, PGresult *res,
    int row)
{
    char                            *error;
    ngx_str_t                        err;
    ngx_pool_t                      *pool;
    ngx_kanban_webhooks_ws_t        *wws;
    ngx_kanban_webhooks_delivery_t  *d;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    d = ngx_pcalloc(pool, sizeof(ngx_kanban_webhooks_delivery_t));
    if (d == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    d->pool = pool;
    d->ws = ws;

    if (ngx_kanban_sweep_copy(pool, res, row, 0, &d->id) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 1, &d->webhook_id)
           != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 2, &d->url) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 3, &d->stored) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 4, &d->type) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 5, &d->body) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 6, &d->attempts)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return;                 /* its lease ends, and it is tried again */
    }

    wws = ws->data;
    ngx_queue_insert_tail(&wws->inflight, &d->queue);

    /* the entry stays while its delivery is in flight */
    ngx_kanban_sweep_hold(ws);

    error = NULL;

    if (ngx_kanban_webhooks_request(d, &error) != NGX_OK) {
        err.data = (u_char *) (error ? error : "the request was not made");
        err.len = ngx_strlen(err.data);
        ngx_kanban_webhooks_record(d, NULL, &err);
    }
}


/* POST the body, signed: X-Kanban-Signature is sha256= and the hex
 * HMAC-SHA256 of the exact body with the webhook's secret. */

static ngx_int_t
ngx_kanban_webhooks_request(ngx_kanban_webhooks_delivery_t *d, char **error)
{
    u_char                       mac[EVP_MAX_MD_SIZE];
    ngx_str_t                    secret, v;
    unsigned int                 maclen;
    ngx_kanban_http_req_t       *hr;
    ngx_kanban_webhooks_conf_t  *whcf;

    whcf = ngx_kanban_webhooks_sender_conf;

    switch (ngx_kanban_webhooks_unseal(d->pool, &d->stored, &secret)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        *error = "the webhook's secret cannot be unsealed with this "
                 "node's kanban_webhooks_key";
        return NGX_ERROR;

    default:
        return NGX_ERROR;
    }

    if (HMAC(EVP_sha256(), secret.data, (int) secret.len, d->body.data,
             d->body.len, mac, &maclen)
        == NULL)
    {
        return NGX_ERROR;
    }

    hr = ngx_kanban_http_create(d->pool, ngx_cycle->log);
    if (hr == NULL) {
        return NGX_ERROR;
    }

    d->hr = hr;

    ngx_str_set(&hr->method, "POST");
    hr->url = d->url;
    hr->body = d->body;
    hr->timeout = whcf->timeout;
    hr->allow_private = whcf->allow_private;
    hr->max_body = 1024;
    hr->handler = ngx_kanban_webhooks_sent;
    hr->data = d;

    v.len = sizeof("sha256=") - 1 + 2 * maclen;
    v.data = ngx_pnalloc(d->pool, v.len);
    if (v.data == NULL) {
        return NGX_ERROR;
    }

    ngx_hex_dump(ngx_cpymem(v.data, "sha256=", 7), mac, maclen);

    if (ngx_kanban_http_header(hr, "X-Kanban-Signature", &v) != NGX_OK
        || ngx_kanban_http_header(hr, "X-Kanban-Delivery", &d->id) != NGX_OK
        || ngx_kanban_http_header(hr, "X-Kanban-Event", &d->type) != NGX_OK
        || ngx_kanban_http_header(hr, "X-Kanban-Attempt", &d->attempts)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&v, "application/json");
    if (ngx_kanban_http_header(hr, "Content-Type", &v) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&v, NGX_KANBAN_WEBHOOKS_AGENT);
    if (ngx_kanban_http_header(hr, "User-Agent", &v) != NGX_OK) {
        return NGX_ERROR;
    }

    /* no "Expect: 100-continue": the body goes at once */
    ngx_str_null(&v);
    if (ngx_kanban_http_header(hr, "Expect", &v) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_kanban_http_send(hr);
}


static void
ngx_kanban_webhooks_sent(ngx_kanban_http_req_t *hr)
{
    ngx_str_t                        code, *error;
    ngx_kanban_webhooks_delivery_t  *d;

    d = hr->data;

    ngx_kanban_metrics_webhook(
        hr->error == NGX_KANBAN_HTTP_REFUSED ? NGX_KANBAN_WEBHOOK_FORBIDDEN
        : hr->error != NGX_KANBAN_HTTP_OK ? NGX_KANBAN_WEBHOOK_UNREACHABLE
        : hr->status >= 200 && hr->status < 300 ? NGX_KANBAN_WEBHOOK_DELIVERED
        : NGX_KANBAN_WEBHOOK_REJECTED);

    if (hr->error != NGX_KANBAN_HTTP_OK) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "kanban: webhook delivery %V to %V failed: %V",
                      &d->id, &d->url, &hr->error_text);
        ngx_kanban_webhooks_record(d, NULL, &hr->error_text);
        return;
    }

    code.data = ngx_pnalloc(d->pool, NGX_INT_T_LEN);
    if (code.data == NULL) {
        return;
    }

    code.len = ngx_sprintf(code.data, "%ui", hr->status) - code.data;
    error = NULL;

    ngx_kanban_webhooks_record(d, &code, error);
}


static void
ngx_kanban_webhooks_record(ngx_kanban_webhooks_delivery_t *d,
    ngx_str_t *code, ngx_str_t *error)
{
    ngx_str_t                   *ms, *base, *window;
    ngx_kanban_pg_query_t       *q;
    ngx_kanban_webhooks_conf_t  *whcf;

    whcf = ngx_kanban_webhooks_sender_conf;

    ms = ngx_palloc(d->pool, sizeof(ngx_str_t));
    if (ms == NULL) {
        goto failed;
    }

    ms->data = ngx_pnalloc(d->pool, NGX_INT_T_LEN);
    if (ms->data == NULL) {
        goto failed;
    }

    ms->len = ngx_sprintf(ms->data, "%M", d->hr ? d->hr->elapsed : 0)
              - ms->data;

    base = ngx_kanban_sweep_number(d->pool, whcf->backoff, 1);
    window = ngx_kanban_sweep_number(d->pool, whcf->window, 1);

    q = ngx_kanban_pg_query_background(d->pool, &d->ws->db);
    if (base == NULL || window == NULL || q == NULL) {
        goto failed;
    }

    q->data = d;

    if (ngx_kanban_pg_run(q, &ngx_kanban_webhooks_attempted,
                          ngx_kanban_webhooks_recorded, 6, &d->id, code, ms,
                          error, base, window)
        == NGX_OK)
    {
        return;
    }

failed:

    /* its lease ends, and it is tried again */
    ngx_queue_remove(&d->queue);
    ngx_kanban_sweep_release(d->ws);
    ngx_kanban_sweep_step(d->ws);
    ngx_destroy_pool(d->pool);
}


static void
ngx_kanban_webhooks_recorded(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    double                           wait;
    ngx_kanban_sweep_ws_t           *ws;
    ngx_kanban_webhooks_ws_t        *wws;
    ngx_kanban_webhooks_delivery_t  *d;

    d = q->data;
    ws = d->ws;
    wws = ws->data;
    wait = -1;

    if (q->error != NGX_KANBAN_PG_OK) {
        /* the lease ends and the delivery is sent again, same id */
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: webhook delivery %V: the attempt is not "
                      "recorded: %s", &d->id,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");

    } else if (PQntuples(q->result) == 1 && !PQgetisnull(q->result, 0, 0)) {
        wait = strtod(PQgetvalue(q->result, 0, 0), NULL) * 1000;
    }

    ngx_queue_remove(&d->queue);
    ngx_kanban_sweep_release(ws);

    /* the retry's time, when sooner than the workspace's next look */
    if (wait >= 0) {
        ngx_kanban_sweep_sooner(ws, (ngx_msec_t) wait);

    } else if (q->error == NGX_KANBAN_PG_OK
               && !(d->hr && d->hr->error == NGX_KANBAN_HTTP_OK
                    && d->hr->status >= 200 && d->hr->status < 300))
    {
        /* failed for good: its webhook may be disabled now, and its
         * admins notified by mail */
        ngx_kanban_sweep_wrote(&ws->node.str, &ws->db);
    }

    /* its webhook's batch is done: it may have more queued */
    if (!ngx_kanban_webhooks_hook_busy(&wws->inflight, &d->webhook_id)) {
        ngx_kanban_sweep_step(ws);
    }

    ngx_destroy_pool(d->pool);
}


static ngx_uint_t
ngx_kanban_webhooks_hook_busy(ngx_queue_t *inflight, ngx_str_t *hook)
{
    ngx_queue_t                     *qu;
    ngx_kanban_webhooks_delivery_t  *o;

    for (qu = ngx_queue_head(inflight);
         qu != ngx_queue_sentinel(inflight);
         qu = ngx_queue_next(qu))
    {
        o = ngx_queue_data(qu, ngx_kanban_webhooks_delivery_t, queue);

        if (o->webhook_id.len == hook->len
            && ngx_strncmp(o->webhook_id.data, hook->data, hook->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
