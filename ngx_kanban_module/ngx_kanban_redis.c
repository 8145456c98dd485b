
/*
 * The worker's link to Redis (kanban_redis): hiredis' async client on
 * nginx's events. It reconnects by itself and sends a PING every second,
 * so /health knows at once whether Redis answers; a request never waits
 * on Redis to learn that.
 */

#include "ngx_kanban_redis.h"


#define NGX_KANBAN_REDIS_BEAT     1000
#define NGX_KANBAN_REDIS_DEAD     3000


typedef struct {
    redisAsyncContext         *ac;
    ngx_connection_t          *c;
    ngx_event_t                beat;
    ngx_msec_t                 pong;          /* when Redis last answered */
    ngx_uint_t                 connected;
    ngx_uint_t                 logged_down;
} ngx_kanban_redis_t;


static void ngx_kanban_redis_connect(void);
static void ngx_kanban_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_kanban_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_kanban_redis_on_pong(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_kanban_redis_heartbeat(ngx_event_t *ev);
static void ngx_kanban_redis_read(ngx_event_t *ev);
static void ngx_kanban_redis_write(ngx_event_t *ev);
static void ngx_kanban_redis_add_read(void *data);
static void ngx_kanban_redis_del_read(void *data);
static void ngx_kanban_redis_add_write(void *data);
static void ngx_kanban_redis_del_write(void *data);
static void ngx_kanban_redis_cleanup(void *data);
static void ngx_kanban_redis_down(void);


static ngx_kanban_redis_t  *ngx_kanban_redis;


ngx_int_t
ngx_kanban_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();

    if (kmcf->redis.len == 0) {
        return NGX_OK;
    }

    ngx_kanban_redis = ngx_pcalloc(cycle->pool, sizeof(ngx_kanban_redis_t));
    if (ngx_kanban_redis == NULL) {
        return NGX_ERROR;
    }

    ngx_kanban_redis->beat.handler = ngx_kanban_redis_heartbeat;
    ngx_kanban_redis->beat.log = cycle->log;
    ngx_kanban_redis->beat.data = ngx_kanban_redis;
    ngx_kanban_redis->beat.cancelable = 1;

    ngx_kanban_redis_connect();

    ngx_add_timer(&ngx_kanban_redis->beat, NGX_KANBAN_REDIS_BEAT);

    return NGX_OK;
}


void
ngx_kanban_redis_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_kanban_redis == NULL || ngx_kanban_redis->ac == NULL) {
        return;
    }

    /* no callbacks from here on: the worker is going */
    ngx_kanban_redis->ac->onDisconnect = NULL;
    redisAsyncFree(ngx_kanban_redis->ac);
    ngx_kanban_redis->ac = NULL;
}


ngx_uint_t
ngx_kanban_redis_up(void)
{
    if (ngx_kanban_redis == NULL || !ngx_kanban_redis->connected) {
        return 0;
    }

    return ngx_current_msec - ngx_kanban_redis->pong
           < NGX_KANBAN_REDIS_DEAD;
}


ngx_int_t
ngx_kanban_redis_command(redisCallbackFn *fn, void *privdata,
    const char *format, ...)
{
    int      rc;
    va_list  args;

    if (!ngx_kanban_redis_up()) {
        return NGX_DECLINED;
    }

    va_start(args, format);
    rc = redisvAsyncCommand(ngx_kanban_redis->ac, fn, privdata, format, args);
    va_end(args);

    return rc == REDIS_OK ? NGX_OK : NGX_DECLINED;
}


/* A command already in Redis's protocol (RESP), as a caller on a hot path
 * makes it without hiredis's printf-like formatting; hiredis copies it. */

ngx_int_t
ngx_kanban_redis_formatted(redisCallbackFn *fn, void *privdata, u_char *cmd,
    size_t len)
{
    if (!ngx_kanban_redis_up()) {
        return NGX_DECLINED;
    }

    return redisAsyncFormattedCommand(ngx_kanban_redis->ac, fn, privdata,
                                      (char *) cmd, len)
           == REDIS_OK ? NGX_OK : NGX_DECLINED;
}


ngx_uint_t
ngx_kanban_redis_configured(void)
{
    return ngx_kanban_redis != NULL;
}


static void
ngx_kanban_redis_connect(void)
{
    redisAsyncContext  *ac;

    ac = ngx_kanban_redis_open();

    if (ac == NULL) {
        ngx_kanban_redis_down();
        return;
    }

    ngx_kanban_redis->ac = ac;
    ngx_kanban_redis->c = ac->ev.data;

    redisAsyncSetConnectCallback(ac, ngx_kanban_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_kanban_redis_on_disconnect);
}


