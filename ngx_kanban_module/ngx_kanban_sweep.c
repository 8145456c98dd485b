
/*
 * The background sweeper (see ngx_kanban_sweep.h for how a module uses
 * it): the worker's list of workspaces a module watches, the timer that
 * steps those that are due, and one step at a time per workspace.
 */

#include "ngx_kanban_sweep.h"


#define NGX_KANBAN_SWEEP_TICK    1000
#define NGX_KANBAN_SWEEP_FIRST   100       /* ms after the worker starts */
#define NGX_KANBAN_SWEEP_SLACK   1000      /* ms a due time moves unwritten */
#define NGX_KANBAN_SWEEP_INDEXED 8         /* due-indexed sweeps a worker */
#define NGX_KANBAN_SWEEP_WAKE_GAP 100      /* ms between steps on writes */


static void ngx_kanban_sweep_tick(ngx_event_t *ev);
static void ngx_kanban_sweep_list(ngx_kanban_sweep_t *s);
static void ngx_kanban_sweep_listed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_kanban_sweep_ws_t *ngx_kanban_sweep_find(ngx_kanban_sweep_t *s,
    ngx_str_t *slug);
static ngx_kanban_sweep_ws_t *ngx_kanban_sweep_add(ngx_kanban_sweep_t *s,
    ngx_str_t *slug, ngx_str_t *name, ngx_str_t *dsn);
