
/*
 * The limits of a workspace's plan (max_users, max_storage_bytes,
 * api_rate), as the catalog's lookup of the workspace brings them: kept
 * in the tenant cache beside the rest, and copied into the workspace's
 * own database by every request's own lookup (at once after an
 * operator's change made every node forget the workspace) and by the
 * background refresh of an entry in use when they changed (within a ttl
 * of a change nobody was told of), so that the triggers of
 * sql/tenant/047_quotas.sql hold every write to them, inside the write's
 * own transaction.
 */

/* SQL: sql/tenant/047_quotas.sql */
#include "ngx_kanban_pg.h"
#include "ngx_kanban_tenant_module.h"


typedef struct {
    void                     (*done)(ngx_http_request_t *r);
} ngx_kanban_tenant_limits_ctx_t;


static void ngx_kanban_tenant_limits_synced(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_tenant_limits_number(ngx_kanban_tenant_limits_t *l);


static ngx_kanban_pg_stmt_t  ngx_kanban_tenant_limits_set =
    ngx_kanban_pg_stmt("quota_limits_set",
    "SELECT quota_limits_set($1, $2::int, $3::bigint, $4::int)");


/* The catalog's columns plan, max_users, max_storage_bytes, api_rate
 * of row from col on; copies in pool (a request's or a background
 * refresh's), the result goes after its handler. */

void
ngx_kanban_tenant_limits_read(ngx_pool_t *pool, PGresult *res, int row,
    int col, ngx_kanban_tenant_limits_t *limits)
{
    ngx_str_t    v;
    ngx_uint_t   i;
    ngx_str_t   *fields[] = { &limits->plan, &limits->max_users,
                              &limits->max_storage_bytes,
                              &limits->api_rate };

    for (i = 0; i < 4; i++) {
        ngx_str_null(fields[i]);

        if (PQntuples(res) <= row || col + (int) i >= PQnfields(res)
            || PQgetisnull(res, row, col + i))
        {
            continue;                                   /* NULL: none */
        }

        v.data = (u_char *) PQgetvalue(res, row, col + i);
        v.len = PQgetlength(res, row, col + i);

        if (v.len == 0) {
            continue;
        }

        fields[i]->data = ngx_pstrdup(pool, &v);
        fields[i]->len = fields[i]->data ? v.len : 0;
    }

    ngx_kanban_tenant_limits_number(limits);
}


/* The same four from the tenant cache's fields (empty: none). */

void
ngx_kanban_tenant_limits_cached(ngx_str_t *fields,
    ngx_kanban_tenant_limits_t *limits)
{
    ngx_uint_t   i;
    ngx_str_t   *to[] = { &limits->plan, &limits->max_users,
                          &limits->max_storage_bytes, &limits->api_rate };

    for (i = 0; i < 4; i++) {
        if (fields[i].len == 0) {
            ngx_str_null(to[i]);

        } else {
            *to[i] = fields[i];
        }
    }

    ngx_kanban_tenant_limits_number(limits);
}


static void
ngx_kanban_tenant_limits_number(ngx_kanban_tenant_limits_t *l)
{
    ngx_int_t  n;

    n = l->api_rate.len ? ngx_atoi(l->api_rate.data, l->api_rate.len)
                        : NGX_ERROR;

    l->api_rate_n = n > 0 ? (ngx_uint_t) n : 0;
}


/* Copies the limits into the workspace's database, then calls done;
 * NGX_ERROR when it cannot even ask (the request goes on: the limits
 * there are the last copied). */

ngx_int_t
ngx_kanban_tenant_limits_sync(ngx_http_request_t *r, ngx_kanban_tenant_t *t,
    ngx_kanban_tenant_limits_t *limits, void (*done)(ngx_http_request_t *r))
{
    ngx_kanban_pg_db_t               db;
    ngx_kanban_pg_query_t           *q;
    ngx_kanban_tenant_limits_ctx_t  *lc;

    lc = ngx_palloc(r->pool, sizeof(ngx_kanban_tenant_limits_ctx_t));
    if (lc == NULL) {
        return NGX_ERROR;
    }

    lc->done = done;

    ngx_kanban_pg_tenant_db(t, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = lc;

    return ngx_kanban_pg_run(q, &ngx_kanban_tenant_limits_set,
                             ngx_kanban_tenant_limits_synced, 4,
                             &limits->plan, &limits->max_users,
                             &limits->max_storage_bytes, &limits->api_rate);
}


static void
ngx_kanban_tenant_limits_synced(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_kanban_tenant_limits_ctx_t  *lc = q->data;

    /* an older schema or a database away: the request goes on, and its
     * own statements say what is wrong */
    (void) ngx_kanban_tenant_limits_failed(q);

    lc->done(r);
}


/* The same copy for a background refresh of the workspace's entry: no
 * request waits for it. The query is made in pool, which is done's from
 * NGX_OK on (it destroys it; ngx_kanban_tenant_limits_failed() tells it
 * whether the limits were copied); on NGX_ERROR the caller's still. */

ngx_int_t
ngx_kanban_tenant_limits_sync_background(ngx_pool_t *pool,
    ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits,
    ngx_kanban_pg_handler_pt done, void *data)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    ngx_kanban_pg_tenant_db(t, &db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = data;

    return ngx_kanban_pg_run(q, &ngx_kanban_tenant_limits_set, done, 4,
                             &limits->plan, &limits->max_users,
                             &limits->max_storage_bytes, &limits->api_rate);
}


/* Whether the copy failed, said in the log. A read-only database (a
 * move's window) keeps the limits copied before it: not worth a word,
 * nor a failure (the move makes every node forget the workspace). */

ngx_uint_t
ngx_kanban_tenant_limits_failed(ngx_kanban_pg_query_t *q)
{
    if (q->error == NGX_KANBAN_PG_OK || ngx_kanban_pg_sqlstate(q, "25006")) {
        return 0;
    }

    ngx_log_error(NGX_LOG_WARN, q->log, 0,
                  "kanban: the plan's limits not copied to the workspace: %s",
                  q->result ? PQresultErrorMessage(q->result)
                            : "no connection");

    return 1;
}
