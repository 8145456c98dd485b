
/*
 * A LISTEN connection to the catalog (see ngx_kanban_pg_listen.h): the
 * connection's owner is the listener itself, kept in the connection's
 * opaque owner pointer.
 */

#include "ngx_kanban_pg_listen.h"
#include "ngx_kanban_pg_conn.h"


#define NGX_KANBAN_PG_LISTEN_RETRY  1000      /* ms after a loss */


static void ngx_kanban_pg_listen_exit(void *data);
static void ngx_kanban_pg_listen_answer(ngx_kanban_pg_query_t *q);
static void ngx_kanban_pg_listen_fail(ngx_kanban_pg_query_t *q,
    ngx_uint_t error);
static void ngx_kanban_pg_listen_connected(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_listen_free(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_listen_closed(ngx_kanban_pg_conn_t *conn);
static void ngx_kanban_pg_listen_notified(ngx_kanban_pg_conn_t *conn,
    PGnotify *notify);


static const ngx_kanban_pg_owner_t  ngx_kanban_pg_listen_owner = {
    ngx_kanban_pg_listen_answer,
    ngx_kanban_pg_listen_fail,
    ngx_kanban_pg_listen_connected,
    ngx_kanban_pg_listen_free,
    ngx_kanban_pg_listen_closed,
    ngx_kanban_pg_listen_notified
};


void
ngx_kanban_pg_listen_start(ngx_kanban_pg_listener_t *l)
{
    u_char              *p;
    ngx_str_t            catalog;
    ngx_pool_cleanup_t  *cln;

    if (l->conn
        || (l->lost && ngx_current_msec - l->lost < NGX_KANBAN_PG_LISTEN_RETRY))
    {
        return;
    }

    if (l->db.dsn.data == NULL) {
        /* libpq reads the conninfo and the command as C strings */
        catalog = ngx_kanban_main_conf()->catalog;

        /* kept for the worker's life: the cycle's pool frees them */
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return;
        }

        cln->handler = ngx_kanban_pg_listen_exit;
        cln->data = l;

        l->db.dsn.data = ngx_alloc(catalog.len + 1, ngx_cycle->log);
        l->query.sql.data = ngx_alloc(sizeof("LISTEN ") + l->channel.len,
                                      ngx_cycle->log);

        if (l->db.dsn.data == NULL || l->query.sql.data == NULL) {
            ngx_kanban_pg_listen_exit(l);   /* out of memory: next time */
            return;
        }

        *ngx_cpymem(l->db.dsn.data, catalog.data, catalog.len) = '\0';
        l->db.dsn.len = catalog.len;

        p = ngx_cpymem(l->query.sql.data, "LISTEN ", 7);
        *ngx_cpymem(p, l->channel.data, l->channel.len) = '\0';
        l->query.sql.len = 7 + l->channel.len;
    }

    l->query.log = ngx_cycle->log;
    l->query.db = l->db;
    l->query.data = l;
    l->query.conn = NULL;
    l->query.result = NULL;
    l->query.error = NGX_KANBAN_PG_OK;
    l->on = 0;

    l->conn = ngx_kanban_pg_connect(&l->db, &l->query,
                                    (ngx_kanban_pg_pool_t *) l,
                                    &ngx_kanban_pg_listen_owner);
    if (l->conn == NULL) {
        l->lost = ngx_current_msec;
    }
}


void
ngx_kanban_pg_listen_stop(ngx_kanban_pg_listener_t *l)
{
    if (l->conn) {
        ngx_kanban_pg_close(l->conn);
    }

    l->lost = 0;
}


/* The worker exits: its connection, if a quit left it, and the strings
 * go before the module, their only pointer, is unloaded. */

static void
ngx_kanban_pg_listen_exit(void *data)
{
    ngx_kanban_pg_listener_t  *l;

    l = data;

    ngx_kanban_pg_listen_stop(l);

    if (l->db.dsn.data) {
        ngx_free(l->db.dsn.data);
        l->db.dsn.data = NULL;
    }

    if (l->query.sql.data) {
        ngx_free(l->query.sql.data);
        l->query.sql.data = NULL;
    }
}


/* LISTEN answered: free() follows, or, failed, the connection goes. */

static void
ngx_kanban_pg_listen_answer(ngx_kanban_pg_query_t *q)
{
    ngx_kanban_pg_listener_t  *l;

    if (q->error == NGX_KANBAN_PG_OK) {
        return;
    }

    l = q->data;

    if (q->error == NGX_KANBAN_PG_SQL) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: LISTEN %V failed: %s", &l->channel,
                      PQresultErrorMessage(q->result));
    }

    if (q->conn) {
        q->conn->state = NGX_KANBAN_PG_BROKEN;     /* closed on return */
    }
}


static void
ngx_kanban_pg_listen_fail(ngx_kanban_pg_query_t *q, ngx_uint_t error)
{
    /* the connection is closed already, and closed() knows */
}


static void
ngx_kanban_pg_listen_connected(ngx_kanban_pg_conn_t *conn)
{
}


/* Listening: the connection rests, reading what comes. */

static void
ngx_kanban_pg_listen_free(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_listener_t  *l;

    l = (ngx_kanban_pg_listener_t *) conn->pool;

    ngx_kanban_pg_rest(conn);

    if (!l->on) {
        l->on = 1;
        l->handler(l);
    }
}


static void
ngx_kanban_pg_listen_closed(ngx_kanban_pg_conn_t *conn)
{
    ngx_kanban_pg_listener_t  *l;

    l = (ngx_kanban_pg_listener_t *) conn->pool;

    if (l->conn != conn) {
        return;
    }

    l->conn = NULL;
    l->on = 0;
    l->lost = ngx_current_msec;
}


static void
ngx_kanban_pg_listen_notified(ngx_kanban_pg_conn_t *conn, PGnotify *notify)
{
    ngx_kanban_pg_listener_t  *l;

    l = (ngx_kanban_pg_listener_t *) conn->pool;

    if (l->on) {
        l->handler(l);
    }
}
