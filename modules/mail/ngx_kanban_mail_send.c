
/*
 * The worker's mail sender: it takes due messages from the workspaces'
 * outboxes (mail_claim(), sql/tenant/035_mail_outbox.sql), composes each
 * and hands it to the worker's HTTP client, which speaks SMTP through
 * libcurl on nginx's event loop, then records the outcome
 * (mail_attempted()), which says when to try again.
 *
 * Which workspaces, and when: the core's sweeper with its due index
 * (ngx_kanban_sweep.h, catalog 018): a workspace is asked when a write
 * through this worker may have queued mail, and when its next queued
 * message or digest is due (mail_sweep() says when, tenant 060), never
 * otherwise. Each step queues the digests that are due, then claims.
 * The catalog's outbox holds the platform's own mail (catalog 012: the
 * portal's) under the slug "" (catalog 019); the portal wakes it
 * (ngx_kanban_mail_wake_catalog). kanban_mail_sweep is how often the
 * due index is read (a restart, another node's work, a quiet workspace's
 * digest), and the longest a full sender waits to ask again.
 *
 * Limits: at most kanban_mail_concurrency messages in flight per worker,
 * and kanban_mail_rate a second; the rest wait in the outbox. A claim is
 * a lease (the timeout and a margin): a message whose worker went away
 * is due again when its lease ends.
 */

/* SQL: sql/tenant/035_mail_outbox.sql, 036_mail_notifications.sql */
#include "ngx_kanban_mail.h"
#include "ngx_kanban_sweep.h"


#define NGX_KANBAN_MAIL_MARGIN    5000      /* a lease past the timeout */


typedef struct {
    ngx_pool_t                *pool;
    ngx_kanban_sweep_ws_t     *ws;
    ngx_kanban_mail_msg_t      msg;
    ngx_kanban_http_req_t     *hr;
} ngx_kanban_mail_job_t;