static ngx_int_t ngx_kanban_sweep_written(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_sweep_record(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_sweep_recorded(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_sweep_settle(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_sweep_drop(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_sweep_free(void *data);
static ngx_msec_t ngx_kanban_sweep_wall(void);


/* the due index (sql/catalog/018_sweep_due.sql); '' is the catalog */

static ngx_kanban_pg_stmt_t  ngx_kanban_sweep_due_list = ngx_kanban_pg_stmt(
    "sweep_due_list",
    "SELECT d.slug, coalesce(t.db_name, ''), coalesce(t.db_dsn, ''),"
    "       extract(epoch FROM d.due_at - now())::float8, d.due_at::text"
    "  FROM sweep_due d LEFT JOIN tenants t ON t.slug = d.slug"
    " WHERE d.sweep = $1"
    "   AND d.due_at <= now() + make_interval(secs => $2::float8)"
    "   AND (d.slug = '' OR t.status = 'active')");

static ngx_kanban_pg_stmt_t  ngx_kanban_sweep_due_set = ngx_kanban_pg_stmt(
    "sweep_due_set",
    "INSERT INTO sweep_due (sweep, slug, due_at)"
    " VALUES ($1, $2, now() + make_interval(secs => $3::float8))"
    " ON CONFLICT (sweep, slug) DO UPDATE SET due_at = EXCLUDED.due_at"
    " RETURNING due_at::text");

static ngx_kanban_pg_stmt_t  ngx_kanban_sweep_due_clear = ngx_kanban_pg_stmt(
    "sweep_due_clear",
    "DELETE FROM sweep_due"
    " WHERE sweep = $1 AND slug = $2 AND due_at = $3::timestamptz");


static ngx_kanban_sweep_t  *ngx_kanban_sweep_indexed[NGX_KANBAN_SWEEP_INDEXED];
static ngx_uint_t           ngx_kanban_sweep_nindexed;


ngx_int_t
ngx_kanban_sweep_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_kanban_sweep_written;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_sweep_start(ngx_kanban_sweep_t *s, ngx_cycle_t *cycle)
{
    ngx_pool_cleanup_t  *cln;

    /* the entries are malloc'ed: the cycle's pool frees them at exit */
    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_kanban_sweep_free;
    cln->data = s;

    ngx_rbtree_init(&s->tree, &s->sentinel, ngx_str_rbtree_insert_value);
    ngx_queue_init(&s->all);

    if (s->tick == 0) {
        s->tick = ngx_min(NGX_KANBAN_SWEEP_TICK, s->period);
    }

    s->timer.handler = ngx_kanban_sweep_tick;
    s->timer.log = cycle->log;
    s->timer.data = s;

    /* a quitting worker leaves what it has in flight to the leases */
    s->timer.cancelable = 1;

    if (s->due_index) {
        if (ngx_kanban_sweep_nindexed == NGX_KANBAN_SWEEP_INDEXED) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "kanban: too many due-indexed sweeps");
            return NGX_ERROR;
        }

        ngx_kanban_sweep_indexed[ngx_kanban_sweep_nindexed++] = s;
    }

    s->running = 1;

    ngx_add_timer(&s->timer, NGX_KANBAN_SWEEP_FIRST);

    return NGX_OK;
}


void
ngx_kanban_sweep_wake(ngx_kanban_sweep_t *s, ngx_kanban_tenant_t *t)
{
    ngx_kanban_sweep_ws_t  *ws;

    if (!s->running) {
        return;
    }

    ws = ngx_kanban_sweep_add(s, &t->slug, &t->db_name, &t->db_dsn);
    if (ws == NULL) {
        return;
    }

    /* a workspace written to all the time is asked every WAKE_GAP, not
     * once a write (its entry stays until that step: only a step's end
     * drops one) */
    if (s->due_index && !ws->stepping && ws->stepped
        && ngx_current_msec - ws->stepped < NGX_KANBAN_SWEEP_WAKE_GAP)
    {
        ngx_kanban_sweep_sooner(ws, ws->stepped + NGX_KANBAN_SWEEP_WAKE_GAP
                                    - ngx_current_msec);
        return;
    }

    ngx_kanban_sweep_step(ws);
}


/* An answered request that may have written to its workspace (its
 * transaction committed): the due-indexed sweeps step it, as a write may
 * have queued work. The same requests as the portal's directory counts. */

static ngx_int_t
ngx_kanban_sweep_written(ngx_http_request_t *r)
{
    ngx_uint_t         i, status;
    ngx_kanban_ctx_t  *ctx;

    if (ngx_kanban_sweep_nindexed == 0 || r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_module);
    if (ctx == NULL || ctx->route == NULL || ctx->tenant == NULL) {
        return NGX_OK;
    }

    status = r->headers_out.status;
    if (status < NGX_HTTP_OK || status >= NGX_HTTP_BAD_REQUEST) {
        return NGX_OK;              /* refused: its transaction rolled back */
    }

    if ((r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS))
        && status < NGX_HTTP_MOVED_PERMANENTLY && !ctx->wrote)
    {
        return NGX_OK;
    }

    for (i = 0; i < ngx_kanban_sweep_nindexed; i++) {
        ngx_kanban_sweep_wake(ngx_kanban_sweep_indexed[i], ctx->tenant);
    }

    return NGX_OK;
}


void
ngx_kanban_sweep_wrote(ngx_str_t *slug, ngx_kanban_pg_db_t *db)
{
    ngx_uint_t           i;
    ngx_kanban_tenant_t  t;

    ngx_memzero(&t, sizeof(ngx_kanban_tenant_t));
    t.slug = *slug;
    t.db_name = db->name;
    t.db_dsn = db->dsn;

    for (i = 0; i < ngx_kanban_sweep_nindexed; i++) {
        ngx_kanban_sweep_wake(ngx_kanban_sweep_indexed[i], &t);
    }
}


void
ngx_kanban_sweep_hint(ngx_kanban_sweep_t *s, ngx_str_t *slug, ngx_msec_t gap)
{
    ngx_kanban_sweep_ws_t  *ws;

    if (!s->running) {
        return;
    }

    ws = ngx_kanban_sweep_find(s, slug);
    if (ws == NULL) {
        return;
    }

    if (ngx_current_msec - ws->stepped < gap) {
        if ((ngx_msec_int_t) (ws->next - ws->stepped - gap) > 0) {
            ngx_kanban_sweep_due(ws, ws->stepped + gap - ngx_current_msec);
        }

        return;
    }

    ngx_kanban_sweep_step(ws);
}


static void
ngx_kanban_sweep_tick(ngx_event_t *ev)
{
    ngx_queue_t            *qu, *next;
    ngx_kanban_sweep_t     *s;
    ngx_kanban_sweep_ws_t  *ws;

    s = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        s->running = 0;
        return;
    }

    if ((s->tenants || s->due_index) && !s->listing
        && (s->listed_at == 0 || ngx_current_msec - s->listed_at >= s->period))
    {
        ngx_kanban_sweep_list(s);
    }

    /* a step may end at once and drop its entry: the next one first */
    for (qu = ngx_queue_head(&s->all);
         qu != ngx_queue_sentinel(&s->all);
         qu = next)
    {
        next = ngx_queue_next(qu);
        ws = ngx_queue_data(qu, ngx_kanban_sweep_ws_t, queue);

        if (s->each) {
            s->each(ws);
        }

        if ((ngx_msec_int_t) (ngx_current_msec - ws->next) >= 0) {
            ngx_kanban_sweep_step(ws);
        }
    }

    ngx_add_timer(ev, s->tick);
}


void
ngx_kanban_sweep_step(ngx_kanban_sweep_ws_t *ws)
{
    ngx_kanban_sweep_t  *s;

    s = ws->sweep;

    /* a quitting worker takes nothing more: what is due is the leases'
     * and the rows' (its timer, cancelable, may never see it quit) */
    if (!s->running || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (ws->stepping) {
        ws->again = 1;
        return;
    }

    ws->stepping = 1;
    ws->again = 0;
    ws->stepped = ngx_current_msec;

    if (s->step(ws) != NGX_OK) {
        ws->stepping = 0;
    }
}


void
ngx_kanban_sweep_done(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait)
{
    if (!ws->sweep->due_index) {
        ws->stepping = 0;

        ngx_kanban_sweep_due(ws, wait == NGX_KANBAN_SWEEP_NOTHING
                                 ? ws->sweep->period : wait);

        if (ws->again) {
            ngx_kanban_sweep_step(ws);
        }

        return;
    }

    ws->wait = wait;

    if (ngx_kanban_sweep_record(ws) != NGX_OK) {
        ngx_kanban_sweep_settle(ws);
    }
}


/* Not recorded: a busy answer written as the row's due time would bring
 * every worker that lists it back at once, each finding the others busy
 * and writing it again, for ever. The step that holds the workspace
 * records; this worker looks once more, and then its row's time is its
 * own again. */

void
ngx_kanban_sweep_busy(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait)
{
    ws->wait = wait;
    ngx_kanban_sweep_settle(ws);
}


/* The step's answer kept in the catalog's row when it changed: NGX_OK
 * when a write is under way (it settles the entry). */

static ngx_int_t
ngx_kanban_sweep_record(ngx_kanban_sweep_ws_t *ws)
{
    ngx_str_t              *in, name, due_at;
    ngx_msec_t              at;
    ngx_pool_t             *pool;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (ws->wait == NGX_KANBAN_SWEEP_NOTHING) {
        if (ws->due_wall == 0) {
            return NGX_DECLINED;    /* no row of ours */
        }

    } else {
        at = ngx_kanban_sweep_wall() + ws->wait;

        if (ws->due_wall
            && at + NGX_KANBAN_SWEEP_SLACK > ws->due_wall
            && at < ws->due_wall + NGX_KANBAN_SWEEP_SLACK)
        {
            return NGX_DECLINED;    /* as good as unchanged */
        }
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        goto failed;
    }

    q->data = ws;
    name.data = (u_char *) ws->sweep->name;
    name.len = ngx_strlen(ws->sweep->name);

    if (ws->wait == NGX_KANBAN_SWEEP_NOTHING) {
        due_at = ws->due_at;

        if (ngx_kanban_pg_run(q, &ngx_kanban_sweep_due_clear,
                              ngx_kanban_sweep_recorded, 3, &name,
                              &ws->node.str, &due_at)
            != NGX_OK)
        {
            goto failed;
        }

        return NGX_OK;
    }

    in = ngx_kanban_sweep_number(pool, ws->wait, 1);
    if (in == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_sweep_due_set,
                             ngx_kanban_sweep_recorded, 3, &name,
                             &ws->node.str, in)
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
ngx_kanban_sweep_recorded(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    size_t                  len;
    ngx_kanban_sweep_ws_t  *ws;

    ws = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: %s of \"%V\": the due time is not kept: %s",
                      ws->sweep->name, &ws->node.str,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");

        /* the row is unknown now: kept and stepped again */
        ws->due_wall = 0;

        if (ws->wait != NGX_KANBAN_SWEEP_NOTHING) {
            ws->wait = ngx_min(ws->wait, ws->sweep->period);
        }

    } else if (ws->wait == NGX_KANBAN_SWEEP_NOTHING) {
        /* deleted, or someone wrote a newer time: theirs to keep */
        ws->due_wall = 0;

    } else if (PQntuples(q->result) == 1) {
        len = ngx_min((size_t) PQgetlength(q->result, 0, 0),
                      sizeof(ws->due_at_text));
        ngx_memcpy(ws->due_at_text, PQgetvalue(q->result, 0, 0), len);
        ws->due_at.data = ws->due_at_text;
        ws->due_at.len = len;
        ws->due_wall = ngx_kanban_sweep_wall() + ws->wait;
    }

    ngx_destroy_pool(q->pool);

    ngx_kanban_sweep_settle(ws);
}


/* The step is over: again if asked meanwhile; else watched until its
 * next due time, or dropped when nothing is due. An entry due later is
 * kept, however much later: it knows its row, so the next write's step
 * that finds the same time writes nothing. */

static void
ngx_kanban_sweep_settle(ngx_kanban_sweep_ws_t *ws)
{
    ngx_msec_t           wait;
    ngx_kanban_sweep_t  *s;

    s = ws->sweep;
    ws->stepping = 0;
    wait = ws->wait;

    if (ws->again && s->running) {
        ngx_kanban_sweep_step(ws);
        return;
    }

    if (wait == NGX_KANBAN_SWEEP_NOTHING) {
        if (ws->holds == 0) {
            ngx_kanban_sweep_drop(ws);
            return;
        }

        wait = s->period;
    }

    ngx_kanban_sweep_due(ws, wait);
}


static void
ngx_kanban_sweep_drop(ngx_kanban_sweep_ws_t *ws)
{
    ngx_rbtree_delete(&ws->sweep->tree, &ws->node.node);
    ngx_queue_remove(&ws->queue);
    ngx_free(ws);
}


/* The worker exits: the entries it still watches go with it (the module,
 * their only pointer, is unloaded right after). */

static void
ngx_kanban_sweep_free(void *data)
{
    ngx_kanban_sweep_t  *s;

    s = data;
    s->running = 0;

    while (!ngx_queue_empty(&s->all)) {
        ngx_kanban_sweep_drop(ngx_queue_data(ngx_queue_head(&s->all),
                                             ngx_kanban_sweep_ws_t, queue));
    }
}


void
ngx_kanban_sweep_hold(ngx_kanban_sweep_ws_t *ws)
{
    ws->holds++;
}


void
ngx_kanban_sweep_release(ngx_kanban_sweep_ws_t *ws)
{
    ws->holds--;
}


/* Now, in ms since the epoch: the due index's clock (the catalog's own
 * is the same to within the slack). */

static ngx_msec_t
ngx_kanban_sweep_wall(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (ngx_msec_t) tp->sec * 1000 + tp->msec;
}


/* Sooner than the next tick when the workspace is due sooner. */

void
ngx_kanban_sweep_due(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait)
{
    ngx_msec_int_t       left;
    ngx_kanban_sweep_t  *s;

    s = ws->sweep;
    ws->next = ngx_current_msec + wait;

    if (!s->running) {
        return;
    }

    left = s->timer.timer_set
           ? (ngx_msec_int_t) (s->timer.timer.key - ngx_current_msec)
           : (ngx_msec_int_t) s->tick;

    if ((ngx_msec_int_t) wait < left) {
        /* not ngx_add_timer() alone: it keeps a timer within 300 ms */
        if (s->timer.timer_set) {
            ngx_del_timer(&s->timer);
        }

        ngx_add_timer(&s->timer, wait ? wait : 1);
    }
}


void
ngx_kanban_sweep_sooner(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait)
{
    if ((ngx_msec_int_t) (ngx_current_msec + wait - ws->next) < 0) {
        ngx_kanban_sweep_due(ws, wait);
    }
}


void
ngx_kanban_sweep_failed(ngx_kanban_sweep_ws_t *ws, ngx_kanban_pg_query_t *q)
{
    ngx_uint_t  level;

    /* a workspace in a move's write window is read-only for seconds: its
     * work waits for the next step, said once without the noise */
    if (ngx_kanban_pg_sqlstate(q, "25006")) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "kanban: %s of \"%V\" waits: its database is "
                      "read-only", ws->sweep->name, &ws->node.str);
        return;
    }

    /* a workspace not yet migrated has no outbox: not worth a warning
     * every sweep */
    level = ngx_kanban_pg_sqlstate(q, "42883") ? NGX_LOG_INFO : NGX_LOG_WARN;

    ngx_log_error(level, ngx_cycle->log, 0,
                  "kanban: %s of \"%V\" not read: %s", ws->sweep->name,
                  &ws->node.str,
                  q->result ? PQresultErrorMessage(q->result)
                            : "PostgreSQL is unavailable");
}


