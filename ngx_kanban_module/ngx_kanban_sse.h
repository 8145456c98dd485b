
/*
 * Server-Sent Events: what every stream the platform serves needs, and
 * none of what it streams. A module (modules/events/ for a workspace's
 * events, modules/platform/ for the operators') embeds an
 * ngx_kanban_sse_t first in its stream and an ngx_kanban_sse_event_t
 * first in its events, and gets:
 *
 *   - the response's head (ngx_kanban_sse_header) and where a client
 *     resumes (ngx_kanban_sse_last_event_id: Last-Event-ID, else
 *     ?last_event_id=);
 *   - the writer: an event's bytes encoded once and shared by every
 *     stream they go to, queued as buffers that point at them, a batch
 *     flushed in one write, the buffers nginx has sent given back, a
 *     client that leaves more than conf->buffer unread dropped;
 *   - the end: dropped (a reset-like close) or clean (the response's
 *     end), the module told once through s->closed;
 *   - the heartbeat and the retry line every stream is sent first, and
 *     the [heartbeat=] [buffer=] parameters of a module's directive.
 *
 * The module keeps its own ctx, cleanups and timers, and calls
 * ngx_kanban_sse_writable from its request's write handler.
 */

#ifndef _NGX_KANBAN_SSE_H_INCLUDED_
#define _NGX_KANBAN_SSE_H_INCLUDED_


#include "ngx_kanban.h"


typedef struct ngx_kanban_sse_s  ngx_kanban_sse_t;


/* One event's bytes ("id: ..\n\n"), shared: freed (ngx_free) when the
 * last stream has sent them, unless fixed. */
typedef struct {
    ngx_uint_t                 refs;
    size_t                     len;
    u_char                    *text;
    unsigned                   fixed:1;        /* static: never freed */
} ngx_kanban_sse_event_t;


/* a buffer of one stream pointing at a shared event */
typedef struct {
    ngx_chain_t                cl;             /* in the stream's busy */
    ngx_chain_t                out;            /* in its next write */
    ngx_buf_t                  buf;
    ngx_kanban_sse_event_t    *ev;
} ngx_kanban_sse_link_t;


typedef struct {
    ngx_msec_t                 heartbeat;
    size_t                     buffer;         /* unsent bytes, then drop */
} ngx_kanban_sse_conf_t;


struct ngx_kanban_sse_s {
    ngx_http_request_t        *request;        /* NULL once taken over */
    ngx_connection_t          *connection;
    ngx_pool_t                *pool;           /* its buffers' */
    ngx_msec_t                 send_timeout;
    ngx_kanban_sse_conf_t     *conf;

    ngx_chain_t               *busy;           /* handed to nginx, unsent */
    ngx_chain_t              **busy_tail;
    ngx_chain_t               *free;
    ngx_chain_t               *out;            /* queued, not yet written */
    ngx_chain_t               *out_last;
    size_t                     unsent;
    ngx_msec_t                 written;        /* when it last got bytes */

    /* the module's: told once that nothing reaches the stream any more
     * (dropped: for a slow or failed client); a paused sender, to go on
     * once the client has read; a stream on its own connection's output
     * and close (raw) */
    void                     (*closed)(ngx_kanban_sse_t *s,
                                       ngx_uint_t dropped);
    void                     (*resume)(ngx_kanban_sse_t *s);
    ngx_int_t                (*raw_output)(ngx_kanban_sse_t *s);
    void                     (*raw_close)(ngx_kanban_sse_t *s,
                                          ngx_uint_t dropped);

    unsigned                   done:1;
    unsigned                   raw:1;          /* on its own connection */
};


extern ngx_kanban_sse_event_t  ngx_kanban_sse_retry;
extern ngx_kanban_sse_event_t  ngx_kanban_sse_heartbeat;


void ngx_kanban_sse_init(ngx_kanban_sse_t *s, ngx_http_request_t *r,
    ngx_kanban_sse_conf_t *conf);
ngx_int_t ngx_kanban_sse_header(ngx_http_request_t *r);
char *ngx_kanban_sse_last_event_id(ngx_http_request_t *r, int64_t *after,
    ngx_uint_t *resume);

ngx_int_t ngx_kanban_sse_send(ngx_kanban_sse_t *s,
    ngx_kanban_sse_event_t *ev);
ngx_int_t ngx_kanban_sse_queue(ngx_kanban_sse_t *s,
    ngx_kanban_sse_event_t *ev);
ngx_int_t ngx_kanban_sse_flush(ngx_kanban_sse_t *s);
ngx_int_t ngx_kanban_sse_unread(ngx_kanban_sse_t *s);
void ngx_kanban_sse_reap(ngx_kanban_sse_t *s);
void ngx_kanban_sse_release(ngx_kanban_sse_event_t *ev);
void ngx_kanban_sse_release_busy(ngx_kanban_sse_t *s);

void ngx_kanban_sse_writable(ngx_kanban_sse_t *s);
void ngx_kanban_sse_beat(ngx_kanban_sse_t *s);
void ngx_kanban_sse_end(ngx_kanban_sse_t *s, ngx_uint_t dropped);
void ngx_kanban_sse_quit(ngx_kanban_sse_t *s);
void ngx_kanban_sse_close(ngx_kanban_sse_t *s, ngx_uint_t dropped);

ngx_int_t ngx_kanban_sse_conf_arg(ngx_conf_t *cf, ngx_str_t *arg,
    ngx_kanban_sse_conf_t *conf);
void ngx_kanban_sse_conf_merge(ngx_kanban_sse_conf_t *conf,
    ngx_kanban_sse_conf_t *prev);


#endif /* _NGX_KANBAN_SSE_H_INCLUDED_ */
