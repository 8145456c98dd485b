
/*
 * The timer: /api/v1/timesheets/timer[/start|/stop]. A person has at most
 * one running (a partial unique index: a second start is 409 conflict).
 * Stopping writes an entry on the day the timer started (UTC) of the
 * minutes it ran, rounded to the nearest and at least 1, under the same
 * rules as any entry (24 hours a day, locked weeks); when those refuse it,
 * the timer keeps running and DELETE discards it. No running timer: GET,
 * stop and DELETE are 404. A paused timer does not count: /pause and
 * /resume (409 when it is so already), and its pauses are the break of
 * the entry it writes.
 */

/* SQL: sql/tenant/010_timesheets.sql, 015_workspace_calendar.sql,
 *      077_working_time.sql */
#include "ngx_kanban_timesheet_routes.h"


ngx_kanban_field_t  ngx_kanban_timer_fields[] = {
    { "task_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "project_id", NGX_KANBAN_FIELD_UUID, 0, 0, 0, NULL, NULL },
    { "description", NGX_KANBAN_FIELD_STRING, 0, 0, 2000, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_timer_get = {
    ngx_kanban_pg_stmt("timer_get",
    "SELECT 200, timer_json(t) FROM timers t"
    " WHERE t.user_id = $1::uuid AND t.stopped_at IS NULL"),
    { "actor", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_timer_start = {
    ngx_kanban_pg_stmt("timer_start",
    "SELECT * FROM timer_start($1::uuid, $2::jsonb)"),
    { "actor", "body", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_timer_stop = {
    ngx_kanban_pg_stmt("timer_stop",
    "SELECT * FROM timer_stop($1::uuid, false)"),
    { "actor", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_timer_discard = {
    ngx_kanban_pg_stmt("timer_discard",
    "SELECT * FROM timer_stop($1::uuid, true)"),
    { "actor", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_timer_pause = {
    ngx_kanban_pg_stmt("timer_pause",
    "SELECT * FROM timer_pause($1::uuid, true)"),
    { "actor", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_timer_resume = {
    ngx_kanban_pg_stmt("timer_resume",
    "SELECT * FROM timer_pause($1::uuid, false)"),
    { "actor", NULL },
    NULL
};
