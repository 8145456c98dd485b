
/*
 * Teams and skills: /api/v1/teams[/{id}[/members/{user_id}]],
 * /api/v1/skills, /api/v1/users/{id}/skills. Admins manage them; everyone
 * reads the teams they belong to and the skill catalogue.
 */

/* SQL: sql/tenant/001_users.sql, 002_auth.sql, 003_people.sql */
#include "ngx_kanban_users_routes.h"


ngx_kanban_field_t  ngx_kanban_team_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_team_patch_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 200, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_skill_fields[] = {
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 100, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_user_skill_fields[] = {
    { "skill_id", NGX_KANBAN_FIELD_UUID, 1, 0, 0, NULL, NULL },
    { "level", NGX_KANBAN_FIELD_INTEGER, 1, 1, 5, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

/* the body is the list itself */
ngx_kanban_field_t  ngx_kanban_user_skills_fields[] = {
    { "", NGX_KANBAN_FIELD_ARRAY, 1, 0, 100, ngx_kanban_user_skill_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_teams_list = {
    ngx_kanban_pg_stmt("teams_list",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(team_public(to_jsonb(t))"
    "                    ORDER BY lower(t.name), t.id)"
    "      FROM teams t"
    "     WHERE $2 = 'admin' OR EXISTS ("
    "           SELECT 1 FROM team_members tm"
    "            WHERE tm.team_id = t.id AND tm.user_id = $1::uuid)),"
    "    '[]'::json), 'next_cursor', NULL)"),
    { "actor", "role", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_teams_get = {
    ngx_kanban_pg_stmt("teams_get",
    "SELECT 200, team_public(to_jsonb(t)), t.version FROM teams t"
    " WHERE t.id = $3::uuid"
    "   AND ($2 = 'admin' OR EXISTS ("
    "        SELECT 1 FROM team_members tm"
    "         WHERE tm.team_id = t.id AND tm.user_id = $1::uuid))"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_teams_create = {
    ngx_kanban_pg_stmt("teams_create",
    "WITH t AS (INSERT INTO teams (name, description)"
    "           SELECT $2::jsonb->>'name',"
    "                  coalesce($2::jsonb->>'description', '')"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'team', t.id, 'created', to_jsonb(t) FROM t)"
    " SELECT 201, team_public(to_jsonb(t)), '/api/v1/teams/' || t.id FROM t"),
    { "actor", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_teams_patch = {
    ngx_kanban_pg_stmt("teams_patch",
    "WITH b AS (SELECT $3::jsonb j),"
    "     t AS (SELECT * FROM teams WHERE id = $2::uuid),"
    "     u AS (UPDATE teams x"
    "              SET name = coalesce(j->>'name', x.name),"
    "                  description = coalesce(j->>'description',"
    "                                         x.description),"
    "                  version = x.version + 1, updated_at = now()"
    "             FROM b, t"
    "            WHERE x.id = t.id AND x.version = t.version"
    "              AND ($4::int IS NULL OR $4::int = x.version)"
    "           RETURNING x.*),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, old_values, new_values)"
    "           SELECT $1::uuid, 'team', u.id, 'updated',"
    "                  (SELECT to_jsonb(t) FROM t), to_jsonb(u) FROM u)"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 404"
    "             WHEN NOT EXISTS (SELECT 1 FROM u) THEN 409 ELSE 200 END,"
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'not_found'"
    "             WHEN NOT EXISTS (SELECT 1 FROM u) THEN 'version_conflict'"
    "             ELSE (SELECT team_public(to_jsonb(u))::text FROM u) END,"
    "        (SELECT version::text FROM u)"),
    { "actor", "uuid:id", "body", "version", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_teams_delete = {
    ngx_kanban_pg_stmt("teams_delete",
    "WITH t AS (DELETE FROM teams WHERE id = $2::uuid RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, old_values)"
    "           SELECT $1::uuid, 'team', t.id, 'deleted', to_jsonb(t) FROM t)"
    " SELECT 204, NULL FROM t"),
    { "actor", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_team_member_put = {
    ngx_kanban_pg_stmt("team_member_put",
    "WITH ok AS (SELECT EXISTS (SELECT 1 FROM teams WHERE id = $2::uuid)"
    "               AND EXISTS (SELECT 1 FROM users WHERE id = $3::uuid"
    "                              AND status <> 'erased') AS yes),"
    "     m AS (INSERT INTO team_members (team_id, user_id)"
    "           SELECT $2::uuid, $3::uuid FROM ok WHERE ok.yes"
    "           ON CONFLICT DO NOTHING RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'team', m.team_id, 'member_added',"
    "                  jsonb_build_object('user_id', m.user_id) FROM m)"
    " SELECT 204, NULL FROM ok WHERE ok.yes"),
    { "actor", "uuid:id", "uuid:user_id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_team_member_delete = {
    ngx_kanban_pg_stmt("team_member_delete",
    "WITH m AS (DELETE FROM team_members"
    "            WHERE team_id = $2::uuid AND user_id = $3::uuid"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, old_values)"
    "           SELECT $1::uuid, 'team', m.team_id, 'member_removed',"
    "                  jsonb_build_object('user_id', m.user_id) FROM m)"
    " SELECT 204, NULL FROM m"),
    { "actor", "uuid:id", "uuid:user_id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_skills_list = {
    ngx_kanban_pg_stmt("skills_list",
    "SELECT 200, json_build_object('items', coalesce(("
    "    SELECT json_agg(json_build_object('id', s.id, 'name', s.name)"
    "                    ORDER BY lower(s.name)) FROM skills s), '[]'::json),"
    "    'next_cursor', NULL)"),
    { NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_skills_create = {
    ngx_kanban_pg_stmt("skills_create",
    "WITH s AS (INSERT INTO skills (name) SELECT $2::jsonb->>'name'"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'skill', s.id, 'created', to_jsonb(s)"
    "             FROM s)"
    " SELECT 201, json_build_object('id', s.id, 'name', s.name),"
    "        '/api/v1/skills/' || s.id FROM s"),
    { "actor", "body", NULL },
    NULL
};

/* The user's whole set of skills is replaced; admins set anyone's, people
 * their own. */
ngx_kanban_sql_t  ngx_kanban_user_skills_put = {
    ngx_kanban_pg_stmt("user_skills_put",
    "WITH t AS (SELECT id FROM users WHERE id = $3::uuid"
    "              AND status <> 'erased'"
    "              AND can_see_user($1::uuid, $2, id)),"
    "     ok AS (SELECT $2 = 'admin' OR t.id = $1::uuid AS yes FROM t),"
    "     d AS (DELETE FROM user_skills"
    "            WHERE user_id IN (SELECT id FROM t)"
    "              AND skill_id NOT IN (SELECT (e->>'skill_id')::uuid"
    "                                     FROM jsonb_array_elements($4) e)"
    "              AND (SELECT yes FROM ok)),"
    "     i AS (INSERT INTO user_skills (user_id, skill_id, level)"
    "           SELECT t.id, (e->>'skill_id')::uuid, (e->>'level')::smallint"
    "             FROM t, jsonb_array_elements($4::jsonb) e"
    "            WHERE (SELECT yes FROM ok)"
    "           ON CONFLICT (user_id, skill_id)"
    "           DO UPDATE SET level = excluded.level"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'user', t.id, 'skills_set', $4::jsonb"
    "             FROM t WHERE (SELECT yes FROM ok))"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 404"
    "             WHEN NOT (SELECT yes FROM ok) THEN 403 ELSE 200 END,"
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'not_found'"
    "             WHEN NOT (SELECT yes FROM ok) THEN 'forbidden'"
    "             ELSE (SELECT coalesce(json_agg(json_build_object("
    "                            'skill_id', i.skill_id, 'name', s.name,"
    "                            'level', i.level) ORDER BY s.name),"
    "                          '[]'::json)::text"
    "                     FROM i JOIN skills s ON s.id = i.skill_id) END"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};
