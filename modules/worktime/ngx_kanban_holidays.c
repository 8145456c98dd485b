
/*
 * Public holidays: /api/v1/holidays. An admin imports them from an
 * iCalendar file (POST /import, text/calendar, all or nothing: an event
 * that is no holiday is named and nothing is kept) and removes one by its
 * date; everyone reads them. A holiday's target is 0 for everyone.
 */

/* SQL: sql/tenant/077_working_time.sql */
#include "ngx_kanban_worktime_routes.h"


ngx_kanban_sql_t  ngx_kanban_holidays_list = {
    ngx_kanban_pg_stmt("holidays_list",
    "SELECT * FROM holidays_list($1::date, $2::date)"),
    { "query_date:from", "query_date:to", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_holidays_import = {
    ngx_kanban_pg_stmt("holidays_import",
    "SELECT * FROM holidays_import($1::uuid, $2::bytea)"),
    { "actor", "bytes", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_holiday_delete = {
    ngx_kanban_pg_stmt("holiday_delete",
    "SELECT * FROM holiday_delete($1::uuid, $2)"),
    { "actor", "arg:date", NULL },
    NULL
};
