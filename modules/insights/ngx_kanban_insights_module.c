
/*
 * ngx_http_kanban_insights_module: the LLM's directives and the insights
 * API, a route table of the module's own:
 *
 *   POST /api/v1/insights/analyze             202 {id, status: "pending"}
 *   GET  /api/v1/insights/analyze/{id}        the analysis, as it stands
 *   GET  /api/v1/insights/projects/{id}/summary, /risks,
 *        /progress-insights                   the latest of that kind
 *
 * An analysis is stored pending in the transaction of the request; once
 * that has committed, this worker runs it (ngx_kanban_insights_job.c).
 */

/* SQL: sql/tenant/005_kanban.sql, 020_insights.sql,
 * 029_insights_interrupted.sql */
#include "ngx_kanban_insights.h"


static void *ngx_kanban_insights_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_insights_init_conf(ngx_conf_t *cf, void *conf);
static char *ngx_kanban_insights_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_kanban_insights_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_insights_analyze_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_insights_created(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_command_t  ngx_kanban_insights_commands[] = {

    { ngx_string("kanban_insights_llm_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_insights_conf_t, llm_url),
      NULL },

    { ngx_string("kanban_insights_llm_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_insights_conf_t, llm_model),
      NULL },

    { ngx_string("kanban_insights_llm_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_insights_key_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_insights_llm_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_insights_conf_t, llm_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_insights_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_insights_postconfiguration, /* postconfiguration */

    ngx_kanban_insights_create_conf,       /* create main configuration */
    ngx_kanban_insights_init_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_insights_module = {
    NGX_MODULE_V1,
    &ngx_kanban_insights_module_ctx,       /* module context */
    ngx_kanban_insights_commands,          /* module directives */
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


/* the analysis's id goes 4th, for the job (no event: sql->event NULL) */
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
    "        CASE WHEN ok.yes THEN NULL"
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


ngx_kanban_insights_conf_t *
ngx_kanban_insights_conf(void)
{
    if (ngx_cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NULL;
    }

    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_insights_module);
}


static void *
ngx_kanban_insights_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_insights_conf_t  *iscf;

    iscf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_insights_conf_t));
    if (iscf == NULL) {
        return NULL;
    }

    iscf->llm_timeout = NGX_CONF_UNSET_MSEC;

    return iscf;
}


static char *
ngx_kanban_insights_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_insights_conf_t  *iscf = conf;

    ngx_conf_init_msec_value(iscf->llm_timeout, 20000);

    /* a read gives up an analysis unfinished after 5 minutes (029) */
    if (iscf->llm_timeout > 240000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_insights_llm_timeout is at most 240s");
        return NGX_CONF_ERROR;
    }

    if (iscf->llm_model.len == 0) {
        ngx_str_set(&iscf->llm_model, "gpt-4o-mini");
    }

    if (iscf->llm_url.len
        && ngx_strncmp(iscf->llm_url.data, "http://", 7) != 0
        && ngx_strncmp(iscf->llm_url.data, "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_insights_llm_url must be http(s)");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the API key, the file's first line */

static char *
ngx_kanban_insights_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_insights_conf_t  *iscf = conf;

    ngx_str_t   *value, name, data;

    value = cf->args->elts;
    name = value[1];

    if (ngx_kanban_conf_read_file(cf, &name, 64 * 1024, cf->pool, &data)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (data.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" is empty", &name);
        return NGX_CONF_ERROR;
    }

    /* its first line, at most 1024 bytes */
    iscf->llm_key.data = data.data;
    iscf->llm_key.len = 0;

    while (iscf->llm_key.len < ngx_min(data.len, 1024)
           && data.data[iscf->llm_key.len] != '\n'
           && data.data[iscf->llm_key.len] != '\r')
    {
        iscf->llm_key.len++;
    }

    return NGX_CONF_OK;
}


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
    ngx_str_t          id;
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (q->error == NGX_KANBAN_PG_OK && PQntuples(q->result) == 1
        && PQnfields(q->result) > 3 && !PQgetisnull(q->result, 0, 3))
    {
        id.data = (u_char *) PQgetvalue(q->result, 0, 3);
        id.len = PQgetlength(q->result, 0, 3);

        if (ngx_kanban_insights_start(ngx_kanban_insights_conf(),
                                      ctx->tenant, &id) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kanban: insight %V not started", &id);
        }
    }

    ngx_kanban_sql_answer(r, q);
}
