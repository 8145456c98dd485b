
/*
 * POST /api/v1/auth/refresh and /logout.
 *
 * A refresh spends the presented token and makes its successor in the same
 * family, in one transaction. The spend is an UPDATE ... WHERE spent_at IS
 * NULL, so of two concurrent refreshes with one token only one succeeds;
 * the other, like anyone presenting a spent token, revokes the whole
 * family (401 token_reused): a stolen token dies with its family. A
 * family ends kanban_session_lifetime after its sign-in however often it
 * is refreshed; its tokens are then refused like expired ones. Logout
 * revokes the family of the token it is given.
 */

/* SQL: sql/tenant/001_users.sql, 002_auth.sql */
#include "ngx_kanban_session.h"
#include "ngx_kanban_auth_routes.h"


typedef struct {
    ngx_kanban_session_t       session;        /* the successor */
    ngx_str_t                  presented;      /* hash of the one given */
    PGresult                  *user;
    ngx_uint_t                 error;
} ngx_kanban_refresh_t;


/* NGX_OK; NGX_DECLINED when no token came, NGX_ABORT for a cookie
 * without its guards; or an error status */
static ngx_int_t ngx_kanban_refresh_start(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_refresh_t **rf);
static ngx_int_t ngx_kanban_refresh_none(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_kanban_refresh_begun(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_refresh_spent(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_refresh_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_refresh_checked(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_refresh_committed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_logout_done(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


ngx_kanban_field_t  ngx_kanban_refresh_fields[] = {
    { "refresh_token", NGX_KANBAN_FIELD_STRING, 0, 1, 256, NULL, NULL },
    { "cookie", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_refresh_spend = ngx_kanban_pg_stmt(
    "refresh_spend",
    "WITH s AS (UPDATE refresh_tokens SET spent_at = now()"
    "            WHERE token_hash = $1 AND spent_at IS NULL"
    "              AND revoked_at IS NULL AND expires_at > now()"
    "              AND signed_in_at > now() - make_interval(secs => $2::int)"
    "           RETURNING user_id, family_id, signed_in_at)"
    " SELECT u.id, u.role,"
    "        coalesce((SELECT json_agg(tm.team_id ORDER BY tm.team_id)"
    "                    FROM team_members tm WHERE tm.user_id = u.id),"
    "                 '[]'::json),"
    "        json_build_object('id', u.id, 'email', u.email,"
    "                          'name', u.name, 'role', u.role),"
    "        s.family_id, s.signed_in_at"
    "   FROM s JOIN users u ON u.id = s.user_id AND u.status = 'active'");

static ngx_kanban_pg_stmt_t  ngx_kanban_refresh_store = ngx_kanban_pg_stmt(
    "refresh_store",
    "INSERT INTO refresh_tokens"
    "            (user_id, family_id, token_hash, signed_in_at, expires_at,"
    "             user_agent, address)"
    " VALUES ($1, $2, $3, $4,"
    "         least(now() + interval '" NGX_KANBAN_REFRESH_DAYS "',"
    "               $4::timestamptz + make_interval(secs => $5::int)),"
    "         left($6, " NGX_KANBAN_SESSION_AGENT_MAX "), $7::inet)");

/* no live token: was it spent (reuse: the family goes) or never good? */
static ngx_kanban_pg_stmt_t  ngx_kanban_refresh_reuse = ngx_kanban_pg_stmt(
    "refresh_reuse",
    "WITH t AS (SELECT family_id, spent_at IS NOT NULL AS spent"
    "             FROM refresh_tokens WHERE token_hash = $1),"
    "     r AS (UPDATE refresh_tokens SET revoked_at = now()"
    "            WHERE family_id IN (SELECT family_id FROM t WHERE spent)"
    "              AND revoked_at IS NULL"
    "           RETURNING 1)"
    " SELECT coalesce((SELECT spent FROM t), false),"
    "        (SELECT count(*) FROM r)");

static ngx_kanban_pg_stmt_t  ngx_kanban_logout_revoke = ngx_kanban_pg_stmt(
    "logout_revoke",
    "UPDATE refresh_tokens SET revoked_at = now()"
    " WHERE family_id = (SELECT family_id FROM refresh_tokens"
    "                     WHERE token_hash = $1)"
    "   AND revoked_at IS NULL");


ngx_int_t
ngx_kanban_refresh_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_refresh_t   *rf;
    ngx_kanban_pg_query_t  *q;

    rc = ngx_kanban_refresh_start(r, ctx, &rf);
    if (rc != NGX_OK) {
        return ngx_kanban_refresh_none(r, rc);
    }

    if (ngx_kanban_session_create(r, &rf->session) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_begin(q, ngx_kanban_refresh_begun) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


ngx_int_t
ngx_kanban_logout_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_refresh_t   *rf;
    ngx_kanban_pg_query_t  *q;

    rc = ngx_kanban_refresh_start(r, ctx, &rf);
    if (rc != NGX_OK) {
        return ngx_kanban_refresh_none(r, rc);
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_logout_revoke,
                             ngx_kanban_logout_done, 1, &rf->presented)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_kanban_refresh_start(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_refresh_t **rfp)
{
    ngx_int_t              rc;
    ngx_str_t              token;
    ngx_kanban_refresh_t  *rf;

    rf = ngx_pcalloc(r->pool, sizeof(ngx_kanban_refresh_t));
    if (rf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = rf;
    *rfp = rf;

    rc = ngx_kanban_session_presented(r, ctx, &rf->session, &token);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_kanban_session_hash(r, &token, &rf->presented) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/* no refresh token came (401), or a cookie without its guards (403) */

static ngx_int_t
ngx_kanban_refresh_none(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_ABORT) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN,
                                  "The cookie counts only with "
                                  "X-Kanban-CSRF: 1 and the workspace's own "
                                  "Origin.");
    }

    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_INVALID_TOKEN,
                              "Send the refresh token, or for browsers the "
                              "cookie with X-Kanban-CSRF and the workspace's "
                              "Origin.");
}


static void
ngx_kanban_refresh_begun(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_refresh_t  *rf;

    rf = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK
        || ngx_kanban_pg_run(q, &ngx_kanban_refresh_spend,
                             ngx_kanban_refresh_spent, 2, &rf->presented,
                             &rf->session.lifetime)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
    }
}


static void
ngx_kanban_refresh_spent(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t              rc;
    ngx_kanban_refresh_t  *rf;

    rf = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) == 0) {
        rc = ngx_kanban_pg_run(q, &ngx_kanban_refresh_reuse,
                               ngx_kanban_refresh_checked, 1, &rf->presented);

    } else {
        rf->user = ngx_kanban_pg_keep(r, q);

        rc = rf->user == NULL
             ? NGX_ERROR
             : ngx_kanban_pg_run(q, &ngx_kanban_refresh_store,
                                 ngx_kanban_refresh_stored, 7,
                                 ngx_kanban_pg_value(r, rf->user, 0, 0),
                                 ngx_kanban_pg_value(r, rf->user, 0, 4),
                                 &rf->session.hash,
                                 ngx_kanban_pg_value(r, rf->user, 0, 5),
                                 &rf->session.lifetime,
                                 rf->session.user_agent, rf->session.addr);
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_refresh_stored(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    if (q->error != NGX_KANBAN_PG_OK
        || ngx_kanban_pg_commit(q, ngx_kanban_refresh_committed) != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
    }
}


static void
ngx_kanban_refresh_checked(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t             *spent;
    ngx_kanban_refresh_t  *rf;

    rf = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    spent = ngx_kanban_pg_value(r, q->result, 0, 0);

    if (spent && spent->len == 1 && spent->data[0] == 't') {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: a spent refresh token was presented again; "
                      "its family is revoked");
        rf->error = NGX_KANBAN_ERR_TOKEN_REUSED;

    } else {
        rf->error = NGX_KANBAN_ERR_INVALID_TOKEN;
    }

    /* the revocation must hold even though the client gets an error */
    if (ngx_kanban_pg_commit(q, ngx_kanban_refresh_committed) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_refresh_committed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_refresh_t  *rf;

    rf = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (rf->error) {
        if (rf->session.cookie
            && ngx_kanban_session_clear_cookie(r) != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_finalize_request(r, ngx_kanban_problem(r, rf->error, NULL));
        return;
    }

    ngx_http_finalize_request(r,
        ngx_kanban_session_send(r, &rf->session, rf->user, NGX_HTTP_OK));
}


static void
ngx_kanban_logout_done(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t              none = ngx_null_string;
    ngx_kanban_refresh_t  *rf;

    rf = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (rf->session.cookie && ngx_kanban_session_clear_cookie(r) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
        ngx_kanban_send_json(r, NGX_HTTP_NO_CONTENT, &none));
}
