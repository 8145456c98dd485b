
/*
 * A workspace's full export, as its admin asks for it: a job of the
 * catalog (catalog 021) that kanbanctl's runner does, its progress read
 * here, and the file it wrote into the workspace's own database (tenant
 * 061) downloaded when it is done. Served during the deletion's grace
 * period too (ngx_kanban_tenant_grace.c): it is how the data is taken
 * away.
 *
 * Job and state are the catalog's (ngx_kanban_sql_catalog_handler).
 *
 *   POST /api/v1/workspace/export             202 the job (queued, or the
 *                                             one already under way)
 *   GET  /api/v1/workspace/exports            the recent jobs, newest first
 *   GET  /api/v1/workspace/exports/{id}       the job
 *   GET  /api/v1/workspace/exports/{id}/download   the gzip'd JSON
 */

#include "ngx_kanban.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_tenant_routes.h"


/* enough for the page to find the latest, and a few before it */
#define NGX_KANBAN_WORKSPACE_EXPORTS_LISTED  "10"


static void ngx_kanban_workspace_export_read(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


/* $1 the workspace, $2 the admin */
ngx_kanban_sql_t  ngx_kanban_workspace_export_queue = {
    ngx_kanban_pg_stmt("workspace_export_queue",
    "WITH j AS (SELECT * FROM export_queue($1, 'workspace admin', NULL,"
    "                                      jsonb_build_object('user_id',"
    "                                                         $2::text)))"
    " SELECT CASE WHEN j.id IS NULL THEN 409 ELSE 202 END,"
    "        CASE WHEN j.id IS NULL THEN 'conflict'"
    "             ELSE workspace_export_json(j)::text END,"
    "        CASE WHEN j.id IS NULL THEN 'This workspace is being "
    "provisioned or moved; ask again once that is done.' END"
    "   FROM j"),
    { "tenant", "actor", NULL },
    NULL
};


/* $1 the workspace, $2 the job */
ngx_kanban_sql_t  ngx_kanban_workspace_export_get = {
    ngx_kanban_pg_stmt("workspace_export_get",
    "SELECT 200, workspace_export_json(j)::text FROM jobs j"
    " WHERE j.id = $2::uuid AND j.workspace = $1 AND j.kind = 'export'"),
    { "tenant", "uuid:id", NULL },
    NULL
};


/* $1 the workspace: its recent exports, newest first, so that the admin's
 * page finds the one under way (or the file to download) after a reload */
ngx_kanban_sql_t  ngx_kanban_workspace_exports_list = {
    ngx_kanban_pg_stmt("workspace_exports_list",
    "SELECT 200, json_build_object('items', coalesce(json_agg("
    "            workspace_export_json(j) ORDER BY j.created_at DESC,"
    "                                              j.id DESC), '[]'))::text"
    "  FROM (SELECT * FROM jobs x"
    "         WHERE x.workspace = $1 AND x.kind = 'export'"
    "         ORDER BY x.created_at DESC, x.id DESC"
    "         LIMIT " NGX_KANBAN_WORKSPACE_EXPORTS_LISTED ") j"),
    { "tenant", NULL },
    NULL
};


/* the newest file: the runner keeps no other */
static ngx_kanban_pg_stmt_t  ngx_kanban_workspace_export_file =
    ngx_kanban_pg_stmt("workspace_export_file",
    "SELECT content FROM workspace_exports WHERE job_id = $1::uuid");


ngx_int_t
ngx_kanban_workspace_export_download_handler(ngx_http_request_t *r,
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
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->binary_result = 1;

    if (ngx_kanban_pg_run(q, &ngx_kanban_workspace_export_file,
                          ngx_kanban_workspace_export_read, 1, id)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_workspace_export_read(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    u_char            *p;
    PGresult          *res;
    ngx_str_t          type = ngx_string("application/gzip");
    ngx_str_t          value, *data, *slug;
    ngx_kanban_ctx_t  *ctx;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    /* not done yet, failed, or replaced by a newer export */
    if (PQntuples(q->result) == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND,
                               "No such export is ready: see its state at "
                               "GET /api/v1/workspace/exports/{id}; only "
                               "the newest is kept."));
        return;
    }

    /* the bytes go from the result itself, kept until the request ends */
    res = ngx_kanban_pg_keep(r, q);
    data = res ? ngx_kanban_pg_value(r, res, 0, 0) : NULL;

    ctx = ngx_kanban_ctx(r);
    slug = &ctx->tenant->slug;

    /* a slug is [a-z0-9-]: nothing in it to quote */
    p = ngx_pnalloc(r->pool, sizeof("attachment; filename=\"-export.json.gz\"")
                             - 1 + slug->len);

    if (data == NULL || p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "attachment; filename=\"%V-export.json.gz\"",
                            slug) - p;

    if (ngx_kanban_add_header(r, "Content-Disposition", &value) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
                              ngx_kanban_send_text(r, NGX_HTTP_OK, &type,
                                                   data));
}
