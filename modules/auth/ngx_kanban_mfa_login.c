
/*
 * Sign-in's second step. A right password of a person whose two-factor
 * sign-in is on makes no session: POST /api/v1/auth/login answers 401
 * mfa_required with a challenge, 256 random bits kept as SHA-256, good
 * for 5 minutes, 5 wrong codes and one success. POST
 * /api/v1/auth/login/mfa {challenge, code | recovery_code} then answers
 * what a password sign-in answers. Every wrong code also counts against
 * the account's sign-in throttle (login_failures), so new challenges do
 * not buy more guesses. The decision is one function of the database
 * (mfa_sign_in, sql/tenant/044_mfa.sql), so a code's step and a recovery
 * code are spent once even by two nodes at the same moment.
 */

/* SQL: sql/tenant/044_mfa.sql */
#include "ngx_kanban_mfa.h"
#include "ngx_kanban_session.h"
#include "ngx_kanban_auth_routes.h"
#include <openssl/rand.h>


typedef struct {
    ngx_str_t                  challenge;      /* its hash */
    ngx_str_t                  code;
    ngx_str_t                  recovery;
    ngx_str_t                  step;
    ngx_str_t                  token;          /* the new challenge */
    ngx_kanban_session_t       session;
} ngx_kanban_mfa_login_t;


