
/*
 * The route table: every endpoint, its method, path pattern, host (the
 * platform's or a workspace's), who may call it, its handler and its body.
 */

#ifndef _NGX_KANBAN_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_ROUTES_H_INCLUDED_


#include "ngx_kanban.h"
#include "ngx_kanban_json.h"


#define NGX_KANBAN_HOST_PLATFORM   1
#define NGX_KANBAN_HOST_TENANT     2

/* who may call a route; the identity issue adds the roles */
#define NGX_KANBAN_ACCESS_PUBLIC   0


struct ngx_kanban_route_s {
    ngx_uint_t                 method;
    char                      *pattern;
    ngx_uint_t                 host;
    ngx_uint_t                 access;
    ngx_kanban_handler_pt      handler;
    ngx_kanban_field_t        *body;       /* NULL: takes no body */
    ngx_str_t                  name;       /* "POST /api/v1/tenants" */
};


extern ngx_kanban_route_t  ngx_kanban_routes[];
extern ngx_uint_t          ngx_kanban_nroutes;


ngx_int_t ngx_kanban_routes_init(ngx_conf_t *cf);
ngx_int_t ngx_kanban_route_find(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_uint_t host, ngx_str_t *allow);

/* the handlers the table names */
ngx_int_t ngx_kanban_signup_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_workspace_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);

extern ngx_kanban_field_t  ngx_kanban_signup_fields[];


#endif /* _NGX_KANBAN_ROUTES_H_INCLUDED_ */
