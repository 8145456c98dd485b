
/*
 * ngx_http_kanban_events_module: the event stream, GET /api/v1/events, as
 * Server-Sent Events.
 *
 *   location = /api/v1/events {
 *       kanban_jwt on;
 *       kanban_limit zone=api;
 *       kanban_events [heartbeat=20s] [buffer=256k];
 *   }
 *
 * Authenticated as any API call (a bearer access token or an API token
 * with any scope); ?project_id= keeps one project's events; Last-Event-ID
 * (or ?last_event_id=) resumes after that event. Each event is
 * "id: N\nevent: TYPE\ndata: JSON\n\n"; a comment line every heartbeat
 * keeps idle proxies from closing the stream. A client that leaves more
 * than buffer bytes unread is dropped (it resumes with Last-Event-ID); the
 * stream ends when the access token expires, and when the worker quits (a
 * reload), cleanly, so that clients reconnect.
 *
 * Memory: a stream holds its request and a small state; the bytes of an
 * event are encoded once per worker and shared by every stream they go to
 * (ngx_kanban_events_feed.c).
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"
#include "ngx_kanban_json.h"


#define NGX_KANBAN_EVENTS_TICK      1000


typedef struct {
    ngx_flag_t                 enable;
    ngx_kanban_events_conf_t   conf;
} ngx_kanban_events_loc_conf_t;


static ngx_int_t ngx_kanban_events_handler(ngx_http_request_t *r);
static ngx_kanban_identity_t *ngx_kanban_events_admit(ngx_http_request_t *r,
    ngx_kanban_tenant_t **tenant, ngx_int_t *rc);
static ngx_int_t ngx_kanban_events_unauthorized(ngx_http_request_t *r,
    char *detail);
static ngx_kanban_events_sub_t *ngx_kanban_events_sub_create(
    ngx_http_request_t *r, ngx_kanban_identity_t *id);
static ngx_int_t ngx_kanban_events_stream_header(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_events_subscribe(ngx_http_request_t *r,
    ngx_kanban_events_sub_t *sub, ngx_kanban_tenant_t *tenant,
    ngx_kanban_identity_t *id);
static char *ngx_kanban_events_args(ngx_http_request_t *r,
    ngx_kanban_events_sub_t *sub, int64_t *after, ngx_uint_t *resume);
static void ngx_kanban_events_write_handler(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_events_output(ngx_kanban_events_sub_t *sub,
    ngx_chain_t *out);
static void ngx_kanban_events_detach(void *data);
static void ngx_kanban_events_cleanup(void *data);
static void ngx_kanban_events_expired(ngx_event_t *ev);
static void ngx_kanban_events_tick(ngx_event_t *ev);
static void ngx_kanban_events_beat(ngx_kanban_events_sub_t *sub);
static void ngx_kanban_events_quit(ngx_kanban_events_sub_t *sub);
static void ngx_kanban_events_close(ngx_kanban_events_sub_t *sub);
static char *ngx_kanban_events(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_kanban_events_create_loc_conf(ngx_conf_t *cf);
static char *ngx_kanban_events_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_kanban_events_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_events_init_process(ngx_cycle_t *cycle);
static void ngx_kanban_events_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_kanban_events_commands[] = {

    { ngx_string("kanban_events"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE12,
      ngx_kanban_events,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_events_module_ctx = {
    ngx_kanban_events_preconfiguration,    /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_events_create_loc_conf,     /* create location configuration */
    ngx_kanban_events_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_events_module = {
    NGX_MODULE_V1,
    &ngx_kanban_events_module_ctx,         /* module context */
    ngx_kanban_events_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_events_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_kanban_events_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* what every stream is sent first (how soon to reconnect), and its
 * heartbeat */
static u_char  ngx_kanban_events_retry_text[] = "retry: 2000\n\n";
static u_char  ngx_kanban_events_beat_text[] = ":\n\n";

static ngx_kanban_events_event_t  ngx_kanban_events_retry = {
    0, 0, "", NULL, 0, 0, 0, 0, 1, 0,
    sizeof(ngx_kanban_events_retry_text) - 1, ngx_kanban_events_retry_text
};

static ngx_kanban_events_event_t  ngx_kanban_events_heartbeat = {
    0, 0, "", NULL, 0, 0, 0, 0, 1, 0,
    sizeof(ngx_kanban_events_beat_text) - 1, ngx_kanban_events_beat_text
};

static ngx_event_t  ngx_kanban_events_timer;
static ngx_uint_t   ngx_kanban_events_enabled;


static ngx_int_t
ngx_kanban_events_handler(ngx_http_request_t *r)
{
    int64_t                   after;
    char                     *bad;
    ngx_int_t                 rc;
    ngx_uint_t                resume;
    ngx_kanban_tenant_t      *tenant;
    ngx_kanban_identity_t    *id;
    ngx_kanban_events_sub_t  *sub;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tenant = NULL;

    id = ngx_kanban_events_admit(r, &tenant, &rc);
    if (id == NULL) {
        return rc;
    }

    sub = ngx_kanban_events_sub_create(r, id);
    if (sub == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    bad = ngx_kanban_events_args(r, sub, &after, &resume);
    if (bad) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST, bad);
    }

    rc = ngx_kanban_events_stream_header(r);
    if (r->method == NGX_HTTP_HEAD || rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    rc = ngx_kanban_events_subscribe(r, sub, tenant, id);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_kanban_events_send(sub, &ngx_kanban_events_retry) != NGX_OK) {
        return NGX_DONE;
    }

    ngx_kanban_events_feed_start(sub, after, resume);

    return NGX_DONE;
}


