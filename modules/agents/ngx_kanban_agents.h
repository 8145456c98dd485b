
/*
 * AI agents (issue 23): the routes (ngx_kanban_agents_module.c) and the
 * built-in breakdown agent, run through the LLM gateway
 * (ngx_kanban_agents_breakdown.c).
 */

#ifndef _NGX_KANBAN_AGENTS_H_INCLUDED_
#define _NGX_KANBAN_AGENTS_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"


/* GET /api/v1/tasks/{id}/agent-sessions: the sessions, after starting
 * the built-in agents that owe a first answer */
ngx_int_t ngx_kanban_agents_sessions_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);


#endif /* _NGX_KANBAN_AGENTS_H_INCLUDED_ */
