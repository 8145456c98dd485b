
/*
 * Tasks: /api/v1/projects/{id}/tasks, /api/v1/tasks/{id}[/move|
 * /subtasks|/activity]. Everyone reads and creates tasks; contributors
 * change the ones assigned to them or reported by them (task_update and
 * the others decide). A move locks its target column, so concurrent moves
 * take turns and never share a rank.
 */

/* SQL: sql/tenant/001_users.sql, 005_kanban.sql, 007_reads.sql,
 * 024_portfolio_assignment.sql, 026_task_cache.sql, 027_hot_reads.sql */
#include "ngx_kanban_kanban_routes.h"


/* a label: a short name, as the board shows it */
static ngx_kanban_field_t  ngx_kanban_task_label[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 100, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* a skill the task needs of its assignee, at least at this level */
static ngx_kanban_field_t  ngx_kanban_task_required_skill_fields[] = {
    { "skill_id", NGX_KANBAN_FIELD_UUID, 1, 0, 0, NULL, NULL },
    { "level", NGX_KANBAN_FIELD_INTEGER, 1, 1, 5, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_task_fields[] = {
    { "title", NGX_KANBAN_FIELD_STRING, 1, 1, 500, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 20000, NULL, NULL },
    { "column_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "parent_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "sprint_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "milestone_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "swimlane_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "custom_fields", NGX_KANBAN_FIELD_OBJECT, 0, 0, 0, NULL, NULL },
    { "priority", NGX_KANBAN_FIELD_STRING, 0, 1, 16, NULL, NULL },
    { "assignee_ids", NGX_KANBAN_FIELD_ARRAY, 0, 0, 50, NULL, NULL },
    { "labels", NGX_KANBAN_FIELD_ARRAY, 0, 0, 50, ngx_kanban_task_label,
      NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "due_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "estimate_minutes", NGX_KANBAN_FIELD_INTEGER, 0, 0, 1000000, NULL,
      NULL },
    { "blocked", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { "blocked_reason", NGX_KANBAN_FIELD_STRING, 0, 0, 1000, NULL, NULL },
    { "required_skills", NGX_KANBAN_FIELD_ARRAY, 0, 0, 20,
      ngx_kanban_task_required_skill_fields, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_task_patch_fields[] = {
    { "title", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 500, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 20000, NULL, NULL },
    { "parent_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "sprint_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "milestone_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "swimlane_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "custom_fields", NGX_KANBAN_FIELD_OBJECT, 0, 0, 0, NULL, NULL },
    { "priority", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 16, NULL, NULL },
    { "assignee_ids", NGX_KANBAN_FIELD_ARRAY, 0, 0, 50, NULL, NULL },
    { "delegate_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "labels", NGX_KANBAN_FIELD_ARRAY, 0, 0, 50, ngx_kanban_task_label,
      NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "due_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "estimate_minutes", NGX_KANBAN_FIELD_INTEGER, 0, 0, 1000000, NULL,
      NULL },
    { "blocked", NGX_KANBAN_FIELD_BOOLEAN,
      NGX_KANBAN_NOT_NULL, 0, 0, NULL, NULL },
    { "blocked_reason", NGX_KANBAN_FIELD_STRING, 0, 0, 1000, NULL, NULL },
    { "required_skills", NGX_KANBAN_FIELD_ARRAY, 0, 0, 20,
      ngx_kanban_task_required_skill_fields, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_task_move_fields[] = {
    { "column_id", NGX_KANBAN_FIELD_UUID, 1, 0, 0, NULL, NULL },
    { "before_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "after_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* Filters as query parameters; pages by id, so inserts never shift a
 * page already read. The cursor is compared with coalesce, not "$3 IS
 * NULL OR": the prepared statement's generic plan then still starts the
 * index scan at the cursor, and the last page of 100,000 tasks costs what
 * the first does (the OR made it scan every task before the cursor). */
ngx_kanban_sql_t  ngx_kanban_tasks_list = {
    ngx_kanban_pg_stmt("tasks_list",
    "WITH lim AS (SELECT least(greatest(coalesce($2::int, 50), 1), 200) n),"
    "     page AS (SELECT t FROM tasks t JOIN columns c"
    "                ON c.id = t.column_id"
    "               WHERE t.project_id = $1::uuid"
    "                 AND t.id > coalesce($3::uuid,"
    "                          '00000000-0000-0000-0000-000000000000')"
    "                 AND ($4::uuid IS NULL OR t.column_id = $4::uuid)"
    "                 AND ($5::text IS NULL OR c.category = $5)"
    "                 AND ($6::uuid IS NULL OR EXISTS (SELECT 1"
    "                        FROM task_assignees a WHERE a.task_id = t.id"
    "                         AND a.user_id = $6::uuid))"
    "                 AND ($7::text IS NULL OR $7 = ANY (t.labels))"
    "                 AND ($8::uuid IS NULL OR t.parent_id = $8::uuid)"
    "                 AND ($9::date IS NULL OR t.due_date < $9::date)"
    "                 AND ($10::text IS NULL"
    "                      OR strpos(lower(t.title), lower($10)) > 0)"
    "               ORDER BY t.id LIMIT (SELECT n FROM lim))"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM projects"
    "                           WHERE id = $1::uuid) THEN 200 ELSE 404 END,"
    "        CASE WHEN EXISTS (SELECT 1 FROM projects WHERE id = $1::uuid)"
    "        THEN json_build_object("
    "          'items', coalesce((SELECT json_agg(d.doc ORDER BY d.id)"
    "                               FROM page JOIN task_docs d"
    "                                 ON d.id = (page.t).id),"
    "                            '[]'::json),"
    "          'next_cursor', CASE WHEN (SELECT count(*) FROM page)"
    "                                   = (SELECT n FROM lim)"
    "                              THEN (SELECT (t).id::text FROM page"
    "                                     ORDER BY (t).id DESC LIMIT 1)"
    "                         END)::text"
    "        ELSE 'not_found' END"),
    { "uuid:id", "query_limit:limit", "query_uuid:cursor",
      "query_uuid:column_id",
      "query_enum:category=backlog|todo|in_progress|review|done",
      "query_uuid:assignee_id",
      "query:label", "query_uuid:parent_id", "query_date:due_before",
      "query:q",
      NULL },
    NULL
};

/* The kept document when there is one (sql/tenant/026_task_cache.sql),
 * a primary-key read; else task_build() makes it with task_json and keeps
 * it. LIMIT 1 stops the UNION ALL at the first branch's row. */
ngx_kanban_sql_t  ngx_kanban_tasks_get = {
    ngx_kanban_pg_shared_stmt("tasks_get",
    "(SELECT 200, c.body, c.version FROM task_cache c"
    "  WHERE c.task_id = $1::uuid AND c.body IS NOT NULL)"
    " UNION ALL"
    " (SELECT 200, b.body, b.version FROM task_build($1::uuid) b)"
    " LIMIT 1"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_tasks_subtasks = {
    ngx_kanban_pg_stmt("tasks_subtasks",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           task_json(s) ORDER BY s.number)"
    "      FROM tasks s WHERE s.parent_id = t.id), '[]'::json),"
    "    'next_cursor', NULL)"
    "  FROM tasks t WHERE t.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_tasks_create = {
    ngx_kanban_pg_stmt("tasks_create",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM task_create_skilled($1::uuid, $2, $3::uuid, $4::jsonb) f"),
    { "actor", "role", "uuid:id", "body", NULL },
    "task.created"
};

ngx_kanban_sql_t  ngx_kanban_tasks_patch = {
    ngx_kanban_pg_stmt("tasks_patch",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM task_update_skilled($1::uuid, $2, $3::uuid, $4::jsonb,"
    "                           $5::int) f"),
    { "actor", "role", "uuid:id", "body", "version", NULL },
    "task.updated"
};

ngx_kanban_sql_t  ngx_kanban_tasks_delete = {
    ngx_kanban_pg_stmt("tasks_delete",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM task_delete($1::uuid, $2, $3::uuid) f"),
    { "actor", "role", "uuid:id", NULL },
    "task.deleted"
};

ngx_kanban_sql_t  ngx_kanban_tasks_move = {
    ngx_kanban_pg_stmt("tasks_move",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM task_move($1::uuid, $2, $3::uuid, $4::jsonb, $5::int) f"),
    { "actor", "role", "uuid:id", "body", "version", NULL },
    "task.moved"
};

ngx_kanban_sql_t  ngx_kanban_tasks_activity = {
    ngx_kanban_pg_stmt("tasks_activity",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           json_build_object('id', a.id, 'actor_id', a.actor_id,"
    "               'actor_name', coalesce(u.name, a.via), 'via', a.via,"
    "               'action', a.action,"
    "               'old_values', a.old_values, 'new_values', a.new_values,"
    "               'created_at', a.created_at) ORDER BY a.id)"
    "      FROM activity_log a LEFT JOIN users u ON u.id = a.actor_id"
    "     WHERE a.entity_type = 'task' AND a.entity_id = t.id),"
    "      '[]'::json),"
    "    'next_cursor', NULL)"
    "  FROM tasks t WHERE t.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};
