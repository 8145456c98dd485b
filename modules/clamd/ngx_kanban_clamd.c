
/*
 * clamd's INSTREAM protocol on nginx's event loop: connect (unix socket or
 * TCP) without blocking, send "zINSTREAM\0", the file in chunks each
 * after its length (4 bytes, network order), a zero length to end, and
 * read the one reply: "stream: OK", "stream: NAME FOUND" or an ERROR.
 * kanban_clamd_timeout bounds the connect and send, then the wait for the
 * reply; a clamd that is down, slow or failing is UNAVAILABLE, and kanban_clamd_unavailable says
 * whether uploads are then refused (503) or taken unscanned.
 *
 *   kanban_clamd unix:/run/clamav/clamd.ctl;     or host:port
 *   kanban_clamd_timeout 10s;
 *   kanban_clamd_unavailable refuse | accept;
 */

/* SQL: none of its own */
#include "ngx_kanban_clamd.h"


#define NGX_KANBAN_CLAMD_CHUNK   65536
#define NGX_KANBAN_CLAMD_REPLY   1024


typedef struct {
    ngx_url_t                 *url;
    ngx_msec_t                 timeout;
    ngx_uint_t                 unavailable;
} ngx_kanban_clamd_conf_t;


typedef struct {
    ngx_peer_connection_t      pc;
    ngx_http_request_t        *r;
    ngx_kanban_clamd_done_pt   done;
    u_char                    *out;            /* the whole request */
    size_t                     out_len;
    size_t                     sent;
    u_char                     reply[NGX_KANBAN_CLAMD_REPLY];
    size_t                     got;
    ngx_event_t                later;          /* an answer without clamd */
    ngx_uint_t                 finished;
} ngx_kanban_clamd_scan_t;


static u_char *ngx_kanban_clamd_request(ngx_pool_t *pool, ngx_str_t *bytes,
    size_t *len);
static void ngx_kanban_clamd_unreachable(ngx_event_t *ev);
static void ngx_kanban_clamd_write(ngx_event_t *wev);
static void ngx_kanban_clamd_read(ngx_event_t *rev);
static void ngx_kanban_clamd_verdict(ngx_kanban_clamd_scan_t *s);
static void ngx_kanban_clamd_finish(ngx_kanban_clamd_scan_t *s,
    ngx_uint_t verdict, ngx_str_t *signature);
