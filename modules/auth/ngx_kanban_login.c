
/*
 * POST /api/v1/auth/login: email and password for a token pair.
 *
 * The account is read, the password verified in the thread pool (against
 * a dummy hash when there is no such account, so both cost the same), and
 * a new refresh-token family is stored. A wrong password, an unknown email
 * and a disabled account all get the same 401 invalid_credentials, and
 * each counts: 5 failures of an account or 20 from one address within 15
 * minutes make further tries 429 until the oldest ages out. The counts
 * live in the workspace's database, so every nginx node sees them. A
 * workspace whose sign-in policy has turned passwords off (while one of
 * its OAuth/OIDC providers is enabled) answers 403. A person whose
 * two-factor sign-in is on gets a challenge instead of a session
 * (ngx_kanban_mfa_login.c).
 */

#define NGX_KANBAN_LOGIN_ACCOUNT_MAX  5
#define NGX_KANBAN_LOGIN_ADDR_MAX     20

/* SQL: sql/tenant/001_users.sql, 002_auth.sql, 004_access.sql,
 * 021_sign_in_providers.sql, 044_mfa.sql, 050_mfa_policy.sql */
#include "ngx_kanban_session.h"
#include "ngx_kanban_auth_routes.h"
#include "ngx_kanban_mfa.h"
#include "ngx_kanban_sign_in.h"


typedef struct {
    ngx_str_t                  email;
    ngx_str_t                  password;
    ngx_str_t                  addr;
    ngx_uint_t                 active;
    PGresult                  *user;           /* kept until answered */
    ngx_kanban_session_t       session;
} ngx_kanban_login_t;


