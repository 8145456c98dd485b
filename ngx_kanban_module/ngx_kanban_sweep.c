
/*
 * The background sweeper (see ngx_kanban_sweep.h for how a module uses
 * it): the worker's list of workspaces a module watches, the timer that
 * steps those that are due, and one step at a time per workspace.
 */

#include "ngx_kanban_sweep.h"


#define NGX_KANBAN_SWEEP_TICK    1000
#define NGX_KANBAN_SWEEP_FIRST   100       /* ms after the worker starts */


static void ngx_kanban_sweep_tick(ngx_event_t *ev);
static void ngx_kanban_sweep_list(ngx_kanban_sweep_t *s);
static void ngx_kanban_sweep_listed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_kanban_sweep_ws_t *ngx_kanban_sweep_find(ngx_kanban_sweep_t *s,
    ngx_str_t *slug);
static ngx_kanban_sweep_ws_t *ngx_kanban_sweep_add(ngx_kanban_sweep_t *s,
    ngx_str_t *slug, ngx_str_t *name, ngx_str_t *dsn);


ngx_int_t
ngx_kanban_sweep_start(ngx_kanban_sweep_t *s, ngx_cycle_t *cycle)
{
    s->pool = ngx_create_pool(4096, cycle->log);
    if (s->pool == NULL) {
        return NGX_ERROR;
    }

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
    if (ws) {
        ngx_kanban_sweep_step(ws);
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
    ngx_queue_t            *qu;
    ngx_kanban_sweep_t     *s;
    ngx_kanban_sweep_ws_t  *ws;

    s = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        s->running = 0;
        return;
    }

    if (s->tenants && !s->listing
        && (s->listed_at == 0 || ngx_current_msec - s->listed_at >= s->period))
    {
        ngx_kanban_sweep_list(s);
    }

    for (qu = ngx_queue_head(&s->all);
         qu != ngx_queue_sentinel(&s->all);
         qu = ngx_queue_next(qu))
    {
        ws = ngx_queue_data(qu, ngx_kanban_sweep_ws_t, queue);

        if ((ngx_msec_int_t) (ngx_current_msec - ws->next) >= 0) {
            ngx_kanban_sweep_step(ws);
        }

        if (s->each) {
            s->each(ws);
        }
    }

    ngx_add_timer(ev, s->tick);
}


void
ngx_kanban_sweep_step(ngx_kanban_sweep_ws_t *ws)
{
    ngx_kanban_sweep_t  *s;

    s = ws->sweep;

    if (!s->running) {
        return;
    }

    if (ws->stepping) {
        ws->again = 1;
        return;
    }

    ws->stepping = 1;
    ws->again = 0;

    if (s->step(ws) != NGX_OK) {
        ws->stepping = 0;
        return;
    }

    ws->stepped = ngx_current_msec;
}


void
ngx_kanban_sweep_done(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait)
{
    ws->stepping = 0;

    ngx_kanban_sweep_due(ws, wait);

    if (ws->again) {
        ngx_kanban_sweep_step(ws);
    }
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

    if (ngx_kanban_pg_run(q, s->tenants, ngx_kanban_sweep_listed, 0)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return;
    }

    s->listing = 1;
}


static void
ngx_kanban_sweep_listed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                  i, n;
    ngx_str_t            slug, name, dsn;
    ngx_kanban_sweep_t  *s;

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

        (void) ngx_kanban_sweep_add(s, &slug, &name, &dsn);
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

    ws = ngx_pcalloc(s->pool, sizeof(ngx_kanban_sweep_ws_t) + s->data_size);
    p = ngx_pnalloc(s->pool, slug->len + name->len + dsn->len);
    if (ws == NULL || p == NULL) {
        return NULL;
    }

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
