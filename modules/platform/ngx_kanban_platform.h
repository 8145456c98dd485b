
/*
 * The platform host's operators: their setup link, sign-in (password and
 * TOTP), sessions, and the console's API over the catalog (workspaces as
 * figures, their status, plan and limits; the platform audit log; the
 * jobs of long work).
 */

#ifndef _NGX_KANBAN_PLATFORM_H_INCLUDED_
#define _NGX_KANBAN_PLATFORM_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_sse.h"


/* the operators' session cookie: host-only, so never a workspace's */
#define NGX_KANBAN_PLATFORM_COOKIE    "__Host-kanban_operator"
#define NGX_KANBAN_PLATFORM_HOURS_SQL "8 hours"
#define NGX_KANBAN_PLATFORM_MAX_AGE   "28800"


/* what a signed-in operator's request carries (ctx->data) */
typedef struct {
    ngx_str_t                  token_hash;
    ngx_str_t                  operator_id;
    ngx_str_t                  email;
    ngx_uint_t                 cookie;         /* presented as the cookie */
    ngx_kanban_handler_pt      next;           /* the route's own work */
} ngx_kanban_platform_session_t;


/* kanban_platform_events [heartbeat=20s] [buffer=256k]: the operators'
 * event stream's (ngx_kanban_platform_events.c) */
typedef struct {
    ngx_kanban_sse_conf_t      events;
} ngx_kanban_platform_conf_t;


extern ngx_module_t  ngx_http_kanban_platform_module;


/* the session guard: every console route runs behind it */
ngx_int_t ngx_kanban_platform_guard(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_handler_pt next);
ngx_int_t ngx_kanban_platform_sql_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_set_cookie(ngx_http_request_t *r,
    ngx_str_t *value, char *max_age);
ngx_int_t ngx_kanban_platform_new_token(ngx_http_request_t *r,
    ngx_str_t *token, ngx_str_t *hash);
ngx_int_t ngx_kanban_platform_hash(ngx_pool_t *pool, ngx_str_t *token,
    ngx_str_t *hash);

/* handlers named by the route table */
ngx_int_t ngx_kanban_platform_login_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_logout_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_setup_start_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_setup_finish_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_workspace_patch_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_delete_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_events_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_restore_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_platform_workspace_change(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_pg_stmt_t *stmt);

extern ngx_kanban_route_t  ngx_kanban_platform_routes[];
extern ngx_uint_t          ngx_kanban_platform_nroutes;

extern ngx_kanban_field_t  ngx_kanban_platform_login_fields[];
extern ngx_kanban_field_t  ngx_kanban_platform_setup_start_fields[];
extern ngx_kanban_field_t  ngx_kanban_platform_setup_finish_fields[];
extern ngx_kanban_field_t  ngx_kanban_platform_workspace_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_platform_move_fields[];

extern ngx_kanban_sql_t  ngx_kanban_platform_me;
extern ngx_kanban_sql_t  ngx_kanban_platform_workspaces_list;
extern ngx_kanban_sql_t  ngx_kanban_platform_workspaces_get;
extern ngx_kanban_sql_t  ngx_kanban_platform_workspaces_patch;
extern ngx_kanban_sql_t  ngx_kanban_platform_audit_list;
extern ngx_kanban_sql_t  ngx_kanban_platform_jobs_list;
extern ngx_kanban_sql_t  ngx_kanban_platform_jobs_get;
extern ngx_kanban_sql_t  ngx_kanban_platform_versions;
extern ngx_kanban_sql_t  ngx_kanban_platform_move;
extern ngx_kanban_sql_t  ngx_kanban_platform_export;

ngx_int_t ngx_kanban_platform_events_init_process(ngx_cycle_t *cycle);

char *ngx_kanban_platform_totp_check(ngx_str_t *value, char **message);


#endif /* _NGX_KANBAN_PLATFORM_H_INCLUDED_ */
