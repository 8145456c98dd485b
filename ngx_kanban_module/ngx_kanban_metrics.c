
/*
 * Counters in shared memory, so that every worker adds to the same
 * figures, and GET /metrics in Prometheus' text format: requests by route
 * and status, a latency histogram, the PostgreSQL pools, tenant lookups,
 * Redis and rate-limit refusals.
 */

#include "ngx_kanban_routes.h"


#define NGX_KANBAN_METRICS_WORKERS  64
#define NGX_KANBAN_METRICS_BUCKETS  12

/* rows after the route table's */
#define NGX_KANBAN_ROW_HEALTH       (ngx_kanban_routes_count())
#define NGX_KANBAN_ROW_METRICS      (ngx_kanban_routes_count() + 1)
#define NGX_KANBAN_ROW_OTHER        (ngx_kanban_routes_count() + 2)


typedef struct {
    ngx_atomic_t               pid;
    ngx_atomic_t               idle;
    ngx_atomic_t               busy;
    ngx_atomic_t               connecting;
    ngx_atomic_t               waiting;
    ngx_atomic_t               redis_up;
} ngx_kanban_metrics_worker_t;


typedef struct {
    ngx_atomic_t               requests[NGX_KANBAN_METRICS_ROWS][24];
    ngx_atomic_t               buckets[NGX_KANBAN_METRICS_BUCKETS + 1];
    ngx_atomic_t               count;
    ngx_atomic_t               sum_us;
    ngx_atomic_t               tenant_hit;
    ngx_atomic_t               tenant_miss;
    ngx_atomic_t               tenant_refreshes[3];  /* done, failed, late */
    ngx_atomic_t               rate_limited;
    ngx_atomic_t               events_subscribers;
    ngx_atomic_t               events_delivered;
    ngx_atomic_t               events_dropped;
    ngx_atomic_t               share_visits_lost;
    ngx_atomic_t               pg_shared_reads;
    ngx_atomic_t               webhooks[4];    /* by NGX_KANBAN_WEBHOOK_* */
    ngx_kanban_metrics_worker_t  workers[NGX_KANBAN_METRICS_WORKERS];
} ngx_kanban_metrics_t;


static ngx_int_t ngx_kanban_metrics_init_shm(ngx_shm_zone_t *zone,
    void *data);
static ngx_int_t ngx_kanban_metrics_log(ngx_http_request_t *r);
static ngx_kanban_metrics_worker_t *ngx_kanban_metrics_self(void);
static u_char *ngx_kanban_metrics_requests(ngx_kanban_metrics_t *m,
    u_char *p, u_char *end, ngx_uint_t rows, ngx_uint_t ncols);
static u_char *ngx_kanban_metrics_latency(ngx_kanban_metrics_t *m,
    u_char *p, u_char *end);
static u_char *ngx_kanban_metrics_workers(ngx_kanban_metrics_t *m,
    u_char *p, u_char *end);
static u_char *ngx_kanban_metrics_counters(ngx_kanban_metrics_t *m,
    u_char *p, u_char *end);


/* the statuses counted one by one; the last column is "other" */
static ngx_uint_t  ngx_kanban_statuses[] = {
    200, 201, 202, 204, 302, 304, 400, 401, 403, 404, 405, 409, 410, 413,
    415, 422, 429, 499, 500, 503
};

static double  ngx_kanban_bounds[NGX_KANBAN_METRICS_BUCKETS] = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

static ngx_kanban_metrics_t  *ngx_kanban_metrics;


