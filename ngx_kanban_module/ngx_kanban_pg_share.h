
/*
 * Shared reads (ngx_kanban_pg_share.c): the parts that look at queries
 * only. The pool (ngx_kanban_pg.c) decides when a query joins, and what
 * its followers do when it is answered or goes away.
 */

#ifndef _NGX_KANBAN_PG_SHARE_H_INCLUDED_
#define _NGX_KANBAN_PG_SHARE_H_INCLUDED_


#include "ngx_kanban_pg_query.h"


/* 1: q is a read that may be answered with another's rows */
ngx_uint_t ngx_kanban_pg_share_may(ngx_kanban_pg_query_t *q);
/* 1: q follows a query of waiters (a pool's queue) that asks the same */
ngx_uint_t ngx_kanban_pg_share_join(ngx_queue_t *waiters,
    ngx_kanban_pg_query_t *q);

/* 1: b would ask what a asks (a may be waiting or already sent) */
ngx_uint_t ngx_kanban_pg_share_same(ngx_kanban_pg_query_t *a,
    ngx_kanban_pg_query_t *b);
/* the follower f next in line, taken off its leader's list; NULL: none */
ngx_kanban_pg_query_t *ngx_kanban_pg_share_next(ngx_kanban_pg_query_t *q);

/* f answered with a copy of the leader's rows, from the event loop */
ngx_int_t ngx_kanban_pg_share_copy(ngx_kanban_pg_query_t *leader,
    ngx_kanban_pg_query_t *f);

/* q goes away: a follower leaves its leader (NULL); a leader hands its
 * followers to the first of them, which is returned to take its place */
ngx_kanban_pg_query_t *ngx_kanban_pg_share_leave(ngx_kanban_pg_query_t *q);


#endif /* _NGX_KANBAN_PG_SHARE_H_INCLUDED_ */
