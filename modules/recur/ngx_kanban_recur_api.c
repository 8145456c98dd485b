
/*
 * The recurring tasks' API: a task's rule (/api/v1/tasks/{id}/recurrence),
 * the dates of its series with what became of each, and one date changed
 * or skipped ahead. The work is in PostgreSQL (sql/tenant/067); a write
 * that may make something due sooner tells the catalog and this worker's
 * planner (ngx_kanban_recur_write_handler, below: the reminders' routes
 * use it too).
 */

/* SQL: sql/catalog/022_planner_tenants.sql; sql/tenant/067_recurrence.sql */
#include "ngx_kanban_recur.h"


#define NGX_KANBAN_RECUR_PARAMS  5


/* the write under way */
typedef struct {
    ngx_str_t                 *v[NGX_KANBAN_RECUR_PARAMS];
    ngx_uint_t                 n;
} ngx_kanban_recur_write_t;


static void ngx_kanban_recur_touched(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_recur_written(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_recur_touch_again(ngx_str_t *slug);
static void ngx_kanban_recur_touched_again(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_field_t  ngx_kanban_recur_fields[] = {
    { "rule", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 6, 200, NULL,
      NULL },
    { "mode", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 20, NULL,
      NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "at", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 5, 5, NULL, NULL },
    { "lead_days", NGX_KANBAN_FIELD_INTEGER, NGX_KANBAN_NOT_NULL, 0, 365,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_recur_occurrence_fields[] = {
    { "skip", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "title", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 500, NULL,
      NULL },
    { "description", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 0, 20000,
      NULL, NULL },
    { "priority", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 16, NULL,
      NULL },
    { "due_date", NGX_KANBAN_FIELD_DATE, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "assignee_ids", NGX_KANBAN_FIELD_ARRAY, NGX_KANBAN_NOT_NULL, 0, 50,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* the workspace may have something due now: a bound, never late */
static ngx_kanban_pg_stmt_t  ngx_kanban_recur_touch = ngx_kanban_pg_stmt(
    "recur_touch",
    "INSERT INTO planner_tenants AS p (slug, next_at) VALUES ($1, now())"
    " ON CONFLICT (slug) DO UPDATE SET next_at = least(p.next_at, now())");


static ngx_kanban_sql_t  ngx_kanban_recur_get = {
    ngx_kanban_pg_stmt("recur_get",
    "SELECT 200, recurrence_json(x) FROM recurrences x"
    " WHERE x.task_id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_recur_put = {
    ngx_kanban_pg_stmt("recur_put",
    "SELECT status, body, extra"
    "  FROM recurrence_put($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_recur_delete = {
    ngx_kanban_pg_stmt("recur_delete",
    "SELECT status, body FROM recurrence_delete($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_recur_occurrences = {
    ngx_kanban_pg_stmt("recur_occurrences",
    "SELECT 200, recurrence_occurrences_json(x,"
    "            coalesce($2::date, workspace_today()),"
    "            coalesce($3::int, 10))"
    "  FROM recurrences x WHERE x.task_id = $1::uuid"),
    { "uuid:id", "query_date:from", "query_limit:limit", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_recur_occurrence_put = {
    ngx_kanban_pg_stmt("recur_occurrence_put",
    "SELECT status, body, extra"
    "  FROM recurrence_occurrence_put($1::uuid, $2, $3::uuid, $4,"
    "                                 $5::jsonb)"),
    { "actor", "role", "uuid:id", "arg:date", "body", NULL },
    NULL
};


#define ngx_kanban_recur_route(method, pattern, handler, fields, sql)         \
    { method, pattern, NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MEMBER,      \
      handler, fields, ngx_null_string, sql }

ngx_kanban_route_t  ngx_kanban_recur_routes[] = {

    ngx_kanban_recur_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/recurrence",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_recur_get),

    ngx_kanban_recur_route(NGX_HTTP_PUT, "/api/v1/tasks/{id}/recurrence",
        ngx_kanban_recur_write_handler, ngx_kanban_recur_fields,
        &ngx_kanban_recur_put),

    ngx_kanban_recur_route(NGX_HTTP_DELETE, "/api/v1/tasks/{id}/recurrence",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_recur_delete),

    ngx_kanban_recur_route(NGX_HTTP_GET,
        "/api/v1/tasks/{id}/recurrence/occurrences",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_recur_occurrences),

    ngx_kanban_recur_route(NGX_HTTP_PUT,
        "/api/v1/tasks/{id}/recurrence/occurrences/{date}",
        ngx_kanban_recur_write_handler, ngx_kanban_recur_occurrence_fields,
        &ngx_kanban_recur_occurrence_put),
};

ngx_uint_t  ngx_kanban_recur_nroutes =
    sizeof(ngx_kanban_recur_routes) / sizeof(ngx_kanban_route_t);


ngx_int_t
ngx_kanban_recur_write_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    char                      **p;
    ngx_str_t                  *v;
    ngx_kanban_sql_t           *sql;
    ngx_kanban_pg_db_t          db;
    ngx_kanban_pg_query_t      *q;
    ngx_kanban_recur_write_t   *w;

    sql = ctx->route->data;

    w = ngx_pcalloc(r->pool, sizeof(ngx_kanban_recur_write_t));
    if (w == NULL || ctx->tenant == NULL || ctx->identity == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (p = sql->params; *p && w->n < NGX_KANBAN_RECUR_PARAMS; p++) {

        if (ngx_strcmp(*p, "actor") == 0) {
            v = &ctx->identity->user_id;

        } else if (ngx_strcmp(*p, "role") == 0) {
            v = &ctx->identity->role;

        } else if (ngx_strcmp(*p, "body") == 0) {
            v = &ctx->raw_body;

        } else if (ngx_strncmp(*p, "uuid:", 5) == 0) {
            v = ngx_kanban_arg(ctx, *p + 5);
            if (v == NULL || !ngx_kanban_uuid_valid(v)) {
                return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
            }

        } else if (ngx_strncmp(*p, "arg:", 4) == 0) {
            v = ngx_kanban_arg(ctx, *p + 4);
            if (v == NULL) {
                return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
            }

        } else {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "kanban: unknown parameter source \"%s\"", *p);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        w->v[w->n++] = v;
    }

    ctx->data = w;

    /* before the write, so that a node that stops between the two never
     * leaves the workspace unknown to every planner */
    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_recur_touch,
                             ngx_kanban_recur_touched, 1, &ctx->tenant->slug)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_recur_touched(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                 **v;
    ngx_kanban_sql_t           *sql;
    ngx_kanban_ctx_t           *ctx;
    ngx_kanban_pg_db_t          db;
    ngx_kanban_recur_write_t   *w;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ctx = ngx_kanban_ctx(r);
    sql = ctx->route->data;
    w = ctx->data;
    v = w->v;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &sql->stmt, ngx_kanban_recur_written, w->n,
                             v[0], v[1], v[2], v[3], v[4])
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* The write has committed: the catalog is told again (a planner that
 * looked meanwhile may have set a later time from what it saw before),
 * this worker's planner looks now, and the answer goes as any. */

static void
ngx_kanban_recur_written(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (q->error == NGX_KANBAN_PG_OK && PQntuples(q->result) > 0
        && PQgetvalue(q->result, 0, 0)[0] == '2')
    {
        ngx_kanban_recur_touch_again(&ctx->tenant->slug);
        ngx_kanban_recur_wake(ctx->tenant);
    }

    ngx_kanban_sql_answer(r, q);
}


static void
ngx_kanban_recur_touch_again(ngx_str_t *slug)
{
    ngx_str_t               *s;
    ngx_pool_t              *pool;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_query_t   *q;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    s = ngx_palloc(pool, sizeof(ngx_str_t));
    if (s == NULL) {
        goto failed;
    }

    s->data = ngx_pstrdup(pool, slug);
    s->len = slug->len;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (s->data == NULL || q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_recur_touch,
                             ngx_kanban_recur_touched_again, 1, s)
           != NGX_OK)
    {
        goto failed;
    }

    return;

failed:

    ngx_destroy_pool(pool);
}


static void
ngx_kanban_recur_touched_again(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: planner: the catalog was not told of a "
                      "write: %s",
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
    }

    ngx_destroy_pool(q->pool);
}
