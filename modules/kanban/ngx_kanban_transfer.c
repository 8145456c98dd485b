
/*
 * A project's tasks out and in: GET /api/v1/projects/{id}/export (JSON, or
 * CSV as a download) and POST /api/v1/projects/import (a Trello board's
 * JSON export, our own JSON export, or CSV with the export's header).
 * PostgreSQL builds the export and does the whole import in its one
 * statement, so a bad row leaves nothing behind.
 */

#include "ngx_kanban_routes.h"


ngx_kanban_sql_t  ngx_kanban_projects_export = {
    ngx_kanban_pg_stmt("projects_export",
    "SELECT * FROM project_export($1::uuid, $2, $3)"),
    { "uuid:id", "query:format", "accept", NULL },
    NULL
};
