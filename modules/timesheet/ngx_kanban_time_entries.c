
/*
 * Time entries: /api/v1/timesheets/entries[/{id}]. People log their own
 * time; admins change anyone's. A day's total per person is at most 24
 * hours, and the entries of a submitted or approved week are locked (409
 * locked): both are checked in time_entry_write under the owner's lock,
 * so parallel writes cannot pass them together. An entry's minutes are
 * worked time; break_minutes, the breaks taken beside them (077).
 *
 * Reading: admins everyone's, project managers their teams' people's,
 * everyone their own (can_see_user). Changing another's entry is 403 for
 * a manager who sees them, 404 for anyone else.
 */

/* SQL: sql/tenant/003_people.sql, 010_timesheets.sql, 077_working_time.sql */
#include "ngx_kanban_timesheet_routes.h"


ngx_kanban_field_t  ngx_kanban_time_entry_fields[] = {
    { "task_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "project_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "date", NGX_KANBAN_FIELD_DATE, 1, 0, 0, NULL, NULL },
    { "minutes", NGX_KANBAN_FIELD_INTEGER, 1, 1, 1440, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL, NULL },
    { "billable", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { "started_at", NGX_KANBAN_FIELD_STRING, 0, 1, 40, NULL, NULL },
    { "ended_at", NGX_KANBAN_FIELD_STRING, 0, 1, 40, NULL, NULL },
    { "break_minutes", NGX_KANBAN_FIELD_INTEGER, 0, 0, 1440, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_time_entry_patch_fields[] = {
    { "task_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "project_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "date", NGX_KANBAN_FIELD_DATE,
      NGX_KANBAN_NOT_NULL, 0, 0, NULL, NULL },
    { "minutes", NGX_KANBAN_FIELD_INTEGER,
      NGX_KANBAN_NOT_NULL, 1, 1440, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL, NULL },
    { "billable", NGX_KANBAN_FIELD_BOOLEAN,
      NGX_KANBAN_NOT_NULL, 0, 0, NULL, NULL },
    { "started_at", NGX_KANBAN_FIELD_STRING, 0, 1, 40, NULL, NULL },
    { "ended_at", NGX_KANBAN_FIELD_STRING, 0, 1, 40, NULL, NULL },
    { "break_minutes", NGX_KANBAN_FIELD_INTEGER,
      NGX_KANBAN_NOT_NULL, 0, 1440, NULL, NULL },
    { "version", NGX_KANBAN_FIELD_INTEGER, 0, 1, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* Newest first; the cursor is the last item's "date_id". A user_id the
 * caller may not read is 403, whether or not it exists. */
ngx_kanban_sql_t  ngx_kanban_time_entries_list = {
    ngx_kanban_pg_stmt("time_entries_list",
    "WITH lim AS (SELECT least(greatest(coalesce($8::int, 50), 1), 200) n),"
    "     ok AS (SELECT $5::uuid IS NULL"
    "                   OR can_see_user($1::uuid, $2, $5::uuid) AS yes),"
    "     cur AS (SELECT split_part($9::text, '_', 1)::date AS d,"
    "                    split_part($9::text, '_', 2)::uuid AS id"
    "              WHERE $9::text IS NOT NULL),"
    "     page AS (SELECT e.* FROM time_entries e"
    "               WHERE (SELECT yes FROM ok)"
    "                 AND can_see_user($1::uuid, $2, e.user_id)"
    "                 AND ($3::date IS NULL OR e.date >= $3::date)"
    "                 AND ($4::date IS NULL OR e.date <= $4::date)"
    "                 AND ($5::uuid IS NULL OR e.user_id = $5::uuid)"
    "                 AND ($6::uuid IS NULL OR e.project_id = $6::uuid)"
    "                 AND ($7::uuid IS NULL OR e.task_id = $7::uuid)"
    "                 AND (NOT EXISTS (SELECT 1 FROM cur)"
    "                      OR (e.date, e.id) < ((SELECT d FROM cur),"
    "                                           (SELECT id FROM cur)))"
    "               ORDER BY e.date DESC, e.id DESC"
    "               LIMIT (SELECT n FROM lim))"
    " SELECT CASE WHEN ok.yes THEN 200 ELSE 403 END,"
    "        CASE WHEN ok.yes THEN json_build_object("
    "            'items', coalesce((SELECT json_agg(to_jsonb(p)"
    "                                   ORDER BY p.date DESC, p.id DESC)"
    "                                 FROM page p), '[]'::json),"
    "            'next_cursor',"
    "            CASE WHEN (SELECT count(*) FROM page) = (SELECT n FROM lim)"
    "                 THEN (SELECT p.date || '_' || p.id FROM page p"
    "                        ORDER BY p.date, p.id LIMIT 1) END)::text"
    "             ELSE 'forbidden' END,"
    "        CASE WHEN NOT ok.yes"
    "             THEN 'You may not read this person''s time.' END"
    "   FROM ok"),
    { "actor", "role", "query_date:from", "query_date:to",
      "query_uuid:user_id", "query_uuid:project_id", "query_uuid:task_id",
      "query_limit:limit", "query:cursor", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_time_entries_get = {
    ngx_kanban_pg_stmt("time_entries_get",
    "SELECT 200, to_jsonb(e), e.version FROM time_entries e"
    " WHERE e.id = $3::uuid AND can_see_user($1::uuid, $2, e.user_id)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_time_entries_create = {
    ngx_kanban_pg_stmt("time_entries_create",
    "SELECT * FROM time_entry_write($1::uuid, $2, NULL, $3::jsonb, NULL,"
    "                               false)"),
    { "actor", "role", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_time_entries_patch = {
    ngx_kanban_pg_stmt("time_entries_patch",
    "SELECT * FROM time_entry_write($1::uuid, $2, $3::uuid, $4::jsonb,"
    "                               $5::int, false)"),
    { "actor", "role", "uuid:id", "body", "version", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_time_entries_delete = {
    ngx_kanban_pg_stmt("time_entries_delete",
    "SELECT * FROM time_entry_write($1::uuid, $2, $3::uuid, NULL, NULL,"
    "                               true)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};