/* who may open a stream: a GET or HEAD of a signed-in contributor of an
 * existing workspace, with a token still in force; NULL with the refusal
 * sent and its status in *rc */
static ngx_kanban_identity_t *
ngx_kanban_events_admit(ngx_http_request_t *r, ngx_kanban_tenant_t **tenant,
    ngx_int_t *rc)
{
    ngx_str_t               allow = ngx_string("GET, HEAD");
    ngx_kanban_identity_t  *id;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_kanban_add_header(r, "Allow", &allow) != NGX_OK) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NULL;
        }

        *rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_METHOD, NULL);
        return NULL;
    }

    *tenant = ngx_kanban_tenant(r);
    if (*tenant == NULL) {
        *rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
        return NULL;
    }

    id = ngx_kanban_identity(r);

    if (id == NULL) {
        *rc = ngx_kanban_events_unauthorized(r, "Sign in to do this.");
        return NULL;
    }

    if (id->scopes == 0 || id->level < NGX_KANBAN_ROLE_CONTRIBUTOR) {
        *rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN, NULL);
        return NULL;
    }

    /* a token past its exp, which calls accept within the leeway, opens
     * no stream: the stream would end at once, and its client reconnect
     * with it again and again */
    if (id->expires && id->expires <= ngx_time()) {
        *rc = ngx_kanban_events_unauthorized(r,
                                             "The access token has expired.");
        return NULL;
    }

    return id;
}


static ngx_int_t
ngx_kanban_events_unauthorized(ngx_http_request_t *r, char *detail)
{
    ngx_str_t  challenge = ngx_string("Bearer realm=\"kanban\"");

    if (ngx_kanban_add_header(r, "WWW-Authenticate", &challenge) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED, detail);
}


static ngx_kanban_events_sub_t *
ngx_kanban_events_sub_create(ngx_http_request_t *r, ngx_kanban_identity_t *id)
{
    ngx_kanban_events_sub_t       *sub;
    ngx_kanban_events_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_events_module);

    sub = ngx_pcalloc(r->pool, sizeof(ngx_kanban_events_sub_t));
    if (sub == NULL) {
        return NULL;
    }

    sub->request = r;
    sub->connection = r->connection;
    sub->pool = r->pool;
    sub->conf = &elcf->conf;
    sub->user_id = id->user_id;
    sub->token_id = id->token_id;
    sub->admin = (id->level == NGX_KANBAN_ROLE_ADMIN);
    sub->busy_tail = &sub->busy;
    sub->last = -1;

    return sub;
}


/* the header of an event stream, sent at once; a HEAD ends with it */
static ngx_int_t
ngx_kanban_events_stream_header(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    ngx_str_set(&r->headers_out.charset, "utf-8");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* nginx in front of this one must not hold the events back */
    h->hash = 1;
    ngx_str_set(&h->key, "X-Accel-Buffering");
    ngx_str_set(&h->value, "no");

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    return ngx_http_send_header(r);
}


/* the subscriber joins its workspace's feed and stays until the request
 * ends; NGX_OK, or NGX_ERROR when it could not join */
