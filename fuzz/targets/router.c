
/*
 * The router's path matching: a request path against every pattern of
 * the product's route table, as ngx_kanban_route_find tries them; every
 * path parameter it takes must lie inside the path.
 */

#include "../fuzz.h"
#include "../../ngx_kanban_module/ngx_kanban_router.c"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_str_t          path;
    ngx_uint_t         i, k;
    ngx_pool_t        *pool;
    ngx_kanban_ctx_t   ctx;

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    path.len = size;
    path.data = kanban_fuzz_copy(pool, data, size);
    if (path.data == NULL) {
        goto done;
    }

    for (i = 0; i < ngx_kanban_nroutes; i++) {
        ngx_memzero(&ctx, sizeof(ngx_kanban_ctx_t));

        if (!ngx_kanban_route_match(&ngx_kanban_routes[i], &path, &ctx)) {
            continue;
        }

        if (ctx.nargs > 4) {
            __builtin_trap();
        }

        for (k = 0; k < ctx.nargs; k++) {
            if (ctx.args[k].value.len == 0
                || ctx.args[k].value.data < path.data
                || ctx.args[k].value.data + ctx.args[k].value.len
                   > path.data + path.len
                || ngx_strlchr(ctx.args[k].value.data,
                               ctx.args[k].value.data
                               + ctx.args[k].value.len, '/'))
            {
                __builtin_trap();
            }

            (void) ngx_kanban_arg(&ctx, "id");
        }
    }

done:

    ngx_destroy_pool(pool);

    return 0;
}
