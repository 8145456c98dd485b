
/*
 * One call to a model, from the feature's data to its checked answer:
 *
 *   1. ai_call_settings() (051): the workspace's provider, base URL, model
 *      and sealed key, or the installation's default where it chose none;
 *      whether the feature may use the model; whether the month's token
 *      budget is spent. A call that may not go ends here, and is not
 *      metered: nothing was asked.
 *   2. the data scrubbed (no address, secret or token), in its data
 *      block; the call's tokens reserved (an ai_calls row "reserved": the
 *      body's length in tokens, roughly, and kanban_ai_max_tokens), so
 *      that while it is in flight the budget counts it and a call that
 *      the rest of the budget cannot cover is refused, as a spent budget
 *      is; then asked in the provider's dialect; a 429 or 5xx is asked
 *      again after a wait (Retry-After when the server gives one, else the
 *      backoff, doubled each time, with jitter), a timer, never a sleep;
 *   3. the answer's text parsed and validated against the feature's
 *      schema (ngx_kanban_validate): anything else is "invalid", and the
 *      feature writes nothing of it;
 *   4. the call metered (its reservation settled to the tokens used,
 *      status, attempts, latency), then the feature told, then the
 *      call's pool destroyed. A reservation left by a worker that went
 *      away is settled as "lost", with no tokens, ten minutes on.
 *
 * Two calls that reserve at the same moment may both go: the budget is
 * overshot by at most the calls that start together, not by every call
 * in flight.
 */

/* SQL: sql/tenant/051_ai_gateway.sql */
#include "ngx_kanban_ai.h"
#include "ngx_kanban_webhooks.h"


