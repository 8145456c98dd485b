
/*
 * ngx_http_kanban_limit_module: request rate limits in the PREACCESS
 * phase, per user (the verified token's subject) or per address.
 *
 *   kanban_limit_zone zone=api:10m rate=100r/m [burst=100];
 *   kanban_limit zone=api [key=$value] [burst=N];
 *
 * A zone keeps one entry per key in shared memory (an rbtree by the key's
 * hash, an LRU queue to expire idle entries), so that every worker counts
 * against the same figures. The algorithm is GCRA: an entry holds the
 * theoretical arrival time of the key's next request; a request passes
 * when that time is less than burst intervals ahead of now, so a client
 * may make burst requests at once and then rate on average.
 *
 * Every response of a limited location carries RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset (a header filter, so nginx's own
 * error pages carry them too); a request over the limit gets 429
 * rate_limited with Retry-After.
 *
 * Cluster-wide (redis=on), the local decision still applies, and each
 * request that passes is counted in Redis per key and fixed window of
 * burst intervals (one script: INCRBY, PEXPIRE, and the window before),
 * never waited for. A key has at most one count in flight from a node:
 * the requests that pass meanwhile go as one INCRBY when its reply comes,
 * so a busy key costs Redis one round trip at a time, not one a request,
 * and other nodes learn of a node's hits at most one round trip late
 * (the node itself counts them at once). The replies leave the
 * cluster-wide counts in the
 * entry, and the next request is refused when the sliding estimate
 * (the window before, weighed by how much of it is still within one
 * window of now, plus this one's count and the hits not yet answered)
 * reaches burst. While Redis is down the local limit holds alone, or
 * with a stricter fallback rate (fallback=) where failing open is no
 * option.
 *
 * A workspace's plan may name its own API rate (api_rate, requests a
 * minute, set by an operator): a per-person key (no key=) on that
 * workspace's host is then held to it instead of the zone's rate, and to
 * a burst no larger than it. The cluster-wide count stays the zone's.
 */

/* SQL: none of its own */
#include "ngx_kanban_limit.h"


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
    ngx_kanban_limit_state_t   state;          /* for the RateLimit headers */
    ngx_uint_t                 report;
} ngx_kanban_limit_ctx_t;


/* A count in flight this long is taken as lost (its worker gone with
 * it), and the key's next hit sends again. */
#define NGX_KANBAN_LIMIT_SEND_LOST  1000            /* ms */


/* Hits counted in Redis: what the reply needs to find the entry again
 * (which may have gone meanwhile). */
typedef struct {
    ngx_kanban_limit_zone_t   *zone;
    uint64_t                   window;
    uint32_t                   n;              /* hits in this count */
    uint32_t                   hash;
    size_t                     len;
    u_char                     data[1];
} ngx_kanban_limit_hit_t;


