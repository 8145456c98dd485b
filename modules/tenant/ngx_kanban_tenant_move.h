
/*
 * A workspace moving to another PostgreSQL server (conf/kanbanctl
 * move-workspace): what the tenant module does while it moves, and how
 * every node hears at once that its catalog row changed.
 */

#ifndef _NGX_KANBAN_TENANT_MOVE_H_INCLUDED_
#define _NGX_KANBAN_TENANT_MOVE_H_INCLUDED_


#include "ngx_kanban.h"


/* the seconds a refused write is told to wait */
#define NGX_KANBAN_TENANT_MOVING_RETRY  "2"


ngx_int_t ngx_kanban_tenant_moving(ngx_http_request_t *r);
/* zone: the node's tenant cache, emptied of a slug when its row changes
 * (NULL: no cache, nothing to listen for) */
ngx_int_t ngx_kanban_tenant_move_init_process(ngx_cycle_t *cycle,
    ngx_shm_zone_t *zone);
void ngx_kanban_tenant_move_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_KANBAN_TENANT_MOVE_H_INCLUDED_ */
