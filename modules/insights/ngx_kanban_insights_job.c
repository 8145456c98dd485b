
/*
 * An analysis, run by the worker that stored it, in a pool of its own:
 *
 *   1. insight_start(): it is running; the rules' result (risks with their
 *      evidence, the summary from the data, the figures) and the compact
 *      digest the LLM may see, from PostgreSQL;
 *   2. the digest to a model through the LLM gateway (modules/ai/: the
 *      workspace's model or the installation's, its budget, retries, the
 *      answer checked against the schema below: summary, risks,
 *      recommendations); an answer that is late, missing or malformed,
 *      or none at all, is said so, and the rules stand;
 *   3. insight_finish(): stored and its event added (insight.generated),
 *      then Redis told, so that streams and webhooks learn of it at once.
 *
 * Nothing here waits: PostgreSQL and the model are both on the event loop.
 */

/* SQL: sql/tenant/020_insights.sql */
#include "ngx_kanban_insights.h"
#include "ngx_kanban_redis.h"


#define NGX_KANBAN_INSIGHTS_PROMPT                                            \
    "You analyse software project portfolios for executives. You are given "  \
    "a JSON digest: projects with their figures and the risk rules they "     \
    "trigger. Use only these figures. Answer with one JSON object and "      \
    "nothing else: {\"summary\": string, at most 1500 characters, "           \
    "\"risks\": [{\"title\": string, \"severity\": \"low\" | \"medium\" | "   \
    "\"high\", \"rationale\": string}], \"recommendations\": [string]}, at "  \
    "most 10 risks and 10 recommendations."


typedef struct {
    ngx_pool_t                *pool;
    ngx_kanban_pg_db_t         db;
    ngx_str_t                  slug;
    ngx_str_t                  id;
    ngx_str_t                  user_id;        /* who asked: metered */
    ngx_str_t                  result;         /* the rules' part */
    ngx_str_t                  digest;         /* {kind, digest} */
    ngx_str_t                  llm;            /* {"status": ...} */
    ngx_str_t                  model;          /* the LLM's, when it answered */
} ngx_kanban_insights_job_t;


static char *ngx_kanban_insights_severity(ngx_str_t *value, char **message);


