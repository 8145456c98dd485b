
/*
 * Between the module's table (ngx_kanban_conf.c) and the functions of
 * its life that the table names (ngx_kanban_module.c).
 */

#ifndef _NGX_KANBAN_CONF_H_INCLUDED_
#define _NGX_KANBAN_CONF_H_INCLUDED_


#include "ngx_kanban.h"


/* what a location's content directive chose (kanban_api, ...) */
#define NGX_KANBAN_CONTENT_API      1
#define NGX_KANBAN_CONTENT_HEALTH   2
#define NGX_KANBAN_CONTENT_METRICS  3
#define NGX_KANBAN_CONTENT_PROBLEM  4


char *ngx_kanban_content(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_kanban_postconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_kanban_init_process(ngx_cycle_t *cycle);
void ngx_kanban_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_KANBAN_CONF_H_INCLUDED_ */
