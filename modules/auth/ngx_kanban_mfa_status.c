
/*
 * Two-factor sign-in seen from outside the sign-in: GET /api/v1/me/mfa,
 * a person's own state; DELETE /api/v1/users/{id}/mfa, an admin's reset
 * for a member who lost the authenticator and the recovery codes (the
 * audit log keeps who did it; the member's half-done sign-ins end too).
 */

/* SQL: sql/tenant/001_users.sql, 044_mfa.sql */
#include "ngx_kanban_auth_routes.h"


ngx_kanban_sql_t  ngx_kanban_mfa_status = {
    ngx_kanban_pg_stmt("mfa_status",
    "SELECT 200, json_build_object("
    "    'totp', CASE WHEN m.enabled_at IS NOT NULL THEN 'on'"
    "                 WHEN m.user_id IS NOT NULL THEN 'pending'"
    "                 ELSE 'off' END,"
    "    'enabled_at', m.enabled_at,"
    "    'recovery_codes_left',"
    "        CASE WHEN m.enabled_at IS NULL THEN 0 ELSE"
    "        (SELECT count(*) FROM mfa_recovery_codes r"
    "          WHERE r.user_id = u.id AND r.used_at IS NULL) END)"
    "  FROM users u LEFT JOIN user_mfa m ON m.user_id = u.id"
    " WHERE u.id = $1::uuid"),
    { "actor", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_mfa_reset = {
    ngx_kanban_pg_stmt("mfa_reset",
    "WITH u AS (SELECT id FROM users WHERE id = $2::uuid),"
    "     m AS (DELETE FROM user_mfa WHERE user_id = $2::uuid"
    "           RETURNING user_id, enabled_at IS NOT NULL AS was_on),"
    "     r AS (DELETE FROM mfa_recovery_codes WHERE user_id = $2::uuid),"
    "     c AS (DELETE FROM mfa_challenges WHERE user_id = $2::uuid),"
    "     a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                     action, old_values)"
    "           SELECT $1::uuid, 'user', m.user_id, 'mfa_reset',"
    "                  jsonb_build_object('totp', CASE WHEN m.was_on"
    "                                     THEN 'on' ELSE 'pending' END)"
    "             FROM m"
    "           RETURNING id)"
    " SELECT 204, NULL, NULL, (SELECT id FROM a) FROM u"),
    { "actor", "uuid:id", NULL },
    NULL
};
