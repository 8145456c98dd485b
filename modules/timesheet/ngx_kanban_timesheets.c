
/*
 * The weekly sheet: /api/v1/timesheets/weekly[/submit|/approve|/reject].
 * A week (ISO, "2026-W47") is draft until its owner submits it; an admin
 * or a project manager of one of the owner's teams then approves or
 * rejects it (with a reason); a rejected week is editable again and is
 * submitted anew. Nobody decides on their own week, admins included.
 * The entries of a submitted or approved week are locked.
 *
 * Submitting and approving publish timesheet.submitted and
 * timesheet.approved after commit; every step has its audit row.
 */

/* SQL: sql/tenant/001_users.sql, 002_auth.sql, 010_timesheets.sql,
 * 015_workspace_calendar.sql */
#include "ngx_kanban_timesheet_routes.h"


static char *ngx_kanban_check_iso_week(ngx_str_t *v, char **message);
static ngx_uint_t ngx_kanban_iso_long_year(ngx_int_t year);


ngx_kanban_field_t  ngx_kanban_week_submit_fields[] = {
    { "week", NGX_KANBAN_FIELD_STRING, 1, 8, 8, NULL,
      ngx_kanban_check_iso_week },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_week_approve_fields[] = {
    { "user_id", NGX_KANBAN_FIELD_UUID, 1, 0, 0, NULL, NULL },
    { "week", NGX_KANBAN_FIELD_STRING, 1, 8, 8, NULL,
      ngx_kanban_check_iso_week },
    { "reason", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_week_reject_fields[] = {
    { "user_id", NGX_KANBAN_FIELD_UUID, 1, 0, 0, NULL, NULL },
    { "week", NGX_KANBAN_FIELD_STRING, 1, 8, 8, NULL,
      ngx_kanban_check_iso_week },
    { "reason", NGX_KANBAN_FIELD_STRING, 1, 1, 2000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


/* ?week= defaults to this week, ?user_id= to the caller */
ngx_kanban_sql_t  ngx_kanban_week_get = {
    ngx_kanban_pg_stmt("timesheet_week_get",
    "SELECT * FROM timesheet_week_get($1::uuid, $2, $3, $4::uuid)"),
    { "actor", "role", "query:week", "query_uuid:user_id", NULL },
    NULL
};

/* The weeks a caller decides on (or their own): ?status= submitted by
 * default (a manager's queue), approved or rejected; ?team_id=; pages of
 * ?limit= in week order, ?cursor= the last item's "week_start/user_id". */
ngx_kanban_sql_t  ngx_kanban_weeks_list = {
    ngx_kanban_pg_stmt("timesheet_weeks_list",
    "WITH q AS (SELECT coalesce($3, 'submitted') AS status,"
    "                  least(greatest(coalesce($4::int, 50), 1), 200) AS n,"
    "                  CASE WHEN $6 ~ '^\\d{4}-\\d\\d-\\d\\d/[0-9a-f-]{36}$'"
    "                       THEN split_part($6, '/', 1) END AS after_week,"
    "                  CASE WHEN $6 ~ '^\\d{4}-\\d\\d-\\d\\d/[0-9a-f-]{36}$'"
    "                       THEN split_part($6, '/', 2) END AS after_user),"
    "     page AS (SELECT w.*, u.name"
    "                FROM timesheet_weeks w JOIN users u ON u.id = w.user_id,"
    "                     q"
    "               WHERE w.status = q.status"
    "                 AND ($2 = 'admin' OR w.user_id = $1::uuid"
    "                      OR manages_user($1::uuid, $2, w.user_id))"
    "                 AND ($5::uuid IS NULL OR EXISTS ("
    "                        SELECT 1 FROM team_members tm"
    "                         WHERE tm.team_id = $5::uuid"
    "                           AND tm.user_id = w.user_id))"
    "                 AND ($6 IS NULL"
    "                      OR (w.week_start, w.user_id)"
    "                         > (q.after_week::date, q.after_user::uuid))"
    "               ORDER BY w.week_start, w.user_id"
    "               LIMIT (SELECT n FROM q))"
    " SELECT CASE WHEN q.status NOT IN ('submitted', 'approved', 'rejected')"
    "               OR ($6 IS NOT NULL AND q.after_week IS NULL)"
    "             THEN 400 ELSE 200 END,"
    "        CASE WHEN q.status NOT IN ('submitted', 'approved', 'rejected')"
    "               OR ($6 IS NOT NULL AND q.after_week IS NULL)"
    "             THEN 'bad_request'"
    "             ELSE json_build_object("
    "          'items', coalesce((SELECT json_agg(json_build_object("
    "              'user', json_build_object('id', p.user_id,"
    "                                        'name', p.name),"
    "              'week', iso_week(p.week_start),"
    "              'status', p.status,"
    "              'total_minutes', (SELECT coalesce(sum(e.minutes), 0)"
    "                                  FROM time_entries e"
    "                                 WHERE e.user_id = p.user_id"
    "                                   AND e.date BETWEEN p.week_start"
    "                                                  AND p.week_start + 6),"
    "              'submitted_at', p.submitted_at,"
    "              'decided_at', p.decided_at,"
    "              'reason', p.reason)"
    "              ORDER BY p.week_start, p.user_id) FROM page p), '[]'),"
    "          'next_cursor', CASE WHEN (SELECT count(*) FROM page) = q.n"
    "                              THEN (SELECT p.week_start || '/'"
    "                                           || p.user_id FROM page p"
    "                                     ORDER BY p.week_start DESC,"
    "                                              p.user_id DESC LIMIT 1)"
    "                         END)::text END"
    "   FROM q"),
    { "actor", "role", "query_enum:status=submitted|approved|rejected",
      "query_limit:limit",
      "query_uuid:team_id", "query:cursor", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_week_submit = {
    ngx_kanban_pg_stmt("timesheet_week_submit",
    "SELECT * FROM timesheet_week_change($1::uuid, $2, $3::jsonb,"
    "                                    'submit')"),
    { "actor", "role", "body", NULL },
    "timesheet.submitted"
};

ngx_kanban_sql_t  ngx_kanban_week_approve = {
    ngx_kanban_pg_stmt("timesheet_week_approve",
    "SELECT * FROM timesheet_week_change($1::uuid, $2, $3::jsonb,"
    "                                    'approve')"),
    { "actor", "role", "body", NULL },
    "timesheet.approved"
};

/* API.md names no event for a rejection: its audit row is all */
ngx_kanban_sql_t  ngx_kanban_week_reject = {
    ngx_kanban_pg_stmt("timesheet_week_reject",
    "SELECT * FROM timesheet_week_change($1::uuid, $2, $3::jsonb,"
    "                                    'reject')"),
    { "actor", "role", "body", NULL },
    NULL
};


/* "YYYY-Www": weeks 01 to 52, and 53 in the years that have it */

static char *
ngx_kanban_check_iso_week(ngx_str_t *v, char **message)
{
    u_char     *p;
    ngx_int_t   year, week;

    p = v->data;

    *message = "An ISO week such as 2026-W47.";

    if (v->len != 8 || p[4] != '-' || p[5] != 'W') {
        return "invalid_format";
    }

    year = ngx_atoi(p, 4);
    week = ngx_atoi(p + 6, 2);

    if (year == NGX_ERROR || year < 1 || week == NGX_ERROR) {
        return "invalid_format";
    }

    if (week < 1 || week > 53
        || (week == 53 && !ngx_kanban_iso_long_year(year)))
    {
        *message = "The year has no such ISO week.";
        return "invalid_value";
    }

    return NULL;
}


/* A year has 53 ISO weeks when it starts on a Thursday, or on a
 * Wednesday in a leap year: when the year's last day or the last day of
 * the year before falls right (day of week of 31 December, 0 Sunday). */

static ngx_uint_t
ngx_kanban_iso_long_year(ngx_int_t year)
{
    ngx_int_t  dec31, before;

    dec31 = (year + year / 4 - year / 100 + year / 400) % 7;
    year--;
    before = (year + year / 4 - year / 100 + year / 400) % 7;

    return dec31 == 4 || before == 3;
}
