
/*
 * ngx_http_kanban_webhooks_module: the webhooks' directives, their routes
 * (a table of the module's own, given to the router at configuration
 * time), the worker's dispatcher, and the sealing of their secrets.
 *
 * A secret is sealed with AES-256-GCM under the key of
 * kanban_webhooks_key (the SHA-256 of the file's contents), so that a
 * dump of a workspace's database alone does not give the secrets away;
 * without a key they are stored as they are.
 */

/* SQL: none of its own */
#include "ngx_kanban_webhooks.h"
#include <openssl/evp.h>
#include <openssl/rand.h>


#define NGX_KANBAN_WEBHOOKS_NONCE   12
#define NGX_KANBAN_WEBHOOKS_TAG     16


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

    if (whcf == NULL || !whcf->enabled || ngx_kanban_main_conf() == NULL
        || ngx_kanban_main_conf()->catalog.len == 0)
    {
        return NGX_OK;
    }

    return ngx_kanban_webhooks_send_init_process(cycle);
}


ngx_int_t
ngx_kanban_webhooks_seal(ngx_pool_t *pool, ngx_str_t *secret,
    ngx_str_t *stored)
{
    int                          len, fin;
    u_char                      *raw, *p;
    size_t                       n;
    ngx_str_t                    src, b64;
    EVP_CIPHER_CTX              *ctx;
    ngx_kanban_webhooks_conf_t  *whcf;

    whcf = ngx_kanban_webhooks_conf();

    if (whcf == NULL || !whcf->has_key) {
        *stored = *secret;
        return NGX_OK;
    }

    n = NGX_KANBAN_WEBHOOKS_NONCE + secret->len + NGX_KANBAN_WEBHOOKS_TAG;

    raw = ngx_pnalloc(pool, n);
    stored->data = ngx_pnalloc(pool, 3 + ngx_base64_encoded_length(n));
    if (raw == NULL || stored->data == NULL) {
        return NGX_ERROR;
    }

    if (RAND_bytes(raw, NGX_KANBAN_WEBHOOKS_NONCE) != 1) {
        return NGX_ERROR;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    p = raw + NGX_KANBAN_WEBHOOKS_NONCE;

    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, whcf->key, raw) != 1
        || EVP_EncryptUpdate(ctx, p, &len, secret->data, secret->len) != 1
        || EVP_EncryptFinal_ex(ctx, p + len, &fin) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                               NGX_KANBAN_WEBHOOKS_TAG, p + len + fin) != 1)
    {
        EVP_CIPHER_CTX_free(ctx);
        return NGX_ERROR;
    }

    EVP_CIPHER_CTX_free(ctx);

    ngx_memcpy(stored->data, "v1:", 3);
    src.data = raw;
    src.len = n;
    b64.data = stored->data + 3;
    ngx_encode_base64(&b64, &src);
    stored->len = 3 + b64.len;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_webhooks_unseal(ngx_pool_t *pool, ngx_str_t *stored,
    ngx_str_t *secret)
{
    int                          len, fin;
    u_char                      *p;
    ngx_str_t                    b64, raw;
    EVP_CIPHER_CTX              *ctx;
    ngx_kanban_webhooks_conf_t  *whcf;

    if (stored->len < 3 || ngx_strncmp(stored->data, "v1:", 3) != 0) {
        *secret = *stored;
        return NGX_OK;
    }

    whcf = ngx_kanban_webhooks_conf();

    if (whcf == NULL || !whcf->has_key) {
        return NGX_DECLINED;
    }

    b64.data = stored->data + 3;
    b64.len = stored->len - 3;

    raw.data = ngx_pnalloc(pool, ngx_base64_decoded_length(b64.len));
    if (raw.data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64(&raw, &b64) != NGX_OK
        || raw.len < NGX_KANBAN_WEBHOOKS_NONCE + NGX_KANBAN_WEBHOOKS_TAG)
    {
        return NGX_DECLINED;
    }

    secret->len = raw.len - NGX_KANBAN_WEBHOOKS_NONCE
                  - NGX_KANBAN_WEBHOOKS_TAG;
    secret->data = ngx_pnalloc(pool, secret->len + 16);
    if (secret->data == NULL) {
        return NGX_ERROR;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    p = raw.data + NGX_KANBAN_WEBHOOKS_NONCE;

    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, whcf->key,
                           raw.data) != 1
        || EVP_DecryptUpdate(ctx, secret->data, &len, p, secret->len) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
                               NGX_KANBAN_WEBHOOKS_TAG,
                               p + secret->len) != 1
        || EVP_DecryptFinal_ex(ctx, secret->data + len, &fin) != 1)
    {
        EVP_CIPHER_CTX_free(ctx);
        return NGX_DECLINED;             /* another key, or tampered with */
    }

    EVP_CIPHER_CTX_free(ctx);

    return NGX_OK;
}
