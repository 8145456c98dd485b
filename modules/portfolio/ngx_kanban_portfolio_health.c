
/*
 * A project's health: GET /api/v1/projects/{id}/health gives it with the
 * reasons the rules found, and a project manager of the project puts or
 * deletes an override with a note. The rules, the override and the
 * notice of a change live in sql/tenant/023_portfolio_health.sql; reading
 * the health also notices a change that time alone made (a milestone
 * that became overdue overnight).
 */

/* SQL: sql/tenant/023_portfolio_health.sql, 025_portfolio_updates.sql */
#include "ngx_kanban_portfolio.h"


static ngx_kanban_field_t  ngx_kanban_portfolio_override_fields[] = {
    { "health", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 1, 20, NULL,
      NULL },
    { "note", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 1, 2000, NULL,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* no row (404) for a project that is not there; the weekly updates'
 * reminders due are sent on the way */
static ngx_kanban_sql_t  ngx_kanban_portfolio_health_get = {
    ngx_kanban_pg_stmt("portfolio_health_get",
    "SELECT 200, h FROM project_health_check($1::uuid, NULL) h,"
    "       (SELECT project_update_remind()) r"
    " WHERE h IS NOT NULL"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_health_put = {
    ngx_kanban_pg_stmt("portfolio_health_put",
    "SELECT * FROM project_health_override($1::uuid, $2, $3::uuid,"
    "                                      $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_health_delete = {
    ngx_kanban_pg_stmt("portfolio_health_delete",
    "SELECT * FROM project_health_override($1::uuid, $2, $3::uuid, NULL)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};


#define ngx_kanban_portfolio_route(method, pattern, access, fields, sql)      \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access,                        \
      ngx_kanban_sql_handler, fields, ngx_null_string, sql }

ngx_kanban_route_t  ngx_kanban_portfolio_health_routes[] = {

    { NGX_HTTP_GET, "/api/v1/projects/{id}/health", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_portfolio_writing_get, NULL,
      ngx_null_string, &ngx_kanban_portfolio_health_get },

    ngx_kanban_portfolio_route(NGX_HTTP_PUT,
        "/api/v1/projects/{id}/health/override",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_portfolio_override_fields,
        &ngx_kanban_portfolio_health_put),

    ngx_kanban_portfolio_route(NGX_HTTP_DELETE,
        "/api/v1/projects/{id}/health/override",
        NGX_KANBAN_ACCESS_MANAGER, NULL,
        &ngx_kanban_portfolio_health_delete),
};

ngx_uint_t  ngx_kanban_portfolio_health_nroutes =
    sizeof(ngx_kanban_portfolio_health_routes) / sizeof(ngx_kanban_route_t);
