
/*
 * What the tenant module's route table names: its handlers, their bodies'
 * fields and their statements (ngx_kanban_tenant_routes.c).
 */

#ifndef _NGX_KANBAN_TENANT_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_TENANT_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


ngx_int_t ngx_kanban_signup_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_workspace_patch_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_workspace_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_workspace_export_download_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
extern ngx_kanban_field_t  ngx_kanban_signup_fields[];
extern ngx_kanban_field_t  ngx_kanban_workspace_patch_fields[];
extern ngx_kanban_sql_t  ngx_kanban_workspace_patch;
extern ngx_kanban_sql_t  ngx_kanban_workspace_usage;
extern ngx_kanban_sql_t  ngx_kanban_workspace_export_queue;
extern ngx_kanban_sql_t  ngx_kanban_workspace_export_get;
extern ngx_kanban_sql_t  ngx_kanban_workspace_exports_list;


#endif /* _NGX_KANBAN_TENANT_ROUTES_H_INCLUDED_ */
