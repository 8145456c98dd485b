
/*
 * ngx_http_kanban_platform_module: the operators' routes on the platform
 * host, a table of the module's own given to the router at configuration
 * time. The sign-in and setup routes are public (rate limited by the
 * location's zone, throttled per account); every other runs behind the
 * operator's session (ngx_kanban_platform_guard), never a workspace's
 * token.
 */

/* SQL: none of its own */
#include "ngx_kanban_platform.h"


static ngx_int_t ngx_kanban_platform_postconfiguration(ngx_conf_t *cf);
static char *ngx_kanban_platform_events(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_kanban_platform_create_loc_conf(ngx_conf_t *cf);
static char *ngx_kanban_platform_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


#define ngx_kanban_platform_route(method, pattern, handler, fields, sql)      \
    { method, pattern, NGX_KANBAN_HOST_PLATFORM, NGX_KANBAN_ACCESS_PUBLIC,    \
      handler, fields, ngx_null_string, sql }

ngx_kanban_route_t  ngx_kanban_platform_routes[] = {

    ngx_kanban_platform_route(NGX_HTTP_POST, "/api/v1/platform/auth/login",
        ngx_kanban_platform_login_handler, ngx_kanban_platform_login_fields,
        NULL),

    ngx_kanban_platform_route(NGX_HTTP_POST, "/api/v1/platform/auth/logout",
        ngx_kanban_platform_logout_handler, NULL, NULL),

    ngx_kanban_platform_route(NGX_HTTP_POST, "/api/v1/platform/auth/setup",
        ngx_kanban_platform_setup_start_handler,
        ngx_kanban_platform_setup_start_fields, NULL),

    ngx_kanban_platform_route(NGX_HTTP_POST,
        "/api/v1/platform/auth/setup/finish",
        ngx_kanban_platform_setup_finish_handler,
        ngx_kanban_platform_setup_finish_fields, NULL),

    ngx_kanban_platform_route(NGX_HTTP_GET, "/api/v1/platform/me",
        ngx_kanban_platform_sql_handler, NULL, &ngx_kanban_platform_me),

    ngx_kanban_platform_route(NGX_HTTP_GET, "/api/v1/platform/workspaces",
        ngx_kanban_platform_sql_handler, NULL,
        &ngx_kanban_platform_workspaces_list),

    ngx_kanban_platform_route(NGX_HTTP_GET,
        "/api/v1/platform/workspaces/{slug}",
        ngx_kanban_platform_sql_handler, NULL,
        &ngx_kanban_platform_workspaces_get),

    ngx_kanban_platform_route(NGX_HTTP_PATCH,
        "/api/v1/platform/workspaces/{slug}",
        ngx_kanban_platform_workspace_patch_handler,
        ngx_kanban_platform_workspace_patch_fields,
        &ngx_kanban_platform_workspaces_patch),

    ngx_kanban_platform_route(NGX_HTTP_DELETE,
        "/api/v1/platform/workspaces/{slug}",
        ngx_kanban_platform_delete_handler, NULL, NULL),

    ngx_kanban_platform_route(NGX_HTTP_POST,
        "/api/v1/platform/workspaces/{slug}/restore",
        ngx_kanban_platform_restore_handler, NULL, NULL),

    ngx_kanban_platform_route(NGX_HTTP_POST,
        "/api/v1/platform/workspaces/{slug}/move",
        ngx_kanban_platform_sql_handler, ngx_kanban_platform_move_fields,
        &ngx_kanban_platform_move),

    ngx_kanban_platform_route(NGX_HTTP_POST,
        "/api/v1/platform/workspaces/{slug}/export",
        ngx_kanban_platform_sql_handler, NULL,
        &ngx_kanban_platform_export),

    ngx_kanban_platform_route(NGX_HTTP_GET, "/api/v1/platform/jobs",
        ngx_kanban_platform_sql_handler, NULL,
        &ngx_kanban_platform_jobs_list),

    ngx_kanban_platform_route(NGX_HTTP_GET, "/api/v1/platform/jobs/{id}",
        ngx_kanban_platform_sql_handler, NULL,
        &ngx_kanban_platform_jobs_get),

    ngx_kanban_platform_route(NGX_HTTP_GET,
        "/api/v1/platform/schema-versions",
        ngx_kanban_platform_sql_handler, NULL,
        &ngx_kanban_platform_versions),

    ngx_kanban_platform_route(NGX_HTTP_GET, "/api/v1/platform/events",
        ngx_kanban_platform_events_handler, NULL, NULL),

    ngx_kanban_platform_route(NGX_HTTP_GET, "/api/v1/platform/audit",
        ngx_kanban_platform_sql_handler, NULL,
        &ngx_kanban_platform_audit_list),
};

ngx_uint_t  ngx_kanban_platform_nroutes =
    sizeof(ngx_kanban_platform_routes) / sizeof(ngx_kanban_route_t);


static ngx_command_t  ngx_kanban_platform_commands[] = {

    { ngx_string("kanban_platform_events"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_kanban_platform_events,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_platform_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_platform_postconfiguration, /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_platform_create_loc_conf,   /* create location configuration */
    ngx_kanban_platform_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_platform_module = {
    NGX_MODULE_V1,
    &ngx_kanban_platform_module_ctx,       /* module context */
    ngx_kanban_platform_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_platform_events_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_kanban_platform_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_platform_routes,
                                 ngx_kanban_platform_nroutes);
}


/* kanban_platform_events [heartbeat=time] [buffer=size] */

static char *
ngx_kanban_platform_events(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_platform_conf_t  *pcf = conf;

    ngx_int_t    rc;
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        rc = ngx_kanban_sse_conf_arg(cf, &value[i], &pcf->events);

        if (rc == NGX_DECLINED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (rc != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static void *
ngx_kanban_platform_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_platform_conf_t  *pcf;

    pcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_platform_conf_t));
    if (pcf == NULL) {
        return NULL;
    }

    pcf->events.heartbeat = NGX_CONF_UNSET_MSEC;
    pcf->events.buffer = NGX_CONF_UNSET_SIZE;

    return pcf;
}


static char *
ngx_kanban_platform_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_kanban_platform_conf_t  *prev = parent;
    ngx_kanban_platform_conf_t  *conf = child;

    ngx_kanban_sse_conf_merge(&conf->events, &prev->events);

    return NGX_CONF_OK;
}
