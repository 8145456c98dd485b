
/*
 * Rules: per project, "when this happens, if this holds, do that".
 *
 *   GET/POST     /api/v1/projects/{id}/rules
 *   GET/PATCH/DELETE /api/v1/rules/{id}
 *   GET          /api/v1/rules/{id}/runs             a rule's runs
 *   GET          /api/v1/projects/{id}/rule-runs     a project's runs
 *
 * The body's shapes are checked here; what only the data can say (a
 * column of the project, an active member, a loop between rules) and who
 * may change a project's rules is the SQL's. Rules run in PostgreSQL, in
 * the transaction of the write that sets them off (rules_fire).
 */

/* SQL: sql/tenant/072_rules.sql */
#include "ngx_kanban_routes.h"


static ngx_kanban_field_t  ngx_kanban_rules_trigger_fields[] = {
    { "type", NGX_KANBAN_FIELD_STRING, 1, 1, 40, NULL, NULL },
    { "column_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "category", NGX_KANBAN_FIELD_STRING, 0, 1, 32, NULL, NULL },
    { "label", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { "days", NGX_KANBAN_FIELD_INTEGER, 0, 0, 365, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_rules_condition_fields[] = {
    { "field", NGX_KANBAN_FIELD_STRING, 1, 1, 40, NULL, NULL },
    { "op", NGX_KANBAN_FIELD_STRING, 1, 1, 20, NULL, NULL },
    { "value", NGX_KANBAN_FIELD_STRING, 0, 0, 500, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_rules_condition[] = {
    { "", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0,
      ngx_kanban_rules_condition_fields, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_rules_title[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 500, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

/* every action's fields; which one needs which is the SQL's */
static ngx_kanban_field_t  ngx_kanban_rules_action_fields[] = {
    { "type", NGX_KANBAN_FIELD_STRING, 1, 1, 40, NULL, NULL },
    { "column_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "user_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "label", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { "priority", NGX_KANBAN_FIELD_STRING, 0, 1, 16, NULL, NULL },
    { "body", NGX_KANBAN_FIELD_STRING, 0, 1, 20000, NULL, NULL },
    { "titles", NGX_KANBAN_FIELD_ARRAY, 0, 1, 50, ngx_kanban_rules_title,
      NULL },
    { "to", NGX_KANBAN_FIELD_STRING, 0, 1, 40, NULL, NULL },
    { "message", NGX_KANBAN_FIELD_STRING, 0, 0, 500, NULL, NULL },
    { "webhook_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_rules_action[] = {
    { "", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0, ngx_kanban_rules_action_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_rules_create_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "enabled", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { "trigger", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0,
      ngx_kanban_rules_trigger_fields, NULL },
    { "conditions", NGX_KANBAN_FIELD_ARRAY, 0, 0, 20,
      ngx_kanban_rules_condition, NULL },
    { "actions", NGX_KANBAN_FIELD_ARRAY, 1, 1, 20, ngx_kanban_rules_action,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_rules_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 200, NULL,
      NULL },
    { "enabled", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "trigger", NGX_KANBAN_FIELD_OBJECT, NGX_KANBAN_NOT_NULL, 0, 0,
      ngx_kanban_rules_trigger_fields, NULL },
    { "conditions", NGX_KANBAN_FIELD_ARRAY, NGX_KANBAN_NOT_NULL, 0, 20,
      ngx_kanban_rules_condition, NULL },
    { "actions", NGX_KANBAN_FIELD_ARRAY, NGX_KANBAN_NOT_NULL, 1, 20,
      ngx_kanban_rules_action, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_rules_list = {
    ngx_kanban_pg_stmt("rules_list", "SELECT * FROM rules_list($1::uuid)"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_rules_create = {
    ngx_kanban_pg_stmt("rules_create",
    "SELECT * FROM rule_save($1::uuid, $2, $3::uuid, NULL, $4::jsonb, NULL)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_rules_get = {
    ngx_kanban_pg_stmt("rules_get",
    "SELECT 200, rule_json(r), r.version FROM rules r WHERE r.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_rules_patch = {
    ngx_kanban_pg_stmt("rules_patch",
    "SELECT * FROM rule_save($1::uuid, $2, NULL, $3::uuid, $4::jsonb,"
    "                        $5::int)"),
    { "actor", "role", "uuid:id", "body", "version", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_rules_delete = {
    ngx_kanban_pg_stmt("rules_delete",
    "SELECT * FROM rule_delete($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_rules_runs = {
    ngx_kanban_pg_stmt("rules_runs",
    "SELECT * FROM rule_runs_list(NULL, $1::uuid, $2::int, $3::uuid)"),
    { "uuid:id", "query_limit:limit", "query_uuid:cursor", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_rules_project_runs = {
    ngx_kanban_pg_stmt("rules_project_runs",
    "SELECT * FROM rule_runs_list($1::uuid, NULL, $2::int, $3::uuid)"),
    { "uuid:id", "query_limit:limit", "query_uuid:cursor", NULL },
    NULL
};


static ngx_kanban_route_t  ngx_kanban_rules_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/rules",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_rules_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/projects/{id}/rules",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_rules_create_fields,
        &ngx_kanban_rules_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/rule-runs",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_rules_project_runs),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/rules/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_rules_get),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/rules/{id}",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_rules_patch_fields,
        &ngx_kanban_rules_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/rules/{id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_rules_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/rules/{id}/runs",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_rules_runs),
};


ngx_kanban_routes_module(ngx_http_kanban_rules_module,
                         ngx_kanban_rules_routes);
