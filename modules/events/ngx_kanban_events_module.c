
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
 * The writing is ngx_kanban_events_write.c.
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


/* what every stream is sent first (how soon to reconnect), and its
 * heartbeat */
static u_char  ngx_kanban_events_retry_text[] = "retry: 2000\n\n";
static u_char  ngx_kanban_events_beat_text[] = ":\n\n";

static ngx_kanban_events_event_t  ngx_kanban_events_retry = {
    0, 0, "", NULL, 0, 0, 0, 0, 1, 0,
    sizeof(ngx_kanban_events_retry_text) - 1, ngx_kanban_events_retry_text
};

static ngx_kanban_events_event_t  ngx_kanban_events_heartbeat = {
    0, 0, "", NULL, 0, 0, 0, 0, 1, 0,
    sizeof(ngx_kanban_events_beat_text) - 1, ngx_kanban_events_beat_text
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

    rc = ngx_kanban_events_stream_header(r);
    if (r->method == NGX_HTTP_HEAD || rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    rc = ngx_kanban_events_subscribe(r, sub, tenant, id);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_kanban_events_send(sub, &ngx_kanban_events_retry) != NGX_OK) {
        return NGX_DONE;
    }

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
    if (!sub->done
        && ngx_current_msec - sub->written >= sub->conf->heartbeat)
    {
        (void) ngx_kanban_events_send(sub, &ngx_kanban_events_heartbeat);
    }
}


/* A stream whose client has not read what it was sent is closed: the
 * clean end would wait for it, and keep the worker. */

static void
ngx_kanban_events_quit(ngx_kanban_events_sub_t *sub)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = sub->connection;

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "kanban: event stream ends: the worker quits");

    if (sub->raw) {
        ngx_kanban_events_end(sub, 0);
        return;
    }

    r = sub->request;

    if (sub->unsent || (c->buffered & NGX_HTTP_WRITE_BUFFERED)) {
        ngx_kanban_events_close(sub);
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
        ngx_http_run_posted_requests(c);
        return;
    }

    ngx_kanban_events_end(sub, 0);
}


/* kanban_events [heartbeat=time] [buffer=size] */

static char *
ngx_kanban_events(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_events_loc_conf_t  *elcf = conf;

    ssize_t                    size;
    ngx_str_t                 *value, s;
    ngx_msec_t                 msec;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (elcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    elcf->enable = 1;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "heartbeat=", 10) == 0) {
            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            msec = ngx_parse_time(&s, 0);
            if (msec == (ngx_msec_t) NGX_ERROR || msec < 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid heartbeat \"%V\" (1s or more)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            elcf->conf.heartbeat = msec;
            continue;
        }

        if (ngx_strncmp(value[i].data, "buffer=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            size = ngx_parse_size(&s);
            if (size == NGX_ERROR || size < 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid buffer \"%V\" (1k or more)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            elcf->conf.buffer = size;
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

    ngx_conf_merge_msec_value(conf->conf.heartbeat, prev->conf.heartbeat,
                              20000);
    ngx_conf_merge_size_value(conf->conf.buffer, prev->conf.buffer,
                              256 * 1024);

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
    }
}
