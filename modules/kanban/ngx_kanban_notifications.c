
/*
 * A person's notifications: /api/v1/notifications,
 * /api/v1/notifications/{id}/read, /api/v1/notifications/read-all.
 * Everyone sees and marks only their own: another person's id is 404,
 * as one that does not exist. The triggers of 008_notifications.sql make
 * them, in the transaction of the write that causes them.
 */

/* SQL: sql/tenant/008_notifications.sql */
#include "ngx_kanban_kanban_routes.h"


/* Newest first; pages by the last item's id (its place in the order,
 * seq), so new notifications never shift a page still to come. A cursor
 * that is not one of the caller's notifications is malformed. */
ngx_kanban_sql_t  ngx_kanban_notifications_list = {
    ngx_kanban_pg_stmt("notifications_list",
    "WITH lim AS (SELECT least(greatest(coalesce($2::int, 50), 1), 200) n),"
    "     cur AS (SELECT seq FROM notifications"
    "              WHERE id = $3::uuid AND user_id = $1::uuid),"
    "     bad AS (SELECT coalesce($4::text NOT IN ('true', 'false'), false)"
    "                    OR ($3::uuid IS NOT NULL"
    "                        AND NOT EXISTS (SELECT 1 FROM cur)) AS yes),"
    "     page AS (SELECT x FROM notifications x"
    "               WHERE x.user_id = $1::uuid"
    "                 AND ($3::uuid IS NULL OR x.seq < (SELECT seq FROM cur))"
    "                 AND ($4::text IS DISTINCT FROM 'true'"
    "                      OR x.read_at IS NULL)"
    "               ORDER BY x.seq DESC LIMIT (SELECT n FROM lim))"
    " SELECT CASE WHEN yes THEN 400 ELSE 200 END,"
    "        CASE WHEN yes THEN 'bad_request'"
    "        ELSE json_build_object("
    "          'items', coalesce((SELECT json_agg(notification_json(p.x)"
    "                                             ORDER BY (p.x).seq DESC)"
    "                               FROM page p), '[]'::json),"
    "          'unread_count', (SELECT count(*) FROM notifications"
    "                            WHERE user_id = $1::uuid"
    "                              AND read_at IS NULL),"
    "          'next_cursor', CASE WHEN (SELECT count(*) FROM page)"
    "                                   = (SELECT n FROM lim)"
    "                              THEN (SELECT (p.x).id::text FROM page p"
    "                                     ORDER BY (p.x).seq LIMIT 1)"
    "                         END)::text END,"
    "        CASE WHEN yes"
    "        THEN 'unread is true or false; cursor, a next_cursor.' END"
    "   FROM bad"),
    { "actor", "query_limit:limit", "query_uuid:cursor",
      "query_enum:unread=true|false", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_notifications_read = {
    ngx_kanban_pg_stmt("notifications_read",
    "SELECT * FROM notification_read($1::uuid, $2::uuid)"),
    { "actor", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_notifications_read_all = {
    ngx_kanban_pg_stmt("notifications_read_all",
    "WITH r AS (UPDATE notifications SET read_at = now()"
    "            WHERE user_id = $1::uuid AND read_at IS NULL)"
    " SELECT 204, NULL::text"),
    { "actor", NULL },
    NULL
};
