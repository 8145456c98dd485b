
/*
 * Enrolment at sign-in, for the people the workspace's two-factor policy
 * covers (ngx_kanban_mfa_policy.c) whose authenticator is not on yet. A
 * right password, or a provider's sign-in, gets no session but 401
 * mfa_enrolment_required with an enrolment session: a bearer token
 * (kbe_..., kept as SHA-256, 15 minutes, 5 wrong codes, once) that only
 * these routes take:
 *
 *   POST /api/v1/auth/login/mfa/enrol            a pending secret: text,
 *                                                otpauth:// URI, QR code
 *   POST /api/v1/auth/login/mfa/enrol/confirm {code}
 *                                                on; the full session and
 *                                                the recovery codes, once
 *
 * Any other request with it is refused before routing with 403
 * mfa_enrolment_required, and the token kind grants no scope besides, so
 * no route runs for it even if that check were missed. API tokens are
 * not sessions and stay as they are.
 */

/* SQL: sql/tenant/044_mfa.sql, 050_mfa_policy.sql */
#include "ngx_kanban_mfa.h"
#include "ngx_kanban_session.h"
#include "ngx_kanban_totp.h"
#include "ngx_kanban_webhooks.h"
#include <openssl/rand.h>


#define NGX_KANBAN_MFA_ENROLMENT_PREFIX  "kbe_"
#define NGX_KANBAN_MFA_ENROLMENT_TTL     900      /* seconds, as the SQL */

#define NGX_KANBAN_MFA_ENROL_URI   "/api/v1/auth/login/mfa/enrol"
#define NGX_KANBAN_MFA_CONFIRM_URI "/api/v1/auth/login/mfa/enrol/confirm"


typedef struct {
    ngx_str_t                  token;          /* the new one, at sign-in */
    ngx_str_t                  hash;
    ngx_str_t                  secret;
    ngx_str_t                  sealed;
    ngx_str_t                  code;
    ngx_str_t                  step;
    ngx_str_t                  recovery;
    ngx_kanban_session_t       session;
    ngx_kanban_mfa_enrolment_pt  answer;
} ngx_kanban_mfa_enrolment_t;


typedef struct {
    ngx_kanban_token_found_pt  found;
} ngx_kanban_mfa_enrolment_lookup_t;


