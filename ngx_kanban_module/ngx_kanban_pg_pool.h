
/*
 * The PostgreSQL pool's insides, shared by its two halves: the queries
 * and the pools they wait in (ngx_kanban_pg.c), and the connections that
 * libpq drives on nginx's events (ngx_kanban_pg_conn.c).
 */

#ifndef _NGX_KANBAN_PG_POOL_H_INCLUDED_
#define _NGX_KANBAN_PG_POOL_H_INCLUDED_


#include "ngx_kanban_pg.h"


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


extern ngx_kanban_pg_worker_t  *ngx_kanban_pg_worker;


void ngx_kanban_pg_call(ngx_kanban_pg_query_t *q);
void ngx_kanban_pg_acquire(ngx_kanban_pg_query_t *q);
void ngx_kanban_pg_clear(void *data);
ngx_uint_t ngx_kanban_pg_share_join(ngx_kanban_pg_pool_t *pool,
    ngx_kanban_pg_query_t *q);
void ngx_kanban_pg_share_answer(ngx_kanban_pg_query_t *q);
void ngx_kanban_pg_share_leave(ngx_kanban_pg_query_t *q);
void ngx_kanban_pg_dequeue(ngx_kanban_pg_query_t *q);
void ngx_kanban_pg_dispatch(ngx_kanban_pg_pool_t *freed);
void ngx_kanban_pg_fail(ngx_kanban_pg_query_t *q, ngx_uint_t error);
ngx_str_t *ngx_kanban_pg_name(ngx_kanban_pg_pool_t *pool);
void ngx_kanban_pg_pool_free(ngx_kanban_pg_pool_t *pool);
void ngx_kanban_pg_report(void);
void ngx_kanban_pg_close(ngx_kanban_pg_conn_t *conn);
ngx_int_t ngx_kanban_pg_connect(ngx_kanban_pg_pool_t *pool,
    ngx_kanban_pg_query_t *q);
void ngx_kanban_pg_send(ngx_kanban_pg_conn_t *conn);


#endif /* _NGX_KANBAN_PG_POOL_H_INCLUDED_ */