static void ngx_kanban_clamd_cleanup(void *data);
static void ngx_kanban_clamd_close(ngx_kanban_clamd_scan_t *s);
static char *ngx_kanban_clamd_address(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_kanban_clamd_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_clamd_init_conf(ngx_conf_t *cf, void *conf);


static ngx_conf_enum_t  ngx_kanban_clamd_unavailable_modes[] = {
    { ngx_string("accept"), 0 },
    { ngx_string("refuse"), 1 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_kanban_clamd_commands[] = {

    { ngx_string("kanban_clamd"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_clamd_address,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_clamd_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_clamd_conf_t, timeout),
      NULL },

    { ngx_string("kanban_clamd_unavailable"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_clamd_conf_t, unavailable),
      &ngx_kanban_clamd_unavailable_modes },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_clamd_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_kanban_clamd_create_conf,          /* create main configuration */
    ngx_kanban_clamd_init_conf,            /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_clamd_module = {
    NGX_MODULE_V1,
    &ngx_kanban_clamd_module_ctx,          /* module context */
    ngx_kanban_clamd_commands,             /* module directives */
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


ngx_int_t
ngx_kanban_clamd_scan(ngx_http_request_t *r, ngx_str_t *bytes,
    ngx_kanban_clamd_done_pt done)
{
    ngx_int_t                 rc;
    ngx_connection_t         *c;
    ngx_pool_cleanup_t       *cln;
    ngx_kanban_clamd_conf_t  *ccf;
    ngx_kanban_clamd_scan_t  *s;

    ccf = ngx_http_get_module_main_conf(r, ngx_http_kanban_clamd_module);

    if (ccf->url == NULL) {
        return NGX_DECLINED;
    }

    s = ngx_pcalloc(r->pool, sizeof(ngx_kanban_clamd_scan_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (s == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    s->r = r;
    s->done = done;

    s->out = ngx_kanban_clamd_request(r->pool, bytes, &s->out_len);
    if (s->out == NULL) {
        return NGX_ERROR;
    }

    /* a request that ends first (the client left) lets the scan go */
    cln->handler = ngx_kanban_clamd_cleanup;
    cln->data = s;

    s->pc.sockaddr = ccf->url->addrs[0].sockaddr;
    s->pc.socklen = ccf->url->addrs[0].socklen;
    s->pc.name = &ccf->url->addrs[0].name;
    s->pc.get = ngx_event_get_peer;
    s->pc.log = r->connection->log;
    s->pc.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&s->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: clamd at \"%V\" cannot be reached",
                      s->pc.name);

        /* answered after this returns, as the caller expects */
        s->pc.connection = NULL;
        s->later.handler = ngx_kanban_clamd_unreachable;
        s->later.data = s;
        s->later.log = r->connection->log;
        ngx_post_event(&s->later, &ngx_posted_events);
        return NGX_OK;
    }

    c = s->pc.connection;
    c->data = s;
    c->pool = r->pool;
    c->log = r->connection->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = ngx_kanban_clamd_read;
    c->write->handler = ngx_kanban_clamd_write;

    ngx_add_timer(c->write, ccf->timeout);

    if (rc == NGX_OK) {
        /* connected at once (a unix socket): write on the next turn */
        ngx_post_event(c->write, &ngx_posted_events);
    }

    return NGX_OK;
}


static void
ngx_kanban_clamd_unreachable(ngx_event_t *ev)
{
    ngx_kanban_clamd_finish(ev->data, NGX_KANBAN_CLAMD_UNAVAILABLE, NULL);
}


/* "zINSTREAM\0", the chunks, each after its length, and a zero length */

static u_char *
ngx_kanban_clamd_request(ngx_pool_t *pool, ngx_str_t *bytes, size_t *len)
{
    u_char    *out, *p;
    size_t     n, left;
    uint32_t   be;

    n = (bytes->len + NGX_KANBAN_CLAMD_CHUNK - 1) / NGX_KANBAN_CLAMD_CHUNK;

    *len = sizeof("zINSTREAM") + n * 4 + bytes->len + 4;

    out = ngx_pnalloc(pool, *len);
    if (out == NULL) {
        return NULL;
    }

    p = ngx_cpymem(out, "zINSTREAM", sizeof("zINSTREAM"));

    for (left = bytes->len; left; left -= n) {
        n = ngx_min(left, NGX_KANBAN_CLAMD_CHUNK);
        be = htonl((uint32_t) n);
        p = ngx_cpymem(p, &be, 4);
        p = ngx_cpymem(p, bytes->data + (bytes->len - left), n);
    }

    be = 0;
    ngx_memcpy(p, &be, 4);

    return out;
}


static void
ngx_kanban_clamd_write(ngx_event_t *wev)
{
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_kanban_clamd_conf_t  *ccf;
    ngx_kanban_clamd_scan_t  *s;

    c = wev->data;
    s = c->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_WARN, c->log, NGX_ETIMEDOUT,
                      "kanban: clamd timed out");
        ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE, NULL);
        return;
    }

    while (s->sent < s->out_len) {
        n = c->send(c, s->out + s->sent, s->out_len - s->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE,
                                        NULL);
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            /* refused, reset, or clamd closed early (a size limit) */
            ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE, NULL);
            return;
        }

        s->sent += n;
    }

    /* all sent: the same deadline now waits for the reply */
    ccf = ngx_http_get_module_main_conf(s->r, ngx_http_kanban_clamd_module);

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    wev->handler = ngx_kanban_clamd_write;

    if (!c->read->timer_set) {
        ngx_add_timer(c->read, ccf->timeout);
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE, NULL);
        return;
    }

    if (c->read->ready) {
        ngx_kanban_clamd_read(c->read);
    }
}


static void
ngx_kanban_clamd_read(ngx_event_t *rev)
{
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_kanban_clamd_scan_t  *s;

    c = rev->data;
    s = c->data;

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_WARN, c->log, NGX_ETIMEDOUT,
                      "kanban: clamd timed out");
        ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE, NULL);
        return;
    }

    if (s->sent < s->out_len) {
        /* clamd answers before the end only to refuse (size limit) */
        if (ngx_handle_read_event(rev, 0) != NGX_OK) {
            ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE, NULL);
        }

        return;
    }

    for ( ;; ) {
        n = c->recv(c, s->reply + s->got, sizeof(s->reply) - 1 - s->got);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE,
                                        NULL);
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE, NULL);
            return;
        }

        s->got += n;

        /* the reply ends in a NUL ("z" commands), or with the connection */
        if (n == 0 || memchr(s->reply, '\0', s->got) != NULL
            || s->got == sizeof(s->reply) - 1)
        {
            ngx_kanban_clamd_verdict(s);
            return;
        }
    }
}


/* "stream: OK", "stream: Eicar-Test-Signature FOUND", or an error */

