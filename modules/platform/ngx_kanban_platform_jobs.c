
/*
 * The console's long work (sql/catalog/014_jobs.sql): GET
 * /api/v1/platform/jobs (filters kind, state, workspace; cursor pages,
 * newest first), GET /api/v1/platform/jobs/{id}, GET
 * /api/v1/platform/schema-versions (what the roll-outs have reached), and
 * POST /api/v1/platform/workspaces/{slug}/move, which queues a move for a
 * runner (kanbanctl jobs run): nginx never does the work itself.
 */

/* SQL: sql/catalog/014_jobs.sql */
#include "ngx_kanban_platform.h"


static char *ngx_kanban_platform_server_check(ngx_str_t *value,
    char **message);


ngx_kanban_field_t  ngx_kanban_platform_move_fields[] = {
    { "server", NGX_KANBAN_FIELD_STRING, 1, 1, 63, NULL,
      ngx_kanban_platform_server_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* $1 kind, $2 state, $3 workspace, $4 limit, $5 cursor: the last row's
 * "MICROSECONDS~ID" (its created_at since the epoch, then its id for
 * ties). */
ngx_kanban_sql_t  ngx_kanban_platform_jobs_list = {
    ngx_kanban_pg_stmt("platform_jobs_list",
    "WITH c AS (SELECT CASE WHEN $5::text IS NOT NULL"
    "                       THEN timestamptz 'epoch' + interval '1 microsecond'"
    "                            * split_part($5, '~', 1)::bigint"
    "                  END AS ct,"
    "                  CASE WHEN $5::text IS NOT NULL"
    "                       THEN split_part($5, '~', 2)::uuid END AS cid,"
    "                  coalesce($4::int, 50) AS lim),"
    "     page AS (SELECT s.j, row_number() OVER"
    "                       (ORDER BY (s.j).created_at DESC, (s.j).id DESC)"
    "                       AS n"
    "                FROM (SELECT j FROM jobs j, c"
    "                       WHERE ($1::text IS NULL OR j.kind = $1)"
    "                         AND ($2::text IS NULL OR j.state = $2)"
    "                         AND ($3::text IS NULL OR j.workspace = $3)"
    "                         AND (c.ct IS NULL"
    "                              OR (j.created_at, j.id) < (c.ct, c.cid))"
    "                       ORDER BY j.created_at DESC, j.id DESC"
    "                       LIMIT (SELECT lim + 1 FROM c)) s)"
    " SELECT 200, json_build_object("
    "   'items', coalesce((SELECT json_agg(platform_job_json(p.j)"
    "                                      ORDER BY p.n)"
    "                        FROM page p, c WHERE p.n <= c.lim), '[]'::json),"
    "   'next_cursor', (SELECT (extract(epoch FROM (p.j).created_at)"
    "                           * 1000000)::bigint::text"
    "                          || '~' || (p.j).id"
    "                     FROM page p, c WHERE p.n = c.lim"
    "                      AND EXISTS (SELECT 1 FROM page p2"
    "                                   WHERE p2.n > c.lim)))"),
    { "query_enum:kind=provision|export|delete|move|migrate",
      "query_enum:state=queued|running|succeeded|failed",
      "query:workspace", "query_limit:limit", "query:cursor", NULL },
    NULL
};


ngx_kanban_sql_t  ngx_kanban_platform_jobs_get = {
    ngx_kanban_pg_stmt("platform_jobs_get",
    "SELECT 200, platform_job_json(j) FROM jobs j WHERE j.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};


/* How many workspaces are on each schema version (the ones with a
 * database: not provisioned yet or purged ones are not counted), and the
 * newest: the roll-out's target. */
ngx_kanban_sql_t  ngx_kanban_platform_versions = {
    ngx_kanban_pg_stmt("platform_schema_versions",
    "SELECT 200, json_build_object("
    "   'latest', coalesce(max(v.version), 0),"
    "   'workspaces', coalesce(sum(v.n), 0),"
    "   'versions', coalesce(json_agg(json_build_object("
    "                   'version', v.version, 'workspaces', v.n)"
    "                   ORDER BY v.version DESC), '[]'::json))"
    "  FROM (SELECT schema_version AS version, count(*) AS n FROM tenants"
    "         WHERE status NOT IN ('provisioning', 'deleted')"
    "         GROUP BY schema_version) v"),
    { NULL },
    NULL
};


/*
 * $1 operator, $2 address, $3 slug, $4 body {server}: 202 with the queued
 * job; 404 for no such workspace, 422 for no such active server, 409
 * when the workspace is not active, is on that server already, or has a
 * move queued or running (the unique index jobs_one_move decides).
 */
ngx_kanban_sql_t  ngx_kanban_platform_move = {
    ngx_kanban_pg_stmt("platform_workspace_move",
    "WITH b AS (SELECT $4::jsonb->>'server' AS server),"
    "     t AS (SELECT t.* FROM tenants t WHERE t.slug = $3),"
    "     s AS (SELECT s.name FROM servers s, b"
    "            WHERE s.name = b.server AND s.status = 'active'),"
    "     why AS (SELECT CASE"
    "                WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'none'"
    "                WHEN NOT EXISTS (SELECT 1 FROM s) THEN 'server'"
    "                WHEN (SELECT status FROM t) <> 'active' THEN 'status'"
    "                WHEN (SELECT server FROM t) = (SELECT server FROM b)"
    "                THEN 'there' END AS no),"
    "     j AS (INSERT INTO jobs (kind, workspace, params, operator_id,"
    "                             requested_by)"
    "           SELECT 'move', t.slug,"
    "                  jsonb_build_object('server', b.server,"
    "                                     'from', t.server),"
    "                  $1::uuid,"
    "                  (SELECT email FROM operators WHERE id = $1::uuid)"
    "             FROM t, b, why WHERE why.no IS NULL"
    "           ON CONFLICT (workspace)"
    "              WHERE kind = 'move' AND state IN ('queued', 'running')"
    "              DO NOTHING"
    "           RETURNING *),"
    "     a AS (INSERT INTO platform_audit (operator_id, operator_email,"
    "                                       action, workspace, details,"
    "                                       address)"
    "           SELECT $1::uuid, j.requested_by, 'workspace.move_queued',"
    "                  j.workspace, j.params || jsonb_build_object("
    "                                  'job', j.id),"
    "                  $2::inet"
    "             FROM j)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM j) THEN 202"
    "             WHEN why.no = 'none' THEN 404"
    "             WHEN why.no = 'server' THEN 422 ELSE 409 END,"
    "        coalesce((SELECT platform_job_json(j::jobs)::text FROM j),"
    "                 CASE WHEN why.no = 'none' THEN 'not_found'"
    "                      WHEN why.no = 'server' THEN 'validation_failed'"
    "                      ELSE 'conflict' END),"
    "        CASE WHEN EXISTS (SELECT 1 FROM j) THEN NULL"
    "             WHEN why.no = 'none' THEN 'There is no such workspace.'"
    "             WHEN why.no = 'server'"
    "             THEN 'There is no active server of that name.'"
    "             WHEN why.no = 'status'"
    "             THEN 'Only an active workspace is moved; this one is '"
    "                  || (SELECT status FROM t) || '.'"
    "             WHEN why.no = 'there'"
    "             THEN 'The workspace is on that server already.'"
    "             ELSE 'A move of this workspace is queued or running.' END"
    "   FROM why"),
    { "actor", "addr", "arg:slug", "body", NULL },
    NULL
};


/* $1 operator, $2 address, $3 slug: a workspace's full export, which the
 * runner does and its admins download (an operator sees its progress,
 * never its content); asked again while one is under way, that one */
ngx_kanban_sql_t  ngx_kanban_platform_export = {
    ngx_kanban_pg_stmt("platform_workspace_export",
    "WITH t AS (SELECT t.slug, t.status FROM tenants t WHERE t.slug = $3),"
    "     j AS (SELECT x.* FROM t, export_queue(t.slug,"
    "                             (SELECT email FROM operators"
    "                               WHERE id = $1::uuid),"
    "                             $1::uuid, '{}') x"
    "            WHERE x.id IS NOT NULL),"
    "     a AS (INSERT INTO platform_audit (operator_id, operator_email,"
    "                                       action, workspace, details,"
    "                                       address)"
    "           SELECT $1::uuid, (SELECT email FROM operators"
    "                              WHERE id = $1::uuid),"
    "                  'workspace.export_queued', j.workspace,"
    "                  jsonb_build_object('job', j.id), $2::inet"
    "             FROM j)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM j) THEN 202"
    "             WHEN NOT EXISTS (SELECT 1 FROM t) THEN 404 ELSE 409 END,"
    "        coalesce((SELECT platform_job_json(j::jobs)::text FROM j),"
    "                 CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'not_found'"
    "                      ELSE 'conflict' END),"
    "        CASE WHEN EXISTS (SELECT 1 FROM j) THEN NULL"
    "             WHEN NOT EXISTS (SELECT 1 FROM t)"
    "             THEN 'There is no such workspace.'"
    "             ELSE 'This workspace is ' || (SELECT status FROM t)"
    "                  || '; only one with a database is exported.' END"),
    { "actor", "addr", "arg:slug", NULL },
    NULL
};


/* a server's name as kanbanctl server add takes it */
static char *
ngx_kanban_platform_server_check(ngx_str_t *value, char **message)
{
    size_t  i;
    u_char  c;

    for (i = 0; i < value->len; i++) {
        c = value->data[i];

        if (!((c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')
              || (i > 0 && c == '-')))
        {
            *message = "A server's name is lower-case letters, digits and "
                       "'-', a letter first.";
            return "invalid_value";
        }
    }

    return NULL;
}
