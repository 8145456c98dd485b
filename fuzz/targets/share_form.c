
/*
 * The body of POST /s/{code} (a protected link's password): a form
 * (password=..., '+' and %XX decoded) or JSON ({"password": ...}), split
 * in two buffers as a chunked body arrives, and ended as nginx ends one:
 * by an empty last buffer with no memory at all (pos NULL), which
 * fuzz/regressions/share_form/ keeps (UBSan's memcpy from NULL, fixed).
 * The first input byte picks the media type and where the body splits.
 */

#include "../fuzz.h"
#include "../../modules/share/ngx_kanban_share_password.c"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                   split;
    u_char                  *body;
    ngx_buf_t               *b1, *b2, *b3;
    ngx_pool_t              *pool;
    ngx_chain_t             *c1, *c2, *c3;
    ngx_table_elt_t          type;
    ngx_http_request_t      *r;
    ngx_kanban_share_ctx_t  *ctx;

    static ngx_str_t  types[] = {
        ngx_string("application/x-www-form-urlencoded"),
        ngx_string("application/json"),
        ngx_string("application/x-www-form-urlencoded; charset=utf-8"),
        ngx_string("text/plain"),
    };

    if (size < 1) {
        return 0;
    }

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    r = kanban_fuzz_request(pool);
    ctx = ngx_pcalloc(pool, sizeof(ngx_kanban_share_ctx_t));
    r->request_body = ngx_pcalloc(pool, sizeof(ngx_http_request_body_t));
    body = kanban_fuzz_copy(pool, data + 1, size - 1);
    b1 = ngx_calloc_buf(pool);
    b2 = ngx_calloc_buf(pool);
    b3 = ngx_calloc_buf(pool);
    c1 = ngx_alloc_chain_link(pool);
    c2 = ngx_alloc_chain_link(pool);
    c3 = ngx_alloc_chain_link(pool);

    if (r == NULL || ctx == NULL || r->request_body == NULL || body == NULL
        || b1 == NULL || b2 == NULL || b3 == NULL || c1 == NULL
        || c2 == NULL || c3 == NULL)
    {
        goto done;
    }

    ngx_memzero(&type, sizeof(ngx_table_elt_t));
    type.value = types[data[0] & 3];
    r->headers_in.content_type = &type;

    split = (size - 1) ? (data[0] >> 2) % (size - 1) : 0;

    b1->pos = body;
    b1->last = body + split;
    b1->memory = 1;
    b2->pos = body + split;
    b2->last = body + size - 1;
    b2->memory = 1;

    c1->buf = b1;
    c1->next = c2;
    c2->buf = b2;
    c2->next = c3;
    b3->last_buf = 1;           /* pos and last NULL */
    c3->buf = b3;
    c3->next = NULL;
    r->request_body->bufs = c1;

    if (ngx_kanban_share_password_of(r, ctx) == NGX_OK
        && ctx->password.len > NGX_KANBAN_SHARE_BODY_MAX)
    {
        __builtin_trap();
    }

done:

    ngx_destroy_pool(pool);

    return 0;
}
