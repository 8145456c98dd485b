
/*
 * GET /api/v1/projects/{id}/updates/draft: a draft of this week's update.
 * The rules write one from the project's facts (project_update_draft(),
 * 025); when an LLM is configured (the insights' kanban_insights_llm_*)
 * it is asked to write the text from the project's digest (figures and
 * rule names only: project_update_digest(), 032) and its text is offered
 * instead. An LLM that is late, down or answers something else leaves the
 * rules' draft, and the answer says so: source "llm" or "rules", and
 * llm {status, error?} whenever one is configured.
 */

/* SQL: sql/tenant/005_kanban.sql, 025_portfolio_updates.sql,
 * 032_portfolio_report_share.sql */
#include "ngx_kanban_portfolio.h"
#include "ngx_kanban_insights.h"


#define NGX_KANBAN_PORTFOLIO_DRAFT_MAX  4000    /* the LLM's text, bytes */

#define NGX_KANBAN_PORTFOLIO_DRAFT_PROMPT                                     \
    "You write the weekly status update of one software project for its "    \
    "steering committee. You are given a JSON digest: the project's "        \
    "figures, its health and the risk rules it triggers. Use only these "    \
    "facts; name no people. Answer with one JSON object and nothing else: "  \
    "{\"text\": string}, a few short plain sentences, at most 1500 "         \
    "characters."


typedef struct {
    ngx_str_t                  health;
    ngx_str_t                  text;           /* the rules' */
    ngx_str_t                  rules;          /* the rules' draft (JSON) */
    ngx_str_t                  digest;
} ngx_kanban_portfolio_draft_t;


static void ngx_kanban_portfolio_draft_facts(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_portfolio_draft_ask(ngx_http_request_t *r,
    ngx_kanban_portfolio_draft_t *d);
static void ngx_kanban_portfolio_draft_answered(ngx_kanban_http_req_t *hr);
static char *ngx_kanban_portfolio_draft_text(ngx_http_request_t *r,
    ngx_str_t *body, ngx_str_t *text);
static ngx_int_t ngx_kanban_portfolio_draft_send(ngx_http_request_t *r,
    ngx_kanban_portfolio_draft_t *d, char *status, char *error,
    ngx_str_t *text);
static ngx_int_t ngx_kanban_portfolio_draft_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);


static ngx_kanban_pg_stmt_t  ngx_kanban_portfolio_draft_stmt =
    ngx_kanban_pg_stmt("portfolio_update_draft",
    "SELECT d->>'health', d->>'text', d, project_update_digest(p)"
    "  FROM projects p, project_update_draft(p) d"
    " WHERE p.id = $1::uuid");


ngx_kanban_route_t  ngx_kanban_portfolio_draft_routes[] = {

    { NGX_HTTP_GET, "/api/v1/projects/{id}/updates/draft",
      NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MEMBER,
      ngx_kanban_portfolio_draft_handler, NULL, ngx_null_string, NULL },
};

ngx_uint_t  ngx_kanban_portfolio_draft_nroutes =
    sizeof(ngx_kanban_portfolio_draft_routes) / sizeof(ngx_kanban_route_t);


static ngx_int_t
ngx_kanban_portfolio_draft_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t              *id;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    id = ngx_kanban_arg(ctx, "id");

    if (id == NULL || !ngx_kanban_uuid_valid(id)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_portfolio_draft_stmt,
                             ngx_kanban_portfolio_draft_facts, 1, id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_portfolio_draft_facts(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    PGresult                      *res;
    ngx_str_t                     *health, *text, *rules, *digest;
    ngx_kanban_insights_conf_t    *iscf;
    ngx_kanban_portfolio_draft_t  *d;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL));
        return;
    }

    /* the values live in the result: kept until the request ends, as
     * the LLM may answer long after this callback */
    res = ngx_kanban_pg_keep(r, q);

    d = ngx_pcalloc(r->pool, sizeof(ngx_kanban_portfolio_draft_t));
    health = ngx_kanban_pg_value(r, res, 0, 0);
    text = ngx_kanban_pg_value(r, res, 0, 1);
    rules = ngx_kanban_pg_value(r, res, 0, 2);
    digest = ngx_kanban_pg_value(r, res, 0, 3);

    if (d == NULL || health == NULL || text == NULL || rules == NULL
        || digest == NULL)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    d->health = *health;
    d->text = *text;
    d->rules = *rules;
    d->digest = *digest;

    iscf = ngx_kanban_insights_conf();

    if (iscf == NULL || iscf->llm_url.len == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_portfolio_draft_send(r, d, NULL, NULL, NULL));
        return;
    }

    if (ngx_kanban_portfolio_draft_ask(r, d) != NGX_OK) {
        ngx_http_finalize_request(r,
            ngx_kanban_portfolio_draft_send(r, d, "failed",
                                            "the request could not be made",
                                            NULL));
    }
}


