
/*
 * A workspace deleted by an operator, with a grace period: DELETE
 * /api/v1/platform/workspaces/{slug} makes it answer 410 tenant_deleted at
 * once (its database untouched), POST .../restore within the 30 days
 * brings it back as it was, in the status it had; after them kanbanctl
 * purge drops its database and keeps the slug reserved for 90 days. The
 * deletion is a job (kind delete) running until the purge ends it, or
 * failed as cancelled by a restore.
 */

/* SQL: sql/catalog/009_workspace_deletion.sql, 014_jobs.sql */
#include "ngx_kanban_platform.h"


#define NGX_KANBAN_PLATFORM_GRACE  "30 days"


static ngx_int_t ngx_kanban_platform_delete_run(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_platform_restore_run(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);


/* $1 operator, $2 address, $3 slug */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_delete =
    ngx_kanban_pg_stmt("platform_workspace_delete",
    "WITH old AS (SELECT t.* FROM tenants t WHERE t.slug = $3 FOR UPDATE),"
    "     u AS (UPDATE tenants t SET status = 'deleting',"
    "                  status_before_delete = old.status,"
    "                  deleted_at = now(),"
    "                  purge_after = now() + interval '"
    NGX_KANBAN_PLATFORM_GRACE "',"
    "                  updated_at = now()"
    "             FROM old"
    "            WHERE t.id = old.id AND old.status IN ('active', 'suspended')"
    "           RETURNING t AS row, t.id, t.slug, t.purge_after),"
    /* the deletion is a job until kanbanctl purge ends it (or a restore) */
    "     j AS (INSERT INTO jobs (kind, workspace, state, params,"
    "                             operator_id, requested_by, attempts,"
    "                             started_at)"
    "           SELECT 'delete', u.slug, 'running',"
    "                  jsonb_build_object('purge_after', u.purge_after),"
    "                  $1::uuid,"
    "                  (SELECT email FROM operators WHERE id = $1::uuid),"
    "                  1, now()"
    "             FROM u),"
    "     a AS (INSERT INTO platform_audit (operator_id, operator_email,"
    "                                       action, workspace, details,"
    "                                       address)"
    "           SELECT $1::uuid,"
    "                  (SELECT email FROM operators WHERE id = $1::uuid),"
    "                  'workspace.deleted', u.slug,"
    "                  jsonb_build_object('status_before', old.status,"
    "                                     'purge_after', u.purge_after),"
    "                  $2::inet"
    "             FROM u, old)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 200 ELSE 409 END,"
    "        coalesce((SELECT platform_workspace_json(u.row, f)::text"
    "                    FROM u LEFT JOIN tenant_figures f"
    "                      ON f.tenant_id = u.id), 'conflict'),"
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM u)"
    "             THEN 'This workspace is ' || old.status || '; only an "
    "active or suspended one is deleted.' END"
    "   FROM old");

/* $1 operator, $2 address, $3 slug: within the grace period only */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_restore =
    ngx_kanban_pg_stmt("platform_workspace_restore",
    "WITH old AS (SELECT t.* FROM tenants t WHERE t.slug = $3 FOR UPDATE),"
    "     u AS (UPDATE tenants t SET status = old.status_before_delete,"
    "                  status_before_delete = NULL, deleted_at = NULL,"
    "                  purge_after = NULL, updated_at = now()"
    "             FROM old"
    "            WHERE t.id = old.id AND old.status = 'deleting'"
    "              AND old.purge_after > now()"
    "           RETURNING t AS row, t.id, t.slug, t.status),"
    "     j AS (UPDATE jobs SET state = 'failed', finished_at = now(),"
    "                  error = 'cancelled: the workspace was restored "
    "within the grace period',"
    "                  result = result || '{\"cancelled_by\": \"restore\"}',"
    "                  updated_at = now()"
    "            WHERE kind = 'delete' AND state = 'running'"
    "              AND workspace IN (SELECT slug FROM u)),"
    "     a AS (INSERT INTO platform_audit (operator_id, operator_email,"
    "                                       action, workspace, details,"
    "                                       address)"
    "           SELECT $1::uuid,"
    "                  (SELECT email FROM operators WHERE id = $1::uuid),"
    "                  'workspace.restored', u.slug,"
    "                  jsonb_build_object('status', u.status,"
    "                                     'deleted_at', old.deleted_at),"
    "                  $2::inet"
    "             FROM u, old)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 200"
    "             WHEN old.status IN ('deleting', 'deleted') THEN 410"
    "             ELSE 409 END,"
    "        coalesce((SELECT platform_workspace_json(u.row, f)::text"
    "                    FROM u LEFT JOIN tenant_figures f"
    "                      ON f.tenant_id = u.id),"
    "                 CASE WHEN old.status IN ('deleting', 'deleted')"
    "                      THEN 'gone' ELSE 'conflict' END),"
    "        CASE WHEN EXISTS (SELECT 1 FROM u) THEN NULL"
    "             WHEN old.status IN ('deleting', 'deleted')"
    "             THEN 'The grace period is over: the workspace is (being) "
    "purged.'"
    "             ELSE 'This workspace is ' || old.status || ', not deleted.'"
    "             END"
    "   FROM old");


ngx_int_t
ngx_kanban_platform_delete_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_guard(r, ctx, ngx_kanban_platform_delete_run);
}


ngx_int_t
ngx_kanban_platform_restore_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_guard(r, ctx, ngx_kanban_platform_restore_run);
}


static ngx_int_t
ngx_kanban_platform_delete_run(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_workspace_change(r, ctx,
                                                &ngx_kanban_platform_delete);
}


static ngx_int_t
ngx_kanban_platform_restore_run(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_workspace_change(r, ctx,
                                                &ngx_kanban_platform_restore);
}
