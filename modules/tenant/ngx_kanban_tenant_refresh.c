
/*
 * A workspace's tenant cache entry looked up again before its end, in the
 * background (issue 12: with many workspaces each read now and then, a
 * read in every ttl of each waited for the catalog and the limits' copy).
 *
 * The first request to read an entry in its last quarter claims it in
 * shared memory (ngx_kanban_cache_get_ahead) and goes on with it at once;
 * this worker then looks the workspace up again with no request and puts
 * what it found with a fresh ttl (gone, suspended, moving alike). An
 * entry is never served past its ttl: a refresh that fails (the catalog
 * away) changes nothing, the entry ends at its time and the next request
 * waits for the lookup as before. A forget (a move, a sign-up) drops the
 * entry and its claim with it: the refresh's answer, older than the
 * forget, is not put back. An idle workspace is not refreshed.
 *
 * What it costs, for 1,000 workspaces in use at a ttl of 10 s, is some
 * 150 refreshes a second: the claims of a moment (a sixteenth of the ttl,
 * at most 250 ms, well inside the last quarter) are looked up in one
 * statement, and an active workspace's plan limits are copied into its
 * database only when they differ from the entry's. A copy that fails
 * forgets the entry, so that the next request's own lookup copies them.
 */

/* SQL: ngx_kanban_tenant_by_slugs (ngx_kanban_tenant_lookup.c) */
#include "ngx_kanban_pg.h"
#include "ngx_kanban_cache.h"
#include "ngx_kanban_tenant_module.h"


#define NGX_KANBAN_TENANT_REFRESH_MAX    256     /* slugs a statement */
#define NGX_KANBAN_TENANT_REFRESH_WAIT   250     /* ms, at most */


/* one claimed entry */
typedef struct {
    ngx_str_t                   slug;
    ngx_msec_t                  claim;
    ngx_kanban_tenant_limits_t  limits;       /* the entry's */
} ngx_kanban_tenant_refresh_t;


/* a copy of the limits under way: what to forget if it fails */
typedef struct {
    ngx_shm_zone_t             *zone;
    ngx_str_t                   slug;
} ngx_kanban_tenant_copying_t;


/* the claims gathered, then looked up */
typedef struct {
    ngx_pool_t                 *pool;
    ngx_shm_zone_t             *zone;
    ngx_msec_t                  ttl;
    ngx_array_t                 claims;       /* of refresh_t */
} ngx_kanban_tenant_batch_t;


static ngx_int_t ngx_kanban_tenant_batch_add(ngx_kanban_tenant_batch_t *b,
    ngx_str_t *slug, ngx_msec_t claim, ngx_kanban_tenant_limits_t *limits);
static void ngx_kanban_tenant_batch_due(ngx_event_t *ev);
static void ngx_kanban_tenant_batch_send(void);
static void ngx_kanban_tenant_batch_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_tenant_refresh_put(ngx_kanban_tenant_batch_t *b,
    ngx_kanban_tenant_refresh_t *rf, PGresult *res, int row);
static void ngx_kanban_tenant_copied(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_uint_t ngx_kanban_tenant_limits_same(
    ngx_kanban_tenant_limits_t *a, ngx_kanban_tenant_limits_t *b);
static ngx_int_t ngx_kanban_tenant_copy(ngx_pool_t *pool, ngx_str_t *to,
    ngx_str_t *from);


/* the worker's batch being gathered, and when it goes */
static ngx_kanban_tenant_batch_t  *ngx_kanban_tenant_batch;
static ngx_event_t                 ngx_kanban_tenant_batch_timer;


/* The entry of slug, claimed, joins the batch; its claim lapses on its
 * own if the batch cannot start. */

void
ngx_kanban_tenant_refresh(ngx_str_t *slug, ngx_msec_t claim,
    ngx_kanban_tenant_limits_t *limits, ngx_shm_zone_t *zone, ngx_msec_t ttl)
{
    ngx_msec_t                  wait;
    ngx_pool_t                 *pool;
    ngx_event_t                *ev;
    ngx_kanban_tenant_batch_t  *b;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    b = ngx_kanban_tenant_batch;

    if (b == NULL) {
        /* the request's pool goes with it: the batch's own */
        pool = ngx_create_pool(4096, ngx_cycle->log);
        if (pool == NULL) {
            goto failed;
        }

        b = ngx_palloc(pool, sizeof(ngx_kanban_tenant_batch_t));
        if (b == NULL
            || ngx_array_init(&b->claims, pool, 16,
                              sizeof(ngx_kanban_tenant_refresh_t))
               != NGX_OK)
        {
            ngx_destroy_pool(pool);
            goto failed;
        }

        b->pool = pool;
        b->zone = zone;
        b->ttl = ttl;

        ngx_kanban_tenant_batch = b;

        ev = &ngx_kanban_tenant_batch_timer;
        ev->handler = ngx_kanban_tenant_batch_due;
        ev->log = ngx_cycle->log;
        ev->cancelable = 1;             /* a quitting worker does not wait */

        wait = ngx_min(ttl / 16, NGX_KANBAN_TENANT_REFRESH_WAIT);
        ngx_add_timer(ev, wait ? wait : 1);
    }

    if (ngx_kanban_tenant_batch_add(b, slug, claim, limits) != NGX_OK) {
        goto failed;
    }

    if (b->claims.nelts == NGX_KANBAN_TENANT_REFRESH_MAX) {
        ngx_kanban_tenant_batch_send();
    }

    return;

failed:

    ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_FAILED);
}


