
/*
 * A workspace's slug: lower-case letters, digits and inner hyphens,
 * 3 to 32 of them, a letter first (sql/catalog/001_tenants.sql checks the
 * same).
 */

/* SQL: none */
#include "ngx_kanban_tenant_slug.h"


/* ^[a-z][a-z0-9-]{1,30}[a-z0-9]$ */

ngx_uint_t
ngx_kanban_slug_valid(ngx_str_t *slug)
{
    u_char      c;
    ngx_uint_t  i;

    if (slug->len < 3 || slug->len > 32) {
        return 0;
    }

    for (i = 0; i < slug->len; i++) {
        c = slug->data[i];

        if (c >= 'a' && c <= 'z') {
            continue;
        }

        if (i > 0 && ((c >= '0' && c <= '9')
                      || (c == '-' && i < slug->len - 1)))
        {
            continue;
        }

        return 0;
    }

    return 1;
}
