
/*
 * A PostgreSQL query as data: what a handler fills in and gets back, and
 * what the pool (ngx_kanban_pg.c) and its connections (ngx_kanban_pg_conn.c)
 * both read. Types only, no code, so that both halves stand on it.
 */

#ifndef _NGX_KANBAN_PG_QUERY_H_INCLUDED_
#define _NGX_KANBAN_PG_QUERY_H_INCLUDED_


#include "ngx_kanban.h"
#include <libpq-fe.h>


#define NGX_KANBAN_PG_OK           0
#define NGX_KANBAN_PG_SQL          1     /* the statement failed: see result */
#define NGX_KANBAN_PG_UNAVAILABLE  2     /* no connection, lost, timed out */

#define NGX_KANBAN_PG_MAX_PARAMS   16


typedef struct ngx_kanban_pg_query_s  ngx_kanban_pg_query_t;
typedef struct ngx_kanban_pg_conn_s   ngx_kanban_pg_conn_t;
typedef struct ngx_kanban_pg_pool_s   ngx_kanban_pg_pool_t;

typedef void (*ngx_kanban_pg_handler_pt)(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


/* A named statement, prepared once per connection on first use. */
typedef struct {
    char                      *name;
    char                      *sql;
    ngx_uint_t                 index;           /* set on first use */
    ngx_uint_t                 shared;          /* a read others may join */
} ngx_kanban_pg_stmt_t;

#define ngx_kanban_pg_stmt(name, sql)  { name, sql, 0, 0 }

/* A read whose answer depends on its database and parameters alone: a
 * query of it waiting for a connection answers every identical one that
 * arrives while it waits (ngx_kanban_pg_share.c). */
#define ngx_kanban_pg_shared_stmt(name, sql)  { name, sql, 0, 1 }


/* Where a database lives: a server conninfo ('' is the catalog's) and
 * the database's name. */
typedef struct {
    ngx_str_t                  dsn;
    ngx_str_t                  name;
} ngx_kanban_pg_db_t;


struct ngx_kanban_pg_query_s {
    ngx_http_request_t        *request;         /* NULL: a background one */
    ngx_pool_t                *pool;
    ngx_log_t                 *log;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_pg_conn_t      *conn;
    ngx_kanban_pg_handler_pt   handler;
    void                      *data;

    ngx_kanban_pg_stmt_t      *stmt;
    ngx_str_t                  sql;             /* a one-off command */
    ngx_uint_t                 nparams;
    char                      *values[NGX_KANBAN_PG_MAX_PARAMS];

    /* set before ngx_kanban_pg_run: the parameters (a bit each) that go
     * as bytes, not text (a bytea), and results as bytes (a bytea's
     * value as it is; text is text, numbers are binary then) */
    ngx_uint_t                 binary;
    int                        lengths[NGX_KANBAN_PG_MAX_PARAMS];
    int                        formats[NGX_KANBAN_PG_MAX_PARAMS];

    PGresult                  *result;          /* valid in the handler */
    ngx_uint_t                 error;

    ngx_queue_t                waiting;         /* in the pool's queue */
    ngx_event_t                timer;           /* queue timeout */
    ngx_event_t                fail;            /* failure reported later */

    ngx_queue_t                followers;       /* answered with this one */
    ngx_queue_t                follow;          /* in its leader's list */
    ngx_kanban_pg_query_t     *leader;

    unsigned                   queued:1;
    unsigned                   deferred:1;      /* waits for an identical
                                                   read's answer */
    unsigned                   alone:1;         /* never joins another */
    unsigned                   binary_result:1;
};


#endif /* _NGX_KANBAN_PG_QUERY_H_INCLUDED_ */