static void ngx_kanban_mfa_enrolment_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_mfa_enrolment_problem(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *token);
static ngx_int_t ngx_kanban_mfa_enrolment_bearer(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_kanban_mfa_enrolment_t *ngx_kanban_mfa_enrolment_ctx(
    ngx_http_request_t *r, ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_mfa_enrolment_dead(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_mfa_enrol_start_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_mfa_enrol_started(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_mfa_enrol_finish_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_mfa_enrol_pending(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_mfa_enrol_finished(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_mfa_enrolment_lookup(ngx_http_request_t *r,
    ngx_str_t *token, ngx_kanban_token_found_pt found);
static void ngx_kanban_mfa_enrolment_looked_up(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_mfa_enrolment_preroute(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_mfa_enrolment_init(ngx_conf_t *cf);


extern ngx_kanban_field_t  ngx_kanban_mfa_policy_fields[];
extern ngx_kanban_sql_t  ngx_kanban_mfa_policy_get;
extern ngx_kanban_sql_t  ngx_kanban_mfa_policy_put;


static ngx_kanban_field_t  ngx_kanban_mfa_enrol_finish_fields[] = {
    { "code", NGX_KANBAN_FIELD_STRING, 1, 6, 6, NULL,
      ngx_kanban_mfa_code_check },
    { "cookie", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_route_t  ngx_kanban_mfa_enrolment_routes[] = {

    /* public to the router: the handlers read the enrolment session */
    { NGX_HTTP_POST, NGX_KANBAN_MFA_ENROL_URI, NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_mfa_enrol_start_handler,
      NULL, ngx_null_string, NULL },

    { NGX_HTTP_POST, NGX_KANBAN_MFA_CONFIRM_URI, NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_mfa_enrol_finish_handler,
      ngx_kanban_mfa_enrol_finish_fields, ngx_null_string, NULL },

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/auth/mfa-policy",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_mfa_policy_get),

    ngx_kanban_sql_route(NGX_HTTP_PUT, "/api/v1/auth/mfa-policy",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_mfa_policy_fields,
        &ngx_kanban_mfa_policy_put),
};


/* $3: the refresh token a provider's sign-in stored already, now void */
static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrolment_store =
    ngx_kanban_pg_stmt("mfa_enrolment_store",
    "WITH d AS (DELETE FROM refresh_tokens WHERE token_hash = $3)"
    " INSERT INTO mfa_enrolments (token_hash, user_id)"
    " VALUES ($1, $2::uuid)");

/* the token kind's lookup: who, while the enrolment session lives */
static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrolment_who =
    ngx_kanban_pg_stmt("mfa_enrolment_who",
    "SELECT u.id, u.role FROM users u"
    " WHERE u.id = mfa_enrolment_user($1)");

/* a new pending secret (never over one that is on); the email for the
 * authenticator's label */
static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrolment_secret =
    ngx_kanban_pg_stmt("mfa_enrolment_secret",
    "WITH e AS (SELECT mfa_enrolment_user($1) AS uid),"
    "     s AS (INSERT INTO user_mfa (user_id, secret)"
    "           SELECT uid, $2 FROM e WHERE uid IS NOT NULL"
    "           ON CONFLICT (user_id) DO UPDATE"
    "             SET secret = excluded.secret, last_step = 0,"
    "                 created_at = now()"
    "           WHERE user_mfa.enabled_at IS NULL"
    "           RETURNING user_id)"
    " SELECT u.email FROM s JOIN users u ON u.id = s.user_id");

static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrolment_pending =
    ngx_kanban_pg_stmt("mfa_enrolment_pending",
    "SELECT m.secret, m.last_step FROM user_mfa m"
    " WHERE m.user_id = mfa_enrolment_user($1) AND m.enabled_at IS NULL");

static ngx_kanban_pg_stmt_t  ngx_kanban_mfa_enrolment_end =
    ngx_kanban_pg_stmt("mfa_enrolment_end",
    "SELECT user_id, role, teams, person, outcome"
    "  FROM mfa_enrolment_finish($1, $2::bigint, $3::jsonb, $4, $5,"
    "                            $6::inet, $7::int)");


/* Called by a sign-in once the first factor is right: the enrolment
 * session instead of a session. void: a refresh token stored already, to
 * delete; answer: how the sign-in hands the token over (NULL: the 401) */

ngx_int_t
ngx_kanban_mfa_enrolment_begin(ngx_http_request_t *r, ngx_str_t *user_id,
    ngx_str_t *void_refresh, ngx_kanban_mfa_enrolment_pt answer)
{
    u_char                       raw[32];
    ngx_str_t                    src, b64;
    ngx_kanban_ctx_t            *ctx;
    ngx_kanban_pg_db_t           db;
    ngx_kanban_pg_query_t       *q;
    ngx_kanban_mfa_enrolment_t  *me;

    ctx = ngx_kanban_ctx(r);

    me = ngx_pcalloc(r->pool, sizeof(ngx_kanban_mfa_enrolment_t));
    if (me == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the sign-in's own state is done with */
    ctx->data = me;
    me->answer = answer;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    src.data = raw;
    src.len = sizeof(raw);

    me->token.data = ngx_pnalloc(r->pool,
                                 sizeof(NGX_KANBAN_MFA_ENROLMENT_PREFIX) - 1
                                 + ngx_base64_encoded_length(sizeof(raw)));
    if (me->token.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b64.data = ngx_cpymem(me->token.data, NGX_KANBAN_MFA_ENROLMENT_PREFIX,
                          sizeof(NGX_KANBAN_MFA_ENROLMENT_PREFIX) - 1);
    ngx_encode_base64url(&b64, &src);
    ngx_explicit_memzero(raw, sizeof(raw));

    me->token.len = sizeof(NGX_KANBAN_MFA_ENROLMENT_PREFIX) - 1 + b64.len;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_session_hash(r, &me->token, &me->hash) != NGX_OK
        || ngx_kanban_pg_run(q, &ngx_kanban_mfa_enrolment_store,
                             ngx_kanban_mfa_enrolment_stored, 3, &me->hash,
                             user_id, void_refresh)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_mfa_enrolment_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_kanban_mfa_enrolment_t  *me;

    me = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ngx_http_finalize_request(r, me->answer
        ? me->answer(r, &me->token)
        : ngx_kanban_mfa_enrolment_problem(r, NGX_HTTP_UNAUTHORIZED,
                                           &me->token));
}


/* mfa_enrolment_required: 401 with the enrolment session at sign-in, 403
 * without it wherever else that session is used */

static ngx_int_t
ngx_kanban_mfa_enrolment_problem(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *token)
{
    ngx_str_t        body;
    ngx_str_t        type = ngx_string("application/problem+json");
    ngx_str_t        no_store = ngx_string("no-store");
    ngx_kanban_jw_t  jw;

    if (ngx_kanban_jw_init(&jw, r->pool, 512) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "type");
    ngx_kanban_jw_cstring(&jw, "https://kanban.example/problems/"
                               "mfa_enrolment_required");
    ngx_kanban_jw_key(&jw, "title");
    ngx_kanban_jw_cstring(&jw, "Two-factor enrolment required");
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_int(&jw, status);
    ngx_kanban_jw_key(&jw, "code");
    ngx_kanban_jw_cstring(&jw, "mfa_enrolment_required");
    ngx_kanban_jw_key(&jw, "detail");

    if (token) {
        ngx_kanban_jw_cstring(&jw, "This workspace requires two-factor "
                                   "sign-in: set up your authenticator app "
                                   "to finish signing in.");
        ngx_kanban_jw_key(&jw, "enrolment_token");
        ngx_kanban_jw_string(&jw, token);
        ngx_kanban_jw_key(&jw, "expires_in");
        ngx_kanban_jw_int(&jw, NGX_KANBAN_MFA_ENROLMENT_TTL);

    } else {
        ngx_kanban_jw_cstring(&jw, "This session can only set up two-factor "
                                   "sign-in (POST "
                                   NGX_KANBAN_MFA_ENROL_URI "); finish "
                                   "that first.");
    }

    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK
        || ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_text(r, status, &type, &body);
}


/* the request's enrolment session (Authorization: Bearer kbe_...):
 * NGX_OK, or NGX_DECLINED for none */

static ngx_int_t
ngx_kanban_mfa_enrolment_bearer(ngx_http_request_t *r, ngx_str_t *token)
{
    size_t  n;

    if (r->headers_in.authorization == NULL) {
        return NGX_DECLINED;
    }

    *token = r->headers_in.authorization->value;

    if (token->len < 7
        || ngx_strncasecmp(token->data, (u_char *) "Bearer ", 7) != 0)
    {
        return NGX_DECLINED;
    }

    token->data += 7;
    token->len -= 7;

    while (token->len && token->data[0] == ' ') {
        token->data++;
        token->len--;
    }

    n = sizeof(NGX_KANBAN_MFA_ENROLMENT_PREFIX) - 1;

    if (token->len <= n || token->len > 128
        || ngx_strncmp(token->data, NGX_KANBAN_MFA_ENROLMENT_PREFIX, n) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_kanban_mfa_enrolment_t *
ngx_kanban_mfa_enrolment_ctx(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_mfa_enrolment_t  *me;

    me = ngx_pcalloc(r->pool, sizeof(ngx_kanban_mfa_enrolment_t));
    if (me == NULL) {
        return NULL;
    }

    ctx->data = me;

    if (ngx_kanban_mfa_enrolment_bearer(r, &me->token) != NGX_OK) {
        me->token.len = 0;
        return me;
    }

    if (ngx_kanban_session_hash(r, &me->token, &me->hash) != NGX_OK) {
        return NULL;
    }

    return me;
}


static ngx_int_t
ngx_kanban_mfa_enrolment_dead(ngx_http_request_t *r)
{
    return ngx_kanban_problem(r, NGX_KANBAN_ERR_INVALID_TOKEN,
                              "This enrolment has expired or was used; "
                              "sign in again.");
}


static ngx_int_t
ngx_kanban_mfa_enrol_start_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_pg_db_t           db;
    ngx_kanban_pg_query_t       *q;
    ngx_kanban_mfa_enrolment_t  *me;

    me = ngx_kanban_mfa_enrolment_ctx(r, ctx);
    if (me == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (me->token.len == 0) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                                  "Send the enrolment session of your "
                                  "sign-in as a bearer token.");
    }

    if (ngx_kanban_totp_secret(r->pool, &me->secret) != NGX_OK
        || ngx_kanban_webhooks_seal(r->pool, &me->secret, &me->sealed)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_mfa_enrolment_secret,
                             ngx_kanban_mfa_enrol_started, 2, &me->hash,
                             &me->sealed)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_mfa_enrol_started(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                   *v, email;
    ngx_kanban_mfa_enrolment_t  *me;

    me = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_mfa_enrolment_dead(r));
        return;
    }

    v = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (v == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the row is freed when this returns; the answer is built before */
    email = *v;

    ngx_http_finalize_request(r,
        ngx_kanban_mfa_secret_show(r, &email, &me->secret));
}


static ngx_int_t
ngx_kanban_mfa_enrol_finish_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_mfa_enrolment_t  *me;

    me = ngx_kanban_mfa_enrolment_ctx(r, ctx);
    if (me == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (me->token.len == 0) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                                  "Send the enrolment session of your "
                                  "sign-in as a bearer token.");
    }

    ngx_kanban_mfa_step_read(ctx->body, &me->code, &me->session.cookie);

    return ngx_kanban_mfa_step_ask(r, ctx, &ngx_kanban_mfa_enrolment_pending,
                                   ngx_kanban_mfa_enrol_pending, &me->hash);
}


/* the pending secret: the code checked against it, then the database
 * decides (a wrong code is counted there too) */

static void
ngx_kanban_mfa_enrol_pending(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t                    rc;
    ngx_kanban_mfa_enrolment_t  *me;

    me = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_CONFLICT,
                               "No secret is waiting for its first code: "
                               "POST " NGX_KANBAN_MFA_ENROL_URI " first."));
        return;
    }

    rc = ngx_kanban_mfa_step_verify(r, q->result, &me->code, &me->step);
    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_kanban_mfa_recovery_codes(r, &me->recovery) != NGX_OK
        || ngx_kanban_session_create(r, &me->session) != NGX_OK
        || ngx_kanban_pg_run(q, &ngx_kanban_mfa_enrolment_end,
                             ngx_kanban_mfa_enrol_finished, 7, &me->hash,
                             &me->step, &me->recovery, &me->session.hash,
                             me->session.user_agent, me->session.addr,
                             &me->session.lifetime)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_mfa_enrol_finished(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    PGresult                    *row;
    ngx_kanban_mfa_enrolment_t  *me;

    me = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    switch (ngx_kanban_mfa_step_outcome(r, q, &row)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        ngx_http_finalize_request(r, ngx_kanban_mfa_enrolment_dead(r));
        return;

    case NGX_ABORT:
        ngx_http_finalize_request(r,
            ngx_kanban_mfa_wrong(r, "code", "The code is not right, or was "
                                            "used already."));
        return;

    default:
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "kanban: two-factor enrolment at sign-in finished from %V",
                  &r->connection->addr_text);

    ngx_http_finalize_request(r,
        ngx_kanban_session_send_with(r, &me->session, row, NGX_HTTP_OK,
                                     "recovery_codes", &me->recovery));
}


/* The token kind kbe_: who the enrolment session is, with no scope, so
 * that the route table lets it nowhere. */

static ngx_int_t
ngx_kanban_mfa_enrolment_lookup(ngx_http_request_t *r, ngx_str_t *token,
    ngx_kanban_token_found_pt found)
{
    ngx_str_t                           hash;
    ngx_kanban_pg_db_t                  db;
    ngx_kanban_tenant_t                *tenant;
    ngx_kanban_pg_query_t              *q;
    ngx_kanban_mfa_enrolment_lookup_t  *lk;

    tenant = ngx_kanban_tenant(r);
    if (tenant == NULL || token->len > 128) {
        return NGX_DECLINED;
    }

    lk = ngx_palloc(r->pool, sizeof(ngx_kanban_mfa_enrolment_lookup_t));
    if (lk == NULL || ngx_kanban_session_hash(r, token, &hash) != NGX_OK) {
        return NGX_ERROR;
    }

    lk->found = found;

    ngx_kanban_pg_tenant_db(tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = lk;

    if (ngx_kanban_pg_run(q, &ngx_kanban_mfa_enrolment_who,
                          ngx_kanban_mfa_enrolment_looked_up, 1, &hash)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_kanban_mfa_enrolment_looked_up(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t                          *v;
    ngx_kanban_identity_t              *id;
    ngx_kanban_mfa_enrolment_lookup_t  *lk;

    lk = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        lk->found(r, NULL, q->error == NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    if (PQntuples(q->result) != 1) {
        lk->found(r, NULL, 0);
        return;
    }

    id = ngx_pcalloc(r->pool, sizeof(ngx_kanban_identity_t));
    if (id == NULL) {
        lk->found(r, NULL, 0);
        return;
    }

    v = ngx_kanban_pg_value(r, q->result, 0, 0);
    id->user_id.data = v ? ngx_pstrdup(r->pool, v) : NULL;
    id->user_id.len = v ? v->len : 0;

    v = ngx_kanban_pg_value(r, q->result, 0, 1);
    id->role.data = v ? ngx_pstrdup(r->pool, v) : NULL;
    id->role.len = v ? v->len : 0;

    /* no scopes: read, write and admin are all refused */
    id->scopes = 0;

    lk->found(r, id->user_id.data && id->role.data ? id : NULL, 0);
}


/* Before routing: an enrolment session anywhere but its two routes is
 * 403 mfa_enrolment_required. */

static ngx_int_t
ngx_kanban_mfa_enrolment_preroute(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  token;

    if (ctx->tenant == NULL
        || ngx_kanban_mfa_enrolment_bearer(r, &token) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if ((r->uri.len == sizeof(NGX_KANBAN_MFA_ENROL_URI) - 1
         && ngx_strncmp(r->uri.data, NGX_KANBAN_MFA_ENROL_URI,
                        r->uri.len) == 0)
        || (r->uri.len == sizeof(NGX_KANBAN_MFA_CONFIRM_URI) - 1
            && ngx_strncmp(r->uri.data, NGX_KANBAN_MFA_CONFIRM_URI,
                           r->uri.len) == 0))
    {
        return NGX_DECLINED;
    }

    rc = ngx_kanban_discard_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_kanban_mfa_enrolment_problem(r, NGX_HTTP_FORBIDDEN, NULL);
}


static ngx_http_module_t  ngx_kanban_mfa_enrolment_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_mfa_enrolment_init,         /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_mfa_enrolment_module = {
    NGX_MODULE_V1,
    &ngx_kanban_mfa_enrolment_module_ctx,  /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_kanban_mfa_enrolment_init(ngx_conf_t *cf)
{
    if (ngx_kanban_routes_add(cf, ngx_kanban_mfa_enrolment_routes,
                              sizeof(ngx_kanban_mfa_enrolment_routes)
                              / sizeof(ngx_kanban_route_t))
        != NGX_OK
        || ngx_kanban_token_seam(cf, NGX_KANBAN_MFA_ENROLMENT_PREFIX,
                                 ngx_kanban_mfa_enrolment_lookup)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_kanban_preroute_seam(cf, ngx_kanban_mfa_enrolment_preroute);
}
