
/*
 * The built-in breakdown agent: a task's pending sessions of it are
 * claimed when the task's sessions are read (agent_builtin_claim(), a
 * lease, so one call per session), and each is a call to the LLM gateway
 * in a pool of its own that holds up no request: the task's key, title
 * and description go as data; the answer must be the schema below
 * (ngx_kanban_validate), else nothing of it is written. Its outcome is
 * written by agent_breakdown_answer(): the proposal as an elicitation, or
 * an error that says why (no model, the budget spent, a bad answer), and
 * Redis is told so that the streams read the event log at once. A
 * person's "yes" to the proposal creates the subtasks, in SQL.
 */

/* SQL: sql/tenant/057_agents.sql */
#include "ngx_kanban_agents.h"
#include "ngx_kanban_ai.h"
#include "ngx_kanban_redis.h"


#define NGX_KANBAN_AGENTS_BREAKDOWN_PROMPT                                    \
    "You break one software task into subtasks. You are given the task as "   \
    "JSON data: its key, title and description. Answer with one JSON "        \
    "object and nothing else: {\"subtasks\": [{\"title\": string, at most "   \
    "200 characters, \"estimate_minutes\": integer, \"acceptance_criteria\": " \
    "string, at most 1000 characters}]}, 2 to 8 subtasks."


typedef struct {
    ngx_pool_t                *pool;
    ngx_kanban_pg_db_t         db;
    ngx_str_t                  slug;
    ngx_str_t                  session_id;
    ngx_str_t                  status;
    ngx_str_t                  answer;
} ngx_kanban_agents_breakdown_t;


static void ngx_kanban_agents_claimed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_agents_breakdown_start(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_str_t *sid, ngx_str_t *agent,
    ngx_str_t *data);
