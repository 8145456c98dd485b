
/*
 * The users module's routes: people (registration, invitations, the admin's
 * list), teams and skills.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_users_routes.h"


static ngx_kanban_route_t  ngx_kanban_users_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/auth/register",
        NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_register_fields,
        &ngx_kanban_users_register),

    ngx_kanban_sql_owned_route(NGX_HTTP_POST, "/api/v1/auth/accept-invite",
        NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_accept_invite_fields,
        &ngx_kanban_users_accept_invite),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/users",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_users_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/users",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_user_create_fields,
        &ngx_kanban_users_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/users/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_users_get),

    ngx_kanban_sql_owned_route(NGX_HTTP_PATCH, "/api/v1/users/{id}",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_user_patch_fields,
        &ngx_kanban_users_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/users/{id}",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_users_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/users/{id}/export",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_users_export),

    ngx_kanban_sql_route(NGX_HTTP_PUT, "/api/v1/users/{id}/skills",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_user_skills_fields,
        &ngx_kanban_user_skills_put),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/teams",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_teams_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/teams",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_team_fields,
        &ngx_kanban_teams_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/teams/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_teams_get),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/teams/{id}",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_team_patch_fields,
        &ngx_kanban_teams_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/teams/{id}",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_teams_delete),

    ngx_kanban_sql_route(NGX_HTTP_PUT, "/api/v1/teams/{id}/members/{user_id}",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_team_member_put),

    ngx_kanban_sql_route(NGX_HTTP_DELETE,
        "/api/v1/teams/{id}/members/{user_id}",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_team_member_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/skills",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_skills_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/skills",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_skill_fields,
        &ngx_kanban_skills_create),
};


ngx_kanban_routes_module(ngx_http_kanban_users_routes_module,
                         ngx_kanban_users_routes);