/* the answer's schema: only these fields, of these sizes */
static ngx_kanban_field_t  ngx_kanban_insights_risk_fields[] = {
    { "title", NGX_KANBAN_FIELD_STRING, 1, 1, 500, NULL, NULL },
    { "severity", NGX_KANBAN_FIELD_STRING, 1, 1, 6, NULL,
      ngx_kanban_insights_severity },
    { "rationale", NGX_KANBAN_FIELD_STRING, 1, 0, 2000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_insights_risk[] = {
    { "", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0, ngx_kanban_insights_risk_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_insights_recommendation[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 1000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_insights_answer[] = {
    { "summary", NGX_KANBAN_FIELD_STRING, 1, 1, 4000, NULL, NULL },
    { "risks", NGX_KANBAN_FIELD_ARRAY, 1, 0, 20, ngx_kanban_insights_risk,
      NULL },
    { "recommendations", NGX_KANBAN_FIELD_ARRAY, 1, 0, 20,
      ngx_kanban_insights_recommendation, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static void ngx_kanban_insights_started(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_insights_ask(ngx_kanban_insights_job_t *job);
static void ngx_kanban_insights_answered(ngx_kanban_ai_call_t *call);
static ngx_int_t ngx_kanban_insights_llm(ngx_kanban_insights_job_t *job,
    char *status, ngx_str_t *model, char *error, ngx_str_t *answer);
static void ngx_kanban_insights_finish(ngx_kanban_insights_job_t *job);
static void ngx_kanban_insights_finished(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_insights_start_stmt =
    ngx_kanban_pg_stmt("insights_start",
    "SELECT result, digest FROM insight_start($1::uuid)");

static ngx_kanban_pg_stmt_t  ngx_kanban_insights_finish_stmt =
    ngx_kanban_pg_stmt("insights_finish",
    "SELECT insight_finish($1::uuid,"
    "    $2::jsonb || jsonb_build_object('llm', $3::jsonb), $4)");


ngx_int_t
ngx_kanban_insights_start(ngx_kanban_tenant_t *tenant, ngx_str_t *id,
    ngx_str_t *user_id)
{
    u_char                     *p;
    ngx_pool_t                 *pool;
    ngx_kanban_pg_db_t          db;
    ngx_kanban_pg_query_t      *q;
    ngx_kanban_insights_job_t  *job;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_kanban_insights_job_t));
    if (job == NULL) {
        goto failed;
    }

    ngx_kanban_pg_tenant_db(tenant, &db);

    p = ngx_pnalloc(pool, db.dsn.len + db.name.len + tenant->slug.len
                          + id->len + user_id->len);
    if (p == NULL) {
        goto failed;
    }

    job->pool = pool;

    job->db.dsn.data = p;
    job->db.dsn.len = db.dsn.len;
    p = ngx_cpymem(p, db.dsn.data, db.dsn.len);

    job->db.name.data = p;
    job->db.name.len = db.name.len;
    p = ngx_cpymem(p, db.name.data, db.name.len);

    job->slug.data = p;
    job->slug.len = tenant->slug.len;
    p = ngx_cpymem(p, tenant->slug.data, tenant->slug.len);

    job->id.data = p;
    job->id.len = id->len;
    p = ngx_cpymem(p, id->data, id->len);

    job->user_id.data = p;
    job->user_id.len = user_id->len;
    ngx_memcpy(p, user_id->data, user_id->len);

    q = ngx_kanban_pg_query_background(pool, &job->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = job;

    if (ngx_kanban_pg_run(q, &ngx_kanban_insights_start_stmt,
                          ngx_kanban_insights_started, 1, &job->id)
        != NGX_OK)
    {
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);
    return NGX_ERROR;
}


static void
ngx_kanban_insights_started(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_insights_job_t  *job;

    job = q->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        if (q->error != NGX_KANBAN_PG_OK) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "kanban: insight %V not made: %s", &job->id,
                          q->result ? PQresultErrorMessage(q->result)
                                    : "PostgreSQL is unavailable");
        }

        ngx_destroy_pool(job->pool);
        return;
    }

    job->result.len = PQgetlength(q->result, 0, 0);
    job->digest.len = PQgetlength(q->result, 0, 1);
    job->result.data = ngx_pnalloc(job->pool, job->result.len);
    job->digest.data = ngx_pnalloc(job->pool, job->digest.len);

    if (job->result.data == NULL || job->digest.data == NULL) {
        ngx_destroy_pool(job->pool);
        return;
    }

    ngx_memcpy(job->result.data, PQgetvalue(q->result, 0, 0),
               job->result.len);
    ngx_memcpy(job->digest.data, PQgetvalue(q->result, 0, 1),
               job->digest.len);

    if (ngx_kanban_insights_ask(job) != NGX_OK) {
        if (ngx_kanban_insights_llm(job, "failed", NULL,
                                    "the request could not be made", NULL)
            != NGX_OK)
        {
            ngx_destroy_pool(job->pool);
            return;
        }

        ngx_kanban_insights_finish(job);
    }
}


/* The digest to the workspace's model, through the gateway. */

static ngx_int_t
ngx_kanban_insights_ask(ngx_kanban_insights_job_t *job)
{
    ngx_kanban_ai_call_t  *call;

    call = ngx_kanban_ai_call_create(&job->db, "insights", &job->user_id);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->instruction = NGX_KANBAN_INSIGHTS_PROMPT;
    call->data = job->digest;
    call->schema = ngx_kanban_insights_answer;
    call->handler = ngx_kanban_insights_answered;
    call->ctx = job;

    if (ngx_kanban_ai_call_start(call) != NGX_OK) {
        ngx_kanban_ai_call_destroy(call);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the gateway's word, kept in the job's pool (the call's goes now) */

static void
ngx_kanban_insights_answered(ngx_kanban_ai_call_t *call)
{
    ngx_kanban_insights_job_t  *job;

    job = call->ctx;

    if (ngx_kanban_insights_llm(job, ngx_kanban_ai_status_name(call->status),
                                call->model.len ? &call->model : NULL,
                                call->error,
                                call->status == NGX_KANBAN_AI_COMPLETED
                                ? &call->answer : NULL)
        != NGX_OK)
    {
        ngx_destroy_pool(job->pool);
        return;
    }

    if (call->status == NGX_KANBAN_AI_COMPLETED) {
        job->model.data = ngx_pstrdup(job->pool, &call->model);
        job->model.len = job->model.data ? call->model.len : 0;
    }

    ngx_kanban_insights_finish(job);
}


static char *
ngx_kanban_insights_severity(ngx_str_t *value, char **message)
{
    if ((value->len == 3 && ngx_strncmp(value->data, "low", 3) == 0)
        || (value->len == 6 && ngx_strncmp(value->data, "medium", 6) == 0)
        || (value->len == 4 && ngx_strncmp(value->data, "high", 4) == 0))
    {
        return NULL;
    }

    *message = "A risk's severity is low, medium or high.";
    return "invalid_value";
}


/* {"status", "model"?, "error"?, "answer"?} */

static ngx_int_t
ngx_kanban_insights_llm(ngx_kanban_insights_job_t *job, char *status,
    ngx_str_t *model, char *error, ngx_str_t *answer)
{
    ngx_kanban_jw_t  jw;

    if (ngx_kanban_jw_init(&jw, job->pool,
                           256 + (answer ? answer->len : 0)
                           + (model ? model->len * 6 : 0)
                           + (error ? ngx_strlen(error) * 6 : 0))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_cstring(&jw, status);

    if (model) {
        ngx_kanban_jw_key(&jw, "model");
        ngx_kanban_jw_string(&jw, model);
    }

    if (error) {
        ngx_kanban_jw_key(&jw, "error");
        ngx_kanban_jw_cstring(&jw, error);
    }

    if (answer) {
        ngx_kanban_jw_key(&jw, "answer");
        ngx_kanban_jw_raw(&jw, answer);
    }

    ngx_kanban_jw_close(&jw, '}');

    return ngx_kanban_jw_result(&jw, &job->llm);
}


static void
ngx_kanban_insights_finish(ngx_kanban_insights_job_t *job)
{
    ngx_kanban_pg_query_t  *q;

    q = ngx_kanban_pg_query_background(job->pool, &job->db);
    if (q == NULL) {
        ngx_destroy_pool(job->pool);
        return;
    }

    q->data = job;

    if (ngx_kanban_pg_run(q, &ngx_kanban_insights_finish_stmt,
                          ngx_kanban_insights_finished, 4, &job->id,
                          &job->result, &job->llm,
                          job->model.len ? &job->model : NULL)
        != NGX_OK)
    {
        ngx_destroy_pool(job->pool);
    }
}


static void
ngx_kanban_insights_finished(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    u_char                     *p;
    ngx_str_t                   channel, message;
    ngx_kanban_insights_job_t  *job;

    job = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: insight %V not stored: %s", &job->id,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        ngx_destroy_pool(job->pool);
        return;
    }

    /* the streams and webhooks read the event log when told */
    p = ngx_pnalloc(job->pool, sizeof("kanban:events:") + job->slug.len
                               + sizeof("{\"type\":\"insight.generated\","
                                        "\"data\":{\"id\":\"\"}}")
                               + job->id.len);
    if (p) {
        channel.data = p;
        p = ngx_sprintf(p, "kanban:events:%V", &job->slug);
        channel.len = p - channel.data;

        message.data = p;
        p = ngx_sprintf(p, "{\"type\":\"insight.generated\","
                        "\"data\":{\"id\":\"%V\"}}", &job->id);
        message.len = p - message.data;

        (void) ngx_kanban_redis_command(NULL, NULL, "PUBLISH %b %b",
                                        channel.data, channel.len,
                                        message.data, message.len);
    }

    ngx_destroy_pool(job->pool);
}