static ngx_uint_t ngx_kanban_mail_room(void);
static ngx_int_t ngx_kanban_mail_poll(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_mail_polled(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_mail_start(ngx_kanban_sweep_ws_t *ws, PGresult *res,
    int row);
static void ngx_kanban_mail_sent(ngx_kanban_http_req_t *hr);
static void ngx_kanban_mail_record(ngx_kanban_mail_job_t *job,
    ngx_str_t *code, ngx_str_t *answer);
static void ngx_kanban_mail_recorded(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_str_t *ngx_kanban_mail_answer(ngx_kanban_http_req_t *hr);


/* the digests due queued, then a claim (tenant 060, catalog 019) */
static ngx_kanban_pg_stmt_t  ngx_kanban_mail_claim = ngx_kanban_pg_stmt(
    "mail_sweep",
    "SELECT id, kind, user_id, to_addr, to_name, subject, text_body,"
    "       html_body, unsubscribe, workspace, attempts, next_in"
    "  FROM mail_sweep($1::integer, $2::float8, $3::float8)");

static ngx_kanban_pg_stmt_t  ngx_kanban_mail_attempted = ngx_kanban_pg_stmt(
    "mail_attempted",
    "SELECT mail_attempted($1::uuid, $2::integer, $3, $4::float8,"
    "                      $5::float8)");


static ngx_kanban_sweep_t  ngx_kanban_mail_sweep = {
    .name = "mail",
    .due_index = 1,
    .step = ngx_kanban_mail_poll,
};

static ngx_kanban_mail_conf_t  *ngx_kanban_mail_sender_conf;
static ngx_uint_t          ngx_kanban_mail_inflight;
static ngx_msec_t          ngx_kanban_mail_second;   /* this second began */
static ngx_uint_t          ngx_kanban_mail_started;  /* in it */


ngx_int_t
ngx_kanban_mail_send_init_process(ngx_cycle_t *cycle,
    ngx_kanban_mail_conf_t *mcf)
{
    ngx_kanban_mail_sender_conf = mcf;
    ngx_kanban_mail_sweep.period = mcf->sweep;

    return ngx_kanban_sweep_start(&ngx_kanban_mail_sweep, cycle);
}


/* A write through this worker queued mail. */

void
ngx_kanban_mail_wake(ngx_kanban_tenant_t *tenant)
{
    ngx_kanban_sweep_wake(&ngx_kanban_mail_sweep, tenant);
}


/* The platform's outbox (the catalog's) has mail: the catalog as one
 * more outbox, whose empty slug no workspace has. */

void
ngx_kanban_mail_wake_catalog(void)
{
    ngx_kanban_tenant_t  catalog;

    ngx_memzero(&catalog, sizeof(ngx_kanban_tenant_t));
    ngx_str_set(&catalog.slug, "");
    ngx_str_set(&catalog.db_name, "");
    ngx_str_set(&catalog.db_dsn, "");

    ngx_kanban_sweep_wake(&ngx_kanban_mail_sweep, &catalog);
}


/* How many more may start now: the concurrency left, and the rate's
 * budget of this second. */

static ngx_uint_t
ngx_kanban_mail_room(void)
{
    ngx_kanban_mail_conf_t  *mcf;

    mcf = ngx_kanban_mail_sender_conf;

    if (ngx_current_msec - ngx_kanban_mail_second >= 1000) {
        ngx_kanban_mail_second = ngx_current_msec;
        ngx_kanban_mail_started = 0;
    }

    if (ngx_kanban_mail_inflight >= mcf->concurrency
        || ngx_kanban_mail_started >= mcf->rate)
    {
        return 0;
    }

    return ngx_min(mcf->concurrency - ngx_kanban_mail_inflight,
                   mcf->rate - ngx_kanban_mail_started);
}


static ngx_int_t
ngx_kanban_mail_poll(ngx_kanban_sweep_ws_t *ws)
{
    ngx_str_t              *total, *lease, *digest;
    ngx_uint_t              room;
    ngx_pool_t             *pool;
    ngx_kanban_pg_query_t  *q;
    ngx_kanban_mail_conf_t *mcf;

    mcf = ngx_kanban_mail_sender_conf;

    room = ngx_kanban_mail_room();

    if (room == 0) {
        /* a send that ends, or the next second, asks again */
        ngx_kanban_sweep_due(ws, ngx_kanban_mail_inflight >= mcf->concurrency
                                 ? mcf->sweep
                                 : 1000 - (ngx_current_msec
                                           - ngx_kanban_mail_second));
        return NGX_DECLINED;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    total = ngx_kanban_sweep_number(pool, room, 0);
    lease = ngx_kanban_sweep_number(pool, mcf->timeout
                                          + NGX_KANBAN_MAIL_MARGIN, 1);
    digest = ngx_kanban_sweep_number(pool, mcf->digest, 1);
    q = ngx_kanban_pg_query_background(pool, &ws->db);

    if (total == NULL || lease == NULL || digest == NULL || q == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_mail_claim, ngx_kanban_mail_polled,
                          3, total, lease, digest)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_kanban_mail_polled(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                     i, n;
    ngx_uint_t              claimed;
    ngx_msec_t              wait;
    ngx_kanban_sweep_ws_t  *ws;

    ws = q->data;
    wait = NGX_KANBAN_SWEEP_NOTHING;
    claimed = 0;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_sweep_failed(ws, q);
        wait = ngx_kanban_mail_sender_conf->sweep;
        goto done;
    }

    n = PQntuples(q->result);

    for (i = 0; i < n; i++) {
        if (!PQgetisnull(q->result, i, 0)) {
            ngx_kanban_mail_start(ws, q->result, i);
            claimed++;
            continue;
        }

        wait = ngx_kanban_sweep_next_in(q->result, i, 11, wait);
    }

    if (claimed) {
        /* there may be more: asked again as room opens */
        wait = 0;
    }

done:

    ngx_destroy_pool(q->pool);

    ngx_kanban_sweep_done(ws, wait);
}


static void
ngx_kanban_mail_start(ngx_kanban_sweep_ws_t *ws, PGresult *res, int row)
{
    char                    *error;
    ngx_int_t                rc;
    ngx_str_t                err, message, kind;
    ngx_pool_t              *pool;
    ngx_kanban_mail_job_t   *job;
    ngx_kanban_mail_conf_t  *mcf;
    ngx_kanban_http_req_t   *hr;

    mcf = ngx_kanban_mail_sender_conf;

    pool = ngx_create_pool(8192, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_kanban_mail_job_t));
    if (job == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    job->pool = pool;
    job->ws = ws;
    job->msg.slug = ws->node.str;

    if (ngx_kanban_sweep_copy(pool, res, row, 0, &job->msg.id) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 1, &kind) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 2, &job->msg.user_id)
           != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 3, &job->msg.to_addr)
           != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 4, &job->msg.to_name)
           != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 5, &job->msg.subject)
           != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 6, &job->msg.text) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 7, &job->msg.html) != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 8, &job->msg.unsubscribe)
           != NGX_OK
        || ngx_kanban_sweep_copy(pool, res, row, 9, &job->msg.workspace)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return;                 /* its lease ends, and it is tried again */
    }

    ngx_kanban_mail_inflight++;
    ngx_kanban_mail_started++;

    /* the entry stays while its message is in flight */
    ngx_kanban_sweep_hold(ws);

    error = NULL;

    rc = ngx_kanban_mail_compose(pool, mcf, &job->msg, &message, &error);

    switch (rc) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        /* never sendable: failed at once, as a 5xx would */
        err.data = (u_char *) error;
        err.len = ngx_strlen(error);
        ngx_kanban_mail_record(job, &(ngx_str_t) ngx_string("554"), &err);
        return;

    default:
        ngx_str_set(&err, "the message could not be composed");
        ngx_kanban_mail_record(job, NULL, &err);
        return;
    }

    hr = ngx_kanban_http_create(pool, ngx_cycle->log);
    if (hr == NULL) {
        ngx_str_set(&err, "the message could not be sent");
        ngx_kanban_mail_record(job, NULL, &err);
        return;
    }

    job->hr = hr;

    hr->url = mcf->server;
    hr->body = message;
    hr->timeout = mcf->timeout;
    hr->allow_private = 1;      /* the operator's server, not a user's */
    hr->mail_from = mcf->from;
    hr->rcpt = job->msg.to_addr;
    hr->user = mcf->user;
    hr->password = mcf->password;
    hr->ca_file = mcf->ca_file;
    hr->starttls = mcf->starttls;
    hr->handler = ngx_kanban_mail_sent;
    hr->data = job;

    if (ngx_kanban_http_send(hr) != NGX_OK) {
        ngx_str_set(&err, "the SMTP exchange could not be started");
        ngx_kanban_mail_record(job, NULL, &err);
    }
}