static void ngx_kanban_ai_settings_read(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_ai_choose(ngx_kanban_ai_call_t *call,
    PGresult *res);
static ngx_int_t ngx_kanban_ai_choose_workspace(ngx_kanban_ai_call_t *call,
    PGresult *res, ngx_kanban_ai_conf_t *aicf);
static ngx_int_t ngx_kanban_ai_endpoint(ngx_kanban_ai_call_t *call,
    PGresult *res);
static ngx_int_t ngx_kanban_ai_workspace_key(ngx_kanban_ai_call_t *call,
    PGresult *res);
static ngx_int_t ngx_kanban_ai_prepare(ngx_kanban_ai_call_t *call);
static ngx_int_t ngx_kanban_ai_send(ngx_kanban_ai_call_t *call);
static void ngx_kanban_ai_answered(ngx_kanban_http_req_t *hr);
static ngx_int_t ngx_kanban_ai_retry_later(ngx_kanban_ai_call_t *call,
    ngx_kanban_http_req_t *hr);
static void ngx_kanban_ai_retry_handler(ngx_event_t *ev);
static void ngx_kanban_ai_check(ngx_kanban_ai_call_t *call,
    ngx_str_t *body);
static void ngx_kanban_ai_end(ngx_kanban_ai_call_t *call, ngx_uint_t status,
    char *error);
static ngx_int_t ngx_kanban_ai_reserve(ngx_kanban_ai_call_t *call);
static void ngx_kanban_ai_reserved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_ai_metered(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_ai_finish(ngx_kanban_ai_call_t *call);
static void ngx_kanban_ai_detach(void *data);
static ngx_int_t ngx_kanban_ai_copy(ngx_pool_t *pool, ngx_str_t *dst,
    u_char *src, size_t len);


static ngx_kanban_pg_stmt_t  ngx_kanban_ai_settings_stmt =
    ngx_kanban_pg_stmt("ai_call_settings",
    "SELECT provider, base_url, model, api_key, feature_enabled,"
    "       budget_exhausted"
    "  FROM ai_call_settings($1)");

static ngx_kanban_pg_stmt_t  ngx_kanban_ai_meter_stmt =
    ngx_kanban_pg_stmt("ai_meter",
    "INSERT INTO ai_calls (feature, user_id, provider, model, status,"
    "                      input_tokens, output_tokens, attempts,"
    "                      latency_ms)"
    " VALUES ($1, (SELECT id FROM users WHERE id = $2::uuid), $3, $4, $5,"
    "         $6::int, $7::int, $8::int, $9::int)");


/* $5 and $6: the tokens the call may use, in and out; no row when the
 * budget, with the calls in flight, is spent */
static ngx_kanban_pg_stmt_t  ngx_kanban_ai_reserve_stmt =
    ngx_kanban_pg_stmt("ai_reserve",
    "WITH lost AS (UPDATE ai_calls SET status = 'lost', input_tokens = 0,"
    "                                  output_tokens = 0"
    "               WHERE status = 'reserved'"
    "                 AND at < now() - interval '10 minutes')"
    " INSERT INTO ai_calls (feature, user_id, provider, model, status,"
    "                       input_tokens, output_tokens, attempts,"
    "                       latency_ms)"
    " SELECT $1, (SELECT id FROM users WHERE id = $2::uuid), $3, $4,"
    "        'reserved', $5::int, $6::int, 0, 0"
    "  WHERE NOT ai_budget_exhausted()"
    " RETURNING id");

static ngx_kanban_pg_stmt_t  ngx_kanban_ai_settle_stmt =
    ngx_kanban_pg_stmt("ai_settle",
    "UPDATE ai_calls SET status = $2, input_tokens = $3::int,"
    "                    output_tokens = $4::int, attempts = $5::int,"
    "                    latency_ms = $6::int"
    " WHERE id = $1::bigint");


static char  *ngx_kanban_ai_statuses[] = {
    "completed", "not_configured", "disabled", "budget_exhausted",
    "timed_out", "failed", "invalid"
};


char *
ngx_kanban_ai_status_name(ngx_uint_t status)
{
    return status < sizeof(ngx_kanban_ai_statuses) / sizeof(char *)
           ? ngx_kanban_ai_statuses[status] : "failed";
}


ngx_kanban_ai_call_t *
ngx_kanban_ai_call_create(ngx_kanban_pg_db_t *db, char *feature,
    ngx_str_t *user_id)
{
    ngx_pool_t            *pool;
    ngx_kanban_ai_call_t  *call;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    call = ngx_pcalloc(pool, sizeof(ngx_kanban_ai_call_t));
    if (call == NULL) {
        goto failed;
    }

    call->pool = pool;

    if (ngx_kanban_ai_copy(pool, &call->db.dsn, db->dsn.data, db->dsn.len)
        != NGX_OK
        || ngx_kanban_ai_copy(pool, &call->db.name, db->name.data,
                              db->name.len)
           != NGX_OK
        || ngx_kanban_ai_copy(pool, &call->feature, (u_char *) feature,
                              ngx_strlen(feature))
           != NGX_OK
        || (user_id && user_id->len
            && ngx_kanban_ai_copy(pool, &call->user_id, user_id->data,
                                  user_id->len)
               != NGX_OK))
    {
        goto failed;
    }

    return call;

failed:

    ngx_destroy_pool(pool);
    return NULL;
}


/* A call for a request: the request that ends first lets the call go on
 * alone (it is metered), the call that ends first lets the request go. */

typedef struct {
    ngx_kanban_ai_call_t      *call;
} ngx_kanban_ai_tie_t;


ngx_int_t
ngx_kanban_ai_call_attach(ngx_kanban_ai_call_t *call, ngx_http_request_t *r)
{
    ngx_pool_cleanup_t   *cln;
    ngx_kanban_ai_tie_t  *tie;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_kanban_ai_tie_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    tie = cln->data;
    tie->call = call;
    cln->handler = ngx_kanban_ai_detach;

    call->tie = cln;

    return NGX_OK;
}


/* a call that could not start: let its request go, then it goes */

void
ngx_kanban_ai_call_destroy(ngx_kanban_ai_call_t *call)
{
    ngx_kanban_ai_tie_t  *tie;

    if (call->tie) {
        tie = call->tie->data;
        tie->call = NULL;
        call->tie = NULL;
    }

    ngx_destroy_pool(call->pool);
}


static void
ngx_kanban_ai_detach(void *data)
{
    ngx_kanban_ai_tie_t  *tie = data;

    if (tie->call) {
        tie->call->handler = NULL;      /* the client went away */
        tie->call->tie = NULL;
    }
}


ngx_int_t
ngx_kanban_ai_call_start(ngx_kanban_ai_call_t *call)
{
    ngx_kanban_pg_query_t  *q;

    q = ngx_kanban_pg_query_background(call->pool, &call->db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = call;

    return ngx_kanban_pg_run(q, &ngx_kanban_ai_settings_stmt,
                             ngx_kanban_ai_settings_read, 1, &call->feature);
}


static void
ngx_kanban_ai_settings_read(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t              rc;
    ngx_kanban_ai_call_t  *call;

    call = q->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the workspace's AI settings could not be read");
        return;
    }

    if (call->data.len > NGX_KANBAN_AI_MAX_DATA) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the data is too large to send to a model");
        return;
    }

    rc = ngx_kanban_ai_choose(call, q->result);

    if (rc == NGX_DECLINED) {
        return;                         /* ended: said why */
    }

    if (rc != NGX_OK || ngx_kanban_ai_prepare(call) != NGX_OK
        || ngx_kanban_ai_reserve(call) != NGX_OK)
    {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the request could not be made");
    }
}


/* The tokens the call may use, counted against the budget before it
 * goes: its body's (about four bytes a token) and the answer's most. */

static ngx_int_t
ngx_kanban_ai_reserve(ngx_kanban_ai_call_t *call)
{
    u_char                 *p;
    ngx_str_t               provider, in, out;
    ngx_kanban_pg_query_t  *q;
    ngx_kanban_ai_conf_t   *aicf;

    aicf = ngx_kanban_ai_conf();

    p = ngx_pnalloc(call->pool, 2 * NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    in.data = p;
    p = ngx_sprintf(p, "%uz", call->body.len / 4 + 1);
    in.len = p - in.data;

    out.data = p;
    p = ngx_sprintf(p, "%ui", aicf->max_tokens);
    out.len = p - out.data;

    if (call->provider == NGX_KANBAN_AI_ANTHROPIC) {
        ngx_str_set(&provider, "anthropic");
    } else {
        ngx_str_set(&provider, "openai");
    }

    q = ngx_kanban_pg_query_background(call->pool, &call->db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = call;

    return ngx_kanban_pg_run(q, &ngx_kanban_ai_reserve_stmt,
                             ngx_kanban_ai_reserved, 6, &call->feature,
                             call->user_id.len ? &call->user_id : NULL,
                             &provider, &call->model, &in, &out);
}


static void
ngx_kanban_ai_reserved(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_ai_call_t  *call;

    call = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the call's tokens could not be reserved");
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_BUDGET_EXHAUSTED,
                          "the workspace's AI token budget for this month "
                          "is spent, with the calls in flight");
        return;
    }

    if (ngx_kanban_ai_copy(call->pool, &call->reserved,
                           (u_char *) PQgetvalue(q->result, 0, 0),
                           PQgetlength(q->result, 0, 0))
        != NGX_OK
        || ngx_kanban_ai_send(call) != NGX_OK)
    {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the request could not be made");
    }
}


/* The model this call asks: the workspace's, else the installation's;
 * NGX_DECLINED when the call may not go (and has ended). */

static ngx_int_t
ngx_kanban_ai_choose(ngx_kanban_ai_call_t *call, PGresult *res)
{
    ngx_int_t              rc;
    ngx_kanban_ai_conf_t  *aicf;

    aicf = ngx_kanban_ai_conf();

    if (PQgetisnull(res, 0, 0)) {
        if (aicf == NULL || aicf->llm_url.len == 0) {
            ngx_kanban_ai_end(call, NGX_KANBAN_AI_NOT_CONFIGURED,
                              "no model is configured");
            return NGX_DECLINED;
        }

        call->provider = aicf->provider;
        call->url = aicf->llm_url;
        call->model = aicf->llm_model;
        call->key = aicf->llm_key;

        /* the operator's endpoint, not a user's: it may be on the network */
        call->allow_private = 1;

    } else {
        rc = ngx_kanban_ai_choose_workspace(call, res, aicf);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (*PQgetvalue(res, 0, 4) != 't') {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_DISABLED,
                          "the workspace turned the model off for this "
                          "feature");
        return NGX_DECLINED;
    }

    if (*PQgetvalue(res, 0, 5) == 't') {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_BUDGET_EXHAUSTED,
                          "the workspace's AI token budget for this month "
                          "is spent");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* The workspace's settings (ai_settings: provider, base URL, model, the
 * sealed key), row 0 of res. */

static ngx_int_t
ngx_kanban_ai_choose_workspace(ngx_kanban_ai_call_t *call, PGresult *res,
    ngx_kanban_ai_conf_t *aicf)
{
    u_char  *p;

    p = (u_char *) PQgetvalue(res, 0, 0);

    if (ngx_strcmp(p, "none") == 0) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_NOT_CONFIGURED,
                          "the workspace turned the model off");
        return NGX_DECLINED;
    }

    call->provider = ngx_strcmp(p, "anthropic") == 0
                     ? NGX_KANBAN_AI_ANTHROPIC : NGX_KANBAN_AI_OPENAI;

    if (ngx_kanban_ai_endpoint(call, res) != NGX_OK) {
        return NGX_ERROR;
    }

    if (PQgetisnull(res, 0, 2)) {
        call->model = aicf->llm_model;

    } else if (ngx_kanban_ai_copy(call->pool, &call->model,
                                  (u_char *) PQgetvalue(res, 0, 2),
                                  PQgetlength(res, 0, 2))
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    call->allow_private = aicf->allow_private;

    return PQgetisnull(res, 0, 3) ? NGX_OK
                                  : ngx_kanban_ai_workspace_key(call, res);
}


