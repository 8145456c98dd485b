
/*
 * The rate-limit module's configuration: kanban_limit_zone (a zone in
 * shared memory, its rate, burst, Redis and fallback) and kanban_limit
 * (the zones a location applies, with their keys).
 */

/* SQL: none of its own */
#include "ngx_kanban_limit.h"


/* What kanban_limit_zone's parameters say, before they are checked. */
typedef struct {
    ngx_str_t                 name;
    ssize_t                   size;
    ngx_uint_t                count;
    uint64_t                  interval;
    ngx_uint_t                burst;
    ngx_flag_t                redis;
    ngx_uint_t                fallback_count;
    uint64_t                  fallback_interval;
    ngx_uint_t                fallback_burst;
} ngx_kanban_limit_params_t;


static ngx_int_t ngx_kanban_limit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_kanban_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_kanban_limit_parse_rate(ngx_str_t *s,
    ngx_uint_t *count, uint64_t *interval);
static ngx_int_t ngx_kanban_limit_parse_burst(ngx_str_t *s,
    ngx_uint_t *burst);
static char *ngx_kanban_limit_zone_params(ngx_conf_t *cf,
    ngx_kanban_limit_params_t *lp);
static char *ngx_kanban_limit_zone_check(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_kanban_limit_params_t *lp);
static char *ngx_kanban_limit_zone_window(ngx_conf_t *cf,
    ngx_kanban_limit_zone_t *zone);
static char *ngx_kanban_limit_zone_add(ngx_conf_t *cf,
    ngx_kanban_limit_main_conf_t *lmcf, ngx_kanban_limit_zone_t *zone,
    ssize_t size);
static char *ngx_kanban_limit_params(ngx_conf_t *cf, ngx_str_t *name,
    ngx_http_complex_value_t **key, ngx_uint_t *burst);
static ngx_http_complex_value_t *ngx_kanban_limit_compile_key(ngx_conf_t *cf,
    ngx_str_t *s);
static ngx_shm_zone_t *ngx_kanban_limit_find_zone(ngx_conf_t *cf,
    ngx_str_t *name);


static ngx_int_t
ngx_kanban_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_kanban_limit_zone_t  *ozone = data;

    ngx_uint_t                fresh;
    ngx_kanban_limit_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /* a reload: the counts go on, whatever the new rate */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    zone->sh = ngx_kanban_shm_header(shm_zone,
                                     sizeof(ngx_kanban_limit_shctx_t),
                                     "kanban_limit_zone", &fresh);
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    if (fresh) {
        ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                        ngx_kanban_limit_rbtree_insert);
        ngx_queue_init(&zone->sh->queue);
    }

    return NGX_OK;
}


static void
ngx_kanban_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t        **p;
    ngx_kanban_limit_node_t   *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_kanban_limit_node_t *) node;
            b = (ngx_kanban_limit_node_t *) temp;

            p = (ngx_memn2cmp(a->data, b->data, (size_t) a->len,
                              (size_t) b->len) < 0)
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


/* "10r/m": a count of requests per second, minute or hour */

