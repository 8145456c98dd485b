
/*
 * A built-in agent's turn: the sweep (ngx_kanban_agents_sweep.c) claimed
 * its session with a lease, so one call runs it; the call goes to the LLM
 * gateway in a pool of its own that holds up no request, with the
 * session's data (task text as data, never an address) and the agent's
 * instruction; the answer must meet the agent's schema
 * (ngx_kanban_validate), else nothing of it is written. Its outcome is
 * written by agent_builtin_answer(): what the agent proposes or wrote, or
 * an error that says why (no model, the budget spent, a bad answer), and
 * Redis is told so that the streams read the event log at once. A call
 * that cannot start leaves its claim to lapse, and the sweep tries again.
 */

/* SQL: sql/tenant/057_agents.sql, 064_agents_builtin_sweep.sql */
#include "ngx_kanban_agents.h"
#include "ngx_kanban_ai.h"
#include "ngx_kanban_redis.h"
#include "ngx_kanban_sweep.h"


typedef struct {
    ngx_pool_t                *pool;
    ngx_kanban_pg_db_t         db;
    ngx_str_t                  slug;
    ngx_str_t                  session_id;
    ngx_str_t                  status;
    ngx_str_t                  answer;
} ngx_kanban_agents_job_t;


static ngx_kanban_agents_builtin_t  *ngx_kanban_agents_builtins[] = {
    &ngx_kanban_agents_breakdown,
    &ngx_kanban_agents_triage,
    &ngx_kanban_agents_digest,
    NULL
};


static void ngx_kanban_agents_answered(ngx_kanban_ai_call_t *call);
static void ngx_kanban_agents_written(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_agents_copy(ngx_pool_t *pool, ngx_str_t *dst,
    ngx_str_t *src);


static ngx_kanban_pg_stmt_t  ngx_kanban_agents_answer = ngx_kanban_pg_stmt(
    "agents_builtin_answer",
    "SELECT agent_builtin_answer($1::uuid, $2, $3::jsonb)");


ngx_int_t
ngx_kanban_agents_builtin_start(ngx_kanban_sweep_ws_t *ws,
    ngx_str_t *builtin, ngx_str_t *sid, ngx_str_t *agent, ngx_str_t *data)
{
    ngx_uint_t                    i;
    ngx_pool_t                   *pool;
    ngx_kanban_ai_call_t         *call;
    ngx_kanban_agents_job_t      *job;
    ngx_kanban_agents_builtin_t  *b;

    b = NULL;

    for (i = 0; ngx_kanban_agents_builtins[i]; i++) {
        if (builtin->len == ngx_strlen(ngx_kanban_agents_builtins[i]->name)
            && ngx_strncmp(builtin->data, ngx_kanban_agents_builtins[i]->name,
                           builtin->len) == 0)
        {
            b = ngx_kanban_agents_builtins[i];
            break;
        }
    }

    if (b == NULL) {
        return NGX_ERROR;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_kanban_agents_job_t));
    if (job == NULL) {
        goto failed;
    }

    job->pool = pool;

    if (ngx_kanban_agents_copy(pool, &job->db.dsn, &ws->db.dsn) != NGX_OK
        || ngx_kanban_agents_copy(pool, &job->db.name, &ws->db.name)
           != NGX_OK
        || ngx_kanban_agents_copy(pool, &job->slug, &ws->node.str) != NGX_OK
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

    call->instruction = b->instruction;
    call->schema = b->schema;
    call->handler = ngx_kanban_agents_answered;
    call->ctx = job;

    if (ngx_kanban_ai_call_start(call) != NGX_OK) {
        ngx_kanban_ai_call_destroy(call);
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "kanban: the %s agent could not start", b->name);
    ngx_destroy_pool(pool);

    return NGX_ERROR;
}


/* The gateway's word, kept in the job's pool (the call's goes now), and
 * written. */

static void
ngx_kanban_agents_answered(ngx_kanban_ai_call_t *call)
{
    char                     *status;
    ngx_str_t                 s;
    ngx_kanban_pg_query_t    *q;
    ngx_kanban_agents_job_t  *job;

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
                          ngx_kanban_agents_written, 3,
                          &job->session_id, &job->status,
                          job->answer.len ? &job->answer : NULL)
        != NGX_OK)
    {
        goto failed;
    }

    return;

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "kanban: a built-in agent's answer was not written");
    ngx_destroy_pool(job->pool);
}


static void
ngx_kanban_agents_written(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_agents_job_t  *job;

    job = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: a built-in agent's answer failed: %s",
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        ngx_destroy_pool(job->pool);
        return;
    }

    ngx_kanban_agents_told(&job->slug, &job->session_id);

    /* what the answer wrote may have queued more: a digest's notices to
     * mail, a triage's rules */
    ngx_kanban_sweep_wrote(&job->slug, &job->db);

    ngx_destroy_pool(job->pool);
}


/* The streams read the event log when told: a session's event names it. */

void
ngx_kanban_agents_told(ngx_str_t *slug, ngx_str_t *sid)
{
    u_char     *p, *start;
    size_t      len;
    ngx_str_t   channel, message;

    len = sizeof("kanban:events:") + slug->len
          + sizeof("{\"type\":\"agent_session.updated\","
                   "\"data\":{\"id\":\"\"}}")
          + sid->len;

    start = ngx_alloc(len, ngx_cycle->log);
    if (start == NULL) {
        return;
    }

    p = start;
    channel.data = p;
    p = ngx_sprintf(p, "kanban:events:%V", slug);
    channel.len = p - channel.data;

    message.data = p;
    p = ngx_sprintf(p, "{\"type\":\"agent_session.updated\","
                    "\"data\":{\"id\":\"%V\"}}", sid);
    message.len = p - message.data;

    (void) ngx_kanban_redis_command(NULL, NULL, "PUBLISH %b %b",
                                    channel.data, channel.len,
                                    message.data, message.len);

    ngx_free(start);
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
