
/*
 * A PostgreSQL connection: one libpq socket driven by nginx's events.
 *
 * The connections know no pool: whoever opens one hands it a table of
 * callbacks (ngx_kanban_pg_owner_t) and an opaque pointer of its own, and
 * the connection tells it through them when a query has its answer, when
 * it is free for the next one and when it is gone.
 */

#ifndef _NGX_KANBAN_PG_CONN_H_INCLUDED_
#define _NGX_KANBAN_PG_CONN_H_INCLUDED_


#include "ngx_kanban_pg_query.h"


#define NGX_KANBAN_PG_CONNECTING  0
#define NGX_KANBAN_PG_IDLE        1
#define NGX_KANBAN_PG_PREPARE     2     /* PQsendPrepare sent */
#define NGX_KANBAN_PG_BUSY        3     /* the statement sent */
#define NGX_KANBAN_PG_RESET       4     /* ROLLBACK of an abandoned txn */
#define NGX_KANBAN_PG_HANDLER     5     /* the result is with its handler */
#define NGX_KANBAN_PG_BROKEN      6     /* to be closed */


typedef struct {
    /* the query's result or error is in it: call its handler now */
    void                     (*answer)(ngx_kanban_pg_query_t *q);
    /* the query failed while its caller is still on its way */
    void                     (*fail)(ngx_kanban_pg_query_t *q,
                                     ngx_uint_t error);
    /* connected: no longer counted as connecting */
    void                     (*connected)(ngx_kanban_pg_conn_t *conn);
    /* drained, out of any transaction: give it a query or keep it idle */
    void                     (*free)(ngx_kanban_pg_conn_t *conn);
    /* closed, still readable (state, links); freed on return */
    void                     (*closed)(ngx_kanban_pg_conn_t *conn);
    /* a NOTIFY for a channel the connection LISTENs to (NULL: dropped) */
    void                     (*notified)(ngx_kanban_pg_conn_t *conn,
                                         PGnotify *notify);
} ngx_kanban_pg_owner_t;


struct ngx_kanban_pg_conn_s {
    ngx_queue_t                    queue;       /* the owner's: idle, busy */
    ngx_queue_t                    lru;         /* the owner's: idle, all */
    ngx_kanban_pg_pool_t          *pool;        /* the owner's, opaque */
    const ngx_kanban_pg_owner_t   *owner;
    ngx_kanban_pg_db_t            *db;          /* the owner's, NUL-ended */
    PGconn                        *pg;
    ngx_connection_t              *c;
    ngx_kanban_pg_query_t         *query;
    PGresult                      *result;
    u_char                        *prepared;    /* a byte a statement */
    ngx_uint_t                     nprepared;
    ngx_uint_t                     preparing;    /* its index */
    ngx_uint_t                     state;
    PostgresPollingStatusType      poll;
    unsigned                       busy:1;      /* the owner's: queue */
    unsigned                       in_handler:1;
    unsigned                       result_kept:1; /* the request owns it */
};


ngx_kanban_pg_conn_t *ngx_kanban_pg_connect(ngx_kanban_pg_db_t *db,
    ngx_kanban_pg_query_t *q, ngx_kanban_pg_pool_t *pool,
    const ngx_kanban_pg_owner_t *owner);
void ngx_kanban_pg_send(ngx_kanban_pg_conn_t *conn);
void ngx_kanban_pg_rest(ngx_kanban_pg_conn_t *conn);
void ngx_kanban_pg_close(ngx_kanban_pg_conn_t *conn);
ngx_str_t *ngx_kanban_pg_db_label(ngx_kanban_pg_db_t *db);


#endif /* _NGX_KANBAN_PG_CONN_H_INCLUDED_ */
