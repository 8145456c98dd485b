
/*
 * The directory of members: each workspace queues its changes (a
 * person's address, status or verification, the email-link policy;
 * tenant 045) and this worker takes them to the catalog: every
 * NGX_KANBAN_PORTAL_SYNC it lists the active workspaces, and for one at a
 * time reads up to NGX_KANBAN_PORTAL_BATCH queued changes, applies them
 * in the catalog (portal_directory_apply(), catalog 012), then deletes
 * them from the queue. A failure anywhere leaves them queued for the
 * next round; applying a change twice gives the same directory.
 *
 * One worker per node does this (worker 0): the reads of an idle
 * workspace are one indexed query of an empty table.
 */

/* SQL: sql/catalog/012_portal.sql, sql/tenant/045_portal.sql */
#include "ngx_kanban_portal.h"


#define NGX_KANBAN_PORTAL_SYNC   1000       /* ms between rounds */
#define NGX_KANBAN_PORTAL_BATCH  "500"


typedef struct {
    ngx_str_t                  slug;
    ngx_kanban_pg_db_t         db;
} ngx_kanban_portal_ws_t;


typedef struct {
    ngx_pool_t                *pool;        /* the round's */
    ngx_array_t                ws;          /* ngx_kanban_portal_ws_t */
    ngx_uint_t                 next;
    ngx_str_t                  upto;
} ngx_kanban_portal_round_t;


static void ngx_kanban_portal_tick(ngx_event_t *ev);
static void ngx_kanban_portal_listed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_step(ngx_kanban_portal_round_t *rd);
static void ngx_kanban_portal_pending(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_applied(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_cleared(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_done(ngx_kanban_portal_round_t *rd);
static ngx_str_t *ngx_kanban_portal_copy(ngx_pool_t *pool, PGresult *res,
    int row, int col);


static ngx_kanban_pg_stmt_t  ngx_kanban_portal_tenants = ngx_kanban_pg_stmt(
    "portal_tenants",
    "SELECT slug, db_name, db_dsn FROM tenants WHERE status = 'active'"
    " ORDER BY slug");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_pending_stmt =
    ngx_kanban_pg_stmt("portal_directory_pending",
    "SELECT upto, changes FROM portal_directory_pending($1::int)");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_apply = ngx_kanban_pg_stmt(
    "portal_directory_apply",
    "SELECT portal_directory_apply($1, $2::jsonb)");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_clear = ngx_kanban_pg_stmt(
    "portal_directory_clear",
    "DELETE FROM portal_directory_changes WHERE id <= $1::bigint");


static ngx_event_t  ngx_kanban_portal_timer;


ngx_int_t
ngx_kanban_portal_directory_init_process(ngx_cycle_t *cycle)
{
    if (ngx_worker != 0 || ngx_kanban_main_conf()->catalog.len == 0) {
        return NGX_OK;
    }

    ngx_kanban_portal_timer.handler = ngx_kanban_portal_tick;
    ngx_kanban_portal_timer.log = cycle->log;
    ngx_kanban_portal_timer.data = &ngx_kanban_portal_timer;
    ngx_kanban_portal_timer.cancelable = 1;

    ngx_add_timer(&ngx_kanban_portal_timer, NGX_KANBAN_PORTAL_SYNC);

    return NGX_OK;
}


static void
ngx_kanban_portal_tick(ngx_event_t *ev)
{
    ngx_pool_t                 *pool;
    ngx_kanban_pg_db_t          db;
    ngx_kanban_pg_query_t      *q;
    ngx_kanban_portal_round_t  *rd;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        goto again;
    }

    rd = ngx_pcalloc(pool, sizeof(ngx_kanban_portal_round_t));
    if (rd == NULL
        || ngx_array_init(&rd->ws, pool, 16, sizeof(ngx_kanban_portal_ws_t))
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        goto again;
    }

    rd->pool = pool;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        ngx_destroy_pool(pool);
        goto again;
    }

    q->data = rd;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_tenants,
                          ngx_kanban_portal_listed, 0)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        goto again;
    }

    return;

again:

    ngx_add_timer(ev, NGX_KANBAN_PORTAL_SYNC);
}