/* The provider's endpoint: the base URL (Anthropic's when none) and the
 * dialect's path. */

static ngx_int_t
ngx_kanban_ai_endpoint(ngx_kanban_ai_call_t *call, PGresult *res)
{
    ngx_str_t  base, suffix;

    if (PQgetisnull(res, 0, 1)) {
        ngx_str_set(&base, "https://api.anthropic.com");
    } else {
        base.data = (u_char *) PQgetvalue(res, 0, 1);
        base.len = PQgetlength(res, 0, 1);
    }

    while (base.len && base.data[base.len - 1] == '/') {
        base.len--;
    }

    if (call->provider == NGX_KANBAN_AI_ANTHROPIC) {
        ngx_str_set(&suffix, "/v1/messages");
    } else {
        ngx_str_set(&suffix, "/chat/completions");
    }

    call->url.len = base.len + suffix.len;
    call->url.data = ngx_pnalloc(call->pool, call->url.len);
    if (call->url.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(call->url.data, base.data, base.len),
               suffix.data, suffix.len);

    return NGX_OK;
}


/* The workspace's API key, unsealed into the call's pool. */

static ngx_int_t
ngx_kanban_ai_workspace_key(ngx_kanban_ai_call_t *call, PGresult *res)
{
    ngx_str_t  stored;

    stored.data = (u_char *) PQgetvalue(res, 0, 3);
    stored.len = PQgetlength(res, 0, 3);

    switch (ngx_kanban_webhooks_unseal(call->pool, &stored, &call->key)) {

    case NGX_OK:
        if (call->key.data == stored.data
            && ngx_kanban_ai_copy(call->pool, &call->key, stored.data,
                                  stored.len)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;

    case NGX_DECLINED:
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the workspace's API key cannot be unsealed with "
                          "this installation's key");
        return NGX_DECLINED;

    default:
        return NGX_ERROR;
    }
}


