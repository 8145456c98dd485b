
/*
 * The route table: every endpoint, its method, path pattern, host (the
 * platform's or a workspace's), who may call it, its handler and its body.
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


/* A table of routes: the product's, or a module's own. */
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
 * "header:NAME" (any request header), "bytes" (a raw body, sent as
 * binary: a bytea that keeps every byte).
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


/* A workspace's route whose whole work is one statement. */
#define ngx_kanban_sql_route(method, pattern, access, fields, sql)            \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access,                        \
      ngx_kanban_sql_handler, fields, ngx_null_string, sql }


/* A route's body spec that takes the body as it is sent, of any media
 * type, unparsed (ctx->raw_body); an empty one is 422. */
extern ngx_kanban_field_t  ngx_kanban_raw_body[];

extern ngx_kanban_route_t  ngx_kanban_routes[];
extern ngx_uint_t          ngx_kanban_nroutes;


ngx_int_t ngx_kanban_routes_init(ngx_conf_t *cf);
ngx_int_t ngx_kanban_routes_add(ngx_conf_t *cf, ngx_kanban_route_t *routes,
    ngx_uint_t n);
ngx_uint_t ngx_kanban_routes_count(void);
ngx_kanban_route_t *ngx_kanban_route_at(ngx_uint_t index);
ngx_int_t ngx_kanban_route_find(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_uint_t host, ngx_str_t *allow);

/* the handlers the table names */

ngx_int_t ngx_kanban_sql_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
void ngx_kanban_sql_answer(ngx_http_request_t *r, ngx_kanban_pg_query_t *q);

extern ngx_kanban_field_t  ngx_kanban_project_fields[];
extern ngx_kanban_field_t  ngx_kanban_project_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_column_fields[];
extern ngx_kanban_field_t  ngx_kanban_column_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_task_fields[];
extern ngx_kanban_field_t  ngx_kanban_task_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_task_move_fields[];

extern ngx_kanban_sql_t  ngx_kanban_projects_list;
extern ngx_kanban_sql_t  ngx_kanban_projects_get;
extern ngx_kanban_sql_t  ngx_kanban_projects_create;
extern ngx_kanban_sql_t  ngx_kanban_projects_patch;
extern ngx_kanban_sql_t  ngx_kanban_projects_delete;
extern ngx_kanban_sql_t  ngx_kanban_projects_kanban;
extern ngx_kanban_sql_t  ngx_kanban_columns_list;
extern ngx_kanban_sql_t  ngx_kanban_columns_create;
extern ngx_kanban_sql_t  ngx_kanban_columns_patch;
extern ngx_kanban_sql_t  ngx_kanban_columns_delete;
extern ngx_kanban_sql_t  ngx_kanban_projects_activity;
extern ngx_kanban_sql_t  ngx_kanban_tasks_list;
extern ngx_kanban_sql_t  ngx_kanban_tasks_get;
extern ngx_kanban_sql_t  ngx_kanban_tasks_subtasks;
extern ngx_kanban_sql_t  ngx_kanban_tasks_create;
extern ngx_kanban_sql_t  ngx_kanban_tasks_patch;
extern ngx_kanban_sql_t  ngx_kanban_tasks_delete;
extern ngx_kanban_sql_t  ngx_kanban_tasks_move;
extern ngx_kanban_sql_t  ngx_kanban_tasks_activity;

/* attachments, export and import */
ngx_int_t ngx_kanban_attachment_upload_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_attachment_download_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
extern ngx_kanban_sql_t  ngx_kanban_attachments_create;
extern ngx_kanban_sql_t  ngx_kanban_attachments_list;
extern ngx_kanban_sql_t  ngx_kanban_attachments_delete;
ngx_int_t ngx_kanban_import_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
extern ngx_kanban_sql_t  ngx_kanban_projects_export;
extern ngx_kanban_sql_t  ngx_kanban_projects_import;

extern ngx_kanban_field_t  ngx_kanban_comment_fields[];
extern ngx_kanban_field_t  ngx_kanban_dependency_fields[];
extern ngx_kanban_field_t  ngx_kanban_milestone_fields[];
extern ngx_kanban_field_t  ngx_kanban_milestone_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_sprint_fields[];
extern ngx_kanban_field_t  ngx_kanban_sprint_patch_fields[];

