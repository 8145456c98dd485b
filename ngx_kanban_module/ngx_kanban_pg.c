
/*
 * The per-worker PostgreSQL pool.
 *
 * Every libpq socket is wrapped in an nginx connection and driven by read
 * and write events: non-blocking connect (PQconnectStartParams and
 * PQconnectPoll), send (PQsendPrepare, PQsendQueryPrepared, PQflush),
 * receive (PQconsumeInput, PQisBusy, PQgetResult). A worker holds one pool
 * per database, each capped at kanban_pg_pool_size connections, and at most
 * kanban_pg_max_connections in all: when that is reached an idle connection
 * of another database is closed, least recently used first; when nothing
 * can be freed the query waits in its pool's queue until kanban_pg_queue_
 * timeout. A connection returns to the pool only once its results are
 * drained; one whose request went away drains on its own, so no result ever
 * reaches another request.
 */

#include "ngx_kanban_pg.h"
#include "ngx_kanban_json.h"


#define NGX_KANBAN_PG_CONNECTING  0
#define NGX_KANBAN_PG_IDLE        1
#define NGX_KANBAN_PG_PREPARE     2     /* PQsendPrepare sent */
#define NGX_KANBAN_PG_BUSY        3     /* the statement sent */
#define NGX_KANBAN_PG_RESET       4     /* ROLLBACK of an abandoned txn */
#define NGX_KANBAN_PG_HANDLER     5     /* the result is with its handler */
#define NGX_KANBAN_PG_BROKEN      6     /* to be closed */


typedef struct {
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                lru;             /* idle, most recent first */
    ngx_uint_t                 total;
    ngx_uint_t                 idle;
    ngx_uint_t                 connecting;
    ngx_uint_t                 waiting;
    ngx_uint_t                 nstmts;
} ngx_kanban_pg_worker_t;


struct ngx_kanban_pg_pool_s {
    ngx_rbtree_node_t          node;
    ngx_str_t                  dsn;
    ngx_str_t                  name;
    ngx_queue_t                idle;
    ngx_queue_t                waiters;
    ngx_uint_t                 count;
};


struct ngx_kanban_pg_conn_s {
    ngx_queue_t                queue;           /* pool->idle */
    ngx_queue_t                lru;             /* worker->lru */
    ngx_kanban_pg_pool_t      *pool;
    PGconn                    *pg;
    ngx_connection_t          *c;
    ngx_kanban_pg_query_t     *query;
    PGresult                  *result;
    u_char                    *prepared;        /* a byte a statement */
    ngx_uint_t                 nprepared;
    ngx_uint_t                 preparing;        /* its index */
    ngx_uint_t                 state;
    PostgresPollingStatusType  poll;
    unsigned                   in_handler:1;
    unsigned                   result_kept:1;    /* the request owns it */
};


