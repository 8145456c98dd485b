
/*
 * Shared-memory caches (ngx_kanban_cache.h). An entry is laid out as its
 * fixed part, then its numbers, the lengths of its strings, its key and
 * its strings; every access holds the zone's mutex only for a lookup and
 * one copy.
 */

#include "ngx_kanban_cache.h"


typedef struct {
    ngx_rbtree_node_t          node;
    ngx_queue_t                lru;
    ngx_msec_t                 stale;          /* wall clock, ms */
    ngx_msec_t                 refreshing;     /* claimed at, ms; 0: not */
    u_short                    key_len;
    u_char                     nfields;
    u_char                     nnumbers;
    u_char                     data[1];
} ngx_kanban_cache_node_t;


typedef struct {
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                lru;
    ngx_uint_t                 forgets;        /* ever, of any key */
} ngx_kanban_cache_sh_t;


typedef struct {
    ngx_kanban_cache_sh_t     *sh;
    ngx_slab_pool_t           *shpool;
} ngx_kanban_cache_t;


static ngx_int_t ngx_kanban_cache_read(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_pool_t *pool, ngx_kanban_cache_value_t *value, ngx_msec_t ahead,
    ngx_msec_t *claim);
static ngx_int_t ngx_kanban_cache_store(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl, ngx_kanban_cache_value_t *value, ngx_int_t keep,
    int64_t n, ngx_msec_t claim, ngx_int_t since);
static ngx_int_t ngx_kanban_cache_init_zone(ngx_shm_zone_t *zone, void *data);
static ngx_kanban_cache_node_t *ngx_kanban_cache_lookup(
    ngx_kanban_cache_t *cache, ngx_str_t *key, uint32_t hash);
static void ngx_kanban_cache_drop(ngx_kanban_cache_t *cache,
    ngx_kanban_cache_node_t *node);
static u_char *ngx_kanban_cache_key(ngx_kanban_cache_node_t *node);
static ngx_msec_t ngx_kanban_cache_now(void);
static void ngx_kanban_cache_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


ngx_int_t
ngx_kanban_cache_get(ngx_shm_zone_t *zone, ngx_str_t *key, ngx_pool_t *pool,
    ngx_kanban_cache_value_t *value)
{
    return ngx_kanban_cache_read(zone, key, pool, value, 0, NULL);
}


ngx_int_t
ngx_kanban_cache_get_ahead(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_pool_t *pool, ngx_kanban_cache_value_t *value, ngx_msec_t ahead,
    ngx_msec_t *claim)
{
    *claim = 0;

    return ngx_kanban_cache_read(zone, key, pool, value, ahead, claim);
}


/* ahead: how long before its end an entry asks to be refreshed; the
 * first reader then claims it, under the mutex, so that one worker of
 * all refreshes it */

static ngx_int_t
ngx_kanban_cache_read(ngx_shm_zone_t *zone, ngx_str_t *key, ngx_pool_t *pool,
    ngx_kanban_cache_value_t *value, ngx_msec_t ahead, ngx_msec_t *claim)
{
    u_char                   *p, *d;
    size_t                    total;
    u_short                   lens[NGX_KANBAN_CACHE_MAX_FIELDS];
    ngx_msec_t                now;
    ngx_uint_t                i;
    ngx_kanban_cache_t       *cache;
    ngx_kanban_cache_node_t  *node;

    cache = zone->data;
    now = ngx_kanban_cache_now();

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_kanban_cache_lookup(cache, key,
                                   ngx_crc32_short(key->data, key->len));

    if (node == NULL || node->stale < now) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    if (claim && node->stale - now < ahead
        && (node->refreshing == 0
            || now - node->refreshing > NGX_KANBAN_CACHE_CLAIM_LOST))
    {
        node->refreshing = now;
        *claim = now;
    }

    /* a hot entry is the head already: no write to the shared lines
     * every worker reads */
    if (ngx_queue_head(&cache->sh->lru) != &node->lru) {
        ngx_queue_remove(&node->lru);
        ngx_queue_insert_head(&cache->sh->lru, &node->lru);
    }

    value->nnumbers = node->nnumbers;
    value->nfields = node->nfields;

    p = node->data;
    ngx_memcpy(value->numbers, p, node->nnumbers * sizeof(int64_t));
    p += node->nnumbers * sizeof(int64_t);

    ngx_memcpy(lens, p, node->nfields * sizeof(u_short));
    p += node->nfields * sizeof(u_short) + node->key_len;

    total = 0;
    for (i = 0; i < node->nfields; i++) {
        total += lens[i];
    }

    /* one copy for all of them */
    d = ngx_pnalloc(pool, total + 1);
    if (d == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(d, p, total);

    ngx_shmtx_unlock(&cache->shpool->mutex);

    for (i = 0; i < value->nfields; i++) {
        value->fields[i].data = d;
        value->fields[i].len = lens[i];
        d += lens[i];
    }

    return NGX_OK;
}


void
ngx_kanban_cache_put(ngx_shm_zone_t *zone, ngx_str_t *key, ngx_msec_t ttl,
    ngx_kanban_cache_value_t *value)
{
    (void) ngx_kanban_cache_store(zone, key, ttl, value, -1, 0, 0, -1);
}


void
ngx_kanban_cache_put_unless(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl, ngx_kanban_cache_value_t *value, ngx_uint_t i, int64_t n)
{
    (void) ngx_kanban_cache_store(zone, key, ttl, value, (ngx_int_t) i, n, 0,
                                  -1);
}


ngx_int_t
ngx_kanban_cache_put_claimed(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl, ngx_kanban_cache_value_t *value, ngx_msec_t claim)
{
    return ngx_kanban_cache_store(zone, key, ttl, value, -1, 0, claim, -1);
}


ngx_int_t
ngx_kanban_cache_put_since(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl, ngx_kanban_cache_value_t *value, ngx_uint_t forgets)
{
    return ngx_kanban_cache_store(zone, key, ttl, value, -1, 0, 0,
                                  (ngx_int_t) forgets);
}


/* How many forgets the zone has had: read before a lookup, given to
 * ngx_kanban_cache_put_since with its answer. */

ngx_uint_t
ngx_kanban_cache_forgets(ngx_shm_zone_t *zone)
{
    ngx_uint_t           n;
    ngx_kanban_cache_t  *cache;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);
    n = cache->sh->forgets;
    ngx_shmtx_unlock(&cache->shpool->mutex);

    return n;
}


