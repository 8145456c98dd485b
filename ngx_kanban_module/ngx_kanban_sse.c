
/*
 * Server-Sent Events, the part every stream shares (ngx_kanban_sse.h):
 * the head, where a client resumes, the writer of shared events, the
 * heartbeat and the end. Moved here from modules/events/ when the
 * operators' stream (modules/platform/) came to need the same.
 */

/* SQL: none of its own */
#include "ngx_kanban_sse.h"


static ngx_int_t ngx_kanban_sse_output(ngx_kanban_sse_t *s,
    ngx_chain_t *out);


/* what every stream is sent first (how soon to reconnect), and its
 * heartbeat: a comment line that keeps idle proxies from closing it */
static u_char  ngx_kanban_sse_retry_text[] = "retry: 2000\n\n";
static u_char  ngx_kanban_sse_beat_text[] = ":\n\n";

ngx_kanban_sse_event_t  ngx_kanban_sse_retry = {
    0, sizeof(ngx_kanban_sse_retry_text) - 1, ngx_kanban_sse_retry_text, 1
};

ngx_kanban_sse_event_t  ngx_kanban_sse_heartbeat = {
    0, sizeof(ngx_kanban_sse_beat_text) - 1, ngx_kanban_sse_beat_text, 1
};


void
ngx_kanban_sse_init(ngx_kanban_sse_t *s, ngx_http_request_t *r,
    ngx_kanban_sse_conf_t *conf)
{
    s->request = r;
    s->connection = r->connection;
    s->pool = r->pool;
    s->conf = conf;
    s->busy_tail = &s->busy;
    s->written = ngx_current_msec;
}


/* the head of an event stream, sent at once; a HEAD ends with it */

ngx_int_t
ngx_kanban_sse_header(ngx_http_request_t *r)
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


/* Where to resume: Last-Event-ID, else ?last_event_id= (an EventSource
 * cannot set headers on its first connection). NULL, or what is wrong. */