static ngx_kanban_pg_pool_t *ngx_kanban_pg_pool_get(ngx_kanban_pg_db_t *db);
static void ngx_kanban_pg_pool_free(ngx_kanban_pg_pool_t *pool);
static void ngx_kanban_pg_acquire(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_enqueue(ngx_kanban_pg_pool_t *pool,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_query_init(ngx_kanban_pg_query_t *q,
    ngx_pool_t *pool, ngx_log_t *log, ngx_kanban_pg_db_t *db);
static void ngx_kanban_pg_queue_timeout(ngx_event_t *ev);
static void ngx_kanban_pg_dispatch(ngx_kanban_pg_pool_t *freed);
static ngx_int_t ngx_kanban_pg_connect(ngx_kanban_pg_pool_t *pool,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_pg_wrap(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_unwrap(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_want(ngx_kanban_pg_conn_t *conn, ngx_uint_t rd,
    ngx_uint_t wr);
static void ngx_kanban_pg_poll(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_send(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_flush(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_read_handler(ngx_event_t *rev);
static void ngx_kanban_pg_write_handler(ngx_event_t *wev);
static void ngx_kanban_pg_receive(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_complete(ngx_kanban_pg_conn_t *conn);
static ngx_int_t ngx_kanban_pg_mark_prepared(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_deliver(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_release(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_idle(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_close(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_fail(ngx_kanban_pg_query_t *q, ngx_uint_t error);
static void ngx_kanban_pg_fail_handler(ngx_event_t *ev);
static void ngx_kanban_pg_call(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_cleanup(void *data);
static void ngx_kanban_pg_notice(void *arg, const char *message);
static void ngx_kanban_pg_report(void);
static void ngx_kanban_pg_clear(void *data);
static ngx_str_t *ngx_kanban_pg_name(ngx_kanban_pg_pool_t *pool);
static void ngx_kanban_pg_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


static ngx_kanban_pg_worker_t  *ngx_kanban_pg_worker;


ngx_kanban_pg_query_t *
ngx_kanban_pg_query(ngx_http_request_t *r, ngx_kanban_pg_db_t *db)
{
    ngx_http_cleanup_t     *cln;
    ngx_kanban_pg_query_t  *q;

    q = ngx_pcalloc(r->pool, sizeof(ngx_kanban_pg_query_t));
    if (q == NULL) {
        return NULL;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_kanban_pg_cleanup;
    cln->data = q;

    q->request = r;
    ngx_kanban_pg_query_init(q, r->pool, r->connection->log, db);

    return q;
}


/* A query of the worker's own (a timer's, not a request's): its handler
 * is called with no request; destroying the pool lets go of it. */

ngx_kanban_pg_query_t *
ngx_kanban_pg_query_background(ngx_pool_t *pool, ngx_kanban_pg_db_t *db)
{
    ngx_pool_cleanup_t     *cln;
    ngx_kanban_pg_query_t  *q;

    q = ngx_pcalloc(pool, sizeof(ngx_kanban_pg_query_t));
    if (q == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_kanban_pg_cleanup;
    cln->data = q;

    ngx_kanban_pg_query_init(q, pool, pool->log, db);

    return q;
}


static void
ngx_kanban_pg_query_init(ngx_kanban_pg_query_t *q, ngx_pool_t *pool,
    ngx_log_t *log, ngx_kanban_pg_db_t *db)
{
    q->pool = pool;
    q->log = log;
    q->db = *db;

    q->timer.handler = ngx_kanban_pg_queue_timeout;
    q->timer.data = q;
    q->timer.log = log;

    q->fail.handler = ngx_kanban_pg_fail_handler;
    q->fail.data = q;
    q->fail.log = log;
}


ngx_int_t
ngx_kanban_pg_run(ngx_kanban_pg_query_t *q, ngx_kanban_pg_stmt_t *stmt,
    ngx_kanban_pg_handler_pt handler, ngx_uint_t nparams, ...)
{
    va_list     args;
    ngx_str_t  *v;
    ngx_uint_t  i;

    if (nparams > NGX_KANBAN_PG_MAX_PARAMS) {
        return NGX_ERROR;
    }

    if (stmt->index == 0) {
        stmt->index = ++ngx_kanban_pg_worker->nstmts;
    }

    va_start(args, nparams);

    for (i = 0; i < nparams; i++) {
        v = va_arg(args, ngx_str_t *);

        q->lengths[i] = 0;
        q->formats[i] = 0;

        if (v == NULL || v->data == NULL) {
            q->values[i] = NULL;
            continue;
        }

        if (q->binary & ((ngx_uint_t) 1 << i)) {
            /* bytes with a length, NULs and all: the caller keeps them
             * (in the request's pool) until the query is done */
            q->values[i] = (char *) v->data;
            q->lengths[i] = (int) v->len;
            q->formats[i] = 1;
            continue;
        }

        q->values[i] = ngx_pnalloc(q->pool, v->len + 1);
        if (q->values[i] == NULL) {
            va_end(args);
            return NGX_ERROR;
        }

        *ngx_cpymem(q->values[i], v->data, v->len) = '\0';
    }

    va_end(args);

    q->stmt = stmt;
    q->sql.len = 0;
    q->nparams = nparams;
    q->handler = handler;

    if (q->conn) {
        ngx_kanban_pg_send(q->conn);

    } else {
        ngx_kanban_pg_acquire(q);
    }

    return NGX_OK;
}


/* A command whose text is built by the module (CREATE DATABASE takes no
 * parameters); it is never prepared. */

ngx_int_t
ngx_kanban_pg_run_sql(ngx_kanban_pg_query_t *q, ngx_str_t *sql,
    ngx_kanban_pg_handler_pt handler)
{
    q->sql.data = ngx_pnalloc(q->pool, sql->len + 1);
    if (q->sql.data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(q->sql.data, sql->data, sql->len) = '\0';
    q->sql.len = sql->len;

    q->stmt = NULL;
    q->nparams = 0;
    q->handler = handler;

    if (q->conn) {
        ngx_kanban_pg_send(q->conn);

    } else {
        ngx_kanban_pg_acquire(q);
    }

    return NGX_OK;
}


/* A transaction holds its connection from BEGIN to COMMIT: the handlers
 * in between run their statements on q, which keeps the connection. One
 * left open (a handler that answered early, a client gone) is rolled back
 * before the connection is reused. */

ngx_int_t
ngx_kanban_pg_begin(ngx_kanban_pg_query_t *q, ngx_kanban_pg_handler_pt handler)
{
    static ngx_kanban_pg_stmt_t  begin = ngx_kanban_pg_stmt("begin", "BEGIN");

    return ngx_kanban_pg_run(q, &begin, handler, 0);
}


ngx_int_t
ngx_kanban_pg_commit(ngx_kanban_pg_query_t *q,
    ngx_kanban_pg_handler_pt handler)
{
    static ngx_kanban_pg_stmt_t  commit =
                                     ngx_kanban_pg_stmt("commit", "COMMIT");

    return ngx_kanban_pg_run(q, &commit, handler, 0);
}


/* The handler's result, kept past the handler until the request ends. */

PGresult *
ngx_kanban_pg_keep(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_pool_cleanup_t  *cln;

    if (q->result == NULL || q->conn == NULL || !q->conn->in_handler) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_kanban_pg_clear;
    cln->data = q->result;

    q->conn->result_kept = 1;

    return q->result;
}


static void
ngx_kanban_pg_clear(void *data)
{
    PQclear(data);
}


ngx_str_t *
ngx_kanban_pg_value(ngx_http_request_t *r, PGresult *res, int row, int col)
{
    ngx_str_t  *s;

    if (res == NULL || row >= PQntuples(res) || col >= PQnfields(res)
        || PQgetisnull(res, row, col))
    {
        return NULL;
    }

    s = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NULL;
    }

    s->data = (u_char *) PQgetvalue(res, row, col);
    s->len = PQgetlength(res, row, col);

    return s;
}


ngx_int_t
ngx_kanban_pg_sqlstate(ngx_kanban_pg_query_t *q, char *state)
{
    char  *s;

    if (q->error != NGX_KANBAN_PG_SQL || q->result == NULL) {
        return 0;
    }

    s = PQresultErrorField(q->result, PG_DIAG_SQLSTATE);

    return s != NULL && ngx_strcmp(s, state) == 0;
}


/* The problem for a query that did not succeed: 503 when the database
 * could not be reached, 500 (logged with the server's message) otherwise. */

ngx_int_t
ngx_kanban_pg_problem(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    char  *msg;

    if (q->error == NGX_KANBAN_PG_UNAVAILABLE) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE,
                                  "The database is unavailable; "
                                  "try again shortly.");
    }

    msg = q->result ? PQresultErrorMessage(q->result) : "no result";

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "kanban: statement \"%s\" failed: %s",
                  q->stmt ? q->stmt->name : "(command)", msg);

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_INTERNAL, NULL);
}


void
ngx_kanban_pg_catalog(ngx_kanban_pg_db_t *db)
{
    db->dsn = ngx_kanban_main_conf()->catalog;
    ngx_str_null(&db->name);
}


void
ngx_kanban_pg_tenant_db(ngx_kanban_tenant_t *t, ngx_kanban_pg_db_t *db)
{
    db->dsn = t->db_dsn.len ? t->db_dsn : ngx_kanban_main_conf()->catalog;
    db->name = t->db_name;
}


ngx_int_t
ngx_kanban_pg_init_process(ngx_cycle_t *cycle)
{
    ngx_kanban_pg_worker_t  *w;

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_kanban_pg_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&w->tree, &w->sentinel, ngx_kanban_pg_rbtree_insert);
    ngx_queue_init(&w->lru);

    ngx_kanban_pg_worker = w;

    return NGX_OK;
}


void
ngx_kanban_pg_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t           *qu;
    ngx_kanban_pg_conn_t  *conn;

    if (ngx_kanban_pg_worker == NULL) {
        return;
    }

    /* busy connections belong to requests that are gone by now */
    while (!ngx_queue_empty(&ngx_kanban_pg_worker->lru)) {
        qu = ngx_queue_head(&ngx_kanban_pg_worker->lru);
        conn = ngx_queue_data(qu, ngx_kanban_pg_conn_t, lru);
        ngx_kanban_pg_close(conn);
    }
}


static ngx_kanban_pg_pool_t *
ngx_kanban_pg_pool_get(ngx_kanban_pg_db_t *db)
{
    uint32_t               hash;
    ngx_int_t              rc;
    ngx_rbtree_node_t     *node, *sentinel;
    ngx_kanban_pg_pool_t  *pool;

    ngx_crc32_init(hash);
    ngx_crc32_update(&hash, db->dsn.data, db->dsn.len);
    ngx_crc32_update(&hash, (u_char *) "\0", 1);
    ngx_crc32_update(&hash, db->name.data, db->name.len);
    ngx_crc32_final(hash);

    node = ngx_kanban_pg_worker->tree.root;
    sentinel = ngx_kanban_pg_worker->tree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        pool = (ngx_kanban_pg_pool_t *) node;

        rc = ngx_memn2cmp(db->name.data, pool->name.data,
                          db->name.len, pool->name.len);
        if (rc == 0) {
            rc = ngx_memn2cmp(db->dsn.data, pool->dsn.data,
                              db->dsn.len, pool->dsn.len);
        }

        if (rc == 0) {
            return pool;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    pool = ngx_calloc(sizeof(ngx_kanban_pg_pool_t) + db->dsn.len
                      + db->name.len + 2, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    /* NUL-terminated copies: libpq takes C strings */
    pool->dsn.data = (u_char *) (pool + 1);
    pool->dsn.len = db->dsn.len;
    ngx_memcpy(pool->dsn.data, db->dsn.data, db->dsn.len);

    pool->name.data = pool->dsn.data + db->dsn.len + 1;
    pool->name.len = db->name.len;
    ngx_memcpy(pool->name.data, db->name.data, db->name.len);

    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->waiters);

    pool->node.key = hash;
    ngx_rbtree_insert(&ngx_kanban_pg_worker->tree, &pool->node);

    return pool;
}


static void
ngx_kanban_pg_pool_free(ngx_kanban_pg_pool_t *pool)
{
    if (pool->count || !ngx_queue_empty(&pool->waiters)) {
        return;
    }

    ngx_rbtree_delete(&ngx_kanban_pg_worker->tree, &pool->node);
    ngx_free(pool);
}


static void
ngx_kanban_pg_acquire(ngx_kanban_pg_query_t *q)
{
    ngx_queue_t             *qu;
    ngx_kanban_pg_conn_t    *conn;
    ngx_kanban_pg_pool_t    *pool;
    ngx_kanban_main_conf_t  *kmcf;
    ngx_kanban_pg_worker_t  *w;

    w = ngx_kanban_pg_worker;
    kmcf = ngx_kanban_main_conf();

    pool = ngx_kanban_pg_pool_get(&q->db);
    if (pool == NULL) {
        ngx_kanban_pg_fail(q, NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    if (!ngx_queue_empty(&pool->idle)) {
        qu = ngx_queue_head(&pool->idle);
        conn = ngx_queue_data(qu, ngx_kanban_pg_conn_t, queue);

        ngx_queue_remove(&conn->queue);
        ngx_queue_remove(&conn->lru);
        w->idle--;

        conn->query = q;
        q->conn = conn;
        ngx_kanban_pg_send(conn);
        return;
    }

    if (pool->count >= kmcf->pg_pool_size) {
        ngx_kanban_pg_enqueue(pool, q);
        return;
    }

    if (w->total >= kmcf->pg_max_connections) {

        if (ngx_queue_empty(&w->lru)) {
            ngx_kanban_pg_enqueue(pool, q);
            return;
        }

        /* make room: the idle connection unused for longest goes */
        qu = ngx_queue_last(&w->lru);
        conn = ngx_queue_data(qu, ngx_kanban_pg_conn_t, lru);
        ngx_kanban_pg_close(conn);
    }

    if (ngx_kanban_pg_connect(pool, q) != NGX_OK) {
        ngx_kanban_pg_fail(q, NGX_KANBAN_PG_UNAVAILABLE);
        ngx_kanban_pg_pool_free(pool);
    }
}


static void
ngx_kanban_pg_enqueue(ngx_kanban_pg_pool_t *pool, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();

    if (ngx_kanban_pg_worker->waiting >= kmcf->pg_queue_size) {
        ngx_log_error(NGX_LOG_WARN, q->log, 0,
                      "kanban: PostgreSQL wait queue is full");
        ngx_kanban_pg_fail(q, NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    ngx_queue_insert_tail(&pool->waiters, &q->waiting);
    q->queued = 1;
    ngx_kanban_pg_worker->waiting++;

    ngx_add_timer(&q->timer, kmcf->pg_queue_timeout);

    ngx_kanban_pg_report();
}


static void
ngx_kanban_pg_dequeue(ngx_kanban_pg_query_t *q)
{
    ngx_queue_remove(&q->waiting);
    q->queued = 0;
    ngx_kanban_pg_worker->waiting--;

    if (q->timer.timer_set) {
        ngx_del_timer(&q->timer);
    }
}


static void
ngx_kanban_pg_queue_timeout(ngx_event_t *ev)
{
    ngx_kanban_pg_query_t  *q;

    q = ev->data;

    ngx_log_error(NGX_LOG_WARN, q->log, 0,
                  "kanban: timed out waiting for a PostgreSQL connection "
                  "to \"%V\"", &q->db.name);

    ngx_kanban_pg_dequeue(q);
    ngx_kanban_pg_report();

    q->error = NGX_KANBAN_PG_UNAVAILABLE;
    ngx_kanban_pg_call(q);
}


/* A connection slot was freed (or a connection became idle with nobody of
 * its own database waiting): serve the first pool that has a waiter. */

static void
ngx_kanban_pg_dispatch(ngx_kanban_pg_pool_t *freed)
{
    ngx_queue_t             *qu;
    ngx_rbtree_node_t       *node, *root, *sentinel;
    ngx_kanban_pg_pool_t    *pool;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_main_conf_t  *kmcf;
    ngx_kanban_pg_worker_t  *w;

    w = ngx_kanban_pg_worker;
    kmcf = ngx_kanban_main_conf();

    while (w->waiting) {

        pool = NULL;

        if (freed && !ngx_queue_empty(&freed->waiters)
            && freed->count < kmcf->pg_pool_size)
        {
            pool = freed;

        } else {
            root = w->tree.root;
            sentinel = w->tree.sentinel;

            if (root == sentinel) {
                return;
            }

            for (node = ngx_rbtree_min(root, sentinel);
                 node;
                 node = ngx_rbtree_next(&w->tree, node))
            {
                pool = (ngx_kanban_pg_pool_t *) node;

                if (!ngx_queue_empty(&pool->waiters)
                    && pool->count < kmcf->pg_pool_size)
                {
                    break;
                }

                pool = NULL;
            }
        }

        if (pool == NULL) {
            return;
        }

        if (w->total >= kmcf->pg_max_connections) {
            if (ngx_queue_empty(&w->lru)) {
                return;
            }

            qu = ngx_queue_last(&w->lru);
            ngx_kanban_pg_close(ngx_queue_data(qu, ngx_kanban_pg_conn_t,
                                               lru));
            return;            /* the close dispatched again */
        }

        qu = ngx_queue_head(&pool->waiters);
        q = ngx_queue_data(qu, ngx_kanban_pg_query_t, waiting);
        ngx_kanban_pg_dequeue(q);

        if (ngx_kanban_pg_connect(pool, q) != NGX_OK) {
            ngx_kanban_pg_fail(q, NGX_KANBAN_PG_UNAVAILABLE);
        }

        freed = NULL;
    }
}


static ngx_int_t
ngx_kanban_pg_connect(ngx_kanban_pg_pool_t *pool, ngx_kanban_pg_query_t *q)
{
    int                      n;
    char                     options[96];
    const char              *keys[5], *values[5];
    ngx_kanban_pg_conn_t    *conn;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();

    conn = ngx_calloc(sizeof(ngx_kanban_pg_conn_t), ngx_cycle->log);
    if (conn == NULL) {
        return NGX_ERROR;
    }

    /* the server cancels what the pool would give up on anyway; times
     * leave in UTC */
    ngx_snprintf((u_char *) options, sizeof(options),
                 "-c statement_timeout=%M -c TimeZone=UTC%Z",
                 kmcf->pg_query_timeout);

    n = 0;
    keys[n] = "dbname";
    values[n++] = (char *) pool->dsn.data;

    if (pool->name.len) {
        keys[n] = "dbname";
        values[n++] = (char *) pool->name.data;
    }

    keys[n] = "application_name";
    values[n++] = "kanban-nginx";
    keys[n] = "options";
    values[n++] = options;
    keys[n] = NULL;
    values[n] = NULL;

    conn->pg = PQconnectStartParams(keys, values, 1);

    if (conn->pg == NULL || PQstatus(conn->pg) == CONNECTION_BAD) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: connecting to PostgreSQL database \"%V\" "
                      "failed: %s", ngx_kanban_pg_name(pool),
                      conn->pg ? PQerrorMessage(conn->pg) : "out of memory");
        if (conn->pg) {
            PQfinish(conn->pg);
        }
        ngx_free(conn);
        return NGX_ERROR;
    }

    PQsetnonblocking(conn->pg, 1);
    PQsetNoticeProcessor(conn->pg, ngx_kanban_pg_notice, NULL);

    conn->pool = pool;
    conn->state = NGX_KANBAN_PG_CONNECTING;
    conn->poll = PGRES_POLLING_WRITING;

    if (ngx_kanban_pg_wrap(conn) != NGX_OK) {
        PQfinish(conn->pg);
        ngx_free(conn);
        return NGX_ERROR;
    }

    pool->count++;
    ngx_kanban_pg_worker->total++;
    ngx_kanban_pg_worker->connecting++;

    conn->query = q;
    q->conn = conn;

    ngx_add_timer(conn->c->read, kmcf->pg_connect_timeout);
    ngx_kanban_pg_want(conn, 0, 1);

    ngx_kanban_pg_report();

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_pg_wrap(ngx_kanban_pg_conn_t *conn)
{
    ngx_socket_t       fd;
    ngx_connection_t  *c;

    fd = PQsocket(conn->pg);
    if (fd == -1) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, ngx_cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = conn;
    c->read->handler = ngx_kanban_pg_read_handler;
    c->write->handler = ngx_kanban_pg_write_handler;
    c->read->log = c->log;
    c->write->log = c->log;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    conn->c = c;

    return NGX_OK;
}


/* libpq owns the socket and closes it: only nginx's wrapper goes. */

static void
ngx_kanban_pg_unwrap(ngx_kanban_pg_conn_t *conn)
{
    ngx_connection_t  *c;

    c = conn->c;
    if (c == NULL) {
        return;
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;

    conn->c = NULL;
}


/* Level-triggered interest, read and write separately: libpq does not
 * promise to read a socket dry, which edge triggering would need. */

static void
ngx_kanban_pg_want(ngx_kanban_pg_conn_t *conn, ngx_uint_t rd, ngx_uint_t wr)
{
    ngx_event_t  *rev, *wev;

    rev = conn->c->read;
    wev = conn->c->write;

    if (rd && !rev->active) {
        ngx_add_event(rev, NGX_READ_EVENT, NGX_LEVEL_EVENT);

    } else if (!rd && rev->active) {
        ngx_del_event(rev, NGX_READ_EVENT, 0);
    }

    if (wr && !wev->active) {
        ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);

    } else if (!wr && wev->active) {
        ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }
}


static void
ngx_kanban_pg_poll(ngx_kanban_pg_conn_t *conn)
{
    ngx_socket_t           fd;
    ngx_kanban_pg_query_t  *q;

    conn->poll = PQconnectPoll(conn->pg);

    fd = PQsocket(conn->pg);

    if (conn->poll != PGRES_POLLING_FAILED && fd != conn->c->fd) {
        /* libpq moved to another socket (another host or address) */
        ngx_kanban_pg_unwrap(conn);

        if (ngx_kanban_pg_wrap(conn) != NGX_OK) {
            conn->poll = PGRES_POLLING_FAILED;

        } else {
            ngx_add_timer(conn->c->read,
                          ngx_kanban_main_conf()->pg_connect_timeout);
        }
    }

    switch (conn->poll) {

    case PGRES_POLLING_READING:
        ngx_kanban_pg_want(conn, 1, 0);
        return;

    case PGRES_POLLING_WRITING:
        ngx_kanban_pg_want(conn, 0, 1);
        return;

    case PGRES_POLLING_OK:
        break;

    default:
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: connecting to PostgreSQL database \"%V\" "
                      "failed: %s", ngx_kanban_pg_name(conn->pool),
                      PQerrorMessage(conn->pg));

        q = conn->query;
        ngx_kanban_pg_close(conn);

        if (q) {
            q->conn = NULL;
            q->error = NGX_KANBAN_PG_UNAVAILABLE;
            ngx_kanban_pg_call(q);
        }

        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "kanban pg: connected to \"%V\"", ngx_kanban_pg_name(conn->pool));

    if (conn->c->read->timer_set) {
        ngx_del_timer(conn->c->read);
    }

    ngx_kanban_pg_worker->connecting--;

    if (conn->query) {
        ngx_kanban_pg_send(conn);

    } else {
        conn->state = NGX_KANBAN_PG_HANDLER;
        ngx_kanban_pg_release(conn);
    }
}


static void
ngx_kanban_pg_send(ngx_kanban_pg_conn_t *conn)
{
    int                     ok;
    ngx_kanban_pg_stmt_t   *stmt;
    ngx_kanban_pg_query_t  *q;

    q = conn->query;
    stmt = q->stmt;

    if (stmt && (stmt->index >= conn->nprepared
                 || !conn->prepared[stmt->index]))
    {
        ok = PQsendPrepare(conn->pg, stmt->name, stmt->sql, 0, NULL);
        conn->state = NGX_KANBAN_PG_PREPARE;
        conn->preparing = stmt->index;

    } else if (stmt) {
        ok = PQsendQueryPrepared(conn->pg, stmt->name, (int) q->nparams,
                                 (const char * const *) q->values,
                                 q->binary ? q->lengths : NULL,
                                 q->binary ? q->formats : NULL,
                                 q->binary_result);
        conn->state = NGX_KANBAN_PG_BUSY;

    } else {
        ok = PQsendQueryParams(conn->pg, (char *) q->sql.data, 0, NULL,
                               NULL, NULL, NULL, 0);
        conn->state = NGX_KANBAN_PG_BUSY;
    }

    if (!ok) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: sending to PostgreSQL failed: %s",
                      PQerrorMessage(conn->pg));

        conn->query = NULL;
        q->conn = NULL;

        if (conn->in_handler) {
            /* the handler that sent this is still running: deliver closes */
            conn->state = NGX_KANBAN_PG_BROKEN;

        } else {
            ngx_kanban_pg_close(conn);
        }

        ngx_kanban_pg_fail(q, NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    ngx_add_timer(conn->c->read, ngx_kanban_main_conf()->pg_query_timeout);

    ngx_kanban_pg_flush(conn);
}


static void
ngx_kanban_pg_flush(ngx_kanban_pg_conn_t *conn)
{
    switch (PQflush(conn->pg)) {

    case 0:
        ngx_kanban_pg_want(conn, 1, 0);
        return;

    case 1:
        ngx_kanban_pg_want(conn, 1, 1);
        return;

    default:
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: writing to PostgreSQL failed: %s",
                      PQerrorMessage(conn->pg));
        ngx_kanban_pg_want(conn, 1, 0);
        return;           /* the read side sees the broken connection */
    }
}


static void
ngx_kanban_pg_write_handler(ngx_event_t *wev)
{
    ngx_connection_t      *c;
    ngx_kanban_pg_conn_t  *conn;

    c = wev->data;
    conn = c->data;

    if (conn->state == NGX_KANBAN_PG_CONNECTING) {
        if (conn->poll == PGRES_POLLING_WRITING) {
            ngx_kanban_pg_poll(conn);
        }
        return;
    }

    ngx_kanban_pg_flush(conn);
}


static void
ngx_kanban_pg_read_handler(ngx_event_t *rev)
{
    ngx_connection_t       *c;
    ngx_kanban_pg_conn_t   *conn;
    ngx_kanban_pg_query_t  *q;

    c = rev->data;
    conn = c->data;

    if (rev->timedout) {
        rev->timedout = 0;

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "kanban: PostgreSQL database \"%V\" timed out %s",
                      ngx_kanban_pg_name(conn->pool),
                      conn->state == NGX_KANBAN_PG_CONNECTING
                      ? "while connecting" : "while running a statement");

        q = conn->query;
        ngx_kanban_pg_close(conn);

        if (q) {
            q->conn = NULL;
            q->error = NGX_KANBAN_PG_UNAVAILABLE;
            ngx_kanban_pg_call(q);
        }

        return;
    }

    if (conn->state == NGX_KANBAN_PG_CONNECTING) {
        if (conn->poll == PGRES_POLLING_READING) {
            ngx_kanban_pg_poll(conn);
        }
        return;
    }

    ngx_kanban_pg_receive(conn);
}


static void
ngx_kanban_pg_receive(ngx_kanban_pg_conn_t *conn)
{
    PGresult               *res;
    PGnotify               *notify;
    ngx_kanban_pg_query_t  *q;

    if (!PQconsumeInput(conn->pg) || PQstatus(conn->pg) == CONNECTION_BAD) {

        if (conn->state != NGX_KANBAN_PG_IDLE) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "kanban: PostgreSQL connection to \"%V\" lost: %s",
                          ngx_kanban_pg_name(conn->pool), PQerrorMessage(conn->pg));
        }

        q = conn->query;
        ngx_kanban_pg_close(conn);

        if (q) {
            q->conn = NULL;
            q->error = NGX_KANBAN_PG_UNAVAILABLE;
            ngx_kanban_pg_call(q);
        }

        return;
    }

    while ((notify = PQnotifies(conn->pg)) != NULL) {
        PQfreemem(notify);
    }

    if (conn->state == NGX_KANBAN_PG_IDLE) {
        return;
    }

    while (!PQisBusy(conn->pg)) {
        res = PQgetResult(conn->pg);

        if (res == NULL) {
            ngx_kanban_pg_complete(conn);
            return;
        }

        /* one statement gives one result; keep the first, an error wins */
        if (conn->result == NULL) {
            conn->result = res;

        } else if (PQresultStatus(res) == PGRES_FATAL_ERROR) {
            PQclear(conn->result);
            conn->result = res;

        } else {
            PQclear(res);
        }
    }
}


/* All results of one command are in. */

static void
ngx_kanban_pg_complete(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_query_t  *q;

    if (conn->c->read->timer_set) {
        ngx_del_timer(conn->c->read);
    }

    q = conn->query;

    switch (conn->state) {

    case NGX_KANBAN_PG_PREPARE:

        if (conn->result == NULL
            || PQresultStatus(conn->result) != PGRES_COMMAND_OK)
        {
            break;                  /* the handler learns why */
        }

        /* prepared on the server, whoever still waits for it */
        if (ngx_kanban_pg_mark_prepared(conn) != NGX_OK) {
            ngx_kanban_pg_close(conn);

            if (q) {
                q->error = NGX_KANBAN_PG_UNAVAILABLE;
                ngx_kanban_pg_call(q);
            }

            return;
        }

        PQclear(conn->result);
        conn->result = NULL;

        if (q) {
            ngx_kanban_pg_send(conn);
            return;
        }

        conn->state = NGX_KANBAN_PG_HANDLER;
        ngx_kanban_pg_release(conn);
        return;

    case NGX_KANBAN_PG_RESET:
        PQclear(conn->result);
        conn->result = NULL;
        conn->state = NGX_KANBAN_PG_HANDLER;
        ngx_kanban_pg_release(conn);
        return;

    default:
        break;
    }

    if (q == NULL) {
        /* the request went away: the connection is drained, reuse it */
        PQclear(conn->result);
        conn->result = NULL;
        conn->state = NGX_KANBAN_PG_HANDLER;
        ngx_kanban_pg_release(conn);
        return;
    }

    ngx_kanban_pg_deliver(conn);
}


static ngx_int_t
ngx_kanban_pg_mark_prepared(ngx_kanban_pg_conn_t *conn)
{
    u_char      *p;
    ngx_uint_t   n;

    if (conn->preparing >= conn->nprepared) {
        n = conn->preparing + 16;

        p = ngx_calloc(n, ngx_cycle->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (conn->prepared) {
            ngx_memcpy(p, conn->prepared, conn->nprepared);
            ngx_free(conn->prepared);
        }

        conn->prepared = p;
        conn->nprepared = n;
    }

    conn->prepared[conn->preparing] = 1;

    return NGX_OK;
}


static void
ngx_kanban_pg_deliver(ngx_kanban_pg_conn_t *conn)
{
    PGresult               *res;
    ngx_kanban_pg_query_t  *q;

    q = conn->query;
    res = conn->result;
    conn->result = NULL;

    q->result = res;
    q->error = (res != NULL
                && (PQresultStatus(res) == PGRES_COMMAND_OK
                    || PQresultStatus(res) == PGRES_TUPLES_OK))
               ? NGX_KANBAN_PG_OK : NGX_KANBAN_PG_SQL;

    conn->state = NGX_KANBAN_PG_HANDLER;
    conn->in_handler = 1;

    ngx_kanban_pg_call(q);

    /* q may be gone with its request: only conn is looked at now */

    conn->in_handler = 0;

    if (!conn->result_kept) {
        PQclear(res);
    }

    conn->result_kept = 0;

    switch (conn->state) {

    case NGX_KANBAN_PG_HANDLER:
        ngx_kanban_pg_release(conn);
        return;

    case NGX_KANBAN_PG_BROKEN:
        ngx_kanban_pg_close(conn);
        return;

    default:
        return;             /* the handler sent the next statement */
    }
}


static void
ngx_kanban_pg_release(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_query_t  *q;

    if (conn->query) {
        conn->query->conn = NULL;
        conn->query = NULL;
    }

    if (PQstatus(conn->pg) != CONNECTION_OK) {
        ngx_kanban_pg_close(conn);
        return;
    }

    if (PQtransactionStatus(conn->pg) != PQTRANS_IDLE) {
        /* a transaction left open by a handler or a request gone away */
        if (!PQsendQuery(conn->pg, "ROLLBACK")) {
            ngx_kanban_pg_close(conn);
            return;
        }

        conn->state = NGX_KANBAN_PG_RESET;
        ngx_add_timer(conn->c->read, ngx_kanban_main_conf()->pg_query_timeout);
        ngx_kanban_pg_flush(conn);
        return;
    }

    if (!ngx_queue_empty(&conn->pool->waiters)) {
        q = ngx_queue_data(ngx_queue_head(&conn->pool->waiters),
                           ngx_kanban_pg_query_t, waiting);
        ngx_kanban_pg_dequeue(q);

        conn->query = q;
        q->conn = conn;
        ngx_kanban_pg_send(conn);
        ngx_kanban_pg_report();
        return;
    }

    ngx_kanban_pg_idle(conn);

    if (ngx_kanban_pg_worker->waiting) {
        ngx_kanban_pg_dispatch(NULL);
    }
}


static void
ngx_kanban_pg_idle(ngx_kanban_pg_conn_t *conn)
{
    conn->state = NGX_KANBAN_PG_IDLE;

    ngx_queue_insert_head(&conn->pool->idle, &conn->queue);
    ngx_queue_insert_head(&ngx_kanban_pg_worker->lru, &conn->lru);
    ngx_kanban_pg_worker->idle++;

    /* an idle connection is read to notice the server closing it */
    ngx_kanban_pg_want(conn, 1, 0);

    ngx_kanban_pg_report();
}


static void
ngx_kanban_pg_close(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_pool_t  *pool;

    pool = conn->pool;

    if (conn->state == NGX_KANBAN_PG_IDLE) {
        ngx_queue_remove(&conn->queue);
        ngx_queue_remove(&conn->lru);
        ngx_kanban_pg_worker->idle--;

    } else if (conn->state == NGX_KANBAN_PG_CONNECTING) {
        ngx_kanban_pg_worker->connecting--;
    }

    if (conn->query) {
        conn->query->conn = NULL;
        conn->query = NULL;
    }

    ngx_kanban_pg_unwrap(conn);

    if (conn->result) {
        PQclear(conn->result);
    }

    PQfinish(conn->pg);

    if (conn->prepared) {
        ngx_free(conn->prepared);
    }

    ngx_free(conn);

    pool->count--;
    ngx_kanban_pg_worker->total--;

    ngx_kanban_pg_report();

    if (ngx_kanban_pg_worker->waiting) {
        ngx_kanban_pg_dispatch(pool);
    }

    ngx_kanban_pg_pool_free(pool);
}


/* A failure found while the caller is still on its way: the handler is
 * called from the event loop, never from inside ngx_kanban_pg_run(). */

static void
ngx_kanban_pg_fail(ngx_kanban_pg_query_t *q, ngx_uint_t error)
{
    q->error = error;
    q->result = NULL;

    ngx_post_event(&q->fail, &ngx_posted_events);
}


static void
ngx_kanban_pg_fail_handler(ngx_event_t *ev)
{
    ngx_kanban_pg_call(ev->data);
}


static void
ngx_kanban_pg_call(ngx_kanban_pg_query_t *q)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = q->request;

    if (q->error != NGX_KANBAN_PG_OK) {
        q->result = q->error == NGX_KANBAN_PG_SQL ? q->result : NULL;
    }

    if (r == NULL) {
        q->handler(NULL, q);
        return;
    }

    c = r->connection;

    q->handler(r, q);

    ngx_http_run_posted_requests(c);
}


/* The request is going away: whatever the query holds lets go of it. */

static void
ngx_kanban_pg_cleanup(void *data)
{
    ngx_kanban_pg_query_t  *q = data;

    if (q->queued) {
        ngx_kanban_pg_dequeue(q);
        ngx_kanban_pg_report();
    }

    if (q->fail.posted) {
        ngx_delete_posted_event(&q->fail);
    }

    if (q->conn) {
        /* the connection drains (or finishes connecting) on its own */
        q->conn->query = NULL;
        q->conn = NULL;
    }
}


static void
ngx_kanban_pg_notice(void *arg, const char *message)
{
    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "kanban: PostgreSQL says: %s", message);
}


static ngx_str_t *
ngx_kanban_pg_name(ngx_kanban_pg_pool_t *pool)
{
    static ngx_str_t  catalog = ngx_string("(catalog)");

    return pool->name.len ? &pool->name : &catalog;
}


static void
ngx_kanban_pg_report(void)
{
    ngx_kanban_pg_worker_t  *w;

    w = ngx_kanban_pg_worker;

    ngx_kanban_metrics_pg_worker(w->idle,
                                 w->total - w->idle - w->connecting,
                                 w->connecting, w->waiting);
}


static void
ngx_kanban_pg_rbtree_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_int_t              rc;
    ngx_rbtree_node_t    **p;
    ngx_kanban_pg_pool_t  *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_kanban_pg_pool_t *) node;
            b = (ngx_kanban_pg_pool_t *) temp;

            rc = ngx_memn2cmp(a->name.data, b->name.data,
                              a->name.len, b->name.len);
            if (rc == 0) {
                rc = ngx_memn2cmp(a->dsn.data, b->dsn.data,
                                  a->dsn.len, b->dsn.len);
            }

            p = (rc < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
