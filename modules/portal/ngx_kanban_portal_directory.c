
/*
 * The directory of members: each workspace queues its changes (a
 * person's address, status or verification, the email-link policy;
 * tenant 045) and nginx takes them to the catalog
 * (portal_directory_apply(), catalog 012), then deletes them from the
 * queue.
 *
 * Only a workspace that may have changed is asked, so one nobody writes
 * to costs nothing, however many there are. Once a request is answered
 * (its transaction committed), the log phase marks its workspace dirty
 * in this worker when the request may have written: on a workspace's
 * host, any request but GET, HEAD and OPTIONS, and a GET answered with a
 * redirect (an emailed link, OIDC's callback: a person signed in); on
 * the platform's host, a sign-up (the new workspace's admin). Each
 * worker drains its own dirty set at once, one workspace at a time:
 * the queued changes read, applied in the catalog, deleted. The catalog
 * applies each change once, in order, whichever worker or node reads it
 * first (portal_directory_applied), so two readers are harmless.
 *
 * A change nobody took (a worker gone before it drained, a write made
 * outside nginx) waits in its queue for the workspace's next write, or
 * for kanbanctl portal-sync.
 */

/* SQL: sql/catalog/012_portal.sql, sql/tenant/045_portal.sql */
#include "ngx_kanban_portal.h"


#define NGX_KANBAN_PORTAL_BATCH     "500"     /* changes a read takes */
#define NGX_KANBAN_PORTAL_TRIES     5         /* then left to the next write */
#define NGX_KANBAN_PORTAL_BACKOFF   1000      /* ms, times the failures */
#define NGX_KANBAN_PORTAL_WATCH     100       /* ms, while one is in flight */
#define NGX_KANBAN_PORTAL_EXIT      5000      /* ms a leaving worker drains */


typedef struct {
    ngx_str_node_t             node;        /* by slug */
    ngx_queue_t                queue;       /* the dirty ones, oldest first */
    ngx_kanban_pg_db_t         db;
    ngx_msec_t                 due;         /* not asked before then */
    ngx_uint_t                 failures;
    ngx_pool_t                *pool;        /* the sync in flight's */
    ngx_str_t                  upto;        /* its last change read */
    unsigned                   located:1;   /* db known */
    unsigned                   syncing:1;
    unsigned                   again:1;     /* marked while syncing */
    unsigned                   more:1;      /* a full batch was read */
} ngx_kanban_portal_ws_t;


