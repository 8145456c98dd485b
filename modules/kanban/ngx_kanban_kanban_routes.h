
/*
 * What the kanban module's route table names: its handlers, their bodies'
 * fields and their statements (ngx_kanban_kanban_routes.c).
 */

#ifndef _NGX_KANBAN_KANBAN_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_KANBAN_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


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


#endif /* _NGX_KANBAN_KANBAN_ROUTES_H_INCLUDED_ */
