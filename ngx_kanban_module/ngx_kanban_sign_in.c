
/*
 * The throttle of password sign-ins: once an account or an address has
 * failed too often, a 429 that says when to try again.
 */

#include "ngx_kanban_sign_in.h"


ngx_int_t
ngx_kanban_sign_in_throttled(ngx_http_request_t *r, PGresult *res,
    ngx_int_t account_max, ngx_int_t addr_max)
{
    ngx_int_t   account, addr;
    ngx_str_t  *v, *retry, one = ngx_string("1");

    v = ngx_kanban_pg_value(r, res, 0, 0);
    account = v ? ngx_atoi(v->data, v->len) : 0;
    v = ngx_kanban_pg_value(r, res, 0, 1);
    addr = v ? ngx_atoi(v->data, v->len) : 0;

    if (account < account_max && addr < addr_max) {
        return NGX_DECLINED;
    }

    retry = ngx_kanban_pg_value(r, res, 0, 2);

    /* the oldest failure ages out within the second */
    if (retry == NULL || retry->len == 0 || retry->data[0] == '-'
        || retry->data[0] == '0')
    {
        retry = &one;

    } else {
        retry->data = ngx_pstrdup(r->pool, retry);
        if (retry->data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_kanban_add_header(r, "Retry-After", retry) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_RATE_LIMITED,
                              "Too many failed sign-ins; wait and try "
                              "again.");
}
