
/*
 * A rate limit's count across the cluster (redis=on): each request that
 * passes is counted in Redis per key and fixed window, never waited for,
 * with at most one count of a key in flight from this node; the reply
 * leaves the cluster-wide figures in the key's entry, which the next
 * check weighs (ngx_kanban_limit_bucket.c).
 */

/* SQL: none of its own */
#include "ngx_kanban_limit.h"


/* A count in flight this long is taken as lost (its worker gone with
 * it), and the key's next hit sends again. */
#define NGX_KANBAN_LIMIT_SEND_LOST  1000            /* ms */


/* Hits counted in Redis: what the reply needs to find the entry again
 * (which may have gone meanwhile). */
typedef struct {
    ngx_kanban_limit_zone_t   *zone;
    uint64_t                   window;
    uint32_t                   n;              /* hits in this count */
    uint32_t                   hash;
    size_t                     len;
    u_char                     data[1];
} ngx_kanban_limit_hit_t;


static ngx_int_t ngx_kanban_limit_redis_send(ngx_kanban_limit_hit_t *hit);
static void ngx_kanban_limit_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static ngx_uint_t ngx_kanban_limit_redis_counted(ngx_kanban_limit_hit_t *hit,
    redisReply *rr);


/* KEYS: this window's counter, the window before's; ARGV: the ttl, ms,
 * and the hits; a counter that had none is new and gets its ttl */
static char  ngx_kanban_limit_script[] =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[2]) "
    "if n == tonumber(ARGV[2]) then "
    "redis.call('PEXPIRE', KEYS[1], ARGV[1]) end "
    "return {n, tonumber(redis.call('GET', KEYS[2]) or 0)}";


/* Counts a request that passed in Redis, with the key's others not yet
 * sent, unless a count of the key is in flight: its reply sends them. */

