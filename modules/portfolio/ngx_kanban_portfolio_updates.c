
/*
 * Weekly updates: a project manager of the project posts one (health,
 * text) and everyone reads the project's history (the draft to start
 * from: ngx_kanban_portfolio_draft.c); the weekday by which each active
 * project should have this week's update, and the reminders to managers
 * who have not posted one, sent when the portfolio is read
 * (025_portfolio_updates.sql).
 */

/* SQL: sql/tenant/001_users.sql, 005_kanban.sql, 025_portfolio_updates.sql */
#include "ngx_kanban_portfolio.h"


static ngx_kanban_field_t  ngx_kanban_portfolio_update_fields[] = {
    { "health", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 1, 20, NULL,
      NULL },
    { "text", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 1, 20000, NULL,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_portfolio_settings_fields[] = {
    { "update_weekday", NGX_KANBAN_FIELD_INTEGER, NGX_KANBAN_REQUIRED, 1, 7,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* newest first; the reminders due are sent on the way */
static ngx_kanban_sql_t  ngx_kanban_portfolio_updates_list = {
    ngx_kanban_pg_stmt("portfolio_updates_list",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(project_update_json(u)"
    "                    ORDER BY u.created_at DESC, u.id)"
    "      FROM project_updates u WHERE u.project_id = p.id), '[]'::json),"
    "    'next_cursor', NULL)"
    "  FROM projects p, (SELECT project_update_remind()) r"
    " WHERE p.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_updates_post = {
    ngx_kanban_pg_stmt("portfolio_updates_post",
    "SELECT * FROM project_update_post($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_settings_get = {
    ngx_kanban_pg_stmt("portfolio_settings_get",
    "SELECT 200, json_build_object('update_weekday', s.update_weekday)"
    "  FROM portfolio_settings s"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_settings_put = {
    ngx_kanban_pg_stmt("portfolio_settings_put",
    "WITH s AS (UPDATE portfolio_settings"
    "              SET update_weekday = ($2::jsonb->>'update_weekday')::int"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, action,"
    "                                     new_values)"
    "           SELECT $1::uuid, 'portfolio_settings', 'updated', $2::jsonb)"
    " SELECT 200, json_build_object('update_weekday', s.update_weekday)"
    "   FROM s"),
    { "actor", "body", NULL },
    NULL
};


#define ngx_kanban_portfolio_route(method, pattern, access, fields, sql)      \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access,                        \
      ngx_kanban_sql_handler, fields, ngx_null_string, sql }

ngx_kanban_route_t  ngx_kanban_portfolio_updates_routes[] = {

    { NGX_HTTP_GET, "/api/v1/projects/{id}/updates", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_portfolio_writing_get, NULL,
      ngx_null_string, &ngx_kanban_portfolio_updates_list },

    ngx_kanban_portfolio_route(NGX_HTTP_POST, "/api/v1/projects/{id}/updates",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_portfolio_update_fields,
        &ngx_kanban_portfolio_updates_post),

    ngx_kanban_portfolio_route(NGX_HTTP_GET, "/api/v1/portfolio/settings",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_portfolio_settings_get),

    ngx_kanban_portfolio_route(NGX_HTTP_PUT, "/api/v1/portfolio/settings",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_portfolio_settings_fields,
        &ngx_kanban_portfolio_settings_put),
};

ngx_uint_t  ngx_kanban_portfolio_updates_nroutes =
    sizeof(ngx_kanban_portfolio_updates_routes) / sizeof(ngx_kanban_route_t);
