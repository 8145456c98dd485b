
/*
 * What the users module's route table names: its handlers, their bodies'
 * fields and their statements (ngx_kanban_users_routes.c).
 */

#ifndef _NGX_KANBAN_USERS_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_USERS_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


extern ngx_kanban_field_t  ngx_kanban_user_create_fields[];
extern ngx_kanban_field_t  ngx_kanban_user_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_register_fields[];
extern ngx_kanban_field_t  ngx_kanban_accept_invite_fields[];
extern ngx_kanban_field_t  ngx_kanban_team_fields[];
extern ngx_kanban_field_t  ngx_kanban_team_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_skill_fields[];
extern ngx_kanban_field_t  ngx_kanban_user_skills_fields[];
extern ngx_kanban_sql_t  ngx_kanban_users_list;
extern ngx_kanban_sql_t  ngx_kanban_users_get;
extern ngx_kanban_sql_t  ngx_kanban_users_create;
extern ngx_kanban_sql_owned_t  ngx_kanban_users_patch;
extern ngx_kanban_sql_t  ngx_kanban_users_delete;
extern ngx_kanban_sql_t  ngx_kanban_users_export;
extern ngx_kanban_sql_t  ngx_kanban_users_register;
extern ngx_kanban_sql_owned_t  ngx_kanban_users_accept_invite;
extern ngx_kanban_sql_t  ngx_kanban_teams_list;
extern ngx_kanban_sql_t  ngx_kanban_teams_get;
extern ngx_kanban_sql_t  ngx_kanban_teams_create;
extern ngx_kanban_sql_t  ngx_kanban_teams_patch;
extern ngx_kanban_sql_t  ngx_kanban_teams_delete;
extern ngx_kanban_sql_t  ngx_kanban_team_member_put;
extern ngx_kanban_sql_t  ngx_kanban_team_member_delete;
extern ngx_kanban_sql_t  ngx_kanban_skills_list;
extern ngx_kanban_sql_t  ngx_kanban_skills_create;
extern ngx_kanban_sql_t  ngx_kanban_user_skills_put;


#endif /* _NGX_KANBAN_USERS_ROUTES_H_INCLUDED_ */
