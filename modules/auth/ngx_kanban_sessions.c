
/*
 * ngx_http_kanban_sessions_module: a person's sessions (refresh-token
 * families, one a sign-in), listed and ended.
 *
 *   GET    /api/v1/auth/sessions        one's own live sessions
 *   DELETE /api/v1/auth/sessions        sign oneself out everywhere
 *   DELETE /api/v1/auth/sessions/{id}   end one of one's own
 *   DELETE /api/v1/users/{id}/sessions  an admin signs a person out
 *
 * A session is its family's id; what it shows (last use, user agent,
 * address) is its live token's. Ending one revokes the family's tokens:
 * its access tokens lapse within their 15 minutes. The routes are a table
 * of the module's own, given to the router at configuration time.
 */

/* SQL: sql/tenant/001_users.sql, 002_auth.sql, 033_sessions.sql */
#include "ngx_kanban_session.h"


static ngx_int_t ngx_kanban_sessions_postconfiguration(ngx_conf_t *cf);


/* a live token: neither spent nor revoked nor expired */
#define NGX_KANBAN_SESSION_LIVE(t)                                            \
    t ".spent_at IS NULL AND " t ".revoked_at IS NULL"                        \
    " AND " t ".expires_at > now()"


/* $1 the person, $2 the Cookie header: the refresh cookie (the name
 * ngx_kanban_session.c gives it) marks the caller's own session */
static ngx_kanban_sql_t  ngx_kanban_sessions_list = {
    ngx_kanban_pg_stmt("sessions_list",
    "WITH c AS (SELECT encode(sha256(convert_to(substring($2"
    "                  FROM '(?:^|;)\\s*" "__Host-kanban_refresh=([^;\\s]+)'),"
    "                  'UTF8')), 'hex') AS hash)"
    " SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(json_build_object("
    "             'id', t.family_id, 'created_at', t.signed_in_at,"
    "             'last_used_at', t.created_at, 'expires_at', t.expires_at,"
    "             'user_agent', t.user_agent, 'address', host(t.address),"
    "             'current', t.token_hash IS NOT DISTINCT FROM c.hash)"
    "             ORDER BY t.created_at DESC, t.family_id)"
    "      FROM refresh_tokens t"
    "     WHERE t.user_id = $1::uuid AND " NGX_KANBAN_SESSION_LIVE("t") "),"
    "    '[]'::json), 'next_cursor', NULL)"
    "   FROM c"),
    { "actor", "header:Cookie", NULL },
    NULL
};

/* $1 the caller, $2 whose, $3 one family or NULL for all: 204, or 404
 * when there was no such person, or no such live session of theirs */
#define NGX_KANBAN_SESSIONS_REVOKE(name)                                      \
    ngx_kanban_pg_stmt(name,                                                  \
    "WITH u AS (SELECT id FROM users WHERE id = $2::uuid),"                   \
    "     r AS (UPDATE refresh_tokens t SET revoked_at = now()"              \
    "            WHERE t.user_id IN (SELECT id FROM u)"                       \
    "              AND ($3::uuid IS NULL OR t.family_id = $3::uuid)"          \
    "              AND t.revoked_at IS NULL"                                  \
    "           RETURNING t.family_id,"                                   \
    "                     t.spent_at IS NULL AND t.expires_at > now()"        \
    "                     AS live),"                                          \
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"  \
    "                                     action, new_values)"                \
    "           SELECT $1::uuid, 'user', u.id, 'sessions_revoked',"          \
    "                  jsonb_build_object('sessions',"                        \
    "                      (SELECT count(DISTINCT family_id) FROM r"          \
    "                        WHERE live),"                                    \
    "                                     'session', $3::uuid)"               \
    "             FROM u WHERE EXISTS (SELECT 1 FROM r WHERE live)"          \
    "                       OR $3::uuid IS NULL)"                             \
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM u) THEN 404"                 \
    "             WHEN $3::uuid IS NOT NULL"                                  \
    "              AND NOT EXISTS (SELECT 1 FROM r WHERE live) THEN 404"      \
    "             ELSE 204 END,"                                              \
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM u) THEN 'not_found'"         \
    "             WHEN $3::uuid IS NOT NULL"                                  \
    "              AND NOT EXISTS (SELECT 1 FROM r WHERE live)"               \
    "             THEN 'not_found' END,"                                      \
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM u) THEN 'No such user.'"     \
    "             WHEN $3::uuid IS NOT NULL"                                  \
    "              AND NOT EXISTS (SELECT 1 FROM r WHERE live)"               \
    "             THEN 'No such session of yours.' END")

static ngx_kanban_sql_t  ngx_kanban_sessions_end_mine = {
    NGX_KANBAN_SESSIONS_REVOKE("sessions_end_mine"),
    { "actor", "actor", "uuid:none", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_sessions_end_one = {
    NGX_KANBAN_SESSIONS_REVOKE("sessions_end_one"),
    { "actor", "actor", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_sessions_end_theirs = {
    NGX_KANBAN_SESSIONS_REVOKE("sessions_end_theirs"),
    { "actor", "uuid:id", "uuid:none", NULL },
    NULL
};


#define ngx_kanban_sessions_route(method, pattern, access, sql)               \
    { method, pattern, NGX_KANBAN_HOST_TENANT, access,                        \
      ngx_kanban_sql_handler, NULL, ngx_null_string, sql }

static ngx_kanban_route_t  ngx_kanban_sessions_routes[] = {

    ngx_kanban_sessions_route(NGX_HTTP_GET, "/api/v1/auth/sessions",
        NGX_KANBAN_ACCESS_MEMBER, &ngx_kanban_sessions_list),

    ngx_kanban_sessions_route(NGX_HTTP_DELETE, "/api/v1/auth/sessions",
        NGX_KANBAN_ACCESS_MEMBER, &ngx_kanban_sessions_end_mine),

    ngx_kanban_sessions_route(NGX_HTTP_DELETE, "/api/v1/auth/sessions/{id}",
        NGX_KANBAN_ACCESS_MEMBER, &ngx_kanban_sessions_end_one),

    ngx_kanban_sessions_route(NGX_HTTP_DELETE, "/api/v1/users/{id}/sessions",
        NGX_KANBAN_ACCESS_ADMIN, &ngx_kanban_sessions_end_theirs),
};


static ngx_http_module_t  ngx_kanban_sessions_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_sessions_postconfiguration, /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_sessions_module = {
    NGX_MODULE_V1,
    &ngx_kanban_sessions_module_ctx,       /* module context */
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
ngx_kanban_sessions_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_sessions_routes,
                                 sizeof(ngx_kanban_sessions_routes)
                                 / sizeof(ngx_kanban_route_t));
}
