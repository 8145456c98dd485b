
/*
 * The share-link API: /api/v1/share-links (create, list, one, revoke,
 * analytics, QR code) and /api/v1/shared/{code}, the public read of a
 * shared task, project or week's portfolio report.
 *
 * Creating one is several steps: the password (if any) is hashed in the
 * thread pool, a code is reserved in the catalog (which keeps codes
 * unique across workspaces; a collision draws a new code), then the link
 * is written with its audit row; a link that fails gives its code back.
 */

/* SQL: sql/catalog/002_share_codes.sql; sql/tenant/001_users.sql,
 * 005_kanban.sql, 011_share_links.sql, 015_workspace_calendar.sql,
 * 027_hot_reads.sql, 032_portfolio_report_share.sql,
 * 081_share_links_bulk.sql (tags and folders) */
#include "ngx_kanban_share_routes.h"
#include "ngx_kanban_share.h"

#include <openssl/rand.h>


#define NGX_KANBAN_SHARE_DRAWS       5


typedef struct {
    ngx_str_t                  hash;
    u_char                     code[NGX_KANBAN_SHARE_CODE_LEN];
    u_char                     secret[64];
    ngx_uint_t                 draws;
    PGresult                  *created;       /* the link, while the code */
} ngx_kanban_share_new_t;                     /* is given back on failure */