static void ngx_kanban_mfa_challenge_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_mfa_login_dead(ngx_http_request_t *r);
static void ngx_kanban_mfa_login_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_mfa_login_decided(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


ngx_kanban_field_t  ngx_kanban_mfa_login_fields[] = {
    { "challenge", NGX_KANBAN_FIELD_STRING, 1, 1, 64, NULL, NULL },
    { "code", NGX_KANBAN_FIELD_STRING, 0, 6, 6, NULL,
      ngx_kanban_mfa_code_check },
    { "recovery_code", NGX_KANBAN_FIELD_STRING, 0, 1,
      NGX_KANBAN_MFA_RECOVERY_MAX, NULL, NULL },
    { "cookie", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_challenge_store =
    ngx_kanban_pg_stmt("mfa_challenge_store",
    "INSERT INTO mfa_challenges (token_hash, user_id, expires_at)"
    " VALUES ($1, $2::uuid, now() + make_interval(secs => $3::int))");

/* the secret and last step of a live challenge's person */
static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_login_get = ngx_kanban_pg_stmt(
    "mfa_login_get",
    "SELECT m.secret, m.last_step"
    "  FROM mfa_challenges c JOIN user_mfa m ON m.user_id = c.user_id"
    " WHERE c.token_hash = $1 AND c.used_at IS NULL"
    "   AND c.expires_at > now() AND c.attempts < 5"
    "   AND m.enabled_at IS NOT NULL");

static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_login_decide = ngx_kanban_pg_stmt(
    "mfa_login_decide",
    "SELECT user_id, role, teams, person, outcome"
    "  FROM mfa_sign_in($1, $2::bigint, $3, $4, $5, $6::inet, $7::int)");


/* Called by the password sign-in once the password is right: the
 * challenge instead of a session. */

ngx_int_t
ngx_kanban_mfa_challenge(ngx_http_request_t *r, ngx_str_t *user_id)
{
    u_char                   raw[32], ttl_text[NGX_INT_T_LEN];
    ngx_str_t                src, hash, ttl;
    ngx_kanban_ctx_t        *ctx;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_mfa_login_t  *ml;

    ctx = ngx_kanban_ctx(r);

    ml = ngx_pcalloc(r->pool, sizeof(ngx_kanban_mfa_login_t));
    if (ml == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the password sign-in's own state is done with */
    ctx->data = ml;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    src.data = raw;
    src.len = sizeof(raw);

    ml->token.data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(32));
    if (ml->token.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_encode_base64url(&ml->token, &src);
    ngx_explicit_memzero(raw, sizeof(raw));

    ttl.data = ttl_text;
    ttl.len = ngx_sprintf(ttl_text, "%d", NGX_KANBAN_MFA_CHALLENGE_TTL)
              - ttl_text;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_session_hash(r, &ml->token, &hash) != NGX_OK
        || ngx_kanban_pg_run(q, &ngx_kanban_mfa_challenge_store,
                             ngx_kanban_mfa_challenge_stored, 3, &hash,
                             user_id, &ttl)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* 401 mfa_required: a problem with the challenge beside its code */

static void
ngx_kanban_mfa_challenge_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t                body;
    ngx_str_t                type = ngx_string("application/problem+json");
    ngx_str_t                no_store = ngx_string("no-store");
    ngx_kanban_jw_t          jw;
    ngx_kanban_mfa_login_t  *ml;

    ml = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (ngx_kanban_jw_init(&jw, r->pool, 512) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "type");
    ngx_kanban_jw_cstring(&jw, "https://kanban.example/problems/mfa_required");
    ngx_kanban_jw_key(&jw, "title");
    ngx_kanban_jw_cstring(&jw, "Second factor required");
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_int(&jw, NGX_HTTP_UNAUTHORIZED);
    ngx_kanban_jw_key(&jw, "code");
    ngx_kanban_jw_cstring(&jw, "mfa_required");
    ngx_kanban_jw_key(&jw, "detail");
    ngx_kanban_jw_cstring(&jw, "Enter the code of your authenticator app, "
                               "or a recovery code.");
    ngx_kanban_jw_key(&jw, "challenge");
    ngx_kanban_jw_string(&jw, &ml->token);
    ngx_kanban_jw_key(&jw, "expires_in");
    ngx_kanban_jw_int(&jw, NGX_KANBAN_MFA_CHALLENGE_TTL);
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK
        || ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
        ngx_kanban_send_text(r, NGX_HTTP_UNAUTHORIZED, &type, &body));
}


ngx_int_t
ngx_kanban_mfa_login_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_str_t               *s;
    ngx_kanban_mfa_login_t  *ml;

    ml = ngx_pcalloc(r->pool, sizeof(ngx_kanban_mfa_login_t));
    if (ml == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = ml;

    ngx_kanban_mfa_step_read(ctx->body, &ml->code, &ml->session.cookie);

    s = ngx_kanban_json_string(ctx->body, "recovery_code");
    if (s) {
        ml->recovery = *s;
    }

    if ((ml->code.len == 0) == (ml->recovery.len == 0)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "Send either code or recovery_code.");
    }

    if (ngx_kanban_session_hash(r, ngx_kanban_json_string(ctx->body,
                                                          "challenge"),
                                &ml->challenge)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_mfa_step_ask(r, ctx, &ngx_kanban_mfa_login_get,
                                   ngx_kanban_mfa_login_found,
                                   &ml->challenge);
}


/* used, expired, dead after 5 wrong codes, or of another workspace */

static ngx_int_t
ngx_kanban_mfa_login_dead(ngx_http_request_t *r)
{
    return ngx_kanban_problem(r, NGX_KANBAN_ERR_INVALID_TOKEN,
                              "This sign-in has expired or was used; sign "
                              "in again with your password.");
}


static void
ngx_kanban_mfa_login_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t                rc;
    ngx_kanban_mfa_login_t  *ml;

    ml = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_mfa_login_dead(r));
        return;
    }

    if (ml->code.len) {
        rc = ngx_kanban_mfa_step_verify(r, q->result, &ml->code, &ml->step);
        if (rc == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (ngx_kanban_session_create(r, &ml->session) != NGX_OK
        || ngx_kanban_pg_run(q, &ngx_kanban_mfa_login_decide,
                             ngx_kanban_mfa_login_decided, 7,
                             &ml->challenge, &ml->step, &ml->recovery,
                             &ml->session.hash, ml->session.user_agent,
                             ml->session.addr, &ml->session.lifetime)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_mfa_login_decided(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    PGresult                *row;
    ngx_kanban_mfa_login_t  *ml;

    ml = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    switch (ngx_kanban_mfa_step_outcome(r, q, &row)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kanban: second sign-in step refused (challenge "
                      "dead) from %V", &r->connection->addr_text);
        ngx_http_finalize_request(r, ngx_kanban_mfa_login_dead(r));
        return;

    case NGX_ABORT:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kanban: second sign-in step refused (wrong code) "
                      "from %V", &r->connection->addr_text);
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_CREDENTIALS,
                               "The code is not right, or was used "
                               "already."));
        return;

    default:
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "kanban: second sign-in step succeeded from %V",
                  &r->connection->addr_text);

    ngx_http_finalize_request(r,
        ngx_kanban_session_send(r, &ml->session, row, NGX_HTTP_OK));
}
