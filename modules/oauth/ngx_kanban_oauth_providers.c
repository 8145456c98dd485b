
/*
 * The sign-in providers of a workspace: /api/v1/auth/providers for its
 * admins (the client secret is write-only: sealed as webhooks' secrets
 * are, answered only as client_secret_set), the sign-in policy
 * (/api/v1/auth/sign-in-policy: whether passwords still sign in, and
 * whether emailed links do), and the
 * public list the sign-in page reads, /api/v1/auth/oauth/providers: the
 * enabled ones' slug, kind and name, and whether to show the password
 * form. The routes of the whole flow are in this file's table.
 */

/* SQL: sql/tenant/001_users.sql, 021_sign_in_providers.sql */
#include "ngx_kanban_oauth.h"
#include "ngx_kanban_webhooks.h"


static ngx_int_t ngx_kanban_oauth_provider_write(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static char *ngx_kanban_oauth_check_kind(ngx_str_t *value, char **message);


static ngx_kanban_field_t  ngx_kanban_oauth_provider_fields[] = {
    { "slug", NGX_KANBAN_FIELD_STRING, 1, 1, 40, NULL, NULL },
    { "kind", NGX_KANBAN_FIELD_STRING, 1, 1, 10, NULL,
      ngx_kanban_oauth_check_kind },
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 100, NULL, NULL },
    { "issuer", NGX_KANBAN_FIELD_STRING, 0, 8, 500, NULL, NULL },
    { "client_id", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "client_secret", NGX_KANBAN_FIELD_STRING, 0, 1, 500, NULL, NULL },
    { "secret_file", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { "scopes", NGX_KANBAN_FIELD_STRING, 0, 1, 500, NULL, NULL },
    { "enabled", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_oauth_provider_patch_fields[] = {
    { "slug", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 40, NULL,
      NULL },
    { "name", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 100, NULL,
      NULL },
    { "issuer", NGX_KANBAN_FIELD_STRING, 0, 8, 500, NULL, NULL },
    { "client_id", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 200,
      NULL, NULL },
    { "client_secret", NGX_KANBAN_FIELD_STRING, 0, 1, 500, NULL, NULL },
    { "secret_file", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { "scopes", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 500, NULL,
      NULL },
    { "enabled", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_field_t  ngx_kanban_oauth_policy_fields[] = {
    { "password", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "email_link", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_NOT_NULL, 0, 0,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_oauth_providers_list = {
    ngx_kanban_pg_stmt("oauth_providers_list",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(auth_provider_json(p) ORDER BY p.name, p.slug)"
    "      FROM auth_providers p), '[]'::json), 'next_cursor', NULL)"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_oauth_providers_public = {
    ngx_kanban_pg_stmt("oauth_providers_public",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(json_build_object('slug', p.slug, 'kind', p.kind,"
    "                                      'name', p.name)"
    "                    ORDER BY p.name, p.slug)"
    "      FROM auth_providers p WHERE p.enabled), '[]'::json),"
    "    'password', sign_in_password_allowed())"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_oauth_policy_get = {
    ngx_kanban_pg_stmt("oauth_policy_get",
    "SELECT 200, json_build_object('password', coalesce(("
    "    SELECT value FROM settings WHERE key = 'sign_in_password'),"
    "    'true'::jsonb), 'email_link', sign_in_email_link_allowed())"),
    { NULL },
    NULL
};

/* password off only while a provider is enabled to sign people in; each
 * of password and email_link (sign-in by an emailed link, the portal's)
 * changed only when given */
static ngx_kanban_sql_t  ngx_kanban_oauth_policy_put = {
    ngx_kanban_pg_stmt("oauth_policy_put",
    "WITH b AS (SELECT $2::jsonb j),"
    "     ok AS (SELECT (coalesce(j->'password', 'true'::jsonb)"
    "                    = 'true'::jsonb"
    "                    OR EXISTS (SELECT 1 FROM auth_providers"
    "                                WHERE enabled)) AS yes FROM b),"
    "     m (key, field) AS (VALUES ('sign_in_password', 'password'),"
    "                               ('sign_in_email_link', 'email_link')),"
    "     s AS (INSERT INTO settings (key, value, updated_at)"
    "           SELECT m.key, j->m.field, now()"
    "             FROM b, ok, m WHERE ok.yes AND j ? m.field"
    "           ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
    "                                        updated_at = excluded.updated_at"
    "           RETURNING key, value),"
    "     v AS (SELECT coalesce(j->'password', (SELECT value FROM settings"
    "                      WHERE key = 'sign_in_password'), 'true'::jsonb) p,"
    "                  coalesce(j->'email_link', (SELECT value FROM settings"
    "                      WHERE key = 'sign_in_email_link'),"
    "                      'false'::jsonb) e"
    "             FROM b),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, action,"
    "                                     new_values)"
    "           SELECT $1::uuid, 'workspace', 'sign_in_policy',"
    "                  jsonb_object_agg(s.key, s.value) FROM s"
    "           HAVING count(*) > 0)"
    " SELECT CASE WHEN ok.yes THEN 200 ELSE 422 END,"
    "        CASE WHEN ok.yes"
    "             THEN json_build_object('password', v.p,"
    "                                    'email_link', v.e)::text"
    "             ELSE 'validation_failed' END,"
    "        CASE WHEN ok.yes THEN NULL"
    "             ELSE 'password: password sign-in stays on until a "
    "provider is enabled to sign people in.' END"
    "   FROM ok, v"),
    { "actor", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_oauth_providers_get = {
    ngx_kanban_pg_stmt("oauth_providers_get",
    "SELECT 200, auth_provider_json(p) FROM auth_providers p"
    " WHERE p.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

/* $1 actor, $2 body, $3 the secret as stored, or NULL */
static ngx_kanban_sql_t  ngx_kanban_oauth_providers_create = {
    ngx_kanban_pg_stmt("oauth_providers_create",
    "WITH b AS (SELECT $2::jsonb j),"
    "     ok AS (SELECT auth_provider_check(j, NULL) AS yes FROM b),"
    "     p AS (INSERT INTO auth_providers (slug, kind, name, issuer,"
    "               client_id, client_secret, secret_file, scopes, enabled)"
    "           SELECT j->>'slug', j->>'kind', j->>'name', j->>'issuer',"
    "                  j->>'client_id', $3, j->>'secret_file',"
    "                  coalesce(j->>'scopes', CASE j->>'kind'"
    "                      WHEN 'github' THEN 'read:user user:email'"
    "                      ELSE 'openid email profile' END),"
    "                  coalesce((j->>'enabled')::boolean, true)"
    "             FROM b, ok WHERE ok.yes"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'auth_provider', p.id, 'created',"
    "                  auth_provider_json(p) FROM p)"
    " SELECT 201, auth_provider_json(p),"
    "        '/api/v1/auth/providers/' || p.id FROM p"),
    { NULL },
    NULL
};

/* $1 actor, $2 id, $3 body, $4 a new secret as stored, or NULL */
static ngx_kanban_sql_t  ngx_kanban_oauth_providers_patch = {
    ngx_kanban_pg_stmt("oauth_providers_patch",
    "WITH b AS (SELECT $3::jsonb j),"
    "     ok AS (SELECT auth_provider_check(b.j, o) AS yes"
    "              FROM b, auth_providers o WHERE o.id = $2::uuid),"
    "     p AS (UPDATE auth_providers p"
    "              SET slug = coalesce(j->>'slug', p.slug),"
    "                  name = coalesce(j->>'name', p.name),"
    "                  issuer = CASE WHEN j ? 'issuer' THEN j->>'issuer'"
    "                                ELSE p.issuer END,"
    "                  client_id = coalesce(j->>'client_id', p.client_id),"
    "                  client_secret = CASE WHEN j ? 'client_secret'"
    "                                       THEN $4 ELSE p.client_secret END,"
    "                  secret_file = CASE WHEN j ? 'secret_file'"
    "                                     THEN j->>'secret_file'"
    "                                     ELSE p.secret_file END,"
    "                  scopes = coalesce(j->>'scopes', p.scopes),"
    "                  enabled = coalesce((j->>'enabled')::boolean,"
    "                                     p.enabled),"
    "                  updated_at = now()"
    "             FROM b, ok WHERE p.id = $2::uuid AND ok.yes"
    "           RETURNING p.*),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'auth_provider', p.id, 'updated',"
    "                  j - 'client_secret'"
    "                  || jsonb_build_object('client_secret_changed',"
    "                                        j ? 'client_secret')"
    "             FROM p, b)"
    " SELECT 200, auth_provider_json(p) FROM p"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_oauth_providers_delete = {
    ngx_kanban_pg_stmt("oauth_providers_delete",
    "WITH p AS (DELETE FROM auth_providers WHERE id = $2::uuid"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, old_values)"
    "           SELECT $1::uuid, 'auth_provider', p.id, 'deleted',"
    "                  jsonb_build_object('slug', p.slug) FROM p)"
    " SELECT 204, NULL FROM p"),
    { "actor", "uuid:id", NULL },
    NULL
};


#define ngx_kanban_oauth_route(method, pattern, access, handler, fields,      \
                               data)                                          \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access, handler, fields,       \
      ngx_null_string, data }

ngx_kanban_route_t  ngx_kanban_oauth_routes[] = {

    ngx_kanban_oauth_route(NGX_HTTP_GET, "/api/v1/auth/providers",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_oauth_providers_list),

    ngx_kanban_oauth_route(NGX_HTTP_POST, "/api/v1/auth/providers",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_oauth_provider_write,
        ngx_kanban_oauth_provider_fields,
        &ngx_kanban_oauth_providers_create),

    ngx_kanban_oauth_route(NGX_HTTP_GET, "/api/v1/auth/providers/{id}",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_oauth_providers_get),

    ngx_kanban_oauth_route(NGX_HTTP_PATCH, "/api/v1/auth/providers/{id}",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_oauth_provider_write,
        ngx_kanban_oauth_provider_patch_fields,
        &ngx_kanban_oauth_providers_patch),

    ngx_kanban_oauth_route(NGX_HTTP_DELETE, "/api/v1/auth/providers/{id}",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_oauth_providers_delete),

    ngx_kanban_oauth_route(NGX_HTTP_GET, "/api/v1/auth/sign-in-policy",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_oauth_policy_get),

    ngx_kanban_oauth_route(NGX_HTTP_PUT, "/api/v1/auth/sign-in-policy",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_sql_handler,
        ngx_kanban_oauth_policy_fields, &ngx_kanban_oauth_policy_put),

    ngx_kanban_oauth_route(NGX_HTTP_GET, "/api/v1/auth/oauth/providers",
        NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_sql_handler, NULL,
        &ngx_kanban_oauth_providers_public),

    ngx_kanban_oauth_route(NGX_HTTP_GET,
        "/api/v1/auth/oauth/{provider}/start",
        NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_oauth_start_handler, NULL,
        NULL),

    ngx_kanban_oauth_route(NGX_HTTP_GET,
        "/api/v1/auth/oauth/{provider}/callback",
        NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_oauth_callback_handler, NULL,
        NULL),
};

ngx_uint_t  ngx_kanban_oauth_nroutes =
    sizeof(ngx_kanban_oauth_routes) / sizeof(ngx_kanban_route_t);


/* A create or a patch: the secret sealed here, a secret file only where
 * the operator allows them, then the route's statement. */

static ngx_int_t
ngx_kanban_oauth_provider_write(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_str_t                *id, *secret, *stored;
    ngx_kanban_sql_t         *sql;
    ngx_kanban_json_t        *file;
    ngx_kanban_pg_db_t        db;
    ngx_kanban_pg_query_t    *q;
    ngx_kanban_oauth_conf_t  *ocf;

    ocf = ngx_kanban_oauth_conf();
    sql = ctx->route->data;

    id = NULL;

    if (r->method == NGX_HTTP_PATCH) {
        id = ngx_kanban_arg(ctx, "id");
        if (id == NULL || !ngx_kanban_uuid_valid(id)) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
        }
    }

    file = ngx_kanban_json_get(ctx->body, "secret_file");

    if (file && file->type == NGX_KANBAN_JSON_STRING
        && ocf->secret_dir.len == 0)
    {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "secret_file: this server reads no secret "
                                  "files (kanban_oauth_secret_dir is not "
                                  "set); give client_secret instead.");
    }

    stored = NULL;
    secret = ngx_kanban_json_string(ctx->body, "client_secret");

    if (secret) {
        stored = ngx_palloc(r->pool, sizeof(ngx_str_t));
        if (stored == NULL
            || ngx_kanban_webhooks_seal(r->pool, secret, stored) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (id == NULL) {
        if (ngx_kanban_pg_run(q, &sql->stmt, ngx_kanban_sql_answer, 3,
                              &ctx->identity->user_id, &ctx->raw_body,
                              stored)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_DONE;
    }

    if (ngx_kanban_pg_run(q, &sql->stmt, ngx_kanban_sql_answer, 4,
                          &ctx->identity->user_id, id, &ctx->raw_body,
                          stored)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static char *
ngx_kanban_oauth_check_kind(ngx_str_t *value, char **message)
{
    if ((value->len == 6 && ngx_strncmp(value->data, "github", 6) == 0)
        || (value->len == 4 && ngx_strncmp(value->data, "oidc", 4) == 0))
    {
        return NULL;
    }

    *message = "One of github, oidc.";
    return "invalid_value";
}
