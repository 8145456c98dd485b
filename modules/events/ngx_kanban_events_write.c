
/*
 * Writing an event stream: events queued as buffers that point at the
 * shared bytes, a batch flushed in one write, the buffers nginx has sent
 * given back, a client that does not read dropped; and the stream's end
 * (dropped, or cleanly with the response's end), out of its feed and its
 * timers, its events given back when the request is freed.
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"


static ngx_int_t ngx_kanban_events_output(ngx_kanban_events_sub_t *sub,
    ngx_chain_t *out);


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
        return sub->raw_output(sub);
    }

    r = sub->request;
    c = r->connection;
    wev = c->write;

    rc = ngx_http_output_filter(r, out);

    if (rc == NGX_ERROR) {
        ngx_kanban_events_end(sub, 0);
        return NGX_ERROR;
    }

    if (ngx_kanban_events_unread(sub) != NGX_OK) {
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


/* After a write: the buffers sent give their events back, and a client
 * that leaves more than buffer bytes unread is dropped (NGX_ERROR); it
 * resumes with Last-Event-ID. */

ngx_int_t
ngx_kanban_events_unread(ngx_kanban_events_sub_t *sub)
{
    ngx_kanban_events_reap(sub);

    if (sub->unsent > sub->conf->buffer) {
        ngx_log_error(NGX_LOG_INFO, sub->connection->log, 0,
                      "kanban: event stream dropped: %uz bytes unread",
                      sub->unsent);
        ngx_kanban_events_end(sub, 1);
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


void
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

    if (ngx_kanban_events_flush(sub) == NGX_OK && sub->resume) {
        sub->resume(sub);
    }
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

        sub->raw_close(sub, dropped);
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

void
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


void
ngx_kanban_events_detach(void *data)
{
    ngx_kanban_events_sub_t  *sub = data;

    if (!sub->done) {
        ngx_kanban_events_close(sub);
    }
}


/* the request is freed (however it ended): its events go back */

void
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


void
ngx_kanban_events_expired(ngx_event_t *ev)
{
    ngx_kanban_events_sub_t  *sub = ev->data;

    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "kanban: event stream ends: its token expired");

    ngx_kanban_events_end(sub, 0);
}
