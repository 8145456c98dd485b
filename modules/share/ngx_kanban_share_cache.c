
/*
 * Share codes to links, in shared memory: the redirect is the product's
 * hottest path, so a code is looked up in PostgreSQL once per ttl and
 * workspace (unknown codes too, so guessing costs the database nothing
 * more), and every worker answers from the same entries. A revoked link
 * is forgotten at once on this node; other nodes see it within ttl.
 * Expiry needs no forgetting: it is judged against the clock on every
 * visit.
 */

#include "ngx_kanban_share.h"


/* the entry's strings, in this order after its fixed part */
#define NGX_KANBAN_SHARE_KEY          0      /* slug "/" code */
#define NGX_KANBAN_SHARE_ID           1
#define NGX_KANBAN_SHARE_URL          2
#define NGX_KANBAN_SHARE_HASH         3
#define NGX_KANBAN_SHARE_SECRET       4
#define NGX_KANBAN_SHARE_NFIELDS      5


typedef struct {
    ngx_rbtree_node_t          node;
    ngx_queue_t                lru;
    ngx_msec_t                 stale;          /* wall clock, ms */
    time_t                     expires;
    uint32_t                   max_visits;
    u_char                     state;
    u_char                     target;
    u_short                    len[NGX_KANBAN_SHARE_NFIELDS];
    u_char                     data[1];
} ngx_kanban_share_node_t;


typedef struct {
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                lru;
} ngx_kanban_share_shctx_t;


typedef struct {
    ngx_kanban_share_shctx_t  *sh;
    ngx_slab_pool_t           *shpool;
} ngx_kanban_share_cache_t;


/* a lookup in PostgreSQL on behalf of a request */
typedef struct {
    ngx_str_t                      key;
    ngx_kanban_share_link_t       *link;
    ngx_kanban_share_resolved_pt   handler;
} ngx_kanban_share_lookup_t;


static ngx_int_t ngx_kanban_share_key(ngx_pool_t *pool, ngx_str_t *slug,
    ngx_str_t *code, ngx_str_t *key);
static ngx_int_t ngx_kanban_share_cache_get(ngx_http_request_t *r,
    ngx_str_t *key, ngx_kanban_share_link_t *link);
static void ngx_kanban_share_cache_put(ngx_str_t *key,
    ngx_kanban_share_link_t *link);
static void ngx_kanban_share_resolved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_share_row(ngx_http_request_t *r, PGresult *res,
    ngx_kanban_share_link_t *link);
static ngx_kanban_share_cache_t *ngx_kanban_share_cache(void);
static ngx_kanban_share_node_t *ngx_kanban_share_lookup(
    ngx_kanban_share_cache_t *cache, ngx_str_t *key, uint32_t hash);
static void ngx_kanban_share_drop(ngx_kanban_share_cache_t *cache,
    ngx_kanban_share_node_t *node);
static ngx_msec_t ngx_kanban_share_now(void);
static void ngx_kanban_share_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_resolve_stmt =
    ngx_kanban_pg_stmt("share_resolve",
    "SELECT id, state, target_type, url, expires, max_visits,"
    "       password_hash, grant_secret"
    "  FROM share_link_resolve($1)");


