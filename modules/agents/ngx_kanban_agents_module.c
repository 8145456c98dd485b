
/*
 * AI agents as members of the workspace (issue 23):
 *
 *   GET/POST      /api/v1/agents                       admins
 *   PATCH/DELETE  /api/v1/agents/{id}                  admins
 *   GET           /api/v1/tasks/{id}/agent-sessions    any member
 *   GET           /api/v1/agent-sessions/{id}          any member
 *   POST          /api/v1/agent-sessions/{id}/prompts  any member
 *   POST          /api/v1/agent-sessions/{id}/stop     any member
 *   POST          /api/v1/agent-sessions/{id}/activities
 *                                                      the agent's token
 *   GET/PATCH     /api/v1/agent-settings               admins
 *   GET/PATCH     /api/v1/projects/{id}/agent-settings admins, the
 *                                                      project's managers
 *
 *     kanban_agents_lease 300s;   a claimed built-in call may run so long
 *                                 before any node claims it again (after
 *                                 a killed nginx); more than the gateway's
 *                                 timeouts and retries
 *     kanban_agents_sweep 10s;    the catalog's due index read so often
 *
 * An agent is a member of kind "agent"; an external one gets an API token
 * once. Without scopes, the token lookup of modules/auth answers the role
 * "agent" for it, no role of the verifier's, so it opens no route (403):
 * the activities route is public to the router and its statement checks
 * the token (agent_of_token) against the session's agent. The scopes an
 * admin gives it (read, write) make the token its user's, a contributor,
 * within them (065_agent_scopes.sql). Sessions open in SQL, when
 * a task is delegated to an agent or a comment mentions one, and in the
 * sweep that starts the built-in agents (ngx_kanban_agents_sweep.c) for
 * a new task's triage and a project's daily digest, as the project's
 * agent settings say (092_agents_on_their_own.sql).
 *
 * An external agent's webhook_url gets signed deliveries through the
 * webhooks' outbox (058_agent_webhooks.sql): its secret is drawn and
 * sealed here as a webhook's is, answered once with the token, and the
 * workspace is registered with the webhooks' dispatchers first.
 */

/* SQL: sql/tenant/057_agents.sql, 058_agent_webhooks.sql,
 *      059_agents_listed_to_members.sql, 065_agent_scopes.sql,
 *      092_agents_on_their_own.sql */
#include "ngx_kanban_agents.h"
#include "ngx_kanban_webhooks.h"
#include <openssl/rand.h>


#define NGX_KANBAN_AGENTS_SECRET_RANDOM  24


typedef struct {
    ngx_str_t                  secret;
    ngx_str_t                  stored;
} ngx_kanban_agents_new_t;


