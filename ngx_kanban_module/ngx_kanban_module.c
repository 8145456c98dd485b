
/*
 * ngx_http_kanban_module's life: what its configuration sets up once read
 * (the metrics zone, the routes, the headers), the content handlers of its
 * locations, and the worker's start and end. The module's table, its
 * directives and its configurations are in ngx_kanban_conf.c, which every
 * part of the core reads and which calls none of them: nginx calls these
 * functions through that table, so this file is the only one that calls
 * down into the parts.
 */

#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_http.h"
#include "ngx_kanban_conf.h"
#include "ngx_kanban_sweep.h"


char *
ngx_kanban_content(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_loc_conf_t  *klcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (klcf->content) {
        return "is duplicate";
    }

    klcf->content = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    switch (cmd->offset) {
    case NGX_KANBAN_CONTENT_API:
        clcf->handler = ngx_kanban_api_handler;
        break;
    case NGX_KANBAN_CONTENT_HEALTH:
        clcf->handler = ngx_kanban_health_handler;
        break;
    case NGX_KANBAN_CONTENT_METRICS:
        clcf->handler = ngx_kanban_metrics_handler;
        break;
    default:
        clcf->handler = ngx_kanban_problem_handler;

        /* "kanban_problem /api/": only requests for that prefix; others
         * keep nginx's own page (a server's error_page) */
        if (cf->args->nelts == 2) {
            klcf->problem_prefix = ((ngx_str_t *) cf->args->elts)[1];
        }
    }

    if (cf->args->nelts == 2 && cmd->offset != NGX_KANBAN_CONTENT_PROBLEM) {
        return "takes no argument";
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_kanban_postconfiguration(ngx_conf_t *cf)
{
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kanban_module);

    if (ngx_kanban_metrics_init_zone(cf, kmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_kanban_routes_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_kanban_headers_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_kanban_sweep_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_kanban_metrics_init(cf);
}


ngx_int_t
ngx_kanban_init_process(ngx_cycle_t *cycle)
{
    if (ngx_kanban_main_conf() == NULL) {
        return NGX_OK;
    }

    if (ngx_kanban_pg_init_process(cycle) != NGX_OK
        || ngx_kanban_password_init_process(cycle) != NGX_OK
        || ngx_kanban_http_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_kanban_redis_init_process(cycle);
}


void
ngx_kanban_exit_process(ngx_cycle_t *cycle)
{
    ngx_kanban_http_exit_process(cycle);
    ngx_kanban_redis_exit_process(cycle);
    ngx_kanban_pg_exit_process(cycle);
}
