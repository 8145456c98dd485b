
/*
 * ngx_http_kanban_webhooks_module: the webhooks' directives, their routes
 * (a table of the module's own, given to the router at configuration
 * time), and the worker's start: its dispatcher
 * (ngx_kanban_webhooks_send.c) and the key that seals secrets
 * (ngx_kanban_webhooks_seal.c), each given this configuration.
 */

/* SQL: none of its own */
#include "ngx_kanban_webhooks.h"


static void *ngx_kanban_webhooks_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_webhooks_init_conf(ngx_conf_t *cf, void *conf);
static char *ngx_kanban_webhooks_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_kanban_webhooks_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_webhooks_init_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_kanban_webhooks_positive = {
    ngx_conf_check_num_bounds, 1, 1000
};


static ngx_command_t  ngx_kanban_webhooks_commands[] = {

    { ngx_string("kanban_webhooks"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_webhooks_conf_t, enabled),
      NULL },

    { ngx_string("kanban_webhooks_allow_private"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_webhooks_conf_t, allow_private),
      NULL },

    { ngx_string("kanban_webhooks_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_webhooks_conf_t, timeout),
      NULL },

    { ngx_string("kanban_webhooks_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_webhooks_conf_t, backoff),
      NULL },

    { ngx_string("kanban_webhooks_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_webhooks_conf_t, window),
      NULL },

    { ngx_string("kanban_webhooks_sweep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_webhooks_conf_t, sweep),
      NULL },

    { ngx_string("kanban_webhooks_concurrency"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_webhooks_conf_t, concurrency),
      &ngx_kanban_webhooks_positive },

    { ngx_string("kanban_webhooks_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_webhooks_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_webhooks_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_webhooks_postconfiguration, /* postconfiguration */

    ngx_kanban_webhooks_create_conf,       /* create main configuration */
    ngx_kanban_webhooks_init_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_webhooks_module = {
    NGX_MODULE_V1,
    &ngx_kanban_webhooks_module_ctx,       /* module context */
    ngx_kanban_webhooks_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_webhooks_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_kanban_webhooks_conf_t *
ngx_kanban_webhooks_conf(void)
{
    if (ngx_cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NULL;
    }

    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_webhooks_module);
}


static void *
ngx_kanban_webhooks_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_webhooks_conf_t  *whcf;

    whcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_webhooks_conf_t));
    if (whcf == NULL) {
        return NULL;
    }

    whcf->enabled = NGX_CONF_UNSET;
    whcf->allow_private = NGX_CONF_UNSET;
    whcf->timeout = NGX_CONF_UNSET_MSEC;
    whcf->backoff = NGX_CONF_UNSET_MSEC;
    whcf->window = NGX_CONF_UNSET_MSEC;
    whcf->sweep = NGX_CONF_UNSET_MSEC;
    whcf->concurrency = NGX_CONF_UNSET_UINT;

    return whcf;
}


static char *
ngx_kanban_webhooks_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_webhooks_conf_t  *whcf = conf;

    ngx_conf_init_value(whcf->enabled, 1);
    ngx_conf_init_value(whcf->allow_private, 0);
    ngx_conf_init_msec_value(whcf->timeout, 10000);
    ngx_conf_init_msec_value(whcf->backoff, 30000);
    ngx_conf_init_msec_value(whcf->window, 24 * 60 * 60 * 1000);
    ngx_conf_init_msec_value(whcf->sweep, 10000);
    ngx_conf_init_uint_value(whcf->concurrency, 4);

    if (whcf->timeout == 0 || whcf->sweep < 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_webhooks_timeout must be above 0 and "
                           "kanban_webhooks_sweep at least 100ms");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* kanban_webhooks_key file: at least 32 bytes; the key is their SHA-256 */

static char *
ngx_kanban_webhooks_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_webhooks_conf_t  *whcf = conf;

    ssize_t           n;
    u_char            buf[4096];
    ngx_str_t        *value;
    ngx_file_t        file;
    unsigned int      len;

    if (whcf->has_key) {
        return "is duplicate";
    }

    value = cf->args->elts;
    whcf->key_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &whcf->key_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = whcf->key_file;
    file.log = cf->log;

    file.fd = ngx_open_file(file.name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &file.name);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_file(&file, buf, sizeof(buf), 0);

    ngx_close_file(file.fd);

    if (n < 32) {
        ngx_explicit_memzero(buf, sizeof(buf));
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must hold at least 32 bytes", &file.name);
        return NGX_CONF_ERROR;
    }

    len = NGX_KANBAN_WEBHOOKS_KEY_LEN;

    if (EVP_Digest(buf, n, whcf->key, &len, EVP_sha256(), NULL) != 1) {
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(buf, sizeof(buf));
    whcf->has_key = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_webhooks_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_webhooks_routes,
                                 ngx_kanban_webhooks_nroutes);
}


static ngx_int_t
ngx_kanban_webhooks_init_process(ngx_cycle_t *cycle)
{
    ngx_kanban_webhooks_conf_t  *whcf;

    whcf = ngx_kanban_webhooks_conf();

    /* this worker's key for the secrets of every module that seals */
    ngx_kanban_webhooks_seal_init(whcf);

    if (whcf == NULL || !whcf->enabled || ngx_kanban_main_conf() == NULL
        || ngx_kanban_main_conf()->catalog.len == 0)
    {
        return NGX_OK;
    }

    return ngx_kanban_webhooks_send_init_process(cycle, whcf);
}
