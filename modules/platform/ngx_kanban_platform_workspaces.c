
/*
 * The console's workspaces: GET /api/v1/platform/workspaces (filters,
 * sorts, cursor pages over the catalog and its kept figures), GET and
 * PATCH /api/v1/platform/workspaces/{slug} (status, plan, limits). An
 * operator sees figures, never a workspace's contents: nothing here
 * opens a workspace's database.
 *
 * A status change is the catalog's; every nginx node forgets its cached
 * row at once (the kanban:tenant: channel the moves use), so a suspended
 * workspace answers 403 tenant_suspended from its next request, and a
 * resumed one is back as it was (its database is never touched).
 */

/* SQL: sql/catalog/008_operators.sql, 009_workspace_deletion.sql */
#include "ngx_kanban_platform.h"
#include "ngx_kanban_redis.h"
#include "ngx_kanban_tenant_module.h"


static ngx_int_t ngx_kanban_platform_workspace_patch_run(
    ngx_http_request_t *r, ngx_kanban_ctx_t *ctx);
static void ngx_kanban_platform_workspace_changed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static char *ngx_kanban_platform_status_check(ngx_str_t *value,
    char **message);


static ngx_kanban_field_t  ngx_kanban_platform_limits_fields[] = {
    { "max_users", NGX_KANBAN_FIELD_INTEGER, 0, 1, 10000000, NULL, NULL },
    { "max_storage_bytes", NGX_KANBAN_FIELD_INTEGER, 0, 1,
      (ngx_int_t) 1 << 50, NULL, NULL },
    { "api_rate", NGX_KANBAN_FIELD_INTEGER, 0, 1, 1000000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_platform_workspace_patch_fields[] = {
    { "status", NGX_KANBAN_FIELD_STRING, 0, 1, 20, NULL,
      ngx_kanban_platform_status_check },
    { "plan", NGX_KANBAN_FIELD_STRING, 0, 1, 32, NULL, NULL },
    { "limits", NGX_KANBAN_FIELD_OBJECT, 0, 0, 0,
      ngx_kanban_platform_limits_fields, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/*
 * $1 status, $2 server, $3 q (in the slug or the name), $4 sort (a key,
 * "-" first for descending), $5 limit, $6 cursor: the last row's key and
 * slug, "KEY~SLUG". Keys are numbers (epoch seconds, bytes, counts), so
 * one row comparison walks any sort; the slug breaks ties.
 */
ngx_kanban_sql_t  ngx_kanban_platform_workspaces_list = {
    ngx_kanban_pg_stmt("platform_workspaces_list",
    "WITH o AS (SELECT ltrim(p.s, '-') AS key, left(p.s, 1) = '-' AS down,"
    "                  coalesce($5::int, 50) AS lim, $6::text AS cur,"
    "                  CASE WHEN $6 IS NOT NULL"
    "                       THEN split_part($6, '~', 1)::numeric END AS ck,"
    "                  CASE WHEN $6 IS NOT NULL"
    "                       THEN substr($6, strpos($6, '~') + 1) END AS cs"
    "             FROM (SELECT coalesce($4::text, '-created_at') AS s) p),"
    "     w AS (SELECT t.id, t.slug,"
    "                  CASE o.key"
    "                  WHEN 'created_at' THEN extract(epoch FROM t.created_at)"
    "                  WHEN 'last_active_at'"
    "                  THEN coalesce(extract(epoch FROM f.last_active_at), 0)"
    "                  WHEN 'size' THEN coalesce(f.size_bytes, 0)"
    "                  WHEN 'users' THEN coalesce(f.users, 0)"
    "                  ELSE coalesce(f.tasks, 0) END AS k"
    "             FROM tenants t"
    "             LEFT JOIN tenant_figures f ON f.tenant_id = t.id, o"
    "            WHERE ($1::text IS NULL OR t.status = $1)"
    "              AND ($2::text IS NULL OR t.server = $2)"
    "              AND ($3::text IS NULL"
    "                   OR strpos(t.slug, lower($3)) > 0"
    "                   OR strpos(lower(t.name), lower($3)) > 0)),"
    /* the page and one more (is there a next?): a top-N sort, not a
     * sort of every workspace */
    "     page AS (SELECT w.* FROM w, o"
    "               WHERE o.cur IS NULL"
    "                  OR (o.down AND (w.k, w.slug) < (o.ck, o.cs))"
    "                  OR (NOT o.down AND (w.k, w.slug) > (o.ck, o.cs))"
    "               ORDER BY CASE WHEN o.down THEN w.k END DESC,"
    "                        CASE WHEN o.down THEN w.slug END DESC,"
    "                        CASE WHEN NOT o.down THEN w.k END,"
    "                        CASE WHEN NOT o.down THEN w.slug END"
    "               LIMIT (SELECT lim + 1 FROM o)),"
    "     r AS (SELECT page.*, row_number() OVER (ORDER BY"
    "                    CASE WHEN o.down THEN page.k END DESC,"
    "                    CASE WHEN o.down THEN page.slug END DESC,"
    "                    CASE WHEN NOT o.down THEN page.k END,"
    "                    CASE WHEN NOT o.down THEN page.slug END) AS n"
    "             FROM page, o)"
    " SELECT 200, json_build_object("
    "   'items', coalesce((SELECT json_agg(platform_workspace_json(t, f)"
    "                                      ORDER BY r.n)"
    "                        FROM r JOIN tenants t ON t.id = r.id"
    "                        LEFT JOIN tenant_figures f"
    "                          ON f.tenant_id = r.id, o"
    "                       WHERE r.n <= o.lim), '[]'::json),"
    "   'next_cursor', (SELECT r.k::text || '~' || r.slug FROM r, o"
    "                    WHERE r.n = o.lim"
    "                      AND EXISTS (SELECT 1 FROM r r2"
    "                                   WHERE r2.n = o.lim + 1)),"
    "   'total', (SELECT count(*) FROM w))"),
    { "query_enum:status=provisioning|active|suspended|moving|"
      "deleting|deleted",
      "query:server", "query:q",
      "query_enum:sort=created_at|-created_at|last_active_at|"
      "-last_active_at|size|-size|users|-users|tasks|-tasks",
      "query_limit:limit", "query:cursor", NULL },
    NULL
};


ngx_kanban_sql_t  ngx_kanban_platform_workspaces_get = {
    ngx_kanban_pg_stmt("platform_workspaces_get",
    "SELECT 200, platform_workspace_json(t, f)"
    "  FROM tenants t LEFT JOIN tenant_figures f ON f.tenant_id = t.id"
    " WHERE t.slug = $1"),
    { "arg:slug", NULL },
    NULL
};


/* $1 operator, $2 address, $3 slug, $4 body. Only an active or
 * suspended workspace changes status (409 while it is provisioned or
 * moved); the audit row keeps what was before. */
ngx_kanban_sql_t  ngx_kanban_platform_workspaces_patch = {
    ngx_kanban_pg_stmt("platform_workspaces_patch",
    "WITH b AS (SELECT $4::jsonb j),"
    "     old AS (SELECT t.* FROM tenants t WHERE t.slug = $3 FOR UPDATE),"
    "     ok AS (SELECT (NOT j ? 'status'"
    "                    OR old.status IN ('active', 'suspended')) AS yes"
    "              FROM b, old),"
    "     u AS (UPDATE tenants t"
    "              SET status = coalesce(j->>'status', t.status),"
    "                  plan = coalesce(j->>'plan', t.plan),"
    "                  max_users = CASE WHEN j->'limits' ? 'max_users'"
    "                      THEN (j->'limits'->>'max_users')::int"
    "                      ELSE t.max_users END,"
    "                  max_storage_bytes ="
    "                      CASE WHEN j->'limits' ? 'max_storage_bytes'"
    "                      THEN (j->'limits'->>'max_storage_bytes')::bigint"
    "                      ELSE t.max_storage_bytes END,"
    "                  api_rate = CASE WHEN j->'limits' ? 'api_rate'"
    "                      THEN (j->'limits'->>'api_rate')::int"
    "                      ELSE t.api_rate END,"
    "                  updated_at = now()"
    "             FROM b, ok WHERE t.slug = $3 AND ok.yes"
    "           RETURNING t AS row, t.id, t.slug),"
    "     a AS (INSERT INTO platform_audit (operator_id, operator_email,"
    "                                       action, workspace, details,"
    "                                       address)"
    "           SELECT $1::uuid,"
    "                  (SELECT email FROM operators WHERE id = $1::uuid),"
    "                  CASE WHEN j->>'status' = 'suspended'"
    "                            AND old.status <> 'suspended'"
    "                       THEN 'workspace.suspended'"
    "                       WHEN j->>'status' = 'active'"
    "                            AND old.status = 'suspended'"
    "                       THEN 'workspace.resumed'"
    "                       ELSE 'workspace.updated' END,"
    "                  u.slug,"
    "                  jsonb_build_object('change', j, 'before',"
    "                      jsonb_build_object('status', old.status,"
    "                          'plan', old.plan,"
    "                          'limits', jsonb_build_object("
    "                              'max_users', old.max_users,"
    "                              'max_storage_bytes',"
    "                              old.max_storage_bytes,"
    "                              'api_rate', old.api_rate))),"
    "                  $2::inet"
    "             FROM u, old, b)"
    " SELECT CASE WHEN ok.yes THEN 200 ELSE 409 END,"
    "        CASE WHEN ok.yes"
    "             THEN (SELECT platform_workspace_json(u.row, f)::text"
    "                     FROM u LEFT JOIN tenant_figures f"
    "                       ON f.tenant_id = u.id)"
    "             ELSE 'conflict' END,"
    "        CASE WHEN ok.yes THEN NULL"
    "             ELSE 'This workspace is ' || old.status || ' now; its "
    "status changes once that is done.' END"
    "   FROM ok, old"),
    { NULL },
    NULL
};


static char *
ngx_kanban_platform_status_check(ngx_str_t *value, char **message)
{
    if ((value->len == 6 && ngx_strncmp(value->data, "active", 6) == 0)
        || (value->len == 9
            && ngx_strncmp(value->data, "suspended", 9) == 0))
    {
        return NULL;
    }

    *message = "An operator sets a workspace active or suspended.";
    return "invalid_value";
}


ngx_int_t
ngx_kanban_platform_workspace_patch_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_guard(r, ctx,
                                     ngx_kanban_platform_workspace_patch_run);
}


static ngx_int_t
ngx_kanban_platform_workspace_patch_run(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_platform_workspace_change(r, ctx,
               &ngx_kanban_platform_workspaces_patch.stmt);
}


/* A change of a workspace's catalog row by stmt ($1 operator, $2 address,
 * $3 slug, $4 the body when there is one), answered as ngx_kanban_sql_t
 * statements are, and followed by every node. */

ngx_int_t
ngx_kanban_platform_workspace_change(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_pg_stmt_t *stmt)
{
    ngx_str_t              *slug;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    slug = ngx_kanban_arg(ctx, "slug");

    if (slug == NULL || !ngx_kanban_slug_valid(slug)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, stmt, ngx_kanban_platform_workspace_changed,
                             ctx->raw_body.len ? 4 : 3,
                             &ctx->identity->user_id,
                             &r->connection->addr_text, slug,
                             &ctx->raw_body)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* Committed: every node drops the workspace's cached row (this one at
 * once even without Redis), then the statement's answer. */

static void
ngx_kanban_platform_workspace_changed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t  *status, *slug;

    slug = ngx_kanban_arg(ngx_kanban_ctx(r), "slug");

    status = q->error == NGX_KANBAN_PG_OK && PQntuples(q->result) == 1
             ? ngx_kanban_pg_value(r, q->result, 0, 0) : NULL;

    if (status && status->len == 3 && ngx_strncmp(status->data, "200", 3) == 0)
    {
        ngx_kanban_tenant_forget(slug);

        if (ngx_kanban_redis_command(NULL, NULL, "PUBLISH kanban:tenant:%b %s",
                                     slug->data, slug->len, "updated")
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "kanban: workspace \"%V\" changed; other nodes "
                          "follow within the tenant cache's ttl (Redis is "
                          "away)", slug);
        }
    }

    ngx_kanban_sql_answer(r, q);
}