static ngx_int_t ngx_kanban_limit_handler(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_limit_keys(ngx_http_request_t *r,
    ngx_kanban_limit_t *limits, ngx_uint_t nlimits, ngx_str_t *keys,
    ngx_uint_t *last);
static ngx_int_t ngx_kanban_limit_pass(ngx_http_request_t *r,
    ngx_kanban_limit_t *limits, ngx_str_t *keys, ngx_uint_t last,
    ngx_kanban_limit_clock_t *clock, ngx_kanban_limit_node_t **nodes,
    ngx_kanban_limit_state_t *st, ngx_uint_t *failed);
static void ngx_kanban_limit_take_held(ngx_kanban_limit_ctx_t *ctx,
    ngx_kanban_limit_t *limits, ngx_uint_t last,
    ngx_kanban_limit_clock_t *clock, ngx_kanban_limit_node_t **nodes);
static void ngx_kanban_limit_mirror(ngx_http_request_t *r,
    ngx_kanban_limit_t *limits, ngx_str_t *keys, ngx_uint_t last,
    ngx_kanban_limit_clock_t *clock);
static ngx_int_t ngx_kanban_limit_reject(ngx_http_request_t *r,
    ngx_kanban_limit_ctx_t *ctx, ngx_kanban_limit_t *limit, ngx_str_t *key);
static ngx_int_t ngx_kanban_limit_key(ngx_http_request_t *r,
    ngx_kanban_limit_t *limit, ngx_str_t *key, ngx_str_t *identity);
static ngx_int_t ngx_kanban_limit_identity(ngx_http_request_t *r,
    ngx_str_t *identity);
static ngx_uint_t ngx_kanban_limit_plan_rate(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_limit_lookup(ngx_http_request_t *r,
    ngx_kanban_limit_t *limit, ngx_str_t *key, ngx_uint_t account,
    ngx_kanban_limit_clock_t *clock, ngx_kanban_limit_node_t **pinned,
    ngx_kanban_limit_state_t *st);
static void ngx_kanban_limit_account(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st);
static void ngx_kanban_limit_unpin(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node);
static ngx_int_t ngx_kanban_limit_check(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st);
static void ngx_kanban_limit_take(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st);
static ngx_int_t ngx_kanban_limit_gcra(uint64_t tat, uint64_t interval,
    ngx_uint_t burst, uint64_t now, ngx_kanban_limit_state_t *st);
static ngx_int_t ngx_kanban_limit_cluster(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_node_t *node, uint64_t wall,
    ngx_kanban_limit_state_t *st);
static void ngx_kanban_limit_roll(ngx_kanban_limit_node_t *node,
    uint64_t window);
static void ngx_kanban_limit_nearest(ngx_kanban_limit_state_t *best,
    ngx_kanban_limit_state_t *st);
static void ngx_kanban_limit_redis_hit(ngx_http_request_t *r,
    ngx_kanban_limit_t *limit, ngx_str_t *key,
    ngx_kanban_limit_clock_t *clock);
static void ngx_kanban_limit_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static ngx_int_t ngx_kanban_limit_redis_send(ngx_kanban_limit_hit_t *hit);
static ngx_uint_t ngx_kanban_limit_redis_counted(ngx_kanban_limit_hit_t *hit,
    redisReply *rr);
static ngx_kanban_limit_node_t *ngx_kanban_limit_find(
    ngx_kanban_limit_zone_t *zone, ngx_str_t *key, uint32_t hash);
static void ngx_kanban_limit_expire(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_clock_t *clock, ngx_uint_t n);
static void ngx_kanban_limit_tick(ngx_kanban_limit_clock_t *clock);
static time_t ngx_kanban_limit_seconds(uint64_t us);
static ngx_kanban_limit_ctx_t *ngx_kanban_limit_get_ctx(
    ngx_http_request_t *r);
static ngx_kanban_limit_ctx_t *ngx_kanban_limit_create_ctx(
    ngx_http_request_t *r);
static void ngx_kanban_limit_cleanup(void *data);
static ngx_int_t ngx_kanban_limit_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_limit_add_number(ngx_http_request_t *r,
    char *name, ngx_uint_t n);
static ngx_int_t ngx_kanban_limit_init(ngx_conf_t *cf);


static ngx_command_t  ngx_kanban_limit_commands[] = {

    { ngx_string("kanban_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_kanban_limit_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_kanban_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_limit_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_limit_init,                 /* postconfiguration */

    ngx_kanban_limit_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_limit_create_loc_conf,      /* create location configuration */
    ngx_kanban_limit_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_limit_module = {
    NGX_MODULE_V1,
    &ngx_kanban_limit_module_ctx,          /* module context */
    ngx_kanban_limit_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/* KEYS: this window's counter, the window before's; ARGV: the ttl, ms,
 * and the hits; a counter that had none is new and gets its ttl */
static char  ngx_kanban_limit_script[] =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[2]) "
    "if n == tonumber(ARGV[2]) then "
    "redis.call('PEXPIRE', KEYS[1], ARGV[1]) end "
    "return {n, tonumber(redis.call('GET', KEYS[2]) or 0)}";


static ngx_int_t
ngx_kanban_limit_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                    *keys;
    ngx_uint_t                    n, last, nlimits;
    ngx_kanban_limit_t           *limits;
    ngx_kanban_limit_ctx_t       *ctx;
    ngx_kanban_limit_node_t     **nodes;
    ngx_kanban_limit_state_t      st;
    ngx_kanban_limit_clock_t      clock;
    ngx_kanban_limit_loc_conf_t  *llcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_limit_module);

    if (llcf->limits == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_kanban_limit_get_ctx(r)) {
        /* counted once: this is an internal redirect or an error page */
        return NGX_DECLINED;
    }

    ctx = ngx_kanban_limit_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    limits = llcf->limits->elts;
    nlimits = llcf->limits->nelts;

    keys = ngx_pcalloc(r->pool, nlimits * sizeof(ngx_str_t));
    nodes = ngx_pcalloc(r->pool, nlimits * sizeof(ngx_kanban_limit_node_t *));
    if (keys == NULL || nodes == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_limit_keys(r, limits, nlimits, keys, &last) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (last == NGX_CONF_UNSET_UINT) {
        /* nothing to count by: not limited */
        return NGX_DECLINED;
    }

    ngx_kanban_limit_tick(&clock);
    clock.plan_rate = ngx_kanban_limit_plan_rate(r);

    n = 0;
    rc = ngx_kanban_limit_pass(r, limits, keys, last, &clock, nodes, &st, &n);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ctx->state = st;
    ctx->report = 1;

    if (rc != NGX_OK) {
        return ngx_kanban_limit_reject(r, ctx, &limits[n], &keys[n]);
    }

    ngx_kanban_limit_take_held(ctx, limits, last, &clock, nodes);

    if (clock.redis) {
        ngx_kanban_limit_mirror(r, limits, keys, last, &clock);
    }

    return NGX_DECLINED;
}


/* each limit's key for this request; *last is the last limit with a key,
 * or NGX_CONF_UNSET_UINT when none has one */
static ngx_int_t
ngx_kanban_limit_keys(ngx_http_request_t *r, ngx_kanban_limit_t *limits,
    ngx_uint_t nlimits, ngx_str_t *keys, ngx_uint_t *last)
{
    ngx_str_t   identity;
    ngx_uint_t  n;

    ngx_str_null(&identity);
    *last = NGX_CONF_UNSET_UINT;

    for (n = 0; n < nlimits; n++) {
        if (ngx_kanban_limit_key(r, &limits[n], &keys[n], &identity)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (keys[n].len > NGX_KANBAN_LIMIT_KEY_MAX) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kanban: the rate limit key is longer than "
                          "%d bytes", NGX_KANBAN_LIMIT_KEY_MAX);
            return NGX_ERROR;
        }

        if (keys[n].len) {
            *last = n;
        }
    }

    return NGX_OK;
}


/*
 * As limit_req does: the limits before the last are only checked and
 * their entries held; the last one is checked and taken at once. Only
 * when all pass are the others taken, so a request refused by one
 * limit costs nothing in the others: on a refusal the held entries are
 * let go and *failed names the limit that refused.
 */
static ngx_int_t
ngx_kanban_limit_pass(ngx_http_request_t *r, ngx_kanban_limit_t *limits,
    ngx_str_t *keys, ngx_uint_t last, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_node_t **nodes, ngx_kanban_limit_state_t *st,
    ngx_uint_t *failed)
{
    ngx_int_t   rc;
    ngx_uint_t  n;

    rc = NGX_OK;

    for (n = 0; n <= last; n++) {
        if (keys[n].len == 0) {
            continue;
        }

        rc = ngx_kanban_limit_lookup(r, &limits[n], &keys[n], n == last,
                                     clock, &nodes[n], st);
        if (rc != NGX_OK) {
            break;
        }
    }

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    *failed = n;

    while (n--) {
        if (nodes[n]) {
            ngx_kanban_limit_unpin(&limits[n], nodes[n]);
        }
    }

    return rc;
}


/* all passed: the held entries are taken, and the headers tell of the
 * limit nearest to refusing */
static void
ngx_kanban_limit_take_held(ngx_kanban_limit_ctx_t *ctx,
    ngx_kanban_limit_t *limits, ngx_uint_t last,
    ngx_kanban_limit_clock_t *clock, ngx_kanban_limit_node_t **nodes)
{
    ngx_uint_t                n;
    ngx_kanban_limit_state_t  st;

    for (n = 0; n < last; n++) {
        if (nodes[n] == NULL) {
            continue;
        }

        ngx_kanban_limit_account(&limits[n], nodes[n], clock, &st);
        ngx_kanban_limit_nearest(&ctx->state, &st);
    }
}


/* the hits counted in Redis too, for the zones shared across servers */
static void
ngx_kanban_limit_mirror(ngx_http_request_t *r, ngx_kanban_limit_t *limits,
    ngx_str_t *keys, ngx_uint_t last, ngx_kanban_limit_clock_t *clock)
{
    ngx_uint_t                n;
    ngx_kanban_limit_zone_t  *zone;

    for (n = 0; n <= last; n++) {
        zone = limits[n].shm_zone->data;

        if (keys[n].len && zone->redis) {
            ngx_kanban_limit_redis_hit(r, &limits[n], &keys[n], clock);
        }
    }
}


/* The 429 is sent from here, as problem+json; the phase engine is told
 * it is done. */

static ngx_int_t
ngx_kanban_limit_reject(ngx_http_request_t *r, ngx_kanban_limit_ctx_t *ctx,
    ngx_kanban_limit_t *limit, ngx_str_t *key)
{
    ngx_int_t  rc;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "kanban: rate limited by zone \"%V\" (%s), key \"%V\"",
                  &limit->shm_zone->shm.name, ctx->state.by, key);

    ngx_kanban_metrics_rate_limited();

    rc = ngx_kanban_discard_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_kanban_limit_add_number(r, "Retry-After", ctx->state.retry)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_RATE_LIMITED,
                            "Too many requests; try again after the "
                            "seconds in Retry-After.");

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/* The API rate of the request's workspace's plan, 0 when it has none. */

static ngx_uint_t
ngx_kanban_limit_plan_rate(ngx_http_request_t *r)
{
    ngx_kanban_tenant_limits_t  *limits;

    limits = ngx_kanban_tenant_limits(r);

    return limits ? limits->api_rate_n : 0;
}


/* The configured key, else the verified user ("u:<workspace>:<sub>";
 * slugs have no colon), else the address ("ip:<addr>"). */

static ngx_int_t
ngx_kanban_limit_key(ngx_http_request_t *r, ngx_kanban_limit_t *limit,
    ngx_str_t *key, ngx_str_t *identity)
{
    if (limit->key) {
        return ngx_http_complex_value(r, limit->key, key);
    }

    if (identity->data == NULL
        && ngx_kanban_limit_identity(r, identity) != NGX_OK)
    {
        return NGX_ERROR;
    }

    *key = *identity;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_limit_identity(ngx_http_request_t *r, ngx_str_t *identity)
{
    u_char                   *p;
    size_t                    len;
    ngx_str_t                *slug, none = ngx_null_string;
    ngx_kanban_tenant_t      *tenant;
    ngx_kanban_jwt_claims_t  *claims;

    claims = ngx_kanban_jwt_identify(r);

    if (claims && claims->sub.len) {
        tenant = ngx_kanban_tenant(r);
        slug = tenant ? &tenant->slug : &none;

        len = sizeof("u::") - 1 + slug->len + claims->sub.len;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        identity->data = p;
        identity->len = ngx_sprintf(p, "u:%V:%V", slug, &claims->sub) - p;

        return NGX_OK;
    }

    len = sizeof("ip:") - 1 + r->connection->addr_text.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    identity->data = p;
    identity->len = ngx_sprintf(p, "ip:%V", &r->connection->addr_text) - p;

    return NGX_OK;
}


/* NGX_OK: the request passes this limit (taken when account is set, else
 * its entry is held in *pinned); NGX_BUSY: over the limit; NGX_ERROR: the
 * zone is out of memory. */

static ngx_int_t
ngx_kanban_limit_lookup(ngx_http_request_t *r, ngx_kanban_limit_t *limit,
    ngx_str_t *key, ngx_uint_t account, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_node_t **pinned, ngx_kanban_limit_state_t *st)
{
    size_t                    size;
    uint32_t                  hash;
    ngx_int_t                 rc;
    ngx_kanban_limit_node_t  *node;
    ngx_kanban_limit_zone_t  *zone;

    zone = limit->shm_zone->data;
    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_kanban_limit_find(zone, key, hash);

    if (node) {
        ngx_queue_remove(&node->queue);
        ngx_queue_insert_head(&zone->sh->queue, &node->queue);

    } else {
        ngx_kanban_limit_expire(zone, clock, 1);

        size = offsetof(ngx_kanban_limit_node_t, data) + key->len;

        node = ngx_slab_alloc_locked(zone->shpool, size);

        if (node == NULL) {
            ngx_kanban_limit_expire(zone, clock, 0);

            node = ngx_slab_alloc_locked(zone->shpool, size);
            if (node == NULL) {
                ngx_shmtx_unlock(&zone->shpool->mutex);

                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "kanban: could not allocate a rate limit "
                              "entry%s", zone->shpool->log_ctx);
                return NGX_ERROR;
            }
        }

        node->node.key = hash;
        node->tat = clock->now;
        node->fallback_tat = clock->now;
        node->window = 0;
        node->cur = 0;
        node->prev = 0;
        node->pending = 0;
        node->unsent = 0;
        node->sending = 0;
        node->count = 0;
        node->len = (u_short) key->len;
        ngx_memcpy(node->data, key->data, key->len);

        ngx_rbtree_insert(&zone->sh->rbtree, &node->node);
        ngx_queue_insert_head(&zone->sh->queue, &node->queue);
    }

    rc = ngx_kanban_limit_check(limit, node, clock, st);

    if (rc == NGX_OK) {
        if (account) {
            ngx_kanban_limit_take(zone, node, clock, st);

        } else {
            node->count++;
            *pinned = node;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* Takes a held entry for a request that passed every limit. */

static void
ngx_kanban_limit_account(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st)
{
    ngx_kanban_limit_zone_t  *zone;

    zone = limit->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    (void) ngx_kanban_limit_check(limit, node, clock, st);
    ngx_kanban_limit_take(zone, node, clock, st);
    node->count--;

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


static void
ngx_kanban_limit_unpin(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node)
{
    ngx_kanban_limit_zone_t  *zone;

    zone = limit->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);
    node->count--;
    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* The local bucket; cluster-wide, with Redis's counts too, or while
 * Redis is down with the fallback bucket. Called with the zone locked. */

static ngx_int_t
ngx_kanban_limit_check(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st)
{
    uint64_t                  interval;
    ngx_int_t                 rc;
    ngx_uint_t                burst;
    ngx_kanban_limit_zone_t  *zone;
    ngx_kanban_limit_state_t  other;

    zone = limit->shm_zone->data;

    interval = zone->interval;
    burst = limit->burst;

    if (clock->plan_rate && limit->key == NULL
        && node->len > 2 && node->data[0] == 'u' && node->data[1] == ':')
    {
        /* a person on a workspace whose plan names its own rate */
        interval = 60000000 / clock->plan_rate;
        burst = ngx_min(burst, clock->plan_rate);
    }

    rc = ngx_kanban_limit_gcra(node->tat, interval, burst, clock->now, st);

    if (rc != NGX_OK || !zone->redis) {
        return rc;
    }

    if (clock->redis) {
        rc = ngx_kanban_limit_cluster(zone, node, clock->wall, &other);

    } else if (zone->fallback_interval) {
        rc = ngx_kanban_limit_gcra(node->fallback_tat,
                                   zone->fallback_interval,
                                   zone->fallback_burst, clock->now, &other);
        st->fallback_tat = other.tat;

    } else {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        st->limit = other.limit;
        st->remaining = 0;
        st->reset = other.reset;
        st->retry = other.retry;
        st->by = clock->redis ? "cluster-wide" : "fallback, Redis is down";

        return rc;
    }

    ngx_kanban_limit_nearest(st, &other);

    return NGX_OK;
}


static void
ngx_kanban_limit_take(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st)
{
    uint64_t  tat, full;

    node->tat = st->tat;

    if (!zone->redis) {
        return;
    }

    if (!clock->redis) {
        if (zone->fallback_interval) {
            node->fallback_tat = st->fallback_tat;
        }

        return;
    }

    /* the hit goes to Redis once every limit passed */
    node->pending++;
    node->unsent++;

    if (zone->fallback_interval) {
        /*
         * The fallback bucket follows along, never past full, so that the
         * moment Redis goes it knows what the key did just before.
         */

        full = clock->now + zone->fallback_burst * zone->fallback_interval;
        tat = ngx_max(node->fallback_tat, clock->now)
              + zone->fallback_interval;

        node->fallback_tat = ngx_min(tat, full);
    }
}


/*
 * GCRA. tat runs ahead of now by one interval for each request the
 * bucket holds; a request passes when, with it, tat is at most burst
 * intervals ahead. st->tat is the new tat should the request be taken.
 */

static ngx_int_t
ngx_kanban_limit_gcra(uint64_t tat, uint64_t interval, ngx_uint_t burst,
    uint64_t now, ngx_kanban_limit_state_t *st)
{
    uint64_t  next, full;

    tat = ngx_max(tat, now);
    next = tat + interval;
    full = (uint64_t) burst * interval;

    st->limit = burst;
    st->by = "local";

    if (next - now > full) {
        st->tat = tat;
        st->remaining = 0;
        st->reset = ngx_kanban_limit_seconds(tat - now);
        st->retry = ngx_max(ngx_kanban_limit_seconds(next - now - full), 1);

        return NGX_BUSY;
    }

    st->tat = next;
    st->remaining = (full - (next - now)) / interval;
    st->reset = ngx_kanban_limit_seconds(next - now);
    st->retry = 0;

    return NGX_OK;
}


/*
 * The cluster-wide count: the hits of this window (as Redis last told,
 * and ours not yet answered) plus those of the window before, weighed by
 * the part of it still within one window of now. With the request, it
 * may reach burst. Times here are in ms, counts in 1/w of a request.
 */

static ngx_int_t
ngx_kanban_limit_cluster(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_node_t *node, uint64_t wall,
    ngx_kanban_limit_state_t *st)
{
    uint64_t  w, left, hits, used, full, wait;

    w = zone->window;
    left = w - wall % w;

    ngx_kanban_limit_roll(node, wall / w);

    hits = (uint64_t) node->cur + node->pending;
    used = node->prev * left + hits * w;
    full = zone->burst * w;

    st->limit = zone->burst;

    if (used + w <= full) {
        /* with this request, this window counts until the next is over */
        st->remaining = (full - used - w) / w;
        st->reset = ngx_kanban_limit_seconds((left + w) * 1000);
        st->retry = 0;

        return NGX_OK;
    }

    /* when the estimate falls to burst - 1, should nothing else come */

    if (hits * w + w <= full) {
        /* this window has room: the window before has to fade */
        wait = left - (full - w - hits * w) / node->prev;

    } else {
        /* the next window, once this one has faded enough */
        wait = left + w - (full - w) / hits;
    }

    st->remaining = 0;
    st->reset = ngx_kanban_limit_seconds((hits ? left + w : left) * 1000);
    st->retry = ngx_max(ngx_kanban_limit_seconds(wait * 1000), 1);

    return NGX_BUSY;
}


/* A new window: what this one counted becomes the window before. */

static void
ngx_kanban_limit_roll(ngx_kanban_limit_node_t *node, uint64_t window)
{
    if (node->window == window) {
        return;
    }

    node->prev = (node->window + 1 == window) ? node->cur + node->pending
                                              : 0;
    node->cur = 0;
    node->pending = 0;
    /* those not sent yet count here only, in the window before */
    node->unsent = 0;
    node->window = window;
}


/* The headers tell of the limit nearest to refusing. */

static void
ngx_kanban_limit_nearest(ngx_kanban_limit_state_t *best,
    ngx_kanban_limit_state_t *st)
{
    if (st->remaining < best->remaining
        || (st->remaining == best->remaining && st->reset > best->reset))
    {
        best->limit = st->limit;
        best->remaining = st->remaining;
        best->reset = st->reset;
    }
}


/* Counts a request that passed in Redis, with the key's others not yet
 * sent, unless a count of the key is in flight: its reply sends them. */

static void
ngx_kanban_limit_redis_hit(ngx_http_request_t *r, ngx_kanban_limit_t *limit,
    ngx_str_t *key, ngx_kanban_limit_clock_t *clock)
{
    uint32_t                  hash, n;
    uint64_t                  window;
    ngx_kanban_limit_hit_t   *hit;
    ngx_kanban_limit_node_t  *node;
    ngx_kanban_limit_zone_t  *zone;

    zone = limit->shm_zone->data;
    window = clock->wall / zone->window;
    hash = ngx_crc32_short(key->data, key->len);
    n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_kanban_limit_find(zone, key, hash);

    if (node && node->window == window && node->unsent
        && (node->sending == 0
            || clock->wall - node->sending >= NGX_KANBAN_LIMIT_SEND_LOST))
    {
        n = node->unsent;
        node->unsent = 0;
        node->sending = ngx_max(clock->wall, 1);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (n == 0) {
        return;
    }

    hit = ngx_alloc(offsetof(ngx_kanban_limit_hit_t, data) + key->len,
                    r->connection->log);
    if (hit == NULL) {
        /* counted here only */
        ngx_shmtx_lock(&zone->shpool->mutex);

        node = ngx_kanban_limit_find(zone, key, hash);
        if (node) {
            node->sending = 0;
            node->pending -= ngx_min(node->pending, n);
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);
        return;
    }

    hit->zone = zone;
    hit->window = window;
    hit->n = n;
    hit->hash = hash;
    hit->len = key->len;
    ngx_memcpy(hit->data, key->data, key->len);

    if (ngx_kanban_limit_redis_send(hit) == NGX_OK) {
        return;
    }

    if (!ngx_kanban_limit_redis_counted(hit, NULL)) {
        ngx_free(hit);
    }
}


/* kanban:rl:{zone:key}:window; the braces keep a key's windows on one
 * node of a Redis Cluster, as the script needs. The reply handler owns
 * hit when this returns NGX_OK. */

static ngx_int_t
ngx_kanban_limit_redis_send(ngx_kanban_limit_hit_t *hit)
{
    u_char                   *cur, *prev, ttl[NGX_INT64_LEN + 1];
    u_char                    hits[NGX_INT32_LEN + 1];
    size_t                    len, cur_len, prev_len;
    ngx_int_t                 rc;
    ngx_str_t                 key;
    ngx_kanban_limit_zone_t  *zone;

    zone = hit->zone;
    key.data = hit->data;
    key.len = hit->len;

    len = sizeof("kanban:rl:{:}:") - 1 + zone->name.len + key.len
          + NGX_INT64_LEN;

    cur = ngx_alloc(2 * len, ngx_cycle->log);
    if (cur == NULL) {
        return NGX_ERROR;
    }

    prev = cur + len;

    cur_len = ngx_sprintf(cur, "kanban:rl:{%V:%V}:%uL", &zone->name, &key,
                          hit->window)
              - cur;
    prev_len = ngx_sprintf(prev, "kanban:rl:{%V:%V}:%uL", &zone->name, &key,
                           hit->window - 1)
               - prev;

    /* the window before is read during the next one */
    (void) ngx_sprintf(ttl, "%uL%Z", 2 * zone->window + 1000);
    (void) ngx_sprintf(hits, "%uD%Z", hit->n);

    /* hiredis copies the command: the keys are ours to free */
    rc = ngx_kanban_redis_command(ngx_kanban_limit_redis_reply, hit,
                                  "EVAL %s 2 %b %b %s %s",
                                  ngx_kanban_limit_script,
                                  cur, cur_len, prev, prev_len, ttl, hits);

    ngx_free(cur);

    return rc;
}


static void
ngx_kanban_limit_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_kanban_limit_hit_t  *hit = privdata;

    if (!ngx_kanban_limit_redis_counted(hit, reply)) {
        ngx_free(hit);
    }
}


/* A count's reply: {this window's count, the window before's}; NULL when
 * it never reached Redis or the link dropped first. The key's hits that
 * passed meanwhile go next, in hit again: returns 1 then (hit is the
 * reply handler's once more), 0 when hit is done with. */

static ngx_uint_t
ngx_kanban_limit_redis_counted(ngx_kanban_limit_hit_t *hit, redisReply *rr)
{
    uint32_t                  cur, prev;
    uint64_t                  wall;
    ngx_str_t                 key;
    ngx_uint_t                counted, more;
    ngx_time_t               *tp;
    ngx_kanban_limit_node_t  *node;
    ngx_kanban_limit_zone_t  *zone;

    zone = hit->zone;
    key.data = hit->data;
    key.len = hit->len;

    counted = 0;
    cur = 0;
    prev = 0;
    more = 0;

    if (rr && rr->type == REDIS_REPLY_ARRAY && rr->elements == 2
        && rr->element[0]->type == REDIS_REPLY_INTEGER
        && rr->element[1]->type == REDIS_REPLY_INTEGER)
    {
        counted = 1;
        cur = (uint32_t) ngx_min(ngx_max(rr->element[0]->integer, 0),
                                 0xffffffff);
        prev = (uint32_t) ngx_min(ngx_max(rr->element[1]->integer, 0),
                                  0xffffffff);

    } else if (rr && rr->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: Redis did not count a hit of "
                      "kanban_limit_zone \"%V\": %s", &zone->name, rr->str);
    }

    tp = ngx_timeofday();
    wall = (uint64_t) tp->sec * 1000 + tp->msec;

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_kanban_limit_find(zone, &key, hit->hash);

    if (node) {
        node->sending = 0;
    }

    if (node && node->window == hit->window) {
        node->pending -= ngx_min(node->pending, hit->n);

        if (counted) {
            node->cur = ngx_max(node->cur, cur);
            node->prev = ngx_max(node->prev, prev);
        }

    } else if (node && counted && node->window == hit->window + 1) {
        /* answered after the window turned */
        node->prev = ngx_max(node->prev, cur);
    }

    /* the next count only after a reply: not while Redis fails them */
    if (node && counted && node->unsent
        && node->window == wall / zone->window)
    {
        hit->window = node->window;
        hit->n = node->unsent;
        node->unsent = 0;
        node->sending = ngx_max(wall, 1);
        more = 1;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (!more) {
        return 0;
    }

    if (ngx_kanban_limit_redis_send(hit) == NGX_OK) {
        return 1;
    }

    return ngx_kanban_limit_redis_counted(hit, NULL);
}


static ngx_kanban_limit_node_t *
ngx_kanban_limit_find(ngx_kanban_limit_zone_t *zone, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                 rc;
    ngx_rbtree_node_t        *node, *sentinel;
    ngx_kanban_limit_node_t  *ln;

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        ln = (ngx_kanban_limit_node_t *) node;

        rc = ngx_memn2cmp(key->data, ln->data, key->len, (size_t) ln->len);
        if (rc == 0) {
            return ln;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * n == 1 deletes one or two entries whose buckets are full again and
 * whose cluster-wide counts are of no window that still weighs (they tell
 * nothing a new entry would not);
 * n == 0 deletes the least recently used entry by force, then as n == 1.
 * Entries held by a request in flight stay.
 */

static void
ngx_kanban_limit_expire(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_clock_t *clock, ngx_uint_t n)
{
    ngx_queue_t              *q;
    ngx_kanban_limit_node_t  *node;

    while (n < 3) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);
        node = ngx_queue_data(q, ngx_kanban_limit_node_t, queue);

        if (node->count) {
            return;
        }

        if (n++ != 0
            && (node->tat > clock->now || node->fallback_tat > clock->now
                || (zone->redis
                    && node->window + 1 >= clock->wall / zone->window)))
        {
            return;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&zone->sh->rbtree, &node->node);
        ngx_slab_free_locked(zone->shpool, node);
    }
}


/* The buckets go by the monotonic clock every worker reads alike (a wall
 * clock set back would hand out a new burst); the windows of Redis go by
 * the wall clock, the one other nodes agree on. */

static void
ngx_kanban_limit_tick(ngx_kanban_limit_clock_t *clock)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    clock->now = (uint64_t) ngx_current_msec * 1000;
    clock->wall = (uint64_t) tp->sec * 1000 + tp->msec;
    clock->redis = ngx_kanban_redis_up();
}


static time_t
ngx_kanban_limit_seconds(uint64_t us)
{
    return (time_t) ((us + 999999) / 1000000);
}


/*
 * An internal redirect (try_files, error_page) empties the modules'
 * contexts; the context lives on in a cleanup of the request's pool, so
 * that a request is counted once and its error page still carries the
 * headers (as ngx_http_realip_module finds its own).
 */

static ngx_kanban_limit_ctx_t *
ngx_kanban_limit_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_kanban_limit_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_limit_module);

    if (ctx == NULL && (r->internal || r->filter_finalize)) {

        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_kanban_limit_cleanup) {
                ctx = cln->data;
                ngx_http_set_ctx(r, ctx, ngx_http_kanban_limit_module);
                break;
            }
        }
    }

    return ctx;
}


static ngx_kanban_limit_ctx_t *
ngx_kanban_limit_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_kanban_limit_ctx_t  *ctx;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_kanban_limit_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_kanban_limit_ctx_t));

    cln->handler = ngx_kanban_limit_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_kanban_limit_module);

    return ctx;
}


