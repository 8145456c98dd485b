
/*
 * ngx_http_kanban_mail_module: the mail directives, the module's route
 * table (given to the router at configuration time), the worker's sender,
 * and the signing of unsubscribe links.
 *
 * Secrets are read from files at configuration time, as nginx reads its
 * certificates: the SMTP credentials (kanban_mail_credentials, the first
 * line "user:password") and the key that signs unsubscribe links
 * (kanban_mail_key, its SHA-256).
 */

/* SQL: none of its own */
#include "ngx_kanban_mail.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>


static void *ngx_kanban_mail_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_mail_init_conf(ngx_conf_t *cf, void *conf);
static char *ngx_kanban_mail_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_kanban_mail_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ssize_t ngx_kanban_mail_read(ngx_conf_t *cf, ngx_str_t *name,
    u_char *buf, size_t size);
static ngx_int_t ngx_kanban_mail_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_mail_init_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_kanban_mail_positive = {
    ngx_conf_check_num_bounds, 1, 10000
};


static ngx_command_t  ngx_kanban_mail_commands[] = {

    { ngx_string("kanban_mail"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, enabled),
      NULL },

    { ngx_string("kanban_mail_server"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, server),
      NULL },

    { ngx_string("kanban_mail_from"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, from),
      NULL },

    { ngx_string("kanban_mail_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_mail_credentials,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_mail_ca"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, ca_file),
      NULL },

    { ngx_string("kanban_mail_starttls"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, starttls),
      NULL },

    { ngx_string("kanban_mail_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, timeout),
      NULL },

    { ngx_string("kanban_mail_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, backoff),
      NULL },

    { ngx_string("kanban_mail_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, window),
      NULL },

    { ngx_string("kanban_mail_sweep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, sweep),
      NULL },

    { ngx_string("kanban_mail_digest"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, digest),
      NULL },

    { ngx_string("kanban_mail_reset_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, reset_ttl),
      NULL },

    { ngx_string("kanban_mail_reset_per_hour"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, reset_per_hour),
      &ngx_kanban_mail_positive },

    { ngx_string("kanban_mail_concurrency"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, concurrency),
      &ngx_kanban_mail_positive },

    { ngx_string("kanban_mail_rate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_mail_conf_t, rate),
      &ngx_kanban_mail_positive },

    { ngx_string("kanban_mail_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_mail_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_mail_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_kanban_mail_postconfiguration,     /* postconfiguration */

    ngx_kanban_mail_create_conf,           /* create main configuration */
    ngx_kanban_mail_init_conf,             /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_mail_module = {
    NGX_MODULE_V1,
    &ngx_kanban_mail_module_ctx,           /* module context */
    ngx_kanban_mail_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_mail_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_kanban_mail_conf_t *
ngx_kanban_mail_conf(void)
{
    if (ngx_cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NULL;
    }

    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_mail_module);
}


static void *
ngx_kanban_mail_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_mail_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_mail_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->enabled = NGX_CONF_UNSET;
    mcf->starttls = NGX_CONF_UNSET;
    mcf->timeout = NGX_CONF_UNSET_MSEC;
    mcf->backoff = NGX_CONF_UNSET_MSEC;
    mcf->window = NGX_CONF_UNSET_MSEC;
    mcf->sweep = NGX_CONF_UNSET_MSEC;
    mcf->digest = NGX_CONF_UNSET_MSEC;
    mcf->reset_ttl = NGX_CONF_UNSET_MSEC;
    mcf->reset_per_hour = NGX_CONF_UNSET_UINT;
    mcf->concurrency = NGX_CONF_UNSET_UINT;
    mcf->rate = NGX_CONF_UNSET_UINT;

    return mcf;
}


static char *
ngx_kanban_mail_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_mail_conf_t  *mcf = conf;

    ngx_conf_init_value(mcf->enabled, 1);
    ngx_conf_init_value(mcf->starttls, 0);
    ngx_conf_init_msec_value(mcf->timeout, 30000);
    ngx_conf_init_msec_value(mcf->backoff, 60000);
    ngx_conf_init_msec_value(mcf->window, 24 * 60 * 60 * 1000);
    ngx_conf_init_msec_value(mcf->sweep, 5000);
    ngx_conf_init_msec_value(mcf->digest, 24 * 60 * 60 * 1000);
    ngx_conf_init_msec_value(mcf->reset_ttl, 30 * 60 * 1000);
    ngx_conf_init_uint_value(mcf->reset_per_hour, 3);
    ngx_conf_init_uint_value(mcf->concurrency, 4);
    ngx_conf_init_uint_value(mcf->rate, 50);

    if (mcf->from.len == 0) {
        ngx_str_set(&mcf->from, "kanban@localhost");
    }

    if (mcf->server.len
        && ngx_strncasecmp(mcf->server.data, (u_char *) "smtp://", 7) != 0
        && ngx_strncasecmp(mcf->server.data, (u_char *) "smtps://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_mail_server must be smtp:// or smtps://");
        return NGX_CONF_ERROR;
    }

    if (ngx_strlchr(mcf->from.data, mcf->from.data + mcf->from.len, '@')
        == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_mail_from must be an address");
        return NGX_CONF_ERROR;
    }

    if (mcf->timeout == 0 || mcf->sweep < 100 || mcf->digest < 1000
        || mcf->reset_ttl < 1000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_mail_timeout must be above 0, "
                           "kanban_mail_sweep at least 100ms, "
                           "kanban_mail_digest and kanban_mail_reset_ttl "
                           "at least 1s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* kanban_mail_credentials file: "user:password" on its first line */

static char *
ngx_kanban_mail_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_mail_conf_t  *mcf = conf;

    u_char     buf[1024], *colon, *end;
    ssize_t    n;
    ngx_str_t *value;

    value = cf->args->elts;

    n = ngx_kanban_mail_read(cf, &value[1], buf, sizeof(buf));
    if (n < 0) {
        return NGX_CONF_ERROR;
    }

    end = ngx_strlchr(buf, buf + n, '\n');
    end = end ? end : buf + n;

    if (end > buf && end[-1] == '\r') {
        end--;
    }

    colon = ngx_strlchr(buf, end, ':');
    if (colon == NULL || colon == buf) {
        ngx_explicit_memzero(buf, sizeof(buf));
        return "needs a file whose first line is user:password";
    }

    mcf->user.len = colon - buf;
    mcf->password.len = end - colon - 1;
    mcf->user.data = ngx_pstrdup(cf->pool, &(ngx_str_t) { colon - buf, buf });
    mcf->password.data = ngx_pnalloc(cf->pool, mcf->password.len + 1);

    if (mcf->user.data == NULL || mcf->password.data == NULL) {
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(mcf->password.data, colon + 1, mcf->password.len);
    ngx_explicit_memzero(buf, sizeof(buf));

    return NGX_CONF_OK;
}


/* kanban_mail_key file: at least 32 bytes; the key is their SHA-256 */

static char *
ngx_kanban_mail_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_mail_conf_t  *mcf = conf;

    u_char         buf[4096];
    ssize_t        n;
    ngx_str_t     *value;
    unsigned int   len;

    if (mcf->has_key) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_kanban_mail_read(cf, &value[1], buf, sizeof(buf));
    if (n < 0) {
        return NGX_CONF_ERROR;
    }

    if (n < 32) {
        ngx_explicit_memzero(buf, sizeof(buf));
        return "needs a file of at least 32 bytes";
    }

    len = NGX_KANBAN_MAIL_KEY_LEN;

    if (EVP_Digest(buf, n, mcf->key, &len, EVP_sha256(), NULL) != 1) {
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(buf, sizeof(buf));
    mcf->has_key = 1;

    return NGX_CONF_OK;
}


static ssize_t
ngx_kanban_mail_read(ngx_conf_t *cf, ngx_str_t *name, u_char *buf,
    size_t size)
{
    ssize_t     n;
    ngx_str_t   full;
    ngx_file_t  file;

    full = *name;

    if (ngx_conf_full_name(cf->cycle, &full, 1) != NGX_OK) {
        return -1;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = full;
    file.log = cf->log;

    file.fd = ngx_open_file(full.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &full);
        return -1;
    }

    n = ngx_read_file(&file, buf, size, 0);

    ngx_close_file(file.fd);

    if (n == NGX_ERROR) {
        return -1;
    }

    return n;
}


static ngx_int_t
ngx_kanban_mail_postconfiguration(ngx_conf_t *cf)
{
    return ngx_kanban_routes_add(cf, ngx_kanban_mail_routes,
                                 ngx_kanban_mail_nroutes);
}


static ngx_int_t
ngx_kanban_mail_init_process(ngx_cycle_t *cycle)
{
    ngx_kanban_mail_conf_t  *mcf;

    mcf = ngx_kanban_mail_conf();

    if (mcf == NULL || !mcf->enabled || mcf->server.len == 0
        || ngx_kanban_main_conf() == NULL
        || ngx_kanban_main_conf()->catalog.len == 0)
    {
        return NGX_OK;
    }

    return ngx_kanban_mail_send_init_process(cycle, mcf);
}