static void
ngx_kanban_mail_sent(ngx_kanban_http_req_t *hr)
{
    ngx_str_t               code, *answer;
    ngx_kanban_mail_job_t  *job;

    job = hr->data;

    code.data = ngx_pnalloc(job->pool, NGX_INT_T_LEN);
    if (code.data == NULL) {
        ngx_kanban_mail_record(job, NULL, &hr->error_text);
        return;
    }

    code.len = ngx_sprintf(code.data, "%ui", hr->status) - code.data;

    if (hr->error == NGX_KANBAN_HTTP_OK) {
        ngx_kanban_mail_record(job, &code, NULL);
        return;
    }

    answer = ngx_kanban_mail_answer(hr);

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "kanban: mail %V to %V not sent: %V", &job->msg.id,
                  &job->msg.to_addr, answer);

    ngx_kanban_mail_record(job, hr->status ? &code : NULL, answer);
}


/* What went wrong, with the server's reply that says so (the last one
 * of its code: a QUIT's "221" may follow it):
 * "RCPT failed: 550: 550 5.1.1 <x@y>: Recipient address rejected". */

static ngx_str_t *
ngx_kanban_mail_answer(ngx_kanban_http_req_t *hr)
{
    u_char     *p, *end, *line, code[4];
    ngx_str_t  *s, reply;

    s = ngx_palloc(hr->pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return &hr->error_text;
    }

    ngx_str_null(&reply);

    if (hr->status >= 100 && hr->status <= 999 && hr->headers.len) {
        ngx_sprintf(code, "%03ui", hr->status);

        end = hr->headers.data + hr->headers.len;

        while (end > hr->headers.data && reply.len == 0) {
            while (end > hr->headers.data
                   && (end[-1] == '\n' || end[-1] == '\r'))
            {
                end--;
            }

            line = end;

            while (line > hr->headers.data && line[-1] != '\n') {
                line--;
            }

            if (end - line >= 3 && ngx_strncmp(line, code, 3) == 0) {
                reply.data = line;
                reply.len = ngx_min((size_t) (end - line), 1000);
            }

            end = line;
        }
    }

    s->data = ngx_pnalloc(hr->pool, hr->error_text.len + reply.len + 2);
    if (s->data == NULL) {
        return &hr->error_text;
    }

    p = ngx_cpymem(s->data, hr->error_text.data, hr->error_text.len);

    if (reply.len) {
        p = ngx_cpymem(p, ": ", 2);
        p = ngx_cpymem(p, reply.data, reply.len);
    }

    s->len = p - s->data;

    return s;
}


static void
ngx_kanban_mail_record(ngx_kanban_mail_job_t *job, ngx_str_t *code,
    ngx_str_t *answer)
{
    ngx_str_t               *base, *window;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_mail_conf_t  *mcf;

    mcf = ngx_kanban_mail_sender_conf;

    base = ngx_kanban_sweep_number(job->pool, mcf->backoff, 1);
    window = ngx_kanban_sweep_number(job->pool, mcf->window, 1);
    q = ngx_kanban_pg_query_background(job->pool, &job->ws->db);

    if (base == NULL || window == NULL || q == NULL) {
        goto failed;
    }

    q->data = job;

    if (ngx_kanban_pg_run(q, &ngx_kanban_mail_attempted,
                          ngx_kanban_mail_recorded, 5, &job->msg.id, code,
                          answer, base, window)
        == NGX_OK)
    {
        return;
    }

failed:

    ngx_kanban_mail_inflight--;
    ngx_kanban_sweep_release(job->ws);
    ngx_kanban_sweep_step(job->ws);
    ngx_destroy_pool(job->pool);
}


static void
ngx_kanban_mail_recorded(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    double                  wait;
    ngx_kanban_sweep_ws_t  *ws;
    ngx_kanban_mail_job_t  *job;

    job = q->data;
    ws = job->ws;
    wait = -1;

    if (q->error != NGX_KANBAN_PG_OK) {
        /* the lease ends and it is tried again */
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: mail %V: the attempt is not recorded: %s",
                      &job->msg.id,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");

    } else if (PQntuples(q->result) == 1 && !PQgetisnull(q->result, 0, 0)) {
        wait = strtod(PQgetvalue(q->result, 0, 0), NULL) * 1000;
    }

    ngx_kanban_mail_inflight--;
    ngx_kanban_sweep_release(ws);

    if (wait >= 0) {
        ngx_kanban_sweep_sooner(ws, (ngx_msec_t) wait);
    }

    ngx_destroy_pool(job->pool);

    /* room again: this workspace may have more queued */
    ngx_kanban_sweep_step(ws);
}

