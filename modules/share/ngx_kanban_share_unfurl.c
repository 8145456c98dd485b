
/*
 * A chat app's link preview of a shared task or project: a crawler
 * (kanban_share_bots) at /s/{code} gets a small HTML page with Open Graph
 * and Twitter card tags, the title and description of what is shared
 * (share_link_unfurl), rather than the redirect to the app's page, whose
 * tags a script would fill and crawlers do not run. The link is judged
 * first as for anyone: a password or an expiry keep the preview out. The
 * crawler's visit is recorded as a bot's, not counted.
 *
 * A headless browser is counted as a bot too, but it runs the app's
 * scripts like a person's browser: it gets the redirect, and the page.
 */

/* SQL: sql/tenant/088_share_link_unfurl.sql */
#include "ngx_kanban_share.h"


static void ngx_kanban_share_unfurled(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_share_unfurl_page(ngx_http_request_t *r,
    ngx_str_t *title, ngx_str_t *description);
static u_char *ngx_kanban_share_escaped(ngx_pool_t *pool, ngx_str_t *s,
    size_t *len);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_unfurl_stmt =
    ngx_kanban_pg_stmt("share_unfurl",
    "SELECT title, description FROM share_link_unfurl($1::uuid)");


ngx_int_t
ngx_kanban_share_unfurl(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (ngx_kanban_share_visit(r, ctx->tenant, &ctx->link, NULL, 0)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: a visit of share link %V not recorded",
                      &ctx->link.id);
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_unfurl_stmt,
                             ngx_kanban_share_unfurled, 1, &ctx->link.id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_share_unfurled(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t               *title, *description, none = ngx_null_string;
    ngx_kanban_share_ctx_t  *ctx;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        /* deleted or revoked since the cache saw it */
        ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_share_module);
        ngx_http_finalize_request(r,
            ngx_kanban_share_refuse(r, ctx, NGX_KANBAN_SHARE_EXPIRED));
        return;
    }

    title = ngx_kanban_pg_value(r, q->result, 0, 0);
    description = ngx_kanban_pg_value(r, q->result, 0, 1);

    ngx_http_finalize_request(r, ngx_kanban_share_unfurl_page(r,
        title ? title : &none, description ? description : &none));
}


static ngx_int_t
ngx_kanban_share_unfurl_page(ngx_http_request_t *r, ngx_str_t *title,
    ngx_str_t *description)
{
    u_char     *p, *t, *d;
    size_t      tlen, dlen, len;
    ngx_str_t   body, type = ngx_string("text/html; charset=utf-8");
    ngx_str_t   no_store = ngx_string("private, no-store");

    static char  page[] =
        "<!doctype html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"robots\" content=\"noindex\">\n"
        "<title>%*s</title>\n"
        "<meta property=\"og:type\" content=\"website\">\n"
        "<meta property=\"og:title\" content=\"%*s\">\n"
        "<meta property=\"og:description\" content=\"%*s\">\n"
        "<meta name=\"twitter:card\" content=\"summary\">\n"
        "<meta name=\"twitter:title\" content=\"%*s\">\n"
        "<meta name=\"twitter:description\" content=\"%*s\">\n"
        "</head>\n<body>\n<h1>%*s</h1>\n<p>%*s</p>\n</body>\n</html>\n";

    t = ngx_kanban_share_escaped(r->pool, title, &tlen);
    d = ngx_kanban_share_escaped(r->pool, description, &dlen);

    if (t == NULL || d == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof(page) + 4 * tlen + 3 * dlen;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;
    p = ngx_sprintf(p, page, tlen, t, tlen, t, dlen, d, tlen, t, dlen, d,
                    tlen, t, dlen, d);
    body.len = p - body.data;

    if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_text(r, NGX_HTTP_OK, &type, &body);
}


/* s with <, >, & and " as entities: fit for text and attributes */

static u_char *
ngx_kanban_share_escaped(ngx_pool_t *pool, ngx_str_t *s, size_t *len)
{
    u_char  *p;

    *len = s->len + ngx_escape_html(NULL, s->data, s->len);

    p = ngx_pnalloc(pool, *len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_escape_html(p, s->data, s->len);

    return p;
}


ngx_uint_t
ngx_kanban_share_runs_scripts(ngx_http_request_t *r)
{
    ngx_str_t  *ua;

    static u_char  headless[] = "HeadlessChrome";

    if (r->headers_in.user_agent == NULL) {
        return 0;
    }

    ua = &r->headers_in.user_agent->value;

    return ngx_strlcasestrn(ua->data, ua->data + ua->len, headless,
                            sizeof(headless) - 2)
           != NULL;
}
