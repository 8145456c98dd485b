
/*
 * The event stream (GET /api/v1/events): what its module (directives,
 * handler, worker tick), its admission, its writing, the worker's feeds
 * of each workspace's events, its own connection and the worker's Redis
 * subscription share.
 */

#ifndef _NGX_KANBAN_EVENTS_H_INCLUDED_
#define _NGX_KANBAN_EVENTS_H_INCLUDED_


#include "ngx_kanban_pg.h"
#include "ngx_kanban_sse.h"


#define NGX_KANBAN_EVENTS_UUID_LEN   36
#define NGX_KANBAN_EVENTS_BATCH      500     /* rows a query reads at most */


typedef struct ngx_kanban_events_feed_s  ngx_kanban_events_feed_t;
typedef struct ngx_kanban_events_sub_s   ngx_kanban_events_sub_t;


/* One event as the stream sends it, encoded once and shared by every
 * subscriber it goes to (its bytes and count in sse: the core's writer
 * frees it when the last has sent it). */
typedef struct {
    ngx_kanban_sse_event_t     sse;            /* first */
    int64_t                    id;
    u_char                     project[NGX_KANBAN_EVENTS_UUID_LEN];
    u_char                    *readers;        /* uuids, lower case, 36
                                                  bytes each, sorted */
    ngx_uint_t                 nreaders;
    unsigned                   restricted:1;   /* readers named: else all */
    unsigned                   admins:1;
    unsigned                   has_project:1;
    unsigned                   revoke:1;       /* access.revoked: for the
                                                  feed, sent to nobody */
} ngx_kanban_events_event_t;


typedef ngx_kanban_sse_conf_t  ngx_kanban_events_conf_t;


/* a query of a feed or of one stream: its own pool, gone with it */
typedef struct {
    ngx_pool_t                *pool;
    ngx_kanban_events_feed_t  *feed;
    ngx_kanban_events_sub_t   *sub;            /* NULL: the feed's own */
} ngx_kanban_events_query_t;


/* A stream: one per request, in its workspace's feed. Its writing is the
 * core's (sse, first: a stream is found from it by a cast). */
struct ngx_kanban_events_sub_s {
    ngx_kanban_sse_t           sse;            /* first */
    ngx_queue_t                queue;          /* in its feed */
    ngx_queue_t                write_queue;    /* a batch to write */
    ngx_kanban_events_feed_t  *feed;

    int64_t                    last;           /* the last id it has had */
    ngx_str_t                  user_id;
    ngx_str_t                  token_id;       /* an API token's, else "" */
    u_char                     project[NGX_KANBAN_EVENTS_UUID_LEN];

    void                      *query;          /* in flight, when querying */

    ngx_event_t                expiry;         /* its token's */
    ngx_event_t                start;          /* posted: started at once */

    unsigned                   admin:1;
    unsigned                   has_project:1;
    unsigned                   joined:1;       /* in its feed's subs */
    unsigned                   live:1;         /* caught up: fed live */
    unsigned                   querying:1;
    unsigned                   paused:1;       /* a replay, for the client */
    unsigned                   writing:1;      /* in write_queue */
};


/* the core's writer, called with this module's types */
#define ngx_kanban_events_send(sub, ev)                                       \
    ngx_kanban_sse_send(&(sub)->sse, &(ev)->sse)
#define ngx_kanban_events_queue(sub, ev)                                      \
    ngx_kanban_sse_queue(&(sub)->sse, &(ev)->sse)
#define ngx_kanban_events_release(ev)  ngx_kanban_sse_release(&(ev)->sse)
#define ngx_kanban_events_flush(sub)   ngx_kanban_sse_flush(&(sub)->sse)
#define ngx_kanban_events_end(sub, dropped)                                   \
    ngx_kanban_sse_end(&(sub)->sse, dropped)


/* A workspace's events in this worker: its subscribers and where the
 * log stands for them. */
