
/*
 * ngx_http_kanban_chat_module: team chat in a workspace.
 *
 *   GET/POST   /api/v1/chat/channels                    list, create
 *   GET        /api/v1/chat/channels/{id}               one
 *   GET/POST   /api/v1/chat/channels/{id}/messages      list, post
 *   POST       /api/v1/chat/channels/{id}/read          mark read
 *   GET        /api/v1/chat/channels/{id}/members       who is in it
 *   PUT/DELETE /api/v1/chat/channels/{id}/members/{user_id}
 *   PATCH/DELETE /api/v1/chat/messages/{id}             author only
 *
 * Each route is one call of a function of sql/tenant/037_chat.sql, which
 * keeps who may see what (a private channel is its members' alone) in one
 * place. A write's event is made by a trigger as it commits and published
 * after, as every write's is; the routes are a table of the module's own,
 * given to the router at configuration time.
 */

/* SQL: sql/tenant/037_chat.sql */
#include "ngx_kanban_routes.h"


static ngx_int_t ngx_kanban_chat_postconfiguration(ngx_conf_t *cf);


/* the limits the functions check again, so that a caller learns of them
 * before the statement runs */
static ngx_kanban_field_t  ngx_kanban_chat_channel_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 0, 1, 80, NULL, NULL },
    { "private", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { "direct", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { "member_ids", NGX_KANBAN_FIELD_ARRAY, 0, 0, 100, NULL, NULL },
    { "project_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_chat_message_fields[] = {
    { "body", NGX_KANBAN_FIELD_STRING, 1, 1, 10000, NULL, NULL },
    { "parent_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_chat_edit_fields[] = {
    { "body", NGX_KANBAN_FIELD_STRING, 1, 1, 10000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_sql_t  ngx_kanban_chat_channels_list = {
    ngx_kanban_pg_stmt("chat_channels_list",
    "SELECT * FROM chat_channels_list($1::uuid)"),
    { "actor", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_chat_channels_create = {
    ngx_kanban_pg_stmt("chat_channels_create",
    "SELECT * FROM chat_channel_create($1::uuid, $2::jsonb)"),
    { "actor", "body", NULL },
    "chat.channel.created"
};

static ngx_kanban_sql_t  ngx_kanban_chat_channels_get = {
    ngx_kanban_pg_stmt("chat_channels_get",
    "SELECT * FROM chat_channel_get($1::uuid, $2::uuid)"),
    { "actor", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_chat_messages_list = {
    ngx_kanban_pg_stmt("chat_messages_list",
    "SELECT * FROM chat_messages_list($1::uuid, $2::uuid, $3::int,"
    "                                 $4::uuid, $5::uuid)"),
    { "actor", "uuid:id", "query_limit:limit", "query_uuid:cursor",
      "query_uuid:parent_id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_chat_messages_post = {
    ngx_kanban_pg_stmt("chat_messages_post",
    "SELECT * FROM chat_message_post($1::uuid, $2::uuid, $3::jsonb)"),
    { "actor", "uuid:id", "body", NULL },
    "chat.message.created"
};

static ngx_kanban_sql_t  ngx_kanban_chat_messages_edit = {
    ngx_kanban_pg_stmt("chat_messages_edit",
    "SELECT * FROM chat_message_edit($1::uuid, $2::uuid, $3::jsonb)"),
    { "actor", "uuid:id", "body", NULL },
    "chat.message.updated"
};

static ngx_kanban_sql_t  ngx_kanban_chat_messages_delete = {
    ngx_kanban_pg_stmt("chat_messages_delete",
    "SELECT * FROM chat_message_delete($1::uuid, $2::uuid)"),
    { "actor", "uuid:id", NULL },
    "chat.message.deleted"
};

/* a read makes no audit row: its event (to the reader alone) is the
 * trigger's; the publish only wakes the feeds */
static ngx_kanban_sql_t  ngx_kanban_chat_channels_read = {
    ngx_kanban_pg_stmt("chat_channels_read",
    "SELECT * FROM chat_channel_read($1::uuid, $2::uuid, $3::uuid)"),
    { "actor", "uuid:id", "query_uuid:message_id", NULL },
    "chat.read"
};

static ngx_kanban_sql_t  ngx_kanban_chat_members_list = {
    ngx_kanban_pg_stmt("chat_members_list",
    "SELECT * FROM chat_members_list($1::uuid, $2::uuid)"),
    { "actor", "uuid:id", NULL },
    NULL
};

static ngx_kanban_sql_t  ngx_kanban_chat_members_add = {
    ngx_kanban_pg_stmt("chat_members_add",
    "SELECT * FROM chat_member_add($1::uuid, $2::uuid, $3::uuid)"),
    { "actor", "uuid:id", "uuid:user_id", NULL },
    "chat.channel.updated"
};

static ngx_kanban_sql_t  ngx_kanban_chat_members_remove = {
    ngx_kanban_pg_stmt("chat_members_remove",
    "SELECT * FROM chat_member_remove($1::uuid, $2::uuid, $3::uuid)"),
    { "actor", "uuid:id", "uuid:user_id", NULL },
    "chat.channel.updated"
};


#define ngx_kanban_chat_route(method, pattern, fields, sql)                   \
    { method, pattern, NGX_KANBAN_HOST_TENANT, NGX_KANBAN_ACCESS_MEMBER,      \
      ngx_kanban_sql_handler, fields, ngx_null_string, sql }

static ngx_kanban_route_t  ngx_kanban_chat_routes[] = {

    ngx_kanban_chat_route(NGX_HTTP_GET, "/api/v1/chat/channels",
        NULL, &ngx_kanban_chat_channels_list),

    ngx_kanban_chat_route(NGX_HTTP_POST, "/api/v1/chat/channels",
        ngx_kanban_chat_channel_fields, &ngx_kanban_chat_channels_create),

    ngx_kanban_chat_route(NGX_HTTP_GET, "/api/v1/chat/channels/{id}",
        NULL, &ngx_kanban_chat_channels_get),

    ngx_kanban_chat_route(NGX_HTTP_GET, "/api/v1/chat/channels/{id}/messages",
        NULL, &ngx_kanban_chat_messages_list),

    ngx_kanban_chat_route(NGX_HTTP_POST,
        "/api/v1/chat/channels/{id}/messages",
        ngx_kanban_chat_message_fields, &ngx_kanban_chat_messages_post),

    ngx_kanban_chat_route(NGX_HTTP_POST, "/api/v1/chat/channels/{id}/read",
        NULL, &ngx_kanban_chat_channels_read),

    ngx_kanban_chat_route(NGX_HTTP_GET, "/api/v1/chat/channels/{id}/members",
        NULL, &ngx_kanban_chat_members_list),

    ngx_kanban_chat_route(NGX_HTTP_PUT,
        "/api/v1/chat/channels/{id}/members/{user_id}",
        NULL, &ngx_kanban_chat_members_add),

    ngx_kanban_chat_route(NGX_HTTP_DELETE,
        "/api/v1/chat/channels/{id}/members/{user_id}",
        NULL, &ngx_kanban_chat_members_remove),

    ngx_kanban_chat_route(NGX_HTTP_PATCH, "/api/v1/chat/messages/{id}",
        ngx_kanban_chat_edit_fields, &ngx_kanban_chat_messages_edit),

    ngx_kanban_chat_route(NGX_HTTP_DELETE, "/api/v1/chat/messages/{id}",
        NULL, &ngx_kanban_chat_messages_delete),
};


static ngx_http_module_t  ngx_kanban_chat_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_chat_postconfiguration,     /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_chat_module = {
    NGX_MODULE_V1,
    &ngx_kanban_chat_module_ctx,           /* module context */
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
ngx_kanban_chat_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_chat_routes,
                                 sizeof(ngx_kanban_chat_routes)
                                 / sizeof(ngx_kanban_route_t));
}