ngx_int_t
ngx_kanban_metrics_init_zone(ngx_conf_t *cf, ngx_kanban_main_conf_t *kmcf)
{
    ngx_str_t        name = ngx_string("kanban_metrics");
    ngx_shm_zone_t  *zone;

    zone = ngx_shared_memory_add(cf, &name,
                                 2 * ngx_pagesize
                                 + sizeof(ngx_kanban_metrics_t),
                                 &ngx_http_kanban_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_kanban_metrics_init_shm;
    kmcf->metrics_zone = zone;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_metrics_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_kanban_metrics_log;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_metrics_init_shm(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {
        /* a reload: the counters go on */
        zone->data = data;
        ngx_kanban_metrics = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_kanban_metrics = ngx_slab_calloc(shpool,
                                         sizeof(ngx_kanban_metrics_t));
    if (ngx_kanban_metrics == NULL) {
        return NGX_ERROR;
    }

    zone->data = ngx_kanban_metrics;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_metrics_log(ngx_http_request_t *r)
{
    ngx_uint_t         row, col, i;
    ngx_msec_int_t     ms;
    ngx_time_t        *tp;
    ngx_kanban_ctx_t  *ctx;
    double             seconds;

    if (ngx_kanban_metrics == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_module);
    row = (ctx && ctx->metric != NGX_CONF_UNSET_UINT) ? ctx->metric
                                                     : NGX_KANBAN_ROW_OTHER;

    col = sizeof(ngx_kanban_statuses) / sizeof(ngx_uint_t);
    for (i = 0; i < col; i++) {
        if (ngx_kanban_statuses[i] == r->headers_out.status) {
            col = i;
            break;
        }
    }

    ngx_atomic_fetch_add(&ngx_kanban_metrics->requests[row][col], 1);

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);
    seconds = ms / 1000.0;

    for (i = 0; i < NGX_KANBAN_METRICS_BUCKETS; i++) {
        if (seconds <= ngx_kanban_bounds[i]) {
            break;
        }
    }

    ngx_atomic_fetch_add(&ngx_kanban_metrics->buckets[i], 1);
    ngx_atomic_fetch_add(&ngx_kanban_metrics->count, 1);
    ngx_atomic_fetch_add(&ngx_kanban_metrics->sum_us, ms * 1000);

    return NGX_OK;
}


void
ngx_kanban_metrics_route(ngx_http_request_t *r, ngx_uint_t health)
{
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);
    if (ctx) {
        ctx->metric = health ? NGX_KANBAN_ROW_HEALTH : NGX_KANBAN_ROW_METRICS;
    }
}


void
ngx_kanban_metrics_tenant_lookup(ngx_uint_t hit)
{
    if (ngx_kanban_metrics) {
        ngx_atomic_fetch_add(hit ? &ngx_kanban_metrics->tenant_hit
                                 : &ngx_kanban_metrics->tenant_miss, 1);
    }
}


/* A background refresh of a tenant cache entry: not a request's lookup,
 * so apart from them. */

void
ngx_kanban_metrics_tenant_refresh(ngx_uint_t result)
{
    if (ngx_kanban_metrics && result < 3) {
        ngx_atomic_fetch_add(&ngx_kanban_metrics->tenant_refreshes[result],
                             1);
    }
}


void
ngx_kanban_metrics_rate_limited(void)
{
    if (ngx_kanban_metrics) {
        ngx_atomic_fetch_add(&ngx_kanban_metrics->rate_limited, 1);
    }
}


/* One webhook attempt's outcome. */

void
ngx_kanban_metrics_webhook(ngx_uint_t result)
{
    if (ngx_kanban_metrics && result < 4) {
        ngx_atomic_fetch_add(&ngx_kanban_metrics->webhooks[result], 1);
    }
}


/* The event stream's figures: subscribers come and go (+1, -1), events
 * delivered to them, slow ones dropped. */

void
ngx_kanban_metrics_events(ngx_int_t subscribers, ngx_uint_t delivered,
    ngx_uint_t dropped)
{
    if (ngx_kanban_metrics == NULL) {
        return;
    }

    if (subscribers) {
        ngx_atomic_fetch_add(&ngx_kanban_metrics->events_subscribers,
                             subscribers);
    }

    if (delivered) {
        ngx_atomic_fetch_add(&ngx_kanban_metrics->events_delivered,
                             delivered);
    }

    if (dropped) {
        ngx_atomic_fetch_add(&ngx_kanban_metrics->events_dropped, dropped);
    }
}


void
ngx_kanban_metrics_share_visits_lost(ngx_uint_t n)
{
    if (ngx_kanban_metrics) {
        ngx_atomic_fetch_add(&ngx_kanban_metrics->share_visits_lost, n);
    }
}


void
ngx_kanban_metrics_pg_shared_read(void)
{
    if (ngx_kanban_metrics) {
        ngx_atomic_fetch_add(&ngx_kanban_metrics->pg_shared_reads, 1);
    }
}


void
ngx_kanban_metrics_pg_worker(ngx_uint_t idle, ngx_uint_t busy,
    ngx_uint_t connecting, ngx_uint_t waiting)
{
    ngx_kanban_metrics_worker_t  *w;

    w = ngx_kanban_metrics_self();
    if (w == NULL) {
        return;
    }

    w->idle = idle;
    w->busy = busy;
    w->connecting = connecting;
    w->waiting = waiting;
}


void
ngx_kanban_metrics_redis(ngx_uint_t up)
{
    ngx_kanban_metrics_worker_t  *w;

    w = ngx_kanban_metrics_self();
    if (w) {
        w->redis_up = up;
    }
}


static ngx_kanban_metrics_worker_t *
ngx_kanban_metrics_self(void)
{
    ngx_kanban_metrics_worker_t  *w;

    if (ngx_kanban_metrics == NULL || ngx_worker >= NGX_KANBAN_METRICS_WORKERS)
    {
        return NULL;
    }

    w = &ngx_kanban_metrics->workers[ngx_worker];
    w->pid = ngx_pid;

    return w;
}


ngx_int_t
ngx_kanban_metrics_handler(ngx_http_request_t *r)
{
    u_char                *p, *end;
    size_t                 size;
    ngx_str_t              body, type;
    ngx_int_t              rc;
    ngx_uint_t             ncols, rows;
    ngx_kanban_metrics_t  *m;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_kanban_metrics_route(r, 0);

    m = ngx_kanban_metrics;
    if (m == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ncols = sizeof(ngx_kanban_statuses) / sizeof(ngx_uint_t);
    rows = ngx_kanban_routes_count() + 3;

    size = 4096 + rows * (ncols + 1) * 160
           + NGX_KANBAN_METRICS_WORKERS * 5 * 80;

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;
    end = p + size;

    p = ngx_kanban_metrics_requests(m, p, end, rows, ncols);
    p = ngx_kanban_metrics_latency(m, p, end);
    p = ngx_kanban_metrics_workers(m, p, end);
    p = ngx_kanban_metrics_counters(m, p, end);

    body.len = p - body.data;

    ngx_str_set(&type, "text/plain; version=0.0.4");

    return ngx_kanban_send_text(r, NGX_HTTP_OK, &type, &body);
}


/* kanban_http_requests_total: a row a route (then /health, /metrics and
 * the rest), a column a status; the counts that are not 0. */

static u_char *
ngx_kanban_metrics_requests(ngx_kanban_metrics_t *m, u_char *p, u_char *end,
    ngx_uint_t rows, ngx_uint_t ncols)
{
    ngx_str_t          *name;
    ngx_uint_t          i, j;
    ngx_atomic_uint_t   v;
    ngx_str_t           health = ngx_string("GET /health");
    ngx_str_t           metrics = ngx_string("GET /metrics");
    ngx_str_t           other = ngx_string("other");

    p = ngx_slprintf(p, end,
            "# HELP kanban_http_requests_total Requests by route and status.\n"
            "# TYPE kanban_http_requests_total counter\n");

    for (i = 0; i < rows; i++) {
        name = (i < ngx_kanban_routes_count())
               ? &ngx_kanban_route_at(i)->name
               : (i == NGX_KANBAN_ROW_HEALTH) ? &health
               : (i == NGX_KANBAN_ROW_METRICS) ? &metrics : &other;

        for (j = 0; j <= ncols; j++) {
            v = m->requests[i][j];
            if (v == 0) {
                continue;
            }

            if (j < ncols) {
                p = ngx_slprintf(p, end, "kanban_http_requests_total"
                                 "{route=\"%V\",status=\"%ui\"} %uA\n",
                                 name, ngx_kanban_statuses[j], v);
            } else {
                p = ngx_slprintf(p, end, "kanban_http_requests_total"
                                 "{route=\"%V\",status=\"other\"} %uA\n",
                                 name, v);
            }
        }
    }

    return p;
}


/* kanban_http_request_duration_seconds: the histogram of latency. */

static u_char *
ngx_kanban_metrics_latency(ngx_kanban_metrics_t *m, u_char *p, u_char *end)
{
    ngx_uint_t         i;
    ngx_atomic_uint_t  cumulative;

    p = ngx_slprintf(p, end,
            "# HELP kanban_http_request_duration_seconds Request latency.\n"
            "# TYPE kanban_http_request_duration_seconds histogram\n");

    cumulative = 0;

    for (i = 0; i < NGX_KANBAN_METRICS_BUCKETS; i++) {
        cumulative += m->buckets[i];
        p = ngx_slprintf(p, end, "kanban_http_request_duration_seconds_bucket"
                         "{le=\"%.3f\"} %uA\n", ngx_kanban_bounds[i],
                         cumulative);
    }

    cumulative += m->buckets[NGX_KANBAN_METRICS_BUCKETS];

    return ngx_slprintf(p, end,
            "kanban_http_request_duration_seconds_bucket{le=\"+Inf\"} %uA\n"
            "kanban_http_request_duration_seconds_sum %uA.%06uA\n"
            "kanban_http_request_duration_seconds_count %uA\n",
            cumulative, m->sum_us / 1000000, m->sum_us % 1000000, m->count);
}


/* What each worker reports of itself, summed: its PostgreSQL connections
 * by state, the requests waiting for one, and whether it reaches Redis
 * (kanban_redis_up, written with the counters). */

static u_char *
ngx_kanban_metrics_workers(ngx_kanban_metrics_t *m, u_char *p, u_char *end)
{
    ngx_uint_t                    i, n;
    ngx_uint_t                    idle, busy, connecting, waiting;
    ngx_core_conf_t              *ccf;
    ngx_kanban_metrics_worker_t  *w;

    p = ngx_slprintf(p, end,
            "# HELP kanban_pg_connections PostgreSQL connections by state.\n"
            "# TYPE kanban_pg_connections gauge\n");

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                            ngx_core_module);

    n = ccf ? (ngx_uint_t) ccf->worker_processes : 1;
    n = ngx_min(n, NGX_KANBAN_METRICS_WORKERS);

    idle = 0;
    busy = 0;
    connecting = 0;
    waiting = 0;

    for (i = 0; i < n; i++) {
        w = &m->workers[i];
        idle += w->idle;
        busy += w->busy;
        connecting += w->connecting;
        waiting += w->waiting;
    }

    p = ngx_slprintf(p, end,
            "kanban_pg_connections{state=\"idle\"} %ui\n"
            "kanban_pg_connections{state=\"busy\"} %ui\n"
            "kanban_pg_connections{state=\"connecting\"} %ui\n"
            "# HELP kanban_pg_waiting Requests waiting for a connection.\n"
            "# TYPE kanban_pg_waiting gauge\n"
            "kanban_pg_waiting %ui\n"
            "# HELP kanban_pg_shared_reads_total Reads answered with the "
            "result of an identical one that waited beside them.\n"
            "# TYPE kanban_pg_shared_reads_total counter\n"
            "kanban_pg_shared_reads_total %uA\n",
            idle, busy, connecting, waiting, m->pg_shared_reads);

    if (ngx_kanban_main_conf()) {
        p = ngx_slprintf(p, end,
                "# HELP kanban_pg_connections_max Connections the workers "
                "may hold in all.\n"
                "# TYPE kanban_pg_connections_max gauge\n"
                "kanban_pg_connections_max %ui\n",
                ngx_kanban_main_conf()->pg_max_connections * n);
    }

    return p;
}


/* The counters and gauges of the rest: tenant lookups, Redis, rate
 * limits, share visits, event streams, webhooks. */

static u_char *
ngx_kanban_metrics_counters(ngx_kanban_metrics_t *m, u_char *p, u_char *end)
{
    ngx_uint_t        i, n, up;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                            ngx_core_module);

    n = ccf ? (ngx_uint_t) ccf->worker_processes : 1;
    n = ngx_min(n, NGX_KANBAN_METRICS_WORKERS);

    up = 0;

    for (i = 0; i < n; i++) {
        up |= m->workers[i].redis_up;
    }

    p = ngx_slprintf(p, end,
            "# HELP kanban_tenant_lookups_total Tenant resolutions.\n"
            "# TYPE kanban_tenant_lookups_total counter\n"
            "kanban_tenant_lookups_total{result=\"hit\"} %uA\n"
            "kanban_tenant_lookups_total{result=\"miss\"} %uA\n"
            "# HELP kanban_tenant_refreshes_total Tenant cache entries "
            "looked up again in the background, before their end "
            "(late: forgotten or looked up by a request meanwhile, not "
            "put).\n"
            "# TYPE kanban_tenant_refreshes_total counter\n"
            "kanban_tenant_refreshes_total{result=\"done\"} %uA\n"
            "kanban_tenant_refreshes_total{result=\"failed\"} %uA\n"
            "kanban_tenant_refreshes_total{result=\"late\"} %uA\n"
            "# HELP kanban_redis_up Whether the workers reach Redis.\n"
            "# TYPE kanban_redis_up gauge\n"
            "kanban_redis_up %ui\n"
            "# HELP kanban_rate_limited_total Requests refused by a rate "
            "limit.\n"
            "# TYPE kanban_rate_limited_total counter\n"
            "kanban_rate_limited_total %uA\n"
            "# HELP kanban_share_visits_lost_total Share-link visits "
            "PostgreSQL could not store (their data, or an outage longer "
            "than the tries).\n"
            "# TYPE kanban_share_visits_lost_total counter\n"
            "kanban_share_visits_lost_total %uA\n",
            m->tenant_hit, m->tenant_miss, m->tenant_refreshes[0],
            m->tenant_refreshes[1], m->tenant_refreshes[2],
            up ? 1 : 0, m->rate_limited,
            m->share_visits_lost);

    p = ngx_slprintf(p, end,
            "# HELP kanban_events_subscribers Open event streams.\n"
            "# TYPE kanban_events_subscribers gauge\n"
            "kanban_events_subscribers %A\n"
            "# HELP kanban_events_delivered_total Events sent to "
            "subscribers.\n"
            "# TYPE kanban_events_delivered_total counter\n"
            "kanban_events_delivered_total %uA\n"
            "# HELP kanban_events_dropped_total Streams closed because "
            "their client read too slowly.\n"
            "# TYPE kanban_events_dropped_total counter\n"
            "kanban_events_dropped_total %uA\n",
            (ngx_atomic_int_t) m->events_subscribers, m->events_delivered,
            m->events_dropped);

    return ngx_slprintf(p, end,
            "# HELP kanban_webhook_attempts_total Webhook deliveries tried, "
            "by outcome: a 2xx, another answer, no answer (refused, timed "
            "out, failed), or an address not allowed.\n"
            "# TYPE kanban_webhook_attempts_total counter\n"
            "kanban_webhook_attempts_total{result=\"delivered\"} %uA\n"
            "kanban_webhook_attempts_total{result=\"rejected\"} %uA\n"
            "kanban_webhook_attempts_total{result=\"unreachable\"} %uA\n"
            "kanban_webhook_attempts_total{result=\"forbidden\"} %uA\n",
            m->webhooks[NGX_KANBAN_WEBHOOK_DELIVERED],
            m->webhooks[NGX_KANBAN_WEBHOOK_REJECTED],
            m->webhooks[NGX_KANBAN_WEBHOOK_UNREACHABLE],
            m->webhooks[NGX_KANBAN_WEBHOOK_FORBIDDEN]);
}
