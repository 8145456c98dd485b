
/*
 * The router's path matching: a request path against every pattern of
 * every module's route table, as ngx_kanban_route_find tries them; every
 * path parameter it takes must lie inside the path, and a path a route
 * matches has the key the worker's index files that route under (its
 * first three segments), unless the route's key has a parameter.
 */

#include "../fuzz.h"
#include "../../ngx_kanban_module/ngx_kanban_router.c"
#include "../../modules/tenant/ngx_kanban_tenant_routes.c"
#include "../../modules/auth/ngx_kanban_auth_routes.c"
#include "../../modules/share/ngx_kanban_share_routes.c"
#include "../../modules/analytics/ngx_kanban_analytics_routes.c"
#include "../../modules/users/ngx_kanban_users_routes.c"
#include "../../modules/kanban/ngx_kanban_kanban_routes.c"
#include "../../modules/timesheet/ngx_kanban_timesheet_routes.c"
#include "../routes.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_str_t            path, key, route_key;
    ngx_uint_t           i, k, t;
    ngx_pool_t          *pool;
    ngx_kanban_ctx_t     ctx;
    ngx_kanban_route_t  *route;

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    path.len = size;
    path.data = kanban_fuzz_copy(pool, data, size);
    if (path.data == NULL) {
        goto done;
    }

    for (t = 0; t < kanban_fuzz_ntables; t++) {
        for (i = 0; i < kanban_fuzz_tables[t].n; i++) {
            route = &kanban_fuzz_tables[t].routes[i];
            ngx_memzero(&ctx, sizeof(ngx_kanban_ctx_t));

            if (!ngx_kanban_route_match(route, 0, ngx_strlen(route->pattern),
                                        &path, &ctx))
            {
                continue;
            }

            ngx_kanban_route_key(path.data, path.len, &key);
            ngx_kanban_route_key((u_char *) route->pattern,
                                 ngx_strlen(route->pattern), &route_key);

            if (ngx_strlchr(route_key.data, route_key.data + route_key.len,
                            '{') == NULL
                && (key.len != route_key.len
                    || ngx_memcmp(key.data, route_key.data, key.len) != 0))
            {
                __builtin_trap();
            }

            /* the router starts a keyed route's match after the key:
             * it must find what the whole match found */
            if (ngx_strlchr(route_key.data, route_key.data + route_key.len,
                            '{') == NULL
                && !ngx_kanban_route_match(route, route_key.len,
                                           ngx_strlen(route->pattern),
                                           &path, &ctx))
            {
                __builtin_trap();
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
    }

done:

    ngx_destroy_pool(pool);

    return 0;
}
