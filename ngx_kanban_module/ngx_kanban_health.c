
/*
 * GET /health: is the catalog reachable (a query through the pool, timed)
 * and does Redis answer (the worker's heartbeat). 503 when the catalog is
 * down; "degraded" when only Redis is.
 */

#include "ngx_kanban_pg.h"
#include "ngx_kanban_json.h"


static void ngx_kanban_health_checked(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_health_ping =
    ngx_kanban_pg_stmt("health_ping", "SELECT 1");


typedef struct {
    ngx_msec_t                 start;
} ngx_kanban_health_ctx_t;


ngx_int_t
ngx_kanban_health_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_kanban_ctx_t         *ctx;
    ngx_kanban_pg_db_t        db;
    ngx_kanban_pg_query_t    *q;
    ngx_kanban_health_ctx_t  *hc;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_kanban_metrics_route(r, 1);

    ctx = ngx_kanban_ctx(r);
    hc = ngx_pcalloc(r->pool, sizeof(ngx_kanban_health_ctx_t));
    if (ctx == NULL || hc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = hc;
    hc->start = ngx_current_msec;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_health_ping,
                             ngx_kanban_health_checked, 0)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;

    return NGX_DONE;
}


static void
ngx_kanban_health_checked(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                 body;
    ngx_uint_t                catalog, redis, configured;
    ngx_kanban_jw_t           jw;
    ngx_kanban_ctx_t         *ctx;
    ngx_kanban_health_ctx_t  *hc;

    ctx = ngx_kanban_ctx(r);
    hc = ctx->data;

    ngx_time_update();

    catalog = (q->error == NGX_KANBAN_PG_OK);
    configured = ngx_kanban_redis_configured();
    redis = ngx_kanban_redis_up();

    if (ngx_kanban_jw_init(&jw, r->pool, 512) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_cstring(&jw, !catalog ? "unhealthy"
                               : (configured && !redis) ? "degraded"
                               : "healthy");
    ngx_kanban_jw_key(&jw, "version");
    ngx_kanban_jw_cstring(&jw, NGX_KANBAN_VERSION);
    ngx_kanban_jw_key(&jw, "checks");
    ngx_kanban_jw_open(&jw, '{');

    ngx_kanban_jw_key(&jw, "catalog");
    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_cstring(&jw, catalog ? "up" : "down");
    ngx_kanban_jw_key(&jw, "latency_ms");
    ngx_kanban_jw_int(&jw, ngx_current_msec - hc->start);
    ngx_kanban_jw_close(&jw, '}');

    ngx_kanban_jw_key(&jw, "redis");
    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_cstring(&jw, !configured ? "not_configured"
                               : redis ? "up" : "down");
    ngx_kanban_jw_close(&jw, '}');

    ngx_kanban_jw_close(&jw, '}');
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (!catalog) {
        ngx_str_t  no_store = ngx_string("no-store");

        (void) ngx_kanban_add_header(r, "Cache-Control", &no_store);
    }

    ngx_http_finalize_request(r,
        ngx_kanban_send_json(r, catalog ? NGX_HTTP_OK
                                        : NGX_HTTP_SERVICE_UNAVAILABLE,
                             &body));
}
