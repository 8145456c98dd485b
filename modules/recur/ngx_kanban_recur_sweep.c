
/*
 * The planner: in each workspace that has something due, it makes the
 * due occurrences of recurring tasks and sends the due reminders, both
 * with planner_step() (sql/tenant/068), and tells the catalog when the
 * workspace is due next (planner_tenants, sql/catalog/022).
 *
 * Which workspaces, and when (the core's sweeper, ngx_kanban_sweep.h):
 * those the catalog says are due, read every kanban_planner_sweep; a
 * workspace written to through this worker, at once; and one this worker
 * watches, when its next date comes. No workspace is visited on a timer
 * for nothing: the catalog's list holds only those due, and one this
 * worker already watches is stepped only when that list names it.
 *
 * Any number of workers and nodes may step one workspace at once: what
 * is made, is made once (the occurrence's key, the series' lock; see
 * sql/tenant/067), so this is only about not asking in vain.
 */

/* SQL: sql/catalog/022_planner_tenants.sql; sql/tenant/067_recurrence.sql,
 * 068_reminders.sql */
#include "ngx_kanban_recur.h"
#include "ngx_kanban_sweep.h"


#define NGX_KANBAN_RECUR_HINT_GAP  1000    /* ms between steps on hints */
#define NGX_KANBAN_RECUR_LONGEST   86400000 /* a day: asked again anyway */
#define NGX_KANBAN_RECUR_MARGIN    50      /* ms: nginx's cached time is
                                              a little late; a write near
                                              the step's start keeps the
                                              workspace due */
#define NGX_KANBAN_RECUR_AGAIN     1000    /* ms: a write came meanwhile */


typedef struct {
    ngx_kanban_sweep_ws_t     *ws;
    ngx_msec_t                 started;
    ngx_msec_t                 wait;
} ngx_kanban_recur_step_t;


