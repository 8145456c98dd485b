
/*
 * Insights: the API (ngx_kanban_insights_module.c) and the job each
 * analysis is, run by the worker that was asked for it
 * (ngx_kanban_insights_job.c): the rules and the summary from PostgreSQL
 * (sql/tenant/020_insights.sql), then, when one is configured, an LLM's
 * answer through the worker's HTTP client.
 */

#ifndef _NGX_KANBAN_INSIGHTS_H_INCLUDED_
#define _NGX_KANBAN_INSIGHTS_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_http.h"


typedef struct {
    ngx_str_t                  llm_url;        /* chat completions */
    ngx_str_t                  llm_model;
    ngx_str_t                  llm_key;        /* from the key file */
    ngx_msec_t                 llm_timeout;
} ngx_kanban_insights_conf_t;


extern ngx_module_t  ngx_http_kanban_insights_module;


ngx_kanban_insights_conf_t *ngx_kanban_insights_conf(void);
/* the analysis as a job of the worker (ngx_kanban_insights_job.c), and
 * the request to the LLM it and portfolio's drafts make
 * (ngx_kanban_insights_llm.c): the configuration is passed in */
ngx_int_t ngx_kanban_insights_start(ngx_kanban_insights_conf_t *iscf,
    ngx_kanban_tenant_t *tenant, ngx_str_t *id);
ngx_kanban_http_req_t *ngx_kanban_insights_llm_request(
    ngx_kanban_insights_conf_t *iscf, ngx_pool_t *pool, ngx_log_t *log,
    char *prompt, ngx_str_t *digest, size_t size, size_t max_body);


#endif /* _NGX_KANBAN_INSIGHTS_H_INCLUDED_ */