static ngx_int_t
ngx_kanban_tenant_batch_add(ngx_kanban_tenant_batch_t *b, ngx_str_t *slug,
    ngx_msec_t claim, ngx_kanban_tenant_limits_t *limits)
{
    ngx_kanban_tenant_refresh_t  *rf;

    rf = ngx_array_push(&b->claims);
    if (rf == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(rf, sizeof(ngx_kanban_tenant_refresh_t));
    rf->claim = claim;

    if (ngx_kanban_tenant_copy(b->pool, &rf->slug, slug) != NGX_OK
        || ngx_kanban_tenant_copy(b->pool, &rf->limits.plan, &limits->plan)
           != NGX_OK
        || ngx_kanban_tenant_copy(b->pool, &rf->limits.max_users,
                                  &limits->max_users)
           != NGX_OK
        || ngx_kanban_tenant_copy(b->pool, &rf->limits.max_storage_bytes,
                                  &limits->max_storage_bytes)
           != NGX_OK
        || ngx_kanban_tenant_copy(b->pool, &rf->limits.api_rate,
                                  &limits->api_rate)
           != NGX_OK)
    {
        b->claims.nelts--;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_kanban_tenant_batch_due(ngx_event_t *ev)
{
    ngx_kanban_tenant_batch_send();
}


/* The batch's slugs to the catalog as one text[]; a new batch gathers
 * meanwhile. */

static void
ngx_kanban_tenant_batch_send(void)
{
    size_t                        len;
    u_char                       *p;
    ngx_str_t                     slugs;
    ngx_uint_t                    i;
    ngx_kanban_pg_db_t            db;
    ngx_kanban_pg_query_t        *q;
    ngx_kanban_tenant_batch_t    *b;
    ngx_kanban_tenant_refresh_t  *rf;

    b = ngx_kanban_tenant_batch;
    ngx_kanban_tenant_batch = NULL;

    if (ngx_kanban_tenant_batch_timer.timer_set) {
        ngx_del_timer(&ngx_kanban_tenant_batch_timer);
    }

    if (b == NULL) {
        return;
    }

    rf = b->claims.elts;

    /* {"a","b"}: a slug is letters, digits and hyphens, nothing to
     * escape; quoted all the same, so that none reads as NULL */
    len = 2;
    for (i = 0; i < b->claims.nelts; i++) {
        len += rf[i].slug.len + 3;
    }

    p = ngx_pnalloc(b->pool, len);
    if (p == NULL) {
        goto failed;
    }

    slugs.data = p;
    *p++ = '{';

    for (i = 0; i < b->claims.nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_cpymem(p, rf[i].slug.data, rf[i].slug.len);
        *p++ = '"';
    }

    *p++ = '}';
    slugs.len = p - slugs.data;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(b->pool, &db);
    if (q == NULL) {
        goto failed;
    }

    q->data = b;

    if (ngx_kanban_pg_run(q, &ngx_kanban_tenant_by_slugs,
                          ngx_kanban_tenant_batch_found, 1, &slugs)
        == NGX_OK)
    {
        return;
    }

failed:

    for (i = 0; i < b->claims.nelts; i++) {
        ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_FAILED);
    }

    ngx_destroy_pool(b->pool);
}


static void
ngx_kanban_tenant_batch_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                           row, rows;
    ngx_uint_t                    i;
    ngx_kanban_tenant_batch_t    *b;
    ngx_kanban_tenant_refresh_t  *rf;

    b = q->data;
    rf = b->claims.elts;

    if (q->error != NGX_KANBAN_PG_OK) {
        /* the entries end at their time; the requests after them look
         * them up */
        ngx_log_error(NGX_LOG_WARN, q->log, 0,
                      "kanban: refresh of %ui workspaces failed: %s",
                      b->claims.nelts,
                      q->error == NGX_KANBAN_PG_SQL
                      ? PQresultErrorMessage(q->result) : "no connection");

        for (i = 0; i < b->claims.nelts; i++) {
            ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_FAILED);
        }

        ngx_destroy_pool(b->pool);
        return;
    }

    rows = PQntuples(q->result);

    for (i = 0; i < b->claims.nelts; i++) {

        /* a slug is unique: its row, or none (gone since) */
        for (row = 0; row < rows; row++) {
            if ((size_t) PQgetlength(q->result, row, 1) == rf[i].slug.len
                && ngx_strncmp(PQgetvalue(q->result, row, 1),
                               rf[i].slug.data, rf[i].slug.len)
                   == 0)
            {
                break;
            }
        }

        ngx_kanban_tenant_refresh_put(b, &rf[i], q->result,
                                      row < rows ? row : -1);
    }

    ngx_destroy_pool(b->pool);
}


