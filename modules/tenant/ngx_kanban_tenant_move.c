
/*
 * A workspace on its way to another PostgreSQL server.
 *
 * While conf/kanbanctl move-workspace copies its database, the catalog
 * says 'moving': reads go on against the old copy, writes are refused
 * with 503 tenant_moving and Retry-After, so that nothing is written to a
 * copy about to be left behind. (The old database is also made read-only
 * and its sessions ended, for a node that has not heard yet.)
 *
 * kanbanctl publishes the slug on kanban:tenant:<slug> when the row
 * changes (moving, then moved); one worker of each node subscribes and
 * drops the slug from the node's tenant cache, so the next request reads
 * the catalog again. Without Redis a node follows within the cache's ttl.
 */

/* SQL: none of its own */
#include "ngx_kanban_pg.h"
#include "ngx_kanban_redis.h"
#include "ngx_kanban_cache.h"
#include "ngx_kanban_tenant_move.h"
#include "ngx_kanban_tenant_slug.h"


#define NGX_KANBAN_TENANT_CHANNEL    "kanban:tenant:"
#define NGX_KANBAN_TENANT_PATTERN    NGX_KANBAN_TENANT_CHANNEL "*"

/* how often a lost subscription is tried again */
#define NGX_KANBAN_TENANT_RETRY      1000


static void ngx_kanban_tenant_move_tick(ngx_event_t *ev);
static void ngx_kanban_tenant_move_connect(void);
static void ngx_kanban_tenant_move_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_kanban_tenant_move_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_kanban_tenant_move_on_message(redisAsyncContext *ac,
    void *reply, void *privdata);


static redisAsyncContext  *ngx_kanban_tenant_move_redis;
static ngx_event_t         ngx_kanban_tenant_move_timer;
static ngx_shm_zone_t     *ngx_kanban_tenant_move_cache;   /* this cycle's */


/* Safe methods go on; anything else waits for the move. */

ngx_int_t
ngx_kanban_tenant_moving(ngx_http_request_t *r)
{
    ngx_str_t  retry = ngx_string(NGX_KANBAN_TENANT_MOVING_RETRY);

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS)) {
        return NGX_DECLINED;
    }

    if (ngx_kanban_add_header(r, "Retry-After", &retry) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_TENANT_MOVING, NULL);
}


/* The cache is the node's (shared memory): one worker listens for it. */

ngx_int_t
ngx_kanban_tenant_move_init_process(ngx_cycle_t *cycle, ngx_shm_zone_t *zone)
{
    if (ngx_worker != 0 || zone == NULL) {
        return NGX_OK;
    }

    ngx_kanban_tenant_move_cache = zone;

    ngx_kanban_tenant_move_timer.handler = ngx_kanban_tenant_move_tick;
    ngx_kanban_tenant_move_timer.log = cycle->log;
    ngx_kanban_tenant_move_timer.data = &ngx_kanban_tenant_move_timer;
    ngx_kanban_tenant_move_timer.cancelable = 1;

    ngx_kanban_tenant_move_connect();

    ngx_add_timer(&ngx_kanban_tenant_move_timer, NGX_KANBAN_TENANT_RETRY);

    return NGX_OK;
}


void
ngx_kanban_tenant_move_exit_process(ngx_cycle_t *cycle)
{
    redisAsyncContext  *ac;

    ac = ngx_kanban_tenant_move_redis;

    if (ac == NULL) {
        return;
    }

    ngx_kanban_tenant_move_redis = NULL;

    /* no callbacks from here on */
    ac->onDisconnect = NULL;
    redisAsyncFree(ac);
}


static void
ngx_kanban_tenant_move_tick(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_kanban_tenant_move_exit_process((ngx_cycle_t *) ngx_cycle);
        return;
    }

    if (ngx_kanban_tenant_move_redis == NULL) {
        ngx_kanban_tenant_move_connect();
    }

    ngx_add_timer(ev, NGX_KANBAN_TENANT_RETRY);
}


static void
ngx_kanban_tenant_move_connect(void)
{
    redisAsyncContext  *ac;

    ac = ngx_kanban_redis_open();
    if (ac == NULL) {
        return;
    }

    redisAsyncSetConnectCallback(ac, ngx_kanban_tenant_move_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_kanban_tenant_move_on_disconnect);

    if (redisAsyncCommand(ac, ngx_kanban_tenant_move_on_message, NULL,
                          "PSUBSCRIBE " NGX_KANBAN_TENANT_PATTERN)
        != REDIS_OK)
    {
        ac->onDisconnect = NULL;
        redisAsyncFree(ac);
        return;
    }

    ngx_kanban_tenant_move_redis = ac;
}


static void
ngx_kanban_tenant_move_on_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK) {
        /* hiredis frees the context after this */
        ngx_kanban_tenant_move_redis = NULL;
    }
}


static void
ngx_kanban_tenant_move_on_disconnect(const redisAsyncContext *ac,
    int status)
{
    ngx_kanban_tenant_move_redis = NULL;
}


/* ["pmessage", pattern, "kanban:tenant:<slug>", anything] */

static void
ngx_kanban_tenant_move_on_message(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_str_t    slug;
    redisReply  *rr = reply, *kind, *channel;

    if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || rr->elements < 4) {
        return;
    }

    kind = rr->element[0];
    channel = rr->element[2];

    if (kind->type != REDIS_REPLY_STRING || kind->len != 8
        || ngx_strncmp(kind->str, "pmessage", 8) != 0
        || channel->type != REDIS_REPLY_STRING
        || channel->len <= (int) sizeof(NGX_KANBAN_TENANT_CHANNEL) - 1)
    {
        return;
    }

    slug.data = (u_char *) channel->str + sizeof(NGX_KANBAN_TENANT_CHANNEL)
                - 1;
    slug.len = channel->len - (sizeof(NGX_KANBAN_TENANT_CHANNEL) - 1);

    if (!ngx_kanban_slug_valid(&slug)) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "kanban: workspace \"%V\" changed in the catalog", &slug);

    ngx_kanban_cache_forget(ngx_kanban_tenant_move_cache, &slug);
}
