
/*
 * The console's figures of a workspace (users, tasks, stored bytes, last
 * activity; catalog 008 tenant_figures) follow its writes: the directory's
 * step (ngx_kanban_portal_directory.c), which every write wakes, measures
 * them too, at most once every NGX_KANBAN_PORTAL_FIGURES_EVERY per
 * workspace and worker. A step that comes sooner is told how long to
 * wait, and the directory's step is due again then (a due time, in the
 * due index), so the last write of a burst is measured too; after that
 * nothing is due. kanbanctl figures still measures every workspace at
 * once (after an upgrade, or for workspaces written to outside nginx).
 *
 * The measure reads the workspace's own database, the write goes to the
 * catalog; neither holds the directory's step, whose answer does not
 * depend on them. A failure leaves the last figures, as kanbanctl does.
 */

/* SQL: sql/catalog/008_operators.sql (tenant_figures) */
#include "ngx_kanban_portal.h"
#include "ngx_kanban_sweep.h"


/* one measure's, with its own copies: it may outlive the step */
typedef struct {
    ngx_pool_t                *pool;
    ngx_str_t                  slug;
} ngx_kanban_portal_figures_t;


static void ngx_kanban_portal_figures_measured(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_figures_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


/* what kanbanctl figures measures, the same way */
static ngx_kanban_pg_stmt_t  ngx_kanban_portal_figures_measure =
    ngx_kanban_pg_stmt("portal_figures_measure",
    "SELECT (SELECT count(*) FROM users"
    "         WHERE status IN ('active', 'invited')),"
    "       (SELECT count(*) FROM tasks),"
    "       pg_database_size(current_database()),"
    "       coalesce((SELECT created_at FROM activity_log"
    "                  ORDER BY id DESC LIMIT 1)::text, ''),"
    "       statement_timestamp()::text");

/* $1 slug, $2 users, $3 tasks, $4 bytes, $5 last activity or '', $6 when
 * the measure was taken; an older measure than the one kept is ignored
 * (two workers' measures may be stored in the other order, catalog 024) */
static ngx_kanban_pg_stmt_t  ngx_kanban_portal_figures_store =
    ngx_kanban_pg_stmt("portal_figures_store",
    "INSERT INTO tenant_figures (tenant_id, users, tasks, size_bytes,"
    "                            last_active_at, taken_at)"
    " SELECT t.id, $2::int, $3::bigint, $4::bigint,"
    "        nullif($5, '')::timestamptz, $6::timestamptz"
    "   FROM tenants t WHERE t.slug = $1 AND t.status = 'active'"
    " ON CONFLICT (tenant_id) DO UPDATE"
    "    SET users = EXCLUDED.users, tasks = EXCLUDED.tasks,"
    "        size_bytes = EXCLUDED.size_bytes,"
    "        last_active_at = EXCLUDED.last_active_at,"
    "        taken_at = EXCLUDED.taken_at, measured_at = now()"
    "  WHERE tenant_figures.taken_at IS NULL"
    "     OR tenant_figures.taken_at <= EXCLUDED.taken_at");


/* Measures the workspace when its last measure is old enough (*at, this
 * worker's), and answers NGX_KANBAN_SWEEP_NOTHING; else answers how long
 * until it may be measured again. */

ngx_msec_t
ngx_kanban_portal_figures(ngx_kanban_sweep_ws_t *ws, ngx_msec_t *at)
{
    ngx_msec_t                    since;
    ngx_pool_t                   *pool;
    ngx_kanban_pg_db_t            db;
    ngx_kanban_pg_query_t        *q;
    ngx_kanban_portal_figures_t  *f;

    since = ngx_current_msec - *at;

    if (*at != 0 && since < NGX_KANBAN_PORTAL_FIGURES_EVERY) {
        return NGX_KANBAN_PORTAL_FIGURES_EVERY - since;
    }

    *at = ngx_current_msec;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_KANBAN_SWEEP_NOTHING;
    }

    f = ngx_palloc(pool, sizeof(ngx_kanban_portal_figures_t));
    if (f == NULL) {
        goto failed;
    }

    f->pool = pool;
    f->slug.len = ws->node.str.len;
    f->slug.data = ngx_pstrdup(pool, &ws->node.str);

    db.dsn.len = ws->db.dsn.len;
    db.dsn.data = ngx_pstrdup(pool, &ws->db.dsn);
    db.name.len = ws->db.name.len;
    db.name.data = ngx_pstrdup(pool, &ws->db.name);

    if (f->slug.data == NULL || db.dsn.data == NULL || db.name.data == NULL)
    {
        goto failed;
    }

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        goto failed;
    }

    q->data = f;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_figures_measure,
                          ngx_kanban_portal_figures_measured, 0)
        != NGX_OK)
    {
        goto failed;
    }

    return NGX_KANBAN_SWEEP_NOTHING;

failed:

    ngx_destroy_pool(pool);
    return NGX_KANBAN_SWEEP_NOTHING;
}


static void
ngx_kanban_portal_figures_measured(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_int_t                     i;
    ngx_str_t                     v[5];
    ngx_kanban_pg_db_t            db;
    ngx_kanban_portal_figures_t  *f;

    f = q->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        /* PostgreSQL away, or a workspace not yet migrated: the last
         * figures stay */
        ngx_destroy_pool(f->pool);
        return;
    }

    for (i = 0; i < 5; i++) {
        if (ngx_kanban_sweep_copy(f->pool, q->result, 0, i, &v[i]) != NGX_OK)
        {
            ngx_destroy_pool(f->pool);
            return;
        }
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(f->pool, &db);
    if (q == NULL) {
        ngx_destroy_pool(f->pool);
        return;
    }

    q->data = f;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_figures_store,
                          ngx_kanban_portal_figures_stored, 6, &f->slug,
                          &v[0], &v[1], &v[2], &v[3], &v[4])
        != NGX_OK)
    {
        ngx_destroy_pool(f->pool);
    }
}


static void
ngx_kanban_portal_figures_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_kanban_portal_figures_t  *f;

    f = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: portal: the figures of \"%V\" not stored: %s",
                      &f->slug,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
    }

    ngx_destroy_pool(f->pool);
}