static void ngx_kanban_share_hashed(ngx_http_request_t *r, ngx_str_t *hash);
static ngx_int_t ngx_kanban_share_reserve(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_share_reserved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_created(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_released(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_revoked(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_qr_code(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_shared_resolved(ngx_http_request_t *r,
    ngx_kanban_share_link_t *link);
static ngx_int_t ngx_kanban_shared_read(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_share_link_t *link);


ngx_kanban_field_t  ngx_kanban_share_link_fields[] = {
    { "task_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "project_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "url", NGX_KANBAN_FIELD_STRING, 0, 1, 2048, NULL, NULL },
    { "expires_at", NGX_KANBAN_FIELD_STRING, 0, 1, 40, NULL, NULL },
    { "expires_in_seconds", NGX_KANBAN_FIELD_INTEGER, 0, 1, 315360000,
      NULL, NULL },
    { "password", NGX_KANBAN_FIELD_STRING, 0, 4, NGX_KANBAN_PASSWORD_MAX,
      NULL, NULL },
    { "max_visits", NGX_KANBAN_FIELD_INTEGER, 0, 1, 1000000000, NULL, NULL },
    { "report_week", NGX_KANBAN_FIELD_STRING, 0, 8, 8, NULL, NULL },
    { "tags", NGX_KANBAN_FIELD_ARRAY, 0, 0, 20, ngx_kanban_share_tag, NULL },
    { "folder", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_share_reserve_stmt =
    ngx_kanban_pg_stmt("share_reserve",
    "INSERT INTO share_codes (code, tenant_id) VALUES ($1, $2::uuid)"
    " ON CONFLICT DO NOTHING RETURNING code");

static ngx_kanban_pg_stmt_t  ngx_kanban_share_release_stmt =
    ngx_kanban_pg_stmt("share_release",
    "DELETE FROM share_codes WHERE code = $1 AND tenant_id = $2::uuid");


ngx_kanban_sql_t  ngx_kanban_share_links_create = {
    ngx_kanban_pg_stmt("share_links_create",
    "SELECT * FROM share_link_create_filed(false, $1::uuid, $2, $3, $4,"
    "                                      $5, $6, $7::jsonb)"),
    { NULL },
    NULL
};

/* a week's report: its own checks (032_portfolio_report_share.sql) */
static ngx_kanban_pg_stmt_t  ngx_kanban_share_links_create_report =
    ngx_kanban_pg_stmt("share_links_create_report",
    "SELECT * FROM share_link_create_filed(true, $1::uuid, $2, $3, $4,"
    "                                      $5, $6, $7::jsonb)");

ngx_kanban_sql_t  ngx_kanban_share_links_list = {
    ngx_kanban_pg_stmt("share_links_list",
    "WITH lim AS (SELECT least(greatest(coalesce($4::int, 50), 1), 200) n),"
    "     after AS (SELECT created_at, id FROM share_links"
    "                WHERE id = $5::uuid),"
    "     page AS (SELECT l FROM share_links l"
    "               WHERE share_link_visible($1::uuid, $2, l)"
    "                 AND ($5::uuid IS NULL"
    "                      OR (l.created_at, l.id) < (SELECT created_at, id"
    "                                                  FROM after))"
    "                 AND ($6::uuid IS NULL OR l.task_id = $6::uuid)"
    "                 AND ($7::uuid IS NULL OR l.project_id = $7::uuid)"
    "                 AND ($8::text IS NULL OR l.report_week = $8)"
    "                 AND ($9::text IS NULL OR l.tags @> ARRAY[$9::text])"
    "                 AND ($10::text IS NULL OR l.folder = $10)"
    "               ORDER BY l.created_at DESC, l.id DESC"
    "               LIMIT (SELECT n FROM lim))"
    " SELECT 200, json_build_object("
    "   'items', coalesce((SELECT json_agg(share_link_json(p.l, $3)"
    "                              ORDER BY (p.l).created_at DESC,"
    "                                       (p.l).id DESC) FROM page p),"
    "                     '[]'::json),"
    "   'next_cursor', CASE WHEN (SELECT count(*) FROM page)"
    "                            = (SELECT n FROM lim)"
    "                       THEN (SELECT (p.l).id::text FROM page p"
    "                              ORDER BY (p.l).created_at, (p.l).id"
    "                              LIMIT 1) END)"),
    { "actor", "role", "var:kanban_share_base", "query_limit:limit",
      "query_uuid:cursor", "query_uuid:task_id", "query_uuid:project_id",
      "query:report_week", "query:tag", "query:folder", NULL },
    NULL
};

/* another's link is 404, as if it did not exist */
ngx_kanban_sql_t  ngx_kanban_share_links_get = {
    ngx_kanban_pg_stmt("share_links_get",
    "SELECT 200, share_link_json(l, $3) FROM share_links l"
    " WHERE l.id = $4::uuid AND share_link_visible($1::uuid, $2, l)"),
    { "actor", "role", "var:kanban_share_base", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_share_links_revoke = {
    ngx_kanban_pg_stmt("share_links_revoke",
    "WITH l AS (UPDATE share_links l SET revoked_at = coalesce(revoked_at,"
    "                                                          now())"
    "            WHERE l.id = $3::uuid AND share_link_visible($1::uuid, $2, l)"
    "           RETURNING l.*),"
    "     a AS (INSERT INTO activity_log (actor_id, project_id, entity_type,"
    "                                     entity_id, action, old_values)"
    "           SELECT $1::uuid, coalesce(l.project_id, t.project_id),"
    "                  'share_link', l.id, 'revoked', NULL"
    "             FROM l LEFT JOIN tasks t ON t.id = l.task_id)"
    " SELECT 204, NULL, l.code FROM l"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_share_links_analytics = {
    ngx_kanban_pg_stmt("share_links_analytics",
    "WITH l AS (SELECT l.* FROM share_links l WHERE l.id = $3::uuid"
    "              AND share_link_visible($1::uuid, $2, l)),"
    "     v AS (SELECT v.* FROM share_link_visits v, l"
    "            WHERE v.link_id = l.id),"
    "     people AS (SELECT * FROM v WHERE NOT bot)"
    " SELECT 200, json_build_object("
    "   'id', l.id,"
    "   'visits', (SELECT count(*) FROM people),"
    "   'unique_visitors', (SELECT count(DISTINCT (ip, user_agent))"
    "                         FROM people),"
    "   'bots', (SELECT count(*) FROM v WHERE bot),"
    "   'by_day', coalesce((SELECT json_agg(d ORDER BY d.date) FROM ("
    "        SELECT local_date(visited_at) AS date,"
    "               count(*) AS visits,"
    "               count(DISTINCT (ip, user_agent)) AS unique_visitors"
    "          FROM people GROUP BY 1) d), '[]'),"
    "   'top_referrers', coalesce((SELECT json_agg(d ORDER BY d.visits DESC,"
    "                                              d.referrer) FROM ("
    "        SELECT referrer, count(*) AS visits FROM people"
    "         WHERE referrer IS NOT NULL GROUP BY 1"
    "         ORDER BY 2 DESC, 1 LIMIT 10) d), '[]'),"
    "   'user_agents', coalesce((SELECT json_agg(d ORDER BY d.visits DESC,"
    "                                            d.user_agent) FROM ("
    "        SELECT user_agent, count(*) AS visits FROM people"
    "         WHERE user_agent IS NOT NULL GROUP BY 1"
    "         ORDER BY 2 DESC, 1 LIMIT 10) d), '[]'),"
    "   'by_rule', coalesce((SELECT json_agg(d ORDER BY d.rule NULLS FIRST,"
    "                                        d.destination) FROM ("
    "        SELECT rule, destination, count(*) AS visits FROM people"
    "         GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 200) d), '[]'),"
    "   'by_country', coalesce((SELECT json_agg(d ORDER BY d.visits DESC,"
    "                                           d.country) FROM ("
    "        SELECT country, count(*) AS visits FROM people"
    "         WHERE country IS NOT NULL GROUP BY 1"
    "         ORDER BY 2 DESC, 1 LIMIT 50) d), '[]'),"
    "   'bot_agents', coalesce((SELECT json_agg(d ORDER BY d.visits DESC,"
    "                                           d.user_agent) FROM ("
    "        SELECT user_agent, count(*) AS visits FROM v WHERE bot"
    "         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) d), '[]'))"
    "  FROM l"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

/* each visit a row, readable after the link expired or was revoked */
ngx_kanban_sql_t  ngx_kanban_share_links_visits_csv = {
    ngx_kanban_pg_stmt("share_links_visits_csv",
    "SELECT * FROM share_link_visits_csv($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_share_links_qr = {
    ngx_kanban_pg_stmt("share_links_qr",
    "SELECT share_link_json(l, $3)->>'short_url' FROM share_links l"
    " WHERE l.id = $4::uuid AND share_link_visible($1::uuid, $2, l)"),
    { "actor", "role", "var:kanban_share_base", "uuid:id", NULL },
    NULL
};

/* What someone outside sees: no comments, no emails, no people but
 * names on a task. */
ngx_kanban_sql_t  ngx_kanban_shared_get = {
    ngx_kanban_pg_stmt("shared_get",
    "SELECT 200, CASE l.target_type"
    "  WHEN 'task' THEN (SELECT json_build_object("
    "      'type', 'task',"
    "      'expires_at', l.expires_at,"
    "      'project', json_build_object('key', p.key, 'name', p.name),"
    "      'task', json_build_object("
    "          'key', p.key || '-' || t.number, 'title', t.title,"
    "          'description', t.description, 'category', c.category,"
    "          'column', c.name, 'priority', t.priority,"
    "          'labels', t.labels, 'start_date', t.start_date,"
    "          'due_date', t.due_date, 'completed_at', t.completed_at,"
    "          'blocked', t.blocked,"
    "          'assignees', coalesce((SELECT json_agg(u.name ORDER BY u.name)"
    "                                  FROM task_assignees a"
    "                                  JOIN users u ON u.id = a.user_id"
    "                                 WHERE a.task_id = t.id), '[]'),"
    "          'subtasks', coalesce((SELECT json_agg(json_build_object("
    "                                  'key', p.key || '-' || s.number,"
    "                                  'title', s.title,"
    "                                  'category', sc.category)"
    "                                  ORDER BY s.number)"
    "                                  FROM tasks s"
    "                                  JOIN columns sc ON sc.id = s.column_id"
    "                                 WHERE s.parent_id = t.id),"
    "                               '[]')))"
    "      FROM tasks t JOIN projects p ON p.id = t.project_id"
    "      JOIN columns c ON c.id = t.column_id WHERE t.id = l.task_id)"
    "  WHEN 'report' THEN share_link_report_json(l)::json"
    "  ELSE (SELECT json_build_object("
    "      'type', 'project',"
    "      'expires_at', l.expires_at,"
    "      'project', json_build_object("
    "          'key', p.key, 'name', p.name, 'description', p.description,"
    "          'status', p.status, 'start_date', p.start_date,"
    "          'due_date', p.due_date,"
    "          'progress', project_json(p)->'progress'),"
    "      'columns', coalesce((SELECT json_agg(json_build_object("
    "          'name', c.name, 'category', c.category,"
    "          'tasks', coalesce((SELECT json_agg(json_build_object("
    "                     'key', p.key || '-' || t.number, 'title', t.title,"
    "                     'priority', t.priority, 'due_date', t.due_date,"
    "                     'labels', t.labels) ORDER BY t.rank)"
    "                     FROM tasks t WHERE t.column_id = c.id"
    "                      AND t.parent_id IS NULL), '[]'))"
    "          ORDER BY c.position) FROM columns c"
    "          WHERE c.project_id = p.id), '[]'),"
    "      'milestones', coalesce((SELECT json_agg(json_build_object("
    "          'name', m.name, 'due_date', m.due_date, 'status', m.status)"
    "          ORDER BY m.due_date) FROM milestones m"
    "          WHERE m.project_id = p.id), '[]'))"
    "      FROM projects p WHERE p.id = l.project_id)"
    "  END"
    "  FROM share_links l WHERE l.id = $1::uuid"
    "   AND l.target_type IN ('task', 'project', 'report')"),
    { NULL },
    NULL
};


/* POST /api/v1/share-links */

ngx_int_t
ngx_kanban_share_links_create_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t               *password;
    ngx_kanban_share_new_t  *sn;

    sn = ngx_pcalloc(r->pool, sizeof(ngx_kanban_share_new_t));
    if (sn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = sn;

    password = ngx_kanban_json_string(ctx->body, "password");

    if (password == NULL) {
        return ngx_kanban_share_reserve(r, ctx);
    }

    if (ngx_kanban_password_hash(r, password, ngx_kanban_share_hashed)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_share_hashed(ngx_http_request_t *r, ngx_str_t *hash)
{
    ngx_int_t                rc;
    ngx_kanban_ctx_t        *ctx;
    ngx_kanban_share_new_t  *sn;

    ctx = ngx_kanban_ctx(r);
    sn = ctx->data;

    if (hash->len == 0) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    sn->hash = *hash;

    rc = ngx_kanban_share_reserve(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* A fresh code into the catalog: taken ones (anywhere) are drawn again. */

static ngx_int_t
ngx_kanban_share_reserve(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    u_char                   random[32];
    ngx_str_t                code;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_share_new_t  *sn;

    sn = ctx->data;

    if (sn->draws++ == NGX_KANBAN_SHARE_DRAWS) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: no free share code in %d draws",
                      NGX_KANBAN_SHARE_DRAWS);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_share_code_make(sn->code) != NGX_OK
        || RAND_bytes(random, sizeof(random)) != 1)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_hex_dump(sn->secret, random, sizeof(random));

    code.data = sn->code;
    code.len = NGX_KANBAN_SHARE_CODE_LEN;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_reserve_stmt,
                             ngx_kanban_share_reserved, 2, &code,
                             &ctx->tenant->id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_share_reserved(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t                rc;
    ngx_str_t                code, secret, url;
    ngx_kanban_ctx_t        *ctx;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_stmt_t    *create;
    ngx_kanban_share_new_t  *sn;

    ctx = ngx_kanban_ctx(r);
    sn = ctx->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) == 0) {
        rc = ngx_kanban_share_reserve(r, ctx);      /* taken: again */

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    code.data = sn->code;
    code.len = NGX_KANBAN_SHARE_CODE_LEN;
    secret.data = sn->secret;
    secret.len = sizeof(sn->secret);

    if (ngx_kanban_share_base(r, &ctx->tenant->slug, &url)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    create = ngx_kanban_json_string(ctx->body, "report_week")
             ? &ngx_kanban_share_links_create_report
             : &ngx_kanban_share_links_create.stmt;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, create, ngx_kanban_share_created, 7,
                             &ctx->identity->user_id, &ctx->identity->role,
                             &url, &code, &secret,
                             sn->hash.len ? &sn->hash : NULL, &ctx->raw_body)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* Made: the answer. Refused: the code goes back first. */

static void
ngx_kanban_share_created(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    char                    *status;
    ngx_str_t                code;
    ngx_kanban_ctx_t        *ctx;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_share_new_t  *sn;

    ctx = ngx_kanban_ctx(r);
    sn = ctx->data;

    status = (q->error == NGX_KANBAN_PG_OK && PQntuples(q->result) == 1)
             ? PQgetvalue(q->result, 0, 0) : NULL;

    if (status && ngx_strcmp(status, "201") == 0) {
        ngx_kanban_sql_answer(r, q);
        return;
    }

    if (q->error == NGX_KANBAN_PG_UNAVAILABLE) {
        /* the code stays reserved, for nothing: harmless */
        ngx_kanban_sql_answer(r, q);
        return;
    }

    sn->created = ngx_kanban_pg_keep(r, q);
    if (sn->created == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    code.data = sn->code;
    code.len = NGX_KANBAN_SHARE_CODE_LEN;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_release_stmt,
                             ngx_kanban_share_released, 2, &code,
                             &ctx->tenant->id)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_share_released(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_ctx_t        *ctx;
    ngx_kanban_share_new_t  *sn;

    ctx = ngx_kanban_ctx(r);
    sn = ctx->data;

    /* the answer is the link's statement's, whatever became of the code */
    q->result = sn->created;
    q->error = PQresultStatus(sn->created) == PGRES_TUPLES_OK
               ? NGX_KANBAN_PG_OK : NGX_KANBAN_PG_SQL;

    ngx_kanban_sql_answer(r, q);
}


/* DELETE /api/v1/share-links/{id}: revoked, and out of the cache. */

ngx_int_t
ngx_kanban_share_links_revoke_handler(ngx_http_request_t *r,
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
        || ngx_kanban_pg_run(q, &ngx_kanban_share_links_revoke.stmt,
                             ngx_kanban_share_revoked, 3,
                             &ctx->identity->user_id, &ctx->identity->role,
                             id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_share_revoked(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t         *code;
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (q->error == NGX_KANBAN_PG_OK && PQntuples(q->result) == 1) {
        code = ngx_kanban_pg_value(r, q->result, 0, 2);

        if (code) {
            ngx_kanban_share_revoke(&ctx->tenant->slug, code);
        }

        ngx_http_finalize_request(r,
            ngx_kanban_send_json(r, NGX_HTTP_NO_CONTENT, &(ngx_str_t)
                                                          ngx_null_string));
        return;
    }

    ngx_kanban_sql_answer(r, q);
}


/* GET /api/v1/share-links/{id}/qr.svg */

ngx_int_t
ngx_kanban_share_links_qr_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    char                   *detail;
    ngx_str_t              *id, url;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_qr_style_t  *style;
    ngx_kanban_pg_query_t  *q;

    id = ngx_kanban_arg(ctx, "id");

    if (id == NULL || !ngx_kanban_uuid_valid(id)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    style = ngx_palloc(r->pool, sizeof(ngx_kanban_qr_style_t));
    if (style == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_share_qr_style(r, style, &detail) != NGX_OK) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION, detail);
    }

    ctx->data = style;

    if (ngx_kanban_share_base(r, &ctx->tenant->slug, &url)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_links_qr.stmt,
                             ngx_kanban_share_qr_code, 4,
                             &ctx->identity->user_id, &ctx->identity->role,
                             &url, id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_share_qr_code(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t         *url, svg, type = ngx_string("image/svg+xml");
    ngx_str_t          cache = ngx_string("private, max-age=3600");
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL));
        return;
    }

    url = ngx_kanban_pg_value(r, q->result, 0, 0);

    if (url == NULL
        || ngx_kanban_qr_svg_styled(r->pool, url, ctx->data, &svg) != NGX_OK
        || ngx_kanban_add_header(r, "Cache-Control", &cache) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_text(r, NGX_HTTP_OK, &type,
                                                      &svg));
}


/* GET /api/v1/shared/{code}: under the same rules as the redirect, but
 * a visitor it let through (or who gave the password) reads on with the
 * grant even once the link is used up. Not a visit: not counted. */

ngx_int_t
ngx_kanban_shared_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_str_t                *code;
    ngx_kanban_share_link_t  *link;

    code = ngx_kanban_arg(ctx, "code");

    if (code == NULL || !ngx_kanban_share_code_valid(code)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    link = ngx_pcalloc(r->pool, sizeof(ngx_kanban_share_link_t));
    if (link == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = code;

    rc = ngx_kanban_share_resolve(r, ctx->tenant, code, link,
                                  ngx_kanban_shared_resolved);

    if (rc == NGX_AGAIN) {
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_shared_read(r, ctx, link);
}


static void
ngx_kanban_shared_resolved(ngx_http_request_t *r,
    ngx_kanban_share_link_t *link)
{
    ngx_int_t  rc;

    rc = ngx_kanban_shared_read(r, ngx_kanban_ctx(r), link);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_kanban_shared_read(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_share_link_t *link)
{
    ngx_str_t               no_store = ngx_string("private, no-store");
    ngx_uint_t              verdict;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (link->state == NGX_KANBAN_SHARE_UNAVAILABLE) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE, NULL);
    }

    if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    verdict = ngx_kanban_share_judge(r, link, ctx->data, 1);

    if (verdict == NGX_KANBAN_SHARE_OPEN
        && link->target == NGX_KANBAN_SHARE_TARGET_URL)
    {
        verdict = NGX_KANBAN_SHARE_NOT_FOUND;   /* nothing of ours to read */
    }

    switch (verdict) {

    case NGX_KANBAN_SHARE_OPEN:
        break;

    case NGX_KANBAN_SHARE_EXPIRED:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_GONE,
                                  "This link has expired, was used up or "
                                  "was revoked.");

    case NGX_KANBAN_SHARE_LOCKED:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                                  "This link needs its password.");

    case NGX_KANBAN_SHARE_VISIT_FIRST:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                                  "This link counts its visits: open it "
                                  "(/s/{code}) first.");

    default:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_shared_get.stmt,
                             ngx_kanban_sql_answer, 1, &link->id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}
