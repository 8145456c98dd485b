
/*
 * The pool's connections: every libpq socket wrapped in an nginx
 * connection and driven by read and write events: non-blocking connect
 * (PQconnectStartParams and PQconnectPoll), send (PQsendPrepare,
 * PQsendQueryPrepared, PQflush), receive (PQconsumeInput, PQisBusy,
 * PQgetResult). A connection goes back to its pool only once its results
 * are drained; one whose request went away drains on its own, so no
 * result ever reaches another request. What the pool must learn it learns
 * through the callbacks it handed in at connect time.
 */

#include "ngx_kanban_pg_conn.h"


static ngx_int_t ngx_kanban_pg_wrap(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_unwrap(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_want(ngx_kanban_pg_conn_t *conn, ngx_uint_t rd,
    ngx_uint_t wr);
static void ngx_kanban_pg_poll(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_flush(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_write_handler(ngx_event_t *wev);
static void ngx_kanban_pg_read_handler(ngx_event_t *rev);
static void ngx_kanban_pg_receive(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_complete(ngx_kanban_pg_conn_t *conn);
static ngx_int_t ngx_kanban_pg_mark_prepared(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_deliver(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_release(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_lost(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_notice(void *arg, const char *message);


ngx_kanban_pg_conn_t *
ngx_kanban_pg_connect(ngx_kanban_pg_db_t *db, ngx_kanban_pg_query_t *q,
    ngx_kanban_pg_pool_t *pool, const ngx_kanban_pg_owner_t *owner)
{
    int                      n;
    char                     options[96];
    const char              *keys[5], *values[5];
    ngx_kanban_pg_conn_t    *conn;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();

    conn = ngx_calloc(sizeof(ngx_kanban_pg_conn_t), ngx_cycle->log);
    if (conn == NULL) {
        return NULL;
    }

    /* the server cancels what the pool would give up on anyway; times
     * leave in UTC */
    ngx_snprintf((u_char *) options, sizeof(options),
                 "-c statement_timeout=%M -c TimeZone=UTC%Z",
                 kmcf->pg_query_timeout);

    n = 0;
    keys[n] = "dbname";
    values[n++] = (char *) db->dsn.data;

    if (db->name.len) {
        keys[n] = "dbname";
        values[n++] = (char *) db->name.data;
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
                      "failed: %s", ngx_kanban_pg_db_label(db),
                      conn->pg ? PQerrorMessage(conn->pg) : "out of memory");
        if (conn->pg) {
            PQfinish(conn->pg);
        }
        ngx_free(conn);
        return NULL;
    }

    PQsetnonblocking(conn->pg, 1);
    PQsetNoticeProcessor(conn->pg, ngx_kanban_pg_notice, NULL);

    conn->pool = pool;
    conn->owner = owner;
    conn->db = db;
    conn->state = NGX_KANBAN_PG_CONNECTING;
    conn->poll = PGRES_POLLING_WRITING;

    if (ngx_kanban_pg_wrap(conn) != NGX_OK) {
        PQfinish(conn->pg);
        ngx_free(conn);
        return NULL;
    }

    conn->query = q;
    q->conn = conn;

    ngx_add_timer(conn->c->read, kmcf->pg_connect_timeout);
    ngx_kanban_pg_want(conn, 0, 1);

    return conn;
}


ngx_str_t *
ngx_kanban_pg_db_label(ngx_kanban_pg_db_t *db)
{
    static ngx_str_t  catalog = ngx_string("(catalog)");

    return db->name.len ? &db->name : &catalog;
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
    ngx_socket_t  fd;

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
                      "failed: %s", ngx_kanban_pg_db_label(conn->db),
                      PQerrorMessage(conn->pg));

        ngx_kanban_pg_lost(conn);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "kanban pg: connected to \"%V\"", ngx_kanban_pg_db_label(conn->db));

    if (conn->c->read->timer_set) {
        ngx_del_timer(conn->c->read);
    }

    conn->owner->connected(conn);

    if (conn->query) {
        ngx_kanban_pg_send(conn);

    } else {
        conn->state = NGX_KANBAN_PG_HANDLER;
        ngx_kanban_pg_release(conn);
    }
}


void
ngx_kanban_pg_send(ngx_kanban_pg_conn_t *conn)
{
    int                           ok;
    ngx_kanban_pg_stmt_t         *stmt;
    ngx_kanban_pg_query_t        *q;
    const ngx_kanban_pg_owner_t  *owner;

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
        owner = conn->owner;

        if (conn->in_handler) {
            /* the handler that sent this is still running: deliver closes */
            conn->state = NGX_KANBAN_PG_BROKEN;

        } else {
            ngx_kanban_pg_close(conn);
        }

        owner->fail(q, NGX_KANBAN_PG_UNAVAILABLE);
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
    ngx_connection_t      *c;
    ngx_kanban_pg_conn_t  *conn;

    c = rev->data;
    conn = c->data;

    if (rev->timedout) {
        rev->timedout = 0;

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "kanban: PostgreSQL database \"%V\" timed out %s",
                      ngx_kanban_pg_db_label(conn->db),
                      conn->state == NGX_KANBAN_PG_CONNECTING
                      ? "while connecting" : "while running a statement");

        ngx_kanban_pg_lost(conn);
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
    PGresult  *res;
    PGnotify  *notify;

    if (!PQconsumeInput(conn->pg) || PQstatus(conn->pg) == CONNECTION_BAD) {

        if (conn->state != NGX_KANBAN_PG_IDLE) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "kanban: PostgreSQL connection to \"%V\" lost: %s",
                          ngx_kanban_pg_db_label(conn->db), PQerrorMessage(conn->pg));
        }

        ngx_kanban_pg_lost(conn);
        return;
    }

    while ((notify = PQnotifies(conn->pg)) != NULL) {
        if (conn->owner->notified) {
            conn->owner->notified(conn, notify);
        }

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
    ngx_kanban_pg_query_t        *q;
    const ngx_kanban_pg_owner_t  *owner;

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
            owner = conn->owner;
            ngx_kanban_pg_close(conn);

            if (q) {
                q->error = NGX_KANBAN_PG_UNAVAILABLE;
                owner->answer(q);
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

    conn->owner->answer(q);

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

    conn->owner->free(conn);
}


/* Idle: read, to notice the server closing it. */

void
ngx_kanban_pg_rest(ngx_kanban_pg_conn_t *conn)
{
    conn->state = NGX_KANBAN_PG_IDLE;

    ngx_kanban_pg_want(conn, 1, 0);
}


void
ngx_kanban_pg_close(ngx_kanban_pg_conn_t *conn)
{
    if (conn->query) {
        conn->query->conn = NULL;
        conn->query = NULL;
    }

    ngx_kanban_pg_unwrap(conn);

    if (conn->result) {
        PQclear(conn->result);
    }

    PQfinish(conn->pg);

    conn->owner->closed(conn);

    if (conn->prepared) {
        ngx_free(conn->prepared);
    }

    ngx_free(conn);
}


/* Failed, timed out or cut: the connection goes, and its query, if it
 * still has one, learns it now. */

static void
ngx_kanban_pg_lost(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_query_t        *q;
    const ngx_kanban_pg_owner_t  *owner;

    q = conn->query;
    owner = conn->owner;

    ngx_kanban_pg_close(conn);

    if (q) {
        q->conn = NULL;
        q->error = NGX_KANBAN_PG_UNAVAILABLE;
        owner->answer(q);
    }
}


static void
ngx_kanban_pg_notice(void *arg, const char *message)
{
    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "kanban: PostgreSQL says: %s", message);
}
