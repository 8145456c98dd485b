
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
 * a burst no larger than it, and across the cluster to what that rate
 * gives in the zone's window (ngx_kanban_limit_bucket.c).
 *
 * This file: the module, the request check in PREACCESS (which keys,
 * whether every limit passes, the 429) and the RateLimit headers. The
 * count on this node is ngx_kanban_limit_bucket.c, the count across the
 * cluster ngx_kanban_limit_redis.c, the directives ngx_kanban_limit_conf.c.
 */

/* SQL: none of its own */
#include "ngx_kanban_limit.h"


typedef struct {
    ngx_kanban_limit_state_t   state;          /* for the RateLimit headers */
    ngx_uint_t                 report;
} ngx_kanban_limit_ctx_t;


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
static void ngx_kanban_limit_tick(ngx_kanban_limit_clock_t *clock);
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