static void
ngx_kanban_sweep_list(ngx_kanban_sweep_t *s)
{
    ngx_int_t               rc;
    ngx_str_t               name, *period;
    ngx_pool_t             *pool;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    q->data = s;

    if (s->due_index) {
        name.data = (u_char *) s->name;
        name.len = ngx_strlen(s->name);

        period = ngx_kanban_sweep_number(pool, s->period, 1);

        rc = period ? ngx_kanban_pg_run(q, &ngx_kanban_sweep_due_list,
                                        ngx_kanban_sweep_listed, 2, &name,
                                        period)
                    : NGX_ERROR;

    } else {
        rc = ngx_kanban_pg_run(q, s->tenants, ngx_kanban_sweep_listed, 0);
    }

    if (rc != NGX_OK) {
        ngx_destroy_pool(pool);
        return;
    }

    s->listing = 1;
}


static void
ngx_kanban_sweep_listed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                     i, n;
    size_t                  len;
    ngx_str_t               slug, name, dsn;
    ngx_msec_t              in;
    ngx_kanban_sweep_t     *s;
    ngx_kanban_sweep_ws_t  *ws;

    s = q->data;
    s->listing = 0;
    s->listed_at = ngx_current_msec;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: %s: the catalog is not readable: %s", s->name,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        goto done;
    }

    n = PQntuples(q->result);

    for (i = 0; i < n; i++) {
        slug.data = (u_char *) PQgetvalue(q->result, i, 0);
        slug.len = PQgetlength(q->result, i, 0);
        name.data = (u_char *) PQgetvalue(q->result, i, 1);
        name.len = PQgetlength(q->result, i, 1);
        dsn.data = (u_char *) PQgetvalue(q->result, i, 2);
        dsn.len = PQgetlength(q->result, i, 2);

        if (!s->due_index) {
            (void) ngx_kanban_sweep_add(s, &slug, &name, &dsn);
            continue;
        }

        /* due within the period: watched, and stepped at its time */

        in = ngx_kanban_sweep_next_in(q->result, i, 3, s->period);

        ws = ngx_kanban_sweep_find(s, &slug);

        if (ws == NULL) {
            ws = ngx_kanban_sweep_add(s, &slug, &name, &dsn);
            if (ws == NULL) {
                continue;
            }

            ngx_kanban_sweep_due(ws, in);

        } else {
            ngx_kanban_sweep_sooner(ws, in);
        }

        if (ws->stepping) {
            continue;               /* its step knows the row as it read it */
        }

        len = ngx_min((size_t) PQgetlength(q->result, i, 4),
                      sizeof(ws->due_at_text));
        ngx_memcpy(ws->due_at_text, PQgetvalue(q->result, i, 4), len);
        ws->due_at.data = ws->due_at_text;
        ws->due_at.len = len;
        ws->due_wall = ngx_kanban_sweep_wall() + in;
    }

