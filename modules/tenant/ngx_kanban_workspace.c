
/*
 * GET /api/v1/workspace: the public face of a workspace (its name and
 * whether anyone may register), read from the tenant's own database; the
 * sign-in page shows it before anyone has a token.
 */

#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"


static void ngx_kanban_workspace_read(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_workspace_get = ngx_kanban_pg_stmt(
    "workspace_get",
    "SELECT json_build_object("
    "  'slug', $1::text,"
    "  'name', (SELECT value #>> '{}' FROM settings WHERE key = 'name'),"
    "  'open_registration', coalesce((SELECT value = 'true'::jsonb"
    "                                   FROM settings"
    "                                  WHERE key = 'open_registration'),"
    "                                false))");


ngx_int_t
ngx_kanban_workspace_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_workspace_get,
                             ngx_kanban_workspace_read, 1, &ctx->tenant->slug)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_workspace_read(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t  *json;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    json = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (json == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the result is freed after this handler: the body is sent now, and
     * a copy is kept in case the client's socket is slow */
    json->data = ngx_pstrdup(r->pool, json);
    if (json->data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK, json));
}
