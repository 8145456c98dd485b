
/*
 * The shims of fuzz.h: nginx set up just enough, once a process.
 */

#include "fuzz.h"


static ngx_log_t        kanban_fuzz_log;
static ngx_open_file_t  kanban_fuzz_log_file;
static ngx_cycle_t      kanban_fuzz_cycle;
static void            *kanban_fuzz_conf[256];


ngx_log_t *
kanban_fuzz_init(void)
{
    static ngx_uint_t  done;

    if (done) {
        return &kanban_fuzz_log;
    }

    done = 1;

    ngx_pagesize = getpagesize();
    for (ngx_pagesize_shift = 0; (1 << ngx_pagesize_shift) < ngx_pagesize;
         ngx_pagesize_shift++) { /* void */ }
    ngx_cacheline_size = NGX_CPU_CACHE_LINE;

    ngx_time_init();

    /* only an emergency would be written, to stderr */
    kanban_fuzz_log_file.fd = ngx_stderr;
    kanban_fuzz_log.file = &kanban_fuzz_log_file;
    kanban_fuzz_log.log_level = NGX_LOG_EMERG;

    /* the static modules' indexes; no configuration: every conf is NULL */
    (void) ngx_preinit_modules();

    kanban_fuzz_cycle.log = &kanban_fuzz_log;
    kanban_fuzz_cycle.conf_ctx = (void ****) kanban_fuzz_conf;
    ngx_cycle = &kanban_fuzz_cycle;

    return &kanban_fuzz_log;
}


ngx_http_request_t *
kanban_fuzz_request(ngx_pool_t *pool)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    if (c == NULL || r == NULL) {
        return NULL;
    }

    c->log = pool->log;
    c->pool = pool;

    r->pool = pool;
    r->connection = c;

    /* modules' ctx_index are 0 here: one slot serves */
    r->ctx = ngx_pcalloc(pool, sizeof(void *) * 256);
    if (r->ctx == NULL) {
        return NULL;
    }

    if (ngx_list_init(&r->headers_in.headers, pool, 8,
                      sizeof(ngx_table_elt_t))
        != NGX_OK
        || ngx_list_init(&r->headers_out.headers, pool, 8,
                         sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        return NULL;
    }

    return r;
}


ngx_int_t
kanban_fuzz_header(ngx_http_request_t *r, char *name, u_char *value,
    size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(h, sizeof(ngx_table_elt_t));
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->lowcase_key = h->key.data;
    h->hash = 1;
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


/* The input in an allocation of its own size, not NUL-terminated (nginx's
 * buffers are not): with NGX_DEBUG_PALLOC, ASan sees a read past its end. */

u_char *
kanban_fuzz_copy(ngx_pool_t *pool, const uint8_t *data, size_t size)
{
    u_char  *p;

    p = ngx_pnalloc(pool, size ? size : 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, data, size);

    return p;
}