char *
ngx_kanban_sse_last_event_id(ngx_http_request_t *r, int64_t *after,
    ngx_uint_t *resume)
{
    u_char     *p, *last;
    ngx_str_t   arg, *h;

    *after = 0;
    *resume = 0;

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
ngx_kanban_sse_send(ngx_kanban_sse_t *s, ngx_kanban_sse_event_t *ev)
{
    if (ngx_kanban_sse_queue(s, ev) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_kanban_sse_flush(s);
}


/* One event to one stream, sent with the next flush: a buffer of the
 * stream's pointing at the shared bytes. A batch of events goes out in
 * one write. */

ngx_int_t
ngx_kanban_sse_queue(ngx_kanban_sse_t *s, ngx_kanban_sse_event_t *ev)
{
    ngx_kanban_sse_link_t  *ln;

    if (s->done) {
        return NGX_ERROR;
    }

    if (s->free) {
        ln = (ngx_kanban_sse_link_t *) s->free;
        s->free = ln->cl.next;

    } else {
        ln = ngx_palloc(s->pool, sizeof(ngx_kanban_sse_link_t));
        if (ln == NULL) {
            ngx_kanban_sse_end(s, 0);
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
    ln->buf.tag = (ngx_buf_tag_t) &ngx_kanban_sse_queue;
    ln->cl.buf = &ln->buf;
    ln->cl.next = NULL;
    ln->out.buf = &ln->buf;
    ln->out.next = NULL;
    ln->ev = ev;

    if (!ev->fixed) {
        ev->refs++;
    }

    *s->busy_tail = &ln->cl;
    s->busy_tail = &ln->cl.next;
    s->unsent += ev->len;
    s->written = ngx_current_msec;

    if (s->out == NULL) {
        s->out = &ln->out;

    } else {
        s->out_last->next = &ln->out;
    }

    s->out_last = &ln->out;

    return NGX_OK;
}


/* What is queued and what is still unsent, on its way. */

ngx_int_t
ngx_kanban_sse_flush(ngx_kanban_sse_t *s)
{
    ngx_chain_t  *out;

    if (s->done) {
        return NGX_ERROR;
    }

    out = s->out;
    s->out = NULL;

    return ngx_kanban_sse_output(s, out);
}


static ngx_int_t
ngx_kanban_sse_output(ngx_kanban_sse_t *s, ngx_chain_t *out)
{
    ngx_int_t                  rc;
    ngx_event_t               *wev;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    if (s->raw) {
        return s->raw_output(s);
    }

    r = s->request;
    c = r->connection;
    wev = c->write;

    rc = ngx_http_output_filter(r, out);

    if (rc == NGX_ERROR) {
        ngx_kanban_sse_end(s, 0);
        return NGX_ERROR;
    }

    if (ngx_kanban_sse_unread(s) != NGX_OK) {
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
        ngx_kanban_sse_end(s, 0);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* After a write: the buffers sent give their events back, and a client
 * that leaves more than buffer bytes unread is dropped (NGX_ERROR); it
 * resumes with Last-Event-ID. */

ngx_int_t
ngx_kanban_sse_unread(ngx_kanban_sse_t *s)
{
    ngx_kanban_sse_reap(s);

    if (s->unsent > s->conf->buffer) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "kanban: event stream dropped: %uz bytes unread",
                      s->unsent);
        ngx_kanban_sse_end(s, 1);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The buffers nginx has sent give their events back. */

void
ngx_kanban_sse_reap(ngx_kanban_sse_t *s)
{
    ngx_chain_t            *cl;
    ngx_kanban_sse_link_t  *ln;

    while (s->busy) {
        cl = s->busy;

        if (ngx_buf_size(cl->buf) != 0) {
            break;
        }

        ln = (ngx_kanban_sse_link_t *) cl;

        s->busy = cl->next;
        s->unsent -= ln->ev->len;
        ngx_kanban_sse_release(ln->ev);

        cl->next = s->free;
        s->free = cl;
    }

    if (s->busy == NULL) {
        s->busy_tail = &s->busy;
        s->unsent = 0;
    }
}


void
ngx_kanban_sse_release(ngx_kanban_sse_event_t *ev)
{
    if (ev->fixed) {
        return;
    }

    if (--ev->refs == 0) {
        ngx_free(ev);
    }
}


/* the stream is freed (its request's pool, or its connection): every
 * event it still points at goes back */

void
ngx_kanban_sse_release_busy(ngx_kanban_sse_t *s)
{
    ngx_chain_t  *cl;

    for (cl = s->busy; cl; cl = cl->next) {
        ngx_kanban_sse_release(((ngx_kanban_sse_link_t *) cl)->ev);
    }

    s->busy = NULL;
    s->busy_tail = &s->busy;
}


/* The client can take more: what waits goes, or a client that took too
 * long is dropped. From the module's write handler. */

void
ngx_kanban_sse_writable(ngx_kanban_sse_t *s)
{
    ngx_connection_t  *c;

    if (s->done) {
        return;
    }

    c = s->connection;

    if (c->write->timedout) {
        c->timedout = 1;
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "kanban: event stream dropped: client timed out");
        ngx_kanban_sse_end(s, 1);
        return;
    }

    if (ngx_kanban_sse_flush(s) == NGX_OK && s->resume) {
        s->resume(s);
    }
}


/* a comment line to a stream that has been quiet for its heartbeat */

void
ngx_kanban_sse_beat(ngx_kanban_sse_t *s)
{
    if (!s->done
        && (s->raw || s->request->header_sent)
        && ngx_current_msec - s->written >= s->conf->heartbeat)
    {
        (void) ngx_kanban_sse_send(s, &ngx_kanban_sse_heartbeat);
    }
}


/* The stream ends: dropped (a slow client, or an error), or cleanly (its
 * token expired, the worker quits) with the response's end. Its
 * buffers stay until the request is freed: nginx may still be sending
 * them. */

void
ngx_kanban_sse_end(ngx_kanban_sse_t *s, ngx_uint_t dropped)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (s->done) {
        return;
    }

    ngx_kanban_sse_close(s, dropped);

    if (s->raw) {
        s->raw_close(s, dropped);
        return;
    }

    r = s->request;
    c = r->connection;

    if (dropped) {
        rc = NGX_HTTP_CLOSE;

    } else if (!r->header_sent) {
        /* ended before it could start (a stream's head may wait for
         * where its log stands): the client tries again */
        rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE,
                                "The event stream could not start; "
                                "try again.");
        if (rc == NGX_ERROR || rc > NGX_OK) {
            rc = NGX_HTTP_CLOSE;
        }

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


/* The worker quits: a stream whose client has not read what it was sent
 * is closed (the clean end would wait for it, and keep the worker), any
 * other ends cleanly so that its client reconnects. */

void
ngx_kanban_sse_quit(ngx_kanban_sse_t *s)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (s->done) {
        return;
    }

    c = s->connection;

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "kanban: event stream ends: the worker quits");

    if (s->raw) {
        ngx_kanban_sse_end(s, 0);
        return;
    }

    r = s->request;

    if (s->unsent || (c->buffered & NGX_HTTP_WRITE_BUFFERED)) {
        ngx_kanban_sse_close(s, 0);
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
        ngx_http_run_posted_requests(c);
        return;
    }

    ngx_kanban_sse_end(s, 0);
}


/* nothing reaches the stream any more: the module is told, once */

void
ngx_kanban_sse_close(ngx_kanban_sse_t *s, ngx_uint_t dropped)
{
    if (s->done) {
        return;
    }

    s->done = 1;

    if (s->closed) {
        s->closed(s, dropped);
    }
}


/* one "heartbeat=time" or "buffer=size" of a module's directive: NGX_OK,
 * NGX_ERROR (logged), or NGX_DECLINED when it is neither */

ngx_int_t
ngx_kanban_sse_conf_arg(ngx_conf_t *cf, ngx_str_t *arg,
    ngx_kanban_sse_conf_t *conf)
{
    ssize_t     size;
    ngx_str_t   s;
    ngx_msec_t  msec;

    if (ngx_strncmp(arg->data, "heartbeat=", 10) == 0) {
        s.data = arg->data + 10;
        s.len = arg->len - 10;

        msec = ngx_parse_time(&s, 0);
        if (msec == (ngx_msec_t) NGX_ERROR || msec < 1000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid heartbeat \"%V\" (1s or more)", arg);
            return NGX_ERROR;
        }

        conf->heartbeat = msec;
        return NGX_OK;
    }

    if (ngx_strncmp(arg->data, "buffer=", 7) == 0) {
        s.data = arg->data + 7;
        s.len = arg->len - 7;

        size = ngx_parse_size(&s);
        if (size == NGX_ERROR || size < 1024) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid buffer \"%V\" (1k or more)", arg);
            return NGX_ERROR;
        }

        conf->buffer = size;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


void
ngx_kanban_sse_conf_merge(ngx_kanban_sse_conf_t *conf,
    ngx_kanban_sse_conf_t *prev)
{
    ngx_conf_merge_msec_value(conf->heartbeat, prev->heartbeat, 20000);
    ngx_conf_merge_size_value(conf->buffer, prev->buffer, 256 * 1024);
}
