
/*
 * Work that plans itself: recurring tasks (ngx_kanban_recur_api.c), the
 * reminders' routes (modules/reminders/), and the planner that makes
 * what is due in every workspace that has some, on the core's sweeper
 * (ngx_kanban_recur_sweep.c). The module with its directives is
 * ngx_kanban_recur_module.c.
 */

#ifndef _NGX_KANBAN_RECUR_H_INCLUDED_
#define _NGX_KANBAN_RECUR_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"


typedef struct {
    ngx_flag_t                 enabled;        /* this node plans */
    ngx_msec_t                 sweep;          /* the due index read so
                                                  often */
    ngx_uint_t                 batch;          /* dates a step makes */
} ngx_kanban_recur_conf_t;


extern ngx_module_t  ngx_http_kanban_recur_module;

extern ngx_kanban_route_t  ngx_kanban_recur_routes[];
extern ngx_uint_t          ngx_kanban_recur_nroutes;


/* the planner (ngx_kanban_recur_sweep.c) */
ngx_int_t ngx_kanban_recur_sweep_init_process(ngx_cycle_t *cycle,
    ngx_kanban_recur_conf_t *rcf);


#endif /* _NGX_KANBAN_RECUR_H_INCLUDED_ */
