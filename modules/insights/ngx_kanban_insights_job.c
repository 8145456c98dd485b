
/*
 * An analysis, run by the worker that stored it, in a pool of its own:
 *
 *   1. insight_start(): it is running; the rules' result (risks with their
 *      evidence, the summary from the data, the figures) and the compact
 *      digest the LLM may see, from PostgreSQL;
 *   2. when kanban_insights_llm_url is set, a chat completion through the
 *      worker's HTTP client, its answer parsed and checked against the
 *      shape asked for (summary, risks, recommendations); an answer that
 *      is late, missing or malformed is said so, and the rules stand;
 *   3. insight_finish(): stored and its event added (insight.generated),
 *      then Redis told, so that streams and webhooks learn of it at once.
 *
 * Nothing here waits: PostgreSQL and the LLM are both on the event loop.
 */

/* SQL: sql/tenant/020_insights.sql */
#include "ngx_kanban_insights.h"
#include "ngx_kanban_json.h"
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
    ngx_str_t                  result;         /* the rules' part */
    ngx_str_t                  digest;         /* {kind, digest} */
    ngx_str_t                  llm;            /* {"status": ...} */
    ngx_str_t                  model;          /* the LLM's, when it answered */
    ngx_kanban_insights_conf_t  *conf;         /* passed in: the module's */
} ngx_kanban_insights_job_t;


static void ngx_kanban_insights_started(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_insights_ask(ngx_kanban_insights_job_t *job);
static void ngx_kanban_insights_answered(ngx_kanban_http_req_t *hr);
static char *ngx_kanban_insights_check(ngx_kanban_insights_job_t *job,
    ngx_str_t *body, ngx_str_t *answer);
static char *ngx_kanban_insights_check_answer(ngx_kanban_json_t *root);
static ngx_int_t ngx_kanban_insights_llm(ngx_kanban_insights_job_t *job,
    char *status, char *error, ngx_str_t *answer);
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
ngx_kanban_insights_start(ngx_kanban_insights_conf_t *iscf,
    ngx_kanban_tenant_t *tenant, ngx_str_t *id)
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
                          + id->len);
    if (p == NULL) {
        goto failed;
    }

    job->pool = pool;
    job->conf = iscf;

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
    ngx_memcpy(p, id->data, id->len);

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
    ngx_kanban_insights_job_t   *job;
    ngx_kanban_insights_conf_t  *iscf;

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

    iscf = job->conf;

    if (iscf == NULL || iscf->llm_url.len == 0) {
        if (ngx_kanban_insights_llm(job, "not_configured", NULL, NULL)
            != NGX_OK)
        {
            ngx_destroy_pool(job->pool);
            return;
        }

        ngx_kanban_insights_finish(job);
        return;
    }

    if (ngx_kanban_insights_ask(job) != NGX_OK) {
        if (ngx_kanban_insights_llm(job, "failed",
                                    "the request could not be made", NULL)
            != NGX_OK)
        {
            ngx_destroy_pool(job->pool);
            return;
        }

        ngx_kanban_insights_finish(job);
    }
}


/* The digest to the operator's LLM (ngx_kanban_insights_llm.c). */

static ngx_int_t
ngx_kanban_insights_ask(ngx_kanban_insights_job_t *job)
{
    ngx_kanban_http_req_t  *hr;

    hr = ngx_kanban_insights_llm_request(job->conf, job->pool,
                                         ngx_cycle->log,
                                         NGX_KANBAN_INSIGHTS_PROMPT,
                                         &job->digest,
                                         job->digest.len + 2048, 256 * 1024);
    if (hr == NULL) {
        return NGX_ERROR;
    }

    hr->handler = ngx_kanban_insights_answered;
    hr->data = job;

    return ngx_kanban_http_send(hr);
}


static void
ngx_kanban_insights_answered(ngx_kanban_http_req_t *hr)
{
    char                       *error;
    u_char                     *p;
    ngx_str_t                   answer;
    ngx_kanban_insights_job_t  *job;

    job = hr->data;

    if (hr->error == NGX_KANBAN_HTTP_TIMEDOUT) {
        error = "the LLM did not answer in time";
        p = (u_char *) "timed_out";

    } else if (hr->error != NGX_KANBAN_HTTP_OK) {
        error = (char *) ngx_pnalloc(job->pool, hr->error_text.len + 1);
        if (error) {
            ngx_cpystrn((u_char *) error, hr->error_text.data,
                        hr->error_text.len + 1);
        }

        p = (u_char *) "failed";

    } else if (hr->status != NGX_HTTP_OK) {
        error = (char *) ngx_pnalloc(job->pool, 64);
        if (error) {
            ngx_sprintf((u_char *) error, "the LLM answered HTTP %ui%Z",
                        hr->status);
        }

        p = (u_char *) "failed";

    } else {
        error = ngx_kanban_insights_check(job, &hr->response, &answer);
        p = (u_char *) (error ? "invalid" : "completed");
    }

    if (error) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: insight %V: %s: the rules stand alone",
                      &job->id, error);
    }

    if (ngx_kanban_insights_llm(job, (char *) p, error,
                                error ? NULL : &answer)
        != NGX_OK)
    {
        ngx_destroy_pool(job->pool);
        return;
    }

    if (error == NULL) {
        job->model = job->conf->llm_model;
    }

    ngx_kanban_insights_finish(job);
}


