
/*
 * The directory of members: each workspace queues its changes (a
 * person's address, status or verification, the email-link policy;
 * tenant 045) and nginx takes them to the catalog
 * (portal_directory_apply(), catalog 012), then deletes them from the
 * queue.
 *
 * When: on the core's sweeper with its due index (ngx_kanban_sweep.h,
 * catalog 018), as mail and webhooks. A request answered on a
 * workspace's host that may have written (the core's log phase: any but
 * GET, HEAD and OPTIONS, a GET answered with a redirect such as an
 * emailed link or OIDC's callback, a GET that wrote) steps the workspace
 * at once, and so does a sign-up on the platform's host (the new
 * workspace's admin), once the catalog says where its database is. A
 * step reads a batch of queued changes, applies them in the catalog and
 * deletes them; a full batch steps again at once. A step that failed
 * leaves the workspace due after a backoff in the catalog's due index,
 * so that any worker of any node takes it then, also after this one quit
 * or died; after five failures in a row it is left to the workspace's
 * next write. A workspace with nothing queued is never asked, however many
 * there are. The catalog applies each change once, in order, whoever
 * reads it first (portal_directory_applied), so two readers are
 * harmless.
 *
 * A change queued outside nginx (a write by hand) waits for the
 * workspace's next write, or for kanbanctl portal-sync.
 *
 * The step also measures the console's figures of the workspace, at most
 * every few seconds (ngx_kanban_portal_figures.c): a step that comes too
 * soon after the last measure is due again when it may measure.
 */

/* SQL: sql/catalog/012_portal.sql, 018_sweep_due.sql;
 * sql/tenant/045_portal.sql */
#include "ngx_kanban_portal.h"
#include "ngx_kanban_sweep.h"


#define NGX_KANBAN_PORTAL_BATCH     "500"     /* changes a read takes */
#define NGX_KANBAN_PORTAL_PERIOD    10000     /* ms: the due index read */
#define NGX_KANBAN_PORTAL_BACKOFF   1000      /* ms, doubled a failure */
#define NGX_KANBAN_PORTAL_TRIES     5         /* then left to the next write */


/* a workspace's, beside the sweeper's entry */
typedef struct {
    ngx_uint_t                 failures;    /* in a row */
    ngx_msec_t                 figures_at;  /* measured then, or 0 */
    ngx_msec_t                 figures_in;  /* to measure again then */
} ngx_kanban_portal_ws_t;


/* one step's */
typedef struct {
    ngx_pool_t                *pool;
    ngx_kanban_sweep_ws_t     *ws;
    ngx_str_t                  upto;        /* its last change read */
    unsigned                   more:1;      /* a full batch was read */
} ngx_kanban_portal_sync_t;