static ngx_int_t ngx_kanban_portal_log(ngx_http_request_t *r);
static void ngx_kanban_portal_mark(ngx_str_t *slug, ngx_kanban_pg_db_t *db);
static void ngx_kanban_portal_drain(ngx_event_t *ev);
static void ngx_kanban_portal_schedule(void);
static void ngx_kanban_portal_start(ngx_kanban_portal_ws_t *ws);
static void ngx_kanban_portal_located(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_read(ngx_kanban_portal_ws_t *ws);
static void ngx_kanban_portal_pending(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_applied(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_cleared(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_finish(ngx_kanban_portal_ws_t *ws,
    ngx_int_t rc);
static void ngx_kanban_portal_forget(ngx_kanban_portal_ws_t *ws);
static ngx_str_t *ngx_kanban_portal_copy(ngx_pool_t *pool, PGresult *res,
    int row, int col);


static ngx_kanban_pg_stmt_t  ngx_kanban_portal_locate = ngx_kanban_pg_stmt(
    "portal_locate",
    "SELECT db_name, db_dsn FROM tenants"
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


static ngx_uint_t         ngx_kanban_portal_running;
static ngx_uint_t         ngx_kanban_portal_busy;
static ngx_msec_t         ngx_kanban_portal_leaving;  /* 0: not leaving */
static ngx_event_t        ngx_kanban_portal_timer;
static ngx_rbtree_t       ngx_kanban_portal_tree;
static ngx_rbtree_node_t  ngx_kanban_portal_sentinel;
static ngx_queue_t        ngx_kanban_portal_dirty;


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

    ngx_rbtree_init(&ngx_kanban_portal_tree, &ngx_kanban_portal_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&ngx_kanban_portal_dirty);

    ngx_kanban_portal_timer.handler = ngx_kanban_portal_drain;
    ngx_kanban_portal_timer.log = cycle->log;
    ngx_kanban_portal_timer.data = &ngx_kanban_portal_timer;
    /* armed only while there is work: a leaving worker stays for it (a
     * while, NGX_KANBAN_PORTAL_EXIT) */
    ngx_kanban_portal_timer.cancelable = 0;

    ngx_kanban_portal_running = 1;

    return NGX_OK;
}


/* An answered request that may have changed a workspace's directory. */

static ngx_int_t
ngx_kanban_portal_log(ngx_http_request_t *r)
{
    ngx_str_t           *slug;
    ngx_uint_t           status;
    ngx_kanban_ctx_t    *ctx;
    ngx_kanban_pg_db_t   db;

    if (!ngx_kanban_portal_running || r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_module);
    if (ctx == NULL || ctx->route == NULL) {
        return NGX_OK;
    }

    status = r->headers_out.status;
    if (status < NGX_HTTP_OK || status >= NGX_HTTP_BAD_REQUEST) {
        return NGX_OK;              /* refused: its transaction rolled back */
    }

    if (ctx->tenant) {
        if ((r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS))
            && status < NGX_HTTP_MOVED_PERMANENTLY)
        {
            return NGX_OK;
        }

        ngx_kanban_pg_tenant_db(ctx->tenant, &db);
        ngx_kanban_portal_mark(&ctx->tenant->slug, &db);

        return NGX_OK;
    }

    /* a sign-up: the new workspace is found by its slug */

    if (r->method == NGX_HTTP_POST && status == NGX_HTTP_CREATED
        && ctx->body
        && ngx_strcmp(ctx->route->pattern, "/api/v1/tenants") == 0)
    {
        slug = ngx_kanban_json_string(ctx->body, "slug");
        if (slug && slug->len) {
            ngx_kanban_portal_mark(slug, NULL);
        }
    }

    return NGX_OK;
}


/* The workspace (its database, NULL: to be looked up) may have changed. */

static void
ngx_kanban_portal_mark(ngx_str_t *slug, ngx_kanban_pg_db_t *db)
{
    size_t                   len;
    u_char                  *p;
    uint32_t                 hash;
    ngx_str_node_t          *sn;
    ngx_kanban_portal_ws_t  *ws;

    hash = ngx_crc32_short(slug->data, slug->len);

    sn = ngx_str_rbtree_lookup(&ngx_kanban_portal_tree, slug, hash);
    if (sn) {
        ws = (ngx_kanban_portal_ws_t *) sn;

        if (ws->syncing) {
            ws->again = 1;          /* its read may have come too early */
        }

        return;
    }

    len = sizeof(ngx_kanban_portal_ws_t) + slug->len;
    if (db) {
        len += db->name.len + db->dsn.len;
    }

    ws = ngx_calloc(len, ngx_cycle->log);
    if (ws == NULL) {
        return;
    }

    p = (u_char *) (ws + 1);

    ws->node.str.data = p;
    ws->node.str.len = slug->len;
    p = ngx_cpymem(p, slug->data, slug->len);

    if (db) {
        ws->db.name.data = p;
        ws->db.name.len = db->name.len;
        p = ngx_cpymem(p, db->name.data, db->name.len);

        ws->db.dsn.data = p;
        ws->db.dsn.len = db->dsn.len;
        ngx_memcpy(p, db->dsn.data, db->dsn.len);

        ws->located = 1;
    }

    ws->node.node.key = hash;
    ws->due = ngx_current_msec;

    ngx_rbtree_insert(&ngx_kanban_portal_tree, &ws->node.node);
    ngx_queue_insert_tail(&ngx_kanban_portal_dirty, &ws->queue);

    ngx_kanban_portal_schedule();
}


/* The timer: the next dirty workspace that is due, if none is in flight. */

static void
ngx_kanban_portal_drain(ngx_event_t *ev)
{
    ngx_queue_t             *qu;
    ngx_kanban_portal_ws_t  *ws;

    if (ngx_exiting && ngx_kanban_portal_leaving == 0) {
        ngx_kanban_portal_leaving = ngx_current_msec;
    }

    if (ngx_kanban_portal_leaving
        && ngx_current_msec - ngx_kanban_portal_leaving
           > NGX_KANBAN_PORTAL_EXIT)
    {
        return;                     /* the rest waits in the queues */
    }

    if (!ngx_kanban_portal_busy) {
        for (qu = ngx_queue_head(&ngx_kanban_portal_dirty);
             qu != ngx_queue_sentinel(&ngx_kanban_portal_dirty);
             qu = ngx_queue_next(qu))
        {
            ws = ngx_queue_data(qu, ngx_kanban_portal_ws_t, queue);

            if ((ngx_msec_int_t) (ws->due - ngx_current_msec) <= 0) {
                ngx_kanban_portal_start(ws);
                break;
            }
        }
    }

    ngx_kanban_portal_schedule();
}


/* The timer set for what comes next: a watch while a sync is in flight
 * (a leaving worker stays for it), else the soonest due workspace. */

static void
ngx_kanban_portal_schedule(void)
{
    ngx_msec_t               delay;
    ngx_queue_t             *qu;
    ngx_msec_int_t           left;
    ngx_kanban_portal_ws_t  *ws;

    if (ngx_queue_empty(&ngx_kanban_portal_dirty)) {
        if (ngx_kanban_portal_busy) {
            ngx_add_timer(&ngx_kanban_portal_timer, NGX_KANBAN_PORTAL_WATCH);

        } else if (ngx_kanban_portal_timer.timer_set) {
            ngx_del_timer(&ngx_kanban_portal_timer);
        }

        return;
    }

    if (ngx_kanban_portal_busy) {
        ngx_add_timer(&ngx_kanban_portal_timer, NGX_KANBAN_PORTAL_WATCH);
        return;
    }

    delay = NGX_KANBAN_PORTAL_BACKOFF * NGX_KANBAN_PORTAL_TRIES;

    for (qu = ngx_queue_head(&ngx_kanban_portal_dirty);
         qu != ngx_queue_sentinel(&ngx_kanban_portal_dirty);
         qu = ngx_queue_next(qu))
    {
        ws = ngx_queue_data(qu, ngx_kanban_portal_ws_t, queue);

        left = ws->due - ngx_current_msec;
        if (left <= 0) {
            delay = 0;
            break;
        }

        if ((ngx_msec_t) left < delay) {
            delay = left;
        }
    }

    ngx_add_timer(&ngx_kanban_portal_timer, delay);
}


static void
ngx_kanban_portal_start(ngx_kanban_portal_ws_t *ws)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    ngx_queue_remove(&ws->queue);

    ws->syncing = 1;
    ws->again = 0;
    ws->more = 0;
    ngx_kanban_portal_busy = 1;

    ws->pool = ngx_create_pool(4096, ngx_cycle->log);
    if (ws->pool == NULL) {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    if (ws->located) {
        ngx_kanban_portal_read(ws);
        return;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(ws->pool, &db);
    if (q == NULL) {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_locate,
                          ngx_kanban_portal_located, 1, &ws->node.str)
        != NGX_OK)
    {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
    }
}


/* A workspace known by its slug only (a sign-up): where its database is. */

static void
ngx_kanban_portal_located(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t               *name, *dsn;
    ngx_kanban_portal_ws_t  *ws;

    ws = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_kanban_portal_finish(ws, NGX_OK);     /* gone: nothing to do */
        return;
    }

    name = ngx_kanban_portal_copy(ws->pool, q->result, 0, 0);
    dsn = ngx_kanban_portal_copy(ws->pool, q->result, 0, 1);
    if (name == NULL || dsn == NULL) {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    /* the sync's pool holds them: looked up again if this one fails */
    ws->db.name = *name;
    ws->db.dsn = dsn->len ? *dsn : ngx_kanban_main_conf()->catalog;

    ngx_kanban_portal_read(ws);
}


static void
ngx_kanban_portal_read(ngx_kanban_portal_ws_t *ws)
{
    ngx_str_t               batch = ngx_string(NGX_KANBAN_PORTAL_BATCH);
    ngx_kanban_pg_query_t  *q;

    q = ngx_kanban_pg_query_background(ws->pool, &ws->db);
    if (q == NULL) {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_pending_stmt,
                          ngx_kanban_portal_pending, 1, &batch)
        != NGX_OK)
    {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
    }
}


static void
ngx_kanban_portal_pending(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t               *changes, *upto;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_portal_ws_t  *ws;

    ws = q->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        /* PostgreSQL away, or a workspace not yet migrated */
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    if (PQgetisnull(q->result, 0, 0)) {
        ngx_kanban_portal_finish(ws, NGX_OK);     /* nothing queued */
        return;
    }

    upto = ngx_kanban_portal_copy(ws->pool, q->result, 0, 0);
    changes = ngx_kanban_portal_copy(ws->pool, q->result, 0, 1);
    if (upto == NULL || changes == NULL) {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    ws->upto = *upto;

    /* a full batch may have more behind it */
    ws->more = ngx_atoi((u_char *) PQgetvalue(q->result, 0, 2),
                        PQgetlength(q->result, 0, 2))
               >= ngx_atoi((u_char *) NGX_KANBAN_PORTAL_BATCH,
                           sizeof(NGX_KANBAN_PORTAL_BATCH) - 1);

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(ws->pool, &db);
    if (q == NULL) {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_apply,
                          ngx_kanban_portal_applied, 2, &ws->node.str,
                          changes)
        != NGX_OK)
    {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
    }
}


static void
ngx_kanban_portal_applied(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_portal_ws_t  *ws;

    ws = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: portal: the directory of \"%V\" not "
                      "applied: %s", &ws->node.str,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    q = ngx_kanban_pg_query_background(ws->pool, &ws->db);
    if (q == NULL) {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
        return;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_clear,
                          ngx_kanban_portal_cleared, 1, &ws->upto)
        != NGX_OK)
    {
        ngx_kanban_portal_finish(ws, NGX_ERROR);
    }
}


static void
ngx_kanban_portal_cleared(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_portal_ws_t  *ws;

    ws = q->data;

    /* applied either way: rows not deleted are skipped when read again */
    ngx_kanban_portal_finish(ws, q->error == NGX_KANBAN_PG_OK ? NGX_OK
                                                              : NGX_ERROR);
}


/* A sync's end: the workspace clean and forgotten, or dirty again. */

static void
ngx_kanban_portal_finish(ngx_kanban_portal_ws_t *ws, ngx_int_t rc)
{
    if (ws->pool) {
        ngx_destroy_pool(ws->pool);
        ws->pool = NULL;
    }

    if (!ws->located) {
        ngx_str_null(&ws->db.name);     /* was in the sync's pool */
        ngx_str_null(&ws->db.dsn);
    }

    ws->syncing = 0;
    ngx_kanban_portal_busy = 0;

    if (rc == NGX_OK) {
        ws->failures = 0;

        if (!ws->again && !ws->more) {
            ngx_kanban_portal_forget(ws);
            ngx_kanban_portal_schedule();
            return;
        }

        ws->due = ngx_current_msec;

    } else {
        if (++ws->failures >= NGX_KANBAN_PORTAL_TRIES
            || ngx_kanban_portal_leaving)
        {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "kanban: portal: the directory of \"%V\" left "
                          "queued after %ui failures: its next write or "
                          "kanbanctl portal-sync takes it",
                          &ws->node.str, ws->failures);
            ngx_kanban_portal_forget(ws);
            ngx_kanban_portal_schedule();
            return;
        }

        ws->due = ngx_current_msec
                  + NGX_KANBAN_PORTAL_BACKOFF * ws->failures;
    }

    ngx_queue_insert_tail(&ngx_kanban_portal_dirty, &ws->queue);

    ngx_kanban_portal_schedule();
}


static void
ngx_kanban_portal_forget(ngx_kanban_portal_ws_t *ws)
{
    ngx_rbtree_delete(&ngx_kanban_portal_tree, &ws->node.node);
    ngx_free(ws);
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