/* The answer's message content, checked: NULL when it is what was asked
 * for (then in answer), else what is wrong. */

static char *
ngx_kanban_insights_check(ngx_kanban_insights_job_t *job, ngx_str_t *body,
    ngx_str_t *answer)
{
    char               *err;
    ngx_str_t          *content;
    ngx_kanban_json_t  *root, *choices, *message, *inner;

    if (ngx_kanban_json_parse(job->pool, body->data, body->len, &root, &err)
        != NGX_OK || root->type != NGX_KANBAN_JSON_OBJECT)
    {
        return "the LLM's answer is not JSON";
    }

    choices = ngx_kanban_json_get(root, "choices");
    if (choices == NULL || choices->type != NGX_KANBAN_JSON_ARRAY
        || choices->first == NULL)
    {
        return "the LLM's answer has no choices";
    }

    message = ngx_kanban_json_get(choices->first, "message");
    content = message ? ngx_kanban_json_string(message, "content") : NULL;
    if (content == NULL) {
        return "the LLM's answer has no message";
    }

    if (ngx_kanban_json_parse(job->pool, content->data, content->len, &inner,
                              &err)
        != NGX_OK)
    {
        return "the LLM's message is not JSON";
    }

    err = ngx_kanban_insights_check_answer(inner);
    if (err) {
        return err;
    }

    *answer = *content;

    return NULL;
}


static char *
ngx_kanban_insights_check_answer(ngx_kanban_json_t *root)
{
    ngx_uint_t          n;
    ngx_kanban_json_t  *v, *e, *f;

    if (root->type != NGX_KANBAN_JSON_OBJECT) {
        return "the LLM's message is not an object";
    }

    for (v = root->first; v; v = v->next) {
        if (!(v->key.len == 7 && ngx_strncmp(v->key.data, "summary", 7) == 0)
            && !(v->key.len == 5 && ngx_strncmp(v->key.data, "risks", 5) == 0)
            && !(v->key.len == 15
                 && ngx_strncmp(v->key.data, "recommendations", 15) == 0))
        {
            return "the LLM's message has fields not asked for";
        }
    }

    v = ngx_kanban_json_get(root, "summary");
    if (v == NULL || v->type != NGX_KANBAN_JSON_STRING || v->value.len == 0
        || v->value.len > 4000)
    {
        return "the LLM's summary is missing or too long";
    }

    v = ngx_kanban_json_get(root, "risks");
    if (v == NULL || v->type != NGX_KANBAN_JSON_ARRAY) {
        return "the LLM's risks are not a list";
    }

    for (n = 0, e = v->first; e; e = e->next, n++) {
        if (n == 20 || e->type != NGX_KANBAN_JSON_OBJECT) {
            return "the LLM's risks are too many or not objects";
        }

        f = ngx_kanban_json_get(e, "severity");
        if (f == NULL || f->type != NGX_KANBAN_JSON_STRING
            || !((f->value.len == 3
                  && ngx_strncmp(f->value.data, "low", 3) == 0)
                 || (f->value.len == 6
                     && ngx_strncmp(f->value.data, "medium", 6) == 0)
                 || (f->value.len == 4
                     && ngx_strncmp(f->value.data, "high", 4) == 0)))
        {
            return "a risk's severity is not low, medium or high";
        }

        f = ngx_kanban_json_get(e, "title");
        if (f == NULL || f->type != NGX_KANBAN_JSON_STRING
            || f->value.len == 0 || f->value.len > 500)
        {
            return "a risk has no title";
        }

        f = ngx_kanban_json_get(e, "rationale");
        if (f == NULL || f->type != NGX_KANBAN_JSON_STRING
            || f->value.len > 2000)
        {
            return "a risk has no rationale";
        }
    }

    v = ngx_kanban_json_get(root, "recommendations");
    if (v == NULL || v->type != NGX_KANBAN_JSON_ARRAY) {
        return "the LLM's recommendations are not a list";
    }

    for (n = 0, e = v->first; e; e = e->next, n++) {
        if (n == 20 || e->type != NGX_KANBAN_JSON_STRING
            || e->value.len == 0 || e->value.len > 1000)
        {
            return "a recommendation is not a short text";
        }
    }

    return NULL;
}


/* {"status", "model"?, "error"?, "answer"?} */

static ngx_int_t
ngx_kanban_insights_llm(ngx_kanban_insights_job_t *job, char *status,
    char *error, ngx_str_t *answer)
{
    ngx_kanban_jw_t              jw;
    ngx_kanban_insights_conf_t  *iscf;

    iscf = job->conf;

    if (ngx_kanban_jw_init(&jw, job->pool,
                           256 + (answer ? answer->len : 0)
                           + (error ? ngx_strlen(error) * 6 : 0))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_cstring(&jw, status);

    if (iscf && iscf->llm_url.len) {
        ngx_kanban_jw_key(&jw, "model");
        ngx_kanban_jw_string(&jw, &iscf->llm_model);
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
