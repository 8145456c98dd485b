
/*
 * A workspace's tenant cache entry looked up again before its end, in the
 * background (issue 12: with many workspaces each read now and then, a
 * read in every ttl of each waited for the catalog and the limits' copy).
 *
 * The first request to read an entry in its last quarter claims it in
 * shared memory (ngx_kanban_cache_get_ahead) and goes on with it at once;
 * this worker then runs the request's own lookup with no request, puts
 * what it found with a fresh ttl (gone, suspended, moving alike) and, for
 * an active workspace, copies the plan's limits into its database. An
 * entry is never served past its ttl: a refresh that fails (the catalog
 * away) changes nothing, the entry ends at its time and the next request
 * waits for the lookup as before. A forget (a move, a sign-up) drops the
 * entry and its claim with it: the refresh's answer, older than the
 * forget, is not put back. An idle workspace is not refreshed.
 */

/* SQL: ngx_kanban_tenant_by_slug (ngx_kanban_tenant_lookup.c) */
#include "ngx_kanban_pg.h"
#include "ngx_kanban_tenant_module.h"


typedef struct {
    ngx_pool_t                *pool;
    ngx_shm_zone_t            *zone;            /* the tenant cache */
    ngx_msec_t                 ttl;
    ngx_msec_t                 claim;
    ngx_kanban_tenant_t        tenant;
    ngx_kanban_tenant_limits_t limits;
} ngx_kanban_tenant_refresh_t;


static void ngx_kanban_tenant_refreshed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


/* Starts the lookup; the claim lapses on its own if it cannot start. */

void
ngx_kanban_tenant_refresh(ngx_str_t *slug, ngx_msec_t claim,
    ngx_shm_zone_t *zone, ngx_msec_t ttl)
{
    ngx_pool_t                   *pool;
    ngx_kanban_pg_db_t            db;
    ngx_kanban_pg_query_t        *q;
    ngx_kanban_tenant_refresh_t  *rf;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    /* the request's pool goes with it: the refresh's own */
    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    rf = ngx_pcalloc(pool, sizeof(ngx_kanban_tenant_refresh_t));
    if (rf == NULL) {
        goto failed;
    }

    rf->pool = pool;
    rf->zone = zone;
    rf->ttl = ttl;
    rf->claim = claim;

    rf->tenant.slug.data = ngx_pstrdup(pool, slug);
    if (rf->tenant.slug.data == NULL) {
        goto failed;
    }

    rf->tenant.slug.len = slug->len;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        goto failed;
    }

    q->data = rf;

    if (ngx_kanban_pg_run(q, &ngx_kanban_tenant_by_slug,
                          ngx_kanban_tenant_refreshed, 1, &rf->tenant.slug)
        != NGX_OK)
    {
        goto failed;
    }

    return;

failed:

    ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_FAILED);
    ngx_destroy_pool(pool);
}


static void
ngx_kanban_tenant_refreshed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_uint_t                    status;
    ngx_kanban_tenant_refresh_t  *rf;

    rf = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        /* the entry ends at its time; the request after it looks up */
        ngx_log_error(NGX_LOG_WARN, q->log, 0,
                      "kanban: refresh of workspace \"%V\" failed: %s",
                      &rf->tenant.slug,
                      q->error == NGX_KANBAN_PG_SQL
                      ? PQresultErrorMessage(q->result) : "no connection");

        ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_FAILED);
        ngx_destroy_pool(rf->pool);
        return;
    }

    status = ngx_kanban_tenant_found(rf->pool, q->result, &rf->tenant,
                                     &rf->limits);

    if (ngx_kanban_tenant_cache_put(rf->zone, rf->ttl, &rf->tenant,
                                    &rf->limits, status, rf->claim)
        != NGX_OK)
    {
        /* forgotten meanwhile, or a request's lookup put a newer answer:
         * that one's copy of the limits is newer too */
        ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_LATE);
        ngx_destroy_pool(rf->pool);
        return;
    }

    ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_DONE);

    if (status != NGX_KANBAN_TENANT_ACTIVE
        || ngx_exiting || ngx_terminate || ngx_quit
        || ngx_kanban_tenant_limits_sync_background(rf->pool, &rf->tenant,
                                                    &rf->limits)
           != NGX_OK)
    {
        ngx_destroy_pool(rf->pool);
    }

    /* else the pool is the sync's, destroyed when it is done */
}
