
/*
 * GET /api/v1/workspace: the public face of a workspace (its name, whether
 * anyone may register, its time zone), read from the tenant's own
 * database, where it is kept as its settings were last written; the
 * sign-in page shows it before anyone has a token.
 * PATCH /api/v1/workspace: an admin's settings of it (the time zone,
 * open registration, the origins allowed to call the API). Both answer
 * with workspace_json (sql/tenant/019_cors_origins.sql).
 * GET /api/v1/workspace/usage: what counts against each limit of the
 * plan, beside the limit (sql/tenant/047_quotas.sql).
 */

/* SQL: sql/tenant/019_cors_origins.sql, 047_quotas.sql, 098_workspace_kept.sql */
#include "ngx_kanban_tenant_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_tenant_module.h"


static void ngx_kanban_workspace_read(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


/* the document kept as its settings were last written, the slug in
 * front (098_workspace_kept.sql): one row's text, no function call */
static ngx_kanban_pg_stmt_t  ngx_kanban_workspace_get =
    ngx_kanban_pg_shared_stmt("workspace_get",
        "SELECT '{\"slug\" : ' || to_json($1::text) || ', ' || rest"
        "  FROM workspace_kept");


/* an origin allowed to call the API (ngx_kanban_cors.c) */
static ngx_kanban_field_t  ngx_kanban_workspace_origin[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 8, 255, NULL,
      ngx_kanban_cors_origin_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* the time zone is checked against PostgreSQL's IANA database, the
 * currency against ISO 4217 (096_budget_figures_currency.sql) */
ngx_kanban_field_t  ngx_kanban_workspace_patch_fields[] = {
    { "open_registration", NGX_KANBAN_FIELD_BOOLEAN,
      NGX_KANBAN_NOT_NULL, 0, 0, NULL, NULL },
    { "time_zone", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 64, NULL, NULL },
    { "currency", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 3, 3, NULL, NULL },
    { "cors_origins", NGX_KANBAN_FIELD_ARRAY, 0, 0, 20,
      ngx_kanban_workspace_origin, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_sql_t  ngx_kanban_workspace_patch = {
    ngx_kanban_pg_stmt("workspace_patch",
    "SELECT * FROM workspace_update($1::uuid, $2, $3::jsonb)"),
    { "actor", "tenant", "body", NULL },
    NULL
};


ngx_kanban_sql_t  ngx_kanban_workspace_usage = {
    ngx_kanban_pg_stmt("workspace_usage",
    "SELECT 200, quota_usage()::text"),
    { NULL },
    NULL
};


/* PATCH: the statement, and this node's copy of the CORS list goes */

ngx_int_t
ngx_kanban_workspace_patch_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_cors_forget(r, &ctx->tenant->slug);

    return ngx_kanban_sql_handler(r, ctx);
}


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
    ngx_int_t  rc;

    rc = ngx_kanban_pg_send_document(r, q);

    ngx_http_finalize_request(r, rc == NGX_DECLINED
                                 ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc);
}