extern ngx_kanban_sql_t  ngx_kanban_comments_list;
extern ngx_kanban_sql_t  ngx_kanban_comments_create;
extern ngx_kanban_sql_t  ngx_kanban_comments_patch;
extern ngx_kanban_sql_t  ngx_kanban_comments_delete;
extern ngx_kanban_sql_t  ngx_kanban_dependencies_add;
extern ngx_kanban_sql_t  ngx_kanban_dependencies_delete;
extern ngx_kanban_sql_t  ngx_kanban_milestones_list;
extern ngx_kanban_sql_t  ngx_kanban_milestones_create;
extern ngx_kanban_sql_t  ngx_kanban_milestones_patch;
extern ngx_kanban_sql_t  ngx_kanban_milestones_delete;
extern ngx_kanban_sql_t  ngx_kanban_sprints_list;
extern ngx_kanban_sql_t  ngx_kanban_sprints_create;
extern ngx_kanban_sql_t  ngx_kanban_sprints_patch;

extern ngx_kanban_sql_t  ngx_kanban_projects_timeline;
extern ngx_kanban_sql_t  ngx_kanban_portfolio_overview;
extern ngx_kanban_sql_t  ngx_kanban_search;

extern ngx_kanban_field_t  ngx_kanban_swimlane_fields[];
extern ngx_kanban_field_t  ngx_kanban_custom_field_fields[];
extern ngx_kanban_sql_t  ngx_kanban_swimlanes_list;
extern ngx_kanban_sql_t  ngx_kanban_swimlanes_create;
extern ngx_kanban_sql_t  ngx_kanban_custom_fields_list;
extern ngx_kanban_sql_t  ngx_kanban_custom_fields_create;
extern ngx_kanban_field_t  ngx_kanban_swimlane_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_custom_field_patch_fields[];
extern ngx_kanban_sql_t  ngx_kanban_swimlanes_patch;
extern ngx_kanban_sql_t  ngx_kanban_swimlanes_delete;
extern ngx_kanban_sql_t  ngx_kanban_custom_fields_patch;
extern ngx_kanban_sql_t  ngx_kanban_custom_fields_delete;

extern ngx_kanban_sql_t  ngx_kanban_notifications_list;
extern ngx_kanban_sql_t  ngx_kanban_notifications_read;
extern ngx_kanban_sql_t  ngx_kanban_notifications_read_all;
extern ngx_kanban_field_t  ngx_kanban_time_entry_fields[];
extern ngx_kanban_field_t  ngx_kanban_time_entry_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_timer_fields[];
extern ngx_kanban_field_t  ngx_kanban_week_submit_fields[];
extern ngx_kanban_field_t  ngx_kanban_week_approve_fields[];
extern ngx_kanban_field_t  ngx_kanban_week_reject_fields[];
extern ngx_kanban_sql_t  ngx_kanban_time_entries_list;
extern ngx_kanban_sql_t  ngx_kanban_time_entries_get;
extern ngx_kanban_sql_t  ngx_kanban_time_entries_create;
extern ngx_kanban_sql_t  ngx_kanban_time_entries_patch;
extern ngx_kanban_sql_t  ngx_kanban_time_entries_delete;
extern ngx_kanban_sql_t  ngx_kanban_timer_get;
extern ngx_kanban_sql_t  ngx_kanban_timer_start;
extern ngx_kanban_sql_t  ngx_kanban_timer_stop;
extern ngx_kanban_sql_t  ngx_kanban_timer_discard;
extern ngx_kanban_sql_t  ngx_kanban_week_get;
extern ngx_kanban_sql_t  ngx_kanban_weeks_list;
extern ngx_kanban_sql_t  ngx_kanban_week_submit;
extern ngx_kanban_sql_t  ngx_kanban_week_approve;
extern ngx_kanban_sql_t  ngx_kanban_week_reject;
extern ngx_kanban_sql_t  ngx_kanban_productivity_me;
extern ngx_kanban_sql_t  ngx_kanban_productivity_team;
extern ngx_kanban_sql_t  ngx_kanban_utilization_report;


#endif /* _NGX_KANBAN_ROUTES_H_INCLUDED_ */