struct ngx_kanban_events_feed_s {
    ngx_str_node_t             node;           /* by slug */
    ngx_queue_t                subs;           /* its streams, all */
    ngx_kanban_pg_db_t         db;
    int64_t                    last;           /* -1: not known yet */
    ngx_uint_t                 nsubs;          /* its streams */
    ngx_uint_t                 queries;        /* in flight */
    unsigned                   fetching:1;
    unsigned                   again:1;
};


extern ngx_module_t  ngx_http_kanban_events_module;


/* feeds (ngx_kanban_events_feed.c) */
ngx_int_t ngx_kanban_events_feed_init_process(ngx_cycle_t *cycle);
void ngx_kanban_events_feed_exit_process(ngx_cycle_t *cycle);
ngx_kanban_events_feed_t *ngx_kanban_events_feed_get(
    ngx_kanban_tenant_t *tenant);
void ngx_kanban_events_resume(ngx_kanban_sse_t *s);
void ngx_kanban_events_feed_start(ngx_kanban_events_sub_t *sub,
    int64_t after, ngx_uint_t resume);
void ngx_kanban_events_feed_hint(ngx_str_t *slug);
void ngx_kanban_events_feed_all(void);
void ngx_kanban_events_feed_each_sub(void (*fn)(ngx_kanban_events_sub_t *));

/* out of its feed (ngx_kanban_events_leave.c) */
void ngx_kanban_events_feed_leave(ngx_kanban_events_sub_t *sub);

/* admission and access (ngx_kanban_events_admit.c): the handler's
 * steps, in order; the refusal's status in *rc when NULL */
ngx_kanban_identity_t *ngx_kanban_events_admit(ngx_http_request_t *r,
    ngx_kanban_tenant_t **tenant, ngx_int_t *rc);
ngx_kanban_events_sub_t *ngx_kanban_events_sub_create(ngx_http_request_t *r,
    ngx_kanban_identity_t *id, ngx_kanban_events_conf_t *conf);
char *ngx_kanban_events_args(ngx_http_request_t *r,
    ngx_kanban_events_sub_t *sub, int64_t *after, ngx_uint_t *resume);
ngx_int_t ngx_kanban_events_subscribe(ngx_http_request_t *r,
    ngx_kanban_events_sub_t *sub, ngx_kanban_tenant_t *tenant,
    ngx_kanban_identity_t *id);

/* what a stream may read (ngx_kanban_events_access.c) */
ngx_uint_t ngx_kanban_events_may_see(ngx_kanban_events_sub_t *sub,
    ngx_kanban_events_event_t *ev);
ngx_uint_t ngx_kanban_events_revokes(ngx_kanban_events_sub_t *sub,
    ngx_kanban_events_event_t *ev);

/* the stream's end, its request's cleanups and write handler
 * (ngx_kanban_events_write.c) */
void ngx_kanban_events_closed(ngx_kanban_sse_t *s, ngx_uint_t dropped);
void ngx_kanban_events_write_handler(ngx_http_request_t *r);
void ngx_kanban_events_detach(void *data);
void ngx_kanban_events_cleanup(void *data);
void ngx_kanban_events_expired(ngx_event_t *ev);

/* the stream's head, and the stream on its own connection
 * (ngx_kanban_events_conn.c) */
ngx_int_t ngx_kanban_events_open(ngx_kanban_events_sub_t *sub);
ngx_kanban_events_sub_t *ngx_kanban_events_take_over(
    ngx_kanban_events_sub_t *sub);
ngx_int_t ngx_kanban_events_conn_output(ngx_kanban_sse_t *s);
void ngx_kanban_events_conn_close(ngx_kanban_sse_t *s, ngx_uint_t dropped);

/* the worker's subscription (ngx_kanban_events_redis.c) */
ngx_int_t ngx_kanban_events_redis_init_process(ngx_cycle_t *cycle);
void ngx_kanban_events_redis_exit_process(ngx_cycle_t *cycle);
void ngx_kanban_events_redis_tick(void);
ngx_uint_t ngx_kanban_events_redis_up(void);


#endif /* _NGX_KANBAN_EVENTS_H_INCLUDED_ */
