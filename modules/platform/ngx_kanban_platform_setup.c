
/*
 * An operator's setup link (conf/kanbanctl operator add): single use,
 * expiring. POST /api/v1/platform/auth/setup {token} shows the TOTP
 * secret to enrol (made and sealed on the link's first opening, the same
 * until the setup is done); POST /api/v1/platform/auth/setup/finish
 * {token, password, totp} confirms the enrolment with a first code, sets
 * the password (hashed in the thread pool) and uses the link up.
 */

/* SQL: sql/catalog/008_operators.sql */
#include "ngx_kanban_platform.h"
#include "ngx_kanban_totp.h"
#include "ngx_kanban_webhooks.h"


#define NGX_KANBAN_PLATFORM_ISSUER  "Kanban%20operators"


typedef struct {
    ngx_str_t                  token_hash;
    ngx_str_t                  sealed;
    ngx_str_t                  secret;         /* base32 */
    ngx_str_t                  password;
    ngx_str_t                  totp;
    ngx_str_t                  step;
} ngx_kanban_platform_setup_t;


static ngx_int_t ngx_kanban_platform_setup_begin(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_platform_setup_t **setup);
static void ngx_kanban_platform_setup_shown(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_platform_setup_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_platform_setup_hashed(ngx_http_request_t *r,
    ngx_str_t *hash);
static ngx_int_t ngx_kanban_platform_setup_gone(ngx_http_request_t *r);


ngx_kanban_field_t  ngx_kanban_platform_setup_start_fields[] = {
    { "token", NGX_KANBAN_FIELD_STRING, 1, 16, 128, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_platform_setup_finish_fields[] = {
    { "token", NGX_KANBAN_FIELD_STRING, 1, 16, 128, NULL, NULL },
    { "password", NGX_KANBAN_FIELD_STRING, 1, NGX_KANBAN_PASSWORD_MIN,
      NGX_KANBAN_PASSWORD_MAX, NULL, ngx_kanban_password_check },
    { "totp", NGX_KANBAN_FIELD_STRING, 1, 6, 6, NULL,
      ngx_kanban_platform_totp_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* $1 the link's hash, $2 a new sealed secret, kept only if none is yet */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_setup_open =
    ngx_kanban_pg_stmt("platform_setup_open",
    "UPDATE operator_setups s SET totp_secret = coalesce(s.totp_secret, $2)"
    "  FROM operators o"
    " WHERE s.token_hash = $1 AND s.used_at IS NULL"
    "   AND s.expires_at > now() AND o.id = s.operator_id"
    " RETURNING s.totp_secret, o.email");

static ngx_kanban_pg_stmt_t  ngx_kanban_platform_setup_get =
    ngx_kanban_pg_stmt("platform_setup_get",
    "SELECT s.totp_secret, o.email FROM operator_setups s"
    "  JOIN operators o ON o.id = s.operator_id"
    " WHERE s.token_hash = $1 AND s.used_at IS NULL"
    "   AND s.expires_at > now() AND s.totp_secret IS NOT NULL");

/* $1 the link's hash, $2 password hash, $3 the first code's step,
 * $4 address; the link is used up in the same statement */
static ngx_kanban_pg_stmt_t  ngx_kanban_platform_setup_done =
    ngx_kanban_pg_stmt("platform_setup_done",
    "WITH s AS (UPDATE operator_setups SET used_at = now()"
    "            WHERE token_hash = $1 AND used_at IS NULL"
    "              AND expires_at > now() AND totp_secret IS NOT NULL"
    "           RETURNING operator_id, totp_secret),"
    "     o AS (UPDATE operators o SET password_hash = $2,"
    "                  totp_secret = s.totp_secret,"
    "                  totp_last_step = $3::bigint, status = 'active'"
    "             FROM s WHERE o.id = s.operator_id"
    "           RETURNING o.id, o.email),"
    "     a AS (INSERT INTO platform_audit (operator_id, operator_email,"
    "                                       action, address)"
    "           SELECT id, email, 'operator.set_up', $4::inet FROM o)"
    " SELECT 200, json_build_object('id', id, 'email', email)::text,"
    "        NULL::text FROM o"
    " UNION ALL"
    " SELECT 410, 'gone', 'This setup link is used or has expired.'"
    "  WHERE NOT EXISTS (SELECT 1 FROM o)");


/* six digits */

char *
ngx_kanban_platform_totp_check(ngx_str_t *value, char **message)
{
    ngx_uint_t  i;

    for (i = 0; i < value->len; i++) {
        if (value->data[i] < '0' || value->data[i] > '9') {
            *message = "A code is the six digits the authenticator shows.";
            return "invalid_format";
        }
    }

    return NULL;
}


ngx_int_t
ngx_kanban_platform_setup_start_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t                     fresh;
    ngx_kanban_pg_db_t            db;
    ngx_kanban_pg_query_t        *q;
    ngx_kanban_platform_setup_t  *st;

    if (ngx_kanban_platform_setup_begin(r, ctx, &st) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_totp_secret(r->pool, &fresh) != NGX_OK
        || ngx_kanban_webhooks_seal(r->pool, &fresh, &st->sealed) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_platform_setup_open,
                             ngx_kanban_platform_setup_shown, 2,
                             &st->token_hash, &st->sealed)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_kanban_platform_setup_begin(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_platform_setup_t **setup)
{
    ngx_str_t                    *token;
    ngx_kanban_platform_setup_t  *st;

    st = ngx_pcalloc(r->pool, sizeof(ngx_kanban_platform_setup_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    ctx->data = st;
    *setup = st;

    token = ngx_kanban_json_string(ctx->body, "token");

    return ngx_kanban_platform_hash(r->pool, token, &st->token_hash);
}


static void
ngx_kanban_platform_setup_shown(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    u_char           *p;
    ngx_str_t        *sealed, *email, secret, body;
    ngx_kanban_jw_t   jw;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_platform_setup_gone(r));
        return;
    }

    sealed = ngx_kanban_pg_value(r, q->result, 0, 0);
    email = ngx_kanban_pg_value(r, q->result, 0, 1);

    if (sealed == NULL || email == NULL
        || ngx_kanban_webhooks_unseal(r->pool, sealed, &secret) != NGX_OK
        || ngx_kanban_jw_init(&jw, r->pool, 512) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* otpauth://totp/ISSUER:EMAIL?secret=...&issuer=ISSUER..., the email
     * escaped as a URI component; the issuer goes in as an argument, as
     * its "%20" would be a conversion of ngx_sprintf's format */
    p = ngx_pnalloc(r->pool, sizeof("otpauth://totp/:?secret=&issuer="
                                    "&algorithm=SHA1&digits=6&period=30")
                             + 2 * sizeof(NGX_KANBAN_PLATFORM_ISSUER)
                             + 3 * email->len + secret.len);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    body.data = p;
    p = ngx_sprintf(p, "otpauth://totp/%s:", NGX_KANBAN_PLATFORM_ISSUER);
    p = (u_char *) ngx_escape_uri(p, email->data, email->len,
                                  NGX_ESCAPE_URI_COMPONENT);
    p = ngx_sprintf(p, "?secret=%V&issuer=%s&algorithm=SHA1&digits=6"
                    "&period=30", &secret, NGX_KANBAN_PLATFORM_ISSUER);
    body.len = p - body.data;

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "email");
    ngx_kanban_jw_string(&jw, email);
    ngx_kanban_jw_key(&jw, "totp_secret");
    ngx_kanban_jw_string(&jw, &secret);
    ngx_kanban_jw_key(&jw, "otpauth_uri");
    ngx_kanban_jw_string(&jw, &body);
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK, &body));
}


ngx_int_t
ngx_kanban_platform_setup_finish_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_pg_db_t            db;
    ngx_kanban_pg_query_t        *q;
    ngx_kanban_platform_setup_t  *st;

    if (ngx_kanban_platform_setup_begin(r, ctx, &st) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->password = *ngx_kanban_json_string(ctx->body, "password");
    st->totp = *ngx_kanban_json_string(ctx->body, "totp");

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_platform_setup_get,
                             ngx_kanban_platform_setup_found, 1,
                             &st->token_hash)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_platform_setup_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    int64_t                       step;
    ngx_int_t                     rc;
    ngx_str_t                    *sealed, secret;
    ngx_kanban_platform_setup_t  *st;

    st = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_platform_setup_gone(r));
        return;
    }

    sealed = ngx_kanban_pg_value(r, q->result, 0, 0);

    if (sealed == NULL
        || ngx_kanban_webhooks_unseal(r->pool, sealed, &secret) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_kanban_totp_verify(r->pool, &secret, &st->totp, ngx_time(), 0,
                                &step);

    ngx_explicit_memzero(secret.data, secret.len);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                               "The code is not the authenticator's for "
                               "this secret now; check its clock and try "
                               "the next one."));
        return;
    }

    st->step.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (rc != NGX_OK || st->step.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    st->step.len = ngx_sprintf(st->step.data, "%L", step) - st->step.data;

    if (ngx_kanban_password_hash(r, &st->password,
                                 ngx_kanban_platform_setup_hashed)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_platform_setup_hashed(ngx_http_request_t *r, ngx_str_t *hash)
{
    ngx_kanban_pg_db_t            db;
    ngx_kanban_pg_query_t        *q;
    ngx_kanban_platform_setup_t  *st;

    st = ngx_kanban_ctx(r)->data;

    if (hash->len == 0) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_platform_setup_done,
                             ngx_kanban_sql_answer, 4, &st->token_hash, hash,
                             &st->step, &r->connection->addr_text)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static ngx_int_t
ngx_kanban_platform_setup_gone(ngx_http_request_t *r)
{
    return ngx_kanban_problem(r, NGX_KANBAN_ERR_GONE,
                              "This setup link is used or has expired; ask "
                              "for a new one (kanbanctl operator add).");
}
