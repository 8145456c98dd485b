
/*
 * A webhook's URL (POST and PATCH /api/v1/webhooks): http(s), a host, no
 * user, no blanks, and a literal address that is not private, loopback,
 * link-local or reserved. Share links' URLs are checked by a pattern in
 * PostgreSQL (sql/tenant/011_share_links.sql), no C of ours.
 */

#include "../fuzz.h"
#include "../../modules/webhooks/ngx_kanban_webhooks_api.c"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char        *message;
    ngx_str_t    url;
    ngx_pool_t  *pool;

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    url.len = size;
    url.data = kanban_fuzz_copy(pool, data, size);

    if (url.data != NULL) {
        message = NULL;
        if (ngx_kanban_webhooks_url_check(&url, &message) != NULL
            && message == NULL)
        {
            __builtin_trap();   /* every refusal says why */
        }

        (void) ngx_kanban_cors_origin_check(&url, &message);
    }

    ngx_destroy_pool(pool);

    return 0;
}