void
ngx_kanban_limit_redis_hit(ngx_http_request_t *r, ngx_kanban_limit_t *limit,
    ngx_str_t *key, ngx_kanban_limit_clock_t *clock)
{
    uint32_t                  hash, n;
    uint64_t                  window;
    ngx_kanban_limit_hit_t   *hit;
    ngx_kanban_limit_node_t  *node;
    ngx_kanban_limit_zone_t  *zone;

    zone = limit->shm_zone->data;
    window = clock->wall / zone->window;
    hash = ngx_crc32_short(key->data, key->len);
    n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_kanban_limit_find(zone, key, hash);

    if (node && node->window == window && node->unsent
        && (node->sending == 0
            || clock->wall - node->sending >= NGX_KANBAN_LIMIT_SEND_LOST))
    {
        n = node->unsent;
        node->unsent = 0;
        node->sending = ngx_max(clock->wall, 1);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (n == 0) {
        return;
    }

    hit = ngx_alloc(offsetof(ngx_kanban_limit_hit_t, data) + key->len,
                    r->connection->log);
    if (hit == NULL) {
        /* counted here only */
        ngx_shmtx_lock(&zone->shpool->mutex);

        node = ngx_kanban_limit_find(zone, key, hash);
        if (node) {
            node->sending = 0;
            node->pending -= ngx_min(node->pending, n);
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);
        return;
    }

    hit->zone = zone;
    hit->window = window;
    hit->n = n;
    hit->hash = hash;
    hit->len = key->len;
    ngx_memcpy(hit->data, key->data, key->len);

    if (ngx_kanban_limit_redis_send(hit) == NGX_OK) {
        return;
    }

    if (!ngx_kanban_limit_redis_counted(hit, NULL)) {
        ngx_free(hit);
    }
}


/* kanban:rl:{zone:key}:window; the braces keep a key's windows on one
 * node of a Redis Cluster, as the script needs. The command is written
 * in Redis's protocol here, not by hiredis's printf-like formatting
 * (glibc's vfprintf for each argument's length: a sixth of a read's
 * instructions when every request sends its count). The reply handler
 * owns hit when this returns NGX_OK. */

static ngx_int_t
ngx_kanban_limit_redis_send(ngx_kanban_limit_hit_t *hit)
{
    u_char                   *buf, *cmd, *p, *arg[4];
    size_t                    len, key_len, n[4];
    ngx_int_t                 rc;
    ngx_uint_t                i;
    ngx_kanban_limit_zone_t  *zone;

    static u_char  head[] = "*7\r\n$4\r\nEVAL\r\n";

    zone = hit->zone;

    key_len = sizeof("kanban:rl:{:}:") - 1 + zone->name.len + hit->len
              + NGX_INT64_LEN;

    /* the two keys, the ttl and the hits; then the whole command */
    len = 2 * key_len + 2 * NGX_INT64_LEN
          + sizeof(head) - 1
          + NGX_SIZE_T_LEN + sizeof(ngx_kanban_limit_script) - 1
          + 5 * (sizeof("$\r\n\r\n") - 1 + NGX_SIZE_T_LEN)
          + 2 * key_len + 2 * NGX_INT64_LEN + sizeof("2") - 1;

    buf = ngx_alloc(len, ngx_cycle->log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    arg[0] = buf;
    n[0] = ngx_sprintf(arg[0], "kanban:rl:{%V:%*s}:%uL", &zone->name,
                       hit->len, hit->data, hit->window)
           - arg[0];

    arg[1] = arg[0] + key_len;
    n[1] = ngx_sprintf(arg[1], "kanban:rl:{%V:%*s}:%uL", &zone->name,
                       hit->len, hit->data, hit->window - 1)
           - arg[1];

    /* the window before is read during the next one */
    arg[2] = arg[1] + key_len;
    n[2] = ngx_sprintf(arg[2], "%uL", 2 * zone->window + 1000) - arg[2];

    arg[3] = arg[2] + NGX_INT64_LEN;
    n[3] = ngx_sprintf(arg[3], "%uD", hit->n) - arg[3];

    cmd = arg[3] + NGX_INT64_LEN;

    p = ngx_cpymem(cmd, head, sizeof(head) - 1);
    p = ngx_sprintf(p, "$%uz\r\n", sizeof(ngx_kanban_limit_script) - 1);
    p = ngx_cpymem(p, ngx_kanban_limit_script,
                   sizeof(ngx_kanban_limit_script) - 1);
    p = ngx_cpymem(p, "\r\n$1\r\n2\r\n", sizeof("\r\n$1\r\n2\r\n") - 1);

    for (i = 0; i < 4; i++) {
        p = ngx_sprintf(p, "$%uz\r\n", n[i]);
        p = ngx_cpymem(p, arg[i], n[i]);
        *p++ = '\r';
        *p++ = '\n';
    }

    /* hiredis copies the command: ours to free */
    rc = ngx_kanban_redis_formatted(ngx_kanban_limit_redis_reply, hit, cmd,
                                    p - cmd);

    ngx_free(buf);

    return rc;
}


static void
ngx_kanban_limit_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_kanban_limit_hit_t  *hit = privdata;

    if (!ngx_kanban_limit_redis_counted(hit, reply)) {
        ngx_free(hit);
    }
}


/* A count's reply: {this window's count, the window before's}; NULL when
 * it never reached Redis or the link dropped first. The key's hits that
 * passed meanwhile go next, in hit again: returns 1 then (hit is the
 * reply handler's once more), 0 when hit is done with. */

static ngx_uint_t
ngx_kanban_limit_redis_counted(ngx_kanban_limit_hit_t *hit, redisReply *rr)
{
    uint32_t                  cur, prev;
    uint64_t                  wall;
    ngx_str_t                 key;
    ngx_uint_t                counted, more;
    ngx_time_t               *tp;
    ngx_kanban_limit_node_t  *node;
    ngx_kanban_limit_zone_t  *zone;

    zone = hit->zone;
    key.data = hit->data;
    key.len = hit->len;

    counted = 0;
    cur = 0;
    prev = 0;
    more = 0;

    if (rr && rr->type == REDIS_REPLY_ARRAY && rr->elements == 2
        && rr->element[0]->type == REDIS_REPLY_INTEGER
        && rr->element[1]->type == REDIS_REPLY_INTEGER)
    {
        counted = 1;
        cur = (uint32_t) ngx_min(ngx_max(rr->element[0]->integer, 0),
                                 0xffffffff);
        prev = (uint32_t) ngx_min(ngx_max(rr->element[1]->integer, 0),
                                  0xffffffff);

    } else if (rr && rr->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: Redis did not count a hit of "
                      "kanban_limit_zone \"%V\": %s", &zone->name, rr->str);
    }

    tp = ngx_timeofday();
    wall = (uint64_t) tp->sec * 1000 + tp->msec;

    ngx_shmtx_lock(&zone->shpool->mutex);

    node = ngx_kanban_limit_find(zone, &key, hit->hash);

    if (node) {
        node->sending = 0;
    }

    if (node && node->window == hit->window) {
        node->pending -= ngx_min(node->pending, hit->n);

        if (counted) {
            node->cur = ngx_max(node->cur, cur);
            node->prev = ngx_max(node->prev, prev);
        }

    } else if (node && counted && node->window == hit->window + 1) {
        /* answered after the window turned */
        node->prev = ngx_max(node->prev, cur);
    }

    /* the next count only after a reply: not while Redis fails them */
    if (node && counted && node->unsent
        && node->window == wall / zone->window)
    {
        hit->window = node->window;
        hit->n = node->unsent;
        node->unsent = 0;
        node->sending = ngx_max(wall, 1);
        more = 1;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (!more) {
        return 0;
    }

    if (ngx_kanban_limit_redis_send(hit) == NGX_OK) {
        return 1;
    }

    return ngx_kanban_limit_redis_counted(hit, NULL);
}
