
/*
 * Absences: /api/v1/absences[/{id}/approve|reject|cancel]. A person
 * requests their own (vacation, sick, other; not overlapping another); an
 * admin or a project manager of one of their teams approves or rejects it
 * (with a reason), as with a week's timesheet, never their own; the person
 * or an admin cancels it. An approved absence makes its days' target 0,
 * half of it for a half day (one day only). The decision is notified to
 * the person, and mailed (097_absences_imports_times.sql).
 */

/* SQL: sql/tenant/077_working_time.sql, 097_absences_imports_times.sql */
#include "ngx_kanban_worktime_routes.h"


ngx_kanban_field_t  ngx_kanban_absence_fields[] = {
    { "kind", NGX_KANBAN_FIELD_STRING, 1, 1, 20, NULL, NULL },
    { "start_date", NGX_KANBAN_FIELD_DATE, 1, 0, 0, NULL, NULL },
    { "end_date", NGX_KANBAN_FIELD_DATE, 1, 0, 0, NULL, NULL },
    { "note", NGX_KANBAN_FIELD_STRING, 0, 0, 500, NULL, NULL },
    { "half_day", NGX_KANBAN_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_absence_reject_fields[] = {
    { "reason", NGX_KANBAN_FIELD_STRING, 1, 1, 500, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_absences_list = {
    ngx_kanban_pg_stmt("absences_list",
    "SELECT * FROM absences_list($1::uuid, $2, $3::uuid, $4, $5::date,"
    "                            $6::date)"),
    { "actor", "role", "query_uuid:user_id", "query:status",
      "query_date:from", "query_date:to", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_absence_request = {
    ngx_kanban_pg_stmt("absence_request",
    "SELECT * FROM absence_request($1::uuid, $2::jsonb)"),
    { "actor", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_absence_approve = {
    ngx_kanban_pg_stmt("absence_approve",
    "SELECT * FROM absence_change($1::uuid, $2, $3::uuid, NULL, 'approve')"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_absence_reject = {
    ngx_kanban_pg_stmt("absence_reject",
    "SELECT * FROM absence_change($1::uuid, $2, $3::uuid, $4::jsonb,"
    "                             'reject')"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_absence_cancel = {
    ngx_kanban_pg_stmt("absence_cancel",
    "SELECT * FROM absence_change($1::uuid, $2, $3::uuid, NULL, 'cancel')"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};
