
/*
 * The GitHub link: a project's repositories and their rules
 * (ngx_kanban_github_api.c), GitHub's deliveries to /hooks/github/{id}
 * (ngx_kanban_github_hook.c), and the module that hands both route tables
 * to the router (ngx_kanban_github_module.c).
 */

#ifndef _NGX_KANBAN_GITHUB_H_INCLUDED_
#define _NGX_KANBAN_GITHUB_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"


extern ngx_kanban_route_t  ngx_kanban_github_api_routes[];
extern ngx_uint_t          ngx_kanban_github_api_nroutes;

extern ngx_kanban_route_t  ngx_kanban_github_hook_routes[];
extern ngx_uint_t          ngx_kanban_github_hook_nroutes;


#endif /* _NGX_KANBAN_GITHUB_H_INCLUDED_ */