static ngx_int_t
ngx_kanban_events_subscribe(ngx_http_request_t *r,
    ngx_kanban_events_sub_t *sub, ngx_kanban_tenant_t *tenant,
    ngx_kanban_identity_t *id)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_cleanup_t  *hcln;

    sub->feed = ngx_kanban_events_feed_get(tenant);
    if (sub->feed == NULL) {
        return NGX_ERROR;
    }

    /* out of the feed as soon as the request ends, however it ends; its
     * buffers given back only when nginx is done with them */
    hcln = ngx_http_cleanup_add(r, 0);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (hcln == NULL || cln == NULL) {
        ngx_kanban_events_feed_leave(sub);
        return NGX_ERROR;
    }

    hcln->handler = ngx_kanban_events_detach;
    hcln->data = sub;
    cln->handler = ngx_kanban_events_cleanup;
    cln->data = sub;

    ngx_http_set_ctx(r, sub, ngx_http_kanban_events_module);
    ngx_kanban_metrics_events(1, 0, 0);

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_kanban_events_write_handler;

    /* a token's stream ends when the token does (an API token's also
     * when it is revoked: ngx_kanban_events_revoked) */
    if (id->expires) {
        sub->expiry.handler = ngx_kanban_events_expired;
        sub->expiry.data = sub;
        sub->expiry.log = r->connection->log;

        ngx_add_timer(&sub->expiry,
                      id->expires > ngx_time()
                      ? (ngx_msec_t) (id->expires - ngx_time()) * 1000 : 1);
    }

    return NGX_OK;
}


/* ?project_id=, and where to resume: Last-Event-ID, else
 * ?last_event_id=. NULL, or what is wrong. */

static char *
ngx_kanban_events_args(ngx_http_request_t *r, ngx_kanban_events_sub_t *sub,
    int64_t *after, ngx_uint_t *resume)
{
    u_char     *p, *last;
    ngx_str_t   arg, *h;
    ngx_uint_t  i;

    *after = 0;
    *resume = 0;

    if (ngx_http_arg(r, (u_char *) "project_id", 10, &arg) == NGX_OK) {
        if (!ngx_kanban_uuid_valid(&arg)) {
            return "project_id: a project's id.";
        }

        for (i = 0; i < NGX_KANBAN_EVENTS_UUID_LEN; i++) {
            sub->project[i] = ngx_tolower(arg.data[i]);
        }

        sub->has_project = 1;
    }

    h = ngx_kanban_header_in(r, "Last-Event-ID");

    if (h == NULL
        && ngx_http_arg(r, (u_char *) "last_event_id", 13, &arg) == NGX_OK)
    {
        h = &arg;
    }

    if (h == NULL) {
        return NULL;
    }

    p = h->data;
    last = h->data + h->len;

    while (p < last && *p == ' ') {
        p++;
    }

    if (p == last || last - p > 18) {
        goto invalid;
    }

    for ( /* void */ ; p < last; p++) {
        if (*p < '0' || *p > '9') {
            goto invalid;
        }

        *after = *after * 10 + (*p - '0');
    }

    *resume = 1;

    return NULL;

invalid:

    return "Last-Event-ID: an event's id, as the stream sent it.";
}


/* One event to one stream, sent now. NGX_OK, or NGX_ERROR when the stream
 * has ended (the caller must not touch it again). */

