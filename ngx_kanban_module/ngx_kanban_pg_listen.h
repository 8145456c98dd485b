
/*
 * A worker's LISTEN to a channel of the catalog's: one connection of its
 * own (the core's connection, ngx_kanban_pg_conn.h, outside the pool: it
 * carries no one else's query and counts against no cap), held from
 * ngx_kanban_pg_listen_start() to ngx_kanban_pg_listen_stop(). The
 * handler is called for each notification, and once each time the
 * LISTEN takes (at first and after a loss), for what was committed
 * while nobody listened. Lost, the connection is made again at the next
 * start a second or more later; until then on is 0, and the user reads
 * on its own.
 *
 *     static ngx_kanban_pg_listener_t  l = {
 *         .channel = ngx_string("platform_events"),
 *         .handler = ngx_kanban_x_news,
 *     };
 *
 *     ngx_kanban_pg_listen_start(&l);    (again and again: a no-op while
 *                                         it holds)
 */

#ifndef _NGX_KANBAN_PG_LISTEN_H_INCLUDED_
#define _NGX_KANBAN_PG_LISTEN_H_INCLUDED_


#include "ngx_kanban_pg_query.h"


typedef struct ngx_kanban_pg_listener_s  ngx_kanban_pg_listener_t;

typedef void (*ngx_kanban_pg_notified_pt)(ngx_kanban_pg_listener_t *l);


struct ngx_kanban_pg_listener_s {
    /* the user's */
    ngx_str_t                  channel;     /* an identifier, lower case */
    ngx_kanban_pg_notified_pt  handler;
    void                      *data;

    /* the listener's */
    ngx_kanban_pg_conn_t      *conn;
    ngx_kanban_pg_query_t      query;       /* the LISTEN */
    ngx_kanban_pg_db_t         db;          /* the catalog, NUL-ended */
    ngx_msec_t                 lost;        /* when; 0: not lost */
    unsigned                   on:1;        /* the LISTEN took */
};


void ngx_kanban_pg_listen_start(ngx_kanban_pg_listener_t *l);
void ngx_kanban_pg_listen_stop(ngx_kanban_pg_listener_t *l);


#endif /* _NGX_KANBAN_PG_LISTEN_H_INCLUDED_ */