done:

    ngx_destroy_pool(q->pool);
}


static ngx_kanban_sweep_ws_t *
ngx_kanban_sweep_find(ngx_kanban_sweep_t *s, ngx_str_t *slug)
{
    ngx_str_node_t  *sn;

    sn = ngx_str_rbtree_lookup(&s->tree, slug,
                               ngx_crc32_short(slug->data, slug->len));

    return (ngx_kanban_sweep_ws_t *) sn;
}


/* The workspace's entry, made when new (and due at once); NULL when there
 * is no memory. */

static ngx_kanban_sweep_ws_t *
ngx_kanban_sweep_add(ngx_kanban_sweep_t *s, ngx_str_t *slug,
    ngx_str_t *name, ngx_str_t *dsn)
{
    u_char                 *p;
    ngx_kanban_sweep_ws_t  *ws;

    ws = ngx_kanban_sweep_find(s, slug);
    if (ws) {
        return ws;
    }

    if (dsn->len == 0) {
        /* the catalog's server */
        dsn = &ngx_kanban_main_conf()->catalog;
    }

    /* one allocation, freed when a due-indexed sweep drops it */
    ws = ngx_calloc(sizeof(ngx_kanban_sweep_ws_t) + s->data_size
                    + slug->len + name->len + dsn->len, ngx_cycle->log);
    if (ws == NULL) {
        return NULL;
    }

    p = (u_char *) ws + sizeof(ngx_kanban_sweep_ws_t) + s->data_size;

    ws->node.str.data = p;
    ws->node.str.len = slug->len;
    p = ngx_cpymem(p, slug->data, slug->len);

    ws->db.name.data = p;
    ws->db.name.len = name->len;
    p = ngx_cpymem(p, name->data, name->len);

    ws->db.dsn.data = p;
    ws->db.dsn.len = dsn->len;
    ngx_memcpy(p, dsn->data, dsn->len);

    ws->node.node.key = ngx_crc32_short(slug->data, slug->len);
    ws->sweep = s;
    ws->next = ngx_current_msec;
    ws->data = s->data_size ? (u_char *) ws + sizeof(ngx_kanban_sweep_ws_t)
                            : NULL;

    if (s->init) {
        s->init(ws);
    }

    ngx_rbtree_insert(&s->tree, &ws->node.node);
    ngx_queue_insert_tail(&s->all, &ws->queue);

    return ws;
}


