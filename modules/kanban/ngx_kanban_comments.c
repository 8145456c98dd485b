
/*
 * Comments and dependencies of a task: /api/v1/tasks/{id}/comments,
 * /api/v1/comments/{id}, /api/v1/tasks/{id}/dependencies[/{other_id}].
 * Everyone comments; authors (and admins) change their comments. A
 * dependency that would close a cycle, however long, is 422
 * dependency_cycle.
 */

/* SQL: sql/tenant/001_users.sql, 005_kanban.sql, 006_planning.sql */
#include "ngx_kanban_kanban_routes.h"


ngx_kanban_field_t  ngx_kanban_comment_fields[] = {
    { "body", NGX_KANBAN_FIELD_STRING, 1, 1, 20000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_dependency_fields[] = {
    { "depends_on_id", NGX_KANBAN_FIELD_UUID, 1, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_comments_list = {
    ngx_kanban_pg_stmt("comments_list",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           to_jsonb(c) || jsonb_build_object('author_name', u.name)"
    "           ORDER BY c.created_at, c.id)"
    "      FROM comments c LEFT JOIN users u ON u.id = c.author_id"
    "     WHERE c.task_id = t.id), '[]'::json), 'next_cursor', NULL)"
    "  FROM tasks t WHERE t.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_comments_create = {
    ngx_kanban_pg_stmt("comments_create",
    "WITH t AS (SELECT id, project_id FROM tasks WHERE id = $2::uuid),"
    "     c AS (INSERT INTO comments (task_id, author_id, body)"
    "           SELECT t.id, $1::uuid, $3::jsonb->>'body' FROM t"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, project_id, entity_type,"
    "                                     entity_id, action, new_values)"
    "           SELECT $1::uuid, t.project_id, 'comment', c.id, 'created',"
    "                  to_jsonb(c) FROM c, t"
    "           RETURNING id)"
    " SELECT 201, to_jsonb(c), '/api/v1/comments/' || c.id,"
    "        (SELECT id FROM a)"
    "   FROM c"),
    { "actor", "uuid:id", "body", NULL },
    "comment.created"
};

ngx_kanban_sql_t  ngx_kanban_comments_patch = {
    ngx_kanban_pg_stmt("comments_patch",
    "SELECT * FROM comment_change($1::uuid, $2, $3::uuid, $4::jsonb, false)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_comments_delete = {
    ngx_kanban_pg_stmt("comments_delete",
    "SELECT * FROM comment_change($1::uuid, $2, $3::uuid, NULL, true)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_dependencies_add = {
    ngx_kanban_pg_stmt("dependencies_add",
    "SELECT * FROM dependency_add($1::uuid, $2, $3::uuid,"
    "                             ($4::jsonb->>'depends_on_id')::uuid)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_dependencies_delete = {
    ngx_kanban_pg_stmt("dependencies_delete",
    "WITH ok AS (SELECT can_change_task($1::uuid, $2, $3::uuid) AS yes),"
    "     d AS (DELETE FROM task_dependencies"
    "            WHERE task_id = $3::uuid AND depends_on_id = $4::uuid"
    "              AND (SELECT yes FROM ok)"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, project_id, entity_type,"
    "                                     entity_id, action, old_values)"
    "           SELECT $1::uuid, t.project_id, 'task', d.task_id,"
    "                  'dependency_removed',"
    "                  jsonb_build_object('depends_on_id', d.depends_on_id)"
    "             FROM d JOIN tasks t ON t.id = d.task_id)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM d) THEN 204"
    "             WHEN NOT (SELECT yes FROM ok)"
    "              AND EXISTS (SELECT 1 FROM tasks WHERE id = $3::uuid)"
    "             THEN 403 ELSE 404 END,"
    "        CASE WHEN EXISTS (SELECT 1 FROM d) THEN NULL"
    "             WHEN NOT (SELECT yes FROM ok)"
    "              AND EXISTS (SELECT 1 FROM tasks WHERE id = $3::uuid)"
    "             THEN 'forbidden' ELSE 'not_found' END"),
    { "actor", "role", "uuid:id", "uuid:other_id", NULL },
    NULL
};