static void ngx_kanban_login_counted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_login_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_login_refused(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_login_verified(ngx_http_request_t *r,
    ngx_uint_t match);
static void ngx_kanban_login_stored(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_login_log(ngx_http_request_t *r, ngx_uint_t level,
    ngx_kanban_login_t *lg, char *what);


ngx_kanban_field_t  ngx_kanban_login_fields[] = {
    { "email", NGX_KANBAN_FIELD_STRING, 1, 1, 254, NULL, NULL },
    { "password", NGX_KANBAN_FIELD_STRING, 1, 1, NGX_KANBAN_PASSWORD_MAX,
      NULL, NULL },
    { "cookie", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* id, role, teams, the user as JSON (the shape session_send wants), then
 * the hash, the status, whether a second factor is on and whether the
 * workspace's policy wants one first */
static ngx_kanban_pg_stmt_t  ngx_kanban_login_user = ngx_kanban_pg_stmt(
    "login_user",
    "SELECT u.id, u.role,"
    "       coalesce((SELECT json_agg(tm.team_id ORDER BY tm.team_id)"
    "                   FROM team_members tm WHERE tm.user_id = u.id),"
    "                '[]'::json),"
    "       json_build_object('id', u.id, 'email', u.email, 'name', u.name,"
    "                         'role', u.role),"
    "       u.password_hash, u.status,"
    "       EXISTS (SELECT 1 FROM user_mfa m"
    "                WHERE m.user_id = u.id AND m.enabled_at IS NOT NULL),"
    "       mfa_policy_covers(u.id)"
    "  FROM users u WHERE lower(u.email) = lower($1)");

/* failures of this account and of this address within 15 minutes, the
 * seconds until the oldest that matters ages out, and whether the
 * workspace's sign-in policy lets passwords in at all */
static ngx_kanban_pg_stmt_t  ngx_kanban_login_throttle = ngx_kanban_pg_stmt(
    "login_throttle",
    "SELECT count(*) FILTER (WHERE lower(email) = lower($1)),"
    "       count(*) FILTER (WHERE addr = $2::inet),"
    "       ceil(extract(epoch FROM min(at) + interval '15 minutes'"
    "                               - now()))::int,"
    "       sign_in_password_allowed()"
    "  FROM login_failures"
    " WHERE at > now() - interval '15 minutes'"
    "   AND (lower(email) = lower($1) OR addr = $2::inet)");

static ngx_kanban_pg_stmt_t  ngx_kanban_login_failed = ngx_kanban_pg_stmt(
    "login_failed",
    "WITH old AS (DELETE FROM login_failures"
    "              WHERE at < now() - interval '1 day')"
    " INSERT INTO login_failures (email, addr) VALUES ($1, $2::inet)");

static ngx_kanban_pg_stmt_t  ngx_kanban_login_store = ngx_kanban_pg_stmt(
    "login_store",
    "WITH ok AS (DELETE FROM login_failures"
    "             WHERE lower(email) = lower($3))"
    " INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at,"
    "                             user_agent, address)"
    " VALUES ($1, gen_random_uuid(), $2,"
    "         now() + least(interval '" NGX_KANBAN_REFRESH_DAYS "',"
    "                       make_interval(secs => $4::int)),"
    "         left($5, " NGX_KANBAN_SESSION_AGENT_MAX "), $6::inet)");


ngx_int_t
ngx_kanban_login_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_json_t      *cookie;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_login_t     *lg;
    ngx_kanban_pg_query_t  *q;

    lg = ngx_pcalloc(r->pool, sizeof(ngx_kanban_login_t));
    if (lg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = lg;

    lg->email = *ngx_kanban_json_string(ctx->body, "email");
    lg->password = *ngx_kanban_json_string(ctx->body, "password");
    lg->addr = r->connection->addr_text;

    cookie = ngx_kanban_json_get(ctx->body, "cookie");
    lg->session.cookie = cookie && cookie->type == NGX_KANBAN_JSON_BOOL
                         && cookie->boolean;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_login_throttle,
                             ngx_kanban_login_counted, 2, &lg->email,
                             &lg->addr)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_login_counted(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t            rc;
    ngx_str_t           *v;
    ngx_kanban_login_t  *lg;

    lg = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    v = ngx_kanban_pg_value(r, q->result, 0, 3);

    if (v && v->len == 1 && v->data[0] == 'f') {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN,
                               "This workspace signs in with its sign-in "
                               "providers, not with passwords."));
        return;
    }

    rc = ngx_kanban_sign_in_throttled(r, q->result,
                                      NGX_KANBAN_LOGIN_ACCOUNT_MAX,
                                      NGX_KANBAN_LOGIN_ADDR_MAX);

    if (rc != NGX_DECLINED) {
        ngx_kanban_login_log(r, NGX_LOG_WARN, lg, "throttled");

        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_kanban_pg_run(q, &ngx_kanban_login_user, ngx_kanban_login_found,
                          1, &lg->email)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_login_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t           *hash, *status;
    ngx_kanban_login_t  *lg;

    lg = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    hash = NULL;

    if (PQntuples(q->result) == 1) {
        hash = ngx_kanban_pg_value(r, q->result, 0, 4);
        status = ngx_kanban_pg_value(r, q->result, 0, 5);

        lg->active = status && status->len == 6
                     && ngx_strncmp(status->data, "active", 6) == 0;

        /* the row answers the client later: it outlives this handler */
        lg->user = ngx_kanban_pg_keep(r, q);
        if (lg->user == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (ngx_kanban_password_verify(r, hash, &lg->password,
                                   ngx_kanban_login_verified)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_login_verified(ngx_http_request_t *r, ngx_uint_t match)
{
    ngx_int_t               rc;
    ngx_str_t              *id, *mfa;
    ngx_kanban_ctx_t       *ctx;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_login_t     *lg;
    ngx_kanban_pg_query_t  *q;

    ctx = ngx_kanban_ctx(r);
    lg = ctx->data;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (!match || !lg->active || lg->user == NULL) {
        ngx_kanban_login_log(r, NGX_LOG_INFO, lg, "refused");

        if (ngx_kanban_pg_run(q, &ngx_kanban_login_failed,
                              ngx_kanban_login_refused, 2, &lg->email,
                              &lg->addr)
            != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    id = ngx_kanban_pg_value(r, lg->user, 0, 0);
    mfa = ngx_kanban_pg_value(r, lg->user, 0, 6);

    if (id && mfa && mfa->len == 1 && mfa->data[0] == 't') {
        ngx_kanban_login_log(r, NGX_LOG_INFO, lg, "waits for its second "
                             "factor");

        rc = ngx_kanban_mfa_challenge(r, id);
        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    mfa = ngx_kanban_pg_value(r, lg->user, 0, 7);

    if (id && mfa && mfa->len == 1 && mfa->data[0] == 't') {
        ngx_kanban_login_log(r, NGX_LOG_INFO, lg, "must enrol a second "
                             "factor first");

        rc = ngx_kanban_mfa_enrolment_begin(r, id, NULL, NULL);
        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    if (id == NULL
        || ngx_kanban_session_create(r, &lg->session) != NGX_OK
        || ngx_kanban_pg_run(q, &ngx_kanban_login_store,
                             ngx_kanban_login_stored, 6, id,
                             &lg->session.hash, &lg->email,
                             &lg->session.lifetime, lg->session.user_agent,
                             lg->session.addr)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_login_refused(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ngx_http_finalize_request(r,
        ngx_kanban_problem(r, NGX_KANBAN_ERR_CREDENTIALS, NULL));
}


static void
ngx_kanban_login_stored(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_login_t  *lg;

    lg = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ngx_kanban_login_log(r, NGX_LOG_INFO, lg, "succeeded");

    ngx_http_finalize_request(r,
        ngx_kanban_session_send(r, &lg->session, lg->user, NGX_HTTP_OK));
}


/* Every sign-in is logged with its account and address (ASVS 16.3.1),
 * never its password. The email is as the client sent it: control
 * characters, quotes and backslashes are written as \xHH, so that it
 * cannot forge a line of the log or end its quotes. */

static void
ngx_kanban_login_log(ngx_http_request_t *r, ngx_uint_t level,
    ngx_kanban_login_t *lg, char *what)
{
    u_char     *p, *s;
    ngx_str_t   email;

    if (r->connection->log->log_level < level) {
        return;
    }

    email.data = ngx_pnalloc(r->pool, lg->email.len * 4);
    if (email.data == NULL) {
        return;
    }

    p = email.data;

    for (s = lg->email.data; s < lg->email.data + lg->email.len; s++) {
        if (*s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\') {
            p = ngx_sprintf(p, "\\x%02xi", (ngx_int_t) *s);

        } else {
            *p++ = *s;
        }
    }

    email.len = p - email.data;

    ngx_log_error(level, r->connection->log, 0,
                  "kanban: sign-in %s for \"%V\" from %V",
                  what, &email, &lg->addr);
}
