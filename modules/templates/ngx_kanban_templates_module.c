
/*
 * Templates: projects started from a template, projects saved as one,
 * and task templates (checklists) applied to a task.
 *
 *   GET          /api/v1/templates[?kind=project|task]   any member
 *   GET          /api/v1/templates/{id}                  any member
 *   POST         /api/v1/templates                       a task template
 *   DELETE       /api/v1/templates/{id}
 *   POST         /api/v1/projects/{id}/templates         save as template
 *   POST         /api/v1/templates/{id}/projects         start a project
 *   POST         /api/v1/tasks/{id}/apply-template       a checklist
 *
 * Every route is one statement; what a template holds, how a project is
 * laid out from one and who may do what is the SQL's.
 */

/* SQL: sql/tenant/071_templates.sql */
#include "ngx_kanban_routes.h"


static ngx_kanban_field_t  ngx_kanban_templates_checklist[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 500, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_templates_labels[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 100, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_templates_task_body[] = {
    { "checklist", NGX_KANBAN_FIELD_ARRAY, 1, 1, 100,
      ngx_kanban_templates_checklist, NULL },
    { "labels", NGX_KANBAN_FIELD_ARRAY, 0, 0, 20,
      ngx_kanban_templates_labels, NULL },
    { "priority", NGX_KANBAN_FIELD_STRING, 0, 1, 16, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_templates_create_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 20000, NULL, NULL },
    { "body", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0,
      ngx_kanban_templates_task_body, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_templates_save_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 200, NULL,
      NULL },
    { "description", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 0, 20000,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

/* as a project's own POST, and the day its template's days count from */
static ngx_kanban_field_t  ngx_kanban_templates_start_fields[] = {
    { "key", NGX_KANBAN_FIELD_STRING, 1, 2, 10, NULL, NULL },
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 10000, NULL, NULL },
    { "team_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "owner_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_templates_apply_fields[] = {
    { "template_id", NGX_KANBAN_FIELD_UUID, 1, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_templates_list = {
    ngx_kanban_pg_stmt("templates_list",
    "SELECT * FROM templates_list($1)"),
    { "query_enum:kind=project|task", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_templates_get = {
    ngx_kanban_pg_stmt("templates_get",
    "SELECT 200, template_json(t) FROM templates t WHERE t.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_templates_create = {
    ngx_kanban_pg_stmt("templates_create",
    "SELECT * FROM task_template_create($1::uuid, $2, $3::jsonb)"),
    { "actor", "role", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_templates_delete = {
    ngx_kanban_pg_stmt("templates_delete",
    "SELECT * FROM template_delete($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_templates_save = {
    ngx_kanban_pg_stmt("templates_save",
    "SELECT * FROM template_from_project($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_templates_start = {
    ngx_kanban_pg_stmt("templates_start",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM project_from_template($1::uuid, $2, $3::uuid, $4::jsonb) f"),
    { "actor", "role", "uuid:id", "body", NULL },
    "project.created"
};

static ngx_kanban_sql_t  ngx_kanban_templates_apply = {
    ngx_kanban_pg_stmt("templates_apply",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM task_template_apply($1::uuid, $2, $3::uuid, $4::jsonb) f"),
    { "actor", "role", "uuid:id", "body", NULL },
    "task.updated"
};


static ngx_kanban_route_t  ngx_kanban_templates_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/templates",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_templates_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/templates",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_templates_create_fields,
        &ngx_kanban_templates_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/templates/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_templates_get),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/templates/{id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_templates_delete),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/templates/{id}/projects",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_templates_start_fields,
        &ngx_kanban_templates_start),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/projects/{id}/templates",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_templates_save_fields,
        &ngx_kanban_templates_save),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/tasks/{id}/apply-template",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_templates_apply_fields,
        &ngx_kanban_templates_apply),
};


ngx_kanban_routes_module(ngx_http_kanban_templates_module,
                         ngx_kanban_templates_routes);