static ngx_int_t ngx_kanban_agents_create_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_agents_registered(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


/* what an external agent may do with its token: read, write */
static ngx_kanban_field_t  ngx_kanban_agent_scope[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 16, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agent_create_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 80, NULL, NULL },
    { "kind", NGX_KANBAN_FIELD_STRING, 1, 1, 16, NULL, NULL },
    { "builtin", NGX_KANBAN_FIELD_STRING, 0, 0, 16, NULL, NULL },
    { "webhook_url", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL,
      ngx_kanban_webhooks_url_check },
    { "scopes", NGX_KANBAN_FIELD_ARRAY, NGX_KANBAN_NOT_NULL, 0, 2,
      ngx_kanban_agent_scope, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agent_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 80, NULL,
      NULL },
    { "kind", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 16, NULL,
      NULL },
    { "builtin", NGX_KANBAN_FIELD_STRING, 0, 0, 16, NULL, NULL },
    { "webhook_url", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL,
      ngx_kanban_webhooks_url_check },
    { "scopes", NGX_KANBAN_FIELD_ARRAY, NGX_KANBAN_NOT_NULL, 0, 2,
      ngx_kanban_agent_scope, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agent_activity_fields[] = {
    { "type", NGX_KANBAN_FIELD_STRING, 1, 1, 16, NULL, NULL },
    { "body", NGX_KANBAN_FIELD_STRING, 1, 1, 20000, NULL, NULL },
    { "external_url", NGX_KANBAN_FIELD_STRING, 0, 0, 2048, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agent_settings_fields[] = {
    { "digest_hour", NGX_KANBAN_FIELD_INTEGER, 1, 0, 23, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_project_agent_settings_fields[] = {
    { "triage", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 16, NULL,
      NULL },
    { "digest", NGX_KANBAN_FIELD_BOOLEAN, NGX_KANBAN_NOT_NULL, 0, 0, NULL,
      NULL },
    { "digest_task_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agent_prompt_fields[] = {
    { "body", NGX_KANBAN_FIELD_STRING, 1, 1, 20000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_agents_list = {
    ngx_kanban_pg_stmt("agents_list", "SELECT * FROM agents_list($1)"),
    { "role", NULL },
    NULL
};

/* $3 the webhook secret (answered once), $4 as stored */
static ngx_kanban_sql_t  ngx_kanban_agents_create = {
    ngx_kanban_pg_stmt("agents_create",
    "SELECT * FROM agent_create_signed($1::uuid, $2::jsonb, $3, $4)"),
    { NULL },
    NULL
};

/* the dispatchers sweep only the workspaces the catalog names */
static ngx_kanban_pg_stmt_t  ngx_kanban_agents_register =
    ngx_kanban_pg_stmt("agents_webhooks_register",
    "INSERT INTO webhook_tenants (slug) VALUES ($1)"
    " ON CONFLICT (slug) DO NOTHING");

static ngx_kanban_sql_t  ngx_kanban_agents_patch = {
    ngx_kanban_pg_stmt("agents_patch",
    "SELECT * FROM agent_patch($1::uuid, $2::uuid, $3::jsonb)"),
    { "actor", "uuid:id", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_agents_delete = {
    ngx_kanban_pg_stmt("agents_delete",
    "SELECT * FROM agent_delete($1::uuid, $2::uuid)"),
    { "actor", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_agent_sessions_of_task = {
    ngx_kanban_pg_stmt("agent_sessions_of_task",
    "SELECT * FROM agent_sessions_of_task($1::uuid)"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_agent_session_get = {
    ngx_kanban_pg_stmt("agent_session_get",
    "SELECT * FROM agent_session_get($1::uuid)"),
    { "uuid:id", NULL },
    NULL
};

/* the events are in the log already; the publish wakes the feeds */
static ngx_kanban_sql_t  ngx_kanban_agent_activity_add = {
    ngx_kanban_pg_stmt("agent_activity_add",
    "SELECT * FROM agent_activity_add($1, $2::uuid, $3::jsonb)"),
    { "header:Authorization", "uuid:id", "body", NULL },
    "agent_activity.created"
};

static ngx_kanban_sql_t  ngx_kanban_agent_session_prompt = {
    ngx_kanban_pg_stmt("agent_session_prompt",
    "SELECT * FROM agent_session_prompt($1::uuid, $2::uuid, $3::jsonb)"),
    { "actor", "uuid:id", "body", NULL },
    "agent_session.updated"
};

static ngx_kanban_sql_t  ngx_kanban_agent_session_stop = {
    ngx_kanban_pg_stmt("agent_session_stop",
    "SELECT * FROM agent_session_stop($1::uuid, $2::uuid)"),
    { "actor", "uuid:id", NULL },
    "agent_session.updated"
};

static ngx_kanban_sql_t  ngx_kanban_agent_settings_get = {
    ngx_kanban_pg_stmt("agent_settings_get",
    "SELECT * FROM agent_settings_get()"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_agent_settings_patch = {
    ngx_kanban_pg_stmt("agent_settings_patch",
    "SELECT * FROM agent_settings_patch($1::uuid, $2::jsonb)"),
    { "actor", "body", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_project_agent_settings_get = {
    ngx_kanban_pg_stmt("project_agent_settings_get",
    "SELECT * FROM project_agent_settings_get($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_project_agent_settings_patch = {
    ngx_kanban_pg_stmt("project_agent_settings_patch",
    "SELECT * FROM project_agent_settings_patch($1::uuid, $2, $3::uuid,"
    "                                           $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};


static ngx_kanban_route_t  ngx_kanban_agents_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/agents",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_agents_list),

    { NGX_HTTP_POST, "/api/v1/agents", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_agents_create_handler,
      ngx_kanban_agent_create_fields, ngx_null_string,
      &ngx_kanban_agents_create },

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/agents/{id}",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_agent_patch_fields,
        &ngx_kanban_agents_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/agents/{id}",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_agents_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/tasks/{id}/agent-sessions",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_agent_sessions_of_task),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/agent-sessions/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_agent_session_get),

    ngx_kanban_sql_route(NGX_HTTP_POST,
        "/api/v1/agent-sessions/{id}/activities",
        NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_agent_activity_fields,
        &ngx_kanban_agent_activity_add),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/agent-sessions/{id}/prompts",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_agent_prompt_fields,
        &ngx_kanban_agent_session_prompt),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/agent-sessions/{id}/stop",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_agent_session_stop),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/agent-settings",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_agent_settings_get),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/agent-settings",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_agent_settings_fields,
        &ngx_kanban_agent_settings_patch),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/agent-settings",
        NGX_KANBAN_ACCESS_MANAGER, NULL,
        &ngx_kanban_project_agent_settings_get),

    ngx_kanban_sql_route(NGX_HTTP_PATCH,
        "/api/v1/projects/{id}/agent-settings",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_project_agent_settings_fields,
        &ngx_kanban_project_agent_settings_patch),
};


static ngx_int_t ngx_kanban_agents_init(ngx_conf_t *cf);
static void *ngx_kanban_agents_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_agents_init_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_kanban_agents_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_kanban_agents_commands[] = {

    { ngx_string("kanban_agents_lease"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_agents_conf_t, lease),
      NULL },

    { ngx_string("kanban_agents_sweep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_agents_conf_t, sweep),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_kanban_agents_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_agents_init,                /* postconfiguration */
    ngx_kanban_agents_create_conf,         /* create main configuration */
    ngx_kanban_agents_init_conf,           /* init main configuration */
    NULL, NULL, NULL, NULL
};

ngx_module_t  ngx_http_kanban_agents_module = {
    NGX_MODULE_V1,
    &ngx_http_kanban_agents_module_ctx,    /* module context */
    ngx_kanban_agents_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_agents_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_kanban_agents_init(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_agents_routes,
                                 sizeof(ngx_kanban_agents_routes)
                                 / sizeof(ngx_kanban_route_t));
}


static void *
ngx_kanban_agents_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_agents_conf_t  *acf;

    acf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_agents_conf_t));
    if (acf == NULL) {
        return NULL;
    }

    acf->lease = NGX_CONF_UNSET_MSEC;
    acf->sweep = NGX_CONF_UNSET_MSEC;

    return acf;
}


static char *
ngx_kanban_agents_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_agents_conf_t  *acf = conf;

    ngx_conf_init_msec_value(acf->lease, 300000);
    ngx_conf_init_msec_value(acf->sweep, 10000);

    if (acf->lease < 1000 || acf->sweep < 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_agents_lease must be at least 1s and "
                           "kanban_agents_sweep at least 100ms");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_agents_init_process(ngx_cycle_t *cycle)
{
    ngx_kanban_agents_conf_t  *acf;

    if (ngx_cycle->conf_ctx[ngx_http_module.index] == NULL
        || ngx_kanban_main_conf() == NULL
        || ngx_kanban_main_conf()->catalog.len == 0)
    {
        return NGX_OK;
    }

    acf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_kanban_agents_module);

    return ngx_kanban_agents_sweep_start(cycle, acf);
}


static ngx_int_t
ngx_kanban_agents_create_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    u_char                    random[NGX_KANBAN_AGENTS_SECRET_RANDOM];
    ngx_kanban_pg_db_t        db;
    ngx_kanban_pg_query_t    *q;
    ngx_kanban_agents_new_t  *an;

    an = ngx_palloc(r->pool, sizeof(ngx_kanban_agents_new_t));
    if (an == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    an->secret.len = sizeof("whsec_") - 1 + 2 * sizeof(random);
    an->secret.data = ngx_pnalloc(r->pool, an->secret.len);
    if (an->secret.data == NULL || RAND_bytes(random, sizeof(random)) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_hex_dump(ngx_cpymem(an->secret.data, "whsec_", 6), random,
                 sizeof(random));

    if (ngx_kanban_webhooks_seal(r->pool, &an->secret, &an->stored)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = an;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_agents_register,
                             ngx_kanban_agents_registered, 1,
                             &ctx->tenant->slug)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_agents_registered(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_ctx_t         *ctx;
    ngx_kanban_pg_db_t        db;
    ngx_kanban_pg_query_t    *tq;
    ngx_kanban_agents_new_t  *an;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ctx = ngx_kanban_ctx(r);
    an = ctx->data;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    tq = ngx_kanban_pg_query(r, &db);
    if (tq == NULL
        || ngx_kanban_pg_run(tq, &ngx_kanban_agents_create.stmt,
                             ngx_kanban_sql_answer, 4,
                             &ctx->identity->user_id, &ctx->raw_body,
                             &an->secret, &an->stored)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

