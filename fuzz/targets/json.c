
/*
 * The JSON reader (yajl into a tree, depth-limited) and the validator of
 * request bodies: the input is parsed as any body is, then checked against
 * the body of every route of the modules' tables, and each finding's field
 * path is written out by the JSON writer, as a 422 would.
 */

#include "../fuzz.h"
#include <ngx_kanban_json.h>
#include <ngx_kanban_routes.h>
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
    char                      *error;
    u_char                    *body;
    ngx_str_t                  out;
    ngx_uint_t                 i, k, t;
    ngx_pool_t                *pool;
    ngx_array_t               *errors;
    ngx_kanban_jw_t            jw;
    ngx_kanban_json_t         *root;
    ngx_kanban_route_t        *route;
    ngx_kanban_field_error_t  *e;

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    body = kanban_fuzz_copy(pool, data, size);

    if (body == NULL
        || ngx_kanban_json_parse(pool, body, size, &root, &error) != NGX_OK)
    {
        goto done;
    }

    for (t = 0; t < kanban_fuzz_ntables; t++) {
        for (i = 0; i < kanban_fuzz_tables[t].n; i++) {
            route = &kanban_fuzz_tables[t].routes[i];

            if (route->body == NULL || route->body == ngx_kanban_raw_body) {
                continue;
            }

            if (ngx_kanban_validate(pool, root, route->body, &errors)
                != NGX_DECLINED)
            {
                continue;
            }

            if (ngx_kanban_jw_init(&jw, pool, 64) != NGX_OK) {
                goto done;
            }

            ngx_kanban_jw_open(&jw, '[');
            e = errors->elts;

            for (k = 0; k < errors->nelts; k++) {
                ngx_kanban_jw_open(&jw, '{');
                ngx_kanban_jw_key(&jw, "field");
                ngx_kanban_jw_string(&jw, &e[k].field);
                ngx_kanban_jw_key(&jw, "code");
                ngx_kanban_jw_cstring(&jw, e[k].code);
                ngx_kanban_jw_close(&jw, '}');
            }

            ngx_kanban_jw_close(&jw, ']');
            (void) ngx_kanban_jw_result(&jw, &out);
        }
    }

done:

    ngx_destroy_pool(pool);

    return 0;
}
