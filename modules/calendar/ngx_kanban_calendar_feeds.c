
/*
 * Private calendar feeds (ICS): a person's or a project's URL with a
 * secret in it, made, listed and revoked here, and served without a
 * session to the calendar apps that poll it. The work is the SQL's:
 * sql/tenant/083_calendar_feeds.sql.
 */


#include "ngx_kanban_routes.h"


static ngx_kanban_field_t  ngx_kanban_calendar_feed_fields[] = {
    { "style", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_NOT_NULL, 4, 5, NULL,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_my_calendar_feeds = {
    ngx_kanban_pg_stmt("calendar_feeds_mine",
    "SELECT status, body FROM calendar_feeds_list($1::uuid, $2, NULL)"),
    { "actor", "role", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_my_calendar_feed_create = {
    ngx_kanban_pg_stmt("calendar_feed_create_mine",
    "SELECT status, body, extra, activity"
    "  FROM calendar_feed_create($1::uuid, $2, NULL, $3::jsonb, $4)"),
    { "actor", "role", "body", "tenant_url", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_project_calendar_feeds = {
    ngx_kanban_pg_stmt("calendar_feeds_project",
    "SELECT status, body FROM calendar_feeds_list($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_project_calendar_feed_create = {
    ngx_kanban_pg_stmt("calendar_feed_create_project",
    "SELECT status, body, extra, activity"
    "  FROM calendar_feed_create($1::uuid, $2, $3::uuid, $4::jsonb, $5)"),
    { "actor", "role", "uuid:id", "body", "tenant_url", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_calendar_feed_revoke = {
    ngx_kanban_pg_stmt("calendar_feed_revoke",
    "SELECT status, body, extra, activity"
    "  FROM calendar_feed_revoke($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

/* the feed: its secret is its only credential */
static ngx_kanban_sql_t  ngx_kanban_calendar_feed_ics = {
    ngx_kanban_pg_stmt("calendar_feed_ics",
    "SELECT status, body, extra, activity, content_type"
    "  FROM calendar_feed_ics($1::uuid, left($2, 100), left($3, 10), $4)"),
    { "uuid:id", "arg:secret", "query:as", "tenant_url", NULL },
    NULL
};


static ngx_kanban_route_t  ngx_kanban_calendar_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/me/calendar-feeds",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_my_calendar_feeds),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/me/calendar-feeds",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_calendar_feed_fields,
        &ngx_kanban_my_calendar_feed_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/calendar-feeds",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_project_calendar_feeds),

    ngx_kanban_sql_route(NGX_HTTP_POST,
        "/api/v1/projects/{id}/calendar-feeds",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_calendar_feed_fields,
        &ngx_kanban_project_calendar_feed_create),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/calendar-feeds/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_calendar_feed_revoke),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/ical/{id}/{secret}",
        NGX_KANBAN_ACCESS_PUBLIC, NULL, &ngx_kanban_calendar_feed_ics),
};


ngx_kanban_routes_module(ngx_http_kanban_calendar_module,
                         ngx_kanban_calendar_routes);