static ngx_int_t ngx_kanban_portal_log(ngx_http_request_t *r);
static void ngx_kanban_portal_located(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_ws_init(ngx_kanban_sweep_ws_t *ws);
static ngx_int_t ngx_kanban_portal_step(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_portal_pending(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_applied(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_cleared(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_finish(ngx_kanban_portal_sync_t *sync,
    ngx_int_t rc);


static ngx_kanban_pg_stmt_t  ngx_kanban_portal_locate = ngx_kanban_pg_stmt(
    "portal_locate",
    "SELECT slug, db_name, db_dsn FROM tenants"
    " WHERE slug = $1 AND status = 'active'");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_pending_stmt =
    ngx_kanban_pg_stmt("portal_directory_pending",
    "SELECT upto, changes, jsonb_array_length(changes)"
    "  FROM portal_directory_pending($1::int)");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_apply = ngx_kanban_pg_stmt(
    "portal_directory_apply",
    "SELECT portal_directory_apply($1, $2::jsonb)");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_clear = ngx_kanban_pg_stmt(
    "portal_directory_clear",
    "DELETE FROM portal_directory_changes WHERE id <= $1::bigint");


static ngx_kanban_sweep_t  ngx_kanban_portal_sweep = {
    .name = "portal",
    .due_index = 1,
    .period = NGX_KANBAN_PORTAL_PERIOD,
    .data_size = sizeof(ngx_kanban_portal_ws_t),
    .init = ngx_kanban_portal_ws_init,
    .step = ngx_kanban_portal_step,
};


ngx_int_t
ngx_kanban_portal_directory_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_kanban_portal_log;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_portal_directory_init_process(ngx_cycle_t *cycle)
{
    if (ngx_kanban_main_conf()->catalog.len == 0) {
        return NGX_OK;
    }

    return ngx_kanban_sweep_start(&ngx_kanban_portal_sweep, cycle);
}


/* A sign-up answered: its admin is the new workspace's first member.
 * (A workspace's own writes are the core's to wake.) */

static ngx_int_t
ngx_kanban_portal_log(ngx_http_request_t *r)
{
    ngx_str_t              *slug;
    ngx_pool_t             *pool;
    ngx_kanban_ctx_t       *ctx;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (!ngx_kanban_portal_sweep.running || r != r->main
        || r->method != NGX_HTTP_POST
        || r->headers_out.status != NGX_HTTP_CREATED)
    {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_module);
    if (ctx == NULL || ctx->route == NULL || ctx->tenant || ctx->body == NULL
        || ngx_strcmp(ctx->route->pattern, "/api/v1/tenants") != 0)
    {
        return NGX_OK;
    }

    slug = ngx_kanban_json_string(ctx->body, "slug");
    if (slug == NULL || slug->len == 0) {
        return NGX_OK;
    }

    /* the request's pool goes with it: the lookup's own */
    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_OK;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_portal_locate,
                             ngx_kanban_portal_located, 1, slug)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
    }

    return NGX_OK;
}


static void
ngx_kanban_portal_located(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_tenant_t  t;

    if (q->error == NGX_KANBAN_PG_OK && PQntuples(q->result) == 1) {
        ngx_memzero(&t, sizeof(ngx_kanban_tenant_t));

        t.slug.data = (u_char *) PQgetvalue(q->result, 0, 0);
        t.slug.len = PQgetlength(q->result, 0, 0);
        t.db_name.data = (u_char *) PQgetvalue(q->result, 0, 1);
        t.db_name.len = PQgetlength(q->result, 0, 1);
        t.db_dsn.data = (u_char *) PQgetvalue(q->result, 0, 2);
        t.db_dsn.len = PQgetlength(q->result, 0, 2);

        /* the sweeper keeps its own copies */
        ngx_kanban_sweep_wake(&ngx_kanban_portal_sweep, &t);
    }

    ngx_destroy_pool(q->pool);
}


static void
ngx_kanban_portal_ws_init(ngx_kanban_sweep_ws_t *ws)
{
    ngx_kanban_portal_ws_t  *pws;

    pws = ws->data;
    pws->failures = 0;
    pws->figures_at = 0;
    pws->figures_in = NGX_KANBAN_SWEEP_NOTHING;
}


/* The step: a batch of the queue read, then applied, then deleted. */

static ngx_int_t
ngx_kanban_portal_step(ngx_kanban_sweep_ws_t *ws)
{
    ngx_str_t                  batch = ngx_string(NGX_KANBAN_PORTAL_BATCH);
    ngx_pool_t                *pool;
    ngx_kanban_pg_query_t     *q;
    ngx_kanban_portal_ws_t    *pws;
    ngx_kanban_portal_sync_t  *sync;

    pws = ws->data;
    pws->figures_in = ngx_kanban_portal_figures(ws, &pws->figures_at);

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    sync = ngx_pcalloc(pool, sizeof(ngx_kanban_portal_sync_t));
    q = ngx_kanban_pg_query_background(pool, &ws->db);

    if (sync == NULL || q == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    sync->pool = pool;
    sync->ws = ws;
    q->data = sync;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_pending_stmt,
                          ngx_kanban_portal_pending, 1, &batch)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_kanban_portal_pending(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                  changes;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_portal_sync_t  *sync;

    sync = q->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        /* PostgreSQL away, or a workspace not yet migrated */
        ngx_kanban_sweep_failed(sync->ws, q);
        ngx_kanban_portal_finish(sync, NGX_ERROR);
        return;
    }

    if (PQgetisnull(q->result, 0, 0)) {
        ngx_kanban_portal_finish(sync, NGX_OK);     /* nothing queued */
        return;
    }

    if (ngx_kanban_sweep_copy(sync->pool, q->result, 0, 0, &sync->upto)
        != NGX_OK
        || ngx_kanban_sweep_copy(sync->pool, q->result, 0, 1, &changes)
           != NGX_OK)
    {
        ngx_kanban_portal_finish(sync, NGX_ERROR);
        return;
    }

    /* a full batch may have more behind it */
    sync->more = ngx_atoi((u_char *) PQgetvalue(q->result, 0, 2),
                          PQgetlength(q->result, 0, 2))
                 >= ngx_atoi((u_char *) NGX_KANBAN_PORTAL_BATCH,
                             sizeof(NGX_KANBAN_PORTAL_BATCH) - 1);

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(sync->pool, &db);
    if (q == NULL) {
        ngx_kanban_portal_finish(sync, NGX_ERROR);
        return;
    }

    q->data = sync;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_apply,
                          ngx_kanban_portal_applied, 2, &sync->ws->node.str,
                          &changes)
        != NGX_OK)
    {
        ngx_kanban_portal_finish(sync, NGX_ERROR);
    }
}


static void
ngx_kanban_portal_applied(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_portal_sync_t  *sync;

    sync = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: portal: the directory of \"%V\" not "
                      "applied: %s", &sync->ws->node.str,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        ngx_kanban_portal_finish(sync, NGX_ERROR);
        return;
    }

    q = ngx_kanban_pg_query_background(sync->pool, &sync->ws->db);
    if (q == NULL) {
        ngx_kanban_portal_finish(sync, NGX_ERROR);
        return;
    }

    q->data = sync;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_clear,
                          ngx_kanban_portal_cleared, 1, &sync->upto)
        != NGX_OK)
    {
        ngx_kanban_portal_finish(sync, NGX_ERROR);
    }
}


