
/*
 * Milestones and sprints of a project: /api/v1/projects/{id}/milestones,
 * /api/v1/milestones/{id}, /api/v1/projects/{id}/sprints,
 * /api/v1/sprints/{id}. Managed as their project is (plan_item_write);
 * everyone reads them. The backlog is the tasks with no sprint.
 */

/* SQL: sql/tenant/005_kanban.sql, 006_planning.sql,
 * 056_patch_null_clears_text.sql */
#include "ngx_kanban_kanban_routes.h"


ngx_kanban_field_t  ngx_kanban_milestone_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 10000, NULL, NULL },
    { "due_date", NGX_KANBAN_FIELD_DATE, 1, 0, 0, NULL, NULL },
    { "status", NGX_KANBAN_FIELD_STRING, 0, 1, 16, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_milestone_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 200, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 10000, NULL, NULL },
    { "due_date", NGX_KANBAN_FIELD_DATE,
      NGX_KANBAN_NOT_NULL, 0, 0, NULL, NULL },
    { "status", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 16, NULL, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_sprint_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "goal", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL, NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "end_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "state", NGX_KANBAN_FIELD_STRING, 0, 1, 16, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_sprint_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 200, NULL, NULL },
    { "goal", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL, NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "end_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "state", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 16, NULL, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_milestones_list = {
    ngx_kanban_pg_stmt("milestones_list",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           to_jsonb(m) ORDER BY m.due_date, m.id)"
    "      FROM milestones m WHERE m.project_id = p.id), '[]'::json),"
    "    'next_cursor', NULL)"
    "  FROM projects p WHERE p.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_milestones_create = {
    ngx_kanban_pg_stmt("milestones_create",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM plan_item_write($1::uuid, $2, 'milestone', $3::uuid,"
    "                              NULL, $4::jsonb, NULL, false) f"),
    { "actor", "role", "uuid:id", "body", NULL },
    "milestone.updated"
};

ngx_kanban_sql_t  ngx_kanban_milestones_patch = {
    ngx_kanban_pg_stmt("milestones_patch",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM plan_item_write($1::uuid, $2, 'milestone', NULL, $3::uuid,"
    "       patch_text_nulls_cleared($4::jsonb, 'description'), $5::int,"
    "       false) f"),
    { "actor", "role", "uuid:id", "body", "version", NULL },
    "milestone.updated"
};

ngx_kanban_sql_t  ngx_kanban_milestones_delete = {
    ngx_kanban_pg_stmt("milestones_delete",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM plan_item_write($1::uuid, $2, 'milestone', NULL,"
    "                              $3::uuid, NULL, NULL, true) f"),
    { "actor", "role", "uuid:id", NULL },
    "milestone.updated"
};

ngx_kanban_sql_t  ngx_kanban_sprints_list = {
    ngx_kanban_pg_stmt("sprints_list",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           to_jsonb(s) || jsonb_build_object('task_count',"
    "               (SELECT count(*) FROM tasks t WHERE t.sprint_id = s.id))"
    "           ORDER BY s.start_date NULLS LAST, s.id)"
    "      FROM sprints s WHERE s.project_id = p.id), '[]'::json),"
    "    'backlog_count', (SELECT count(*) FROM tasks t"
    "                       WHERE t.project_id = p.id"
    "                         AND t.sprint_id IS NULL),"
    "    'next_cursor', NULL)"
    "  FROM projects p WHERE p.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_sprints_create = {
    ngx_kanban_pg_stmt("sprints_create",
    "SELECT * FROM plan_item_write($1::uuid, $2, 'sprint', $3::uuid,"
    "                              NULL, $4::jsonb, NULL, false)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_sprints_patch = {
    ngx_kanban_pg_stmt("sprints_patch",
    "SELECT * FROM plan_item_write($1::uuid, $2, 'sprint', NULL, $3::uuid,"
    "       patch_text_nulls_cleared($4::jsonb, 'goal'), $5::int, false)"),
    { "actor", "role", "uuid:id", "body", "version", NULL },
    NULL
};
