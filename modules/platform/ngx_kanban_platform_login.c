
/*
 * POST /api/v1/platform/auth/login: an operator's email, password and
 * TOTP code for a session of the platform host.
 *
 * As a workspace's sign-in: the account read, the password verified in
 * the thread pool (against a dummy hash for an unknown email, so both
 * cost the same), 5 failures of an account or 20 from an address within
 * 15 minutes make further tries 429. Then the code: right for the step
 * before, at or after now, and for a step after the last one accepted;
 * the step is stored by a conditional UPDATE, so of two sign-ins with
 * one code only one wins. Every outcome is in the platform audit log.
 */

/* SQL: sql/catalog/008_operators.sql */
#include "ngx_kanban_platform.h"
#include "ngx_kanban_totp.h"
#include "ngx_kanban_sign_in.h"
#include "ngx_kanban_webhooks.h"


#define NGX_KANBAN_PLATFORM_ACCOUNT_MAX  5
#define NGX_KANBAN_PLATFORM_ADDR_MAX     20


typedef struct {
    ngx_str_t                  email;
    ngx_str_t                  password;
    ngx_str_t                  totp;
    ngx_str_t                  addr;
    ngx_str_t                  agent;
    ngx_str_t                  token;
    ngx_str_t                  hash;
    ngx_str_t                  step;
    ngx_uint_t                 cookie;
    PGresult                  *op;             /* kept until verified */
} ngx_kanban_platform_login_t;


static void ngx_kanban_platform_login_counted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_platform_login_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_platform_login_verified(ngx_http_request_t *r,
    ngx_uint_t match);
static ngx_int_t ngx_kanban_platform_login_totp(ngx_http_request_t *r,
    ngx_kanban_platform_login_t *lg);
static ngx_int_t ngx_kanban_platform_login_fail(ngx_http_request_t *r,
    ngx_kanban_platform_login_t *lg, char *reason);
