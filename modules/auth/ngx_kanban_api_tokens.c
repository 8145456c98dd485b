
/*
 * API tokens: /api/v1/api-tokens, and their lookup when a request presents
 * "Authorization: Bearer kbt_...": a kind of bearer token this module
 * registers with the core's identity seam (ngx_http_kanban_api_tokens_module,
 * below), which the verifier of bearer tokens asks without knowing it.
 *
 * A token is "kbt_" and 64 hex digits (244 random bits from two
 * gen_random_uuid()); it is shown once, at creation, and kept as its
 * SHA-256. Its scopes bound what it may do on top of its user's role:
 * read (GET), write (any method), admin (the admin-only routes).
 *
 * An agent's token (057_agents.sql) answers the role "agent", which is no
 * role of the verifier's: the token is valid but no identity, so it opens
 * no route; the agents' own route checks it in its statement. An agent an
 * admin gave scopes (065_agent_scopes.sql) is its user, a contributor,
 * within those scopes (token_scopes()).
 */

/* SQL: sql/tenant/001_users.sql, 002_auth.sql, 004_access.sql,
 *      065_agent_scopes.sql */
#include "ngx_kanban_session.h"
#include "ngx_kanban_auth_routes.h"


typedef struct {
    ngx_kanban_token_found_pt  handler;
} ngx_kanban_api_token_lookup_t;


static ngx_int_t ngx_kanban_api_token_lookup(ngx_http_request_t *r,
    ngx_str_t *token, ngx_kanban_token_found_pt handler);
static void ngx_kanban_api_token_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_kanban_identity_t *ngx_kanban_api_token_identity(
    ngx_http_request_t *r, PGresult *row);
static ngx_int_t ngx_kanban_api_tokens_init(ngx_conf_t *cf);


