
/*
 * The timesheet module's routes: time entries, the timer, weekly sheets and
 * their approval, productivity and utilisation.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_timesheet_routes.h"


static ngx_kanban_route_t  ngx_kanban_timesheet_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/timesheets/entries",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_time_entries_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/entries",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_time_entry_fields,
        &ngx_kanban_time_entries_create),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/timesheets/entries/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_time_entries_get),

    ngx_kanban_sql_route(NGX_HTTP_PATCH, "/api/v1/timesheets/entries/{id}",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_time_entry_patch_fields,
        &ngx_kanban_time_entries_patch),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/timesheets/entries/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_time_entries_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/timesheets/timer",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_timer_get),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/timesheets/timer",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_timer_discard),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/timer/start",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_timer_fields,
        &ngx_kanban_timer_start),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/timer/stop",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_timer_stop),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/timer/pause",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_timer_pause),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/timer/resume",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_timer_resume),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/timesheets/weekly",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_week_get),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/timesheets/weeks",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_weeks_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/weekly/submit",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_week_submit_fields,
        &ngx_kanban_week_submit),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/weekly/approve",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_week_approve_fields,
        &ngx_kanban_week_approve),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/weekly/reject",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_week_reject_fields,
        &ngx_kanban_week_reject),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/timesheets/productivity/me",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_productivity_me),

    ngx_kanban_sql_route(NGX_HTTP_GET,
        "/api/v1/timesheets/productivity/team/{id}",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_productivity_team),

    ngx_kanban_sql_route(NGX_HTTP_GET,
        "/api/v1/timesheets/reports/utilization",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_utilization_report),
};


ngx_kanban_routes_module(ngx_http_kanban_timesheet_routes_module,
                         ngx_kanban_timesheet_routes);
