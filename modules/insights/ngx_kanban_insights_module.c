
/*
 * ngx_http_kanban_insights_module: the insights API, a route table of the
 * module's own:
 *
 *   POST /api/v1/insights/analyze             202 {id, status: "pending"}
 *   GET  /api/v1/insights/analyze/{id}        the analysis, as it stands
 *   GET  /api/v1/insights/projects/{id}/summary, /risks,
 *        /progress-insights                   the latest of that kind
 *
 * An analysis is stored pending in the transaction of the request; once
 * that has committed, this worker runs it (ngx_kanban_insights_job.c).
 * When the workspace's AI token budget is spent, the analysis is still
 * made from the rules, and the answer is 429 ai_budget_exhausted with
 * the analysis's id.
 */

/* SQL: sql/tenant/005_kanban.sql, 020_insights.sql,
 * 029_insights_interrupted.sql */
#include "ngx_kanban_insights.h"


static ngx_int_t ngx_kanban_insights_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_insights_analyze_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_insights_created(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_http_module_t  ngx_kanban_insights_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_insights_postconfiguration, /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_insights_module = {
    NGX_MODULE_V1,
    &ngx_kanban_insights_module_ctx,       /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_kanban_field_t  ngx_kanban_insights_fields[] = {
    { "project_id", NGX_KANBAN_FIELD_STRING, 1, 1, 64, NULL, NULL },
    { "kind", NGX_KANBAN_FIELD_STRING, 1, 1, 64, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* the analysis's id goes 4th, for the job (no event: sql->event NULL);
 * whether the month's AI budget is spent 3rd when it is made (051) */
static ngx_kanban_sql_t  ngx_kanban_insights_create = {
    ngx_kanban_pg_stmt("insights_create",
    "WITH b AS (SELECT $2::jsonb j),"
    "     ok AS (SELECT j->>'kind' IN ('executive_summary', 'risk_assessment',"
    "                                  'progress_analysis', 'recommendations')"
    "                   AND (j->>'project_id' = 'portfolio'"
    "                        OR EXISTS (SELECT 1 FROM projects p"
    "                                    WHERE p.id::text"
    "                                          = lower(j->>'project_id')))"
    "                   AS yes FROM b),"
    "     i AS (INSERT INTO insights (project_id, kind, created_by)"
    "           SELECT CASE WHEN j->>'project_id' = 'portfolio' THEN NULL"
    "                       ELSE (j->>'project_id')::uuid END,"
    "                  j->>'kind', $1::uuid"
    "             FROM b, ok WHERE ok.yes"
    "           RETURNING *)"
    " SELECT CASE WHEN ok.yes THEN 202 ELSE 422 END,"
    "        CASE WHEN ok.yes"
    "             THEN (SELECT json_build_object('id', i.id,"
    "                                            'status', i.status)::text"
    "                     FROM i)"
    "             ELSE 'validation_failed' END,"
    "        CASE WHEN ok.yes THEN ai_budget_exhausted()::text"
    "             ELSE 'kind is executive_summary, risk_assessment,"
    " progress_analysis or recommendations; project_id a project''s id or"
    " \"portfolio\".' END,"
    "        (SELECT id FROM i)"
    "   FROM ok"),
    { "actor", "body", NULL },
    NULL
};

/* an analysis its worker never finished is failed here (029) */
static ngx_kanban_sql_t  ngx_kanban_insights_get = {
    ngx_kanban_pg_stmt("insights_get",
    "SELECT 200, j FROM insight_read($1::uuid) j WHERE j IS NOT NULL"),
    { "uuid:id", NULL },
    NULL
};

#define ngx_kanban_insights_latest(name, kind)                                \
    static ngx_kanban_sql_t  ngx_kanban_insights_##name = {                   \
        ngx_kanban_pg_stmt("insights_" #name,                                 \
        "SELECT 200, insight_json(i) FROM insights i"                         \
        " WHERE i.project_id = $1::uuid AND i.kind = '" kind "'"              \
        "   AND i.status = 'completed'"                                       \
        " ORDER BY i.completed_at DESC LIMIT 1"),                             \
        { "uuid:id", NULL },                                                  \
        NULL                                                                  \
    }

ngx_kanban_insights_latest(summary, "executive_summary");
ngx_kanban_insights_latest(risks, "risk_assessment");
ngx_kanban_insights_latest(progress, "progress_analysis");

/* the portfolio's own (project_id NULL): what its dashboard shows first */
static ngx_kanban_sql_t  ngx_kanban_insights_portfolio_summary = {
    ngx_kanban_pg_stmt("insights_portfolio_summary",
    "SELECT 200, insight_json(i) FROM insights i"
    " WHERE i.project_id IS NULL AND i.kind = 'executive_summary'"
    "   AND i.status = 'completed'"
    " ORDER BY i.completed_at DESC LIMIT 1"),
    { NULL },
    NULL
};


/* API.md's roles: insights are "full" to managers, "read" to contributors */
#define ngx_kanban_insights_route(method, pattern, access, handler, fields,   \
                                  sql)                                        \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access,                        \
      handler, fields, ngx_null_string, sql }

static ngx_kanban_route_t  ngx_kanban_insights_routes[] = {

    ngx_kanban_insights_route(NGX_HTTP_POST, "/api/v1/insights/analyze",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_insights_analyze_handler,
        ngx_kanban_insights_fields, &ngx_kanban_insights_create),

    ngx_kanban_insights_route(NGX_HTTP_GET, "/api/v1/insights/analyze/{id}",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_insights_get),

    ngx_kanban_insights_route(NGX_HTTP_GET,
        "/api/v1/insights/portfolio/summary",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_insights_portfolio_summary),

    ngx_kanban_insights_route(NGX_HTTP_GET,
        "/api/v1/insights/projects/{id}/summary",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_insights_summary),

    ngx_kanban_insights_route(NGX_HTTP_GET,
        "/api/v1/insights/projects/{id}/risks",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_insights_risks),

    ngx_kanban_insights_route(NGX_HTTP_GET,
        "/api/v1/insights/projects/{id}/progress-insights",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_insights_progress),
};


static ngx_int_t
ngx_kanban_insights_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_insights_routes,
                                 sizeof(ngx_kanban_insights_routes)
                                 / sizeof(ngx_kanban_route_t));
}


