
/*
 * Productivity and utilisation: /api/v1/timesheets/productivity/me,
 * /productivity/team/{id}, /reports/utilization. Periods are ?from&to
 * (dates, both included; by default the 30 days up to today, at most 366).
 *
 * Productivity: tasks_completed are the tasks assigned to the person
 * whose completed_at (UTC date) is in the period; on_time_rate is the
 * share of those with a due date that were completed on or before it
 * (null when none has one); utilization_rate is minutes logged over
 * capacity, capped at 1; score = 0.4 * completed / the best count among
 * their peers (a team's members; for /me everyone sharing a team with
 * them) + 0.3 * on-time rate (0 when null) + 0.3 * utilisation.
 *
 * Capacity is the person's weekly_capacity_minutes (2400 unless an admin
 * set it) / 5 for each Monday to Friday in the period. The report's
 * utilisation is not capped; Accept: text/csv makes it a CSV download.
 */

/* SQL: sql/tenant/010_timesheets.sql */
#include "ngx_kanban_timesheet_routes.h"


ngx_kanban_sql_t  ngx_kanban_productivity_me = {
    ngx_kanban_pg_stmt("productivity_me",
    "SELECT * FROM productivity($1::uuid, $2, NULL, $3::date, $4::date)"),
    { "actor", "role", "query_date:from", "query_date:to", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_productivity_team = {
    ngx_kanban_pg_stmt("productivity_team",
    "SELECT * FROM productivity($1::uuid, $2, $3::uuid, $4::date,"
    "                           $5::date)"),
    { "actor", "role", "uuid:id", "query_date:from", "query_date:to", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_utilization_report = {
    ngx_kanban_pg_stmt("utilization_report",
    "SELECT * FROM utilization_report($1::uuid, $2, $3::date, $4::date,"
    "                                 $5::uuid, $6)"),
    { "actor", "role", "query_date:from", "query_date:to",
      "query_uuid:team_id", "accept", NULL },
    NULL
};