ngx_int_t
ngx_kanban_share_resolve(ngx_http_request_t *r, ngx_kanban_tenant_t *tenant,
    ngx_str_t *code, ngx_kanban_share_link_t *link,
    ngx_kanban_share_resolved_pt handler)
{
    ngx_str_t                   key;
    ngx_kanban_pg_db_t          db;
    ngx_kanban_pg_query_t      *q;
    ngx_kanban_share_lookup_t  *lk;

    if (ngx_kanban_share_key(r->pool, &tenant->slug, code, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_kanban_share_cache_get(r, &key, link) == NGX_OK) {
        return NGX_OK;
    }

    lk = ngx_palloc(r->pool, sizeof(ngx_kanban_share_lookup_t));
    if (lk == NULL) {
        return NGX_ERROR;
    }

    lk->key = key;
    lk->link = link;
    lk->handler = handler;

    ngx_kanban_pg_tenant_db(tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = lk;

    if (ngx_kanban_pg_run(q, &ngx_kanban_share_resolve_stmt,
                          ngx_kanban_share_resolved, 1, code)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/* An unknown code is cached as such; a database that cannot answer
 * leaves nothing in the cache and the link unavailable. */

static void
ngx_kanban_share_resolved(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_share_lookup_t  *lk;

    lk = q->data;

    ngx_memzero(lk->link, sizeof(ngx_kanban_share_link_t));

    if (q->error != NGX_KANBAN_PG_OK) {
        lk->link->state = NGX_KANBAN_SHARE_UNAVAILABLE;
        lk->handler(r, lk->link);
        return;
    }

    if (PQntuples(q->result) == 1) {
        if (ngx_kanban_share_row(r, q->result, lk->link) != NGX_OK) {
            lk->link->state = NGX_KANBAN_SHARE_UNAVAILABLE;
            lk->handler(r, lk->link);
            return;
        }
    }

    ngx_kanban_share_cache_put(&lk->key, lk->link);

    lk->handler(r, lk->link);
}


static ngx_int_t
ngx_kanban_share_row(ngx_http_request_t *r, PGresult *res,
    ngx_kanban_share_link_t *link)
{
    char        *state, *target;
    ngx_str_t   *s;
    ngx_int_t    n;

    state = PQgetvalue(res, 0, 1);
    target = PQgetvalue(res, 0, 2);

    link->state = ngx_strcmp(state, "active") == 0 ? NGX_KANBAN_SHARE_ACTIVE
                : ngx_strcmp(state, "used_up") == 0 ? NGX_KANBAN_SHARE_USED_UP
                : ngx_strcmp(state, "gone") == 0 ? NGX_KANBAN_SHARE_GONE
                : NGX_KANBAN_SHARE_REVOKED;

    link->target = ngx_strcmp(target, "task") == 0
                   ? NGX_KANBAN_SHARE_TARGET_TASK
                   : ngx_strcmp(target, "project") == 0
                     ? NGX_KANBAN_SHARE_TARGET_PROJECT
                     : NGX_KANBAN_SHARE_TARGET_URL;

    s = ngx_kanban_pg_value(r, res, 0, 0);
    if (s == NULL) {
        return NGX_ERROR;
    }

    link->id = *s;

    s = ngx_kanban_pg_value(r, res, 0, 3);
    if (s) {
        link->url = *s;
    }

    s = ngx_kanban_pg_value(r, res, 0, 4);
    if (s) {
        n = ngx_atotm(s->data, s->len);
        link->expires = n > 0 ? n : 1;      /* before 1970: long expired */
    }

    s = ngx_kanban_pg_value(r, res, 0, 5);
    if (s) {
        n = ngx_atoi(s->data, s->len);
        if (n <= 0) {
            return NGX_ERROR;
        }

        link->max_visits = n;
    }

    s = ngx_kanban_pg_value(r, res, 0, 6);
    if (s) {
        link->password_hash = *s;
    }

    s = ngx_kanban_pg_value(r, res, 0, 7);
    if (s == NULL) {
        return NGX_ERROR;
    }

    link->grant_secret = *s;

    /* the result goes when the handler returns; the link outlives it */
    for (s = &link->id; s <= &link->grant_secret; s++) {
        if (s->len) {
            s->data = ngx_pstrdup(r->pool, s);
            if (s->data == NULL) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* A revoked link, or one used up: the next visit asks PostgreSQL. */

void
ngx_kanban_share_forget(ngx_str_t *slug, ngx_str_t *code)
{
    u_char                     buf[64 + NGX_KANBAN_SHARE_CODE_MAX];
    uint32_t                   hash;
    ngx_str_t                  key;
    ngx_kanban_share_node_t   *node;
    ngx_kanban_share_cache_t  *cache;

    cache = ngx_kanban_share_cache();
    if (cache == NULL || slug->len + 1 + code->len > sizeof(buf)) {
        return;
    }

    key.data = buf;
    key.len = ngx_sprintf(buf, "%V/%V", slug, code) - buf;

    hash = ngx_crc32_short(key.data, key.len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_kanban_share_lookup(cache, &key, hash);
    if (node) {
        ngx_kanban_share_drop(cache, node);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static ngx_int_t
ngx_kanban_share_key(ngx_pool_t *pool, ngx_str_t *slug, ngx_str_t *code,
    ngx_str_t *key)
{
    key->data = ngx_pnalloc(pool, slug->len + 1 + code->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    key->len = ngx_sprintf(key->data, "%V/%V", slug, code) - key->data;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_share_cache_get(ngx_http_request_t *r, ngx_str_t *key,
    ngx_kanban_share_link_t *link)
{
    u_char                    *p, *d;
    uint32_t                   hash;
    ngx_uint_t                 i, total;
    ngx_str_t                 *fields[NGX_KANBAN_SHARE_NFIELDS], skip;
    ngx_kanban_share_node_t   *node;
    ngx_kanban_share_cache_t  *cache;

    cache = ngx_kanban_share_cache();
    if (cache == NULL) {
        return NGX_DECLINED;
    }

    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_kanban_share_lookup(cache, key, hash);

    if (node == NULL || node->stale < ngx_kanban_share_now()) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&node->lru);
    ngx_queue_insert_head(&cache->sh->lru, &node->lru);

    ngx_memzero(link, sizeof(ngx_kanban_share_link_t));

    link->state = node->state;
    link->target = node->target;
    link->expires = node->expires;
    link->max_visits = node->max_visits;

    fields[NGX_KANBAN_SHARE_KEY] = &skip;
    fields[NGX_KANBAN_SHARE_ID] = &link->id;
    fields[NGX_KANBAN_SHARE_URL] = &link->url;
    fields[NGX_KANBAN_SHARE_HASH] = &link->password_hash;
    fields[NGX_KANBAN_SHARE_SECRET] = &link->grant_secret;

    total = 0;
    for (i = 1; i < NGX_KANBAN_SHARE_NFIELDS; i++) {
        total += node->len[i];
    }

    /* one copy for all of them, out of the lock's way quickly */
    d = ngx_pnalloc(r->pool, total);
    if (d == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_ERROR;
    }

    p = node->data + node->len[NGX_KANBAN_SHARE_KEY];

    for (i = 1; i < NGX_KANBAN_SHARE_NFIELDS; i++) {
        fields[i]->data = d;
        fields[i]->len = node->len[i];
        d = ngx_cpymem(d, p, node->len[i]);
        p += node->len[i];
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_OK;
}


static void
ngx_kanban_share_cache_put(ngx_str_t *key, ngx_kanban_share_link_t *link)
{
    u_char                        *p;
    size_t                         size;
    uint32_t                       hash;
    ngx_uint_t                     i;
    ngx_queue_t                   *q;
    ngx_str_t                     *fields[NGX_KANBAN_SHARE_NFIELDS];
    ngx_kanban_share_node_t       *node;
    ngx_kanban_share_cache_t      *cache;
    ngx_kanban_share_main_conf_t  *smcf;

    cache = ngx_kanban_share_cache();
    if (cache == NULL) {
        return;
    }

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_share_module);

    fields[NGX_KANBAN_SHARE_KEY] = key;
    fields[NGX_KANBAN_SHARE_ID] = &link->id;
    fields[NGX_KANBAN_SHARE_URL] = &link->url;
    fields[NGX_KANBAN_SHARE_HASH] = &link->password_hash;
    fields[NGX_KANBAN_SHARE_SECRET] = &link->grant_secret;

    size = offsetof(ngx_kanban_share_node_t, data);
    for (i = 0; i < NGX_KANBAN_SHARE_NFIELDS; i++) {
        if (fields[i]->len > 0xffff) {
            return;
        }

        size += fields[i]->len;
    }

    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_kanban_share_lookup(cache, key, hash);
    if (node) {
        ngx_kanban_share_drop(cache, node);
    }

    node = ngx_slab_alloc_locked(cache->shpool, size);

    /* full: the least recently used entries make room */
    for (i = 0; node == NULL && i < 16 && !ngx_queue_empty(&cache->sh->lru);
         i++)
    {
        q = ngx_queue_last(&cache->sh->lru);
        ngx_kanban_share_drop(cache,
                              ngx_queue_data(q, ngx_kanban_share_node_t, lru));

        node = ngx_slab_alloc_locked(cache->shpool, size);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    node->node.key = hash;
    node->stale = ngx_kanban_share_now() + smcf->ttl;
    node->expires = link->expires;
    node->max_visits = (uint32_t) link->max_visits;
    node->state = (u_char) link->state;
    node->target = (u_char) link->target;

    p = node->data;
    for (i = 0; i < NGX_KANBAN_SHARE_NFIELDS; i++) {
        node->len[i] = (u_short) fields[i]->len;
        p = ngx_cpymem(p, fields[i]->data, fields[i]->len);
    }

    ngx_rbtree_insert(&cache->sh->tree, &node->node);
    ngx_queue_insert_head(&cache->sh->lru, &node->lru);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static ngx_kanban_share_cache_t *
ngx_kanban_share_cache(void)
{
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_share_module);

    if (smcf == NULL || smcf->zone == NULL) {
        return NULL;
    }

    return smcf->zone->data;
}


static ngx_kanban_share_node_t *
ngx_kanban_share_lookup(ngx_kanban_share_cache_t *cache, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                 rc;
    ngx_rbtree_node_t        *node, *sentinel;
    ngx_kanban_share_node_t  *sn;

    node = cache->sh->tree.root;
    sentinel = cache->sh->tree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        sn = (ngx_kanban_share_node_t *) node;

        rc = ngx_memn2cmp(key->data, sn->data, key->len,
                          sn->len[NGX_KANBAN_SHARE_KEY]);
        if (rc == 0) {
            return sn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_kanban_share_drop(ngx_kanban_share_cache_t *cache,
    ngx_kanban_share_node_t *node)
{
    ngx_queue_remove(&node->lru);
    ngx_rbtree_delete(&cache->sh->tree, &node->node);
    ngx_slab_free_locked(cache->shpool, node);
}


static ngx_msec_t
ngx_kanban_share_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (ngx_msec_t) tp->sec * 1000 + tp->msec;
}


ngx_int_t
ngx_kanban_share_cache_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_kanban_share_cache_t  *ocache = data;

    size_t                     len;
    ngx_kanban_share_cache_t  *cache;

    cache = zone->data;

    if (ocache) {
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_kanban_share_shctx_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->tree, &cache->sh->sentinel,
                    ngx_kanban_share_rbtree_insert);
    ngx_queue_init(&cache->sh->lru);

    len = sizeof(" in kanban_share_cache zone \"\"") + zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in kanban_share_cache zone \"%V\"%Z",
                &zone->shm.name);

    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_kanban_share_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t        **p;
    ngx_kanban_share_node_t   *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_kanban_share_node_t *) node;
            b = (ngx_kanban_share_node_t *) temp;

            p = (ngx_memn2cmp(a->data, b->data, a->len[0], b->len[0]) < 0)
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
