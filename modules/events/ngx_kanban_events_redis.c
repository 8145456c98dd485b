
/*
 * The worker's subscription to every workspace's events channel
 * (PSUBSCRIBE kanban:events:*), on a Redis connection of its own: a
 * subscribed connection can send nothing else. A message only tells the
 * workspace's feed to read its log (ngx_kanban_events_feed.c); what it
 * carries is not used, so a message lost loses nothing.
 *
 * Redis away: the feeds read their logs every tick instead, and the
 * connection is tried again every tick; once subscribed again, every feed
 * reads what it missed. Streams stay open throughout.
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"
#include "ngx_kanban_redis.h"
#include "ngx_kanban_webhooks.h"


#define NGX_KANBAN_EVENTS_CHANNEL    "kanban:events:"
#define NGX_KANBAN_EVENTS_PATTERN    NGX_KANBAN_EVENTS_CHANNEL "*"

/* ticks between the feeds' reads of their logs while subscribed, for a
 * message Redis may have lost */
#define NGX_KANBAN_EVENTS_SWEEP      15


static void ngx_kanban_events_redis_connect(void);
static void ngx_kanban_events_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_kanban_events_redis_on_disconnect(
    const redisAsyncContext *ac, int status);
static void ngx_kanban_events_redis_on_message(redisAsyncContext *ac,
    void *reply, void *privdata);


static redisAsyncContext  *ngx_kanban_events_redis;
static ngx_uint_t          ngx_kanban_events_subscribed;
static ngx_uint_t          ngx_kanban_events_logged_down;
static ngx_uint_t          ngx_kanban_events_ticks;


ngx_int_t
ngx_kanban_events_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_kanban_events_redis_connect();

    return NGX_OK;
}


void
ngx_kanban_events_redis_exit_process(ngx_cycle_t *cycle)
{
    redisAsyncContext  *ac;

    ac = ngx_kanban_events_redis;

    if (ac == NULL) {
        return;
    }

    ngx_kanban_events_redis = NULL;
    ngx_kanban_events_subscribed = 0;

    /* no callbacks from here on */
    ac->onDisconnect = NULL;
    redisAsyncFree(ac);
}


ngx_uint_t
ngx_kanban_events_redis_up(void)
{
    return ngx_kanban_events_subscribed;
}


/* Every second (the module's tick). */

void
ngx_kanban_events_redis_tick(void)
{
    if (ngx_kanban_events_redis == NULL) {
        ngx_kanban_events_redis_connect();
    }

    if (!ngx_kanban_events_subscribed
        || ++ngx_kanban_events_ticks % NGX_KANBAN_EVENTS_SWEEP == 0)
    {
        ngx_kanban_events_feed_all();
    }
}


static void
ngx_kanban_events_redis_connect(void)
{
    redisAsyncContext  *ac;

    ac = ngx_kanban_redis_open();
    if (ac == NULL) {
        return;
    }

    redisAsyncSetConnectCallback(ac, ngx_kanban_events_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac,
                                    ngx_kanban_events_redis_on_disconnect);

    /* sent once the connection is up */
    if (redisAsyncCommand(ac, ngx_kanban_events_redis_on_message, NULL,
                          "PSUBSCRIBE " NGX_KANBAN_EVENTS_PATTERN)
        != REDIS_OK)
    {
        ac->onDisconnect = NULL;
        redisAsyncFree(ac);
        return;
    }

    ngx_kanban_events_redis = ac;
}


static void
ngx_kanban_events_redis_on_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK) {
        /* hiredis frees the context after this */
        ngx_kanban_events_redis = NULL;
        ngx_kanban_events_subscribed = 0;
    }
}


static void
ngx_kanban_events_redis_on_disconnect(const redisAsyncContext *ac,
    int status)
{
    ngx_kanban_events_redis = NULL;
    ngx_kanban_events_subscribed = 0;

    if (!ngx_kanban_events_logged_down) {
        ngx_kanban_events_logged_down = 1;
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: the event subscription to Redis is lost; "
                      "events are read from PostgreSQL every second "
                      "until it is back");
    }
}


/* ["psubscribe", pattern, n] once; then ["pmessage", pattern, channel,
 * message] */

static void
ngx_kanban_events_redis_on_message(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_str_t    slug;
    redisReply  *rr = reply, *kind, *channel;

    if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || rr->elements < 3) {
        return;
    }

    kind = rr->element[0];

    if (kind->type != REDIS_REPLY_STRING) {
        return;
    }

    if (kind->len == 10 && ngx_strncmp(kind->str, "psubscribe", 10) == 0) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "kanban: subscribed to the events in Redis");

        ngx_kanban_events_subscribed = 1;
        ngx_kanban_events_logged_down = 0;

        /* what came while the subscription was away */
        ngx_kanban_events_feed_all();
        return;
    }

    if (rr->elements < 4 || kind->len != 8
        || ngx_strncmp(kind->str, "pmessage", 8) != 0)
    {
        return;
    }

    channel = rr->element[2];

    if (channel->type != REDIS_REPLY_STRING
        || channel->len <= (int) sizeof(NGX_KANBAN_EVENTS_CHANNEL) - 1)
    {
        return;
    }

    slug.data = (u_char *) channel->str + sizeof(NGX_KANBAN_EVENTS_CHANNEL)
                - 1;
    slug.len = channel->len - (sizeof(NGX_KANBAN_EVENTS_CHANNEL) - 1);

    ngx_kanban_events_feed_hint(&slug);

    /* the write that published it may have queued webhook deliveries */
    ngx_kanban_webhooks_hint(&slug);
}