static void ngx_kanban_platform_login_refused(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_platform_login_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


ngx_kanban_field_t  ngx_kanban_platform_login_fields[] = {
    { "email", NGX_KANBAN_FIELD_STRING, 1, 1, 254, NULL, NULL },
    { "password", NGX_KANBAN_FIELD_STRING, 1, 1, NGX_KANBAN_PASSWORD_MAX,
      NULL, NULL },
    { "totp", NGX_KANBAN_FIELD_STRING, 1, 6, 6, NULL,
      ngx_kanban_platform_totp_check },
    { "cookie", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_platform_login_throttle =
    ngx_kanban_pg_stmt("platform_login_throttle",
    "SELECT count(*) FILTER (WHERE lower(email) = lower($1)),"
    "       count(*) FILTER (WHERE address = $2::inet),"
    "       ceil(extract(epoch FROM min(at) + interval '15 minutes'"
    "                               - now()))::int"
    "  FROM operator_login_failures"
    " WHERE at > now() - interval '15 minutes'"
    "   AND (lower(email) = lower($1) OR address = $2::inet)");

static ngx_kanban_pg_stmt_t  ngx_kanban_platform_login_operator =
    ngx_kanban_pg_stmt("platform_login_operator",
    "SELECT id, password_hash, totp_secret, totp_last_step, status"
    "  FROM operators WHERE lower(email) = lower($1)");

/* $1 email as sent, $2 address, $3 the reason */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_login_failed =
    ngx_kanban_pg_stmt("platform_login_failed",
    "WITH old AS (DELETE FROM operator_login_failures"
    "              WHERE at < now() - interval '1 day'),"
    "     f AS (INSERT INTO operator_login_failures (email, address)"
    "           VALUES (left($1, 254), $2::inet))"
    " INSERT INTO platform_audit (operator_id, operator_email, action,"
    "                             details, address)"
    " SELECT (SELECT id FROM operators WHERE lower(email) = lower($1)),"
    "        left($1, 254), 'operator.sign_in_failed',"
    "        jsonb_build_object('reason', $3::text), $2::inet");

/* $1 operator, $2 the code's step, $3 session hash, $4 address, $5 agent;
 * no row: the step was taken meanwhile (the same code twice at once) */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_login_store =
    ngx_kanban_pg_stmt("platform_login_store",
    "WITH o AS (UPDATE operators SET totp_last_step = $2::bigint"
    "            WHERE id = $1::uuid AND totp_last_step < $2::bigint"
    "              AND status = 'active'"
    "           RETURNING id, email),"
    "     ok AS (DELETE FROM operator_login_failures f USING o"
    "             WHERE lower(f.email) = lower(o.email)),"
    "     old AS (DELETE FROM operator_sessions"
    "              WHERE expires_at < now() - interval '1 day'),"
    "     s AS (INSERT INTO operator_sessions (token_hash, operator_id,"
    "                                          address, user_agent,"
    "                                          expires_at)"
    "           SELECT $3, o.id, $4::inet, left($5, 256),"
    "                  now() + interval '"
    NGX_KANBAN_PLATFORM_HOURS_SQL "'"
    "             FROM o RETURNING expires_at),"
    "     a AS (INSERT INTO platform_audit (operator_id, operator_email,"
    "                                       action, address)"
    "           SELECT o.id, o.email, 'operator.signed_in', $4::inet"
    "             FROM o)"
    " SELECT json_build_object('operator',"
    "            json_build_object('id', o.id, 'email', o.email),"
    "            'expires_at', s.expires_at)"
    "   FROM o, s");


ngx_int_t
ngx_kanban_platform_login_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_json_t            *cookie;
    ngx_kanban_pg_db_t            db;
    ngx_kanban_pg_query_t        *q;
    ngx_kanban_platform_login_t  *lg;

    lg = ngx_pcalloc(r->pool, sizeof(ngx_kanban_platform_login_t));
    if (lg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = lg;

    lg->email = *ngx_kanban_json_string(ctx->body, "email");
    lg->password = *ngx_kanban_json_string(ctx->body, "password");
    lg->totp = *ngx_kanban_json_string(ctx->body, "totp");
    lg->addr = r->connection->addr_text;

    if (r->headers_in.user_agent) {
        lg->agent = r->headers_in.user_agent->value;
    }

    cookie = ngx_kanban_json_get(ctx->body, "cookie");
    lg->cookie = cookie && cookie->type == NGX_KANBAN_JSON_BOOL
                 && cookie->boolean;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_platform_login_throttle,
                             ngx_kanban_platform_login_counted, 2,
                             &lg->email, &lg->addr)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_platform_login_counted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_int_t                     rc;
    ngx_kanban_platform_login_t  *lg;

    lg = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    rc = ngx_kanban_sign_in_throttled(r, q->result,
                                      NGX_KANBAN_PLATFORM_ACCOUNT_MAX,
                                      NGX_KANBAN_PLATFORM_ADDR_MAX);

    if (rc != NGX_DECLINED) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: operator sign-in throttled from %V",
                      &lg->addr);

        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_kanban_pg_run(q, &ngx_kanban_platform_login_operator,
                          ngx_kanban_platform_login_found, 1, &lg->email)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_platform_login_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t                    *hash;
    ngx_kanban_platform_login_t  *lg;

    lg = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    hash = NULL;

    if (PQntuples(q->result) == 1) {
        hash = ngx_kanban_pg_value(r, q->result, 0, 1);

        lg->op = ngx_kanban_pg_keep(r, q);
        if (lg->op == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    /* a pending operator has no hash: the dummy's cost, and refused */
    if (ngx_kanban_password_verify(r, hash, &lg->password,
                                   ngx_kanban_platform_login_verified)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_platform_login_verified(ngx_http_request_t *r, ngx_uint_t match)
{
    ngx_int_t                     rc;
    ngx_str_t                    *status;
    ngx_kanban_pg_db_t            db;
    ngx_kanban_pg_query_t        *q;
    ngx_kanban_platform_login_t  *lg;

    lg = ngx_kanban_ctx(r)->data;

    if (!match || lg->op == NULL) {
        rc = ngx_kanban_platform_login_fail(r, lg, "password");
        goto done;
    }

    status = ngx_kanban_pg_value(r, lg->op, 0, 4);

    if (status == NULL || status->len != 6
        || ngx_strncmp(status->data, "active", 6) != 0)
    {
        rc = ngx_kanban_platform_login_fail(r, lg, "not active");
        goto done;
    }

    rc = ngx_kanban_platform_login_totp(r, lg);

    if (rc == NGX_DECLINED) {
        rc = ngx_kanban_platform_login_fail(r, lg, "totp");
        goto done;
    }

    if (rc != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);

    if (q == NULL
        || ngx_kanban_platform_new_token(r, &lg->token, &lg->hash) != NGX_OK
        || ngx_kanban_pg_run(q, &ngx_kanban_platform_login_store,
                             ngx_kanban_platform_login_stored, 5,
                             ngx_kanban_pg_value(r, lg->op, 0, 0),
                             &lg->step, &lg->hash, &lg->addr,
                             lg->agent.len ? &lg->agent : NULL)
           != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    return;

done:

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* NGX_OK with lg->step, NGX_DECLINED for a wrong or replayed code */

static ngx_int_t
ngx_kanban_platform_login_totp(ngx_http_request_t *r,
    ngx_kanban_platform_login_t *lg)
{
    int64_t     step, last;
    ngx_int_t   rc;
    ngx_str_t  *sealed, *last_step, secret;

    sealed = ngx_kanban_pg_value(r, lg->op, 0, 2);
    last_step = ngx_kanban_pg_value(r, lg->op, 0, 3);

    if (sealed == NULL || last_step == NULL) {
        return NGX_ERROR;
    }

    last = ngx_atoof(last_step->data, last_step->len);
    if (last == NGX_ERROR) {
        return NGX_ERROR;
    }

    rc = ngx_kanban_webhooks_unseal(r->pool, sealed, &secret);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: an operator's TOTP secret cannot be "
                      "unsealed (another kanban_webhooks_key?)");
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_kanban_totp_verify(r->pool, &secret, &lg->totp, ngx_time(),
                                last, &step);

    ngx_explicit_memzero(secret.data, secret.len);

    if (rc != NGX_OK) {
        return rc;
    }

    lg->step.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (lg->step.data == NULL) {
        return NGX_ERROR;
    }

    lg->step.len = ngx_sprintf(lg->step.data, "%L", step) - lg->step.data;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_platform_login_fail(ngx_http_request_t *r,
    ngx_kanban_platform_login_t *lg, char *reason)
{
    ngx_str_t               why;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "kanban: operator sign-in refused (%s) from %V",
                  reason, &lg->addr);

    why.data = (u_char *) reason;
    why.len = ngx_strlen(reason);

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_platform_login_failed,
                             ngx_kanban_platform_login_refused, 3,
                             &lg->email, &lg->addr, &why)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_platform_login_refused(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    /* one answer for every reason: which factor was wrong is not told */
    ngx_http_finalize_request(r,
        ngx_kanban_problem(r, NGX_KANBAN_ERR_CREDENTIALS,
                           "The email, password or code is not right."));
}


static void
ngx_kanban_platform_login_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_str_t                    *json, body;
    ngx_str_t                     no_store = ngx_string("no-store");
    ngx_kanban_platform_login_t  *lg;

    lg = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        /* the same code's step was taken by another sign-in meanwhile */
        rc = ngx_kanban_platform_login_fail(r, lg, "totp replayed");
        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }
        return;
    }

    json = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (json == NULL || json->len < 2) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* {"operator": ..., "expires_at": ..., "token": ...} without cookie */
    p = ngx_pnalloc(r->pool, json->len + sizeof(",\"token\":\"\"")
                             + lg->token.len);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    body.data = p;
    p = ngx_cpymem(p, json->data, json->len - 1);

    if (!lg->cookie) {
        p = ngx_sprintf(p, ",\"token\":\"%V\"", &lg->token);
    }

    *p++ = '}';
    body.len = p - body.data;

    if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK
        || (lg->cookie
            && ngx_kanban_platform_set_cookie(r, &lg->token,
                   NGX_KANBAN_PLATFORM_MAX_AGE) != NGX_OK))
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK, &body));
}
