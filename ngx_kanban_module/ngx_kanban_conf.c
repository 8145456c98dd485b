
/*
 * ngx_http_kanban_module, what it is and holds: its table, its directives,
 * its main and location configurations with their defaults, and where a
 * workspace lives (kanban_tenant_url).
 *
 * Every part of the core reads its configuration from here, and this
 * file calls none of them: the functions that set the parts up once the
 * configuration is read, and start and end a worker, are in
 * ngx_kanban_module.c, which nginx calls through this table.
 */

#include "ngx_kanban.h"
#include "ngx_kanban_conf.h"


static void *ngx_kanban_create_main_conf(ngx_conf_t *cf);
static char *ngx_kanban_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_kanban_create_loc_conf(ngx_conf_t *cf);
static char *ngx_kanban_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_kanban_tenant_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_conf_num_bounds_t  ngx_kanban_positive = {
    ngx_conf_check_num_bounds, 1, 100000
};


static ngx_command_t  ngx_kanban_commands[] = {

    { ngx_string("kanban_catalog"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, catalog),
      NULL },

    { ngx_string("kanban_template"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, template_db),
      NULL },

    { ngx_string("kanban_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, redis),
      NULL },

    { ngx_string("kanban_tenant_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_tenant_url,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, tenant_url),
      NULL },

    { ngx_string("kanban_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, thread_pool_name),
      NULL },

    { ngx_string("kanban_thread_pool_prompt"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, thread_pool_prompt_name),
      NULL },

    { ngx_string("kanban_password_blocklist"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_kanban_password_blocklist,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_pg_pool_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, pg_pool_size),
      &ngx_kanban_positive },

    { ngx_string("kanban_pg_max_connections"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, pg_max_connections),
      &ngx_kanban_positive },

    { ngx_string("kanban_pg_queue_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, pg_queue_size),
      &ngx_kanban_positive },

    { ngx_string("kanban_pg_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, pg_connect_timeout),
      NULL },

    { ngx_string("kanban_pg_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, pg_query_timeout),
      NULL },

    { ngx_string("kanban_pg_queue_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_main_conf_t, pg_queue_timeout),
      NULL },

    { ngx_string("kanban_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_kanban_loc_conf_t, headers),
      NULL },

    { ngx_string("kanban_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_kanban_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_KANBAN_CONTENT_API,
      NULL },

    { ngx_string("kanban_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_kanban_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_KANBAN_CONTENT_HEALTH,
      NULL },

    { ngx_string("kanban_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_kanban_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_KANBAN_CONTENT_METRICS,
      NULL },

    { ngx_string("kanban_problem"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_kanban_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_KANBAN_CONTENT_PROBLEM,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_postconfiguration,          /* postconfiguration */

    ngx_kanban_create_main_conf,           /* create main configuration */
    ngx_kanban_init_main_conf,             /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_create_loc_conf,            /* create location configuration */
    ngx_kanban_merge_loc_conf              /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_module = {
    NGX_MODULE_V1,
    &ngx_kanban_module_ctx,                /* module context */
    ngx_kanban_commands,                   /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_init_process,               /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_kanban_exit_process,               /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* read from the running cycle: a reload that failed leaves it as it was */

ngx_kanban_main_conf_t *
ngx_kanban_main_conf(void)
{
    if (ngx_cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NULL;
    }

    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_module);
}


static void *
ngx_kanban_create_main_conf(ngx_conf_t *cf)
{
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_main_conf_t));
    if (kmcf == NULL) {
        return NULL;
    }

    kmcf->pg_pool_size = NGX_CONF_UNSET_UINT;
    kmcf->pg_max_connections = NGX_CONF_UNSET_UINT;
    kmcf->pg_queue_size = NGX_CONF_UNSET_UINT;
    kmcf->pg_connect_timeout = NGX_CONF_UNSET_MSEC;
    kmcf->pg_query_timeout = NGX_CONF_UNSET_MSEC;
    kmcf->pg_queue_timeout = NGX_CONF_UNSET_MSEC;

    return kmcf;
}


static char *
ngx_kanban_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_main_conf_t  *kmcf = conf;

    ngx_conf_init_uint_value(kmcf->pg_pool_size, 4);
    ngx_conf_init_uint_value(kmcf->pg_max_connections, 32);
    ngx_conf_init_uint_value(kmcf->pg_queue_size, 1024);
    ngx_conf_init_msec_value(kmcf->pg_connect_timeout, 3000);
    ngx_conf_init_msec_value(kmcf->pg_query_timeout, 30000);
    ngx_conf_init_msec_value(kmcf->pg_queue_timeout, 3000);

    if (kmcf->template_db.data == NULL) {
        ngx_str_set(&kmcf->template_db, "kanban_tenant_template");
    }

    if (kmcf->tenant_url.data == NULL) {
        ngx_str_set(&kmcf->tenant_url, "http://*.localhost");
    }

    if (kmcf->thread_pool_name.data == NULL) {
        ngx_str_set(&kmcf->thread_pool_name, "default");
    }

    if (kmcf->pg_pool_size > kmcf->pg_max_connections) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kanban_pg_pool_size\" %ui exceeds "
                           "\"kanban_pg_max_connections\" %ui",
                           kmcf->pg_pool_size, kmcf->pg_max_connections);
        return NGX_CONF_ERROR;
    }

#if (NGX_THREADS)
    kmcf->thread_pool = ngx_thread_pool_add(cf, &kmcf->thread_pool_name);
    if (kmcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    if (kmcf->thread_pool_prompt_name.data) {
        kmcf->thread_pool_prompt = ngx_thread_pool_add(cf,
                                            &kmcf->thread_pool_prompt_name);
        if (kmcf->thread_pool_prompt == NULL) {
            return NGX_CONF_ERROR;
        }
    }
#else
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "the kanban module needs nginx built with threads");
    return NGX_CONF_ERROR;
#endif

    return NGX_CONF_OK;
}


static void *
ngx_kanban_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_loc_conf_t  *klcf;

    klcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_loc_conf_t));
    if (klcf == NULL) {
        return NULL;
    }

    klcf->headers = NGX_CONF_UNSET;

    return klcf;
}


static char *
ngx_kanban_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_kanban_loc_conf_t  *prev = parent;
    ngx_kanban_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->headers, prev->headers, 0);

    return NGX_CONF_OK;
}


static char *
ngx_kanban_tenant_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char       *rv;
    ngx_str_t  *url;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    url = (ngx_str_t *) ((char *) conf + cmd->offset);

    if (ngx_strlchr(url->data, url->data + url->len, '*') == NULL) {
        return "must contain \"*\" where the workspace's slug goes";
    }

    return NGX_CONF_OK;
}


/* A workspace's origin from kanban_tenant_url (http://STAR.localhost:8080
 * with the slug for STAR), followed by path. */

ngx_int_t
ngx_kanban_tenant_origin(ngx_pool_t *pool, ngx_str_t *slug, char *path,
    ngx_str_t *url)
{
    u_char                  *star, *end, *p;
    size_t                   len;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();

    end = kmcf->tenant_url.data + kmcf->tenant_url.len;
    star = ngx_strlchr(kmcf->tenant_url.data, end, '*');
    len = ngx_strlen(path);

    url->data = ngx_pnalloc(pool, kmcf->tenant_url.len + slug->len + len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, kmcf->tenant_url.data,
                   star - kmcf->tenant_url.data);
    p = ngx_cpymem(p, slug->data, slug->len);
    p = ngx_cpymem(p, star + 1, end - star - 1);
    p = ngx_cpymem(p, path, len);

    url->len = p - url->data;

    return NGX_OK;
}