/* POST {model, response_format: json_object, messages: [the prompt, the
 * digest]} to the chat completions endpoint, in the request's pool: a
 * client that goes away cancels it. */

static ngx_int_t
ngx_kanban_portfolio_draft_ask(ngx_http_request_t *r,
    ngx_kanban_portfolio_draft_t *d)
{
    ngx_kanban_http_req_t  *hr;

    hr = ngx_kanban_insights_llm_request(ngx_kanban_insights_conf(),
                                         r->pool, r->connection->log,
                                         NGX_KANBAN_PORTFOLIO_DRAFT_PROMPT,
                                         &d->digest, 2 * d->digest.len + 2048,
                                         64 * 1024);
    if (hr == NULL) {
        return NGX_ERROR;
    }

    hr->handler = ngx_kanban_portfolio_draft_answered;
    hr->data = r;

    ngx_http_set_ctx(r, d, ngx_http_kanban_portfolio_module);

    return ngx_kanban_http_send(hr);
}


static void
ngx_kanban_portfolio_draft_answered(ngx_kanban_http_req_t *hr)
{
    char                          *error, *status;
    ngx_str_t                      text;
    ngx_http_request_t            *r;
    ngx_kanban_portfolio_draft_t  *d;

    r = hr->data;
    d = ngx_http_get_module_ctx(r, ngx_http_kanban_portfolio_module);

    if (hr->error == NGX_KANBAN_HTTP_TIMEDOUT) {
        status = "timed_out";
        error = "the LLM did not answer in time";

    } else if (hr->error != NGX_KANBAN_HTTP_OK) {
        status = "failed";
        error = "the LLM could not be reached";

    } else if (hr->status != NGX_HTTP_OK) {
        status = "failed";
        error = "the LLM answered with an error";

    } else {
        error = ngx_kanban_portfolio_draft_text(r, &hr->response, &text);
        status = error ? "invalid" : "completed";
    }

    if (error) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: update draft: %s: the rules' draft stands",
                      error);
    }

    ngx_http_finalize_request(r,
        ngx_kanban_portfolio_draft_send(r, d, status, error,
                                        error ? NULL : &text));
}


/* The text of the answer's message, checked: NULL when it is what was
 * asked for, else what is wrong. */

static char *
ngx_kanban_portfolio_draft_text(ngx_http_request_t *r, ngx_str_t *body,
    ngx_str_t *text)
{
    char               *err;
    ngx_str_t          *content;
    ngx_kanban_json_t  *root, *choices, *message, *inner, *v;

    if (ngx_kanban_json_parse(r->pool, body->data, body->len, &root, &err)
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

    if (ngx_kanban_json_parse(r->pool, content->data, content->len, &inner,
                              &err)
        != NGX_OK || inner->type != NGX_KANBAN_JSON_OBJECT)
    {
        return "the LLM's message is not a JSON object";
    }

    v = ngx_kanban_json_get(inner, "text");
    if (v == NULL || v->type != NGX_KANBAN_JSON_STRING || v->value.len == 0
        || v->value.len > NGX_KANBAN_PORTFOLIO_DRAFT_MAX)
    {
        return "the LLM's text is missing or too long";
    }

    *text = v->value;

    return NULL;
}


/* {health, text, source, llm?: {status, model, error?}}: the rules'
 * health always (the LLM writes words, the rules judge), the LLM's text
 * when it gave one. */

static ngx_int_t
ngx_kanban_portfolio_draft_send(ngx_http_request_t *r,
    ngx_kanban_portfolio_draft_t *d, char *status, char *error,
    ngx_str_t *text)
{
    ngx_str_t                    out;
    ngx_kanban_jw_t              jw;
    ngx_kanban_insights_conf_t  *iscf;

    if (status == NULL) {
        return ngx_kanban_send_json(r, NGX_HTTP_OK, &d->rules);
    }

    if (ngx_kanban_jw_init(&jw, r->pool,
                           2 * (text ? text->len : d->text.len) + 512)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "health");
    ngx_kanban_jw_string(&jw, &d->health);
    ngx_kanban_jw_key(&jw, "text");
    ngx_kanban_jw_string(&jw, text ? text : &d->text);
    ngx_kanban_jw_key(&jw, "source");
    ngx_kanban_jw_cstring(&jw, text ? "llm" : "rules");

    iscf = ngx_kanban_insights_conf();

    ngx_kanban_jw_key(&jw, "llm");
    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_cstring(&jw, status);
    ngx_kanban_jw_key(&jw, "model");
    ngx_kanban_jw_string(&jw, &iscf->llm_model);

    if (error) {
        ngx_kanban_jw_key(&jw, "error");
        ngx_kanban_jw_cstring(&jw, error);
    }

    ngx_kanban_jw_close(&jw, '}');
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &out) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_json(r, NGX_HTTP_OK, &out);
}
