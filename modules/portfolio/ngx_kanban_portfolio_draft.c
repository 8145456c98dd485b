
/*
 * GET /api/v1/projects/{id}/updates/draft: a draft of this week's update.
 * The rules write one from the project's facts (project_update_draft(),
 * 025); the workspace's model, through the LLM gateway (modules/ai/),
 * is asked to write the text from the project's digest (figures and rule
 * names only: project_update_digest(), 032) and its text is offered
 * instead. A model that is late, down, out of budget or answers something
 * else leaves the rules' draft, and the answer says so: source "llm" or
 * "rules", and llm {status, model?, error?} whenever one was chosen.
 */

/* SQL: sql/tenant/005_kanban.sql, 025_portfolio_updates.sql,
 * 032_portfolio_report_share.sql */
#include "ngx_kanban_portfolio.h"
#include "ngx_kanban_ai.h"


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
static void ngx_kanban_portfolio_draft_answered(ngx_kanban_ai_call_t *call);
static ngx_int_t ngx_kanban_portfolio_draft_send(ngx_http_request_t *r,
    ngx_kanban_portfolio_draft_t *d, char *status, ngx_str_t *model,
    char *error, ngx_str_t *text);
static ngx_int_t ngx_kanban_portfolio_draft_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);


/* the answer's schema */
static ngx_kanban_field_t  ngx_kanban_portfolio_draft_answer[] = {
    { "text", NGX_KANBAN_FIELD_STRING, 1, 1, NGX_KANBAN_PORTFOLIO_DRAFT_MAX,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


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

    if (ngx_kanban_portfolio_draft_ask(r, d) != NGX_OK) {
        ngx_http_finalize_request(r,
            ngx_kanban_portfolio_draft_send(r, d, "failed", NULL,
                                            "the request could not be made",
                                            NULL));
    }
}


/* The digest to the workspace's model, through the gateway, the call
 * tied to the request: a client that goes away is not answered. */

static ngx_int_t
ngx_kanban_portfolio_draft_ask(ngx_http_request_t *r,
    ngx_kanban_portfolio_draft_t *d)
{
    ngx_kanban_ctx_t      *ctx;
    ngx_kanban_pg_db_t     db;
    ngx_kanban_ai_call_t  *call;

    ctx = ngx_kanban_ctx(r);

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    call = ngx_kanban_ai_call_create(&db, "updates",
                                     &ctx->identity->user_id);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->instruction = NGX_KANBAN_PORTFOLIO_DRAFT_PROMPT;
    call->data = d->digest;
    call->schema = ngx_kanban_portfolio_draft_answer;
    call->handler = ngx_kanban_portfolio_draft_answered;
    call->ctx = r;

    ngx_http_set_ctx(r, d, ngx_http_kanban_portfolio_module);

    if (ngx_kanban_ai_call_attach(call, r) != NGX_OK
        || ngx_kanban_ai_call_start(call) != NGX_OK)
    {
        ngx_kanban_ai_call_destroy(call);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_kanban_portfolio_draft_answered(ngx_kanban_ai_call_t *call)
{
    ngx_str_t                     *text;
    ngx_http_request_t            *r;
    ngx_kanban_portfolio_draft_t  *d;

    r = call->ctx;
    d = ngx_http_get_module_ctx(r, ngx_http_kanban_portfolio_module);

    /* no model: the rules' draft as it always was */
    if (call->status == NGX_KANBAN_AI_NOT_CONFIGURED
        || call->status == NGX_KANBAN_AI_DISABLED)
    {
        ngx_http_finalize_request(r,
            ngx_kanban_portfolio_draft_send(r, d, NULL, NULL, NULL, NULL));
        return;
    }

    text = call->status == NGX_KANBAN_AI_COMPLETED
           ? ngx_kanban_json_string(call->root, "text") : NULL;

    ngx_http_finalize_request(r,
        ngx_kanban_portfolio_draft_send(r, d,
                                        ngx_kanban_ai_status_name(
                                            call->status),
                                        call->model.len ? &call->model
                                                        : NULL,
                                        call->error, text));
}


/* {health, text, source, llm?: {status, model, error?}}: the rules'
 * health always (the LLM writes words, the rules judge), the LLM's text
 * when it gave one. */

static ngx_int_t
ngx_kanban_portfolio_draft_send(ngx_http_request_t *r,
    ngx_kanban_portfolio_draft_t *d, char *status, ngx_str_t *model,
    char *error, ngx_str_t *text)
{
    ngx_str_t        out;
    ngx_kanban_jw_t  jw;

    if (status == NULL) {
        return ngx_kanban_send_json(r, NGX_HTTP_OK, &d->rules);
    }

    if (ngx_kanban_jw_init(&jw, r->pool,
                           6 * (text ? text->len : d->text.len) + 1024
                           + (model ? 6 * model->len : 0)
                           + (error ? 6 * ngx_strlen(error) : 0))
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

    ngx_kanban_jw_key(&jw, "llm");
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

    ngx_kanban_jw_close(&jw, '}');
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &out) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_json(r, NGX_HTTP_OK, &out);
}
