
/*
 * The mail API. For admins: the outbox (queued, sent, failed, with the
 * server's answer) and retrying a failed message. For anyone: asking
 * for a password reset, which answers 202 the same way whether the
 * address is a member's or not, and setting a new password with the
 * link's token; one-click unsubscribing with a signed link (RFC 8058).
 * For members: their notification email preferences.
 */

/* SQL: sql/tenant/035_mail_outbox.sql, 036_mail_notifications.sql */
#include "ngx_kanban_mail.h"
#include <openssl/crypto.h>


static ngx_int_t ngx_kanban_mail_reset_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_mail_reset_done(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_mail_unsubscribe_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_mail_unsubscribe_done(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_uint_t ngx_kanban_mail_uuid(ngx_str_t *s);


static ngx_kanban_field_t  ngx_kanban_mail_reset_fields[] = {
    { "email", NGX_KANBAN_FIELD_STRING, 1, 3, 254, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_mail_confirm_fields[] = {
    { "token", NGX_KANBAN_FIELD_STRING, 1, 1, 128, NULL, NULL },
    { "password", NGX_KANBAN_FIELD_STRING, 1, NGX_KANBAN_PASSWORD_MIN,
      NGX_KANBAN_PASSWORD_MAX, NULL, ngx_kanban_password_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_mail_preferences_fields[] = {
    { "kinds", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* $1 the address, $2 the workspace's origin, $3 the link's life in
 * seconds, $4 links a person may be sent an hour */
static ngx_kanban_pg_stmt_t  ngx_kanban_mail_reset = ngx_kanban_pg_stmt(
    "mail_reset",
    "SELECT mail_password_reset($1::jsonb->>'email', $2, $3::float8,"
    "                           $4::integer)");

/* the link's token good (once, unexpired, the person's newest): the
 * password set, every session ended */
static ngx_kanban_sql_t  ngx_kanban_mail_reset_confirm = {
    ngx_kanban_pg_stmt("mail_reset_confirm",
    "WITH r AS (UPDATE password_resets SET spent_at = now()"
    "            WHERE token_hash = encode(sha256(convert_to("
    "                      $1::jsonb->>'token', 'UTF8')), 'hex')"
    "              AND spent_at IS NULL AND expires_at > now()"
    "           RETURNING user_id),"
    "     u AS (UPDATE users SET password_hash = $2, version = version + 1,"
    "                  updated_at = now()"
    "            WHERE id IN (SELECT user_id FROM r) AND status = 'active'"
    "           RETURNING id),"
    "     s AS (UPDATE refresh_tokens SET revoked_at = now()"
    "            WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action)"
    "           SELECT id, 'user', id, 'password_reset' FROM u)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 204 ELSE 410 END,"
    "        CASE WHEN EXISTS (SELECT 1 FROM u) THEN NULL ELSE 'gone' END,"
    "        'This link is not valid: it was used, it expired, or a newer"
    " one was sent. Ask for a new one.'"),
    { "body", "hash", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_mail_outbox = {
    ngx_kanban_pg_stmt("mail_outbox",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(x.j ORDER BY x.created_at DESC, x.id)"
    "      FROM (SELECT mail_json(m) j, m.created_at, m.id"
    "              FROM mail_outbox m"
    "             WHERE $1::text IS NULL OR m.status = $1"
    "             ORDER BY m.created_at DESC, m.id"
    "             LIMIT coalesce($2::integer, 100)) x), '[]'::json),"
    "    'counts', (SELECT json_build_object("
    "        'queued', count(*) FILTER (WHERE status = 'queued'),"
    "        'sent', count(*) FILTER (WHERE status = 'sent'),"
    "        'failed', count(*) FILTER (WHERE status = 'failed'))"
    "        FROM mail_outbox),"
    "    'next_cursor', NULL)"),
    { "query_enum:status=queued|sent|failed", "query_limit:limit", NULL },
    NULL
};

/* a failed message queued again, due now, with a fresh window */
static ngx_kanban_sql_t  ngx_kanban_mail_retry = {
    ngx_kanban_pg_stmt("mail_retry",
    "WITH m AS (SELECT * FROM mail_outbox WHERE id = $1::uuid),"
    "     q AS (UPDATE mail_outbox x SET status = 'queued', attempts = 0,"
    "                  next_attempt_at = now(), created_at = now()"
    "             FROM m WHERE x.id = m.id AND m.status = 'failed'"
    "           RETURNING x.*)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM q) THEN 202 ELSE 409 END,"
    "        CASE WHEN EXISTS (SELECT 1 FROM q)"
    "             THEN (SELECT mail_json(q)::text FROM q)"
    "             ELSE 'conflict' END,"
    "        'Only a failed message can be retried.'"
    "   FROM m"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_mail_preferences_get = {
    ngx_kanban_pg_stmt("mail_preferences_get",
    "SELECT 200, mail_preferences_json($1::uuid)"),
    { "actor", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_mail_preferences_put = {
    ngx_kanban_pg_stmt("mail_preferences_put",
    "SELECT CASE WHEN mail_preferences_ok($2::jsonb) THEN 200 ELSE 422 END,"
    "       CASE WHEN mail_preferences_ok($2::jsonb)"
    "            THEN mail_preferences_set($1::uuid, $2::jsonb)::text"
    "            ELSE 'validation_failed' END,"
    "       'kinds maps notification kinds to immediate, digest or never.'"),
    { "actor", "body", NULL },
    NULL
};

static ngx_kanban_pg_stmt_t  ngx_kanban_mail_unsubscribe = ngx_kanban_pg_stmt(
    "mail_unsubscribe",
    "SELECT mail_unsubscribe($1::uuid, $2)");


ngx_kanban_route_t  ngx_kanban_mail_routes[] = {

    { NGX_HTTP_GET, "/api/v1/mail/outbox", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_handler, NULL,
      ngx_null_string, &ngx_kanban_mail_outbox },

    { NGX_HTTP_POST, "/api/v1/mail/outbox/{id}/retry", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_handler, NULL,
      ngx_null_string, &ngx_kanban_mail_retry },

    { NGX_HTTP_POST, "/api/v1/auth/password-reset", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_mail_reset_handler,
      ngx_kanban_mail_reset_fields, ngx_null_string, NULL },

    { NGX_HTTP_POST, "/api/v1/auth/password-reset/confirm",
      NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_PUBLIC,
      ngx_kanban_sql_handler, ngx_kanban_mail_confirm_fields,
      ngx_null_string, &ngx_kanban_mail_reset_confirm },

    { NGX_HTTP_GET, "/api/v1/me/mail-preferences", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_sql_handler, NULL,
      ngx_null_string, &ngx_kanban_mail_preferences_get },

    { NGX_HTTP_PUT, "/api/v1/me/mail-preferences", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_sql_handler,
      ngx_kanban_mail_preferences_fields, ngx_null_string,
      &ngx_kanban_mail_preferences_put },

    { NGX_HTTP_POST, "/api/v1/mail/unsubscribe", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_mail_unsubscribe_handler,
      ngx_kanban_raw_body, ngx_null_string, NULL },
};

ngx_uint_t  ngx_kanban_mail_nroutes =
    sizeof(ngx_kanban_mail_routes) / sizeof(ngx_kanban_route_t);


/* One statement whether or not the address is a member's, and the same
 * answer: what it did is not told (no enumeration of accounts). */

static ngx_int_t
ngx_kanban_mail_reset_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_str_t                origin, *ttl, *per_hour;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_mail_conf_t  *mcf;

    mcf = ngx_kanban_mail_conf();

    ttl = ngx_palloc(r->pool, 2 * sizeof(ngx_str_t));
    if (ttl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    per_hour = ttl + 1;

    ttl->data = ngx_pnalloc(r->pool, 2 * NGX_INT_T_LEN);
    if (ttl->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ttl->len = ngx_sprintf(ttl->data, "%M", mcf->reset_ttl / 1000)
               - ttl->data;
    per_hour->data = ttl->data + NGX_INT_T_LEN;
    per_hour->len = ngx_sprintf(per_hour->data, "%ui", mcf->reset_per_hour)
                    - per_hour->data;

    if (ngx_kanban_tenant_origin(r->pool, &ctx->tenant->slug, "", &origin)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_mail_reset,
                             ngx_kanban_mail_reset_done, 4, &ctx->raw_body,
                             &origin, ttl, per_hour)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_mail_reset_done(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t          json = ngx_string("{\"status\":\"accepted\"}");
    ngx_kanban_ctx_t  *ctx;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ctx = ngx_kanban_ctx(r);
    ngx_kanban_mail_wake(ctx->tenant);

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_ACCEPTED,
                                                      &json));
}


/* POST ?u=<person>&k=<kind or all>&s=<signature>: what the link in the
 * message's List-Unsubscribe header (and its footer's page) posts. */

static ngx_int_t
ngx_kanban_mail_unsubscribe_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    u_char                  sig[64];
    ngx_str_t               u, k, s, *uid, *what;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (ngx_http_arg(r, (u_char *) "u", 1, &u) != NGX_OK
        || ngx_http_arg(r, (u_char *) "k", 1, &k) != NGX_OK
        || ngx_http_arg(r, (u_char *) "s", 1, &s) != NGX_OK
        || !ngx_kanban_mail_uuid(&u) || k.len == 0 || k.len > 32
        || s.len != 64)
    {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST,
                                  "The unsubscribe link is incomplete.");
    }

    if (ngx_kanban_mail_sign(ngx_kanban_mail_conf(), &ctx->tenant->slug, &u,
                             &k, sig) != NGX_OK
        || CRYPTO_memcmp(sig, s.data, 64) != 0)
    {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN,
                                  "The unsubscribe link is not valid.");
    }

    uid = ngx_palloc(r->pool, 2 * sizeof(ngx_str_t));
    if (uid == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    what = uid + 1;
    *uid = u;
    *what = k;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_mail_unsubscribe,
                             ngx_kanban_mail_unsubscribe_done, 2, uid, what)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_mail_unsubscribe_done(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t  json = ngx_string("{\"status\":\"unsubscribed\"}");

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1
        || ngx_strcmp(PQgetvalue(q->result, 0, 0), "t") != 0)
    {
        ngx_http_finalize_request(r, ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND,
                                  "Nobody to unsubscribe."));
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK, &json));
}


static ngx_uint_t
ngx_kanban_mail_uuid(ngx_str_t *s)
{
    size_t  i;

    if (s->len != 36) {
        return 0;
    }

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s->data[i] != '-') {
                return 0;
            }

        } else if (!isxdigit(s->data[i])) {
            return 0;
        }
    }

    return 1;
}
