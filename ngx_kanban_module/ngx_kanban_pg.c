
/*
 * The per-worker PostgreSQL pool: queries and the pools they wait in.
 *
 * A worker holds one pool per database, each capped at kanban_pg_pool_
 * size connections, and at most kanban_pg_max_connections in all: when
 * that is reached an idle connection of another database is closed,
 * least recently used first; when nothing can be freed the query waits in
 * its pool's queue until kanban_pg_queue_timeout. The connections
 * themselves, libpq on nginx's events, are ngx_kanban_pg_conn.c's: they
 * call back through ngx_kanban_pg_owner, never into this file by name.
 */

#include "ngx_kanban_pg.h"
#include "ngx_kanban_pg_conn.h"
#include "ngx_kanban_pg_share.h"
#include "ngx_kanban_json.h"


typedef struct {
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                lru;             /* idle, most recent first */
    ngx_queue_t                hungry;          /* pools with waiters */
    ngx_uint_t                 total;
    ngx_uint_t                 idle;
    ngx_uint_t                 connecting;
    ngx_uint_t                 waiting;
    ngx_uint_t                 deferred;        /* of the waiting */
    ngx_uint_t                 nstmts;
} ngx_kanban_pg_worker_t;


/* One database's connections and the queries waiting for one. */
struct ngx_kanban_pg_pool_s {
    ngx_rbtree_node_t          node;
    ngx_kanban_pg_db_t         db;              /* NUL-terminated copies */
    ngx_queue_t                idle;
    ngx_queue_t                busy;            /* connected, not idle */
    ngx_queue_t                waiters;
    ngx_queue_t                hunger;          /* in the worker's hungry */
    ngx_uint_t                 count;
    unsigned                   hungry:1;
};


static void ngx_kanban_pg_query_init(ngx_kanban_pg_query_t *q,
    ngx_pool_t *pool, ngx_log_t *log, ngx_kanban_pg_db_t *db);
