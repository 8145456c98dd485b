
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

#include "ngx_kanban_routes.h"


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
