
/*
 * GET /api/v1/platform/audit: the platform audit log, newest first: who
 * (the operator), what (the action and its details), to which workspace,
 * when and from where; filtered by workspace and action, in cursor pages
 * (the last row's id).
 */

/* SQL: sql/catalog/008_operators.sql */
#include "ngx_kanban_platform.h"


ngx_kanban_sql_t  ngx_kanban_platform_audit_list = {
    ngx_kanban_pg_stmt("platform_audit_list",
    "WITH a AS (SELECT * FROM platform_audit"
    "            WHERE ($1::text IS NULL OR workspace = $1)"
    "              AND ($2::text IS NULL OR action = $2)"
    "              AND ($3::bigint IS NULL OR id < $3::bigint)"
    "            ORDER BY id DESC LIMIT coalesce($4::int, 50) + 1),"
    "     n AS (SELECT a.*, row_number() OVER (ORDER BY id DESC) AS n"
    "             FROM a)"
    " SELECT 200, json_build_object("
    "   'items', coalesce((SELECT json_agg(json_build_object("
    "                'id', n.id::text,"
    "                'operator', json_build_object('id', n.operator_id,"
    "                                              'email', n.operator_email),"
    "                'action', n.action, 'workspace', n.workspace,"
    "                'details', n.details, 'address', host(n.address),"
    "                'at', n.at) ORDER BY n.id DESC)"
    "                FROM n WHERE n.n <= coalesce($4::int, 50)),"
    "                '[]'::json),"
    "   'next_cursor', (SELECT n.id::text FROM n"
    "                    WHERE n.n = coalesce($4::int, 50)"
    "                      AND EXISTS (SELECT 1 FROM n n2"
    "                                   WHERE n2.n > coalesce($4::int, 50))))"),
    { "query:workspace", "query:action", "query_int:cursor",
      "query_limit:limit", NULL },
    NULL
};