static void ngx_kanban_pg_clear(void *data);
static ngx_kanban_pg_pool_t *ngx_kanban_pg_pool_get(ngx_kanban_pg_db_t *db);
static void ngx_kanban_pg_start(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_acquire(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_enqueue(ngx_kanban_pg_pool_t *pool,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_pg_open(ngx_kanban_pg_pool_t *pool,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_pool_free(ngx_kanban_pg_pool_t *pool);
static void ngx_kanban_pg_dequeue(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_queue_timeout(ngx_event_t *ev);
static ngx_uint_t ngx_kanban_pg_asked(ngx_kanban_pg_pool_t *pool,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_take(ngx_kanban_pg_pool_t *pool,
    ngx_kanban_pg_conn_t *conn, ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_serve_idle(ngx_kanban_pg_pool_t *pool);
static void ngx_kanban_pg_dispatch(ngx_kanban_pg_pool_t *freed);
static ngx_kanban_pg_pool_t *ngx_kanban_pg_dispatch_pool(
    ngx_kanban_pg_pool_t *freed, ngx_uint_t at_cap);
static void ngx_kanban_pg_fail(ngx_kanban_pg_query_t *q, ngx_uint_t error);
static void ngx_kanban_pg_answer_followers(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_followers_stay(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_fail_handler(ngx_event_t *ev);
static void ngx_kanban_pg_call(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_connected(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_conn_free(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_conn_closed(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_report(void);
static void ngx_kanban_pg_cleanup(void *data);
static ngx_int_t ngx_kanban_pg_own_problem(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


static ngx_kanban_pg_worker_t  *ngx_kanban_pg_worker;


/* What a connection tells the pool it belongs to. */
static const ngx_kanban_pg_owner_t  ngx_kanban_pg_owner = {
    ngx_kanban_pg_call,
    ngx_kanban_pg_fail,
    ngx_kanban_pg_connected,
    ngx_kanban_pg_conn_free,
    ngx_kanban_pg_conn_closed,
    NULL
};


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

    ngx_queue_init(&q->followers);
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

    ngx_kanban_pg_start(q);

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

    ngx_kanban_pg_start(q);

    return NGX_OK;
}


/* On the connection a transaction holds, else on one from the pool. */

static void
ngx_kanban_pg_start(ngx_kanban_pg_query_t *q)
{
    if (q->conn) {
        ngx_kanban_pg_send(q->conn);

    } else {
        ngx_kanban_pg_acquire(q);
    }
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
 * could not be reached or cannot take the write now (its disk or memory
 * full, too many connections, shutting down, an I/O error: SQLSTATE
 * classes 53, 57P and 58, which a retry later may get past), 500 otherwise;
 * both logged with the server's message. */

ngx_int_t
ngx_kanban_pg_problem(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    char  *msg, *state;

    if (q->error == NGX_KANBAN_PG_UNAVAILABLE) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE,
                                  "The database is unavailable; "
                                  "try again shortly.");
    }

    if (ngx_kanban_pg_sqlstate(q, "KBPRB")) {
        return ngx_kanban_pg_own_problem(r, q);
    }

    msg = q->result ? PQresultErrorMessage(q->result) : "no result";

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "kanban: statement \"%s\" failed: %s",
                  q->stmt ? q->stmt->name : "(command)", msg);

    state = q->result ? PQresultErrorField(q->result, PG_DIAG_SQLSTATE)
                      : NULL;

    if (state != NULL
        && (ngx_strncmp(state, "53", 2) == 0
            || ngx_strncmp(state, "57P", 3) == 0
            || ngx_strncmp(state, "58", 2) == 0))
    {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE,
                                  "The database cannot take this now; "
                                  "try again shortly.");
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_INTERNAL, NULL);
}


/* SQLSTATE KBPRB: a statement refused the client's request in its own
 * words, the whole problem+json document in DETAIL and its 4xx status in
 * HINT (a quota, sql/tenant/047_quotas.sql). */

static ngx_int_t
ngx_kanban_pg_own_problem(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    char       *detail, *hint;
    ngx_int_t   status;
    ngx_str_t   body, type = ngx_string("application/problem+json");

    detail = PQresultErrorField(q->result, PG_DIAG_MESSAGE_DETAIL);
    hint = PQresultErrorField(q->result, PG_DIAG_MESSAGE_HINT);

    status = hint ? ngx_atoi((u_char *) hint, ngx_strlen(hint)) : NGX_ERROR;

    if (detail == NULL || status < 400 || status > 499) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_INTERNAL, NULL);
    }

    body.len = ngx_strlen(detail);
    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(body.data, detail, body.len);     /* the result is freed */

    return ngx_kanban_send_text(r, status, &type, &body);
}


/* A read whose answer is one JSON document (row 0, column 0), sent 200:
 * the request's status to finalize with, or NGX_DECLINED when the row has
 * none (the caller says what that means). The result is freed after the
 * query's handler: the body is sent now, and a copy is kept in case the
 * client's socket is slow. */

ngx_int_t
ngx_kanban_pg_send_document(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t  *json;

    if (q->error != NGX_KANBAN_PG_OK) {
        return ngx_kanban_pg_problem(r, q);
    }

    json = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (json == NULL) {
        return NGX_DECLINED;
    }

    json->data = ngx_pstrdup(r->pool, json);
    if (json->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_json(r, NGX_HTTP_OK, json);
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
    ngx_queue_init(&w->hungry);

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

        rc = ngx_memn2cmp(db->name.data, pool->db.name.data,
                          db->name.len, pool->db.name.len);
        if (rc == 0) {
            rc = ngx_memn2cmp(db->dsn.data, pool->db.dsn.data,
                              db->dsn.len, pool->db.dsn.len);
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
    pool->db.dsn.data = (u_char *) (pool + 1);
    pool->db.dsn.len = db->dsn.len;
    ngx_memcpy(pool->db.dsn.data, db->dsn.data, db->dsn.len);

    pool->db.name.data = pool->db.dsn.data + db->dsn.len + 1;
    pool->db.name.len = db->name.len;

    /* the catalog's has no name: memcpy from NULL is undefined, even of 0 */
    if (db->name.len) {
        ngx_memcpy(pool->db.name.data, db->name.data, db->name.len);
    }

    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->busy);
    ngx_queue_init(&pool->waiters);
    pool->hungry = 0;

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


/* A new connection for q, counted against the caps from now on. */

static ngx_int_t
ngx_kanban_pg_open(ngx_kanban_pg_pool_t *pool, ngx_kanban_pg_query_t *q)
{
    if (ngx_kanban_pg_connect(&pool->db, q, pool, &ngx_kanban_pg_owner)
        == NULL)
    {
        return NGX_ERROR;
    }

    pool->count++;
    ngx_kanban_pg_worker->total++;
    ngx_kanban_pg_worker->connecting++;

    ngx_kanban_pg_report();

    return NGX_OK;
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

    /*
     * The same read already asked on one of the pool's connections: q
     * waits for that answer, then goes with every identical read that
     * arrived meanwhile (ngx_kanban_pg_share.c), rather than ask it
     * again beside it. It cannot take that answer: the statement's
     * snapshot may predate a commit q must see.
     */
    if (ngx_kanban_pg_asked(pool, q)) {
        q->deferred = 1;
        ngx_kanban_pg_enqueue(pool, q);
        return;
    }

    if (!ngx_queue_empty(&pool->idle)) {
        qu = ngx_queue_head(&pool->idle);
        conn = ngx_queue_data(qu, ngx_kanban_pg_conn_t, queue);

        ngx_queue_remove(&conn->queue);
        ngx_queue_remove(&conn->lru);
        w->idle--;

        ngx_kanban_pg_take(pool, conn, q);
        return;
    }

    if (pool->count >= kmcf->pg_pool_size) {
        ngx_kanban_pg_enqueue(pool, q);
        return;
    }

    if (w->total >= kmcf->pg_max_connections) {

        /*
         * At the cap, a database with a connection of its own waits for
         * it rather than take another's: with more databases active than
         * the cap holds, taking made every second read of a busy one
         * close an idle connection elsewhere, whose next read then closed
         * another, and a new backend was started for most reads.
         */
        if (pool->count || ngx_queue_empty(&w->lru)) {
            ngx_kanban_pg_enqueue(pool, q);
            return;
        }

        /* make room: the idle connection unused for longest goes */
        qu = ngx_queue_last(&w->lru);
        conn = ngx_queue_data(qu, ngx_kanban_pg_conn_t, lru);
        ngx_kanban_pg_close(conn);
    }

    if (ngx_kanban_pg_open(pool, q) != NGX_OK) {
        ngx_kanban_pg_fail(q, NGX_KANBAN_PG_UNAVAILABLE);
        ngx_kanban_pg_pool_free(pool);
    }
}


/* 1: a read identical to q is on its way on one of the pool's
 * connections (sent, or being prepared), not yet answered */

static ngx_uint_t
ngx_kanban_pg_asked(ngx_kanban_pg_pool_t *pool, ngx_kanban_pg_query_t *q)
{
    ngx_queue_t           *qu;
    ngx_kanban_pg_conn_t  *conn;

    if (ngx_queue_empty(&pool->busy) || !ngx_kanban_pg_share_may(q)) {
        return 0;
    }

    for (qu = ngx_queue_head(&pool->busy);
         qu != ngx_queue_sentinel(&pool->busy);
         qu = ngx_queue_next(qu))
    {
        conn = ngx_queue_data(qu, ngx_kanban_pg_conn_t, queue);

        if (conn->query
            && (conn->state == NGX_KANBAN_PG_BUSY
                || conn->state == NGX_KANBAN_PG_PREPARE)
            && ngx_kanban_pg_share_same(conn->query, q))
        {
            return 1;
        }
    }

    return 0;
}


/* conn, connected and not idle, runs q */

static void
ngx_kanban_pg_take(ngx_kanban_pg_pool_t *pool, ngx_kanban_pg_conn_t *conn,
    ngx_kanban_pg_query_t *q)
{
    if (!conn->busy) {
        ngx_queue_insert_tail(&pool->busy, &conn->queue);
        conn->busy = 1;
    }

    conn->query = q;
    q->conn = conn;
    ngx_kanban_pg_send(conn);
}


/* Waiters beside idle connections: reads that waited for an identical
 * one to be answered (ngx_kanban_pg_asked). It has been: they go. */

static void
ngx_kanban_pg_serve_idle(ngx_kanban_pg_pool_t *pool)
{
    ngx_queue_t            *qu;
    ngx_kanban_pg_conn_t   *conn;
    ngx_kanban_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiters)
           && !ngx_queue_empty(&pool->idle))
    {
        qu = ngx_queue_head(&pool->idle);
        conn = ngx_queue_data(qu, ngx_kanban_pg_conn_t, queue);

        ngx_queue_remove(&conn->queue);
        ngx_queue_remove(&conn->lru);
        ngx_kanban_pg_worker->idle--;

        q = ngx_queue_data(ngx_queue_head(&pool->waiters),
                           ngx_kanban_pg_query_t, waiting);
        ngx_kanban_pg_dequeue(q);

        ngx_kanban_pg_take(pool, conn, q);
        ngx_kanban_pg_report();
    }
}


static void
ngx_kanban_pg_enqueue(ngx_kanban_pg_pool_t *pool, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();

    if (ngx_kanban_pg_share_join(&pool->waiters, q)) {
        q->deferred = 0;
        return;
    }

    if (ngx_kanban_pg_worker->waiting >= kmcf->pg_queue_size) {
        ngx_log_error(NGX_LOG_WARN, q->log, 0,
                      "kanban: PostgreSQL wait queue is full");
        q->deferred = 0;
        ngx_kanban_pg_fail(q, NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    ngx_queue_insert_tail(&pool->waiters, &q->waiting);
    q->queued = 1;

    if (!pool->hungry) {
        ngx_queue_insert_tail(&ngx_kanban_pg_worker->hungry, &pool->hunger);
        pool->hungry = 1;
    }

    ngx_kanban_pg_worker->waiting++;
    ngx_kanban_pg_worker->deferred += q->deferred;

    ngx_add_timer(&q->timer, kmcf->pg_queue_timeout);

    ngx_kanban_pg_report();
}


static void
ngx_kanban_pg_dequeue(ngx_kanban_pg_query_t *q)
{
    ngx_kanban_pg_pool_t  *pool;

    if (q->waiting.next == q->waiting.prev) {
        /* the last one: the link on both sides is its pool's queue */
        pool = ngx_queue_data(q->waiting.next, ngx_kanban_pg_pool_t, waiters);
        ngx_queue_remove(&pool->hunger);
        pool->hungry = 0;
    }

    ngx_queue_remove(&q->waiting);
    q->queued = 0;
    ngx_kanban_pg_worker->waiting--;
    ngx_kanban_pg_worker->deferred -= q->deferred;
    q->deferred = 0;

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
 * its own database waiting): serve a pool that has a waiter, first one
 * with no connection at all; a pool with a connection of its own (busy)
 * gets another only below the cap, as in ngx_kanban_pg_acquire(). */

static void
ngx_kanban_pg_dispatch(ngx_kanban_pg_pool_t *freed)
{
    ngx_uint_t               at_cap;
    ngx_queue_t             *qu;
    ngx_kanban_pg_pool_t    *pool;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_main_conf_t  *kmcf;
    ngx_kanban_pg_worker_t  *w;

    w = ngx_kanban_pg_worker;
    kmcf = ngx_kanban_main_conf();

    while (w->waiting) {

        at_cap = (w->total >= kmcf->pg_max_connections);

        pool = ngx_kanban_pg_dispatch_pool(freed, at_cap);
        if (pool == NULL) {
            return;
        }

        if (at_cap) {
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

        if (ngx_kanban_pg_open(pool, q) != NGX_OK) {
            ngx_kanban_pg_fail(q, NGX_KANBAN_PG_UNAVAILABLE);
        }

        freed = NULL;
    }
}


/* The pool to open a connection for: one with waiters and no connection
 * (the freed one first), else, below the cap, one with waiters and room
 * for another connection. */

static ngx_kanban_pg_pool_t *
ngx_kanban_pg_dispatch_pool(ngx_kanban_pg_pool_t *freed, ngx_uint_t at_cap)
{
    ngx_queue_t             *qu;
    ngx_kanban_pg_pool_t    *pool, *more;
    ngx_kanban_main_conf_t  *kmcf;
    ngx_kanban_pg_worker_t  *w;

    w = ngx_kanban_pg_worker;
    kmcf = ngx_kanban_main_conf();

    if (freed && !ngx_queue_empty(&freed->waiters)
        && ngx_queue_empty(&freed->idle)
        && freed->count < kmcf->pg_pool_size
        && (freed->count == 0 || !at_cap))
    {
        return freed;
    }

    more = NULL;

    /* only the pools with waiters, in the order they began to wait: a
     * worker may hold thousands of pools */
    for (qu = ngx_queue_head(&w->hungry);
         qu != ngx_queue_sentinel(&w->hungry);
         qu = ngx_queue_next(qu))
    {
        pool = ngx_queue_data(qu, ngx_kanban_pg_pool_t, hunger);

        /* with an idle connection, its waiters wait for an identical
         * read's answer (ngx_kanban_pg_asked), not for a connection */
        if (!ngx_queue_empty(&pool->idle)) {
            continue;
        }

        if (pool->count == 0) {
            return pool;
        }

        if (more == NULL && !at_cap && pool->count < kmcf->pg_pool_size) {
            more = pool;
        }
    }

    return more;
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

    if (!ngx_queue_empty(&q->followers)) {
        ngx_kanban_pg_answer_followers(q);
    }

    if (q->conn) {
        ngx_kanban_pg_serve_idle(q->conn->pool);
    }

    if (r == NULL) {
        q->handler(NULL, q);
        return;
    }

    c = r->connection;

    q->handler(r, q);

    ngx_http_run_posted_requests(c);
}


static void
ngx_kanban_pg_connected(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_pool_t  *pool;

    pool = conn->pool;

    ngx_kanban_pg_worker->connecting--;

    ngx_queue_insert_tail(&pool->busy, &conn->queue);
    conn->busy = 1;
}


/* A connection is free: the first query waiting for its database gets it,
 * or it waits idle, and a query of another database may take its slot. */

static void
ngx_kanban_pg_conn_free(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_query_t  *q;
    ngx_kanban_pg_pool_t   *pool;

    pool = conn->pool;

    if (!ngx_queue_empty(&pool->waiters)) {
        q = ngx_queue_data(ngx_queue_head(&pool->waiters),
                           ngx_kanban_pg_query_t, waiting);
        ngx_kanban_pg_dequeue(q);

        ngx_kanban_pg_take(pool, conn, q);
        ngx_kanban_pg_report();
        return;
    }

    if (conn->busy) {
        ngx_queue_remove(&conn->queue);
        conn->busy = 0;
    }

    ngx_kanban_pg_rest(conn);

    ngx_queue_insert_head(&pool->idle, &conn->queue);
    ngx_queue_insert_head(&ngx_kanban_pg_worker->lru, &conn->lru);
    ngx_kanban_pg_worker->idle++;

    ngx_kanban_pg_report();

    /* reads waiting for an identical one's answer are served by their
     * own pool's connections (ngx_kanban_pg_serve_idle, and this
     * function for their pool): no walk of every pool for them */
    if (ngx_kanban_pg_worker->waiting > ngx_kanban_pg_worker->deferred) {
        ngx_kanban_pg_dispatch(NULL);
    }
}


/* A connection is closed: its slot goes to whoever waits for one. */

static void
ngx_kanban_pg_conn_closed(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_pool_t  *pool;

    pool = conn->pool;

    if (conn->state == NGX_KANBAN_PG_IDLE) {
        ngx_queue_remove(&conn->queue);
        ngx_queue_remove(&conn->lru);
        ngx_kanban_pg_worker->idle--;

    } else if (conn->busy) {
        ngx_queue_remove(&conn->queue);
        conn->busy = 0;

    } else if (conn->state == NGX_KANBAN_PG_CONNECTING) {
        ngx_kanban_pg_worker->connecting--;
    }

    pool->count--;
    ngx_kanban_pg_worker->total--;

    ngx_kanban_pg_report();

    /* reads that waited for an identical one it asked */
    ngx_kanban_pg_serve_idle(pool);

    if (ngx_kanban_pg_worker->waiting) {
        ngx_kanban_pg_dispatch(pool);
    }

    ngx_kanban_pg_pool_free(pool);
}


/* The request is going away: whatever the query holds lets go of it. */

static void
ngx_kanban_pg_cleanup(void *data)
{
    ngx_kanban_pg_query_t  *q = data;

    /* its followers go on without it (before it leaves the queue) */
    ngx_kanban_pg_followers_stay(q);

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


/* A leader's outcome, before its own handler runs: a copy of its rows for
 * each follower; the same unavailability; after an SQL error each
 * follower runs its statement alone (to get its own error). */

static void
ngx_kanban_pg_answer_followers(ngx_kanban_pg_query_t *q)
{
    ngx_kanban_pg_query_t  *f;

    while ((f = ngx_kanban_pg_share_next(q)) != NULL) {

        if (q->error == NGX_KANBAN_PG_OK && q->result != NULL) {
            if (ngx_kanban_pg_share_copy(q, f) != NGX_OK) {
                ngx_kanban_pg_fail(f, NGX_KANBAN_PG_UNAVAILABLE);
            }

            continue;
        }

        if (q->error == NGX_KANBAN_PG_SQL) {
            f->alone = 1;
            ngx_kanban_pg_acquire(f);
            continue;
        }

        ngx_kanban_pg_fail(f, NGX_KANBAN_PG_UNAVAILABLE);
    }
}


/* A leader's request goes away: the first of its followers takes its
 * place in the queue, or on its connection, with the rest behind it. */

static void
ngx_kanban_pg_followers_stay(ngx_kanban_pg_query_t *q)
{
    ngx_kanban_pg_query_t  *f;

    f = ngx_kanban_pg_share_leave(q);

    if (f == NULL) {
        return;
    }

    if (q->queued) {
        /* its place in the queue; q leaves it right after */
        ngx_queue_insert_after(&q->waiting, &f->waiting);
        f->queued = 1;
        f->deferred = q->deferred;
        ngx_kanban_pg_worker->waiting++;
        ngx_kanban_pg_worker->deferred += f->deferred;
        ngx_add_timer(&f->timer, ngx_kanban_main_conf()->pg_queue_timeout);
        return;
    }

    if (q->conn) {
        /* its statement is on the way: the answer is f's now */
        f->conn = q->conn;
        q->conn->query = f;
        q->conn = NULL;
        return;
    }

    if (q->fail.posted) {
        ngx_kanban_pg_fail(f, NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    /* no other state holds followers; run alone rather than be lost */
    ngx_kanban_pg_acquire(f);
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

            rc = ngx_memn2cmp(a->db.name.data, b->db.name.data,
                              a->db.name.len, b->db.name.len);
            if (rc == 0) {
                rc = ngx_memn2cmp(a->db.dsn.data, b->db.dsn.data,
                                  a->db.dsn.len, b->db.dsn.len);
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