ngx_int_t
ngx_kanban_events_send(ngx_kanban_events_sub_t *sub,
    ngx_kanban_events_event_t *ev)
{
    if (ngx_kanban_events_queue(sub, ev) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_kanban_events_flush(sub);
}


/* One event to one stream, sent with the next flush: a buffer of the
 * stream's pointing at the shared bytes. A batch of events goes out in
 * one write. */

ngx_int_t
ngx_kanban_events_queue(ngx_kanban_events_sub_t *sub,
    ngx_kanban_events_event_t *ev)
{
    ngx_kanban_events_link_t  *ln;

    if (sub->done) {
        return NGX_ERROR;
    }

    if (sub->free) {
        ln = (ngx_kanban_events_link_t *) sub->free;
        sub->free = ln->cl.next;

    } else {
        ln = ngx_palloc(sub->pool, sizeof(ngx_kanban_events_link_t));
        if (ln == NULL) {
            ngx_kanban_events_end(sub, 0);
            return NGX_ERROR;
        }
    }

    ngx_memzero(&ln->buf, sizeof(ngx_buf_t));
    ln->buf.pos = ev->text;
    ln->buf.last = ev->text + ev->len;
    ln->buf.start = ln->buf.pos;
    ln->buf.end = ln->buf.last;
    ln->buf.memory = 1;
    ln->buf.flush = 1;
    ln->buf.tag = (ngx_buf_tag_t) &ngx_http_kanban_events_module;
    ln->cl.buf = &ln->buf;
    ln->cl.next = NULL;
    ln->out.buf = &ln->buf;
    ln->out.next = NULL;
    ln->ev = ev;

    if (!ev->fixed) {
        ev->refs++;
    }

    *sub->busy_tail = &ln->cl;
    sub->busy_tail = &ln->cl.next;
    sub->unsent += ev->len;
    sub->written = ngx_current_msec;

    if (sub->out == NULL) {
        sub->out = &ln->out;

    } else {
        sub->out_last->next = &ln->out;
    }

    sub->out_last = &ln->out;

    return NGX_OK;
}


/* What is queued and what is still unsent, on its way. */

ngx_int_t
ngx_kanban_events_flush(ngx_kanban_events_sub_t *sub)
{
    ngx_chain_t  *out;

    if (sub->done) {
        return NGX_ERROR;
    }

    out = sub->out;
    sub->out = NULL;

    return ngx_kanban_events_output(sub, out);
}


static ngx_int_t
ngx_kanban_events_output(ngx_kanban_events_sub_t *sub, ngx_chain_t *out)
{
    ngx_int_t                  rc;
    ngx_event_t               *wev;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    if (sub->raw) {
        return ngx_kanban_events_conn_output(sub);
    }

    r = sub->request;
    c = r->connection;
    wev = c->write;

    rc = ngx_http_output_filter(r, out);

    if (rc == NGX_ERROR) {
        ngx_kanban_events_end(sub, 0);
        return NGX_ERROR;
    }

    ngx_kanban_events_reap(sub);

    if (sub->unsent > sub->conf->buffer) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "kanban: event stream dropped: %uz bytes unread",
                      sub->unsent);
        ngx_kanban_events_end(sub, 1);
        return NGX_ERROR;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (c->buffered & NGX_HTTP_WRITE_BUFFERED) {
        if (!wev->delayed && !wev->timer_set) {
            ngx_add_timer(wev, clcf->send_timeout);
        }

    } else if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (ngx_handle_write_event(wev, clcf->send_lowat) != NGX_OK) {
        ngx_kanban_events_end(sub, 0);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The buffers nginx has sent give their events back. */

void
ngx_kanban_events_reap(ngx_kanban_events_sub_t *sub)
{
    ngx_chain_t               *cl;
    ngx_kanban_events_link_t  *ln;

    while (sub->busy) {
        cl = sub->busy;

        if (ngx_buf_size(cl->buf) != 0) {
            break;
        }

        ln = (ngx_kanban_events_link_t *) cl;

        sub->busy = cl->next;
        sub->unsent -= ln->ev->len;
        ngx_kanban_events_release(ln->ev);

        cl->next = sub->free;
        sub->free = cl;
    }

    if (sub->busy == NULL) {
        sub->busy_tail = &sub->busy;
        sub->unsent = 0;
    }
}


void
ngx_kanban_events_release(ngx_kanban_events_event_t *ev)
{
    if (ev->fixed) {
        return;
    }

    if (--ev->refs == 0) {
        ngx_free(ev);
    }
}


static void
ngx_kanban_events_write_handler(ngx_http_request_t *r)
{
    ngx_kanban_events_sub_t  *sub;

    sub = ngx_http_get_module_ctx(r, ngx_http_kanban_events_module);

    if (sub == NULL || sub->done) {
        return;
    }

    if (r->connection->write->timedout) {
        r->connection->timedout = 1;
        ngx_log_error(NGX_LOG_INFO, r->connection->log, NGX_ETIMEDOUT,
                      "kanban: event stream dropped: client timed out");
        ngx_kanban_events_end(sub, 1);
        return;
    }

    if (ngx_kanban_events_flush(sub) == NGX_OK) {
        ngx_kanban_events_resume(sub);
    }
}


/* An API token's stream ends when the token is revoked or its person
 * disabled or given another role (sql/tenant/031: the access.revoked
 * event, {"token_id": ...} or {"user_id": ...}); its client's reconnect
 * then meets the lookup's 401, or opens with the new role. A session's
 * stream keeps to its access token's expiry, as its requests do. */

ngx_uint_t
ngx_kanban_events_revokes(ngx_kanban_events_sub_t *sub,
    ngx_kanban_events_event_t *ev)
{
    if (!ev->revoke || sub->token_id.len == 0) {
        return 0;
    }

    return ngx_strlcasestrn(ev->text, ev->text + ev->len,
                            sub->token_id.data, sub->token_id.len - 1)
           != NULL
           || (sub->user_id.len
               && ngx_strlcasestrn(ev->text, ev->text + ev->len,
                                   sub->user_id.data, sub->user_id.len - 1)
                  != NULL);
}


/* Which events a stream's caller may read: their project filter, and an
 * event's readers (ngx_kanban_events_feed.c has them from PostgreSQL). */

ngx_uint_t
ngx_kanban_events_may_see(ngx_kanban_events_sub_t *sub,
    ngx_kanban_events_event_t *ev)
{
    u_char      *p, key[NGX_KANBAN_EVENTS_UUID_LEN];
    ngx_int_t    rc;
    ngx_uint_t   lo, hi, mid;

    if (ev->revoke) {
        return 0;
    }

    if (sub->has_project
        && (!ev->has_project
            || ngx_memcmp(sub->project, ev->project,
                          NGX_KANBAN_EVENTS_UUID_LEN) != 0))
    {
        return 0;
    }

    if (!ev->restricted) {
        return 1;
    }

    if (sub->admin && ev->admins) {
        return 1;
    }

    if (sub->user_id.len != NGX_KANBAN_EVENTS_UUID_LEN) {
        return 0;
    }

    /* the readers are sorted, in lower case (ngx_kanban_events_encode) */
    ngx_strlow(key, sub->user_id.data, NGX_KANBAN_EVENTS_UUID_LEN);

    lo = 0;
    hi = ev->nreaders;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        p = ev->readers + mid * NGX_KANBAN_EVENTS_UUID_LEN;
        rc = ngx_memcmp(p, key, NGX_KANBAN_EVENTS_UUID_LEN);

        if (rc == 0) {
            return 1;
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return 0;
}


/* The stream ends: dropped (a slow client, or an error), or cleanly (its
 * token expired, the worker quits) with the response's end. Its
 * buffers stay until the request is freed: nginx may still be sending
 * them. */

void
ngx_kanban_events_end(ngx_kanban_events_sub_t *sub, ngx_uint_t dropped)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (sub->done) {
        return;
    }

    ngx_kanban_events_close(sub);

    if (sub->raw) {
        if (dropped) {
            ngx_kanban_metrics_events(0, 0, 1);
        }

        ngx_kanban_events_conn_close(sub, dropped);
        return;
    }

    r = sub->request;
    c = r->connection;

    if (dropped) {
        ngx_kanban_metrics_events(0, 0, 1);
        rc = NGX_HTTP_CLOSE;

    } else {
        rc = ngx_http_send_special(r, NGX_HTTP_LAST);

        /* a quitting worker does not wait for a client that does not
         * read: its last bytes would hold the worker for send_timeout */
        rc = (rc == NGX_ERROR
              || (rc == NGX_AGAIN && (ngx_exiting || ngx_quit)))
             ? NGX_HTTP_CLOSE : NGX_OK;
    }

    ngx_http_finalize_request(r, rc);

    /* from a timer or a query's answer, nobody else runs them: a request
     * being terminated is a posted one */
    ngx_http_run_posted_requests(c);
}


/* out of its feed and its timers: nothing reaches it any more */

static void
ngx_kanban_events_close(ngx_kanban_events_sub_t *sub)
{
    sub->done = 1;

    ngx_kanban_events_feed_leave(sub);

    if (sub->expiry.timer_set) {
        ngx_del_timer(&sub->expiry);
    }

    if (sub->start.posted) {
        ngx_delete_posted_event(&sub->start);
    }

    ngx_kanban_metrics_events(-1, 0, 0);
}


static void
ngx_kanban_events_detach(void *data)
{
    ngx_kanban_events_sub_t  *sub = data;

    if (!sub->done) {
        ngx_kanban_events_close(sub);
    }
}


/* the request is freed (however it ended): its events go back */

static void
ngx_kanban_events_cleanup(void *data)
{
    ngx_kanban_events_sub_t  *sub = data;

    ngx_chain_t               *cl;
    ngx_kanban_events_link_t  *ln;

    if (!sub->done) {
        ngx_kanban_events_close(sub);
    }

    for (cl = sub->busy; cl; cl = cl->next) {
        ln = (ngx_kanban_events_link_t *) cl;
        ngx_kanban_events_release(ln->ev);
    }

    sub->busy = NULL;
    sub->busy_tail = &sub->busy;
}


static void
ngx_kanban_events_expired(ngx_event_t *ev)
{
    ngx_kanban_events_sub_t  *sub = ev->data;

    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "kanban: event stream ends: its token expired");

    ngx_kanban_events_end(sub, 0);
}


/* Every second: heartbeats to streams that have been quiet, the Redis
 * subscription kept, and, when the worker quits, every stream ended. */

static void
ngx_kanban_events_tick(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_kanban_events_feed_each_sub(ngx_kanban_events_quit);
        ngx_kanban_events_redis_exit_process((ngx_cycle_t *) ngx_cycle);
        return;
    }

    ngx_kanban_events_redis_tick();
    ngx_kanban_events_feed_each_sub(ngx_kanban_events_beat);

    ngx_add_timer(ev, NGX_KANBAN_EVENTS_TICK);
}


