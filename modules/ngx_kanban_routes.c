
/*
 * Every endpoint of the product, in one table: nothing is reachable that
 * is not listed here with the host it lives on and who may call it.
 */

#include "ngx_kanban_routes.h"


ngx_kanban_route_t  ngx_kanban_routes[] = {

    /* share links */

    /* analytics */

    /* people */
    /* projects and the board */
    /* attachments, export and import */

    /* comments, dependencies, milestones, sprints */
    /* views */

    /* notifications */

    /* timesheets */
};


ngx_uint_t  ngx_kanban_nroutes =
    sizeof(ngx_kanban_routes) / sizeof(ngx_kanban_route_t);
