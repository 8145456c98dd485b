
/*
 * What the share module's route table names: its handlers, their bodies'
 * fields and their statements (ngx_kanban_share_routes.c).
 */

#ifndef _NGX_KANBAN_SHARE_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_SHARE_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


extern ngx_kanban_field_t  ngx_kanban_share_tag[];
extern ngx_kanban_field_t  ngx_kanban_share_link_fields[];
extern ngx_kanban_field_t  ngx_kanban_share_link_edit_fields[];
extern ngx_kanban_sql_t  ngx_kanban_share_links_edit;
extern ngx_kanban_field_t  ngx_kanban_share_rules_fields[];
extern ngx_kanban_sql_t  ngx_kanban_share_links_rules;
extern ngx_kanban_sql_t  ngx_kanban_share_links_visits_csv;
extern ngx_kanban_sql_t  ngx_kanban_share_links_create;
extern ngx_kanban_sql_t  ngx_kanban_share_links_bulk;
extern ngx_kanban_sql_t  ngx_kanban_share_links_list;
extern ngx_kanban_sql_t  ngx_kanban_share_links_get;
extern ngx_kanban_sql_t  ngx_kanban_share_links_revoke;
extern ngx_kanban_sql_t  ngx_kanban_share_links_analytics;
extern ngx_kanban_sql_t  ngx_kanban_share_links_qr;
extern ngx_kanban_sql_t  ngx_kanban_shared_get;
ngx_int_t ngx_kanban_share_links_create_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_share_links_bulk_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_share_links_edit_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_share_links_rules_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
void ngx_kanban_share_link_changed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
ngx_int_t ngx_kanban_share_links_revoke_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_share_links_qr_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_shared_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);


#endif /* _NGX_KANBAN_SHARE_ROUTES_H_INCLUDED_ */