/* the body, once: the data scrubbed, in its block, in the dialect */

static ngx_int_t
ngx_kanban_ai_prepare(ngx_kanban_ai_call_t *call)
{
    ngx_str_t              first, clean, block;
    ngx_kanban_ai_conf_t  *aicf;

    aicf = ngx_kanban_ai_conf();

    /* the workspace's key and the installation's are secrets too */
    if (ngx_kanban_ai_scrub(call->pool, &call->data, &call->key, &first)
        != NGX_OK
        || ngx_kanban_ai_scrub(call->pool, &first, &aicf->llm_key, &clean)
           != NGX_OK
        || ngx_kanban_ai_data_block(call->pool, &clean, &block) != NGX_OK)
    {
        return NGX_ERROR;
    }

    call->started = ngx_current_msec;

    return ngx_kanban_ai_dialect_request(call, &block);
}


static ngx_int_t
ngx_kanban_ai_send(ngx_kanban_ai_call_t *call)
{
    ngx_kanban_http_req_t  *hr;
    ngx_kanban_ai_conf_t   *aicf;

    aicf = ngx_kanban_ai_conf();

    hr = ngx_kanban_http_create(call->pool, ngx_cycle->log);
    if (hr == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&hr->method, "POST");
    hr->url = call->url;
    hr->body = call->body;
    hr->timeout = aicf->llm_timeout;
    hr->max_body = NGX_KANBAN_AI_MAX_ANSWER;
    hr->allow_private = call->allow_private;
    hr->handler = ngx_kanban_ai_answered;
    hr->data = call;

    if (ngx_kanban_ai_dialect_headers(call, hr) != NGX_OK) {
        return NGX_ERROR;
    }

    call->attempts++;
    call->hr = hr;

    return ngx_kanban_http_send(hr);
}


