
/*
 * The workspace's two-factor policy, /api/v1/auth/mfa-policy (admins):
 * {"required": "off" | "admins" | "everyone"}. Whom it covers and who has
 * not enrolled yet is one function of the database (mfa_policy_covers,
 * sql/tenant/050_mfa_policy.sql); the sign-in asks it. An admin turns it
 * on only with their own authenticator on (409 otherwise), so that the
 * one who sets it can never be the one it locks out.
 */

/* SQL: sql/tenant/001_users.sql, 044_mfa.sql, 050_mfa_policy.sql */
#include "ngx_kanban_mfa.h"
#include "ngx_kanban_auth_routes.h"


static char *ngx_kanban_mfa_policy_check(ngx_str_t *value, char **message);


ngx_kanban_field_t  ngx_kanban_mfa_policy_fields[] = {
    { "required", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 1, 8, NULL,
      ngx_kanban_mfa_policy_check },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_mfa_policy_get = {
    ngx_kanban_pg_stmt("mfa_policy_get",
    "SELECT 200, json_build_object('required', mfa_policy())"),
    { NULL },
    NULL
};

/* $1 the admin, $2 the body */
ngx_kanban_sql_t  ngx_kanban_mfa_policy_put = {
    ngx_kanban_pg_stmt("mfa_policy_put",
    "WITH b AS (SELECT $2::jsonb->>'required' AS req),"
    "     ok AS (SELECT b.req = 'off'"
    "                   OR EXISTS (SELECT 1 FROM user_mfa m"
    "                               WHERE m.user_id = $1::uuid"
    "                                 AND m.enabled_at IS NOT NULL) AS yes"
    "              FROM b),"
    "     s AS (INSERT INTO settings (key, value, updated_at)"
    "           SELECT 'mfa_required', to_jsonb(b.req), now()"
    "             FROM b, ok WHERE ok.yes"
    "           ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
    "                                        updated_at = excluded.updated_at"
    "           RETURNING value),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, action,"
    "                                     new_values)"
    "           SELECT $1::uuid, 'workspace', 'mfa_policy',"
    "                  jsonb_build_object('required', s.value) FROM s)"
    " SELECT CASE WHEN ok.yes THEN 200 ELSE 409 END,"
    "        CASE WHEN ok.yes"
    "             THEN json_build_object('required', b.req)::text"
    "             ELSE 'conflict' END,"
    "        CASE WHEN ok.yes THEN NULL"
    "             ELSE 'Turn on two-factor sign-in for yourself first "
    "(POST /api/v1/me/mfa/totp), so that this policy cannot lock you "
    "out.' END"
    "   FROM b, ok"),
    { "actor", "body", NULL },
    NULL
};


static char *
ngx_kanban_mfa_policy_check(ngx_str_t *value, char **message)
{
    if ((value->len == 3 && ngx_strncmp(value->data, "off", 3) == 0)
        || (value->len == 6 && ngx_strncmp(value->data, "admins", 6) == 0)
        || (value->len == 8 && ngx_strncmp(value->data, "everyone", 8) == 0))
    {
        return NULL;
    }

    *message = "One of off, admins, everyone.";
    return "invalid_value";
}