static void
ngx_kanban_portal_cleared(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_portal_sync_t  *sync;

    sync = q->data;

    /* applied either way: rows not deleted are skipped when read again */
    ngx_kanban_portal_finish(sync, q->error == NGX_KANBAN_PG_OK ? NGX_OK
                                                                : NGX_ERROR);
}


/* A step's end: nothing more due, again at once after a full batch, or
 * after a backoff that doubles with each failure in a row, which the due
 * index keeps; after TRIES, left to the next write. */

static void
ngx_kanban_portal_finish(ngx_kanban_portal_sync_t *sync, ngx_int_t rc)
{
    ngx_msec_t               wait;
    ngx_kanban_sweep_ws_t   *ws;
    ngx_kanban_portal_ws_t  *pws;

    ws = sync->ws;
    pws = ws->data;

    if (rc == NGX_OK) {
        pws->failures = 0;
        wait = sync->more ? 0 : NGX_KANBAN_SWEEP_NOTHING;

    } else if (++pws->failures < NGX_KANBAN_PORTAL_TRIES) {
        wait = NGX_KANBAN_PORTAL_BACKOFF << (pws->failures - 1);

    } else {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: portal: the directory of \"%V\" left "
                      "queued after %ui failures: its next write or "
                      "kanbanctl portal-sync takes it",
                      &ws->node.str, pws->failures);
        wait = NGX_KANBAN_SWEEP_NOTHING;
    }

    /* a measure of the figures put off is due too (NOTHING is the
     * largest wait: "nothing due" stays nothing) */
    if (pws->figures_in < wait) {
        wait = pws->figures_in;
    }

    pws->figures_in = NGX_KANBAN_SWEEP_NOTHING;

    ngx_destroy_pool(sync->pool);

    ngx_kanban_sweep_done(ws, wait);
}
