
/*
 * ngx_http_kanban_events_module: the event stream, GET /api/v1/events, as
 * Server-Sent Events.
 *
 *   location = /api/v1/events {
 *       kanban_jwt on;
 *       kanban_limit zone=api;
 *       kanban_events [heartbeat=20s] [buffer=256k];
 *   }
 *
 * Authenticated as any API call (a bearer access token or an API token
 * with any scope); ?project_id= keeps one project's events; Last-Event-ID
 * (or ?last_event_id=) resumes after that event. Each event is
 * "id: N\nevent: TYPE\ndata: JSON\n\n"; a comment line every heartbeat
 * keeps idle proxies from closing the stream. A client that leaves more
 * than buffer bytes unread is dropped (it resumes with Last-Event-ID); the
 * stream ends when the access token expires, and when the worker quits (a
 * reload), cleanly, so that clients reconnect.
 *
 * Memory: a stream holds its request and a small state; the bytes of an
 * event are encoded once per worker and shared by every stream they go to
 * (ngx_kanban_events_feed.c).
 *
 * This file: the directive, the handler that runs a stream's admission
 * (ngx_kanban_events_admit.c) and hands it to its feed, and the worker's
 * tick (heartbeats, the Redis subscription kept, streams ended on quit).
 * The writing is the core's (ngx_kanban_module/ngx_kanban_sse.c).
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"


#define NGX_KANBAN_EVENTS_TICK      1000


typedef struct {
    ngx_flag_t                 enable;
    ngx_kanban_events_conf_t   conf;
} ngx_kanban_events_loc_conf_t;


static ngx_int_t ngx_kanban_events_handler(ngx_http_request_t *r);
static void ngx_kanban_events_tick(ngx_event_t *ev);
static void ngx_kanban_events_beat(ngx_kanban_events_sub_t *sub);
static void ngx_kanban_events_quit(ngx_kanban_events_sub_t *sub);
static char *ngx_kanban_events(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_kanban_events_create_loc_conf(ngx_conf_t *cf);
static char *ngx_kanban_events_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_kanban_events_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_events_init_process(ngx_cycle_t *cycle);
static void ngx_kanban_events_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_kanban_events_commands[] = {

    { ngx_string("kanban_events"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE12,
      ngx_kanban_events,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_events_module_ctx = {
    ngx_kanban_events_preconfiguration,    /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_events_create_loc_conf,     /* create location configuration */
    ngx_kanban_events_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_events_module = {
    NGX_MODULE_V1,
    &ngx_kanban_events_module_ctx,         /* module context */
    ngx_kanban_events_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_events_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_kanban_events_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_event_t  ngx_kanban_events_timer;
static ngx_uint_t   ngx_kanban_events_enabled;


static ngx_int_t
ngx_kanban_events_handler(ngx_http_request_t *r)
{
    int64_t                        after;
    char                          *bad;
    ngx_int_t                      rc;
    ngx_uint_t                     resume;
    ngx_kanban_tenant_t           *tenant;
    ngx_kanban_identity_t         *id;
    ngx_kanban_events_sub_t       *sub;
    ngx_kanban_events_loc_conf_t  *elcf;
    ngx_kanban_ctx_t              *ctx;

    /* what the API answers before routing (the workspace's CORS: the
     * stream is read from its listed origins too); NGX_DONE: the list is
     * being read, and this handler runs again once it is */
    ctx = ngx_kanban_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->tenant = ngx_kanban_tenant(r);

    if (ctx->tenant) {
        rc = ngx_kanban_preroute(r, ctx);

        if (rc == NGX_DONE) {
            r->main->count++;
            return NGX_DONE;
        }

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tenant = NULL;

    id = ngx_kanban_events_admit(r, &tenant, &rc);
    if (id == NULL) {
        return rc;
    }

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_events_module);

    sub = ngx_kanban_events_sub_create(r, id, &elcf->conf);
    if (sub == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    bad = ngx_kanban_events_args(r, sub, &after, &resume);
    if (bad) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST, bad);
    }

    if (r->method == NGX_HTTP_HEAD) {
        return ngx_kanban_sse_header(r);
    }

    rc = ngx_kanban_events_subscribe(r, sub, tenant, id);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the head goes once the stream knows where the log stands
     * (ngx_kanban_events_open): a client that has it misses no event
     * committed after, even one written the moment it arrives */
    ngx_kanban_events_feed_start(sub, after, resume);

    return NGX_DONE;
}


/* Every second: heartbeats to streams that have been quiet, the Redis
 * subscription kept, and, when the worker quits, every stream ended. */

static void
ngx_kanban_events_tick(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_kanban_events_feed_each_sub(ngx_kanban_events_quit);
        ngx_kanban_events_redis_exit_process((ngx_cycle_t *) ngx_cycle);
        return;
    }

    ngx_kanban_events_redis_tick();
    ngx_kanban_events_feed_each_sub(ngx_kanban_events_beat);

    ngx_add_timer(ev, NGX_KANBAN_EVENTS_TICK);
}


static void
ngx_kanban_events_beat(ngx_kanban_events_sub_t *sub)
{
    ngx_kanban_sse_beat(&sub->sse);
}


static void
ngx_kanban_events_quit(ngx_kanban_events_sub_t *sub)
{
    ngx_kanban_sse_quit(&sub->sse);
}


/* kanban_events [heartbeat=time] [buffer=size] */

static char *
ngx_kanban_events(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_events_loc_conf_t  *elcf = conf;

    ngx_int_t                  rc;
    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (elcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    elcf->enable = 1;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        rc = ngx_kanban_sse_conf_arg(cf, &value[i], &elcf->conf);

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_kanban_events_handler;

    ngx_kanban_events_enabled = 1;

    return NGX_CONF_OK;
}


static void *
ngx_kanban_events_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_events_loc_conf_t  *elcf;

    elcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_events_loc_conf_t));
    if (elcf == NULL) {
        return NULL;
    }

    elcf->enable = NGX_CONF_UNSET;
    elcf->conf.heartbeat = NGX_CONF_UNSET_MSEC;
    elcf->conf.buffer = NGX_CONF_UNSET_SIZE;

    return elcf;
}


static char *
ngx_kanban_events_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_kanban_events_loc_conf_t  *prev = parent;
    ngx_kanban_events_loc_conf_t  *conf = child;

    ngx_kanban_sse_conf_merge(&conf->conf, &prev->conf);

    return NGX_CONF_OK;
}


/* each configuration says anew whether it streams events */

static ngx_int_t
ngx_kanban_events_preconfiguration(ngx_conf_t *cf)
{
    ngx_kanban_events_enabled = 0;

    return NGX_OK;
}


/* The worker's feeds, its Redis subscription and its tick, when some
 * location streams events. The tick is not cancelable: a quitting worker
 * waits for it, and it ends the streams. */

static ngx_int_t
ngx_kanban_events_init_process(ngx_cycle_t *cycle)
{
    if (!ngx_kanban_events_enabled) {
        return NGX_OK;
    }

    if (ngx_kanban_events_feed_init_process(cycle) != NGX_OK
        || ngx_kanban_events_redis_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kanban_events_timer.handler = ngx_kanban_events_tick;
    ngx_kanban_events_timer.log = cycle->log;
    ngx_kanban_events_timer.data = &ngx_kanban_events_timer;

    ngx_add_timer(&ngx_kanban_events_timer, NGX_KANBAN_EVENTS_TICK);

    return NGX_OK;
}


static void
ngx_kanban_events_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_kanban_events_enabled) {
        ngx_kanban_events_redis_exit_process(cycle);
        ngx_kanban_events_feed_exit_process(cycle);
    }
}
