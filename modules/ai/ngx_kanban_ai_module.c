
/*
 * ngx_http_kanban_ai_module: the LLM gateway's directives and routes.
 *
 * The installation's default model keeps the names it had when insights
 * alone asked one (kanban_insights_llm_url, _model, _key_file, _timeout);
 * kanban_ai_provider says which dialect that URL speaks. A workspace's
 * admin may choose another (GET/PUT /api/v1/ai/settings).
 */

/* SQL: none of its own */
#include "ngx_kanban_ai.h"


static void *ngx_kanban_ai_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_ai_init_conf(ngx_conf_t *cf, void *conf);
static char *ngx_kanban_ai_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_kanban_ai_postconfiguration(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_kanban_ai_providers[] = {
    { ngx_string("openai"), NGX_KANBAN_AI_OPENAI },
    { ngx_string("anthropic"), NGX_KANBAN_AI_ANTHROPIC },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_kanban_ai_commands[] = {

    { ngx_string("kanban_insights_llm_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_ai_conf_t, llm_url),
      NULL },

    { ngx_string("kanban_insights_llm_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_ai_conf_t, llm_model),
      NULL },

    { ngx_string("kanban_insights_llm_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_ai_key_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_insights_llm_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_ai_conf_t, llm_timeout),
      NULL },

    { ngx_string("kanban_ai_provider"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_ai_conf_t, provider),
      ngx_kanban_ai_providers },

    { ngx_string("kanban_ai_retries"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_ai_conf_t, retries),
      NULL },

    { ngx_string("kanban_ai_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_ai_conf_t, backoff),
      NULL },

    { ngx_string("kanban_ai_max_tokens"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_ai_conf_t, max_tokens),
      NULL },

    { ngx_string("kanban_ai_allow_private"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_ai_conf_t, allow_private),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_ai_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_ai_postconfiguration,       /* postconfiguration */

    ngx_kanban_ai_create_conf,             /* create main configuration */
    ngx_kanban_ai_init_conf,               /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_ai_module = {
    NGX_MODULE_V1,
    &ngx_kanban_ai_module_ctx,             /* module context */
    ngx_kanban_ai_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_kanban_ai_conf_t *
ngx_kanban_ai_conf(void)
{
    if (ngx_cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NULL;
    }

    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_ai_module);
}


ngx_uint_t
ngx_kanban_ai_configured(void)
{
    ngx_kanban_ai_conf_t  *aicf;

    aicf = ngx_kanban_ai_conf();

    return aicf && aicf->llm_url.len;
}


static void *
ngx_kanban_ai_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_ai_conf_t  *aicf;

    aicf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_ai_conf_t));
    if (aicf == NULL) {
        return NULL;
    }

    aicf->provider = NGX_CONF_UNSET_UINT;
    aicf->llm_timeout = NGX_CONF_UNSET_MSEC;
    aicf->retries = NGX_CONF_UNSET_UINT;
    aicf->backoff = NGX_CONF_UNSET_MSEC;
    aicf->max_tokens = NGX_CONF_UNSET_UINT;
    aicf->allow_private = NGX_CONF_UNSET;

    return aicf;
}


static char *
ngx_kanban_ai_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_ai_conf_t  *aicf = conf;

    ngx_conf_init_uint_value(aicf->provider, NGX_KANBAN_AI_OPENAI);
    ngx_conf_init_msec_value(aicf->llm_timeout, 20000);
    ngx_conf_init_uint_value(aicf->retries, 2);
    ngx_conf_init_msec_value(aicf->backoff, 500);
    ngx_conf_init_uint_value(aicf->max_tokens, 2048);
    ngx_conf_init_value(aicf->allow_private, 0);

    /* a read gives up an analysis unfinished after 5 minutes (029) */
    if (aicf->llm_timeout > 240000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_insights_llm_timeout is at most 240s");
        return NGX_CONF_ERROR;
    }

    if (aicf->retries > 5 || aicf->backoff > 10000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_ai_retries is at most 5, "
                           "kanban_ai_backoff at most 10s");
        return NGX_CONF_ERROR;
    }

    /* every attempt and wait of a call within the 5 minutes after which
     * a read gives an analysis up (029): a long timeout leaves fewer
     * retries */
    while (aicf->retries
           && (aicf->retries + 1) * aicf->llm_timeout
              + aicf->retries * NGX_KANBAN_AI_RETRY_AFTER_MAX * 1000
              > 280000)
    {
        aicf->retries--;
    }

    if (aicf->max_tokens < 16 || aicf->max_tokens > 100000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_ai_max_tokens is 16 to 100000");
        return NGX_CONF_ERROR;
    }

    if (aicf->llm_model.len == 0) {
        ngx_str_set(&aicf->llm_model, "gpt-4o-mini");
    }

    if (aicf->llm_url.len
        && ngx_strncmp(aicf->llm_url.data, "http://", 7) != 0
        && ngx_strncmp(aicf->llm_url.data, "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_insights_llm_url must be http(s)");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the API key, the file's first line */

static char *
ngx_kanban_ai_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_ai_conf_t  *aicf = conf;

    ngx_str_t   *value, name, data;

    value = cf->args->elts;
    name = value[1];

    if (ngx_kanban_conf_read_file(cf, &name, 64 * 1024, cf->pool, &data)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (data.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" is empty", &name);
        return NGX_CONF_ERROR;
    }

    /* its first line, at most 1024 bytes */
    aicf->llm_key.data = data.data;
    aicf->llm_key.len = 0;

    while (aicf->llm_key.len < ngx_min(data.len, 1024)
           && data.data[aicf->llm_key.len] != '\n'
           && data.data[aicf->llm_key.len] != '\r')
    {
        aicf->llm_key.len++;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_ai_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_ai_routes,
                                 ngx_kanban_ai_nroutes);
}
