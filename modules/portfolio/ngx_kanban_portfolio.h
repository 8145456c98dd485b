
/*
 * Portfolio reporting (issue 19): a project's health from the risk rules
 * with a manager's override (ngx_kanban_portfolio_health.c), who should
 * take a task (ngx_kanban_portfolio_suggestions.c), the weekly updates
 * (ngx_kanban_portfolio_updates.c) and their draft, by an LLM when one
 * is configured (ngx_kanban_portfolio_draft.c), the weekly status report
 * (ngx_kanban_portfolio_report.c), one timeline across projects with
 * its links, rescheduling and critical path
 * (ngx_kanban_portfolio_timeline.c), and the module that
 * hands their routes to the router (ngx_kanban_portfolio_module.c).
 */

#ifndef _NGX_KANBAN_PORTFOLIO_H_INCLUDED_
#define _NGX_KANBAN_PORTFOLIO_H_INCLUDED_


#include "ngx_kanban_routes.h"


extern ngx_module_t  ngx_http_kanban_portfolio_module;

extern ngx_kanban_route_t  ngx_kanban_portfolio_health_routes[];
extern ngx_uint_t          ngx_kanban_portfolio_health_nroutes;
extern ngx_kanban_route_t  ngx_kanban_portfolio_suggestions_routes[];
extern ngx_uint_t          ngx_kanban_portfolio_suggestions_nroutes;
extern ngx_kanban_route_t  ngx_kanban_portfolio_updates_routes[];
extern ngx_uint_t          ngx_kanban_portfolio_updates_nroutes;
extern ngx_kanban_route_t  ngx_kanban_portfolio_draft_routes[];
extern ngx_uint_t          ngx_kanban_portfolio_draft_nroutes;
extern ngx_kanban_route_t  ngx_kanban_portfolio_report_routes[];
extern ngx_uint_t          ngx_kanban_portfolio_report_nroutes;
extern ngx_kanban_route_t  ngx_kanban_portfolio_timeline_routes[];
extern ngx_uint_t          ngx_kanban_portfolio_timeline_nroutes;

/* a GET that makes what is due on the way (a health change, the update
 * reminders: notifications, so mail): the statement's, marked a write */
ngx_int_t ngx_kanban_portfolio_writing_get(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);


#endif /* _NGX_KANBAN_PORTFOLIO_H_INCLUDED_ */