static ngx_int_t
ngx_kanban_limit_parse_rate(ngx_str_t *s, ngx_uint_t *count,
    uint64_t *interval)
{
    u_char     *unit;
    uint64_t    period;
    ngx_int_t   n;

    if (s->len < 4) {
        return NGX_ERROR;
    }

    unit = s->data + s->len - 3;

    if (unit[0] != 'r' || unit[1] != '/') {
        return NGX_ERROR;
    }

    switch (unit[2]) {
    case 's':
        period = 1000000;
        break;
    case 'm':
        period = 60 * 1000000;
        break;
    case 'h':
        period = (uint64_t) 3600 * 1000000;
        break;
    default:
        return NGX_ERROR;
    }

    n = ngx_atoi(s->data, s->len - 3);
    if (n <= 0 || n > NGX_KANBAN_LIMIT_MAX) {
        return NGX_ERROR;
    }

    *count = n;
    *interval = period / n;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_limit_parse_burst(ngx_str_t *s, ngx_uint_t *burst)
{
    ngx_int_t  n;

    n = ngx_atoi(s->data, s->len);
    if (n <= 0 || n > NGX_KANBAN_LIMIT_MAX) {
        return NGX_ERROR;
    }

    *burst = n;

    return NGX_OK;
}


/*
 * kanban_limit_zone zone=name:size rate=Nr/s|Nr/m|Nr/h [burst=N]
 *                   [redis=on|off] [fallback=Nr/s|Nr/m|Nr/h]
 *                   [fallback_burst=N]
 */

char *
ngx_kanban_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_limit_main_conf_t  *lmcf = conf;

    char                       *rv;
    ngx_kanban_limit_zone_t    *zone;
    ngx_kanban_limit_params_t   lp;

    rv = ngx_kanban_limit_zone_params(cf, &lp);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    rv = ngx_kanban_limit_zone_check(cf, cmd, &lp);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_limit_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->name = lp.name;
    zone->interval = lp.interval;
    zone->burst = lp.burst ? lp.burst : lp.count;
    zone->redis = lp.redis;
    zone->fallback_interval = lp.fallback_interval;
    zone->fallback_burst = lp.fallback_burst ? lp.fallback_burst
                                             : lp.fallback_count;

    if (lp.redis) {
        rv = ngx_kanban_limit_zone_window(cf, zone);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return ngx_kanban_limit_zone_add(cf, lmcf, zone, lp.size);
}


/* The parameters as they come, each parsed; NGX_CONF_ERROR names the
 * first that is not one of them or not valid. */

static char *
ngx_kanban_limit_zone_params(ngx_conf_t *cf, ngx_kanban_limit_params_t *lp)
{
    ngx_int_t    rc;
    ngx_str_t   *value, s;
    ngx_uint_t   i;

    value = cf->args->elts;
    ngx_memzero(lp, sizeof(ngx_kanban_limit_params_t));

    for (i = 1; i < cf->args->nelts; i++) {

        rc = ngx_kanban_shm_zone_param(cf, &value[i], &lp->name, &lp->size);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ABORT) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (ngx_strncmp(value[i].data, "rate=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (ngx_kanban_limit_parse_rate(&s, &lp->count, &lp->interval)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            if (ngx_kanban_limit_parse_burst(&s, &lp->burst) != NGX_OK) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "redis=on") == 0) {
            lp->redis = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "redis=off") == 0) {
            lp->redis = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "fallback=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            if (ngx_kanban_limit_parse_rate(&s, &lp->fallback_count,
                                            &lp->fallback_interval)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "fallback_burst=", 15) == 0) {
            s.data = value[i].data + 15;
            s.len = value[i].len - 15;

            if (ngx_kanban_limit_parse_burst(&s, &lp->fallback_burst)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* The parameters that must be there, and those that need another. */

static char *
ngx_kanban_limit_zone_check(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_kanban_limit_params_t *lp)
{
    if (lp->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have the \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (lp->count == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have the \"rate\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (lp->fallback_burst && lp->fallback_count == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fallback_burst\" needs \"fallback\"");
        return NGX_CONF_ERROR;
    }

    if (lp->fallback_count && !lp->redis) {
        /* without Redis, the rate itself is the only limit there is */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fallback\" needs \"redis=on\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* The cluster-wide window of a zone counted in Redis: burst requests at
 * the rate. */

static char *
ngx_kanban_limit_zone_window(ngx_conf_t *cf, ngx_kanban_limit_zone_t *zone)
{
    uint64_t  window;

    window = zone->burst * zone->interval / 1000;

    if (window < NGX_KANBAN_LIMIT_WINDOW_MIN
        || window > NGX_KANBAN_LIMIT_WINDOW_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the cluster-wide window of zone \"%V\", "
                           "burst requests at the rate, is %uLms; "
                           "it must be 1s to 24h", &zone->name, window);
        return NGX_CONF_ERROR;
    }

    zone->window = window;

    return NGX_CONF_OK;
}


/* The zone's shared memory, and its place in the module's list. */

static char *
ngx_kanban_limit_zone_add(ngx_conf_t *cf,
    ngx_kanban_limit_main_conf_t *lmcf, ngx_kanban_limit_zone_t *zone,
    ssize_t size)
{
    ngx_shm_zone_t  *shm_zone, **pz;

    shm_zone = ngx_shared_memory_add(cf, &zone->name, size,
                                     &ngx_http_kanban_limit_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already declared", &zone->name);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_kanban_limit_init_zone;
    shm_zone->data = zone;

    pz = ngx_array_push(&lmcf->zones);
    if (pz == NULL) {
        return NGX_CONF_ERROR;
    }

    *pz = shm_zone;

    return NGX_CONF_OK;
}


/* kanban_limit zone=name [key=value] [burst=N]; the zone is declared
 * before it is used, so a misspelt name is told at its line. */

char *
ngx_kanban_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_limit_loc_conf_t  *llcf = conf;

    char                      *rv;
    ngx_str_t                  name;
    ngx_uint_t                 burst;
    ngx_shm_zone_t            *shm_zone;
    ngx_kanban_limit_t        *limit;
    ngx_kanban_limit_zone_t   *zone;
    ngx_http_complex_value_t  *key;

    key = NULL;
    burst = 0;
    ngx_str_null(&name);

    rv = ngx_kanban_limit_params(cf, &name, &key, &burst);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have the \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_kanban_limit_find_zone(cf, &name);

    if (shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown kanban_limit_zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    zone = shm_zone->data;

    if (llcf->limits == NULL) {
        llcf->limits = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_kanban_limit_t));
        if (llcf->limits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    limit = ngx_array_push(llcf->limits);
    if (limit == NULL) {
        return NGX_CONF_ERROR;
    }

    limit->shm_zone = shm_zone;
    limit->key = key;
    limit->burst = burst ? burst : zone->burst;

    return NGX_CONF_OK;
}


/* the directive's zone=, key= and burst= parameters */
static char *
ngx_kanban_limit_params(ngx_conf_t *cf, ngx_str_t *name,
    ngx_http_complex_value_t **key, ngx_uint_t *burst)
{
    ngx_str_t   *value, s;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name->data = value[i].data + 5;
            name->len = value[i].len - 5;

            if (name->len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "key=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            if (s.len == 0) {
                goto invalid;
            }

            *key = ngx_kanban_limit_compile_key(cf, &s);
            if (*key == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            if (ngx_kanban_limit_parse_burst(&s, burst) != NGX_OK) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


static ngx_http_complex_value_t *
ngx_kanban_limit_compile_key(ngx_conf_t *cf, ngx_str_t *s)
{
    ngx_http_complex_value_t          *key;
    ngx_http_compile_complex_value_t   ccv;

    key = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (key == NULL) {
        return NULL;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = s;
    ccv.complex_value = key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NULL;
    }

    return key;
}


/* a zone declared by kanban_limit_zone, by its name */
static ngx_shm_zone_t *
ngx_kanban_limit_find_zone(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                     i;
    ngx_shm_zone_t               **pz;
    ngx_kanban_limit_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_kanban_limit_module);

    pz = lmcf->zones.elts;

    for (i = 0; i < lmcf->zones.nelts; i++) {
        if (pz[i]->shm.name.len == name->len
            && ngx_strncmp(pz[i]->shm.name.data, name->data, name->len) == 0)
        {
            return pz[i];
        }
    }

    return NULL;
}


void *
ngx_kanban_limit_create_main_conf(ngx_conf_t *cf)
{
    ngx_kanban_limit_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_limit_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&lmcf->zones, cf->pool, 4, sizeof(ngx_shm_zone_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return lmcf;
}


void *
ngx_kanban_limit_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_limit_loc_conf_t  *llcf;

    llcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_limit_loc_conf_t));
    if (llcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     llcf->limits = NULL;
     */

    return llcf;
}


char *
ngx_kanban_limit_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_kanban_limit_loc_conf_t  *prev = parent;
    ngx_kanban_limit_loc_conf_t  *conf = child;

    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    return NGX_CONF_OK;
}
