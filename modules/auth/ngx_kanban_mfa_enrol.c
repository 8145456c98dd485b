
/*
 * A person's own authenticator, under /api/v1/me/mfa/totp:
 *
 *   POST          {password}        a new secret, pending until confirmed
 *   POST .../confirm {code}         on, and ten recovery codes, shown once
 *   DELETE        {password, code}  off, the recovery codes gone with it
 *
 * The password is asked again (in the thread pool, as at sign-in) so that
 * a session left open cannot change the factors that guard it. The
 * secret is sealed (AES-GCM, kanban_webhooks_key) before it is stored.
 */

/* SQL: sql/tenant/001_users.sql, 044_mfa.sql */
#include "ngx_kanban_mfa.h"
#include "ngx_kanban_auth_routes.h"
#include "ngx_kanban_totp.h"
#include "ngx_kanban_webhooks.h"


#define NGX_KANBAN_MFA_ISSUER  "Kanban"


typedef enum {
    NGX_KANBAN_MFA_START = 0,
    NGX_KANBAN_MFA_CONFIRM,
    NGX_KANBAN_MFA_DISABLE
} ngx_kanban_mfa_stage_e;


typedef struct {
    ngx_kanban_mfa_stage_e     stage;
    ngx_str_t                  password;
    ngx_str_t                  code;
    ngx_str_t                  step;
    ngx_str_t                  email;
    ngx_str_t                  secret;         /* base32, to show once */
    ngx_str_t                  sealed;
    ngx_str_t                  last_step;
    ngx_str_t                  recovery;       /* JSON array, shown once */
} ngx_kanban_mfa_enrol_t;


static ngx_int_t ngx_kanban_mfa_enrol_begin(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_mfa_stage_e stage);
static ngx_str_t *ngx_kanban_mfa_enrol_copy(ngx_http_request_t *r,
    PGresult *res, int col, ngx_str_t *dst);
static void ngx_kanban_mfa_enrol_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_mfa_enrol_verified(ngx_http_request_t *r,
    ngx_uint_t match);
static ngx_int_t ngx_kanban_mfa_enrol_code(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q, ngx_kanban_mfa_enrol_t *me);
static ngx_int_t ngx_kanban_mfa_enrol_run(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q, ngx_kanban_pg_stmt_t *stmt, ngx_uint_t n,
    ngx_str_t *a, ngx_str_t *b);
