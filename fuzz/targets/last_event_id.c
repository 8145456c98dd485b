
/*
 * Where GET /api/v1/events resumes: the Last-Event-ID header, else
 * ?last_event_id=, and ?project_id=. The input is the query string, then
 * after a newline (if there is one) the header's value.
 */

#include "../fuzz.h"
#include "ngx_kanban_events.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                   *copy, *nl;
    int64_t                   after;
    ngx_uint_t                resume;
    ngx_pool_t               *pool;
    ngx_http_request_t       *r;
    ngx_kanban_events_sub_t  *sub;

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    r = kanban_fuzz_request(pool);
    sub = ngx_pcalloc(pool, sizeof(ngx_kanban_events_sub_t));
    copy = kanban_fuzz_copy(pool, data, size);

    if (r == NULL || sub == NULL || copy == NULL) {
        goto done;
    }

    nl = ngx_strlchr(copy, copy + size, '\n');

    r->args.data = copy;
    r->args.len = (nl ? nl : copy + size) - copy;

    if (nl && kanban_fuzz_header(r, "Last-Event-ID", nl + 1,
                                 copy + size - nl - 1)
              != NGX_OK)
    {
        goto done;
    }

    if (ngx_kanban_events_args(r, sub, &after, &resume) == NULL
        && after < 0)
    {
        __builtin_trap();       /* 18 digits at most: no overflow */
    }

done:

    ngx_destroy_pool(pool);

    return 0;
}
