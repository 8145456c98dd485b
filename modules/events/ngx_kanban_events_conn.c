
/*
 * A stream's start and its own connection. Its head goes once the stream
 * knows where the log stands (a client that has it may write at once and
 * must hear of that write). Once a stream has started, the HTTP request
 * has nothing more to do: its pool (some 9 KB: the request, its headers,
 * the token's claims) is freed, and the stream lives on in the
 * connection's pool, writing its events with the connection's
 * send_chain. A stream then costs its connection and a few hundred
 * bytes.
 *
 * Only an HTTP/1.x response that is not chunked (chunked_transfer_encoding
 * off in the location, as the shipped configuration has it) whose head
 * has gone out whole is taken over; any other stays a request and works
 * the same (ngx_kanban_events_module.c).
 *
 * The response has no length: it ends when the connection closes, cleanly
 * (a FIN: the token expired, the worker quits) or, for a client dropped
 * for reading too slowly, with a reset.
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"


static void ngx_kanban_events_conn_read(ngx_event_t *rev);
static void ngx_kanban_events_conn_write(ngx_event_t *wev);
static ngx_uint_t ngx_kanban_events_can_take_over(
    ngx_kanban_events_sub_t *sub);


/* The stream knows where the log stands: its head, then how soon to
 * reconnect. Not before: a client that has the head may write at once
 * and expects to hear of it. NGX_OK, or NGX_ERROR when the stream has
 * ended. */

ngx_int_t
ngx_kanban_events_open(ngx_kanban_events_sub_t *sub)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = sub->sse.request;

    rc = ngx_kanban_sse_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK) {
        ngx_kanban_events_end(sub, 1);
        return NGX_ERROR;
    }

    return ngx_kanban_sse_send(&sub->sse, &ngx_kanban_sse_retry);
}


ngx_kanban_events_sub_t *
ngx_kanban_events_take_over(ngx_kanban_events_sub_t *sub)
{
    size_t                     len;
    ngx_msec_t                 expiry;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_kanban_events_sub_t   *s;
    ngx_http_core_loc_conf_t  *clcf;

    r = sub->sse.request;
    c = r->connection;

    if (!ngx_kanban_events_can_take_over(sub)) {
        return sub;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    len = sizeof(ngx_kanban_events_sub_t) + sub->user_id.len
          + sub->token_id.len;

    s = ngx_palloc(c->pool, len);
    if (s == NULL) {
        return sub;
    }

    ngx_memcpy(s, sub, sizeof(ngx_kanban_events_sub_t));

    /* an empty id (a session, no API token) has no data: memcpy() of
     * NULL is undefined even for no bytes */
    s->user_id.data = (u_char *) (s + 1);
    if (sub->user_id.len) {
        ngx_memcpy(s->user_id.data, sub->user_id.data, sub->user_id.len);
    }

    s->token_id.data = s->user_id.data + s->user_id.len;
    if (sub->token_id.len) {
        ngx_memcpy(s->token_id.data, sub->token_id.data, sub->token_id.len);
    }

    /* the old one's place in its feed, and its timer */
    ngx_queue_remove(&sub->queue);
    ngx_queue_insert_tail(&s->feed->subs, &s->queue);

    expiry = 0;

    if (sub->expiry.timer_set) {
        expiry = sub->expiry.timer.key - ngx_current_msec;
        if ((ngx_msec_int_t) expiry <= 0) {
            expiry = 1;
        }

        ngx_del_timer(&sub->expiry);
    }

    ngx_memzero(&s->expiry, sizeof(ngx_event_t));
    s->expiry.handler = sub->expiry.handler;
    s->expiry.data = s;
    s->expiry.log = c->log;
    ngx_memzero(&s->start, sizeof(ngx_event_t));

    if (expiry) {
        ngx_add_timer(&s->expiry, expiry);
    }

    s->sse.busy = NULL;
    s->sse.busy_tail = &s->sse.busy;
    s->sse.free = NULL;
    s->sse.out = NULL;
    s->sse.request = NULL;
    s->sse.connection = c;
    s->sse.pool = c->pool;
    s->sse.send_timeout = clcf->send_timeout;
    s->sse.raw = 1;
    s->sse.raw_output = ngx_kanban_events_conn_output;
    s->sse.raw_close = ngx_kanban_events_conn_close;

    /* the request goes, and its cleanups with it: none is ours now */
    sub->sse.done = 1;
    sub->feed = NULL;
    sub->joined = 0;

    ngx_http_free_request(r, 0);

    c->destroyed = 0;
    c->data = s;
    c->log->action = "streaming events";
    c->read->handler = ngx_kanban_events_conn_read;
    c->write->handler = ngx_kanban_events_conn_write;

    /* the buffer the request's head was read into */
    if (c->buffer) {
        (void) ngx_pfree(c->pool, c->buffer->start);
        c->buffer = NULL;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_kanban_events_end(s, 0);
        return NULL;
    }

    return s;
}


/* only a quiet HTTP/1 stream with nothing of the request's left to send
 * or to wait for can leave its request behind */
static ngx_uint_t
ngx_kanban_events_can_take_over(ngx_kanban_events_sub_t *sub)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = sub->sse.request;
    c = r->connection;

#if (NGX_HTTP_V2)
    if (r->stream) {
        return 0;
    }
#endif

    if (sub->sse.raw || r->chunked || r->out || r->postponed || sub->sse.busy
        || (c->buffered & NGX_HTTP_WRITE_BUFFERED) || c->error
        || r != r->main || r->main->count != 1 || r->blocked)
    {
        return 0;
    }

    return 1;
}