static void ngx_kanban_mfa_enrol_done(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


/* the password is optional only for people who have none (signed in by
 * a provider): the session is all they can show */
ngx_kanban_field_t  ngx_kanban_mfa_start_fields[] = {
    { "password", NGX_KANBAN_FIELD_STRING, 0, 1, NGX_KANBAN_PASSWORD_MAX,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_mfa_confirm_fields[] = {
    { "code", NGX_KANBAN_FIELD_STRING, 1, 6, 6, NULL,
      ngx_kanban_mfa_code_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_mfa_disable_fields[] = {
    { "password", NGX_KANBAN_FIELD_STRING, 0, 1, NGX_KANBAN_PASSWORD_MAX,
      NULL, NULL },
    { "code", NGX_KANBAN_FIELD_STRING, 1, 6, 6, NULL,
      ngx_kanban_mfa_code_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* the password's hash, the email, and the authenticator if any: its
 * sealed secret, last step and whether it is on */
static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrol_get = ngx_kanban_pg_stmt(
    "mfa_enrol_get",
    "SELECT u.password_hash, u.email, m.secret, m.last_step,"
    "       m.enabled_at IS NOT NULL"
    "  FROM users u LEFT JOIN user_mfa m ON m.user_id = u.id"
    " WHERE u.id = $1::uuid");

/* a new pending secret, never over one that is on */
static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrol_store = ngx_kanban_pg_stmt(
    "mfa_enrol_store",
    "INSERT INTO user_mfa (user_id, secret) VALUES ($1::uuid, $2)"
    " ON CONFLICT (user_id) DO UPDATE"
    "   SET secret = excluded.secret, last_step = 0, created_at = now()"
    " WHERE user_mfa.enabled_at IS NULL"
    " RETURNING 1");

static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrol_enable = ngx_kanban_pg_stmt(
    "mfa_enrol_enable",
    "WITH m AS (UPDATE user_mfa SET enabled_at = now(),"
    "                               last_step = $2::bigint"
    "            WHERE user_id = $1::uuid AND enabled_at IS NULL"
    "              AND last_step < $2::bigint"
    "           RETURNING user_id),"
    "     d AS (DELETE FROM mfa_recovery_codes"
    "            WHERE user_id IN (SELECT user_id FROM m)),"
    "     c AS (INSERT INTO mfa_recovery_codes (user_id, code_hash)"
    "           SELECT m.user_id, mfa_recovery_hash(x)"
    "             FROM m, jsonb_array_elements_text($3::jsonb) x),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action)"
    "           SELECT user_id, 'user', user_id, 'mfa_enabled' FROM m)"
    " SELECT 1 FROM m");

static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrol_disable = ngx_kanban_pg_stmt(
    "mfa_enrol_disable",
    "WITH m AS (DELETE FROM user_mfa"
    "            WHERE user_id = $1::uuid AND enabled_at IS NOT NULL"
    "              AND last_step < $2::bigint"
    "           RETURNING user_id),"
    "     d AS (DELETE FROM mfa_recovery_codes"
    "            WHERE user_id IN (SELECT user_id FROM m)),"
    "     c AS (DELETE FROM mfa_challenges"
    "            WHERE user_id IN (SELECT user_id FROM m)),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action)"
    "           SELECT user_id, 'user', user_id, 'mfa_disabled' FROM m)"
    " SELECT 1 FROM m");


ngx_int_t
ngx_kanban_mfa_start_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_mfa_enrol_begin(r, ctx, NGX_KANBAN_MFA_START);
}


ngx_int_t
ngx_kanban_mfa_confirm_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_mfa_enrol_begin(r, ctx, NGX_KANBAN_MFA_CONFIRM);
}


ngx_int_t
ngx_kanban_mfa_disable_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    return ngx_kanban_mfa_enrol_begin(r, ctx, NGX_KANBAN_MFA_DISABLE);
}


static ngx_int_t
ngx_kanban_mfa_enrol_begin(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_mfa_stage_e stage)
{
    ngx_str_t               *s;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_mfa_enrol_t  *me;

    me = ngx_pcalloc(r->pool, sizeof(ngx_kanban_mfa_enrol_t));
    if (me == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = me;
    me->stage = stage;

    s = ngx_kanban_json_string(ctx->body, "password");
    if (s) {
        me->password = *s;
    }

    s = ngx_kanban_json_string(ctx->body, "code");
    if (s) {
        me->code = *s;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_mfa_enrol_get,
                             ngx_kanban_mfa_enrol_found, 1,
                             &ctx->identity->user_id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* a value of the row into the request's pool: the row is freed when its
 * handler returns */

static ngx_str_t *
ngx_kanban_mfa_enrol_copy(ngx_http_request_t *r, PGresult *res, int col,
    ngx_str_t *dst)
{
    ngx_str_t  *v;

    v = ngx_kanban_pg_value(r, res, 0, col);
    if (v == NULL) {
        return NULL;
    }

    dst->len = v->len;
    dst->data = ngx_pstrdup(r->pool, v);

    return dst->data ? dst : NULL;
}


static void
ngx_kanban_mfa_enrol_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t                rc;
    ngx_str_t                hash, *on;
    ngx_uint_t               enabled;
    ngx_kanban_mfa_enrol_t  *me;

    me = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED, NULL));
        return;
    }

    on = ngx_kanban_pg_value(r, q->result, 0, 4);
    enabled = on && on->len == 1 && on->data[0] == 't';

    ngx_kanban_mfa_enrol_copy(r, q->result, 2, &me->sealed);
    ngx_kanban_mfa_enrol_copy(r, q->result, 3, &me->last_step);

    if (ngx_kanban_mfa_enrol_copy(r, q->result, 1, &me->email) == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    switch (me->stage) {

    case NGX_KANBAN_MFA_START:
        if (enabled) {
            ngx_http_finalize_request(r,
                ngx_kanban_problem(r, NGX_KANBAN_ERR_CONFLICT,
                                   "Two-factor sign-in is on already; turn "
                                   "it off first to enrol anew."));
            return;
        }
        break;

    case NGX_KANBAN_MFA_CONFIRM:
        if (enabled || me->sealed.data == NULL) {
            ngx_http_finalize_request(r,
                ngx_kanban_problem(r, NGX_KANBAN_ERR_CONFLICT,
                                   "No enrolment is waiting for its first "
                                   "code."));
            return;
        }

        rc = ngx_kanban_mfa_enrol_code(r, q, me);
        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }
        return;

    case NGX_KANBAN_MFA_DISABLE:
        if (!enabled) {
            ngx_http_finalize_request(r,
                ngx_kanban_problem(r, NGX_KANBAN_ERR_CONFLICT,
                                   "Two-factor sign-in is not on."));
            return;
        }
        break;
    }

    /* the hash is read now: the result is freed when this returns */
    if (ngx_kanban_mfa_enrol_copy(r, q->result, 0, &hash) == NULL) {
        /* no password (a provider's person): nothing to ask again */
        ngx_kanban_mfa_enrol_verified(r, 1);
        return;
    }

    if (me->password.len == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_mfa_wrong(r, "password", "Give your current "
                                                "password."));
        return;
    }

    if (ngx_kanban_password_verify(r, hash.data ? &hash : NULL,
                                   &me->password,
                                   ngx_kanban_mfa_enrol_verified)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_mfa_enrol_verified(ngx_http_request_t *r, ngx_uint_t match)
{
    ngx_int_t                rc;
    ngx_str_t               *user;
    ngx_kanban_mfa_enrol_t  *me;

    me = ngx_kanban_ctx(r)->data;
    user = &ngx_kanban_ctx(r)->identity->user_id;

    if (!match) {
        ngx_http_finalize_request(r,
            ngx_kanban_mfa_wrong(r, "password",
                                 "This is not your current password."));
        return;
    }

    if (me->stage == NGX_KANBAN_MFA_DISABLE) {
        rc = ngx_kanban_mfa_enrol_code(r, NULL, me);

    } else if (ngx_kanban_totp_secret(r->pool, &me->secret) != NGX_OK
               || ngx_kanban_webhooks_seal(r->pool, &me->secret, &me->sealed)
                  != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ngx_kanban_mfa_enrol_run(r, NULL, &ngx_kanban_mfa_enrol_store,
                                      2, user, &me->sealed);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* confirm and disable: the code must be right, then the change is made
 * only if no other request took its step meanwhile; q: the query whose
 * handler this runs in, or NULL */

static ngx_int_t
ngx_kanban_mfa_enrol_code(ngx_http_request_t *r, ngx_kanban_pg_query_t *q,
    ngx_kanban_mfa_enrol_t *me)
{
    ngx_int_t   rc;
    ngx_str_t  *user;

    user = &ngx_kanban_ctx(r)->identity->user_id;

    rc = ngx_kanban_mfa_verify(r, &me->sealed, &me->last_step, &me->code,
                               &me->step);

    if (rc == NGX_DECLINED) {
        return ngx_kanban_mfa_wrong(r, "code",
                                    "The code is not right, or was used "
                                    "already.");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (me->stage == NGX_KANBAN_MFA_DISABLE) {
        return ngx_kanban_mfa_enrol_run(r, q, &ngx_kanban_mfa_enrol_disable,
                                        2, user, &me->step);
    }

    if (ngx_kanban_mfa_recovery_codes(r, &me->recovery) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_mfa_enrol_run(r, q, &ngx_kanban_mfa_enrol_enable, 3,
                                    user, &me->step);
}


/* the statement on q, or on a new query after the thread pool's work */

static ngx_int_t
ngx_kanban_mfa_enrol_run(ngx_http_request_t *r, ngx_kanban_pg_query_t *q,
    ngx_kanban_pg_stmt_t *stmt, ngx_uint_t n, ngx_str_t *a, ngx_str_t *b)
{
    ngx_kanban_ctx_t        *ctx;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_mfa_enrol_t  *me;

    ctx = ngx_kanban_ctx(r);
    me = ctx->data;

    if (q == NULL) {
        ngx_kanban_pg_tenant_db(ctx->tenant, &db);
        q = ngx_kanban_pg_query(r, &db);
    }

    if (q == NULL
        || ngx_kanban_pg_run(q, stmt, ngx_kanban_mfa_enrol_done, n, a, b,
                             &me->recovery)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_mfa_enrol_done(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                body, none = ngx_null_string;
    ngx_kanban_mfa_enrol_t  *me;

    me = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        /* another request turned it on, or took the code's step */
        ngx_http_finalize_request(r, me->stage == NGX_KANBAN_MFA_START
            ? ngx_kanban_problem(r, NGX_KANBAN_ERR_CONFLICT,
                                 "Two-factor sign-in is on already.")
            : ngx_kanban_mfa_wrong(r, "code",
                                   "The code is not right, or was used "
                                   "already."));
        return;
    }

    switch (me->stage) {

    case NGX_KANBAN_MFA_START:
        ngx_http_finalize_request(r,
            ngx_kanban_mfa_secret_show(r, &me->email, &me->secret));
        return;

    case NGX_KANBAN_MFA_CONFIRM:
        body.data = ngx_pnalloc(r->pool, me->recovery.len
                                         + sizeof("{\"enabled\":true,"
                                                  "\"recovery_codes\":}"));
        if (body.data == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        body.len = ngx_sprintf(body.data,
                               "{\"enabled\":true,\"recovery_codes\":%V}",
                               &me->recovery)
                   - body.data;

        ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK,
                                                          &body));
        return;

    case NGX_KANBAN_MFA_DISABLE:
        ngx_http_finalize_request(r, ngx_kanban_send_json(r,
                                         NGX_HTTP_NO_CONTENT, &none));
        return;
    }
}


/* {"status": "pending", "secret": ..., "otpauth_uri": ..., "qr_svg": ...}:
 * the URI is otpauth://totp/Kanban:EMAIL?secret=..., the email escaped;
 * the QR code of the URI for the authenticator's camera */

ngx_int_t
ngx_kanban_mfa_secret_show(ngx_http_request_t *r, ngx_str_t *email,
    ngx_str_t *secret)
{
    u_char           *p;
    ngx_str_t         uri, body, qr, no_store = ngx_string("no-store");
    ngx_kanban_jw_t   jw;

    p = ngx_pnalloc(r->pool, sizeof("otpauth://totp/:?secret=&issuer="
                                    "&algorithm=SHA1&digits=6&period=30")
                             + 2 * sizeof(NGX_KANBAN_MFA_ISSUER)
                             + 3 * email->len + secret->len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    uri.data = p;
    p = ngx_sprintf(p, "otpauth://totp/%s:", NGX_KANBAN_MFA_ISSUER);
    p = (u_char *) ngx_escape_uri(p, email->data, email->len,
                                  NGX_ESCAPE_URI_COMPONENT);
    p = ngx_sprintf(p, "?secret=%V&issuer=%s&algorithm=SHA1&digits=6"
                    "&period=30", secret, NGX_KANBAN_MFA_ISSUER);
    uri.len = p - uri.data;

    if (ngx_kanban_qr_svg(r->pool, &uri, &qr) != NGX_OK
        || ngx_kanban_jw_init(&jw, r->pool, 512 + qr.len) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_cstring(&jw, "pending");
    ngx_kanban_jw_key(&jw, "secret");
    ngx_kanban_jw_string(&jw, secret);
    ngx_kanban_jw_key(&jw, "otpauth_uri");
    ngx_kanban_jw_string(&jw, &uri);
    ngx_kanban_jw_key(&jw, "qr_svg");
    ngx_kanban_jw_string(&jw, &qr);
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK
        || ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_json(r, NGX_HTTP_OK, &body);
}
