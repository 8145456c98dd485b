
/*
 * A rate limit's count on this node: the zone's entries in shared memory
 * (an rbtree by the key's hash, an LRU queue that expires idle ones),
 * each key's GCRA bucket, and the cluster-wide estimate from the counts
 * Redis returned (ngx_kanban_limit_redis.c leaves them in the entry).
 * The request check (ngx_kanban_limit_module.c) asks it whether a
 * request passes and takes it.
 */

/* SQL: none of its own */
#include "ngx_kanban_limit.h"


static ngx_int_t ngx_kanban_limit_check(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st);
static void ngx_kanban_limit_take(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st);
static ngx_int_t ngx_kanban_limit_gcra(uint64_t tat, uint64_t interval,
    ngx_uint_t burst, uint64_t now, ngx_kanban_limit_state_t *st);
static ngx_int_t ngx_kanban_limit_cluster(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_node_t *node, uint64_t wall, ngx_uint_t burst,
    ngx_kanban_limit_state_t *st);
static void ngx_kanban_limit_roll(ngx_kanban_limit_node_t *node,
    uint64_t window);
static void ngx_kanban_limit_expire(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_clock_t *clock, ngx_uint_t n);
static time_t ngx_kanban_limit_seconds(uint64_t us);


/* NGX_OK: the request passes this limit (taken when account is set, else
 * its entry is held in *pinned); NGX_BUSY: over the limit; NGX_ERROR: the
 * zone is out of memory. */