static void
ngx_kanban_portal_listed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                         i, n;
    ngx_str_t                  *slug, *name, *dsn;
    ngx_kanban_portal_ws_t     *ws;
    ngx_kanban_portal_round_t  *rd;

    rd = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_portal_done(rd);
        return;
    }

    n = PQntuples(q->result);

    for (i = 0; i < n; i++) {
        slug = ngx_kanban_portal_copy(rd->pool, q->result, i, 0);
        name = ngx_kanban_portal_copy(rd->pool, q->result, i, 1);
        dsn = ngx_kanban_portal_copy(rd->pool, q->result, i, 2);
        ws = ngx_array_push(&rd->ws);

        if (slug == NULL || name == NULL || dsn == NULL || ws == NULL) {
            break;
        }

        ws->slug = *slug;
        ws->db.name = *name;
        ws->db.dsn = dsn->len ? *dsn : ngx_kanban_main_conf()->catalog;
    }

    ngx_kanban_portal_step(rd);
}


/* The next workspace of the round, or the round's end. */

static void
ngx_kanban_portal_step(ngx_kanban_portal_round_t *rd)
{
    ngx_str_t                batch = ngx_string(NGX_KANBAN_PORTAL_BATCH);
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_portal_ws_t  *ws;

    if (rd->next >= rd->ws.nelts || ngx_exiting || ngx_quit
        || ngx_terminate)
    {
        ngx_kanban_portal_done(rd);
        return;
    }

    ws = (ngx_kanban_portal_ws_t *) rd->ws.elts + rd->next;

    q = ngx_kanban_pg_query_background(rd->pool, &ws->db);
    if (q == NULL) {
        ngx_kanban_portal_done(rd);
        return;
    }

    q->data = rd;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_pending_stmt,
                          ngx_kanban_portal_pending, 1, &batch)
        != NGX_OK)
    {
        ngx_kanban_portal_done(rd);
    }
}


static void
ngx_kanban_portal_pending(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                  *changes, *upto;
    ngx_kanban_pg_db_t          db;
    ngx_kanban_portal_ws_t     *ws;
    ngx_kanban_portal_round_t  *rd;

    rd = q->data;
    ws = (ngx_kanban_portal_ws_t *) rd->ws.elts + rd->next;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1
        || PQgetisnull(q->result, 0, 0))
    {
        /* nothing queued, or a workspace not yet migrated: the next */
        rd->next++;
        ngx_kanban_portal_step(rd);
        return;
    }

    upto = ngx_kanban_portal_copy(rd->pool, q->result, 0, 0);
    changes = ngx_kanban_portal_copy(rd->pool, q->result, 0, 1);

    if (upto == NULL || changes == NULL) {
        ngx_kanban_portal_done(rd);
        return;
    }

    rd->upto = *upto;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(rd->pool, &db);
    if (q == NULL) {
        ngx_kanban_portal_done(rd);
        return;
    }

    q->data = rd;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_apply,
                          ngx_kanban_portal_applied, 2, &ws->slug, changes)
        != NGX_OK)
    {
        ngx_kanban_portal_done(rd);
    }
}


static void
ngx_kanban_portal_applied(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_portal_ws_t     *ws;
    ngx_kanban_portal_round_t  *rd;

    rd = q->data;
    ws = (ngx_kanban_portal_ws_t *) rd->ws.elts + rd->next;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: portal: the directory of \"%V\" not "
                      "applied: %s", &ws->slug,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        rd->next++;
        ngx_kanban_portal_step(rd);
        return;
    }

    q = ngx_kanban_pg_query_background(rd->pool, &ws->db);
    if (q == NULL) {
        ngx_kanban_portal_done(rd);
        return;
    }

    q->data = rd;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_clear,
                          ngx_kanban_portal_cleared, 1, &rd->upto)
        != NGX_OK)
    {
        ngx_kanban_portal_done(rd);
    }
}


static void
ngx_kanban_portal_cleared(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_portal_round_t  *rd;

    rd = q->data;

    /* a full batch may have more behind it: taken in the next round */
    rd->next++;
    ngx_kanban_portal_step(rd);
}


static void
ngx_kanban_portal_done(ngx_kanban_portal_round_t *rd)
{
    ngx_destroy_pool(rd->pool);

    if (!(ngx_exiting || ngx_quit || ngx_terminate)) {
        ngx_add_timer(&ngx_kanban_portal_timer, NGX_KANBAN_PORTAL_SYNC);
    }
}


static ngx_str_t *
ngx_kanban_portal_copy(ngx_pool_t *pool, PGresult *res, int row, int col)
{
    ngx_str_t  *s;

    s = ngx_palloc(pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NULL;
    }

    s->len = PQgetlength(res, row, col);
    s->data = ngx_pnalloc(pool, s->len + 1);
    if (s->data == NULL) {
        return NULL;
    }

    ngx_memcpy(s->data, PQgetvalue(res, row, col), s->len);
    s->data[s->len] = '\0';

    return s;
}
