
/*
 * The per-worker PostgreSQL pool: libpq driven by nginx's event loop.
 *
 * A request creates a query bound to a database, runs a statement and is
 * called back with the result; the callback may run another statement on
 * the same connection (a transaction) or finish. The connection goes back
 * to the pool once its results are drained; a request that went away
 * leaves its connection to drain without it.
 */

#ifndef _NGX_KANBAN_PG_H_INCLUDED_
#define _NGX_KANBAN_PG_H_INCLUDED_


#include "ngx_kanban_pg_query.h"


ngx_kanban_pg_query_t *ngx_kanban_pg_query(ngx_http_request_t *r,
    ngx_kanban_pg_db_t *db);
ngx_kanban_pg_query_t *ngx_kanban_pg_query_background(ngx_pool_t *pool,
    ngx_kanban_pg_db_t *db);
ngx_int_t ngx_kanban_pg_run(ngx_kanban_pg_query_t *q,
    ngx_kanban_pg_stmt_t *stmt, ngx_kanban_pg_handler_pt handler,
    ngx_uint_t nparams, ...);
ngx_int_t ngx_kanban_pg_run_sql(ngx_kanban_pg_query_t *q, ngx_str_t *sql,
    ngx_kanban_pg_handler_pt handler);

ngx_int_t ngx_kanban_pg_begin(ngx_kanban_pg_query_t *q,
    ngx_kanban_pg_handler_pt handler);
ngx_int_t ngx_kanban_pg_commit(ngx_kanban_pg_query_t *q,
    ngx_kanban_pg_handler_pt handler);

PGresult *ngx_kanban_pg_keep(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
ngx_str_t *ngx_kanban_pg_value(ngx_http_request_t *r, PGresult *res,
    int row, int col);
ngx_int_t ngx_kanban_pg_sqlstate(ngx_kanban_pg_query_t *q, char *state);
ngx_int_t ngx_kanban_pg_problem(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
ngx_int_t ngx_kanban_pg_send_document(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);

void ngx_kanban_pg_catalog(ngx_kanban_pg_db_t *db);
void ngx_kanban_pg_tenant_db(ngx_kanban_tenant_t *t, ngx_kanban_pg_db_t *db);

ngx_int_t ngx_kanban_pg_init_process(ngx_cycle_t *cycle);
void ngx_kanban_pg_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_KANBAN_PG_H_INCLUDED_ */