/* The stream's unsent buffers, in order, to the socket. */

ngx_int_t
ngx_kanban_events_conn_output(ngx_kanban_sse_t *s)
{
    ngx_chain_t       *rest;
    ngx_event_t       *wev;
    ngx_connection_t  *c;

    c = s->connection;
    wev = c->write;

    if (s->busy && wev->ready) {
        rest = c->send_chain(c, s->busy, 0);

        if (rest == NGX_CHAIN_ERROR) {
            c->error = 1;
            ngx_kanban_sse_end(s, 0);
            return NGX_ERROR;
        }
    }

    if (ngx_kanban_sse_unread(s) != NGX_OK) {
        return NGX_ERROR;
    }

    if (s->busy) {
        if (!wev->timer_set) {
            ngx_add_timer(wev, s->send_timeout);
        }

    } else if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_kanban_sse_end(s, 0);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The connection closes: with a reset for a client dropped (it must not
 * take what it got for the end of a response), else with a FIN. */

void
ngx_kanban_events_conn_close(ngx_kanban_sse_t *s, ngx_uint_t dropped)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *c;
    struct linger      linger;

    c = s->connection;

    ngx_kanban_sse_release_busy(s);

    if (dropped) {
        linger.l_onoff = 1;
        linger.l_linger = 0;

        (void) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger,
                          sizeof(struct linger));
    }

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

#if (NGX_STAT_STUB)
    (void) ngx_atomic_fetch_add(ngx_stat_active, -1);
#endif

    /* what ngx_http_close_connection does, the request gone before */
    pool = c->pool;

    ngx_close_connection(c);
    ngx_destroy_pool(pool);
}


/* The client sends nothing more; what it sends is dropped, and its end
 * ends the stream. */

static void
ngx_kanban_events_conn_read(ngx_event_t *rev)
{
    u_char                    buf[256];
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_kanban_events_sub_t  *sub;

    c = rev->data;
    sub = c->data;

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "kanban: event stream closed by the client");
            c->error = 1;
            ngx_kanban_events_end(sub, 0);
            return;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_kanban_events_end(sub, 0);
    }
}


static void
ngx_kanban_events_conn_write(ngx_event_t *wev)
{
    ngx_connection_t         *c;
    ngx_kanban_events_sub_t  *sub;

    c = wev->data;
    sub = c->data;

    ngx_kanban_sse_writable(&sub->sse);
}
