
/*
 * Users: /api/v1/users[/{id}], invitations, open registration, GDPR
 * export and erasure. Each endpoint is one statement (ngx_kanban_sql_t):
 * who may see whom (can_see_user) and who may change what are decided in
 * it, the audit row is written in it, and disabling or erasing a user ends
 * their refresh tokens in it.
 *
 * Parameters: $1 the caller's id, $2 their role, then the path's id, the
 * body, the password's hash, as each statement lists.
 */

/* SQL: sql/tenant/001_users.sql, 002_auth.sql, 003_people.sql,
 * 006_planning.sql, 008_notifications.sql, 009_attachments.sql,
 * 010_timesheets.sql, 011_share_links.sql, 032_portfolio_report_share.sql */
#include "ngx_kanban_users_routes.h"


static char *ngx_kanban_check_role(ngx_str_t *v, char **message);
static char *ngx_kanban_check_user_status(ngx_str_t *v, char **message);


ngx_kanban_field_t  ngx_kanban_user_create_fields[] = {
    { "email", NGX_KANBAN_FIELD_EMAIL, 1, 3, 254, NULL, NULL },
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "role", NGX_KANBAN_FIELD_STRING, 0, 0, 32, NULL,
      ngx_kanban_check_role },
    { "password", NGX_KANBAN_FIELD_STRING, 0, NGX_KANBAN_PASSWORD_MIN,
      NGX_KANBAN_PASSWORD_MAX, NULL, ngx_kanban_password_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_user_patch_fields[] = {
    { "email", NGX_KANBAN_FIELD_EMAIL,
      NGX_KANBAN_NOT_NULL, 3, 254, NULL, NULL },
    { "name", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 1, 200, NULL, NULL },
    { "role", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 0, 32, NULL,
      ngx_kanban_check_role },
    { "status", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, 0, 32, NULL,
      ngx_kanban_check_user_status },
    { "password", NGX_KANBAN_FIELD_STRING,
      NGX_KANBAN_NOT_NULL, NGX_KANBAN_PASSWORD_MIN,
      NGX_KANBAN_PASSWORD_MAX, NULL, ngx_kanban_password_check },
    { "weekly_capacity_minutes", NGX_KANBAN_FIELD_INTEGER,
      NGX_KANBAN_NOT_NULL, 0, 10080,
      NULL, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_register_fields[] = {
    { "email", NGX_KANBAN_FIELD_EMAIL, 1, 3, 254, NULL, NULL },
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "password", NGX_KANBAN_FIELD_STRING, 1, NGX_KANBAN_PASSWORD_MIN,
      NGX_KANBAN_PASSWORD_MAX, NULL, ngx_kanban_password_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_accept_invite_fields[] = {
    { "invite_token", NGX_KANBAN_FIELD_STRING, 1, 1, 128, NULL, NULL },
    { "password", NGX_KANBAN_FIELD_STRING, 1, NGX_KANBAN_PASSWORD_MIN,
      NGX_KANBAN_PASSWORD_MAX, NULL, ngx_kanban_password_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_users_list = {
    ngx_kanban_pg_stmt("users_list",
    "WITH lim AS (SELECT least(greatest(coalesce($3::int, 50), 1), 200) n),"
    "     page AS (SELECT u.* FROM users u"
    "               WHERE u.status <> 'erased' AND u.kind = 'person'"
    "                 AND ($4::uuid IS NULL OR u.id > $4::uuid)"
    "                 AND can_see_user($1::uuid, $2, u.id)"
    "               ORDER BY u.id LIMIT (SELECT n FROM lim))"
    " SELECT 200, json_build_object("
    "   'items', coalesce((SELECT json_agg(user_public(to_jsonb(p))"
    "                                      ORDER BY p.id) FROM page p),"
    "                     '[]'::json),"
    "   'next_cursor', CASE WHEN (SELECT count(*) FROM page)"
    "                            = (SELECT n FROM lim)"
    "                       THEN (SELECT id::text FROM page"
    "                              ORDER BY id DESC LIMIT 1) END)"),
    { "actor", "role", "query_limit:limit", "query_uuid:cursor", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_users_get = {
    ngx_kanban_pg_stmt("users_get",
    "SELECT 200, user_public(to_jsonb(u)), u.version FROM users u"
    " WHERE u.id = $3::uuid AND u.status <> 'erased'"
    "   AND can_see_user($1::uuid, $2, u.id)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

/* Without a password the user is invited: the one-time token is in this
 * answer and in the invitation mailed to them (queued in the outbox in
 * this transaction, sql/tenant/035), the database keeps its hash. */
ngx_kanban_sql_t  ngx_kanban_users_create = {
    ngx_kanban_pg_stmt("users_create",
    "WITH b AS (SELECT $2::jsonb j),"
    "     inv AS (SELECT replace(gen_random_uuid()::text"
    "                            || gen_random_uuid()::text, '-', '') t),"
    "     u AS (INSERT INTO users (email, name, role, status, password_hash,"
    "                              invite_hash, invite_expires_at)"
    "           SELECT j->>'email', j->>'name',"
    "                  coalesce(j->>'role', 'contributor'),"
    "                  CASE WHEN $3::text IS NULL THEN 'invited'"
    "                       ELSE 'active' END,"
    "                  $3,"
    "                  CASE WHEN $3::text IS NULL"
    "                       THEN encode(sha256(convert_to(inv.t, 'UTF8')),"
    "                                   'hex') END,"
    "                  CASE WHEN $3::text IS NULL"
    "                       THEN now() + interval '7 days' END"
    "             FROM b, inv"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT $1::uuid, 'user', u.id, 'created',"
    "                  jsonb_build_object('email', u.email, 'role', u.role)"
    "             FROM u),"
    "     m AS (SELECT mail_invitation(u.id, u.email, u.name, inv.t, $4)"
    "             FROM u, inv"
    "            WHERE u.status = 'invited')"
    " SELECT 201, user_public(to_jsonb(u))"
    "             || CASE WHEN u.status = 'invited'"
    "                     THEN jsonb_build_object('invite_token', inv.t)"
    "                     ELSE '{}' END,"
    "        '/api/v1/users/' || u.id"
    /* m is read, so that it runs: a SELECT CTE nobody reads does not */
    "   FROM u, inv, (SELECT count(*) FROM m) mailed"),
    { "actor", "body", "hash", "tenant_url", NULL },
    NULL
};

/* A merge patch: admins change anything, people their own name and email.
 * The version check is in the UPDATE's WHERE, so of two racing patches
 * with one version the second finds no row: 409. The last active admin
 * cannot demote or disable themself (409, as DELETE): the active admins
 * are locked, so two admins demoting each other at once cannot both. */
/* whose password a PATCH or an invitation's acceptance sets: their email
 * must not be in it (ngx_kanban_sql_t's owner) */
static ngx_kanban_pg_stmt_t  ngx_kanban_users_password_owner =
    ngx_kanban_pg_stmt("users_password_owner",
    "SELECT email FROM users"
    " WHERE id = $3::uuid AND status <> 'erased'"
    "   AND can_see_user($1::uuid, $2, id)");

static ngx_kanban_pg_stmt_t  ngx_kanban_users_invitee =
    ngx_kanban_pg_stmt("users_invitee",
    "SELECT email FROM users"
    " WHERE invite_hash = encode(sha256(convert_to("
    "                       $1::jsonb->>'invite_token', 'UTF8')), 'hex')"
    "   AND invite_expires_at > now() AND status = 'invited'");


ngx_kanban_sql_owned_t  ngx_kanban_users_patch = { {
    ngx_kanban_pg_stmt("users_patch",
    "WITH b AS (SELECT $4::jsonb j),"
    "     t AS (SELECT * FROM users WHERE id = $3::uuid"
    "              AND status <> 'erased'"
    "              AND can_see_user($1::uuid, $2, id)),"
    "     ok AS (SELECT $2 = 'admin'"
    "                   OR (t.id = $1::uuid AND NOT (j ? 'role'"
    "                       OR j ? 'status' OR j ? 'password'"
    "                       OR j ? 'weekly_capacity_minutes')) AS yes"
    "              FROM t, b),"
    "     adm AS (SELECT id FROM users"
    "              WHERE role = 'admin' AND status = 'active' FOR UPDATE),"
    "     last AS (SELECT coalesce(bool_or(t.role = 'admin'"
    "                     AND t.status = 'active'"
    "                     AND (coalesce(j->>'role', 'admin') <> 'admin'"
    "                          OR coalesce(j->>'status', 'active')"
    "                             <> 'active')"
    "                     AND NOT EXISTS (SELECT 1 FROM adm"
    "                                      WHERE adm.id <> t.id)), false)"
    "                     AS yes"
    "               FROM t, b),"
    "     u AS (UPDATE users x"
    "              SET email = coalesce(j->>'email', x.email),"
    "                  name = coalesce(j->>'name', x.name),"
    "                  role = coalesce(j->>'role', x.role),"
    "                  status = coalesce(j->>'status', x.status),"
    "                  password_hash = coalesce($5, x.password_hash),"
    "                  weekly_capacity_minutes = coalesce("
    "                      (j->>'weekly_capacity_minutes')::int,"
    "                      x.weekly_capacity_minutes),"
    "                  version = x.version + 1, updated_at = now()"
    "             FROM b, t"
    "            WHERE x.id = t.id AND x.version = t.version"
    "              AND ($6::int IS NULL OR $6::int = x.version)"
    "              AND (SELECT yes FROM ok) AND NOT (SELECT yes FROM last)"
    "           RETURNING x.*),"
    "     r AS (UPDATE refresh_tokens SET revoked_at = now()"
    "            WHERE user_id IN (SELECT id FROM u"
    "                               WHERE status = 'disabled'"
    "                                  OR $5::text IS NOT NULL"
    "                                  OR role <> (SELECT role FROM t))"
    "              AND revoked_at IS NULL),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, old_values, new_values)"
    "           SELECT $1::uuid, 'user', u.id, 'updated',"
    "                  (SELECT to_jsonb(t) - 'password_hash' - 'invite_hash'"
    "                     FROM t),"
    "                  to_jsonb(u) - 'password_hash' - 'invite_hash'"
    "             FROM u"
    "           RETURNING id),"
    "     s AS (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 404"
    "                       WHEN NOT (SELECT yes FROM ok) THEN 403"
    "                       WHEN (SELECT yes FROM last) THEN 4090"
    "                       WHEN NOT EXISTS (SELECT 1 FROM u) THEN 409"
    "                       ELSE 200 END AS code)"
    " SELECT least(s.code, 409),"
    "        CASE s.code WHEN 200 THEN (SELECT user_public(to_jsonb(u))::text"
    "                                     FROM u)"
    "                    WHEN 404 THEN 'not_found'"
    "                    WHEN 403 THEN 'forbidden'"
    "                    WHEN 4090 THEN 'conflict'"
    "                    ELSE 'version_conflict' END,"
    "        CASE s.code WHEN 200 THEN (SELECT version::text FROM u)"
    "                    WHEN 403 THEN 'Only an admin changes this.'"
    "                    WHEN 4090 THEN 'A workspace keeps at least one "
    "active admin.'"
    "                    WHEN 409 THEN 'The user was changed meanwhile.'"
    "        END,"
    "        (SELECT id FROM a)"
    "   FROM s"),
    { "actor", "role", "uuid:id", "body", "hash", "version", NULL },
    "user.updated"      /* a hint to the feeds: a new role or status ends
                           the person's API-token streams (031) */
    },
    &ngx_kanban_users_password_owner,
    { "actor", "role", "uuid:id", NULL }
};

/* DELETE disables (an admin cannot lock themselves out); ?erase=true
 * erases the person: no name, email, password, teams, skills or sessions
 * remain, and their audit rows lose the values that named them. Their
 * tasks and comments stay, by "Deleted user". */
ngx_kanban_sql_t  ngx_kanban_users_delete = {
    ngx_kanban_pg_stmt("users_delete",
    "WITH t AS (SELECT * FROM users WHERE id = $2::uuid"
    "              AND status <> 'erased'),"
    "     e AS (SELECT coalesce($3, '') IN ('true', '1') AS erase),"
    "     u AS (UPDATE users x"
    "              SET status = CASE WHEN e.erase THEN 'erased'"
    "                                ELSE 'disabled' END,"
    "                  email = CASE WHEN e.erase"
    "                               THEN 'erased-' || x.id || '@deleted.invalid'"
    "                               ELSE x.email END,"
    "                  name = CASE WHEN e.erase THEN 'Deleted user'"
    "                              ELSE x.name END,"
    "                  password_hash = CASE WHEN e.erase THEN NULL"
    "                                       ELSE x.password_hash END,"
    "                  invite_hash = NULL, invite_expires_at = NULL,"
    "                  version = x.version + 1, updated_at = now()"
    "             FROM t, e WHERE x.id = t.id AND x.id <> $1::uuid"
    "           RETURNING x.id, e.erase),"
    "     r AS (UPDATE refresh_tokens SET revoked_at = now()"
    "            WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL),"
    "     tm AS (DELETE FROM team_members WHERE user_id IN"
    "              (SELECT id FROM u WHERE erase)),"
    "     us AS (DELETE FROM user_skills WHERE user_id IN"
    "              (SELECT id FROM u WHERE erase)),"
    "     rt AS (DELETE FROM refresh_tokens WHERE user_id IN"
    "              (SELECT id FROM u WHERE erase)),"
    "     al AS (UPDATE activity_log SET old_values = NULL, new_values = NULL"
    "             WHERE entity_type = 'user'"
    "               AND entity_id IN (SELECT id FROM u WHERE erase)),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action)"
    "           SELECT $1::uuid, 'user', u.id,"
    "                  CASE WHEN u.erase THEN 'erased' ELSE 'disabled' END"
    "             FROM u"
    "           RETURNING id)"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 404"
    "             WHEN NOT EXISTS (SELECT 1 FROM u) THEN 409"
    "             ELSE 204 END,"
    "        CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'not_found'"
    "             WHEN NOT EXISTS (SELECT 1 FROM u) THEN 'conflict' END,"
    "        CASE WHEN EXISTS (SELECT 1 FROM t)"
    "              AND NOT EXISTS (SELECT 1 FROM u)"
    "             THEN 'An admin cannot disable or erase themselves.' END,"
    "        (SELECT id FROM a)"),
    { "actor", "uuid:id", "query_enum:erase=true|false", NULL },
    "user.disabled"     /* a hint to the feeds, as user.updated */
};

/* GDPR: everything about the person, for them or an admin. */
ngx_kanban_sql_t  ngx_kanban_users_export = {
    ngx_kanban_pg_stmt("users_export",
    "SELECT 200, json_build_object("
    "  'exported_at', now(),"
    "  'user', user_public(to_jsonb(u)),"
    "  'teams', coalesce((SELECT json_agg(json_build_object('id', t.id,"
    "                             'name', t.name) ORDER BY t.name)"
    "                       FROM team_members tm"
    "                       JOIN teams t ON t.id = tm.team_id"
    "                      WHERE tm.user_id = u.id), '[]'),"
    "  'skills', coalesce((SELECT json_agg(json_build_object("
    "                              'id', s.id, 'name', s.name,"
    "                              'level', us.level) ORDER BY s.name)"
    "                        FROM user_skills us"
    "                        JOIN skills s ON s.id = us.skill_id"
    "                       WHERE us.user_id = u.id), '[]'),"
    "  'sessions', coalesce((SELECT json_agg(json_build_object("
    "                              'created_at', rt.created_at,"
    "                              'expires_at', rt.expires_at,"
    "                              'revoked_at', rt.revoked_at)"
    "                              ORDER BY rt.created_at)"
    "                          FROM refresh_tokens rt"
    "                         WHERE rt.user_id = u.id), '[]'),"
    "  'activity', coalesce((SELECT json_agg(json_build_object("
    "                              'id', al.id, 'entity_type', al.entity_type,"
    "                              'entity_id', al.entity_id,"
    "                              'action', al.action,"
    "                              'old_values', al.old_values,"
    "                              'new_values', al.new_values,"
    "                              'created_at', al.created_at)"
    "                              ORDER BY al.id)"
    "                          FROM activity_log al"
    "                         WHERE al.actor_id = u.id"
    "                            OR (al.entity_type = 'user'"
    "                                AND al.entity_id = u.id)), '[]'),"
    "  'comments', coalesce((SELECT json_agg(to_jsonb(c) ORDER BY c.id)"
    "                          FROM comments c"
    "                         WHERE c.author_id = u.id), '[]'),"
    "  'time_entries', coalesce((SELECT json_agg(to_jsonb(e)"
    "                                  ORDER BY e.date, e.id)"
    "                              FROM time_entries e"
    "                             WHERE e.user_id = u.id), '[]'),"
    "  'timesheets', coalesce((SELECT json_agg(json_build_object("
    "                              'week', iso_week(w.week_start),"
    "                              'status', w.status, 'reason', w.reason,"
    "                              'submitted_at', w.submitted_at,"
    "                              'decided_at', w.decided_at)"
    "                              ORDER BY w.week_start)"
    "                            FROM timesheet_weeks w"
    "                           WHERE w.user_id = u.id), '[]'),"
    "  'notifications', coalesce((SELECT json_agg(notification_json(n)"
    "                                   ORDER BY n.created_at)"
    "                               FROM notifications n"
    "                              WHERE n.user_id = u.id), '[]'),"
    "  'share_links', coalesce((SELECT json_agg(share_link_json(l, $4)"
    "                                 ORDER BY l.created_at)"
    "                             FROM share_links l"
    "                            WHERE l.created_by = u.id), '[]'),"
    "  'attachments', coalesce((SELECT json_agg(json_build_object("
    "                                 'id', a.id, 'task_id', a.task_id,"
    "                                 'filename', a.filename,"
    "                                 'content_type', a.content_type,"
    "                                 'size', a.size,"
    "                                 'created_at', a.created_at)"
    "                                 ORDER BY a.created_at)"
    "                             FROM attachments a"
    "                            WHERE a.uploaded_by = u.id), '[]'),"
    /* chat: the person's messages, in channels the one asking may see */
    "  'chat_messages', chat_export(u.id, $1::uuid))"
    "  FROM users u"
    " WHERE u.id = $3::uuid AND u.status <> 'erased'"
    "   AND ($2 = 'admin' OR u.id = $1::uuid)"),
    { "actor", "role", "uuid:id", "var:kanban_share_base", NULL },
    NULL
};

/* Open registration, when the workspace allows it (default: invite only). */
ngx_kanban_sql_t  ngx_kanban_users_register = {
    ngx_kanban_pg_stmt("users_register",
    "WITH open AS (SELECT coalesce((SELECT value = 'true'::jsonb"
    "                                 FROM settings"
    "                                WHERE key = 'open_registration'),"
    "                               false) AS yes),"
    "     b AS (SELECT $1::jsonb j),"
    "     u AS (INSERT INTO users (email, name, role, password_hash)"
    "           SELECT j->>'email', j->>'name', 'contributor', $2"
    "             FROM b, open WHERE open.yes"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, new_values)"
    "           SELECT u.id, 'user', u.id, 'registered',"
    "                  jsonb_build_object('email', u.email) FROM u)"
    " SELECT CASE WHEN (SELECT yes FROM open) THEN 201 ELSE 403 END,"
    "        CASE WHEN (SELECT yes FROM open)"
    "             THEN (SELECT user_public(to_jsonb(u))::text FROM u)"
    "             ELSE 'forbidden' END,"
    "        CASE WHEN (SELECT yes FROM open)"
    "             THEN (SELECT '/api/v1/users/' || id FROM u)"
    "             ELSE 'This workspace is by invitation only.' END"),
    { "body", "hash", NULL },
    NULL
};

ngx_kanban_sql_owned_t  ngx_kanban_users_accept_invite = { {
    ngx_kanban_pg_stmt("users_accept_invite",
    "WITH u AS (UPDATE users SET status = 'active', password_hash = $2,"
    "                  invite_hash = NULL, invite_expires_at = NULL,"
    "                  version = version + 1, updated_at = now()"
    "            WHERE invite_hash = encode(sha256(convert_to("
    "                                  $1::jsonb->>'invite_token', 'UTF8')),"
    "                                  'hex')"
    "              AND invite_expires_at > now() AND status = 'invited'"
    "           RETURNING *),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action)"
    "           SELECT u.id, 'user', u.id, 'invite_accepted' FROM u)"
    " SELECT 200, user_public(to_jsonb(u)) FROM u"),
    { "body", "hash", NULL },
    NULL
    },
    &ngx_kanban_users_invitee,
    { "body", NULL, NULL, NULL }
};


static char *
ngx_kanban_check_role(ngx_str_t *v, char **message)
{
    if ((v->len == 5 && ngx_strncmp(v->data, "admin", 5) == 0)
        || (v->len == 15 && ngx_strncmp(v->data, "project_manager", 15) == 0)
        || (v->len == 11 && ngx_strncmp(v->data, "contributor", 11) == 0))
    {
        return NULL;
    }

    *message = "One of admin, project_manager, contributor.";
    return "invalid_value";
}


static char *
ngx_kanban_check_user_status(ngx_str_t *v, char **message)
{
    if ((v->len == 6 && ngx_strncmp(v->data, "active", 6) == 0)
        || (v->len == 8 && ngx_strncmp(v->data, "disabled", 8) == 0))
    {
        return NULL;
    }

    *message = "One of active, disabled.";
    return "invalid_value";
}
