
/*
 * The JSON reader (yajl into a tree, depth-limited) and the validator of
 * request bodies: the input is parsed as any body is, then checked against
 * the body of every route of the product's table, and each finding's field
 * path is written out by the JSON writer, as a 422 would.
 */

#include "../fuzz.h"
#include <ngx_kanban_json.h>
#include <ngx_kanban_routes.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                      *error;
    u_char                    *body;
    ngx_str_t                  out;
    ngx_uint_t                 i, k;
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

    for (i = 0; i < ngx_kanban_nroutes; i++) {
        route = &ngx_kanban_routes[i];

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

done:

    ngx_destroy_pool(pool);

    return 0;
}
