
/*
 * Every endpoint of the product, in one table: nothing is reachable that
 * is not listed here with the host it lives on and who may call it.
 */

#include "ngx_kanban_routes.h"


ngx_kanban_route_t  ngx_kanban_routes[] = {

    /* share links */

    /* analytics */

    /* people */
    /* projects and the board */
    /* attachments, export and import */

    /* comments, dependencies, milestones, sprints */
    /* views */

    /* notifications */

    /* timesheets */

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


ngx_uint_t  ngx_kanban_nroutes =
    sizeof(ngx_kanban_routes) / sizeof(ngx_kanban_route_t);
