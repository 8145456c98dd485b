
/*
 * What the budget module's route table names: its handlers' bodies and
 * statements (ngx_kanban_budget_routes.c).
 */

#ifndef _NGX_KANBAN_BUDGET_ROUTES_H_INCLUDED_
#define _NGX_KANBAN_BUDGET_ROUTES_H_INCLUDED_


#include "ngx_kanban_routes.h"


extern ngx_kanban_field_t  ngx_kanban_budget_fields[];
extern ngx_kanban_field_t  ngx_kanban_billing_rate_fields[];
extern ngx_kanban_sql_t  ngx_kanban_budget_get;
extern ngx_kanban_sql_t  ngx_kanban_budget_put;
extern ngx_kanban_sql_t  ngx_kanban_billing_rates_list;
extern ngx_kanban_sql_t  ngx_kanban_billing_rate_create;
extern ngx_kanban_sql_t  ngx_kanban_billing_rate_delete;
extern ngx_kanban_sql_t  ngx_kanban_billable_report;


#endif /* _NGX_KANBAN_BUDGET_ROUTES_H_INCLUDED_ */
