
/*
 * ngx_http_kanban_tenant_module: which workspace a request is for.
 *
 * kanban_tenant takes a value (typically a server_name capture), looks the
 * slug up in the catalog and keeps the answer in a shared-memory cache for
 * kanban_tenant_cache's ttl, unknown slugs too, so that a flood of made-up
 * hosts costs the catalog one query per slug and ttl and never touches a
 * tenant database. Unknown is 404 tenant_not_found, suspended 403
 * tenant_suspended.
 */

#include "ngx_kanban_pg.h"


#define NGX_KANBAN_TENANT_UNKNOWN    0
#define NGX_KANBAN_TENANT_ACTIVE     1
#define NGX_KANBAN_TENANT_SUSPENDED  2


typedef struct {
    ngx_rbtree_node_t          node;
    ngx_queue_t                lru;
    ngx_msec_t                 expires;        /* wall clock, ms */
    ngx_uint_t                 status;
    u_short                    len[5];         /* slug id name db dsn */
    u_char                     data[1];
} ngx_kanban_tenant_node_t;


typedef struct {
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                lru;
} ngx_kanban_tenant_shctx_t;


typedef struct {
    ngx_shm_zone_t            *zone;
    ngx_msec_t                 ttl;
    ngx_uint_t                 used;
} ngx_kanban_tenant_main_conf_t;


typedef struct {
    ngx_http_complex_value_t  *value;
} ngx_kanban_tenant_loc_conf_t;


typedef struct {
    ngx_kanban_tenant_t        tenant;
    ngx_uint_t                 status;
    ngx_uint_t                 resolved;
    ngx_uint_t                 unavailable;
} ngx_kanban_tenant_ctx_t;


typedef struct {
    ngx_kanban_tenant_shctx_t  *sh;
    ngx_slab_pool_t            *shpool;
} ngx_kanban_tenant_cache_t;


