
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
 *
 * An agent is a member of kind "agent"; an external one gets an API token
 * once. The token lookup of modules/auth takes people's tokens only, so an
 * agent's token is no identity anywhere: the activities route is public to
 * the router and its statement checks the token (agent_of_token) against
 * the session's agent. Sessions open in SQL, when a task is delegated to
 * an agent or a comment mentions one; every statement here is one route.
 */

/* SQL: sql/tenant/057_agents.sql */
#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"


static ngx_kanban_field_t  ngx_kanban_agent_create_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 80, NULL, NULL },
    { "kind", NGX_KANBAN_FIELD_STRING, 1, 1, 16, NULL, NULL },
    { "builtin", NGX_KANBAN_FIELD_STRING, 0, 0, 16, NULL, NULL },
    { "webhook_url", NGX_KANBAN_FIELD_STRING, 0, 0, 2048, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agent_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 80, NULL,
      NULL },
    { "kind", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 1, 16, NULL,
      NULL },
    { "builtin", NGX_KANBAN_FIELD_STRING, 0, 0, 16, NULL, NULL },
    { "webhook_url", NGX_KANBAN_FIELD_STRING, 0, 0, 2048, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agent_activity_fields[] = {
    { "type", NGX_KANBAN_FIELD_STRING, 1, 1, 16, NULL, NULL },
    { "body", NGX_KANBAN_FIELD_STRING, 1, 1, 20000, NULL, NULL },
    { "external_url", NGX_KANBAN_FIELD_STRING, 0, 0, 2048, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_agent_prompt_fields[] = {
    { "body", NGX_KANBAN_FIELD_STRING, 1, 1, 20000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_agents_list = {
    ngx_kanban_pg_stmt("agents_list", "SELECT * FROM agents_list()"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_agents_create = {
    ngx_kanban_pg_stmt("agents_create",
    "SELECT * FROM agent_create($1::uuid, $2::jsonb)"),
    { "actor", "body", NULL },
    NULL
};

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


static ngx_kanban_route_t  ngx_kanban_agents_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/agents",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_agents_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/agents",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_agent_create_fields,
        &ngx_kanban_agents_create),

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
};


ngx_kanban_routes_module(ngx_http_kanban_agents_module,
                         ngx_kanban_agents_routes);
