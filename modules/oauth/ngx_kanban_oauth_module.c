
/*
 * ngx_http_kanban_oauth_module: sign-in with GitHub and OIDC. Its
 * directives, its routes (a table of its own, given to the router at
 * configuration time), and the call to a provider every step makes: on
 * the worker's HTTP client, under kanban_oauth_timeout, reaching private
 * addresses only where kanban_webhooks_allow_private says so.
 */

/* SQL: none of its own */
#include "ngx_kanban_oauth.h"
#include "ngx_kanban_webhooks.h"


static void *ngx_kanban_oauth_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_oauth_init_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_kanban_oauth_postconfiguration(ngx_conf_t *cf);


static ngx_command_t  ngx_kanban_oauth_commands[] = {

    { ngx_string("kanban_oauth_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_oauth_conf_t, timeout),
      NULL },

    { ngx_string("kanban_oauth_cache_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_oauth_conf_t, cache_ttl),
      NULL },

    { ngx_string("kanban_oauth_secret_dir"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_oauth_conf_t, secret_dir),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_oauth_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_oauth_postconfiguration,    /* postconfiguration */

    ngx_kanban_oauth_create_conf,          /* create main configuration */
    ngx_kanban_oauth_init_conf,            /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_oauth_module = {
    NGX_MODULE_V1,
    &ngx_kanban_oauth_module_ctx,          /* module context */
    ngx_kanban_oauth_commands,             /* module directives */
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


ngx_kanban_oauth_conf_t *
ngx_kanban_oauth_conf(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_oauth_module);
}


ngx_uint_t
ngx_kanban_oauth_allow_private(void)
{
    ngx_kanban_webhooks_conf_t  *whcf;

    whcf = ngx_kanban_webhooks_conf();

    return whcf && whcf->allow_private;
}


static void *
ngx_kanban_oauth_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_oauth_conf_t  *ocf;

    ocf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_oauth_conf_t));
    if (ocf == NULL) {
        return NULL;
    }

    ocf->timeout = NGX_CONF_UNSET_MSEC;
    ocf->cache_ttl = NGX_CONF_UNSET;

    return ocf;
}


static char *
ngx_kanban_oauth_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_oauth_conf_t  *ocf = conf;

    ngx_conf_init_msec_value(ocf->timeout, 5000);
    ngx_conf_init_value(ocf->cache_ttl, 3600);

    if (ocf->timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_oauth_timeout must be above 0");
        return NGX_CONF_ERROR;
    }

    if (ocf->secret_dir.len
        && ngx_conf_full_name(cf->cycle, &ocf->secret_dir, 1) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_oauth_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_oauth_routes,
                                 ngx_kanban_oauth_nroutes);
}


ngx_kanban_http_req_t *
ngx_kanban_oauth_http(ngx_http_request_t *r, char *method, ngx_str_t *url,
    ngx_kanban_http_handler_pt handler, void *data)
{
    ngx_str_t                 accept = ngx_string("application/json");
    ngx_str_t                 agent = ngx_string("kanban-oauth");
    ngx_kanban_http_req_t    *hr;
    ngx_kanban_oauth_conf_t  *ocf;

    ocf = ngx_kanban_oauth_conf();

    hr = ngx_kanban_http_create(r->pool, r->connection->log);
    if (hr == NULL) {
        return NULL;
    }

    hr->method.data = (u_char *) method;
    hr->method.len = ngx_strlen(method);
    hr->url = *url;
    hr->timeout = ocf->timeout;
    hr->allow_private = ngx_kanban_oauth_allow_private();
    hr->handler = handler;
    hr->data = data;

    /* GitHub answers its token endpoint as a form unless asked for JSON,
     * and refuses API calls without a User-Agent */
    if (ngx_kanban_http_header(hr, "Accept", &accept) != NGX_OK
        || ngx_kanban_http_header(hr, "User-Agent", &agent) != NGX_OK)
    {
        return NULL;
    }

    return hr;
}


/* The answer of a call as JSON of that type, or why it is not: the
 * caller's error code for the sign-in page. */

ngx_kanban_json_t *
ngx_kanban_oauth_http_json(ngx_kanban_http_req_t *hr, ngx_uint_t type,
    char **error)
{
    char               *why;
    ngx_kanban_json_t  *json;

    if (hr->error == NGX_KANBAN_HTTP_TIMEDOUT) {
        *error = "provider_timeout";
        return NULL;
    }

    if (hr->error != NGX_KANBAN_HTTP_OK) {
        ngx_log_error(NGX_LOG_WARN, hr->log, 0,
                      "kanban oauth: %V: %V", &hr->url, &hr->error_text);
        *error = "provider_unavailable";
        return NULL;
    }

    if (hr->status != 200) {
        ngx_log_error(NGX_LOG_WARN, hr->log, 0,
                      "kanban oauth: %V answered %ui", &hr->url, hr->status);
        *error = "provider_error";
        return NULL;
    }

    if (ngx_kanban_json_parse(hr->pool, hr->response.data, hr->response.len,
                              &json, &why)
        != NGX_OK
        || json->type != type)
    {
        ngx_log_error(NGX_LOG_WARN, hr->log, 0,
                      "kanban oauth: %V answered no JSON of the kind "
                      "expected", &hr->url);
        *error = "provider_error";
        return NULL;
    }

    return json;
}