static ngx_int_t
ngx_kanban_insights_analyze_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_sql_t       *sql;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    sql = ctx->route->data;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &sql->stmt, ngx_kanban_insights_created, 2,
                             &ctx->identity->user_id, &ctx->raw_body)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* Stored: the job starts here and now, the request is answered at once. */

static void
ngx_kanban_insights_created(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    u_char            *p;
    ngx_str_t          id, location;
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1
        || PQnfields(q->result) < 4 || PQgetisnull(q->result, 0, 3))
    {
        ngx_kanban_sql_answer(r, q);
        return;
    }

    id.data = (u_char *) PQgetvalue(q->result, 0, 3);
    id.len = PQgetlength(q->result, 0, 3);

    if (ngx_kanban_insights_start(ctx->tenant, &id, &ctx->identity->user_id)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: insight %V not started", &id);
    }

    if (ngx_strcmp(PQgetvalue(q->result, 0, 2), "true") != 0) {
        ngx_kanban_sql_answer(r, q);
        return;
    }

    /* the rules answer; the model, whose budget is spent, does not */
    location.len = sizeof("/api/v1/insights/analyze/") - 1 + id.len;
    location.data = ngx_pnalloc(r->pool, location.len);
    if (location.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(location.data, "/api/v1/insights/analyze/",
                   sizeof("/api/v1/insights/analyze/") - 1);
    ngx_memcpy(p, id.data, id.len);

    if (ngx_kanban_add_header(r, "Location", &location) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
        ngx_kanban_problem(r, NGX_KANBAN_ERR_AI_BUDGET,
                           "The workspace's AI token budget for this month "
                           "is spent: the analysis at Location is made from "
                           "the rules alone."));
}
