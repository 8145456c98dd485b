
/*
 * What every shared-memory zone of the product has in common: the
 * directive's "zone=name:size" parameter, and the zone's slab with its
 * header (the tree and the LRU queue of the module that owns it) made
 * once and found again by later cycles.
 */

#include "ngx_kanban.h"


/* NGX_DECLINED: not a "zone=" parameter; NGX_ERROR: an invalid one;
 * NGX_ABORT: too small (said in the log). */

ngx_int_t
ngx_kanban_shm_zone_param(ngx_conf_t *cf, ngx_str_t *value, ngx_str_t *name,
    ssize_t *size)
{
    u_char     *p;
    ngx_str_t   s;

    if (ngx_strncmp(value->data, "zone=", 5) != 0) {
        return NGX_DECLINED;
    }

    name->data = value->data + 5;

    p = (u_char *) ngx_strchr(name->data, ':');
    if (p == NULL) {
        return NGX_ERROR;
    }

    name->len = p - name->data;

    s.data = p + 1;
    s.len = value->data + value->len - s.data;

    *size = ngx_parse_size(&s);
    if (*size == NGX_ERROR || name->len == 0) {
        return NGX_ERROR;
    }

    if (*size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", value);
        return NGX_ABORT;
    }

    return NGX_OK;
}


/* The zone's header of size bytes: the one an earlier cycle made, or a
 * new one (*fresh: its owner sets it up); what names the zone in the
 * slab's messages. NULL: the slab has no room. */

void *
ngx_kanban_shm_header(ngx_shm_zone_t *zone, size_t size, char *what,
    ngx_uint_t *fresh)
{
    size_t            len;
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    *fresh = 0;

    if (zone->shm.exists) {
        return shpool->data;
    }

    shpool->data = ngx_slab_alloc(shpool, size);
    if (shpool->data == NULL) {
        return NULL;
    }

    len = sizeof(" in  \"\"") + ngx_strlen(what) + zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NULL;
    }

    ngx_sprintf(shpool->log_ctx, " in %s \"%V\"%Z", what, &zone->shm.name);

    shpool->log_nomem = 0;
    *fresh = 1;

    return shpool->data;
}
