
/*
 * The switcher: GET /api/v1/me/workspaces, the signed-in person's other
 * workspaces, and POST /api/v1/me/workspaces/{slug}/handoff -> {url}, a
 * single-use 60-second link into one of them. Both first ask this
 * workspace for the person's address and whether it is verified (an
 * unverified address could be anybody's: it sees nothing, and hands off
 * nowhere), then the catalog's directory. The link is good only on its
 * target's host (portal_spend()), and only while that workspace takes
 * sign-in links and the address is an active member there; else 403 and
 * the UI opens that workspace's sign-in page.
 */

/* SQL: sql/catalog/012_portal.sql, sql/tenant/045_portal.sql */
#include "ngx_kanban_portal.h"


typedef struct {
    ngx_str_t                  address;
    ngx_uint_t                 handoff;
} ngx_kanban_portal_switch_t;


static ngx_int_t ngx_kanban_portal_whoami(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_uint_t handoff);
static void ngx_kanban_portal_known(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_listed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_handed_off(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_portal_me = ngx_kanban_pg_stmt(
    "portal_me",
    "SELECT email, (email_verified_at IS NOT NULL)::int FROM users"
    " WHERE id = $1::uuid AND status = 'active'");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_list = ngx_kanban_pg_stmt(
    "portal_switch_list",
    "SELECT portal_switch_list($1, $2, $3, $4)");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_handoff = ngx_kanban_pg_stmt(
    "portal_handoff",
    "SELECT portal_handoff($1, $2, $3, $4, $5, $6::float8)");


ngx_int_t
ngx_kanban_portal_list_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_portal_whoami(r, ctx, 0);
}


ngx_int_t
ngx_kanban_portal_handoff_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t  *slug;

    slug = ngx_kanban_arg(ctx, "slug");
    if (slug == NULL || slug->len < 3 || slug->len > 32) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    return ngx_kanban_portal_whoami(r, ctx, 1);
}


static ngx_int_t
ngx_kanban_portal_whoami(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_uint_t handoff)
{
    ngx_kanban_pg_db_t           db;
    ngx_kanban_pg_query_t       *q;
    ngx_kanban_portal_switch_t  *ps;

    ps = ngx_pcalloc(r->pool, sizeof(ngx_kanban_portal_switch_t));
    if (ps == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ps->handoff = handoff;
    ctx->data = ps;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_portal_me,
                             ngx_kanban_portal_known, 1,
                             &ctx->identity->user_id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_portal_known(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                    head, tail, *email, *verified;
    ngx_str_t                    empty = ngx_string("{\"items\":[]}");
    ngx_str_t                    ttl =
                                     ngx_string(NGX_KANBAN_PORTAL_HANDOFF_TTL);
    ngx_kanban_ctx_t            *ctx;
    ngx_kanban_pg_db_t           db;
    ngx_kanban_portal_switch_t  *ps;

    ctx = ngx_kanban_ctx(r);
    ps = ctx->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED, NULL));
        return;
    }

    email = ngx_kanban_pg_value(r, q->result, 0, 0);
    verified = ngx_kanban_pg_value(r, q->result, 0, 1);

    if (email == NULL || verified == NULL
        || ngx_kanban_portal_origin(&head, &tail) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (verified->len != 1 || verified->data[0] != '1') {
        if (ps->handoff) {
            ngx_http_finalize_request(r,
                ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN,
                                   "Your address here is not verified: "
                                   "sign in there instead."));
            return;
        }

        ngx_http_finalize_request(r,
            ngx_kanban_send_json(r, NGX_HTTP_OK, &empty));
        return;
    }

    ps->address = *email;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ps->handoff) {
        if (ngx_kanban_pg_run(q, &ngx_kanban_portal_handoff,
                              ngx_kanban_portal_handed_off, 6, &ps->address,
                              &ctx->tenant->slug,
                              ngx_kanban_arg(ctx, "slug"), &head, &tail,
                              &ttl)
            != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    if (ngx_kanban_pg_run(q, &ngx_kanban_portal_list,
                          ngx_kanban_portal_listed, 4, &ps->address,
                          &ctx->tenant->slug, &head, &tail)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_portal_listed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t  *json;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    json = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (json == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK, json));
}


static void
ngx_kanban_portal_handed_off(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    u_char     *p;
    ngx_str_t  *url, json, no_store = ngx_string("no-store");

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQgetisnull(q->result, 0, 0)) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN,
                               "That workspace does not take sign-in links "
                               "for you: sign in there instead."));
        return;
    }

    url = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (url == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the URL is the catalog's: an origin and hex, nothing to escape */
    json.data = ngx_pnalloc(r->pool, url->len + sizeof("{\"url\":\"\"}"));
    if (json.data == NULL
        || ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_sprintf(json.data, "{\"url\":\"%V\"}", url);
    json.len = p - json.data;

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK, &json));
}
