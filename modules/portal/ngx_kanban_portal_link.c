
/*
 * GET /auth/magic?token= on a workspace's host: a link from "find my
 * workspaces" or a switcher's handoff. The catalog spends it
 * (portal_spend(): once, before it expires, and only on the workspace it
 * was made for; another's link is left as it is), then the workspace
 * signs the person in (portal_link_sign_in(), tenant 045: an active
 * member, the email-link policy on; the address is verified by it) and
 * the session is a password sign-in's: the refresh cookie and a redirect
 * into the app, which refreshes for its access token. Any refusal is an
 * HTML page that says why and links to the sign-in form.
 */

/* SQL: sql/catalog/012_portal.sql, sql/tenant/045_portal.sql */
#include "ngx_kanban_portal.h"
#include "ngx_kanban_session.h"
#include "ngx_kanban_oauth.h"


typedef struct {
    ngx_kanban_session_t       session;
    ngx_str_t                  address;
} ngx_kanban_portal_link_t;


static void ngx_kanban_portal_link_spent(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_link_signed_in(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_portal_link_page(ngx_http_request_t *r,
    ngx_str_t *outcome);


static ngx_kanban_pg_stmt_t  ngx_kanban_portal_spend = ngx_kanban_pg_stmt(
    "portal_spend",
    "SELECT outcome, address FROM portal_spend($1, $2)");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_sign_in = ngx_kanban_pg_stmt(
    "portal_link_sign_in",
    "SELECT outcome, user_id"
    "  FROM portal_link_sign_in($1, $2, $3, $4::inet, $5::int)");


ngx_int_t
ngx_kanban_portal_link_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    u_char                     digest[SHA256_DIGEST_LENGTH];
    ngx_str_t                  token, hash;
    ngx_str_t                  unknown = ngx_string("unknown");
    ngx_uint_t                 i;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_pg_query_t     *q;
    ngx_kanban_portal_link_t  *pl;

    if (ngx_http_arg(r, (u_char *) "token", 5, &token) != NGX_OK
        || token.len != NGX_KANBAN_PORTAL_TOKEN_LEN)
    {
        return ngx_kanban_portal_link_page(r, &unknown);
    }

    for (i = 0; i < token.len; i++) {
        if (!((token.data[i] >= '0' && token.data[i] <= '9')
              || (token.data[i] >= 'a' && token.data[i] <= 'f')))
        {
            return ngx_kanban_portal_link_page(r, &unknown);
        }
    }

    SHA256(token.data, token.len, digest);

    hash.data = ngx_pnalloc(r->pool, 2 * sizeof(digest));
    pl = ngx_pcalloc(r->pool, sizeof(ngx_kanban_portal_link_t));
    if (hash.data == NULL || pl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hash.len = ngx_hex_dump(hash.data, digest, sizeof(digest)) - hash.data;

    ctx->data = pl;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_portal_spend,
                             ngx_kanban_portal_link_spent, 2, &hash,
                             &ctx->tenant->slug)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_portal_link_spent(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                 *outcome, *address;
    ngx_kanban_ctx_t          *ctx;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_portal_link_t  *pl;

    ctx = ngx_kanban_ctx(r);
    pl = ctx->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    outcome = ngx_kanban_pg_value(r, q->result, 0, 0);
    address = ngx_kanban_pg_value(r, q->result, 0, 1);

    if (outcome == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (outcome->len != 2 || ngx_strncmp(outcome->data, "ok", 2) != 0) {
        ngx_http_finalize_request(r,
                                  ngx_kanban_portal_link_page(r, outcome));
        return;
    }

    if (address == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    pl->address = *address;

    if (ngx_kanban_session_create(r, &pl->session) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    pl->session.cookie = 1;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_portal_sign_in,
                             ngx_kanban_portal_link_signed_in, 5,
                             &pl->address, &pl->session.hash,
                             pl->session.user_agent, pl->session.addr,
                             &pl->session.lifetime)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_portal_link_signed_in(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t                  home = ngx_string("/");
    ngx_str_t                 *outcome;
    ngx_kanban_portal_link_t  *pl;

    pl = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    outcome = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (outcome == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (outcome->len != 2 || ngx_strncmp(outcome->data, "ok", 2) != 0) {
        ngx_http_finalize_request(r,
                                  ngx_kanban_portal_link_page(r, outcome));
        return;
    }

    if (ngx_kanban_session_cookie(r, &pl->session) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_oauth_redirect(r, &home));
}


/* Why a link did not sign anybody in, as a page for a person. */

static ngx_int_t
ngx_kanban_portal_link_page(ngx_http_request_t *r, ngx_str_t *outcome)
{
    u_char      *p;
    char        *why;
    ngx_str_t    body, type = ngx_string("text/html; charset=utf-8");
    ngx_str_t    no_store = ngx_string("no-store");
    ngx_uint_t   status;

    status = NGX_HTTP_FORBIDDEN;

    if (outcome->len == 4 && ngx_strncmp(outcome->data, "used", 4) == 0) {
        why = "This sign-in link has been used already. Each link works "
              "once.";
        status = 410;   /* Gone */

    } else if (outcome->len == 7
               && ngx_strncmp(outcome->data, "expired", 7) == 0)
    {
        why = "This sign-in link has expired.";
        status = 410;   /* Gone */

    } else if (outcome->len == 7
               && ngx_strncmp(outcome->data, "foreign", 7) == 0)
    {
        why = "This sign-in link is for another workspace.";

    } else if (outcome->len == 6
               && ngx_strncmp(outcome->data, "policy", 6) == 0)
    {
        why = "This workspace does not take sign-in links.";

    } else if (outcome->len == 10
               && ngx_strncmp(outcome->data, "not_member", 10) == 0)
    {
        why = "This address is no longer an active member here.";

    } else {
        why = "This sign-in link is not valid.";
    }

    body.data = ngx_pnalloc(r->pool, 1024);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body.data,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Sign-in link</title></head>"
        "<body style=\"font-family:sans-serif;max-width:32em;margin:4em auto\">"
        "<h1>Sign-in link</h1><p id=\"why\">%s</p>"
        "<p><a href=\"/signin\">Sign in</a> with your password or another "
        "way, or ask for a new link.</p></body></html>", why);

    body.len = p - body.data;

    if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_text(r, status, &type, &body);
}
