
/*
 * The webhooks API, for a workspace's admins: /api/v1/webhooks, one
 * webhook, its deliveries, and a ping. A secret is shown once, when it is
 * made (given, or drawn here: "whsec_" and 48 hex digits), and is stored
 * sealed (ngx_kanban_webhooks_seal). The routes are this module's own
 * table, which the router takes at configuration time. An external
 * agent's receiver is a webhook row of its agent's (agent_id,
 * 058_agent_webhooks.sql), the agents' to change: no route here lists,
 * shows, changes, deletes or pings it (404).
 */

/* SQL: sql/catalog/003_webhook_tenants.sql; sql/tenant/001_users.sql,
 * 018_webhooks.sql, 023_portfolio_health.sql, 058_agent_webhooks.sql */
#include "ngx_kanban_webhooks.h"
#include <openssl/rand.h>


#define NGX_KANBAN_WEBHOOKS_SECRET_RANDOM  24


typedef struct {
    ngx_str_t                 *v[4];
} ngx_kanban_webhooks_new_t;


static ngx_int_t ngx_kanban_webhooks_create_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_webhooks_patch_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_webhooks_test_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_webhooks_registered(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_webhooks_run(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_uint_t n, ngx_str_t **v);
static void ngx_kanban_webhooks_written(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_field_t  ngx_kanban_webhook_fields[] = {
    { "url", NGX_KANBAN_FIELD_STRING, 1, 10, 2000, NULL,
      ngx_kanban_webhooks_url_check },
    { "events", NGX_KANBAN_FIELD_ARRAY, 1, 1, 20, NULL, NULL },
    { "secret", NGX_KANBAN_FIELD_STRING, 0, 16, 200, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_webhook_patch_fields[] = {
    { "url", NGX_KANBAN_FIELD_STRING, 0, 10, 2000, NULL,
      ngx_kanban_webhooks_url_check },
    { "events", NGX_KANBAN_FIELD_ARRAY, 0, 1, 20, NULL, NULL },
    { "secret", NGX_KANBAN_FIELD_STRING, 0, 16, 200, NULL, NULL },
    { "enabled", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* the events asked for: strings, each a type of webhook_event_types() */
#define NGX_KANBAN_WEBHOOKS_EVENTS_OK(e)                                      \
    "(jsonb_typeof(" e ") = 'array' AND jsonb_array_length(" e ") > 0"        \
    " AND (SELECT bool_and(jsonb_typeof(x) = 'string'"                        \
    "                      AND x #>> '{}' = ANY (webhook_event_types()))"     \
    "        FROM jsonb_array_elements(" e ") x))"

#define NGX_KANBAN_WEBHOOKS_EVENTS(e)                                         \
    "array(SELECT DISTINCT x FROM jsonb_array_elements_text(" e ") x"         \
    "       ORDER BY x)"

#define NGX_KANBAN_WEBHOOKS_EVENTS_DETAIL                                     \
    "events are one or more of the event types, or \"*\" for all."


/* the catalog learns of the workspace before its first webhook exists,
 * so that the dispatchers' sweep never misses one */
static ngx_kanban_pg_stmt_t  ngx_kanban_webhooks_register =
    ngx_kanban_pg_stmt("webhooks_register",
    "INSERT INTO webhook_tenants (slug) VALUES ($1)"
    " ON CONFLICT (slug) DO NOTHING");


static ngx_kanban_sql_t  ngx_kanban_webhooks_list = {
    ngx_kanban_pg_stmt("webhooks_list",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(webhook_json(w) ORDER BY w.created_at, w.id)"
    "      FROM webhooks w WHERE w.agent_id IS NULL), '[]'::json),"
    "    'next_cursor', NULL)"),
    { NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_webhooks_get = {
    ngx_kanban_pg_stmt("webhooks_get",
    "SELECT 200, webhook_json(w) FROM webhooks w WHERE w.id = $1::uuid"
    "   AND w.agent_id IS NULL"),
    { "uuid:id", NULL },
    NULL
};

/* $1 actor, $2 body, $3 the secret (answered once), $4 as stored */
static ngx_kanban_sql_t  ngx_kanban_webhooks_create = {
    ngx_kanban_pg_stmt("webhooks_create",
    "WITH b AS (SELECT $2::jsonb j),"
    "     ok AS (SELECT coalesce(" NGX_KANBAN_WEBHOOKS_EVENTS_OK("j->'events'")
    "                            , false) AS yes FROM b),"
    "     w AS (INSERT INTO webhooks (url, events, secret, created_by)"
    "           SELECT j->>'url', "
    NGX_KANBAN_WEBHOOKS_EVENTS("j->'events'") ", $4, $1::uuid"
    "             FROM b, ok WHERE ok.yes"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'webhook', w.id, 'created',"
    "                  jsonb_build_object('url', w.url, 'events', w.events)"
    "             FROM w)"
    " SELECT CASE WHEN ok.yes THEN 201 ELSE 422 END,"
    "        CASE WHEN ok.yes"
    "             THEN (SELECT (webhook_json(w)"
    "                           || jsonb_build_object('secret', $3::text))"
    "                          ::text FROM w)"
    "             ELSE 'validation_failed' END,"
    "        CASE WHEN ok.yes THEN (SELECT '/api/v1/webhooks/' || id FROM w)"
    "             ELSE '" NGX_KANBAN_WEBHOOKS_EVENTS_DETAIL "' END"
    "   FROM ok"),
    { NULL },
    NULL
};

/* $1 actor, $2 id, $3 body, $4 a new secret as stored, or NULL */
static ngx_kanban_sql_t  ngx_kanban_webhooks_patch = {
    ngx_kanban_pg_stmt("webhooks_patch",
    "WITH b AS (SELECT $3::jsonb j),"
    "     ok AS (SELECT (NOT j ? 'events' OR coalesce("
    NGX_KANBAN_WEBHOOKS_EVENTS_OK("j->'events'") ", false)) AS yes FROM b),"
    "     w AS (UPDATE webhooks w"
    "              SET url = coalesce(j->>'url', w.url),"
    "                  events = CASE WHEN j ? 'events' THEN "
    NGX_KANBAN_WEBHOOKS_EVENTS("j->'events'") " ELSE w.events END,"
    "                  secret = coalesce($4, w.secret),"
    "                  enabled = coalesce((j->>'enabled')::boolean,"
    "                                     w.enabled),"
    "                  disabled_reason = CASE"
    "                      WHEN (j->>'enabled')::boolean THEN NULL"
    "                      WHEN NOT (j->>'enabled')::boolean AND w.enabled"
    "                      THEN 'disabled by an admin'"
    "                      ELSE w.disabled_reason END,"
    "                  failing_since = CASE"
    "                      WHEN (j->>'enabled')::boolean AND NOT w.enabled"
    "                      THEN NULL ELSE w.failing_since END,"
    "                  updated_at = now()"
    "             FROM b, ok WHERE w.id = $2::uuid AND ok.yes"
    "              AND w.agent_id IS NULL"
    "           RETURNING w.*),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'webhook', w.id, 'updated', j - 'secret'"
    "             FROM w, b)"
    " SELECT CASE WHEN ok.yes THEN 200 ELSE 422 END,"
    "        CASE WHEN ok.yes THEN (SELECT webhook_json(w)::text FROM w)"
    "             ELSE 'validation_failed' END,"
    "        CASE WHEN ok.yes THEN NULL"
    "             ELSE '" NGX_KANBAN_WEBHOOKS_EVENTS_DETAIL "' END"
    "   FROM ok WHERE NOT ok.yes OR EXISTS (SELECT 1 FROM w)"),
    { NULL },
    NULL
};

/* its deliveries locked before its row, in the order a sender's
 * webhook_attempted() takes them: the cascade never deadlocks with one */
static ngx_kanban_sql_t  ngx_kanban_webhooks_delete = {
    ngx_kanban_pg_stmt("webhooks_delete",
    "WITH x AS (SELECT id FROM webhook_deliveries"
    "            WHERE webhook_id = $2::uuid FOR UPDATE),"
    "     w AS (DELETE FROM webhooks"
    "            WHERE id = $2::uuid AND agent_id IS NULL"
    "              AND (SELECT count(*) FROM x) >= 0 RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, old_values)"
    "           SELECT $1::uuid, 'webhook', w.id, 'deleted',"
    "                  jsonb_build_object('url', w.url) FROM w)"
    " SELECT 204, NULL FROM w"),
    { "actor", "uuid:id", NULL },
    NULL
};

/* the newest hundred */
static ngx_kanban_sql_t  ngx_kanban_webhooks_deliveries = {
    ngx_kanban_pg_stmt("webhooks_deliveries",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(x.j ORDER BY x.created_at DESC, x.id)"
    "      FROM (SELECT webhook_delivery_json(d) j, d.created_at, d.id"
    "              FROM webhook_deliveries d WHERE d.webhook_id = w.id"
    "             ORDER BY d.created_at DESC, d.id LIMIT 100) x),"
    "    '[]'::json), 'next_cursor', NULL)"
    "  FROM webhooks w WHERE w.id = $1::uuid AND w.agent_id IS NULL"),
    { "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_webhooks_test = {
    ngx_kanban_pg_stmt("webhooks_test",
    "WITH w AS (SELECT * FROM webhooks"
    "            WHERE id = $1::uuid AND agent_id IS NULL),"
    "     d AS (SELECT webhook_enqueue(w.id, NULL, 'ping',"
    "                      jsonb_build_object('webhook_id', w.id,"
    "                                         'url', w.url), now()) AS id"
    "             FROM w)"
    " SELECT 202, json_build_object('id', d.id, 'type', 'ping',"
    "                               'status', 'pending')"
    "   FROM d"),
    { "uuid:id", NULL },
    NULL
};


#define ngx_kanban_webhooks_route(method, pattern, handler, fields, sql)      \
    { method, pattern, NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_ADMIN,       \
      handler, fields, ngx_null_string, sql }

ngx_kanban_route_t  ngx_kanban_webhooks_routes[] = {

    ngx_kanban_webhooks_route(NGX_HTTP_GET, "/api/v1/webhooks",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_webhooks_list),

    ngx_kanban_webhooks_route(NGX_HTTP_POST, "/api/v1/webhooks",
        ngx_kanban_webhooks_create_handler, ngx_kanban_webhook_fields,
        &ngx_kanban_webhooks_create),

    ngx_kanban_webhooks_route(NGX_HTTP_GET, "/api/v1/webhooks/{id}",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_webhooks_get),

    ngx_kanban_webhooks_route(NGX_HTTP_PATCH, "/api/v1/webhooks/{id}",
        ngx_kanban_webhooks_patch_handler, ngx_kanban_webhook_patch_fields,
        &ngx_kanban_webhooks_patch),

    ngx_kanban_webhooks_route(NGX_HTTP_DELETE, "/api/v1/webhooks/{id}",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_webhooks_delete),

    ngx_kanban_webhooks_route(NGX_HTTP_GET,
        "/api/v1/webhooks/{id}/deliveries",
        ngx_kanban_sql_handler, NULL, &ngx_kanban_webhooks_deliveries),

    ngx_kanban_webhooks_route(NGX_HTTP_POST, "/api/v1/webhooks/{id}/test",
        ngx_kanban_webhooks_test_handler, NULL, &ngx_kanban_webhooks_test),
};

ngx_uint_t  ngx_kanban_webhooks_nroutes =
    sizeof(ngx_kanban_webhooks_routes) / sizeof(ngx_kanban_route_t);


static ngx_int_t
ngx_kanban_webhooks_create_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    u_char                      random[NGX_KANBAN_WEBHOOKS_SECRET_RANDOM];
    ngx_str_t                  *secret, *stored;
    ngx_kanban_pg_db_t          db;
    ngx_kanban_pg_query_t      *q;
    ngx_kanban_webhooks_new_t  *wn;

    secret = ngx_kanban_json_string(ctx->body, "secret");

    if (secret == NULL) {
        secret = ngx_palloc(r->pool, sizeof(ngx_str_t));
        if (secret == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        secret->len = sizeof("whsec_") - 1 + 2 * sizeof(random);
        secret->data = ngx_pnalloc(r->pool, secret->len);
        if (secret->data == NULL
            || RAND_bytes(random, sizeof(random)) != 1)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_hex_dump(ngx_cpymem(secret->data, "whsec_", 6), random,
                     sizeof(random));
    }

    stored = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (stored == NULL
        || ngx_kanban_webhooks_seal(r->pool, secret, stored) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    wn = ngx_palloc(r->pool, sizeof(ngx_kanban_webhooks_new_t));
    if (wn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    wn->v[0] = &ctx->identity->user_id;
    wn->v[1] = &ctx->raw_body;
    wn->v[2] = secret;
    wn->v[3] = stored;

    ctx->data = wn;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_webhooks_register,
                             ngx_kanban_webhooks_registered, 1,
                             &ctx->tenant->slug)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_webhooks_registered(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_int_t                   rc;
    ngx_kanban_ctx_t           *ctx;
    ngx_kanban_webhooks_new_t  *wn;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ctx = ngx_kanban_ctx(r);
    wn = ctx->data;

    rc = ngx_kanban_webhooks_run(r, ctx, 4, wn->v);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_kanban_webhooks_patch_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t  *v[4], *id, *secret, *stored;

    id = ngx_kanban_arg(ctx, "id");
    if (id == NULL || !ngx_kanban_uuid_valid(id)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    stored = NULL;
    secret = ngx_kanban_json_string(ctx->body, "secret");

    if (secret) {
        stored = ngx_palloc(r->pool, sizeof(ngx_str_t));
        if (stored == NULL
            || ngx_kanban_webhooks_seal(r->pool, secret, stored) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    v[0] = &ctx->identity->user_id;
    v[1] = id;
    v[2] = &ctx->raw_body;
    v[3] = stored;

    return ngx_kanban_webhooks_run(r, ctx, 4, v);
}


static ngx_int_t
ngx_kanban_webhooks_test_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t  *v[1];

    v[0] = ngx_kanban_arg(ctx, "id");
    if (v[0] == NULL || !ngx_kanban_uuid_valid(v[0])) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    return ngx_kanban_webhooks_run(r, ctx, 1, v);
}


static ngx_int_t
ngx_kanban_webhooks_run(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_uint_t n, ngx_str_t **v)
{
    ngx_kanban_sql_t       *sql;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    sql = ctx->route->data;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_pg_run(q, &sql->stmt, ngx_kanban_webhooks_written, n,
                          n > 0 ? v[0] : NULL, n > 1 ? v[1] : NULL,
                          n > 2 ? v[2] : NULL, n > 3 ? v[3] : NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* The write has committed: this worker's dispatcher learns of the
 * workspace now (a new webhook, a ping), the answer goes as any. */

static void
ngx_kanban_webhooks_written(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (q->error == NGX_KANBAN_PG_OK && ctx->tenant) {
        ngx_kanban_webhooks_wake(ctx->tenant);
    }

    ngx_kanban_sql_answer(r, q);
}


/* http(s), a host, no user or password, nothing blank; a literal address
 * that is not public is refused now (a name is checked where it
 * resolves, as each delivery connects) */

char *
ngx_kanban_webhooks_url_check(ngx_str_t *value, char **message)
{
    char                        *code;
    ngx_str_t                    host;
    ngx_kanban_webhooks_conf_t  *whcf;

    code = ngx_kanban_webhooks_url_host(value, &host, message);
    if (code) {
        return code;
    }

    whcf = ngx_kanban_webhooks_conf();
    if (whcf && whcf->allow_private) {
        return NULL;
    }

    return ngx_kanban_webhooks_host_check(&host, message);
}


/* the URL's form: http or https, no blanks, no user, a host (in host,
 * without the brackets of an IPv6 address) */
char *
ngx_kanban_webhooks_url_host(ngx_str_t *value, ngx_str_t *out,
    char **message)
{
    u_char  *p, *host, *end;
    size_t   len;

    p = value->data;
    end = p + value->len;

    if (value->len > 7 && ngx_strncmp(p, "http://", 7) == 0) {
        p += 7;

    } else if (value->len > 8 && ngx_strncmp(p, "https://", 8) == 0) {
        p += 8;

    } else {
        *message = "A URL is http:// or https://.";
        return "invalid_format";
    }

    for (host = p; p < end; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            *message = "A URL has no blanks or control characters.";
            return "invalid_format";
        }
    }

    for (p = host; p < end && *p != '/' && *p != '?' && *p != '#'; p++) {
        if (*p == '@') {
            *message = "A URL names no user or password.";
            return "invalid_format";
        }
    }

    end = p;

    if (end > host && *host == '[') {
        p = ngx_strlchr(host, end, ']');
        if (p == NULL) {
            *message = "The URL's address is malformed.";
            return "invalid_format";
        }

        host++;
        len = p - host;

    } else {
        p = ngx_strlchr(host, end, ':');
        len = (p ? p : end) - host;
    }

    if (len == 0) {
        *message = "A URL names a host.";
        return "invalid_format";
    }

    out->data = host;
    out->len = len;

    return NULL;
}


/* no localhost, and no address that is not public, written as such */
char *
ngx_kanban_webhooks_host_check(ngx_str_t *host, char **message)
{
    in_addr_t            a4;
    struct sockaddr_in   sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  sin6;
#endif

    if ((host->len == 9
         && ngx_strncasecmp(host->data, (u_char *) "localhost", 9) == 0)
        || (host->len > 10
            && ngx_strncasecmp(host->data + host->len - 10,
                               (u_char *) ".localhost", 10)
               == 0))
    {
        *message = "Webhooks may not be sent to this host.";
        return "forbidden_address";
    }

    a4 = ngx_inet_addr(host->data, host->len);

    if (a4 != INADDR_NONE) {
        ngx_memzero(&sin, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = a4;

        if (!ngx_kanban_http_address_public((struct sockaddr *) &sin)) {
            *message = "Webhooks may not be sent to a private, loopback, "
                       "link-local or reserved address.";
            return "forbidden_address";
        }
    }

#if (NGX_HAVE_INET6)
    ngx_memzero(&sin6, sizeof(sin6));

    if (ngx_inet6_addr(host->data, host->len, sin6.sin6_addr.s6_addr)
        == NGX_OK)
    {
        sin6.sin6_family = AF_INET6;

        if (!ngx_kanban_http_address_public((struct sockaddr *) &sin6)) {
            *message = "Webhooks may not be sent to a private, loopback, "
                       "link-local or reserved address.";
            return "forbidden_address";
        }
    }
#endif

    return NULL;
}
