
/*
 * GET /api/v1/auth/me: the signed-in user with role, teams and skills.
 * POST /api/v1/auth/password: a new password, given the current one; it
 * ends every session of the user (their refresh tokens are revoked).
 */

/* SQL: sql/tenant/001_users.sql, 002_auth.sql */
#include "ngx_kanban_session.h"
#include "ngx_kanban_auth_routes.h"


typedef struct {
    ngx_str_t                  current;
    ngx_str_t                  next;
    ngx_str_t                  hash;
    ngx_str_t                  email;          /* the person's, copied */
} ngx_kanban_password_change_t;


static void ngx_kanban_me_read(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_password_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_password_verified(ngx_http_request_t *r,
    ngx_uint_t match);
static void ngx_kanban_password_hashed(ngx_http_request_t *r,
    ngx_str_t *hash);
static void ngx_kanban_password_changed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


ngx_kanban_field_t  ngx_kanban_password_fields[] = {
    { "current_password", NGX_KANBAN_FIELD_STRING, 1, 1,
      NGX_KANBAN_PASSWORD_MAX, NULL, NULL },
    { "new_password", NGX_KANBAN_FIELD_STRING, 1, NGX_KANBAN_PASSWORD_MIN,
      NGX_KANBAN_PASSWORD_MAX, NULL, ngx_kanban_password_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_me_get = ngx_kanban_pg_stmt(
    "me_get",
    "SELECT json_build_object("
    "  'id', u.id, 'email', u.email, 'name', u.name, 'role', u.role,"
    "  'status', u.status,"
    "  'teams', coalesce((SELECT json_agg(json_build_object("
    "                              'id', t.id, 'name', t.name)"
    "                            ORDER BY t.name)"
    "                       FROM team_members tm"
    "                       JOIN teams t ON t.id = tm.team_id"
    "                      WHERE tm.user_id = u.id), '[]'::json),"
    "  'skills', coalesce((SELECT json_agg(json_build_object("
    "                              'id', s.id, 'name', s.name,"
    "                              'level', us.level) ORDER BY s.name)"
    "                        FROM user_skills us"
    "                        JOIN skills s ON s.id = us.skill_id"
    "                       WHERE us.user_id = u.id), '[]'::json),"
    "  'created_at', to_char(u.created_at AT TIME ZONE 'UTC',"
    "                        'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "  'version', u.version)"
    "  FROM users u WHERE u.id = $1::uuid AND u.status = 'active'");

static ngx_kanban_pg_stmt_t  ngx_kanban_password_get = ngx_kanban_pg_stmt(
    "password_get",
    "SELECT password_hash, email FROM users"
    " WHERE id = $1::uuid AND status = 'active'");

static ngx_kanban_pg_stmt_t  ngx_kanban_password_set = ngx_kanban_pg_stmt(
    "password_set",
    "WITH u AS (UPDATE users SET password_hash = $2, version = version + 1,"
    "                  updated_at = now()"
    "            WHERE id = $1::uuid AND status = 'active'"
    "           RETURNING id),"
    "     r AS (UPDATE refresh_tokens SET revoked_at = now()"
    "            WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action)"
    "           SELECT id, 'user', id, 'password_changed' FROM u)"
    " SELECT count(*) FROM u");


ngx_int_t
ngx_kanban_me_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_me_get, ngx_kanban_me_read, 1,
                             &ctx->identity->user_id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_me_read(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t  rc;

    rc = ngx_kanban_pg_send_document(r, q);

    if (rc == NGX_DECLINED) {
        /* a valid token of a user since disabled or erased */
        rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                                "This account is no longer active.");
    }

    ngx_http_finalize_request(r, rc);
}


ngx_int_t
ngx_kanban_password_change_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_pg_db_t             db;
    ngx_kanban_pg_query_t         *q;
    ngx_kanban_password_change_t  *pc;

    pc = ngx_pcalloc(r->pool, sizeof(ngx_kanban_password_change_t));
    if (pc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = pc;
    pc->current = *ngx_kanban_json_string(ctx->body, "current_password");
    pc->next = *ngx_kanban_json_string(ctx->body, "new_password");

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_password_get,
                             ngx_kanban_password_found, 1,
                             &ctx->identity->user_id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_password_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                     *email;
    ngx_kanban_password_change_t  *pc;

    pc = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    email = ngx_kanban_pg_value(r, q->result, 0, 1);

    if (email) {
        pc->email.data = ngx_pstrdup(r->pool, email);
        if (pc->email.data == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        pc->email.len = email->len;
    }

    /* verify copies the hash: the result may go after this handler */
    if (ngx_kanban_password_verify(r, ngx_kanban_pg_value(r, q->result, 0, 0),
                                   &pc->current,
                                   ngx_kanban_password_verified)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_password_verified(ngx_http_request_t *r, ngx_uint_t match)
{
    ngx_str_t                      word;
    ngx_kanban_password_change_t  *pc;

    pc = ngx_kanban_ctx(r)->data;

    if (!match) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem_field(r, "The current password is wrong.",
                                     "current_password", "incorrect",
                                     "This is not your current password."));
        return;
    }

    /* the workspace's words were checked with the body; the email's here */
    ngx_kanban_password_email_word(&pc->email, &word);

    if (ngx_kanban_password_words(&pc->next, &word, 1) != NGX_OK) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem_field(r, "Some fields are not valid.",
                                     "new_password", "guessable",
                                     NGX_KANBAN_PASSWORD_GUESSABLE));
        return;
    }

    if (ngx_kanban_password_hash(r, &pc->next, ngx_kanban_password_hashed)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_password_hashed(ngx_http_request_t *r, ngx_str_t *hash)
{
    ngx_kanban_ctx_t              *ctx;
    ngx_kanban_pg_db_t             db;
    ngx_kanban_pg_query_t         *q;
    ngx_kanban_password_change_t  *pc;

    ctx = ngx_kanban_ctx(r);
    pc = ctx->data;

    if (hash->len == 0) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    pc->hash = *hash;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_password_set,
                             ngx_kanban_password_changed, 2,
                             &ctx->identity->user_id, &pc->hash)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_password_changed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t  none = ngx_null_string;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ngx_http_finalize_request(r,
        ngx_kanban_send_json(r, NGX_HTTP_NO_CONTENT, &none));
}