/* One claimed entry's answer put; an active workspace's limits copied
 * into its database when they changed. */

static void
ngx_kanban_tenant_refresh_put(ngx_kanban_tenant_batch_t *b,
    ngx_kanban_tenant_refresh_t *rf, PGresult *res, int row)
{
    ngx_uint_t                    status;
    ngx_pool_t                   *pool;
    ngx_kanban_tenant_t          *t;
    ngx_kanban_tenant_limits_t   *limits;
    ngx_kanban_tenant_copying_t  *cp;

    /* the copy, if any, outlives the batch: its own pool */
    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_FAILED);
        return;
    }

    t = ngx_pcalloc(pool, sizeof(ngx_kanban_tenant_t));
    limits = ngx_pcalloc(pool, sizeof(ngx_kanban_tenant_limits_t));
    cp = ngx_palloc(pool, sizeof(ngx_kanban_tenant_copying_t));

    if (t == NULL || limits == NULL || cp == NULL) {
        goto failed;
    }

    t->slug = rf->slug;
    status = NGX_KANBAN_TENANT_UNKNOWN;

    if (row >= 0) {
        status = ngx_kanban_tenant_found_row(pool, res, row, t, limits);
    }

    if (ngx_kanban_tenant_cache_put(b->zone, b->ttl, t, limits, status,
                                    rf->claim, 0)
        != NGX_OK)
    {
        /* forgotten meanwhile, or a request's lookup put a newer answer:
         * that one's copy of the limits is newer too */
        ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_LATE);
        ngx_destroy_pool(pool);
        return;
    }

    ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_DONE);

    if (status != NGX_KANBAN_TENANT_ACTIVE
        || ngx_kanban_tenant_limits_same(limits, &rf->limits)
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        ngx_destroy_pool(pool);
        return;
    }

    /* t, its slug too, is the row's, copied in pool */
    cp->zone = b->zone;
    cp->slug = t->slug;

    if (ngx_kanban_tenant_limits_sync_background(pool, t, limits,
                                                 ngx_kanban_tenant_copied, cp)
        == NGX_OK)
    {
        return;                 /* the pool is the copy's now */
    }

    /* not copied: the next request's lookup does */
    ngx_kanban_cache_forget(b->zone, &rf->slug);
    ngx_destroy_pool(pool);
    return;

failed:

    ngx_kanban_metrics_tenant_refresh(NGX_KANBAN_REFRESH_FAILED);
    ngx_destroy_pool(pool);
}


/* A copy that failed forgets the entry: a refresh copies only limits that
 * changed, so the next request's own lookup must copy them. */

static void
ngx_kanban_tenant_copied(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_tenant_copying_t  *cp = q->data;

    if (ngx_kanban_tenant_limits_failed(q)) {
        ngx_kanban_cache_forget(cp->zone, &cp->slug);
    }

    ngx_destroy_pool(q->pool);
}


static ngx_uint_t
ngx_kanban_tenant_limits_same(ngx_kanban_tenant_limits_t *a,
    ngx_kanban_tenant_limits_t *b)
{
    ngx_uint_t   i;
    ngx_str_t   *x[] = { &a->plan, &a->max_users, &a->max_storage_bytes,
                         &a->api_rate };
    ngx_str_t   *y[] = { &b->plan, &b->max_users, &b->max_storage_bytes,
                         &b->api_rate };

    for (i = 0; i < 4; i++) {
        if (x[i]->len != y[i]->len
            || (x[i]->len && ngx_memcmp(x[i]->data, y[i]->data, x[i]->len)))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_kanban_tenant_copy(ngx_pool_t *pool, ngx_str_t *to, ngx_str_t *from)
{
    if (from->len == 0) {
        ngx_str_null(to);
        return NGX_OK;
    }

    to->data = ngx_pstrdup(pool, from);
    if (to->data == NULL) {
        return NGX_ERROR;
    }

    to->len = from->len;

    return NGX_OK;
}