static void
ngx_kanban_events_beat(ngx_kanban_events_sub_t *sub)
{
    if (!sub->done
        && ngx_current_msec - sub->written >= sub->conf->heartbeat)
    {
        (void) ngx_kanban_events_send(sub, &ngx_kanban_events_heartbeat);
    }
}


/* A stream whose client has not read what it was sent is closed: the
 * clean end would wait for it, and keep the worker. */

static void
ngx_kanban_events_quit(ngx_kanban_events_sub_t *sub)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = sub->connection;

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "kanban: event stream ends: the worker quits");

    if (sub->raw) {
        ngx_kanban_events_end(sub, 0);
        return;
    }

    r = sub->request;

    if (sub->unsent || (c->buffered & NGX_HTTP_WRITE_BUFFERED)) {
        ngx_kanban_events_close(sub);
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
        ngx_http_run_posted_requests(c);
        return;
    }

    ngx_kanban_events_end(sub, 0);
}


/* kanban_events [heartbeat=time] [buffer=size] */

static char *
ngx_kanban_events(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_events_loc_conf_t  *elcf = conf;

    ssize_t                    size;
    ngx_str_t                 *value, s;
    ngx_msec_t                 msec;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (elcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    elcf->enable = 1;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "heartbeat=", 10) == 0) {
            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            msec = ngx_parse_time(&s, 0);
            if (msec == (ngx_msec_t) NGX_ERROR || msec < 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid heartbeat \"%V\" (1s or more)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            elcf->conf.heartbeat = msec;
            continue;
        }

        if (ngx_strncmp(value[i].data, "buffer=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            size = ngx_parse_size(&s);
            if (size == NGX_ERROR || size < 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid buffer \"%V\" (1k or more)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            elcf->conf.buffer = size;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_kanban_events_handler;

    ngx_kanban_events_enabled = 1;

    return NGX_CONF_OK;
}


static void *
ngx_kanban_events_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_events_loc_conf_t  *elcf;

    elcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_events_loc_conf_t));
    if (elcf == NULL) {
        return NULL;
    }

    elcf->enable = NGX_CONF_UNSET;
    elcf->conf.heartbeat = NGX_CONF_UNSET_MSEC;
    elcf->conf.buffer = NGX_CONF_UNSET_SIZE;

    return elcf;
}


