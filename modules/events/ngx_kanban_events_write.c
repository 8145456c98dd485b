
/*
 * A workspace stream's end and its request's hooks: what the core's
 * writer (ngx_kanban_module/ngx_kanban_sse.c) is told when a stream
 * closes (out of its feed and its timers), the request's write handler,
 * and its cleanups (its events given back when the request is freed).
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"


/* nothing reaches the stream any more: out of its feed and its timers */

void
ngx_kanban_events_closed(ngx_kanban_sse_t *s, ngx_uint_t dropped)
{
    ngx_kanban_events_sub_t  *sub = (ngx_kanban_events_sub_t *) s;

    ngx_kanban_events_feed_leave(sub);

    if (sub->expiry.timer_set) {
        ngx_del_timer(&sub->expiry);
    }

    if (sub->start.posted) {
        ngx_delete_posted_event(&sub->start);
    }

    ngx_kanban_metrics_events(-1, 0, dropped ? 1 : 0);
}


void
ngx_kanban_events_write_handler(ngx_http_request_t *r)
{
    ngx_kanban_events_sub_t  *sub;

    sub = ngx_http_get_module_ctx(r, ngx_http_kanban_events_module);

    if (sub != NULL) {
        ngx_kanban_sse_writable(&sub->sse);
    }
}


void
ngx_kanban_events_detach(void *data)
{
    ngx_kanban_events_sub_t  *sub = data;

    ngx_kanban_sse_close(&sub->sse, 0);
}


/* the request is freed (however it ended): its events go back */

void
ngx_kanban_events_cleanup(void *data)
{
    ngx_kanban_events_sub_t  *sub = data;

    ngx_kanban_sse_close(&sub->sse, 0);
    ngx_kanban_sse_release_busy(&sub->sse);
}


void
ngx_kanban_events_expired(ngx_event_t *ev)
{
    ngx_kanban_events_sub_t  *sub = ev->data;

    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "kanban: event stream ends: its token expired");

    ngx_kanban_events_end(sub, 0);
}
