
/*
 * The gateway's API, for a workspace's admins:
 *
 *   GET/PUT /api/v1/ai/settings   the workspace's model, or the
 *                                 installation's; the key write-only
 *                                 (api_key_set), sealed before it is stored
 *   GET     /api/v1/ai/usage      ?from&to: per day, feature and person,
 *                                 with the month's budget
 */

/* SQL: sql/tenant/051_ai_gateway.sql */
#include "ngx_kanban_ai.h"
#include "ngx_kanban_webhooks.h"


static ngx_int_t ngx_kanban_ai_settings_get_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_ai_settings_put_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_ai_installation(ngx_http_request_t *r,
    ngx_str_t **v);
static char *ngx_kanban_ai_provider_check(ngx_str_t *value, char **message);
static char *ngx_kanban_ai_feature_check(ngx_str_t *value, char **message);
static char *ngx_kanban_ai_url_check(ngx_str_t *value, char **message);


static ngx_kanban_field_t  ngx_kanban_ai_feature_item[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 40, NULL,
      ngx_kanban_ai_feature_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_ai_settings_fields[] = {
    { "provider", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_OPTIONAL, 1, 20, NULL,
      ngx_kanban_ai_provider_check },
    { "base_url", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_OPTIONAL, 10, 2000,
      NULL, ngx_kanban_ai_url_check },
    { "model", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_OPTIONAL, 1, 200, NULL,
      NULL },
    { "api_key", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_OPTIONAL, 1, 1024,
      NULL, NULL },
    { "monthly_token_budget", NGX_KANBAN_FIELD_INTEGER, NGX_KANBAN_OPTIONAL,
      0, 1000000000000LL, NULL, NULL },
    { "enabled_features", NGX_KANBAN_FIELD_ARRAY, NGX_KANBAN_OPTIONAL, 0, 3,
      ngx_kanban_ai_feature_item, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_ai_settings_get_stmt =
    ngx_kanban_pg_stmt("ai_settings_get",
    "SELECT 200, ai_settings_json($1, $2, $3::boolean)::text");

/* $1 actor, $2 body, $3 key sent, $4 the key sealed, $5.. the default */
static ngx_kanban_pg_stmt_t  ngx_kanban_ai_settings_put_stmt =
    ngx_kanban_pg_stmt("ai_settings_put",
    "SELECT 200, ai_settings_put($1::uuid, $2::jsonb, $3::boolean, $4,"
    "                            $5, $6, $7::boolean)::text");

/* the workspace's month so far when no range is asked */
static ngx_kanban_sql_t  ngx_kanban_ai_usage = {
    ngx_kanban_pg_stmt("ai_usage",
    "SELECT CASE WHEN ok THEN 200 ELSE 422 END,"
    "       CASE WHEN ok THEN ai_usage_json(f, t)::text"
    "            ELSE 'validation_failed' END,"
    "       CASE WHEN ok THEN NULL"
    "            ELSE 'to is on or after from, at most 366 days later.' END"
    "  FROM (SELECT f, t, t >= f AND t - f <= 366 AS ok"
    "          FROM (SELECT coalesce($1::date, date_trunc('month',"
    "                                 workspace_today())::date) f,"
    "                       coalesce($2::date, workspace_today()) t) x) y"),
    { "query_date:from", "query_date:to", NULL },
    NULL
};


#define ngx_kanban_ai_route(method, pattern, handler, fields, sql)            \
    { method, pattern, NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_ADMIN,       \
      handler, fields, ngx_null_string, sql }

ngx_kanban_route_t  ngx_kanban_ai_routes[] = {

    ngx_kanban_ai_route(NGX_HTTP_GET, "/api/v1/ai/settings",
        ngx_kanban_ai_settings_get_handler, NULL, NULL),

    ngx_kanban_ai_route(NGX_HTTP_PUT, "/api/v1/ai/settings",
        ngx_kanban_ai_settings_put_handler, ngx_kanban_ai_settings_fields,
        NULL),

    ngx_kanban_ai_route(NGX_HTTP_GET, "/api/v1/ai/usage",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_ai_usage),
};

ngx_uint_t  ngx_kanban_ai_nroutes =
    sizeof(ngx_kanban_ai_routes) / sizeof(ngx_kanban_route_t);


static ngx_int_t
ngx_kanban_ai_settings_get_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t              *v[3];
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (ngx_kanban_ai_installation(r, v) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_ai_settings_get_stmt,
                             ngx_kanban_sql_answer, 3, v[0], v[1], v[2])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_kanban_ai_settings_put_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t              *v[3], *provider, *key, *sealed, sent;
    ngx_array_t            *errors;
    ngx_kanban_json_t      *k;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    /* a model of the workspace's own is named; OpenAI-compatible servers
     * are anywhere, Anthropic's is where it is unless said otherwise */
    provider = ngx_kanban_json_string(ctx->body, "provider");

    if (provider && !(provider->len == 4
                      && ngx_strncmp(provider->data, "none", 4) == 0))
    {
        errors = ngx_array_create(r->pool, 2,
                                  sizeof(ngx_kanban_field_error_t));
        if (errors == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_kanban_json_string(ctx->body, "model") == NULL) {
            (void) ngx_kanban_field_error(errors, NULL, "model", "required",
                                          "A provider needs a model.");
        }

        if (provider->len == 6
            && ngx_strncmp(provider->data, "openai", 6) == 0
            && ngx_kanban_json_string(ctx->body, "base_url") == NULL)
        {
            (void) ngx_kanban_field_error(errors, NULL, "base_url",
                                          "required",
                                          "An OpenAI-compatible server "
                                          "needs its base URL.");
        }

        if (errors->nelts) {
            return ngx_kanban_problem_errors(r, NGX_KANBAN_ERR_VALIDATION,
                                             NULL, errors);
        }
    }

    k = ngx_kanban_json_get(ctx->body, "api_key");
    key = ngx_kanban_json_string(ctx->body, "api_key");
    sealed = NULL;

    if (key) {
        sealed = ngx_palloc(r->pool, sizeof(ngx_str_t));
        if (sealed == NULL
            || ngx_kanban_webhooks_seal(r->pool, key, sealed) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (k) {
        ngx_str_set(&sent, "true");
    } else {
        ngx_str_set(&sent, "false");
    }

    if (ngx_kanban_ai_installation(r, v) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_ai_settings_put_stmt,
                             ngx_kanban_sql_answer, 7,
                             &ctx->identity->user_id, &ctx->raw_body, &sent,
                             sealed, v[0], v[1], v[2])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* the installation's default as the settings show it: its provider and
 * model, and whether it has one at all; never its URL or key */

static ngx_int_t
ngx_kanban_ai_installation(ngx_http_request_t *r, ngx_str_t **v)
{
    ngx_kanban_ai_conf_t  *aicf;

    static ngx_str_t  openai = ngx_string("openai");
    static ngx_str_t  anthropic = ngx_string("anthropic");
    static ngx_str_t  yes = ngx_string("true");
    static ngx_str_t  no = ngx_string("false");

    aicf = ngx_kanban_ai_conf();
    if (aicf == NULL) {
        return NGX_ERROR;
    }

    if (aicf->llm_url.len == 0) {
        v[0] = NULL;
        v[1] = NULL;
        v[2] = &no;
        return NGX_OK;
    }

    v[0] = aicf->provider == NGX_KANBAN_AI_ANTHROPIC ? &anthropic : &openai;
    v[1] = &aicf->llm_model;
    v[2] = &yes;

    return NGX_OK;
}


static char *
ngx_kanban_ai_provider_check(ngx_str_t *value, char **message)
{
    if ((value->len == 6 && ngx_strncmp(value->data, "openai", 6) == 0)
        || (value->len == 9
            && ngx_strncmp(value->data, "anthropic", 9) == 0)
        || (value->len == 4 && ngx_strncmp(value->data, "none", 4) == 0))
    {
        return NULL;
    }

    *message = "provider is openai, anthropic or none (null: the "
               "installation's default).";
    return "invalid_value";
}


static char *
ngx_kanban_ai_feature_check(ngx_str_t *value, char **message)
{
    if ((value->len == 8 && ngx_strncmp(value->data, "insights", 8) == 0)
        || (value->len == 7 && ngx_strncmp(value->data, "updates", 7) == 0)
        || (value->len == 6 && ngx_strncmp(value->data, "agents", 6) == 0))
    {
        return NULL;
    }

    *message = "A feature is insights, updates or agents.";
    return "invalid_value";
}


/* as a webhook's URL: http(s), a host, no user; no address that is not
 * public unless kanban_ai_allow_private says so */

static char *
ngx_kanban_ai_url_check(ngx_str_t *value, char **message)
{
    char                  *code;
    ngx_str_t              host;
    ngx_kanban_ai_conf_t  *aicf;

    code = ngx_kanban_webhooks_url_host(value, &host, message);
    if (code) {
        return code;
    }

    aicf = ngx_kanban_ai_conf();
    if (aicf && aicf->allow_private) {
        return NULL;
    }

    code = ngx_kanban_webhooks_host_check(&host, message);
    if (code) {
        *message = "The model may not be asked at a private, loopback, "
                   "link-local or reserved address.";
    }

    return code;
}
