
/*
 * Projects and their board: /api/v1/projects[/{id}[/kanban|/columns|
 * /activity]], /api/v1/columns/{id}. Reads are one query building the
 * JSON; writes call the migration's functions (project_create, ...),
 * which check who may, change the rows and write the audit row at once.
 */

/* SQL: sql/tenant/001_users.sql, 005_kanban.sql, 014_board_cache.sql,
 * 027_hot_reads.sql, 034_board_kept_after_delete.sql,
 * 056_patch_null_clears_text.sql, 096_budget_figures_currency.sql,
 * 100_project_docs_text.sql, 102_projects_list_kept.sql */
#include "ngx_kanban_kanban_routes.h"


ngx_kanban_field_t  ngx_kanban_project_fields[] = {
    { "key", NGX_KANBAN_FIELD_STRING, 1, 2, 10, NULL, NULL },
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 10000, NULL, NULL },
    { "status", NGX_KANBAN_FIELD_STRING, 0, 1, 32, NULL, NULL },
    { "team_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "owner_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "due_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_project_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 200, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 10000, NULL, NULL },
    { "status", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 32, NULL, NULL },
    { "team_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "owner_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "due_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_column_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 100, NULL, NULL },
    { "category", NGX_KANBAN_FIELD_STRING, 0, 1, 32, NULL, NULL },
    { "position", NGX_KANBAN_FIELD_INTEGER, 0, 0, 1000, NULL, NULL },
    { "wip_limit", NGX_KANBAN_FIELD_INTEGER, 0, 1, 100000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_column_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 100, NULL, NULL },
    { "category", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 32, NULL, NULL },
    { "position", NGX_KANBAN_FIELD_INTEGER,
      NGX_KANBAN_NOT_NULL, 0, 1000, NULL, NULL },
    { "wip_limit", NGX_KANBAN_FIELD_INTEGER, 0, 1, 100000, NULL, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* The whole list, for an admin or a contributor, is kept as last read
 * (102_projects_list_kept.sql): one row's text answers a first page with
 * no filter whose limit is above its projects. Any other page, or a
 * project manager's (whose figures depend on their teams), is built by
 * projects_list() from each project's document kept beside its board
 * (project_doc, 042_project_kept.sql, as text: 100_project_docs_text.sql),
 * which also keeps a whole list it built. The document carries its
 * budget's figures (096_budget_figures_currency.sql), which only the
 * project's managers and admins read. */
ngx_kanban_sql_t  ngx_kanban_projects_list = {
    ngx_kanban_pg_shared_stmt("projects_list",
    "SELECT 200, coalesce("
    "  (SELECT k.body FROM projects_list_kept k"
    "    WHERE $2::uuid IS NULL AND $3::text IS NULL AND $4::uuid IS NULL"
    "      AND k.body IS NOT NULL"
    "      AND k.items < least(greatest(coalesce($1::int, 50), 1), 200)"
    "      AND k.variant = CASE $6 WHEN 'admin' THEN 'full'"
    "                              WHEN 'contributor' THEN 'plain' END),"
    "  projects_list($1::int, $2::uuid, $3, $4::uuid, $5::uuid, $6))"),
    { "query_limit:limit", "query_uuid:cursor",
      "query_enum:status=planning|active|on_hold|completed|cancelled",
      "query_uuid:team_id", "actor", "role", NULL },
    NULL
};

/* The version is the ETag, which no time entry changes: a reader who gets
 * the budget's figures gets no ETag, so that a revalidating browser is
 * not told 304 over figures that moved. */
ngx_kanban_sql_t  ngx_kanban_projects_get = {
    ngx_kanban_pg_shared_stmt("projects_get",
    "SELECT 200, project_json(p) || b.part,"
    "       CASE WHEN b.part = '{}' THEN p.version END"
    "  FROM projects p,"
    "       LATERAL (SELECT project_budget_part(p.id, p.team_id,"
    "                                           $2::uuid, $3) part) b"
    " WHERE p.id = $1::uuid"),
    { "uuid:id", "actor", "role", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_projects_create = {
    ngx_kanban_pg_stmt("projects_create",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM project_create($1::uuid, $2, $3::jsonb) f"),
    { "actor", "role", "body", NULL },
    "project.created"
};

ngx_kanban_sql_t  ngx_kanban_projects_patch = {
    ngx_kanban_pg_stmt("projects_patch",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM project_update($1::uuid, $2, $3::uuid,"
    "       patch_text_nulls_cleared($4::jsonb, 'description'), $5::int) f"),
    { "actor", "role", "uuid:id", "body", "version", NULL },
    "project.updated"
};

ngx_kanban_sql_t  ngx_kanban_projects_delete = {
    ngx_kanban_pg_stmt("projects_delete",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM project_delete($1::uuid, $2, $3::uuid) f"),
    { "actor", "role", "uuid:id", NULL },
    "project.deleted"
};

/* The board in one round trip: columns in order, each with its tasks in
 * rank order, built by PostgreSQL, or as it was last built when nothing
 * on it has changed since (board_json, sql/tenant/014_board_cache.sql).
 * The kept board is read here, a primary-key read, not through the
 * PL/pgSQL function, which would copy its tens of kilobytes once more;
 * LIMIT 1 stops the UNION ALL at the first branch's row. */
ngx_kanban_sql_t  ngx_kanban_projects_kanban = {
    ngx_kanban_pg_shared_stmt("projects_kanban",
    "(SELECT 200, c.body FROM board_cache c"
    "  WHERE c.project_id = $1::uuid AND c.body IS NOT NULL)"
    " UNION ALL"
    " (SELECT 200, b FROM board_json($1::uuid) b WHERE b IS NOT NULL)"
    " LIMIT 1"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_columns_list = {
    ngx_kanban_pg_stmt("columns_list",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           column_json(c) ORDER BY c.position, c.id)"
    "      FROM columns c WHERE c.project_id = p.id), '[]'::json),"
    "    'next_cursor', NULL)"
    "  FROM projects p WHERE p.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_columns_create = {
    ngx_kanban_pg_stmt("columns_create",
    "SELECT * FROM column_create($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_columns_patch = {
    ngx_kanban_pg_stmt("columns_patch",
    "SELECT * FROM column_update($1::uuid, $2, $3::uuid, $4::jsonb,"
    "                            $5::int)"),
    { "actor", "role", "uuid:id", "body", "version", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_columns_delete = {
    ngx_kanban_pg_stmt("columns_delete",
    "SELECT * FROM column_delete($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

/* The project's shared work only: people's time and their share links
 * are audited under the project too, and are theirs (and their
 * managers') to see, through the timesheet and share-link routes. */
ngx_kanban_sql_t  ngx_kanban_projects_activity = {
    ngx_kanban_pg_stmt("projects_activity",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           json_build_object('id', a.id, 'actor_id', a.actor_id,"
    "               'actor_name', coalesce(u.name, a.via), 'via', a.via,"
    "               'entity_type', a.entity_type,"
    "               'entity_id', a.entity_id, 'action', a.action,"
    "               'old_values', a.old_values, 'new_values', a.new_values,"
    "               'created_at', a.created_at) ORDER BY a.id DESC)"
    "      FROM (SELECT * FROM activity_log WHERE project_id = p.id"
    "               AND entity_type IN ('project', 'task', 'column',"
    "                                   'comment', 'milestone', 'sprint',"
    "                                   'swimlane', 'github_integration')"
    "             ORDER BY id DESC LIMIT 200) a"
    "      LEFT JOIN users u ON u.id = a.actor_id), '[]'::json),"
    "    'next_cursor', NULL)"
    "  FROM projects p WHERE p.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};