static ngx_int_t ngx_kanban_recur_step(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_recur_stepped(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_recur_noted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_recur_list(ngx_event_t *ev);
static void ngx_kanban_recur_listed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_recur_tenants = ngx_kanban_pg_stmt(
    "recur_tenants",
    "SELECT t.slug, t.db_name, t.db_dsn"
    "  FROM planner_tenants p JOIN tenants t ON t.slug = p.slug"
    " WHERE p.next_at <= now() AND t.status = 'active'");

static ngx_kanban_pg_stmt_t  ngx_kanban_recur_planner_step =
    ngx_kanban_pg_stmt("recur_planner_step",
    "SELECT made, sent, next_in, busy FROM planner_step($1::integer)");

/* $2: seconds to the next due time (NULL: none); $3: seconds since the
 * step began, so that a write since then (which set next_at to its now)
 * is not overwritten with what the step saw before it */
static ngx_kanban_pg_stmt_t  ngx_kanban_recur_note = ngx_kanban_pg_stmt(
    "recur_note",
    "UPDATE planner_tenants"
    "   SET next_at = CASE WHEN $2::float8 IS NULL THEN 'infinity'"
    "                 ELSE now() + make_interval(secs => $2::float8) END"
    " WHERE slug = $1"
    "   AND next_at <= now() - make_interval(secs => $3::float8)");


static ngx_kanban_recur_conf_t  *ngx_kanban_recur_planner_conf;
static ngx_event_t               ngx_kanban_recur_list_timer;

static ngx_kanban_sweep_t  ngx_kanban_recur_sweep = {
    .name = "planner",
    .tenants = &ngx_kanban_recur_tenants,
    .step = ngx_kanban_recur_step,
};


ngx_int_t
ngx_kanban_recur_sweep_init_process(ngx_cycle_t *cycle,
    ngx_kanban_recur_conf_t *rcf)
{
    ngx_kanban_recur_planner_conf = rcf;
    ngx_kanban_recur_sweep.period = rcf->sweep;

    /* the sweeper adds the workspaces it lists; those it has already
     * are stepped here, when the same list names them again */
    ngx_kanban_recur_list_timer.handler = ngx_kanban_recur_list;
    ngx_kanban_recur_list_timer.log = cycle->log;
    ngx_kanban_recur_list_timer.cancelable = 1;
    ngx_add_timer(&ngx_kanban_recur_list_timer, rcf->sweep);

    return ngx_kanban_sweep_start(&ngx_kanban_recur_sweep, cycle);
}


/* A write in this worker: the workspace is watched and stepped. */

void
ngx_kanban_recur_wake(ngx_kanban_tenant_t *tenant)
{
    ngx_kanban_sweep_wake(&ngx_kanban_recur_sweep, tenant);
}


/* A Redis event message names the workspace (a task done may start the
 * wait of an after_done series): stepped, at most every HINT_GAP. */

void
ngx_kanban_recur_hint(ngx_str_t *slug)
{
    ngx_kanban_sweep_hint(&ngx_kanban_recur_sweep, slug,
                          NGX_KANBAN_RECUR_HINT_GAP);
}


static ngx_int_t
ngx_kanban_recur_step(ngx_kanban_sweep_ws_t *ws)
{
    ngx_str_t                *batch;
    ngx_pool_t               *pool;
    ngx_kanban_pg_query_t    *q;
    ngx_kanban_recur_step_t  *st;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    st = ngx_palloc(pool, sizeof(ngx_kanban_recur_step_t));
    batch = ngx_kanban_sweep_number(pool, ngx_kanban_recur_planner_conf->batch,
                                    0);
    if (st == NULL || batch == NULL) {
        goto failed;
    }

    st->ws = ws;
    st->started = ngx_current_msec;

    q = ngx_kanban_pg_query_background(pool, &ws->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = st;

    if (ngx_kanban_pg_run(q, &ngx_kanban_recur_planner_step,
                          ngx_kanban_recur_stepped, 1, batch)
        != NGX_OK)
    {
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);

    return NGX_ERROR;
}


static void
ngx_kanban_recur_stepped(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                *next, *since, *slug;
    ngx_pool_t               *pool;
    ngx_kanban_pg_db_t        db;
    ngx_kanban_sweep_ws_t    *ws;
    ngx_kanban_recur_step_t  *st;

    st = q->data;
    ws = st->ws;
    pool = q->pool;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_kanban_sweep_failed(ws, q);
        ngx_destroy_pool(pool);
        ngx_kanban_sweep_done(ws, ngx_kanban_recur_planner_conf->sweep);
        return;
    }

    if (PQgetvalue(q->result, 0, 3)[0] == 't') {
        /* another planner works in the workspace: it tells the catalog */
        ngx_destroy_pool(pool);
        ngx_kanban_sweep_done(ws, NGX_KANBAN_RECUR_AGAIN);
        return;
    }

    st->wait = ngx_kanban_sweep_next_in(q->result, 0, 2,
                                        NGX_KANBAN_RECUR_LONGEST);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "kanban: planner: \"%V\" made %s, sent %s",
                   &st->ws->node.str, PQgetvalue(q->result, 0, 0),
                   PQgetvalue(q->result, 0, 1));

    /* the catalog learns when the workspace is due next */
    next = NULL;

    if (!PQgetisnull(q->result, 0, 2)) {
        next = ngx_kanban_sweep_number(pool, st->wait, 1);
    }

    since = ngx_kanban_sweep_number(pool, ngx_current_msec - st->started
                                          + NGX_KANBAN_RECUR_MARGIN, 1);
    slug = ngx_palloc(pool, sizeof(ngx_str_t));

    if (since == NULL || slug == NULL
        || (!PQgetisnull(q->result, 0, 2) && next == NULL))
    {
        goto failed;
    }

    *slug = st->ws->node.str;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        goto failed;
    }

    q->data = st;

    if (ngx_kanban_pg_run(q, &ngx_kanban_recur_note, ngx_kanban_recur_noted,
                          3, slug, next, since)
        != NGX_OK)
    {
        goto failed;
    }

    return;

failed:

    ngx_destroy_pool(pool);
    ngx_kanban_sweep_done(ws, ngx_kanban_recur_planner_conf->sweep);
}


static void
ngx_kanban_recur_noted(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_msec_t                wait;
    ngx_kanban_sweep_ws_t    *ws;
    ngx_kanban_recur_step_t  *st;

    st = q->data;
    ws = st->ws;
    wait = st->wait;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: planner: the catalog was not told when "
                      "\"%V\" is due: %s", &ws->node.str,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");

    } else if (PQcmdTuples(q->result)[0] == '0') {
        /* a write since the step began: it may have made something due
         * that the step did not see */
        wait = ngx_min(wait, NGX_KANBAN_RECUR_AGAIN);
    }

    ngx_destroy_pool(q->pool);

    ngx_kanban_sweep_done(ws, wait);
}


/* The catalog's due workspaces: those this worker watches already are
 * stepped now (the sweeper itself adds and steps the others). */

static void
ngx_kanban_recur_list(ngx_event_t *ev)
{
    ngx_pool_t             *pool;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, ngx_kanban_recur_planner_conf->sweep);

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_recur_tenants,
                             ngx_kanban_recur_listed, 0)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
    }
}


static void
ngx_kanban_recur_listed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int        i, n;
    ngx_str_t  slug;

    if (q->error == NGX_KANBAN_PG_OK) {
        n = PQntuples(q->result);

        for (i = 0; i < n; i++) {
            slug.data = (u_char *) PQgetvalue(q->result, i, 0);
            slug.len = PQgetlength(q->result, i, 0);

            ngx_kanban_sweep_hint(&ngx_kanban_recur_sweep, &slug, 0);
        }
    }

    ngx_destroy_pool(q->pool);
}