/* A new connection to kanban_redis on nginx's events, connecting; the
 * caller sets its callbacks. Another part of the product that needs a
 * link of its own (a subscription, which can send nothing else) opens
 * it here too. NULL when it cannot even start. */

redisAsyncContext *
ngx_kanban_redis_open(void)
{
    u_char                  *p, host[NGX_MAXHOSTNAMELEN + 128];
    ngx_int_t                port;
    redisAsyncContext       *ac;
    ngx_connection_t        *c;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();

    if (kmcf->redis.len == 0 || kmcf->redis.len >= sizeof(host)) {
        return NULL;
    }

    ngx_memcpy(host, kmcf->redis.data, kmcf->redis.len);
    host[kmcf->redis.len] = '\0';

    if (ngx_strncmp(host, "unix:", 5) == 0) {
        ac = redisAsyncConnectUnix((char *) host + 5);

    } else {
        p = (u_char *) ngx_strchr(host, ':');
        port = 6379;

        if (p) {
            *p = '\0';
            port = ngx_atoi(p + 1, ngx_strlen(p + 1));
        }

        /* an address, not a name: resolving would block the worker */
        ac = redisAsyncConnect((char *) host, (int) port);
    }

    if (ac == NULL) {
        return NULL;
    }

    if (ac->err) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "kanban redis: connect failed: %s", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }

    c = ngx_get_connection(ac->c.fd, ngx_cycle->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        return NULL;
    }

    c->data = ac;
    c->read->handler = ngx_kanban_redis_read;
    c->write->handler = ngx_kanban_redis_write;
    c->read->log = c->log;
    c->write->log = c->log;

    ac->ev.data = c;
    ac->ev.addRead = ngx_kanban_redis_add_read;
    ac->ev.delRead = ngx_kanban_redis_del_read;
    ac->ev.addWrite = ngx_kanban_redis_add_write;
    ac->ev.delWrite = ngx_kanban_redis_del_write;
    ac->ev.cleanup = ngx_kanban_redis_cleanup;

    /* the connect completes when the socket turns writable */
    ngx_kanban_redis_add_write(c);

    return ac;
}


static void
ngx_kanban_redis_on_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK) {
        /* hiredis frees the context after this */
        ngx_kanban_redis->ac = NULL;
        ngx_kanban_redis_down();
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "kanban: connected to Redis");

    ngx_kanban_redis->connected = 1;
    ngx_kanban_redis->logged_down = 0;
    ngx_kanban_redis->pong = ngx_current_msec;
    ngx_kanban_metrics_redis(1);

    redisAsyncCommand((redisAsyncContext *) ac, ngx_kanban_redis_on_pong,
                      NULL, "PING");
}


static void
ngx_kanban_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_kanban_redis->ac = NULL;
    ngx_kanban_redis_down();
}


static void
ngx_kanban_redis_on_pong(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply  *rr = reply;

    if (rr && rr->type == REDIS_REPLY_STATUS) {
        ngx_kanban_redis->pong = ngx_current_msec;
        ngx_kanban_metrics_redis(1);
    }
}


static void
ngx_kanban_redis_heartbeat(ngx_event_t *ev)
{
    ngx_kanban_redis_t  *kr = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (kr->ac == NULL) {
        ngx_kanban_redis_connect();

    } else if (kr->connected) {
        if (!ngx_kanban_redis_up()) {
            ngx_kanban_metrics_redis(0);
        }

        redisAsyncCommand(kr->ac, ngx_kanban_redis_on_pong, NULL, "PING");
    }

    ngx_add_timer(ev, NGX_KANBAN_REDIS_BEAT);
}


static void
ngx_kanban_redis_down(void)
{
    ngx_kanban_redis->connected = 0;
    ngx_kanban_metrics_redis(0);

    if (!ngx_kanban_redis->logged_down) {
        ngx_kanban_redis->logged_down = 1;
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: Redis is unreachable; retrying every second");
    }
}


static void
ngx_kanban_redis_read(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleRead(c->data);
}


static void
ngx_kanban_redis_write(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleWrite(c->data);
}


static void
ngx_kanban_redis_add_read(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->read->active) {
        ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_kanban_redis_del_read(void *data)
{
    ngx_connection_t  *c = data;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_kanban_redis_add_write(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->write->active) {
        ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_kanban_redis_del_write(void *data)
{
    ngx_connection_t  *c = data;

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis is about to close its socket: nginx lets go of it first */

static void
ngx_kanban_redis_cleanup(void *data)
{
    ngx_connection_t  *c = data;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;

    if (ngx_kanban_redis && ngx_kanban_redis->c == c) {
        ngx_kanban_redis->c = NULL;
    }
}