/* Nothing to free: the handler only marks the context's cleanup. */

static void
ngx_kanban_limit_cleanup(void *data)
{
}


static ngx_int_t
ngx_kanban_limit_header_filter(ngx_http_request_t *r)
{
    ngx_kanban_limit_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_kanban_limit_get_ctx(r);

    if (ctx == NULL || !ctx->report) {
        return ngx_http_next_header_filter(r);
    }

    if (ngx_kanban_limit_add_number(r, "RateLimit-Limit", ctx->state.limit)
           != NGX_OK
        || ngx_kanban_limit_add_number(r, "RateLimit-Remaining",
                                       ctx->state.remaining)
           != NGX_OK
        || ngx_kanban_limit_add_number(r, "RateLimit-Reset",
                                       ctx->state.reset)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_kanban_limit_add_number(ngx_http_request_t *r, char *name, ngx_uint_t n)
{
    ngx_str_t  value;

    value.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    value.len = ngx_sprintf(value.data, "%ui", n) - value.data;

    return ngx_kanban_add_header(r, name, &value);
}


static ngx_int_t
ngx_kanban_limit_init(ngx_conf_t *cf)
{
    ngx_uint_t                     i;
    ngx_shm_zone_t               **pz;
    ngx_http_handler_pt           *h;
    ngx_kanban_limit_zone_t       *zone;
    ngx_kanban_main_conf_t        *kmcf;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_kanban_limit_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_kanban_limit_module);
    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kanban_module);

    pz = lmcf->zones.elts;

    for (i = 0; i < lmcf->zones.nelts; i++) {
        zone = pz[i]->data;

        if (zone->redis && kmcf->redis.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kanban_limit_zone \"%V\" is redis=on, but "
                               "no \"kanban_redis\" is set", &zone->name);
            return NGX_ERROR;
        }
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_kanban_limit_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_kanban_limit_header_filter;

    return NGX_OK;
}
