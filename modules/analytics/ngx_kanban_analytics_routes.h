
/*
 * What the analytics module's route table names: its handlers, their bodies'
 * fields and their statements (ngx_kanban_analytics_routes.c).
 */

#ifndef _NGX_KANBAN_ANALYTICS_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_ANALYTICS_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


extern ngx_kanban_sql_t  ngx_kanban_analytics_project;
extern ngx_kanban_sql_t  ngx_kanban_analytics_tenant;


#endif /* _NGX_KANBAN_ANALYTICS_ROUTES_H_INCLUDED_ */
