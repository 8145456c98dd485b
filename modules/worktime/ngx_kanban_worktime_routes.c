
/*
 * The working-time module's routes: target hours (weekly patterns),
 * public holidays, absences and their approval, the break rules, and the
 * working-time report with its overtime balance.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_worktime_routes.h"


static ngx_kanban_route_t  ngx_kanban_worktime_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/timesheets/working-time",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_working_time_get),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/users/{id}/work-pattern",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_work_pattern_get),

    ngx_kanban_sql_route(NGX_HTTP_PUT, "/api/v1/users/{id}/work-pattern",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_work_pattern_fields,
        &ngx_kanban_work_pattern_put),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/holidays",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_holidays_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/holidays/import",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_raw_body,
        &ngx_kanban_holidays_import),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/holidays/{date}",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_holiday_delete),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/absences",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_absences_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/absences",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_absence_fields,
        &ngx_kanban_absence_request),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/absences/{id}/approve",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_absence_approve),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/absences/{id}/reject",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_absence_reject_fields,
        &ngx_kanban_absence_reject),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/absences/{id}/cancel",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_absence_cancel),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/timesheets/break-rules",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_break_rules_get),

    ngx_kanban_sql_route(NGX_HTTP_PUT, "/api/v1/timesheets/break-rules",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_break_rules_fields,
        &ngx_kanban_break_rules_put),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/timesheets/import",
        NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_raw_body,
        &ngx_kanban_time_import),
};


ngx_kanban_routes_module(ngx_http_kanban_worktime_routes_module,
                         ngx_kanban_worktime_routes);