static void ngx_kanban_agents_breakdown_answered(ngx_kanban_ai_call_t *call);
static void ngx_kanban_agents_breakdown_written(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_agents_copy(ngx_pool_t *pool, ngx_str_t *dst,
    ngx_str_t *src);


static ngx_kanban_field_t  ngx_kanban_agents_subtask_fields[] = {
    { "title", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "estimate_minutes", NGX_KANBAN_FIELD_INTEGER, 1, 0, 100000, NULL,
      NULL },
    { "acceptance_criteria", NGX_KANBAN_FIELD_STRING, 1, 1, 1000, NULL,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agents_subtask[] = {
    { "", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0, ngx_kanban_agents_subtask_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agents_breakdown_answer[] = {
    { "subtasks", NGX_KANBAN_FIELD_ARRAY, 1, 1, 8, ngx_kanban_agents_subtask,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_agents_claim = ngx_kanban_pg_stmt(
    "agents_builtin_claim",
    "SELECT * FROM agent_builtin_claim($1::uuid)");

static ngx_kanban_pg_stmt_t  ngx_kanban_agents_answer = ngx_kanban_pg_stmt(
    "agents_breakdown_answer",
    "SELECT agent_breakdown_answer($1::uuid, $2, $3::jsonb)");


ngx_int_t
ngx_kanban_agents_sessions_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t              *tid;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    tid = ngx_kanban_arg(ctx, "id");
    if (tid == NULL || !ngx_kanban_uuid_valid(tid)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_agents_claim,
                             ngx_kanban_agents_claimed, 1, tid)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* Each claimed session's call starts; then the sessions are answered as
 * the route's statement reads them. */

static void
ngx_kanban_agents_claimed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                n, i;
    ngx_int_t          rc;
    ngx_kanban_ctx_t  *ctx;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ctx = ngx_kanban_ctx(r);
    n = PQntuples(q->result);

    for (i = 0; i < n; i++) {
        ngx_kanban_agents_breakdown_start(r, ctx,
                                          ngx_kanban_pg_value(r, q->result,
                                                              i, 0),
                                          ngx_kanban_pg_value(r, q->result,
                                                              i, 1),
                                          ngx_kanban_pg_value(r, q->result,
                                                              i, 2));
    }

    rc = ngx_kanban_sql_handler(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* A call that cannot start leaves its claim to lapse: a later read
 * tries again. */

static void
ngx_kanban_agents_breakdown_start(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_str_t *sid, ngx_str_t *agent, ngx_str_t *data)
{
    ngx_pool_t                     *pool;
    ngx_kanban_pg_db_t              db;
    ngx_kanban_ai_call_t           *call;
    ngx_kanban_agents_breakdown_t  *job;

    if (sid == NULL || agent == NULL || data == NULL) {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_kanban_agents_breakdown_t));
    if (job == NULL) {
        goto failed;
    }

    job->pool = pool;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    if (ngx_kanban_agents_copy(pool, &job->db.dsn, &db.dsn) != NGX_OK
        || ngx_kanban_agents_copy(pool, &job->db.name, &db.name) != NGX_OK
        || ngx_kanban_agents_copy(pool, &job->slug, &ctx->tenant->slug)
           != NGX_OK
        || ngx_kanban_agents_copy(pool, &job->session_id, sid) != NGX_OK)
    {
        goto failed;
    }

    call = ngx_kanban_ai_call_create(&job->db, "agents", agent);
    if (call == NULL) {
        goto failed;
    }

    if (ngx_kanban_agents_copy(call->pool, &call->data, data) != NGX_OK) {
        ngx_kanban_ai_call_destroy(call);
        goto failed;
    }

    call->instruction = NGX_KANBAN_AGENTS_BREAKDOWN_PROMPT;
    call->schema = ngx_kanban_agents_breakdown_answer;
    call->handler = ngx_kanban_agents_breakdown_answered;
    call->ctx = job;

    if (ngx_kanban_ai_call_start(call) != NGX_OK) {
        ngx_kanban_ai_call_destroy(call);
        goto failed;
    }

    return;

failed:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "kanban: the breakdown agent could not start");
    ngx_destroy_pool(pool);
}


/* The gateway's word, kept in the job's pool (the call's goes now), and
 * written. */

static void
ngx_kanban_agents_breakdown_answered(ngx_kanban_ai_call_t *call)
{
    char                           *status;
    ngx_str_t                       s;
    ngx_kanban_pg_query_t          *q;
    ngx_kanban_agents_breakdown_t  *job;

    job = call->ctx;

    status = ngx_kanban_ai_status_name(call->status);
    s.data = (u_char *) status;
    s.len = ngx_strlen(status);

    if (ngx_kanban_agents_copy(job->pool, &job->status, &s) != NGX_OK
        || (call->status == NGX_KANBAN_AI_COMPLETED
            && ngx_kanban_agents_copy(job->pool, &job->answer, &call->answer)
               != NGX_OK))
    {
        goto failed;
    }

    q = ngx_kanban_pg_query_background(job->pool, &job->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = job;

    if (ngx_kanban_pg_run(q, &ngx_kanban_agents_answer,
                          ngx_kanban_agents_breakdown_written, 3,
                          &job->session_id, &job->status,
                          job->answer.len ? &job->answer : NULL)
        != NGX_OK)
    {
        goto failed;
    }

    return;

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "kanban: the breakdown agent's answer was not written");
    ngx_destroy_pool(job->pool);
}


static void
ngx_kanban_agents_breakdown_written(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    u_char                         *p;
    ngx_str_t                       channel, message;
    ngx_kanban_agents_breakdown_t  *job;

    job = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: the breakdown agent's answer failed");
        ngx_destroy_pool(job->pool);
        return;
    }

    /* the streams read the event log when told */
    p = ngx_pnalloc(job->pool, sizeof("kanban:events:") + job->slug.len
                               + sizeof("{\"type\":\"agent_session.updated\","
                                        "\"data\":{\"id\":\"\"}}")
                               + job->session_id.len);
    if (p) {
        channel.data = p;
        p = ngx_sprintf(p, "kanban:events:%V", &job->slug);
        channel.len = p - channel.data;

        message.data = p;
        p = ngx_sprintf(p, "{\"type\":\"agent_session.updated\","
                        "\"data\":{\"id\":\"%V\"}}", &job->session_id);
        message.len = p - message.data;

        (void) ngx_kanban_redis_command(NULL, NULL, "PUBLISH %b %b",
                                        channel.data, channel.len,
                                        message.data, message.len);
    }

    ngx_destroy_pool(job->pool);
}


static ngx_int_t
ngx_kanban_agents_copy(ngx_pool_t *pool, ngx_str_t *dst, ngx_str_t *src)
{
    dst->data = ngx_pnalloc(pool, src->len ? src->len : 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);
    dst->len = src->len;

    return NGX_OK;
}
