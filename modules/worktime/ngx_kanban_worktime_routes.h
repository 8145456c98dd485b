
/*
 * What the working-time module's route table names: its handlers' bodies
 * and statements (ngx_kanban_worktime_routes.c).
 */

#ifndef _NGX_KANBAN_WORKTIME_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_WORKTIME_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


extern ngx_kanban_field_t  ngx_kanban_work_pattern_fields[];
extern ngx_kanban_field_t  ngx_kanban_absence_fields[];
extern ngx_kanban_field_t  ngx_kanban_absence_reject_fields[];
extern ngx_kanban_field_t  ngx_kanban_break_rules_fields[];
extern ngx_kanban_sql_t  ngx_kanban_working_time_get;
extern ngx_kanban_sql_t  ngx_kanban_work_pattern_get;
extern ngx_kanban_sql_t  ngx_kanban_work_pattern_put;
extern ngx_kanban_sql_t  ngx_kanban_holidays_list;
extern ngx_kanban_sql_t  ngx_kanban_holidays_import;
extern ngx_kanban_sql_t  ngx_kanban_holiday_delete;
extern ngx_kanban_sql_t  ngx_kanban_absences_list;
extern ngx_kanban_sql_t  ngx_kanban_absence_request;
extern ngx_kanban_sql_t  ngx_kanban_absence_approve;
extern ngx_kanban_sql_t  ngx_kanban_absence_reject;
extern ngx_kanban_sql_t  ngx_kanban_absence_cancel;
extern ngx_kanban_sql_t  ngx_kanban_break_rules_get;
extern ngx_kanban_sql_t  ngx_kanban_break_rules_put;
extern ngx_kanban_sql_t  ngx_kanban_time_import;


#endif /* _NGX_KANBAN_WORKTIME_ROUTES_H_INCLUDED_ */
