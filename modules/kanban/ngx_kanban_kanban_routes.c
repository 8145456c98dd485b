
/*
 * The kanban module's routes: projects, the board, columns, tasks,
 * attachments, export and import, comments, dependencies, milestones,
 * sprints, views, swimlanes, custom fields and notifications.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_kanban_routes.h"


static ngx_kanban_route_t  ngx_kanban_kanban_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_projects_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/projects",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_project_fields,
        &ngx_kanban_projects_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_projects_get),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/projects/{id}",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_project_patch_fields,
        &ngx_kanban_projects_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/projects/{id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_projects_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/kanban",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_projects_kanban),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/activity",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_projects_activity),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/columns",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_columns_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/projects/{id}/columns",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_column_fields,
        &ngx_kanban_columns_create),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/columns/{id}",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_column_patch_fields,
        &ngx_kanban_columns_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/columns/{id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_columns_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/tasks",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_tasks_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/projects/{id}/tasks",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_task_fields,
        &ngx_kanban_tasks_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/tasks/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_tasks_get),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/tasks/{id}",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_task_patch_fields,
        &ngx_kanban_tasks_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/tasks/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_tasks_delete),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/tasks/{id}/move",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_task_move_fields,
        &ngx_kanban_tasks_move),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/subtasks",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_tasks_subtasks),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/activity",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_tasks_activity),

    { NGX_HTTP_POST, "/api/v1/tasks/{id}/attachments", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_attachment_upload_handler,
      ngx_kanban_raw_body, ngx_null_string, &ngx_kanban_attachments_create },

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/attachments",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_attachments_list),

    { NGX_HTTP_GET, "/api/v1/attachments/{id}", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_attachment_download_handler,
      NULL, ngx_null_string, NULL },

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/attachments/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_attachments_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/export",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_projects_export),

    { NGX_HTTP_POST, "/api/v1/projects/import", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_import_handler,
      ngx_kanban_raw_body, ngx_null_string, &ngx_kanban_projects_import },

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/comments",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_comments_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/tasks/{id}/comments",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_comment_fields,
        &ngx_kanban_comments_create),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/comments/{id}",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_comment_fields,
        &ngx_kanban_comments_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/comments/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_comments_delete),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/tasks/{id}/dependencies",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_dependency_fields,
        &ngx_kanban_dependencies_add),

    ngx_kanban_sql_route(NGX_HTTP_DELETE,
        "/api/v1/tasks/{id}/dependencies/{other_id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_dependencies_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/milestones",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_milestones_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/projects/{id}/milestones",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_milestone_fields,
        &ngx_kanban_milestones_create),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/milestones/{id}",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_milestone_patch_fields,
        &ngx_kanban_milestones_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/milestones/{id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_milestones_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/sprints",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_sprints_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/projects/{id}/sprints",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_sprint_fields,
        &ngx_kanban_sprints_create),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/sprints/{id}",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_sprint_patch_fields,
        &ngx_kanban_sprints_patch),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/timeline",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_projects_timeline),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/portfolio/overview",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_portfolio_overview),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/search",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_search),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/swimlanes",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_swimlanes_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/projects/{id}/swimlanes",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_swimlane_fields,
        &ngx_kanban_swimlanes_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/custom-fields",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_custom_fields_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/custom-fields",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_custom_field_fields,
        &ngx_kanban_custom_fields_create),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/swimlanes/{id}",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_swimlane_patch_fields,
        &ngx_kanban_swimlanes_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/swimlanes/{id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_swimlanes_delete),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/custom-fields/{id}",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_custom_field_patch_fields,
        &ngx_kanban_custom_fields_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/custom-fields/{id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_custom_fields_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/notifications",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_notifications_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/notifications/{id}/read",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_notifications_read),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/notifications/read-all",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_notifications_read_all),
};


ngx_kanban_routes_module(ngx_http_kanban_kanban_routes_module,
                         ngx_kanban_kanban_routes);
