
/*
 * A project's GitHub link, for its admins and managers:
 *
 *   GET/POST     /api/v1/projects/{id}/integrations/github
 *   PATCH/DELETE /api/v1/projects/{id}/integrations/github/{integration_id}
 *   GET          /api/v1/tasks/{id}/links        any member
 *
 * A link's secret is drawn here ("ghsec_" and 48 hex digits), answered
 * once, and stored sealed with the webhooks' key: each delivery's HMAC
 * needs the secret itself, so a hash would not do. Who may manage which
 * project is the SQL's (github_may_manage).
 */

/* SQL: sql/tenant/054_github.sql */
#include "ngx_kanban_github.h"
#include "ngx_kanban_webhooks.h"
#include <openssl/rand.h>


#define NGX_KANBAN_GITHUB_SECRET_RANDOM  24


static ngx_int_t ngx_kanban_github_create_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);


static ngx_kanban_field_t  ngx_kanban_github_rules_fields[] = {
    { "move_on_open_to_review", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL,
      NULL },
    { "move_on_merge_to_done", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL,
      NULL },
    { "review_column_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_github_create_fields[] = {
    { "repository", NGX_KANBAN_FIELD_STRING, 1, 3, 140, NULL, NULL },
    { "rules", NGX_KANBAN_FIELD_OBJECT, 0, 0, 0,
      ngx_kanban_github_rules_fields, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_github_patch_fields[] = {
    { "rules", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0,
      ngx_kanban_github_rules_fields, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_github_list = {
    ngx_kanban_pg_stmt("github_list",
    "SELECT * FROM github_integrations_list($1::uuid, $2, $3::uuid, $4)"),
    { "actor", "role", "uuid:id", "tenant_url", NULL },
    NULL
};

/* $5 the secret (answered once), $6 as stored */
static ngx_kanban_sql_t  ngx_kanban_github_create = {
    ngx_kanban_pg_stmt("github_create",
    "SELECT * FROM github_integration_create($1::uuid, $2, $3::uuid,"
    "                                        $4::jsonb, $5, $6, $7)"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_github_patch = {
    ngx_kanban_pg_stmt("github_patch",
    "SELECT * FROM github_integration_patch($1::uuid, $2, $3::uuid,"
    "                                       $4::uuid, $5::jsonb, $6)"),
    { "actor", "role", "uuid:id", "uuid:integration_id", "body",
      "tenant_url", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_github_delete = {
    ngx_kanban_pg_stmt("github_delete",
    "SELECT * FROM github_integration_delete($1::uuid, $2, $3::uuid,"
    "                                        $4::uuid)"),
    { "actor", "role", "uuid:id", "uuid:integration_id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_github_links = {
    ngx_kanban_pg_stmt("github_task_links",
    "SELECT * FROM task_links_list($1::uuid)"),
    { "uuid:id", NULL },
    NULL
};


ngx_kanban_route_t  ngx_kanban_github_api_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET,
        "/api/v1/projects/{id}/integrations/github",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_github_list),

    { NGX_HTTP_POST, "/api/v1/projects/{id}/integrations/github",
      NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MANAGER,
      ngx_kanban_github_create_handler, ngx_kanban_github_create_fields,
      ngx_null_string, &ngx_kanban_github_create },

    ngx_kanban_sql_route(NGX_HTTP_PATCH,
        "/api/v1/projects/{id}/integrations/github/{integration_id}",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_github_patch_fields,
        &ngx_kanban_github_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE,
        "/api/v1/projects/{id}/integrations/github/{integration_id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_github_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/links",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_github_links),
};

ngx_uint_t  ngx_kanban_github_api_nroutes =
    sizeof(ngx_kanban_github_api_routes) / sizeof(ngx_kanban_route_t);


static ngx_int_t
ngx_kanban_github_create_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    u_char                  random[NGX_KANBAN_GITHUB_SECRET_RANDOM];
    ngx_str_t              *pid, secret, stored, origin;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    pid = ngx_kanban_arg(ctx, "id");
    if (pid == NULL || !ngx_kanban_uuid_valid(pid)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    secret.len = sizeof("ghsec_") - 1 + 2 * sizeof(random);
    secret.data = ngx_pnalloc(r->pool, secret.len);
    if (secret.data == NULL || RAND_bytes(random, sizeof(random)) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_hex_dump(ngx_cpymem(secret.data, "ghsec_", 6), random,
                 sizeof(random));

    if (ngx_kanban_webhooks_seal(r->pool, &secret, &stored) != NGX_OK
        || ngx_kanban_tenant_origin(r->pool, &ctx->tenant->slug, "",
                                    &origin)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_github_create.stmt,
                             ngx_kanban_sql_answer, 7,
                             &ctx->identity->user_id, &ctx->identity->role,
                             pid, &ctx->raw_body, &secret, &stored, &origin)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}