ngx_kanban_field_t  ngx_kanban_api_token_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "scopes", NGX_KANBAN_FIELD_ARRAY, 1, 1, 3, NULL, NULL },
    { "expires_at", NGX_KANBAN_FIELD_STRING, 0, 1, 64, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_api_tokens_list = {
    ngx_kanban_pg_stmt("api_tokens_list",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(json_build_object('id', t.id, 'name', t.name,"
    "                    'scopes', t.scopes, 'created_at', t.created_at,"
    "                    'expires_at', t.expires_at,"
    "                    'revoked_at', t.revoked_at)"
    "                    ORDER BY t.created_at, t.id)"
    "      FROM api_tokens t WHERE t.user_id = $1::uuid), '[]'::json),"
    "    'next_cursor', NULL)"),
    { "actor", NULL },
    NULL
};

/* scopes must be a subset of read, write, admin; expires_at in the
 * future: both checked here, against the body as PostgreSQL reads it */
ngx_kanban_sql_t  ngx_kanban_api_tokens_create = {
    ngx_kanban_pg_stmt("api_tokens_create",
    "WITH b AS (SELECT $2::jsonb j),"
    "     s AS (SELECT array(SELECT DISTINCT x"
    "                          FROM jsonb_array_elements_text(j->'scopes') x"
    "                         ORDER BY x) AS scopes,"
    "                  (j->>'expires_at')::timestamptz AS expires_at"
    "             FROM b),"
    "     ok AS (SELECT s.scopes <@ ARRAY['read', 'write', 'admin']"
    "                   AND jsonb_typeof(j->'scopes') = 'array'"
    "                   AND (SELECT bool_and(jsonb_typeof(e) = 'string')"
    "                          FROM jsonb_array_elements(j->'scopes') e)"
    "                   AND (s.expires_at IS NULL OR s.expires_at > now())"
    "                   AS yes FROM s, b),"
    "     tok AS (SELECT 'kbt_' || replace(gen_random_uuid()::text"
    "                              || gen_random_uuid()::text, '-', '') t),"
    "     t AS (INSERT INTO api_tokens (user_id, name, scopes, token_hash,"
    "                                   expires_at)"
    "           SELECT $1::uuid, j->>'name', s.scopes,"
    "                  encode(sha256(convert_to(tok.t, 'UTF8')), 'hex'),"
    "                  s.expires_at"
    "             FROM b, s, tok, ok WHERE ok.yes"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'api_token', t.id, 'created',"
    "                  jsonb_build_object('name', t.name, 'scopes', t.scopes)"
    "             FROM t)"
    " SELECT CASE WHEN (SELECT yes FROM ok) THEN 201 ELSE 422 END,"
    "        CASE WHEN (SELECT yes FROM ok)"
    "             THEN (SELECT json_build_object('id', t.id, 'name', t.name,"
    "                          'scopes', t.scopes, 'token', tok.t,"
    "                          'created_at', t.created_at,"
    "                          'expires_at', t.expires_at)::text"
    "                     FROM t, tok)"
    "             ELSE 'validation_failed' END,"
    "        CASE WHEN (SELECT yes FROM ok)"
    "             THEN (SELECT '/api/v1/api-tokens/' || id FROM t)"
    "             ELSE 'scopes are read, write or admin; expires_at is a"
    " time in the future.' END"),
    { "actor", "body", NULL },
    NULL
};

/* the owner revokes a token; an admin anyone's */
ngx_kanban_sql_t  ngx_kanban_api_tokens_revoke = {
    ngx_kanban_pg_stmt("api_tokens_revoke",
    "WITH t AS (UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
    "            WHERE id = $3::uuid"
    "              AND (user_id = $1::uuid OR $2 = 'admin')"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action)"
    "           SELECT $1::uuid, 'api_token', t.id, 'revoked' FROM t"
    "           RETURNING id)"
    " SELECT 204, NULL, NULL, (SELECT id FROM a) FROM t"),
    { "actor", "role", "uuid:id", NULL },
    "api_token.revoked"     /* a hint to the feeds: its streams end (031) */
};


static ngx_kanban_pg_stmt_t  ngx_kanban_api_token_get = ngx_kanban_pg_stmt(
    "api_token_get",
    "SELECT u.id, CASE WHEN u.kind = 'agent' AND cardinality(s.s) = 0"
    "                  THEN 'agent' ELSE u.role END,"
    "       coalesce((SELECT json_agg(tm.team_id ORDER BY tm.team_id)"
    "                   FROM team_members tm WHERE tm.user_id = u.id),"
    "                '[]'::json),"
    "       'read' = ANY (s.s), 'write' = ANY (s.s),"
    "       'admin' = ANY (s.s), t.id,"
    "       extract(epoch FROM t.expires_at)::bigint"
    "  FROM api_tokens t JOIN users u ON u.id = t.user_id,"
    "       LATERAL token_scopes(t, u) s (s)"
    " WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
    "   AND (t.expires_at IS NULL OR t.expires_at > now())"
    "   AND u.status = 'active'");


/* Looks the token up in the request's workspace; the handler gets who it
 * stands for, or NULL. */

static ngx_int_t
ngx_kanban_api_token_lookup(ngx_http_request_t *r, ngx_str_t *token,
    ngx_kanban_token_found_pt handler)
{
    ngx_str_t                       hash;
    ngx_kanban_pg_db_t              db;
    ngx_kanban_tenant_t            *tenant;
    ngx_kanban_pg_query_t          *q;
    ngx_kanban_api_token_lookup_t  *lk;

    tenant = ngx_kanban_tenant(r);
    if (tenant == NULL) {
        return NGX_DECLINED;
    }

    lk = ngx_palloc(r->pool, sizeof(ngx_kanban_api_token_lookup_t));
    if (lk == NULL || ngx_kanban_session_hash(r, token, &hash) != NGX_OK) {
        return NGX_ERROR;
    }

    lk->handler = handler;

    ngx_kanban_pg_tenant_db(tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = lk;

    return ngx_kanban_pg_run(q, &ngx_kanban_api_token_get,
                             ngx_kanban_api_token_found, 1, &hash);
}


static void
ngx_kanban_api_token_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_api_token_lookup_t  *lk;

    lk = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: API token lookup failed");
        lk->handler(r, NULL, q->error == NGX_KANBAN_PG_UNAVAILABLE);
        return;
    }

    lk->handler(r, PQntuples(q->result) == 1
                   ? ngx_kanban_api_token_identity(r, q->result) : NULL, 0);
}


/* The row (user id, role, teams, read, write, admin, token id, expiry as
 * a Unix time or NULL) as an identity; its level is the verifier's to
 * judge from the role. NULL: a row without a user or role. */

static ngx_kanban_identity_t *
ngx_kanban_api_token_identity(ngx_http_request_t *r, PGresult *row)
{
    char                   *error;
    ngx_str_t              *v;
    ngx_uint_t              i;
    ngx_kanban_identity_t  *id;

    id = ngx_pcalloc(r->pool, sizeof(ngx_kanban_identity_t));
    if (id == NULL) {
        return NULL;
    }

    v = ngx_kanban_pg_value(r, row, 0, 0);
    id->user_id.data = v ? ngx_pstrdup(r->pool, v) : NULL;
    id->user_id.len = v ? v->len : 0;

    v = ngx_kanban_pg_value(r, row, 0, 1);
    id->role.data = v ? ngx_pstrdup(r->pool, v) : NULL;
    id->role.len = v ? v->len : 0;

    v = ngx_kanban_pg_value(r, row, 0, 2);
    if (v) {
        (void) ngx_kanban_json_parse(r->pool, v->data, v->len, &id->teams,
                                     &error);
    }

    for (i = 0; i < 3; i++) {
        v = ngx_kanban_pg_value(r, row, 0, 3 + i);
        if (v && v->len == 1 && v->data[0] == 't') {
            id->scopes |= (ngx_uint_t) 1 << i;
        }
    }

    /* the token's id: an event stream follows its revoke */
    v = ngx_kanban_pg_value(r, row, 0, 6);
    id->token_id.data = v ? ngx_pstrdup(r->pool, v) : NULL;
    id->token_id.len = v ? v->len : 0;

    v = ngx_kanban_pg_value(r, row, 0, 7);
    if (v) {
        id->expires = ngx_atotm(v->data, v->len);
        if (id->expires == NGX_ERROR) {
            id->expires = 0;
        }
    }

    if (id->user_id.data == NULL || id->role.data == NULL) {
        return NULL;
    }

    return id;
}


static ngx_http_module_t  ngx_kanban_api_tokens_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_api_tokens_init,            /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_api_tokens_module = {
    NGX_MODULE_V1,
    &ngx_kanban_api_tokens_module_ctx,     /* module context */
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
ngx_kanban_api_tokens_init(ngx_conf_t *cf)
{
    return ngx_kanban_token_seam(cf, "kbt_", ngx_kanban_api_token_lookup);
}

