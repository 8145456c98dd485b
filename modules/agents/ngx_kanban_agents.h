
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


/* the directives: kanban_agents_lease (a claimed session's call may run
 * so long before another node claims it again) and kanban_agents_sweep
 * (the due index read so often) */
typedef struct {
    ngx_msec_t                 lease;
    ngx_msec_t                 sweep;
} ngx_kanban_agents_conf_t;


/* the sweep: started in each worker; stepped by any write to a workspace
 * and at the due times it records (the core's due index) */
ngx_int_t ngx_kanban_agents_sweep_start(ngx_cycle_t *cycle,
    ngx_kanban_agents_conf_t *acf);

/* a claimed session's call; ws is told when its answer is written */
ngx_int_t ngx_kanban_agents_builtin_start(ngx_kanban_sweep_ws_t *ws,
    ngx_str_t *builtin, ngx_str_t *sid, ngx_str_t *agent, ngx_str_t *data);

/* the workspace's streams told that a session changed */
void ngx_kanban_agents_told(ngx_str_t *slug, ngx_str_t *sid);


#endif /* _NGX_KANBAN_AGENTS_H_INCLUDED_ */
