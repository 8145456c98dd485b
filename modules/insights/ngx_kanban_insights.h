
/*
 * Insights: the API (ngx_kanban_insights_module.c) and the job each
 * analysis is, run by the worker that was asked for it
 * (ngx_kanban_insights_job.c): the rules and the summary from PostgreSQL
 * (sql/tenant/020_insights.sql), then, when the workspace has one, a
 * model's answer through the LLM gateway (modules/ai/).
 */

#ifndef _NGX_KANBAN_INSIGHTS_H_INCLUDED_
#define _NGX_KANBAN_INSIGHTS_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_ai.h"


extern ngx_module_t  ngx_http_kanban_insights_module;


ngx_int_t ngx_kanban_insights_start(ngx_kanban_tenant_t *tenant,
    ngx_str_t *id, ngx_str_t *user_id);


#endif /* _NGX_KANBAN_INSIGHTS_H_INCLUDED_ */
