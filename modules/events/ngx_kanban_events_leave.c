
/*
 * A stream leaves its feed: out of the feed's lists, a query in flight
 * told that it is gone. Asked by the stream's end (ngx_kanban_events_write.c)
 * and by a subscription that could not start (ngx_kanban_events_admit.c);
 * it asks nothing, so the writing below the feed need not call up into it.
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"


void
ngx_kanban_events_feed_leave(ngx_kanban_events_sub_t *sub)
{
    ngx_kanban_events_query_t  *eq;

    if (sub->querying) {
        /* its answer finds nobody */
        eq = sub->query;
        eq->sub = NULL;
        sub->querying = 0;
    }

    sub->live = 0;

    if (sub->writing) {
        sub->writing = 0;
        ngx_queue_remove(&sub->write_queue);
    }

    if (sub->joined) {
        sub->joined = 0;
        ngx_queue_remove(&sub->queue);
    }

    if (sub->feed) {
        sub->feed->nsubs--;
        sub->feed = NULL;
    }
}
