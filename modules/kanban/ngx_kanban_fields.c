
/*
 * Swimlanes (/api/v1/projects/{id}/swimlanes: rows across a board) and
 * custom fields (/api/v1/custom-fields: typed fields tasks carry in
 * custom_fields, checked by a trigger on every write).
 */

/* SQL: sql/tenant/001_users.sql, 005_kanban.sql */
#include "ngx_kanban_kanban_routes.h"


ngx_kanban_field_t  ngx_kanban_swimlane_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 100, NULL, NULL },
    { "position", NGX_KANBAN_FIELD_INTEGER, 0, 0, 1000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

/* a select's option */
static ngx_kanban_field_t  ngx_kanban_custom_field_option[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_field_t  ngx_kanban_custom_field_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 100, NULL, NULL },
    { "type", NGX_KANBAN_FIELD_STRING, 1, 1, 16, NULL, NULL },
    { "options", NGX_KANBAN_FIELD_ARRAY, 0, 0, 100,
      ngx_kanban_custom_field_option, NULL },
    { "project_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_swimlanes_list = {
    ngx_kanban_pg_stmt("swimlanes_list",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           to_jsonb(s) ORDER BY s.position, s.id)"
    "      FROM swimlanes s WHERE s.project_id = p.id), '[]'::json),"
    "    'next_cursor', NULL)"
    "  FROM projects p WHERE p.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_swimlanes_create = {
    ngx_kanban_pg_stmt("swimlanes_create",
    "WITH p AS (SELECT id, can_manage_project($1::uuid, $2, team_id) AS ok"
    "             FROM projects WHERE id = $3::uuid),"
    "     s AS (INSERT INTO swimlanes (project_id, name, position)"
    "           SELECT p.id, $4::jsonb->>'name',"
    "                  coalesce(($4::jsonb->>'position')::int,"
    "                           (SELECT count(*) FROM swimlanes"
    "                             WHERE project_id = p.id))"
    "             FROM p WHERE p.ok"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, project_id, entity_type,"
    "                                     entity_id, action, new_values)"
    "           SELECT $1::uuid, s.project_id, 'swimlane', s.id, 'created',"
    "                  to_jsonb(s) FROM s)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM s) THEN 201 ELSE 403 END,"
    "        coalesce((SELECT to_jsonb(s)::text FROM s), 'forbidden'),"
    "        (SELECT '/api/v1/swimlanes/' || id FROM s)"
    "   FROM p"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_custom_fields_list = {
    ngx_kanban_pg_stmt("custom_fields_list",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           to_jsonb(f) ORDER BY f.project_id NULLS FIRST, f.name)"
    "      FROM custom_fields f"
    "     WHERE $1::uuid IS NULL OR f.project_id IS NULL"
    "        OR f.project_id = $1::uuid), '[]'::json),"
    "    'next_cursor', NULL)"),
    { "query_uuid:project_id", NULL },
    NULL
};

/* workspace-wide fields are the admins'; a project's, its managers' */
ngx_kanban_sql_t  ngx_kanban_custom_fields_create = {
    ngx_kanban_pg_stmt("custom_fields_create",
    "WITH b AS (SELECT jsonb_strip_nulls($3::jsonb) j),"
    "     ok AS (SELECT CASE WHEN j->>'project_id' IS NULL THEN $2 = 'admin'"
    "                        ELSE coalesce((SELECT can_manage_project("
    "                                 $1::uuid, $2, p.team_id)"
    "                               FROM projects p"
    "                              WHERE p.id = (j->>'project_id')::uuid),"
    "                             false) END AS yes,"
    "                   (j->>'type' <> 'select'"
    "                    OR jsonb_array_length(coalesce(j->'options',"
    "                                                   '[]')) > 0)"
    "                   AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements("
    "                           coalesce(j->'options', '[]')) o"
    "                         WHERE jsonb_typeof(o) <> 'string') AS valid"
    "              FROM b),"
    "     f AS (INSERT INTO custom_fields (project_id, name, type, options)"
    "           SELECT (j->>'project_id')::uuid, j->>'name', j->>'type',"
    "                  coalesce(j->'options', '[]')"
    "             FROM b, ok WHERE ok.yes AND ok.valid"
    "           RETURNING *)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM f) THEN 201"
    "             WHEN NOT (SELECT yes FROM ok) THEN 403 ELSE 422 END,"
    "        CASE WHEN EXISTS (SELECT 1 FROM f)"
    "             THEN (SELECT to_jsonb(f)::text FROM f)"
    "             WHEN NOT (SELECT yes FROM ok) THEN 'forbidden'"
    "             ELSE 'validation_failed' END,"
    "        CASE WHEN EXISTS (SELECT 1 FROM f)"
    "             THEN (SELECT '/api/v1/custom-fields/' || id FROM f)"
    "             WHEN (SELECT yes FROM ok)"
    "             THEN 'A select field needs options, all of them text.'"
    "        END"),
    { "actor", "role", "body", NULL },
    NULL
};

ngx_kanban_field_t  ngx_kanban_swimlane_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 100, NULL, NULL },
    { "position", NGX_KANBAN_FIELD_INTEGER,
      NGX_KANBAN_NOT_NULL, 0, 1000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_custom_field_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 100, NULL, NULL },
    { "options", NGX_KANBAN_FIELD_ARRAY, 0, 0, 100,
      ngx_kanban_custom_field_option, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* A swimlane changes or goes as its project's managers decide; its tasks
 * stay, in no swimlane. */
ngx_kanban_sql_t  ngx_kanban_swimlanes_patch = {
    ngx_kanban_pg_stmt("swimlanes_patch",
    "WITH s AS (SELECT s.*, can_manage_project($1::uuid, $2, p.team_id) ok"
    "             FROM swimlanes s JOIN projects p ON p.id = s.project_id"
    "            WHERE s.id = $3::uuid),"
    "     u AS (UPDATE swimlanes x"
    "              SET name = coalesce($4::jsonb->>'name', x.name),"
    "                  position = coalesce(($4::jsonb->>'position')::int,"
    "                                      x.position)"
    "             FROM s WHERE x.id = s.id AND s.ok"
    "           RETURNING x.*),"
    "     a AS (INSERT INTO activity_log (actor_id, project_id, entity_type,"
    "                                     entity_id, action, old_values,"
    "                                     new_values)"
    "           SELECT $1::uuid, u.project_id, 'swimlane', u.id, 'updated',"
    "                  (SELECT to_jsonb(s) - 'ok' FROM s), to_jsonb(u)"
    "             FROM u)"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM s) THEN 404"
    "             WHEN EXISTS (SELECT 1 FROM u) THEN 200 ELSE 403 END,"
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM s) THEN 'not_found'"
    "             WHEN EXISTS (SELECT 1 FROM u)"
    "             THEN (SELECT to_jsonb(u)::text FROM u)"
    "             ELSE 'forbidden' END"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_swimlanes_delete = {
    ngx_kanban_pg_stmt("swimlanes_delete",
    "WITH s AS (SELECT s.*, can_manage_project($1::uuid, $2, p.team_id) ok"
    "             FROM swimlanes s JOIN projects p ON p.id = s.project_id"
    "            WHERE s.id = $3::uuid),"
    "     d AS (DELETE FROM swimlanes x USING s"
    "            WHERE x.id = s.id AND s.ok RETURNING x.*),"
    "     a AS (INSERT INTO activity_log (actor_id, project_id, entity_type,"
    "                                     entity_id, action, old_values)"
    "           SELECT $1::uuid, d.project_id, 'swimlane', d.id, 'deleted',"
    "                  to_jsonb(d) FROM d)"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM s) THEN 404"
    "             WHEN EXISTS (SELECT 1 FROM d) THEN 204 ELSE 403 END,"
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM s) THEN 'not_found'"
    "             WHEN NOT EXISTS (SELECT 1 FROM d) THEN 'forbidden' END"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

/* A field's type never changes (its values would not fit); removing a
 * field removes its values from every task. */
ngx_kanban_sql_t  ngx_kanban_custom_fields_patch = {
    ngx_kanban_pg_stmt("custom_fields_patch",
    "WITH f AS (SELECT f.*, CASE WHEN f.project_id IS NULL"
    "                            THEN $2 = 'admin'"
    "                            ELSE can_manage_project($1::uuid, $2,"
    "                                     (SELECT team_id FROM projects"
    "                                       WHERE id = f.project_id))"
    "                       END AS ok"
    "             FROM custom_fields f WHERE f.id = $3::uuid),"
    "     u AS (UPDATE custom_fields x"
    "              SET name = coalesce($4::jsonb->>'name', x.name),"
    "                  options = coalesce($4::jsonb->'options', x.options)"
    "             FROM f WHERE x.id = f.id AND f.ok"
    "           RETURNING x.*)"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM f) THEN 404"
    "             WHEN EXISTS (SELECT 1 FROM u) THEN 200 ELSE 403 END,"
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM f) THEN 'not_found'"
    "             WHEN EXISTS (SELECT 1 FROM u)"
    "             THEN (SELECT to_jsonb(u)::text FROM u)"
    "             ELSE 'forbidden' END"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_custom_fields_delete = {
    ngx_kanban_pg_stmt("custom_fields_delete",
    "WITH f AS (SELECT f.*, CASE WHEN f.project_id IS NULL"
    "                            THEN $2 = 'admin'"
    "                            ELSE can_manage_project($1::uuid, $2,"
    "                                     (SELECT team_id FROM projects"
    "                                       WHERE id = f.project_id))"
    "                       END AS ok"
    "             FROM custom_fields f WHERE f.id = $3::uuid),"
    "     t AS (UPDATE tasks"
    "              SET custom_fields = custom_fields - $3::uuid::text"
    "            WHERE custom_fields ? $3::uuid::text"
    "              AND (SELECT ok FROM f)),"
    "     d AS (DELETE FROM custom_fields x USING f"
    "            WHERE x.id = f.id AND f.ok RETURNING x.id)"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM f) THEN 404"
    "             WHEN EXISTS (SELECT 1 FROM d) THEN 204 ELSE 403 END,"
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM f) THEN 'not_found'"
    "             WHEN NOT EXISTS (SELECT 1 FROM d) THEN 'forbidden' END"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};