static char *
ngx_kanban_events_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_kanban_events_loc_conf_t  *prev = parent;
    ngx_kanban_events_loc_conf_t  *conf = child;

    ngx_conf_merge_msec_value(conf->conf.heartbeat, prev->conf.heartbeat,
                              20000);
    ngx_conf_merge_size_value(conf->conf.buffer, prev->conf.buffer,
                              256 * 1024);

    return NGX_CONF_OK;
}


/* each configuration says anew whether it streams events */

static ngx_int_t
ngx_kanban_events_preconfiguration(ngx_conf_t *cf)
{
    ngx_kanban_events_enabled = 0;

    return NGX_OK;
}


/* The worker's feeds, its Redis subscription and its tick, when some
 * location streams events. The tick is not cancelable: a quitting worker
 * waits for it, and it ends the streams. */

static ngx_int_t
ngx_kanban_events_init_process(ngx_cycle_t *cycle)
{
    if (!ngx_kanban_events_enabled) {
        return NGX_OK;
    }

    if (ngx_kanban_events_feed_init_process(cycle) != NGX_OK
        || ngx_kanban_events_redis_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kanban_events_timer.handler = ngx_kanban_events_tick;
    ngx_kanban_events_timer.log = cycle->log;
    ngx_kanban_events_timer.data = &ngx_kanban_events_timer;

    ngx_add_timer(&ngx_kanban_events_timer, NGX_KANBAN_EVENTS_TICK);

    return NGX_OK;
}


static void
ngx_kanban_events_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_kanban_events_enabled) {
        ngx_kanban_events_redis_exit_process(cycle);
    }
}
