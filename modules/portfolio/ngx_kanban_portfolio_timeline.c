
/*
 * One timeline across projects (issue 24): GET /api/v1/portfolio/timeline
 * gives every project's tasks and milestones with their dates, the links
 * between tasks (of any projects, finish-to-start with a lag in days:
 * POST /api/v1/tasks/{id}/predecessors; removed as any dependency is)
 * and the critical path. A task's new dates push its dependents: GET
 * /api/v1/tasks/{id}/reschedule shows the shifts, POST applies them, and
 * PUT /api/v1/projects/{id}/schedule lets a project's tasks follow by
 * themselves. A baseline of the portfolio or of a project
 * (/api/v1/portfolio/baselines) is what slippage is measured against.
 * The scheduling is in sql/tenant/085_portfolio_timeline.sql, the
 * baselines in 086_schedule_baselines.sql.
 */

/* SQL: sql/tenant/085_portfolio_timeline.sql, 086_schedule_baselines.sql */
#include "ngx_kanban_portfolio.h"


static ngx_kanban_field_t  ngx_kanban_portfolio_link_fields[] = {
    { "depends_on_id", NGX_KANBAN_FIELD_UUID, NGX_KANBAN_REQUIRED, 0, 0,
      NULL, NULL },
    { "lag_days", NGX_KANBAN_FIELD_INTEGER, 0, 0, 365, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_portfolio_reschedule_fields[] = {
    { "due_date", NGX_KANBAN_FIELD_DATE, NGX_KANBAN_REQUIRED, 0, 0, NULL,
      NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_portfolio_schedule_fields[] = {
    { "auto_shift", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_REQUIRED, 0, 0,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_portfolio_baseline_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 1, 200, NULL,
      NULL },
    { "project_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_portfolio_timeline_get = {
    ngx_kanban_pg_stmt("portfolio_timeline_get",
    "SELECT 200, portfolio_timeline()"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_link_add = {
    ngx_kanban_pg_stmt("portfolio_link_add",
    "SELECT * FROM task_link_add($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

/* the preview: the same walk, nothing written */
static ngx_kanban_sql_t  ngx_kanban_portfolio_reschedule_preview = {
    ngx_kanban_pg_stmt("portfolio_reschedule_preview",
    "SELECT * FROM task_reschedule($1::uuid, $2, $3::uuid,"
    "    jsonb_strip_nulls(jsonb_build_object('due_date', $4::date,"
    "                                         'start_date', $5::date)),"
    "    false)"),
    { "actor", "role", "uuid:id", "query_date:due_date",
      "query_date:start_date", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_reschedule_apply = {
    ngx_kanban_pg_stmt("portfolio_reschedule_apply",
    "SELECT * FROM task_reschedule($1::uuid, $2, $3::uuid, $4::jsonb, true)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_schedule_put = {
    ngx_kanban_pg_stmt("portfolio_schedule_put",
    "SELECT * FROM project_schedule_put($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_baseline_post = {
    ngx_kanban_pg_stmt("portfolio_baseline_post",
    "SELECT * FROM baseline_save($1::uuid, $2, $3::jsonb)"),
    { "actor", "role", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_portfolio_baselines_list = {
    ngx_kanban_pg_stmt("portfolio_baselines_list",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "    baseline_json(b) ORDER BY b.created_at DESC, b.id)"
    "  FROM schedule_baselines b), '[]'::json))"),
    { NULL },
    NULL
};


#define ngx_kanban_portfolio_route(method, pattern, access, fields, sql)      \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access,                        \
      ngx_kanban_sql_handler, fields, ngx_null_string, sql }

ngx_kanban_route_t  ngx_kanban_portfolio_timeline_routes[] = {

    ngx_kanban_portfolio_route(NGX_HTTP_GET, "/api/v1/portfolio/timeline",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_portfolio_timeline_get),

    ngx_kanban_portfolio_route(NGX_HTTP_POST,
        "/api/v1/tasks/{id}/predecessors", NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_portfolio_link_fields,
        &ngx_kanban_portfolio_link_add),

    ngx_kanban_portfolio_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/reschedule",
        NGX_KANBAN_ACCESS_MEMBER, NULL,
        &ngx_kanban_portfolio_reschedule_preview),

    ngx_kanban_portfolio_route(NGX_HTTP_POST,
        "/api/v1/tasks/{id}/reschedule",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_portfolio_reschedule_fields,
        &ngx_kanban_portfolio_reschedule_apply),

    ngx_kanban_portfolio_route(NGX_HTTP_PUT, "/api/v1/projects/{id}/schedule",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_portfolio_schedule_fields,
        &ngx_kanban_portfolio_schedule_put),

    ngx_kanban_portfolio_route(NGX_HTTP_POST, "/api/v1/portfolio/baselines",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_portfolio_baseline_fields,
        &ngx_kanban_portfolio_baseline_post),

    ngx_kanban_portfolio_route(NGX_HTTP_GET, "/api/v1/portfolio/baselines",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_portfolio_baselines_list),
};

ngx_uint_t  ngx_kanban_portfolio_timeline_nroutes =
    sizeof(ngx_kanban_portfolio_timeline_routes) / sizeof(ngx_kanban_route_t);
