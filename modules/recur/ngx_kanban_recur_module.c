
/*
 * ngx_http_kanban_recur_module: the planner's directives, the recurring
 * tasks' routes (a table of the module's own, given to the router at
 * configuration time), and the worker's start of the planner
 * (ngx_kanban_recur_sweep.c).
 *
 *     kanban_planner on|off;        this node makes occurrences and sends
 *                                   reminders (on)
 *     kanban_planner_sweep 10s;     the workspaces due read from the
 *                                   catalog's due index so often
 *     kanban_planner_batch 500;     dates one step makes at most
 */

/* SQL: none of its own */
#include "ngx_kanban_recur.h"


static void *ngx_kanban_recur_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_recur_init_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_kanban_recur_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_recur_init_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_kanban_recur_batch_bounds = {
    ngx_conf_check_num_bounds, 1, 10000
};


static ngx_command_t  ngx_kanban_recur_commands[] = {

    { ngx_string("kanban_planner"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_recur_conf_t, enabled),
      NULL },

    { ngx_string("kanban_planner_sweep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_recur_conf_t, sweep),
      NULL },

    { ngx_string("kanban_planner_batch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_recur_conf_t, batch),
      &ngx_kanban_recur_batch_bounds },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_recur_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_recur_postconfiguration,    /* postconfiguration */

    ngx_kanban_recur_create_conf,          /* create main configuration */
    ngx_kanban_recur_init_conf,            /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_recur_module = {
    NGX_MODULE_V1,
    &ngx_kanban_recur_module_ctx,          /* module context */
    ngx_kanban_recur_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_recur_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_kanban_recur_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_recur_conf_t  *rcf;

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_recur_conf_t));
    if (rcf == NULL) {
        return NULL;
    }

    rcf->enabled = NGX_CONF_UNSET;
    rcf->sweep = NGX_CONF_UNSET_MSEC;
    rcf->batch = NGX_CONF_UNSET_UINT;

    return rcf;
}


static char *
ngx_kanban_recur_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_recur_conf_t  *rcf = conf;

    ngx_conf_init_value(rcf->enabled, 1);
    ngx_conf_init_msec_value(rcf->sweep, 10000);
    ngx_conf_init_uint_value(rcf->batch, 500);

    if (rcf->sweep < 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_planner_sweep must be at least 100ms");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_recur_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_recur_routes,
                                 ngx_kanban_recur_nroutes);
}


static ngx_int_t
ngx_kanban_recur_init_process(ngx_cycle_t *cycle)
{
    ngx_kanban_recur_conf_t  *rcf;

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_OK;
    }

    rcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_kanban_recur_module);

    if (rcf == NULL || !rcf->enabled || ngx_kanban_main_conf() == NULL
        || ngx_kanban_main_conf()->catalog.len == 0)
    {
        return NGX_OK;
    }

    return ngx_kanban_recur_sweep_init_process(cycle, rcf);
}