ngx_msec_t
ngx_kanban_sweep_next_in(PGresult *res, int row, int col, ngx_msec_t wait)
{
    double  next_in;

    if (PQgetisnull(res, row, col)) {
        return wait;
    }

    next_in = strtod(PQgetvalue(res, row, col), NULL) * 1000;

    if (next_in < (double) wait) {
        wait = next_in > 0 ? (ngx_msec_t) next_in : 0;
    }

    return wait;
}


ngx_int_t
ngx_kanban_sweep_copy(ngx_pool_t *pool, PGresult *res, int row, int col,
    ngx_str_t *s)
{
    s->len = PQgetlength(res, row, col);
    s->data = ngx_pnalloc(pool, s->len + 1);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s->data, PQgetvalue(res, row, col), s->len);
    s->data[s->len] = '\0';

    return NGX_OK;
}


ngx_str_t *
ngx_kanban_sweep_number(ngx_pool_t *pool, ngx_msec_t n, ngx_uint_t seconds)
{
    ngx_str_t  *s;

    s = ngx_palloc(pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NULL;
    }

    s->data = ngx_pnalloc(pool, NGX_INT_T_LEN + 4);
    if (s->data == NULL) {
        return NULL;
    }

    s->len = (seconds ? ngx_sprintf(s->data, "%M.%03M", n / 1000, n % 1000)
                      : ngx_sprintf(s->data, "%M", n))
             - s->data;

    return s;
}