ngx_int_t
ngx_kanban_limit_lookup(ngx_http_request_t *r, ngx_kanban_limit_t *limit,
    ngx_str_t *key, ngx_uint_t account, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_node_t **pinned, ngx_kanban_limit_state_t *st)
{
    size_t                    size;
    uint32_t                  hash;
    ngx_int_t                 rc;
    ngx_kanban_limit_node_t  *node;
    ngx_kanban_limit_zone_t  *zone;

    zone = limit->shm_zone->data;
    hash = ngx_crc32_short(key->data, key->len);

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_kanban_limit_find(zone, key, hash);

    if (node) {
        ngx_queue_remove(&node->queue);
        ngx_queue_insert_head(&zone->sh->queue, &node->queue);

    } else {
        ngx_kanban_limit_expire(zone, clock, 1);

        size = offsetof(ngx_kanban_limit_node_t, data) + key->len;

        node = ngx_slab_alloc_locked(zone->shpool, size);

        if (node == NULL) {
            ngx_kanban_limit_expire(zone, clock, 0);

            node = ngx_slab_alloc_locked(zone->shpool, size);
            if (node == NULL) {
                ngx_shmtx_unlock(&zone->shpool->mutex);

                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "kanban: could not allocate a rate limit "
                              "entry%s", zone->shpool->log_ctx);
                return NGX_ERROR;
            }
        }

        node->node.key = hash;
        node->tat = clock->now;
        node->fallback_tat = clock->now;
        node->window = 0;
        node->cur = 0;
        node->prev = 0;
        node->pending = 0;
        node->unsent = 0;
        node->sending = 0;
        node->count = 0;
        node->len = (u_short) key->len;
        ngx_memcpy(node->data, key->data, key->len);

        ngx_rbtree_insert(&zone->sh->rbtree, &node->node);
        ngx_queue_insert_head(&zone->sh->queue, &node->queue);
    }

    rc = ngx_kanban_limit_check(limit, node, clock, st);

    if (rc == NGX_OK) {
        if (account) {
            ngx_kanban_limit_take(zone, node, clock, st);

        } else {
            node->count++;
            *pinned = node;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* Takes a held entry for a request that passed every limit. */

void
ngx_kanban_limit_account(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st)
{
    ngx_kanban_limit_zone_t  *zone;

    zone = limit->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    (void) ngx_kanban_limit_check(limit, node, clock, st);
    ngx_kanban_limit_take(zone, node, clock, st);
    node->count--;

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


void
ngx_kanban_limit_unpin(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node)
{
    ngx_kanban_limit_zone_t  *zone;

    zone = limit->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);
    node->count--;
    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* The local bucket; cluster-wide, with Redis's counts too, or while
 * Redis is down with the fallback bucket. Called with the zone locked. */

static ngx_int_t
ngx_kanban_limit_check(ngx_kanban_limit_t *limit,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st)
{
    uint64_t                  interval;
    ngx_int_t                 rc;
    ngx_uint_t                burst, cluster;
    ngx_kanban_limit_zone_t  *zone;
    ngx_kanban_limit_state_t  other;

    zone = limit->shm_zone->data;

    interval = zone->interval;
    burst = limit->burst;
    cluster = zone->burst;

    if (clock->plan_rate && limit->key == NULL
        && node->len > 2 && node->data[0] == 'u' && node->data[1] == ':')
    {
        /* a person on a workspace whose plan names its own rate: here,
         * and across the cluster as many requests a window (the zone's,
         * which every node counts in) as the plan's rate gives in it */
        interval = 60000000 / clock->plan_rate;
        burst = ngx_min(burst, clock->plan_rate);
        cluster = ngx_min(zone->burst,
                          ngx_max(1, clock->plan_rate * zone->window / 60000));
    }

    rc = ngx_kanban_limit_gcra(node->tat, interval, burst, clock->now, st);

    if (rc != NGX_OK || !zone->redis) {
        return rc;
    }

    if (clock->redis) {
        rc = ngx_kanban_limit_cluster(zone, node, clock->wall, cluster,
                                      &other);

    } else if (zone->fallback_interval) {
        rc = ngx_kanban_limit_gcra(node->fallback_tat,
                                   zone->fallback_interval,
                                   zone->fallback_burst, clock->now, &other);
        st->fallback_tat = other.tat;

    } else {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        st->limit = other.limit;
        st->remaining = 0;
        st->reset = other.reset;
        st->retry = other.retry;
        st->by = clock->redis ? "cluster-wide" : "fallback, Redis is down";

        return rc;
    }

    ngx_kanban_limit_nearest(st, &other);

    return NGX_OK;
}


static void
ngx_kanban_limit_take(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_node_t *node, ngx_kanban_limit_clock_t *clock,
    ngx_kanban_limit_state_t *st)
{
    uint64_t  tat, full;

    node->tat = st->tat;

    if (!zone->redis) {
        return;
    }

    if (!clock->redis) {
        if (zone->fallback_interval) {
            node->fallback_tat = st->fallback_tat;
        }

        return;
    }

    /* the hit goes to Redis once every limit passed */
    node->pending++;
    node->unsent++;

    if (zone->fallback_interval) {
        /*
         * The fallback bucket follows along, never past full, so that the
         * moment Redis goes it knows what the key did just before.
         */

        full = clock->now + zone->fallback_burst * zone->fallback_interval;
        tat = ngx_max(node->fallback_tat, clock->now)
              + zone->fallback_interval;

        node->fallback_tat = ngx_min(tat, full);
    }
}


/*
 * GCRA. tat runs ahead of now by one interval for each request the
 * bucket holds; a request passes when, with it, tat is at most burst
 * intervals ahead. st->tat is the new tat should the request be taken.
 */

static ngx_int_t
ngx_kanban_limit_gcra(uint64_t tat, uint64_t interval, ngx_uint_t burst,
    uint64_t now, ngx_kanban_limit_state_t *st)
{
    uint64_t  next, full;

    tat = ngx_max(tat, now);
    next = tat + interval;
    full = (uint64_t) burst * interval;

    st->limit = burst;
    st->by = "local";

    if (next - now > full) {
        st->tat = tat;
        st->remaining = 0;
        st->reset = ngx_kanban_limit_seconds(tat - now);
        st->retry = ngx_max(ngx_kanban_limit_seconds(next - now - full), 1);

        return NGX_BUSY;
    }

    st->tat = next;
    st->remaining = (full - (next - now)) / interval;
    st->reset = ngx_kanban_limit_seconds(next - now);
    st->retry = 0;

    return NGX_OK;
}


/*
 * The cluster-wide count: the hits of this window (as Redis last told,
 * and ours not yet answered) plus those of the window before, weighed by
 * the part of it still within one window of now. With the request, it
 * may reach burst (the zone's, or what a plan's own rate gives in a
 * window). Times here are in ms, counts in 1/w of a request.
 */

static ngx_int_t
ngx_kanban_limit_cluster(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_node_t *node, uint64_t wall, ngx_uint_t burst,
    ngx_kanban_limit_state_t *st)
{
    uint64_t  w, left, hits, used, full, wait;

    w = zone->window;
    left = w - wall % w;

    ngx_kanban_limit_roll(node, wall / w);

    hits = (uint64_t) node->cur + node->pending;
    used = node->prev * left + hits * w;
    full = burst * w;

    st->limit = burst;

    if (used + w <= full) {
        /* with this request, this window counts until the next is over */
        st->remaining = (full - used - w) / w;
        st->reset = ngx_kanban_limit_seconds((left + w) * 1000);
        st->retry = 0;

        return NGX_OK;
    }

    /* when the estimate falls to burst - 1, should nothing else come */

    if (hits * w + w <= full) {
        /* this window has room: the window before has to fade */
        wait = left - (full - w - hits * w) / node->prev;

    } else {
        /* the next window, once this one has faded enough */
        wait = left + w - (full - w) / hits;
    }

    st->remaining = 0;
    st->reset = ngx_kanban_limit_seconds((hits ? left + w : left) * 1000);
    st->retry = ngx_max(ngx_kanban_limit_seconds(wait * 1000), 1);

    return NGX_BUSY;
}


/* A new window: what this one counted becomes the window before. */

static void
ngx_kanban_limit_roll(ngx_kanban_limit_node_t *node, uint64_t window)
{
    if (node->window == window) {
        return;
    }

    node->prev = (node->window + 1 == window) ? node->cur + node->pending
                                              : 0;
    node->cur = 0;
    node->pending = 0;
    /* those not sent yet count here only, in the window before */
    node->unsent = 0;
    node->window = window;
}


/* The headers tell of the limit nearest to refusing. */

void
ngx_kanban_limit_nearest(ngx_kanban_limit_state_t *best,
    ngx_kanban_limit_state_t *st)
{
    if (st->remaining < best->remaining
        || (st->remaining == best->remaining && st->reset > best->reset))
    {
        best->limit = st->limit;
        best->remaining = st->remaining;
        best->reset = st->reset;
    }
}


ngx_kanban_limit_node_t *
ngx_kanban_limit_find(ngx_kanban_limit_zone_t *zone, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                 rc;
    ngx_rbtree_node_t        *node, *sentinel;
    ngx_kanban_limit_node_t  *ln;

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        ln = (ngx_kanban_limit_node_t *) node;

        rc = ngx_memn2cmp(key->data, ln->data, key->len, (size_t) ln->len);
        if (rc == 0) {
            return ln;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * n == 1 deletes one or two entries whose buckets are full again and
 * whose cluster-wide counts are of no window that still weighs (they tell
 * nothing a new entry would not);
 * n == 0 deletes the least recently used entry by force, then as n == 1.
 * Entries held by a request in flight stay.
 */

static void
ngx_kanban_limit_expire(ngx_kanban_limit_zone_t *zone,
    ngx_kanban_limit_clock_t *clock, ngx_uint_t n)
{
    ngx_queue_t              *q;
    ngx_kanban_limit_node_t  *node;

    while (n < 3) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);
        node = ngx_queue_data(q, ngx_kanban_limit_node_t, queue);

        if (node->count) {
            return;
        }

        if (n++ != 0
            && (node->tat > clock->now || node->fallback_tat > clock->now
                || (zone->redis
                    && node->window + 1 >= clock->wall / zone->window)))
        {
            return;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&zone->sh->rbtree, &node->node);
        ngx_slab_free_locked(zone->shpool, node);
    }
}


static time_t
ngx_kanban_limit_seconds(uint64_t us)
{
    return (time_t) ((us + 999999) / 1000000);
}