static void
ngx_kanban_ai_answered(ngx_kanban_http_req_t *hr)
{
    char                  *error;
    ngx_kanban_ai_call_t  *call;

    call = hr->data;

    if (hr->error == NGX_KANBAN_HTTP_TIMEDOUT) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_TIMED_OUT,
                          "the model did not answer in time");
        return;
    }

    if (hr->error == NGX_KANBAN_HTTP_REFUSED) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the model's address is not one this "
                          "installation may reach");
        return;
    }

    if (hr->error != NGX_KANBAN_HTTP_OK) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the model could not be reached");
        return;
    }

    if (hr->status == 429 || hr->status >= 500) {
        if (ngx_kanban_ai_retry_later(call, hr) == NGX_OK) {
            return;
        }
    }

    if (hr->status != NGX_HTTP_OK) {
        error = ngx_pnalloc(call->pool, 64);
        if (error) {
            ngx_sprintf((u_char *) error, "the model answered HTTP %ui%Z",
                        hr->status);
        }

        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          error ? error : "the model answered an error");
        return;
    }

    ngx_kanban_ai_check(call, &hr->response);
}


/* NGX_OK: asked again later; else there are no tries left */

static ngx_int_t
ngx_kanban_ai_retry_later(ngx_kanban_ai_call_t *call,
    ngx_kanban_http_req_t *hr)
{
    ngx_int_t              n;
    ngx_str_t             *after;
    ngx_msec_t             wait;
    ngx_kanban_ai_conf_t  *aicf;

    aicf = ngx_kanban_ai_conf();

    if (call->attempts > aicf->retries) {
        return NGX_DECLINED;
    }

    /* the backoff, doubled each time, ±25 % */
    wait = aicf->backoff << (call->attempts - 1);
    wait = wait * 3 / 4 + (ngx_random() % (wait / 2 + 1));

    after = ngx_kanban_http_answer_header(hr, "Retry-After");

    if (after) {
        n = ngx_atoi(after->data, after->len);

        if (n > NGX_KANBAN_AI_RETRY_AFTER_MAX) {
            return NGX_DECLINED;        /* longer than worth waiting */
        }

        if (n >= 0) {
            wait = (ngx_msec_t) n * 1000;
        }
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "kanban: the model answered %ui, asked again in %Mms",
                  hr->status, wait);

    call->retry.handler = ngx_kanban_ai_retry_handler;
    call->retry.log = ngx_cycle->log;
    call->retry.cancelable = 1;
    call->retry.data = call;

    ngx_add_timer(&call->retry, wait);

    return NGX_OK;
}


static void
ngx_kanban_ai_retry_handler(ngx_event_t *ev)
{
    ngx_kanban_ai_call_t  *call;

    call = ev->data;

    if (ngx_kanban_ai_send(call) != NGX_OK) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_FAILED,
                          "the request could not be made");
    }
}


static void
ngx_kanban_ai_check(ngx_kanban_ai_call_t *call, ngx_str_t *body)
{
    char                      *err;
    ngx_str_t                  content;
    ngx_array_t               *errors;
    ngx_kanban_field_error_t  *fe;

    err = ngx_kanban_ai_dialect_answer(call, body, &content);
    if (err) {
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_INVALID, err);
        return;
    }

    if (ngx_kanban_json_parse(call->pool, content.data, content.len,
                              &call->root, &err)
        != NGX_OK || call->root->type != NGX_KANBAN_JSON_OBJECT)
    {
        call->root = NULL;
        ngx_kanban_ai_end(call, NGX_KANBAN_AI_INVALID,
                          "the model's message is not a JSON object");
        return;
    }

    if (call->schema
        && ngx_kanban_validate(call->pool, call->root, call->schema,
                               &errors)
           != NGX_OK)
    {
        call->root = NULL;

        err = "the model's answer is not of the shape asked for";

        if (errors && errors->nelts) {
            fe = errors->elts;
            err = ngx_pnalloc(call->pool, fe->field.len + 128);
            if (err) {
                ngx_sprintf((u_char *) err,
                            "the model's answer is not of the shape asked "
                            "for: %V (%s)%Z", &fe->field, fe->code);
            }
        }

        ngx_kanban_ai_end(call, NGX_KANBAN_AI_INVALID,
                          err ? err : "the model's answer is not valid");
        return;
    }

    call->answer = content;

    ngx_kanban_ai_end(call, NGX_KANBAN_AI_COMPLETED, NULL);
}


