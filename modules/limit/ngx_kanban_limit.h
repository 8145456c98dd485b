
/*
 * The rate-limit module's parts shared by its files: the request check
 * and the RateLimit headers (ngx_kanban_limit_module.c), the count on
 * this node (ngx_kanban_limit_bucket.c), the count across the cluster
 * (ngx_kanban_limit_redis.c), and the configuration that makes the zones
 * (ngx_kanban_limit_conf.c).
 */

#ifndef _NGX_KANBAN_LIMIT_H_INCLUDED_
#define _NGX_KANBAN_LIMIT_H_INCLUDED_


#include "ngx_kanban_redis.h"
#include "ngx_kanban_jwt.h"
#include "ngx_kanban_tenant_module.h"


#define NGX_KANBAN_LIMIT_MAX       1000000     /* requests, burst */
#define NGX_KANBAN_LIMIT_KEY_MAX   65535
#define NGX_KANBAN_LIMIT_WINDOW_MIN  1000            /* ms */
#define NGX_KANBAN_LIMIT_WINDOW_MAX  86400000


typedef struct {
    ngx_rbtree_node_t          node;
    ngx_queue_t                queue;
    uint64_t                   tat;            /* us, ngx_current_msec's */
    uint64_t                   fallback_tat;
    uint64_t                   window;         /* the one cur counts */
    uint32_t                   cur;            /* cluster-wide, from Redis */
    uint32_t                   prev;           /* ... in the window before */
    uint32_t                   pending;        /* ours, not yet answered */
    uint32_t                   unsent;         /* ... nor yet sent */
    uint64_t                   sending;        /* ms a count went, 0: none */
    ngx_uint_t                 count;          /* requests holding it */
    u_short                    len;
    u_char                     data[1];
} ngx_kanban_limit_node_t;


typedef struct {
    ngx_rbtree_t               rbtree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                queue;
} ngx_kanban_limit_shctx_t;


typedef struct {
    ngx_kanban_limit_shctx_t  *sh;
    ngx_slab_pool_t           *shpool;
    ngx_str_t                  name;
    uint64_t                   interval;       /* us from one request on */
    ngx_uint_t                 burst;
    ngx_flag_t                 redis;
    uint64_t                   window;         /* ms: burst intervals */
    uint64_t                   fallback_interval;  /* 0: none */
    ngx_uint_t                 fallback_burst;
} ngx_kanban_limit_zone_t;


/* The request's moment: the monotonic clock for the buckets, the wall
 * clock for the windows every node of a cluster agrees on. */
typedef struct {
    uint64_t                   now;            /* us */
    uint64_t                   wall;           /* ms since the epoch */
    ngx_uint_t                 redis;          /* Redis answers now */
    ngx_uint_t                 plan_rate;      /* r/m a person, 0: none */
} ngx_kanban_limit_clock_t;


/* What one limit says of a request. */
typedef struct {
    uint64_t                   tat;            /* the entry's, if it passes */
    uint64_t                   fallback_tat;
    ngx_uint_t                 limit;
    ngx_uint_t                 remaining;
    time_t                     reset;          /* s until the bucket is full */
    time_t                     retry;          /* s until one more may pass */
    char                      *by;             /* which limit refused */
} ngx_kanban_limit_state_t;


typedef struct {
    ngx_shm_zone_t            *shm_zone;
    ngx_http_complex_value_t  *key;            /* NULL: user or address */
    ngx_uint_t                 burst;
} ngx_kanban_limit_t;


typedef struct {
    ngx_array_t                zones;          /* ngx_shm_zone_t * */
} ngx_kanban_limit_main_conf_t;


typedef struct {
    ngx_array_t               *limits;         /* ngx_kanban_limit_t */
} ngx_kanban_limit_loc_conf_t;


extern ngx_module_t  ngx_http_kanban_limit_module;


char *ngx_kanban_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_kanban_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void *ngx_kanban_limit_create_main_conf(ngx_conf_t *cf);
void *ngx_kanban_limit_create_loc_conf(ngx_conf_t *cf);
char *ngx_kanban_limit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);

/* the count on this node (ngx_kanban_limit_bucket.c) */
ngx_int_t ngx_kanban_limit_lookup(ngx_http_request_t *r,
    ngx_kanban_limit_t *limit, ngx_str_t *key, ngx_uint_t account,
    ngx_kanban_limit_clock_t *clock, ngx_kanban_limit_node_t **pinned,
    ngx_kanban_limit_state_t *st);
void ngx_kanban_limit_account(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st);
void ngx_kanban_limit_unpin(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node);
void ngx_kanban_limit_nearest(ngx_kanban_limit_state_t *best,
    ngx_kanban_limit_state_t *st);
ngx_kanban_limit_node_t *ngx_kanban_limit_find(
    ngx_kanban_limit_zone_t *zone, ngx_str_t *key, uint32_t hash);

/* the count across the cluster (ngx_kanban_limit_redis.c) */
void ngx_kanban_limit_redis_hit(ngx_http_request_t *r,
    ngx_kanban_limit_t *limit, ngx_str_t *key,
    ngx_kanban_limit_clock_t *clock);


#endif /* _NGX_KANBAN_LIMIT_H_INCLUDED_ */
