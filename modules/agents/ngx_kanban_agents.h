
/*
 * AI agents (issue 23): the routes (ngx_kanban_agents_module.c); the
 * sweep that starts the built-in agents' sessions once a write opened
 * them (ngx_kanban_agents_sweep.c); a built-in agent's call through the
 * LLM gateway and its answer written (ngx_kanban_agents_builtin.c); and
 * what each built-in agent asks and must be answered
 * (ngx_kanban_agents_breakdown.c, _triage.c, _digest.c).
 */

#ifndef _NGX_KANBAN_AGENTS_H_INCLUDED_
#define _NGX_KANBAN_AGENTS_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_sweep.h"


/* a built-in agent: its name (agents.builtin), its instruction to the
 * model, and the schema its answer must meet before anything is written */
typedef struct {
    char                      *name;
    char                      *instruction;
    ngx_kanban_field_t        *schema;
} ngx_kanban_agents_builtin_t;


extern ngx_kanban_agents_builtin_t  ngx_kanban_agents_breakdown;
extern ngx_kanban_agents_builtin_t  ngx_kanban_agents_triage;
extern ngx_kanban_agents_builtin_t  ngx_kanban_agents_digest;


/* the sweep: started in each worker; woken by the writes that may open a
 * session (the core's committed seam) */
ngx_int_t ngx_kanban_agents_sweep_start(ngx_cycle_t *cycle);
void ngx_kanban_agents_committed(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, char *event);

/* a claimed session's call; ws is told when its answer is written */
ngx_int_t ngx_kanban_agents_builtin_start(ngx_kanban_sweep_ws_t *ws,
    ngx_str_t *builtin, ngx_str_t *sid, ngx_str_t *agent, ngx_str_t *data);


#endif /* _NGX_KANBAN_AGENTS_H_INCLUDED_ */
