
/*
 * What the auth module's route table names: its handlers, their bodies'
 * fields and their statements (ngx_kanban_auth_routes.c).
 */

#ifndef _NGX_KANBAN_AUTH_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_AUTH_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


ngx_int_t ngx_kanban_login_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_refresh_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_logout_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_me_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_password_change_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_mfa_start_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_mfa_confirm_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_mfa_disable_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_mfa_login_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
extern ngx_kanban_field_t  ngx_kanban_mfa_start_fields[];
extern ngx_kanban_field_t  ngx_kanban_mfa_confirm_fields[];
extern ngx_kanban_field_t  ngx_kanban_mfa_disable_fields[];
extern ngx_kanban_field_t  ngx_kanban_mfa_login_fields[];
extern ngx_kanban_sql_t  ngx_kanban_mfa_status;
extern ngx_kanban_sql_t  ngx_kanban_mfa_reset;
extern ngx_kanban_field_t  ngx_kanban_api_token_fields[];
extern ngx_kanban_sql_t  ngx_kanban_api_tokens_list;
extern ngx_kanban_sql_t  ngx_kanban_api_tokens_create;
extern ngx_kanban_sql_t  ngx_kanban_api_tokens_revoke;
extern ngx_kanban_field_t  ngx_kanban_login_fields[];
extern ngx_kanban_field_t  ngx_kanban_refresh_fields[];
extern ngx_kanban_field_t  ngx_kanban_password_fields[];


#endif /* _NGX_KANBAN_AUTH_ROUTES_H_INCLUDED_ */
