
/*
 * A route: its method, path pattern, host (the platform's or a
 * workspace's), who may call it, its handler and its body. Each module
 * owns a table of its routes and hands it to the router at configuration
 * time (ngx_kanban_routes_add); the core knows none of them.
 */

#ifndef _NGX_KANBAN_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_ROUTES_H_INCLUDED_


#include "ngx_kanban.h"
#include "ngx_kanban_json.h"
#include "ngx_kanban_pg.h"


#define NGX_KANBAN_HOST_PLATFORM   1
#define NGX_KANBAN_HOST_TENANT     2

/* who may call a route: anyone, or a member with at least this role */
#define NGX_KANBAN_ACCESS_PUBLIC   NGX_KANBAN_ROLE_NONE
#define NGX_KANBAN_ACCESS_MEMBER   NGX_KANBAN_ROLE_CONTRIBUTOR
#define NGX_KANBAN_ACCESS_MANAGER  NGX_KANBAN_ROLE_MANAGER
#define NGX_KANBAN_ACCESS_ADMIN    NGX_KANBAN_ROLE_ADMIN


struct ngx_kanban_route_s {
    ngx_uint_t                 method;
    char                      *pattern;
    ngx_uint_t                 host;
    ngx_uint_t                 access;
    ngx_kanban_handler_pt      handler;
    ngx_kanban_field_t        *body;       /* NULL: takes no body */
    ngx_str_t                  name;       /* "POST /api/v1/tenants" */
    void                      *data;       /* the handler's: a statement */
};


/* A table of routes: a module's own. */
typedef struct {
    ngx_kanban_route_t        *routes;
    ngx_uint_t                 n;
} ngx_kanban_route_table_t;


/*
 * A route whose whole work is one statement (ngx_kanban_sql_handler): the
 * statement gets its parameters from the request and answers with one row
 * (status, body or problem code, detail or Location). Authorization that
 * depends on data (a manager's teams, a user's own rows) lives in its SQL.
 * Parameter sources: "actor" (the caller's user id), "role", "tenant",
 * "arg:NAME" (a path parameter; "uuid:NAME" is 404 unless a UUID), "body"
 * (the JSON body as text), "query:NAME", "hash" (the body's "password"
 * hashed with argon2id first, or NULL), "accept" (the Accept header),
 * "tenant_url" (the workspace's origin, "http://acme.localhost:8080"),
 * "header:NAME" (any request header), "addr" (the client's address),
 * "bytes" (a raw body, sent as binary: a bytea that keeps every byte),
 * "var:NAME" (an nginx variable, such as one a module defines).
 *
 * A route with an event publishes it to Redis once the statement has
 * committed: {"id": the audit row (4th column), "type", "data": the body,
 * or the path's id}. Redis being away never fails or delays the answer.
 */
typedef struct {
    ngx_kanban_pg_stmt_t       stmt;
    char                      *params[NGX_KANBAN_PG_MAX_PARAMS + 1];
    char                      *event;      /* published after a success */
} ngx_kanban_sql_t;


/*
 * A one-statement route that sets someone's password when the body has
 * not their email (an admin's PATCH, an invitation's acceptance): owner is
 * a statement whose one value is that email, its parameters from
 * owner_params (as params), so that a password containing its name is
 * refused before it is hashed (ngx_kanban_sql_owned_handler; the route's
 * data points at sql).
 */
typedef struct {
    ngx_kanban_sql_t           sql;
    ngx_kanban_pg_stmt_t      *owner;
    char                      *owner_params[4];
} ngx_kanban_sql_owned_t;


/* A workspace's route whose whole work is one statement. */
#define ngx_kanban_sql_route(method, pattern, access, fields, sql)            \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access,                        \
      ngx_kanban_sql_handler, fields, ngx_null_string, sql }

/* one that sets a password and asks first whose (ngx_kanban_sql_owned_t) */
#define ngx_kanban_sql_owned_route(method, pattern, access, fields, owned)    \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access,                        \
      ngx_kanban_sql_owned_handler, fields, ngx_null_string, &(owned)->sql }


/*
 * An nginx module whose whole work is to hand a route table to the router
 * at configuration time: a feature module's routes file ends with one.
 */
#define ngx_kanban_routes_module(module, table)                               \
                                                                              \
static ngx_int_t                                                              \
module##_init(ngx_conf_t *cf)                                                 \
{                                                                             \
    return ngx_kanban_routes_add(cf, table,                                   \
                                 sizeof(table) / sizeof(ngx_kanban_route_t)); \
}                                                                             \
                                                                              \
static ngx_http_module_t  module##_ctx = {                                    \
    NULL, module##_init, NULL, NULL, NULL, NULL, NULL, NULL                   \
};                                                                            \
                                                                              \
ngx_module_t  module = {                                                      \
    NGX_MODULE_V1, &module##_ctx, NULL, NGX_HTTP_MODULE,                      \
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NGX_MODULE_V1_PADDING           \
}


/* A route's body spec that takes the body as it is sent, of any media
 * type, unparsed (ctx->raw_body); an empty one is 422. */
extern ngx_kanban_field_t  ngx_kanban_raw_body[];


ngx_int_t ngx_kanban_routes_init(ngx_conf_t *cf);
ngx_int_t ngx_kanban_routes_add(ngx_conf_t *cf, ngx_kanban_route_t *routes,
    ngx_uint_t n);
ngx_uint_t ngx_kanban_routes_count(void);
ngx_kanban_route_t *ngx_kanban_route_at(ngx_uint_t index);
ngx_int_t ngx_kanban_route_find(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_uint_t host, ngx_str_t *allow);

/* the handler of routes that are one statement (ngx_kanban_sql.c) */
/* the same on the catalog from a workspace's host (its slug: the
 * "tenant" source), for what the workspace asks of the platform */
ngx_int_t ngx_kanban_sql_catalog_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_sql_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_sql_owned_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
void ngx_kanban_sql_answer(ngx_http_request_t *r, ngx_kanban_pg_query_t *q);


#endif /* _NGX_KANBAN_ROUTES_H_INCLUDED_ */
