
/*
 * What an event stream may read, event by event: its project filter and
 * the event's readers, and whether the event ends the stream (its API
 * token revoked, its person disabled or given another role). The feed
 * asks it of every event it hands to a stream, live or replayed.
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"


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

    return ngx_strlcasestrn(ev->sse.text, ev->sse.text + ev->sse.len,
                            sub->token_id.data, sub->token_id.len - 1)
           != NULL
           || (sub->user_id.len
               && ngx_strlcasestrn(ev->sse.text, ev->sse.text + ev->sse.len,
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
