
/*
 * The recurring tasks' API: a task's rule (/api/v1/tasks/{id}/recurrence),
 * the dates of its series with what became of each, and one date changed
 * or skipped ahead. The work is in PostgreSQL (sql/tenant/067), one
 * statement a route; a write steps the planner once answered (the core's
 * due index, ngx_kanban_recur_sweep.c).
 */

/* SQL: sql/tenant/067_recurrence.sql */
#include "ngx_kanban_recur.h"


static ngx_kanban_field_t  ngx_kanban_recur_fields[] = {
    { "rule", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 6, 200, NULL,
      NULL },
    { "mode", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 20, NULL,
      NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "at", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 5, 5, NULL, NULL },
    { "lead_days", NGX_KANBAN_FIELD_INTEGER, NGX_KANBAN_NOT_NULL, 0, 365,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_recur_occurrence_fields[] = {
    { "skip", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "title", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 500, NULL,
      NULL },
    { "description", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 0, 20000,
      NULL, NULL },
    { "priority", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 16, NULL,
      NULL },
    { "due_date", NGX_KANBAN_FIELD_DATE, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "assignee_ids", NGX_KANBAN_FIELD_ARRAY, NGX_KANBAN_NOT_NULL, 0, 50,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_recur_get = {
    ngx_kanban_pg_stmt("recur_get",
    "SELECT 200, recurrence_json(x) FROM recurrences x"
    " WHERE x.task_id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_recur_put = {
    ngx_kanban_pg_stmt("recur_put",
    "SELECT status, body, extra"
    "  FROM recurrence_put($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_recur_delete = {
    ngx_kanban_pg_stmt("recur_delete",
    "SELECT status, body FROM recurrence_delete($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_recur_occurrences = {
    ngx_kanban_pg_stmt("recur_occurrences",
    "SELECT 200, recurrence_occurrences_json(x,"
    "            coalesce($2::date, workspace_today()),"
    "            coalesce($3::int, 10))"
    "  FROM recurrences x WHERE x.task_id = $1::uuid"),
    { "uuid:id", "query_date:from", "query_limit:limit", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_recur_occurrence_put = {
    ngx_kanban_pg_stmt("recur_occurrence_put",
    "SELECT status, body, extra"
    "  FROM recurrence_occurrence_put($1::uuid, $2, $3::uuid, $4,"
    "                                 $5::jsonb)"),
    { "actor", "role", "uuid:id", "arg:date", "body", NULL },
    NULL
};


#define ngx_kanban_recur_route(method, pattern, handler, fields, sql)         \
    { method, pattern, NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MEMBER,      \
      handler, fields, ngx_null_string, sql }

ngx_kanban_route_t  ngx_kanban_recur_routes[] = {

    ngx_kanban_recur_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/recurrence",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_recur_get),

    ngx_kanban_recur_route(NGX_HTTP_PUT, "/api/v1/tasks/{id}/recurrence",
        ngx_kanban_sql_handler, ngx_kanban_recur_fields,
        &ngx_kanban_recur_put),

    ngx_kanban_recur_route(NGX_HTTP_DELETE, "/api/v1/tasks/{id}/recurrence",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_recur_delete),

    ngx_kanban_recur_route(NGX_HTTP_GET,
        "/api/v1/tasks/{id}/recurrence/occurrences",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_recur_occurrences),

    ngx_kanban_recur_route(NGX_HTTP_PUT,
        "/api/v1/tasks/{id}/recurrence/occurrences/{date}",
        ngx_kanban_sql_handler, ngx_kanban_recur_occurrence_fields,
        &ngx_kanban_recur_occurrence_put),
};

ngx_uint_t  ngx_kanban_recur_nroutes =
    sizeof(ngx_kanban_recur_routes) / sizeof(ngx_kanban_route_t);

