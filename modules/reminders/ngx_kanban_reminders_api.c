
/*
 * Reminders: a person's hour for the notices of due dates
 * (/api/v1/me/reminder-settings), and "remind me" on a task
 * (/api/v1/tasks/{id}/reminders, /api/v1/reminders/{id}). They are sent
 * by the planner (modules/recur/ngx_kanban_recur_sweep.c) as
 * notifications, which mail on the person's preferences; a write steps
 * the planner once answered (the core's due index). The routes are this
 * module's own table.
 */

/* SQL: sql/tenant/068_reminders.sql */
#include "ngx_kanban_routes.h"


static ngx_kanban_field_t  ngx_kanban_reminder_settings_fields[] = {
    { "hour", NGX_KANBAN_FIELD_INTEGER, NGX_KANBAN_NOT_NULL, 0, 23, NULL,
      NULL },
    { "enabled", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_reminder_fields[] = {
    { "at", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 20, 35, NULL,
      NULL },
    { "in_minutes", NGX_KANBAN_FIELD_INTEGER, NGX_KANBAN_NOT_NULL, 0,
      5 * 366 * 24 * 60, NULL, NULL },
    { "note", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 0, 500, NULL,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_reminder_settings_get = {
    ngx_kanban_pg_stmt("reminder_settings_get",
    "SELECT 200, reminder_settings_json($1::uuid)"),
    { "actor", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_reminder_settings_put = {
    ngx_kanban_pg_stmt("reminder_settings_put",
    "SELECT status, body, extra"
    "  FROM reminder_settings_put($1::uuid, $2::jsonb)"),
    { "actor", "body", NULL },
    NULL
};

/* the caller's own, the newest first */
static ngx_kanban_sql_t  ngx_kanban_reminders_list = {
    ngx_kanban_pg_stmt("reminders_list",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(task_reminder_json(x) ORDER BY x.remind_at, x.id)"
    "      FROM task_reminders x"
    "     WHERE x.task_id = t.id AND x.user_id = $1::uuid), '[]'::json))"
    "  FROM tasks t WHERE t.id = $2::uuid"),
    { "actor", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_reminder_add = {
    ngx_kanban_pg_stmt("reminder_add",
    "SELECT status, body, extra"
    "  FROM task_reminder_add($1::uuid, $2::uuid, $3::jsonb)"),
    { "actor", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_reminder_delete = {
    ngx_kanban_pg_stmt("reminder_delete",
    "DELETE FROM task_reminders WHERE id = $2::uuid AND user_id = $1::uuid"
    " RETURNING 204, NULL::text"),
    { "actor", "uuid:id", NULL },
    NULL
};


#define ngx_kanban_reminders_route(method, pattern, handler, fields, sql)     \
    { method, pattern, NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MEMBER,      \
      handler, fields, ngx_null_string, sql }

static ngx_kanban_route_t  ngx_kanban_reminders_routes[] = {

    ngx_kanban_reminders_route(NGX_HTTP_GET, "/api/v1/me/reminder-settings",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_reminder_settings_get),

    ngx_kanban_reminders_route(NGX_HTTP_PUT, "/api/v1/me/reminder-settings",
        ngx_kanban_sql_handler, ngx_kanban_reminder_settings_fields,
        &ngx_kanban_reminder_settings_put),

    ngx_kanban_reminders_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/reminders",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_reminders_list),

    ngx_kanban_reminders_route(NGX_HTTP_POST, "/api/v1/tasks/{id}/reminders",
        ngx_kanban_sql_handler, ngx_kanban_reminder_fields,
        &ngx_kanban_reminder_add),

    ngx_kanban_reminders_route(NGX_HTTP_DELETE, "/api/v1/reminders/{id}",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_reminder_delete),
};


ngx_kanban_routes_module(ngx_http_kanban_reminders_module,
                         ngx_kanban_reminders_routes);
