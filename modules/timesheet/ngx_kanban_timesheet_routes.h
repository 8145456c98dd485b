
/*
 * What the timesheet module's route table names: its handlers, their bodies'
 * fields and their statements (ngx_kanban_timesheet_routes.c).
 */

#ifndef _NGX_KANBAN_TIMESHEET_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_TIMESHEET_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


extern ngx_kanban_field_t  ngx_kanban_time_entry_fields[];
extern ngx_kanban_field_t  ngx_kanban_time_entry_patch_fields[];
extern ngx_kanban_field_t  ngx_kanban_timer_fields[];
extern ngx_kanban_field_t  ngx_kanban_week_submit_fields[];
extern ngx_kanban_field_t  ngx_kanban_week_approve_fields[];
extern ngx_kanban_field_t  ngx_kanban_week_reject_fields[];
extern ngx_kanban_sql_t  ngx_kanban_time_entries_list;
extern ngx_kanban_sql_t  ngx_kanban_time_entries_get;
extern ngx_kanban_sql_t  ngx_kanban_time_entries_create;
extern ngx_kanban_sql_t  ngx_kanban_time_entries_patch;
extern ngx_kanban_sql_t  ngx_kanban_time_entries_delete;
extern ngx_kanban_sql_t  ngx_kanban_timer_get;
extern ngx_kanban_sql_t  ngx_kanban_timer_start;
extern ngx_kanban_sql_t  ngx_kanban_timer_stop;
extern ngx_kanban_sql_t  ngx_kanban_timer_discard;
extern ngx_kanban_sql_t  ngx_kanban_timer_pause;
extern ngx_kanban_sql_t  ngx_kanban_timer_resume;
extern ngx_kanban_sql_t  ngx_kanban_week_get;
extern ngx_kanban_sql_t  ngx_kanban_weeks_list;
extern ngx_kanban_sql_t  ngx_kanban_week_submit;
extern ngx_kanban_sql_t  ngx_kanban_week_approve;
extern ngx_kanban_sql_t  ngx_kanban_week_reject;
extern ngx_kanban_sql_t  ngx_kanban_productivity_me;
extern ngx_kanban_sql_t  ngx_kanban_productivity_team;
extern ngx_kanban_sql_t  ngx_kanban_utilization_report;


#endif /* _NGX_KANBAN_TIMESHEET_ROUTES_H_INCLUDED_ */