/* the call has ended: metered when a model was asked, then the feature
 * told */

static void
ngx_kanban_ai_end(ngx_kanban_ai_call_t *call, ngx_uint_t status,
    char *error)
{
    u_char                 *p;
    ngx_int_t               rc;
    ngx_str_t               provider, st, in, out, attempts, latency;
    ngx_kanban_pg_query_t  *q;

    call->status = status;
    call->error = error;

    /* nothing asked, nothing reserved: nothing to meter */
    if (call->attempts == 0 && call->reserved.len == 0) {
        ngx_kanban_ai_finish(call);
        return;
    }

    p = ngx_pnalloc(call->pool, 4 * NGX_INT_T_LEN);
    if (p == NULL) {
        ngx_kanban_ai_finish(call);
        return;
    }

    in.data = p;
    p = ngx_sprintf(p, "%ui", call->input_tokens);
    in.len = p - in.data;

    out.data = p;
    p = ngx_sprintf(p, "%ui", call->output_tokens);
    out.len = p - out.data;

    attempts.data = p;
    p = ngx_sprintf(p, "%ui", call->attempts);
    attempts.len = p - attempts.data;

    latency.data = p;
    p = ngx_sprintf(p, "%M", (ngx_msec_t) (ngx_current_msec - call->started));
    latency.len = p - latency.data;

    if (call->provider == NGX_KANBAN_AI_ANTHROPIC) {
        ngx_str_set(&provider, "anthropic");
    } else {
        ngx_str_set(&provider, "openai");
    }

    st.data = (u_char *) ngx_kanban_ai_status_name(status);
    st.len = ngx_strlen(st.data);

    q = ngx_kanban_pg_query_background(call->pool, &call->db);
    if (q == NULL) {
        ngx_kanban_ai_finish(call);
        return;
    }

    q->data = call;

    rc = call->reserved.len
         ? ngx_kanban_pg_run(q, &ngx_kanban_ai_settle_stmt,
                             ngx_kanban_ai_metered, 6, &call->reserved, &st,
                             &in, &out, &attempts, &latency)
         : ngx_kanban_pg_run(q, &ngx_kanban_ai_meter_stmt,
                             ngx_kanban_ai_metered, 9, &call->feature,
                             call->user_id.len ? &call->user_id : NULL,
                             &provider, &call->model, &st, &in, &out,
                             &attempts, &latency);

    if (rc != NGX_OK) {
        ngx_kanban_ai_finish(call);
    }
}


static void
ngx_kanban_ai_metered(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_ai_call_t  *call;

    call = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: an AI call not metered: %s",
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
    }

    ngx_kanban_ai_finish(call);
}


static void
ngx_kanban_ai_finish(ngx_kanban_ai_call_t *call)
{
    ngx_pool_cleanup_t   *cln;
    ngx_kanban_ai_tie_t  *tie;

    if (call->error) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: AI call for %V: %s: %s", &call->feature,
                      ngx_kanban_ai_status_name(call->status), call->error);
    }

    /* the request is let go before it is told: telling may end it */
    cln = call->tie;
    if (cln) {
        tie = cln->data;
        tie->call = NULL;
        call->tie = NULL;
    }

    if (call->handler) {
        call->handler(call);
    }

    ngx_destroy_pool(call->pool);
}


static ngx_int_t
ngx_kanban_ai_copy(ngx_pool_t *pool, ngx_str_t *dst, u_char *src, size_t len)
{
    dst->data = ngx_pnalloc(pool, len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->data[len] = '\0';
    dst->len = len;

    return NGX_OK;
}