static ngx_int_t ngx_kanban_tenant_handler(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_tenant_answer(ngx_http_request_t *r,
    ngx_kanban_tenant_ctx_t *ctx);
static void ngx_kanban_tenant_resolved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_tenant_cache_get(ngx_http_request_t *r,
    ngx_str_t *slug, ngx_kanban_tenant_ctx_t *ctx);
static void ngx_kanban_tenant_cache_put(ngx_kanban_tenant_ctx_t *ctx);
static ngx_kanban_tenant_node_t *ngx_kanban_tenant_lookup(
    ngx_kanban_tenant_cache_t *cache, ngx_str_t *slug, uint32_t hash);
static ngx_msec_t ngx_kanban_tenant_now(void);
static ngx_int_t ngx_kanban_tenant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_kanban_tenant_init_zone(ngx_shm_zone_t *zone,
    void *data);
static void ngx_kanban_tenant_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static char *ngx_kanban_tenant_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_kanban_tenant_value(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_kanban_tenant_create_main_conf(ngx_conf_t *cf);
static char *ngx_kanban_tenant_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_kanban_tenant_create_loc_conf(ngx_conf_t *cf);
static char *ngx_kanban_tenant_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_kanban_tenant_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_tenant_init(ngx_conf_t *cf);


static ngx_kanban_pg_stmt_t  ngx_kanban_tenant_by_slug = ngx_kanban_pg_stmt(
    "tenant_by_slug",
    "SELECT id, slug, name, db_name, db_dsn, status"
    "  FROM tenants WHERE slug = $1 AND status <> 'provisioning'");


static ngx_command_t  ngx_kanban_tenant_commands[] = {

    { ngx_string("kanban_tenant"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_kanban_tenant_value,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_tenant_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_kanban_tenant_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_tenant_module_ctx = {
    ngx_kanban_tenant_add_variables,       /* preconfiguration */
    ngx_kanban_tenant_init,                /* postconfiguration */

    ngx_kanban_tenant_create_main_conf,    /* create main configuration */
    ngx_kanban_tenant_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_tenant_create_loc_conf,     /* create location configuration */
    ngx_kanban_tenant_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_tenant_module = {
    NGX_MODULE_V1,
    &ngx_kanban_tenant_module_ctx,         /* module context */
    ngx_kanban_tenant_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_kanban_tenant_var_name = ngx_string("kanban_tenant");


ngx_kanban_tenant_t *
ngx_kanban_tenant(ngx_http_request_t *r)
{
    ngx_kanban_tenant_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_tenant_module);

    if (ctx == NULL || !ctx->resolved
        || ctx->status != NGX_KANBAN_TENANT_ACTIVE)
    {
        return NULL;
    }

    return &ctx->tenant;
}


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


static ngx_int_t
ngx_kanban_tenant_handler(ngx_http_request_t *r)
{
    ngx_str_t                       slug;
    ngx_kanban_pg_db_t              db;
    ngx_kanban_pg_query_t          *q;
    ngx_kanban_tenant_ctx_t        *ctx;
    ngx_kanban_tenant_loc_conf_t   *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_tenant_module);

    if (tlcf->value == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_tenant_module);

    if (ctx) {
        if (!ctx->resolved) {
            return NGX_DONE;          /* still waiting for the catalog */
        }

        return ngx_kanban_tenant_answer(r, ctx);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_kanban_tenant_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_kanban_tenant_module);
    ngx_kanban_log_request_id(r);

    if (ngx_http_complex_value(r, tlcf->value, &slug) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_kanban_slug_valid(&slug)) {
        /* not a slug any workspace can have: no need to ask */
        ctx->resolved = 1;
        return ngx_kanban_tenant_answer(r, ctx);
    }

    if (ngx_kanban_tenant_cache_get(r, &slug, ctx) == NGX_OK) {
        ngx_kanban_metrics_tenant_lookup(1);
        ctx->resolved = 1;
        return ngx_kanban_tenant_answer(r, ctx);
    }

    ngx_kanban_metrics_tenant_lookup(0);

    ctx->tenant.slug.data = ngx_pstrdup(r->pool, &slug);
    if (ctx->tenant.slug.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->tenant.slug.len = slug.len;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_tenant_by_slug,
                             ngx_kanban_tenant_resolved, 1, &ctx->tenant.slug)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


static ngx_int_t
ngx_kanban_tenant_answer(ngx_http_request_t *r, ngx_kanban_tenant_ctx_t *ctx)
{
    if (ctx->unavailable) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE,
                                  "The workspace directory is unavailable; "
                                  "try again shortly.");
    }

    switch (ctx->status) {

    case NGX_KANBAN_TENANT_ACTIVE:
        return NGX_DECLINED;

    case NGX_KANBAN_TENANT_SUSPENDED:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TENANT_SUSPENDED, NULL);

    default:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TENANT_NOT_FOUND, NULL);
    }
}


static void
ngx_kanban_tenant_resolved(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t                *v, *status;
    ngx_uint_t                i;
    ngx_kanban_tenant_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_tenant_module);

    ctx->resolved = 1;

    if (q->error != NGX_KANBAN_PG_OK) {
        if (q->error == NGX_KANBAN_PG_SQL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kanban: tenant lookup failed: %s",
                          PQresultErrorMessage(q->result));
        }

        ctx->unavailable = 1;

    } else if (PQntuples(q->result) == 1) {
        ngx_str_t  *fields[] = { &ctx->tenant.id, &ctx->tenant.slug,
                                 &ctx->tenant.name, &ctx->tenant.db_name,
                                 &ctx->tenant.db_dsn };

        for (i = 0; i < 5; i++) {
            v = ngx_kanban_pg_value(r, q->result, 0, i);
            if (v == NULL) {
                continue;
            }

            /* the result is cleared after this handler: keep copies */
            fields[i]->data = ngx_pstrdup(r->pool, v);
            fields[i]->len = fields[i]->data ? v->len : 0;
        }

        status = ngx_kanban_pg_value(r, q->result, 0, 5);

        ctx->status = (status && status->len == 6
                       && ngx_strncmp(status->data, "active", 6) == 0)
                      ? NGX_KANBAN_TENANT_ACTIVE
                      : NGX_KANBAN_TENANT_SUSPENDED;

        ngx_kanban_tenant_cache_put(ctx);

    } else {
        ctx->status = NGX_KANBAN_TENANT_UNKNOWN;
        ngx_kanban_tenant_cache_put(ctx);
    }

    r->main->count--;
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_kanban_tenant_cache_get(ngx_http_request_t *r, ngx_str_t *slug,
    ngx_kanban_tenant_ctx_t *ctx)
{
    u_char                         *p;
    uint32_t                        hash;
    ngx_uint_t                      i;
    ngx_str_t                      *fields[5];
    ngx_kanban_tenant_node_t       *node;
    ngx_kanban_tenant_cache_t      *cache;
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_tenant_module);
    cache = tmcf->zone->data;

    hash = ngx_crc32_short(slug->data, slug->len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_kanban_tenant_lookup(cache, slug, hash);

    if (node == NULL || node->expires < ngx_kanban_tenant_now()) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&node->lru);
    ngx_queue_insert_head(&cache->sh->lru, &node->lru);

    fields[0] = &ctx->tenant.slug;
    fields[1] = &ctx->tenant.id;
    fields[2] = &ctx->tenant.name;
    fields[3] = &ctx->tenant.db_name;
    fields[4] = &ctx->tenant.db_dsn;

    ctx->status = node->status;
    p = node->data;

    for (i = 0; i < 5; i++) {
        fields[i]->len = node->len[i];
        fields[i]->data = ngx_pnalloc(r->pool, node->len[i] + 1);

        if (fields[i]->data == NULL) {
            ngx_shmtx_unlock(&cache->shpool->mutex);
            return NGX_ERROR;
        }

        ngx_memcpy(fields[i]->data, p, node->len[i]);
        fields[i]->data[node->len[i]] = '\0';
        p += node->len[i];
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_OK;
}


static void
ngx_kanban_tenant_cache_put(ngx_kanban_tenant_ctx_t *ctx)
{
    u_char                         *p;
    size_t                          size;
    uint32_t                        hash;
    ngx_uint_t                      i;
    ngx_queue_t                    *q;
    ngx_str_t                      *fields[5];
    ngx_kanban_tenant_node_t       *node;
    ngx_kanban_tenant_cache_t      *cache;
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_tenant_module);
    cache = tmcf->zone->data;

    fields[0] = &ctx->tenant.slug;
    fields[1] = &ctx->tenant.id;
    fields[2] = &ctx->tenant.name;
    fields[3] = &ctx->tenant.db_name;
    fields[4] = &ctx->tenant.db_dsn;

    size = offsetof(ngx_kanban_tenant_node_t, data);
    for (i = 0; i < 5; i++) {
        if (fields[i]->len > 0xffff) {
            return;
        }
        size += fields[i]->len;
    }

    hash = ngx_crc32_short(ctx->tenant.slug.data, ctx->tenant.slug.len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_kanban_tenant_lookup(cache, &ctx->tenant.slug, hash);
    if (node) {
        ngx_queue_remove(&node->lru);
        ngx_rbtree_delete(&cache->sh->tree, &node->node);
        ngx_slab_free_locked(cache->shpool, node);
    }

    node = ngx_slab_alloc_locked(cache->shpool, size);

    /* full: the least recently used entries make room */
    for (i = 0; node == NULL && i < 16 && !ngx_queue_empty(&cache->sh->lru);
         i++)
    {
        q = ngx_queue_last(&cache->sh->lru);
        ngx_queue_remove(q);

        node = ngx_queue_data(q, ngx_kanban_tenant_node_t, lru);
        ngx_rbtree_delete(&cache->sh->tree, &node->node);
        ngx_slab_free_locked(cache->shpool, node);

        node = ngx_slab_alloc_locked(cache->shpool, size);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    node->node.key = hash;
    node->expires = ngx_kanban_tenant_now() + tmcf->ttl;
    node->status = ctx->status;

    p = node->data;
    for (i = 0; i < 5; i++) {
        node->len[i] = (u_short) fields[i]->len;
        p = ngx_cpymem(p, fields[i]->data, fields[i]->len);
    }

    ngx_rbtree_insert(&cache->sh->tree, &node->node);
    ngx_queue_insert_head(&cache->sh->lru, &node->lru);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/* A workspace just made: whatever was cached for its slug (a probe of
 * the name before it existed) goes. */

void
ngx_kanban_tenant_forget(ngx_str_t *slug)
{
    uint32_t                        hash;
    ngx_kanban_tenant_node_t       *node;
    ngx_kanban_tenant_cache_t      *cache;
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_tenant_module);
    if (tmcf == NULL || tmcf->zone == NULL) {
        return;
    }

    cache = tmcf->zone->data;
    hash = ngx_crc32_short(slug->data, slug->len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_kanban_tenant_lookup(cache, slug, hash);
    if (node) {
        ngx_queue_remove(&node->lru);
        ngx_rbtree_delete(&cache->sh->tree, &node->node);
        ngx_slab_free_locked(cache->shpool, node);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static ngx_kanban_tenant_node_t *
ngx_kanban_tenant_lookup(ngx_kanban_tenant_cache_t *cache, ngx_str_t *slug,
    uint32_t hash)
{
    ngx_int_t                  rc;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_kanban_tenant_node_t  *tn;

    node = cache->sh->tree.root;
    sentinel = cache->sh->tree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        tn = (ngx_kanban_tenant_node_t *) node;

        rc = ngx_memn2cmp(slug->data, tn->data, slug->len, tn->len[0]);
        if (rc == 0) {
            return tn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* Shared by every worker, so a clock every worker reads the same way. */

static ngx_msec_t
ngx_kanban_tenant_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (ngx_msec_t) tp->sec * 1000 + tp->msec;
}


static ngx_int_t
ngx_kanban_tenant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_kanban_tenant_t  *t;

    t = ngx_kanban_tenant(r);

    if (t == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = t->slug.data;
    v->len = t->slug.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_tenant_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_kanban_tenant_cache_t  *ocache = data;

    size_t                      len;
    ngx_kanban_tenant_cache_t  *cache;

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
                               sizeof(ngx_kanban_tenant_shctx_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->tree, &cache->sh->sentinel,
                    ngx_kanban_tenant_rbtree_insert);
    ngx_queue_init(&cache->sh->lru);

    len = sizeof(" in kanban_tenant_cache zone \"\"") + zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in kanban_tenant_cache zone \"%V\"%Z",
                &zone->shm.name);

    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_kanban_tenant_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t         **p;
    ngx_kanban_tenant_node_t   *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_kanban_tenant_node_t *) node;
            b = (ngx_kanban_tenant_node_t *) temp;

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


/* kanban_tenant_cache zone=name:size ttl=time */

static char *
ngx_kanban_tenant_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_tenant_main_conf_t  *tmcf = conf;

    u_char                     *p;
    ssize_t                     size;
    ngx_str_t                  *value, name, s;
    ngx_uint_t                  i;
    ngx_kanban_tenant_cache_t  *cache;

    if (tmcf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = 0;
    ngx_str_null(&name);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                goto invalid;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);
            if (size == NGX_ERROR || name.len == 0) {
                goto invalid;
            }

            if (size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is too small", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            tmcf->ttl = ngx_parse_time(&s, 0);
            if (tmcf->ttl == (ngx_msec_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have the \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_tenant_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    tmcf->zone = ngx_shared_memory_add(cf, &name, size,
                                       &ngx_http_kanban_tenant_module);
    if (tmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (tmcf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    tmcf->zone->init = ngx_kanban_tenant_init_zone;
    tmcf->zone->data = cache;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_kanban_tenant_value(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_kanban_tenant_module);
    tmcf->used = 1;

    cmd->offset = offsetof(ngx_kanban_tenant_loc_conf_t, value);

    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


static void *
ngx_kanban_tenant_create_main_conf(ngx_conf_t *cf)
{
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_tenant_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    tmcf->ttl = 10000;

    return tmcf;
}


static char *
ngx_kanban_tenant_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_tenant_main_conf_t  *tmcf = conf;

    if (tmcf->used && tmcf->zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kanban_tenant\" needs a \"kanban_tenant_cache\" "
                           "zone");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_kanban_tenant_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_tenant_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_tenant_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    tlcf->value = NGX_CONF_UNSET_PTR;

    return tlcf;
}


static char *
ngx_kanban_tenant_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_kanban_tenant_loc_conf_t  *prev = parent;
    ngx_kanban_tenant_loc_conf_t  *conf = child;

    ngx_conf_merge_ptr_value(conf->value, prev->value, NULL);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_tenant_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_kanban_tenant_var_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_kanban_tenant_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_tenant_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_kanban_tenant_handler;

    return NGX_OK;
}