/* keep: the index of a number that, equal to n in a fresh entry, keeps
 * that entry; -1 for none. claim: put only over the entry that still
 * carries this claim (not one forgotten, put again or claimed anew since
 * the refresh began); 0 for any. since: put only if the zone has had
 * exactly that many forgets (none while the answer was looked up); -1
 * for any. NGX_OK when put. */

static ngx_int_t
ngx_kanban_cache_store(ngx_shm_zone_t *zone, ngx_str_t *key, ngx_msec_t ttl,
    ngx_kanban_cache_value_t *value, ngx_int_t keep, int64_t n,
    ngx_msec_t claim, ngx_int_t since)
{
    int64_t                   old;
    u_char                   *p;
    size_t                    size;
    uint32_t                  hash;
    u_short                   len;
    ngx_uint_t                i;
    ngx_queue_t              *q;
    ngx_kanban_cache_t       *cache;
    ngx_kanban_cache_node_t  *node;

    cache = zone->data;

    if (key->len > 0xffff || value->nfields > NGX_KANBAN_CACHE_MAX_FIELDS
        || value->nnumbers > NGX_KANBAN_CACHE_MAX_NUMBERS)
    {
        return NGX_DECLINED;
    }

    size = offsetof(ngx_kanban_cache_node_t, data)
           + value->nnumbers * sizeof(int64_t)
           + value->nfields * sizeof(u_short) + key->len;

    for (i = 0; i < value->nfields; i++) {
        if (value->fields[i].len > 0xffff) {
            return NGX_DECLINED;
        }

        size += value->fields[i].len;
    }

    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    if (since >= 0 && cache->sh->forgets != (ngx_uint_t) since) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    node = ngx_kanban_cache_lookup(cache, key, hash);

    if (claim && (node == NULL || node->refreshing != claim)) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    if (node) {
        if (keep >= 0 && keep < node->nnumbers
            && node->stale >= ngx_kanban_cache_now())
        {
            ngx_memcpy(&old, node->data + keep * sizeof(int64_t),
                       sizeof(int64_t));

            if (old == n) {
                ngx_shmtx_unlock(&cache->shpool->mutex);
                return NGX_DECLINED;
            }
        }

        ngx_kanban_cache_drop(cache, node);
    }

    node = ngx_slab_alloc_locked(cache->shpool, size);

    /* full: the least recently used entries make room */
    for (i = 0; node == NULL && i < 16 && !ngx_queue_empty(&cache->sh->lru);
         i++)
    {
        q = ngx_queue_last(&cache->sh->lru);
        ngx_kanban_cache_drop(cache,
                              ngx_queue_data(q, ngx_kanban_cache_node_t, lru));

        node = ngx_slab_alloc_locked(cache->shpool, size);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    node->node.key = hash;
    node->stale = ngx_kanban_cache_now() + ttl;
    node->refreshing = 0;
    node->key_len = (u_short) key->len;
    node->nfields = (u_char) value->nfields;
    node->nnumbers = (u_char) value->nnumbers;

    p = ngx_cpymem(node->data, value->numbers,
                   value->nnumbers * sizeof(int64_t));

    for (i = 0; i < value->nfields; i++) {
        len = (u_short) value->fields[i].len;
        p = ngx_cpymem(p, &len, sizeof(u_short));
    }

    p = ngx_cpymem(p, key->data, key->len);

    /* a NULL field has no data: memcpy from NULL is undefined, even of 0 */
    for (i = 0; i < value->nfields; i++) {
        if (value->fields[i].len) {
            p = ngx_cpymem(p, value->fields[i].data, value->fields[i].len);
        }
    }

    ngx_rbtree_insert(&cache->sh->tree, &node->node);
    ngx_queue_insert_head(&cache->sh->lru, &node->lru);

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_OK;
}


void
ngx_kanban_cache_forget(ngx_shm_zone_t *zone, ngx_str_t *key)
{
    ngx_kanban_cache_t       *cache;
    ngx_kanban_cache_node_t  *node;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    /* a lookup under way puts no answer older than this forget */
    cache->sh->forgets++;

    node = ngx_kanban_cache_lookup(cache, key,
                                   ngx_crc32_short(key->data, key->len));
    if (node) {
        ngx_kanban_cache_drop(cache, node);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static ngx_kanban_cache_node_t *
ngx_kanban_cache_lookup(ngx_kanban_cache_t *cache, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                 rc;
    ngx_rbtree_node_t        *node, *sentinel;
    ngx_kanban_cache_node_t  *cn;

    node = cache->sh->tree.root;
    sentinel = cache->sh->tree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        cn = (ngx_kanban_cache_node_t *) node;

        rc = ngx_memn2cmp(key->data, ngx_kanban_cache_key(cn), key->len,
                          cn->key_len);
        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_kanban_cache_drop(ngx_kanban_cache_t *cache, ngx_kanban_cache_node_t *node)
{
    ngx_queue_remove(&node->lru);
    ngx_rbtree_delete(&cache->sh->tree, &node->node);
    ngx_slab_free_locked(cache->shpool, node);
}


static u_char *
ngx_kanban_cache_key(ngx_kanban_cache_node_t *node)
{
    return node->data + node->nnumbers * sizeof(int64_t)
           + node->nfields * sizeof(u_short);
}


/* Shared by every worker, so a clock every worker reads the same way. */

static ngx_msec_t
ngx_kanban_cache_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (ngx_msec_t) tp->sec * 1000 + tp->msec;
}


static void
ngx_kanban_cache_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t        **p;
    ngx_kanban_cache_node_t   *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_kanban_cache_node_t *) node;
            b = (ngx_kanban_cache_node_t *) temp;

            p = (ngx_memn2cmp(ngx_kanban_cache_key(a), ngx_kanban_cache_key(b),
                              a->key_len, b->key_len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_int_t
ngx_kanban_cache_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_kanban_cache_t  *ocache = data;

    ngx_uint_t           fresh;
    ngx_kanban_cache_t  *cache;

    cache = zone->data;

    if (ocache) {
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) zone->shm.addr;
    cache->sh = ngx_kanban_shm_header(zone, sizeof(ngx_kanban_cache_sh_t),
                                      "kanban cache zone", &fresh);
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    if (fresh) {
        ngx_rbtree_init(&cache->sh->tree, &cache->sh->sentinel,
                        ngx_kanban_cache_rbtree_insert);
        ngx_queue_init(&cache->sh->lru);
        cache->sh->forgets = 0;
    }

    return NGX_OK;
}


/* The directive's "zone=name:size [ttl=time]". */

char *
ngx_kanban_cache_conf(ngx_conf_t *cf, void *tag, ngx_shm_zone_t **zone,
    ngx_msec_t *ttl)
{
    ssize_t              size;
    ngx_int_t            rc;
    ngx_str_t           *value, name, s;
    ngx_uint_t           i;
    ngx_kanban_cache_t  *cache;

    if (*zone) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = 0;
    ngx_str_null(&name);

    for (i = 1; i < cf->args->nelts; i++) {

        rc = ngx_kanban_shm_zone_param(cf, &value[i], &name, &size);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (rc == NGX_ABORT) {
            return NGX_CONF_ERROR;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            *ttl = ngx_parse_time(&s, 0);
            if (*ttl == (ngx_msec_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the \"zone\" parameter is missing");
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    *zone = ngx_shared_memory_add(cf, &name, size, tag);
    if (*zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if ((*zone)->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    (*zone)->init = ngx_kanban_cache_init_zone;
    (*zone)->data = cache;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}