static void
ngx_kanban_clamd_verdict(ngx_kanban_clamd_scan_t *s)
{
    u_char     *p, *end;
    ngx_str_t   reply, signature;

    s->reply[s->got] = '\0';
    reply.data = s->reply;
    reply.len = ngx_strlen(s->reply);

    while (reply.len && (reply.data[reply.len - 1] == '\n'
                         || reply.data[reply.len - 1] == '\r'))
    {
        reply.len--;
    }

    end = reply.data + reply.len;

    p = (u_char *) ngx_strstr(reply.data, "stream: ");
    if (p) {
        p += sizeof("stream: ") - 1;

        if (end - p == 2 && ngx_strncmp(p, "OK", 2) == 0) {
            ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_CLEAN, NULL);
            return;
        }

        if (end - p > 6 && ngx_strncmp(end - 6, " FOUND", 6) == 0) {
            signature.data = p;
            signature.len = end - 6 - p;

            ngx_log_error(NGX_LOG_NOTICE, s->r->connection->log, 0,
                          "kanban: clamd found \"%V\" in an upload",
                          &signature);

            ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_INFECTED,
                                    &signature);
            return;
        }
    }

    ngx_log_error(NGX_LOG_WARN, s->r->connection->log, 0,
                  "kanban: clamd answered \"%V\"", &reply);

    ngx_kanban_clamd_finish(s, NGX_KANBAN_CLAMD_UNAVAILABLE, NULL);
}


/* the verdict to the caller once, always from the event loop's turn
 * (never inside ngx_kanban_clamd_scan) */

static void
ngx_kanban_clamd_finish(ngx_kanban_clamd_scan_t *s, ngx_uint_t verdict,
    ngx_str_t *signature)
{
    ngx_str_t  sig;

    if (s->finished) {
        return;
    }

    s->finished = 1;

    if (verdict == NGX_KANBAN_CLAMD_UNAVAILABLE) {
        ngx_log_error(NGX_LOG_WARN, s->r->connection->log, 0,
                      "kanban: clamd at \"%V\" is unavailable", s->pc.name);
    }

    sig.len = 0;
    sig.data = NULL;

    if (signature) {
        /* the reply buffer lives in the scan, in the request's pool */
        sig = *signature;
    }

    ngx_kanban_clamd_close(s);

    s->done(s->r, verdict, &sig);
}


static void
ngx_kanban_clamd_cleanup(void *data)
{
    ngx_kanban_clamd_scan_t  *s = data;

    s->finished = 1;

    if (s->later.posted) {
        ngx_delete_posted_event(&s->later);
    }

    ngx_kanban_clamd_close(s);
}


static void
ngx_kanban_clamd_close(ngx_kanban_clamd_scan_t *s)
{
    if (s->pc.connection) {
        s->pc.connection->pool = NULL;
        ngx_close_connection(s->pc.connection);
        s->pc.connection = NULL;
    }
}


ngx_uint_t
ngx_kanban_clamd_refuses(void)
{
    ngx_kanban_clamd_conf_t  *ccf;

    ccf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_kanban_clamd_module);

    return ccf->unavailable;
}


ngx_int_t
ngx_kanban_clamd_problem(ngx_http_request_t *r, ngx_str_t *signature)
{
    ngx_str_t        body;
    ngx_str_t        type = ngx_string("application/problem+json");
    ngx_kanban_jw_t  jw;

    if (ngx_kanban_jw_init(&jw, r->pool, 512 + signature->len) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "type");
    ngx_kanban_jw_cstring(&jw, "https://kanban.example/problems/"
                               "malware_detected");
    ngx_kanban_jw_key(&jw, "title");
    ngx_kanban_jw_cstring(&jw, "Malware detected");
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_int(&jw, 422);
    ngx_kanban_jw_key(&jw, "code");
    ngx_kanban_jw_cstring(&jw, "malware_detected");
    ngx_kanban_jw_key(&jw, "detail");
    ngx_kanban_jw_cstring(&jw, "The virus scanner found malware in this "
                               "file; it was not stored.");
    ngx_kanban_jw_key(&jw, "signature");
    ngx_kanban_jw_string(&jw, signature);
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_text(r, 422, &type,
                                &body);
}


static char *
ngx_kanban_clamd_address(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_clamd_conf_t  *ccf = conf;

    ngx_str_t  *value;
    ngx_url_t  *u;

    if (ccf->url) {
        return "is duplicate";
    }

    value = cf->args->elts;

    u = ngx_pcalloc(cf->pool, sizeof(ngx_url_t));
    if (u == NULL) {
        return NGX_CONF_ERROR;
    }

    u->url = value[1];
    u->default_port = 3310;

    if (ngx_parse_url(cf->pool, u) != NGX_OK || u->naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban_clamd \"%V\": %s", &value[1],
                           u->err ? u->err : "no address");
        return NGX_CONF_ERROR;
    }

    ccf->url = u;

    return NGX_CONF_OK;
}


static void *
ngx_kanban_clamd_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_clamd_conf_t  *ccf;

    ccf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_clamd_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    ccf->timeout = NGX_CONF_UNSET_MSEC;
    ccf->unavailable = NGX_CONF_UNSET_UINT;

    return ccf;
}


static char *
ngx_kanban_clamd_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_clamd_conf_t  *ccf = conf;

    ngx_conf_init_msec_value(ccf->timeout, 10000);
    ngx_conf_init_uint_value(ccf->unavailable, 1);

    return NGX_CONF_OK;
}
