
/*
 * The worker's HTTP client (see ngx_kanban_http.h): one curl multi handle
 * per worker, its sockets and its timer on nginx's event loop.
 *
 * curl tells which sockets it wants watched, and for what, through the
 * socket callback: a socket seen first becomes an nginx connection
 * (ngx_get_connection, its fd still curl's), its read and write events
 * level-triggered, since curl may leave bytes unread; the connection is
 * given back when curl says it is done with the socket, and curl closes
 * the fd itself. curl's one timer is an nginx timer. Each event calls
 * curl_multi_socket_action(), then the finished transfers are collected.
 *
 * Where a request may go is checked on the address curl is about to
 * connect to (the open-socket callback), after its own resolution, so a
 * name that resolves to a private address is refused as the address
 * itself is; redirects are never followed, proxies never used.
 */

#include "ngx_kanban_http.h"
#include <curl/curl.h>


#define NGX_KANBAN_HTTP_AGENT   "kanban/" NGX_KANBAN_VERSION


static void ngx_kanban_http_cleanup(void *data);
static int ngx_kanban_http_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp);
static int ngx_kanban_http_timer(CURLM *multi, long timeout_ms,
    void *userp);
static void ngx_kanban_http_timer_handler(ngx_event_t *ev);
static void ngx_kanban_http_event_handler(ngx_event_t *ev);
static void ngx_kanban_http_release(ngx_connection_t *c);
static void ngx_kanban_http_collect(void);
static void ngx_kanban_http_finish(ngx_kanban_http_req_t *hr,
    CURLcode code);
static void ngx_kanban_http_forget(ngx_kanban_http_req_t *hr);
static curl_socket_t ngx_kanban_http_open_socket(void *clientp,
    curlsocktype purpose, struct curl_sockaddr *address);
static size_t ngx_kanban_http_write(char *ptr, size_t size, size_t n,
    void *userdata);
static size_t ngx_kanban_http_write_header(char *ptr, size_t size, size_t n,
    void *userdata);
static ngx_int_t ngx_kanban_http_append(ngx_kanban_http_req_t *hr,
    ngx_buf_t **bp, u_char *data, size_t len, size_t max);
static ngx_int_t ngx_kanban_http_smtp(ngx_kanban_http_req_t *hr,
    CURL *easy);
static size_t ngx_kanban_http_read(char *buf, size_t size, size_t n,
    void *userdata);
static char *ngx_kanban_http_cstr(ngx_pool_t *pool, ngx_str_t *s);


static CURLM        *ngx_kanban_http_multi;
static ngx_queue_t   ngx_kanban_http_conns;      /* curl's sockets, watched */
static ngx_event_t   ngx_kanban_http_timer_event;
static ngx_uint_t    ngx_kanban_http_nrunning;


ngx_int_t
ngx_kanban_http_init_process(ngx_cycle_t *cycle)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "kanban: curl_global_init() failed");
        return NGX_ERROR;
    }

    ngx_kanban_http_multi = curl_multi_init();
    if (ngx_kanban_http_multi == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "kanban: curl_multi_init() failed");
        return NGX_ERROR;
    }

    ngx_queue_init(&ngx_kanban_http_conns);

    curl_multi_setopt(ngx_kanban_http_multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_kanban_http_socket);
    curl_multi_setopt(ngx_kanban_http_multi, CURLMOPT_TIMERFUNCTION,
                      ngx_kanban_http_timer);

    ngx_kanban_http_timer_event.handler = ngx_kanban_http_timer_handler;
    ngx_kanban_http_timer_event.log = cycle->log;
    ngx_kanban_http_timer_event.data = &ngx_kanban_http_timer_event;

    /* a quitting worker does not wait for requests in flight: their
     * callers learn of it by their pools' cleanups */
    ngx_kanban_http_timer_event.cancelable = 1;

    return NGX_OK;
}


void
ngx_kanban_http_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t       *q;
    ngx_connection_t  *c;

    if (ngx_kanban_http_multi == NULL) {
        return;
    }

    if (ngx_kanban_http_timer_event.timer_set) {
        ngx_del_timer(&ngx_kanban_http_timer_event);
    }

    /* nginx lets go of curl's sockets; curl closes them */
    while (!ngx_queue_empty(&ngx_kanban_http_conns)) {
        q = ngx_queue_head(&ngx_kanban_http_conns);
        c = ngx_queue_data(q, ngx_connection_t, queue);
        curl_multi_assign(ngx_kanban_http_multi, c->fd, NULL);
        ngx_kanban_http_release(c);
    }

    curl_multi_cleanup(ngx_kanban_http_multi);
    ngx_kanban_http_multi = NULL;
}


ngx_uint_t
ngx_kanban_http_running(void)
{
    return ngx_kanban_http_nrunning;
}


ngx_kanban_http_req_t *
ngx_kanban_http_create(ngx_pool_t *pool, ngx_log_t *log)
{
    ngx_pool_cleanup_t     *cln;
    ngx_kanban_http_req_t  *hr;

    hr = ngx_pcalloc(pool, sizeof(ngx_kanban_http_req_t));
    if (hr == NULL) {
        return NULL;
    }

    hr->errbuf = ngx_pcalloc(pool, CURL_ERROR_SIZE);
    if (hr->errbuf == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_kanban_http_cleanup;
    cln->data = hr;

    hr->pool = pool;
    hr->log = log;
    ngx_str_set(&hr->method, "GET");
    hr->timeout = 10000;

    return hr;
}


ngx_int_t
ngx_kanban_http_header(ngx_kanban_http_req_t *hr, char *name,
    ngx_str_t *value)
{
    u_char             *line;
    size_t              len;
    struct curl_slist  *list;

    len = ngx_strlen(name) + 2 + value->len + 1;

    line = ngx_pnalloc(hr->pool, len);
    if (line == NULL) {
        return NGX_ERROR;
    }

    /* "Name:" alone: curl sends no such header, not even its own */
    ngx_sprintf(line, value->len ? "%s: %V%Z" : "%s:%Z", name, value);

    list = curl_slist_append(hr->header_list, (char *) line);
    if (list == NULL) {
        return NGX_ERROR;
    }

    hr->header_list = list;

    return NGX_OK;
}


/* Starts the request; NGX_ERROR when it cannot be (the handler is then
 * not called). */

ngx_int_t
ngx_kanban_http_send(ngx_kanban_http_req_t *hr)
{
    CURL       *easy;
    u_char     *url, *method;
    CURLMcode   mc;

    if (ngx_kanban_http_multi == NULL) {
        return NGX_ERROR;
    }

    url = ngx_pnalloc(hr->pool, hr->url.len + 1);
    method = ngx_pnalloc(hr->pool, hr->method.len + 1);
    if (url == NULL || method == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(url, hr->url.data, hr->url.len + 1);
    ngx_cpystrn(method, hr->method.data, hr->method.len + 1);

    easy = curl_easy_init();
    if (easy == NULL) {
        return NGX_ERROR;
    }

    hr->easy = easy;

    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, hr);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, hr->errbuf);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, NGX_KANBAN_HTTP_AGENT);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) hr->timeout);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) hr->timeout);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION,
                     ngx_kanban_http_open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, hr);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ngx_kanban_http_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, hr);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION,
                     ngx_kanban_http_write_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, hr);
    if ((hr->url.len > 7 && ngx_strncasecmp(hr->url.data,
                                             (u_char *) "smtp://", 7) == 0)
        || (hr->url.len > 8 && ngx_strncasecmp(hr->url.data,
                                               (u_char *) "smtps://", 8) == 0))
    {
        if (ngx_kanban_http_smtp(hr, easy) != NGX_OK) {
            ngx_kanban_http_forget(hr);
            return NGX_ERROR;
        }

    } else {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    }

    if (hr->smtp) {
        /* the message is uploaded, not posted */

    } else if (hr->body.len || ngx_strcmp(method, "POST") == 0) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) hr->body.len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                         hr->body.len ? (char *) hr->body.data : "");
    }

    if (hr->header_list && !hr->smtp) {
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hr->header_list);
    }

    mc = curl_multi_add_handle(ngx_kanban_http_multi, easy);
    if (mc != CURLM_OK) {
        ngx_log_error(NGX_LOG_ERR, hr->log, 0,
                      "kanban: curl_multi_add_handle() failed: %s",
                      curl_multi_strerror(mc));
        ngx_kanban_http_forget(hr);
        return NGX_ERROR;
    }

    hr->running = 1;
    ngx_kanban_http_nrunning++;

    return NGX_OK;
}


/* Ends a request in flight without calling its handler. */

void
ngx_kanban_http_cancel(ngx_kanban_http_req_t *hr)
{
    ngx_kanban_http_forget(hr);
}


static void
ngx_kanban_http_cleanup(void *data)
{
    ngx_kanban_http_req_t  *hr = data;

    ngx_kanban_http_forget(hr);

    if (hr->header_list) {
        curl_slist_free_all(hr->header_list);
        hr->header_list = NULL;
    }
}


static void
ngx_kanban_http_forget(ngx_kanban_http_req_t *hr)
{
    if (hr->easy == NULL) {
        return;
    }

    if (hr->running) {
        hr->running = 0;
        ngx_kanban_http_nrunning--;
        curl_multi_remove_handle(ngx_kanban_http_multi, hr->easy);
    }

    curl_easy_cleanup(hr->easy);
    hr->easy = NULL;
}


/* The answer's header of that name (the last one, from the final
 * response), or NULL. */

ngx_str_t *
ngx_kanban_http_answer_header(ngx_kanban_http_req_t *hr, char *name)
{
    u_char     *p, *end, *line, *colon;
    size_t      n;
    ngx_str_t  *found;

    found = NULL;
    n = ngx_strlen(name);
    p = hr->headers.data;
    end = p + hr->headers.len;

    while (p < end) {
        line = p;

        while (p < end && *p != '\n') {
            p++;
        }

        colon = ngx_strlchr(line, p, ':');

        if (colon && (size_t) (colon - line) == n
            && ngx_strncasecmp(line, (u_char *) name, n) == 0)
        {
            found = ngx_palloc(hr->pool, sizeof(ngx_str_t));
            if (found == NULL) {
                return NULL;
            }

            colon++;
            while (colon < p && (*colon == ' ' || *colon == '\t')) {
                colon++;
            }

            found->data = colon;
            found->len = p - colon;

            while (found->len && (found->data[found->len - 1] == '\r'
                                  || found->data[found->len - 1] == ' '))
            {
                found->len--;
            }
        }

        p++;
    }

    return found;
}


/* curl: watch socket s for what, or no more */

static int
ngx_kanban_http_socket(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
    ngx_connection_t  *c = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (c) {
            curl_multi_assign(ngx_kanban_http_multi, s, NULL);
            ngx_kanban_http_release(c);
        }

        return 0;
    }

    if (c == NULL) {
        c = ngx_get_connection(s, ngx_cycle->log);
        if (c == NULL) {
            return -1;
        }

        c->read->handler = ngx_kanban_http_event_handler;
        c->write->handler = ngx_kanban_http_event_handler;
        c->read->log = ngx_cycle->log;
        c->write->log = ngx_cycle->log;

        curl_multi_assign(ngx_kanban_http_multi, s, c);
        ngx_queue_insert_tail(&ngx_kanban_http_conns, &c->queue);
    }

    if (what & CURL_POLL_IN) {
        if (!c->read->active) {
            ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
        }

    } else if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (what & CURL_POLL_OUT) {
        if (!c->write->active) {
            ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
        }

    } else if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    return 0;
}


/* The fd stays curl's: it closes it (or keeps it for reuse). */

static void
ngx_kanban_http_release(ngx_connection_t *c)
{
    ngx_queue_remove(&c->queue);

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


/* curl: call me back in timeout_ms (-1: never) */

static int
ngx_kanban_http_timer(CURLM *multi, long timeout_ms, void *userp)
{
    if (ngx_kanban_http_timer_event.timer_set) {
        ngx_del_timer(&ngx_kanban_http_timer_event);
    }

    if (timeout_ms >= 0) {
        /* 0: in this turn of the loop, not from within curl */
        ngx_add_timer(&ngx_kanban_http_timer_event, (ngx_msec_t) timeout_ms);
    }

    return 0;
}


static void
ngx_kanban_http_timer_handler(ngx_event_t *ev)
{
    int  running;

    curl_multi_socket_action(ngx_kanban_http_multi, CURL_SOCKET_TIMEOUT, 0,
                             &running);

    ngx_kanban_http_collect();
}


static void
ngx_kanban_http_event_handler(ngx_event_t *ev)
{
    int                running, mask;
    ngx_connection_t  *c;

    c = ev->data;
    mask = ev->write ? CURL_CSELECT_OUT : CURL_CSELECT_IN;

    curl_multi_socket_action(ngx_kanban_http_multi, c->fd, mask, &running);

    ngx_kanban_http_collect();
}


static void
ngx_kanban_http_collect(void)
{
    int                     left;
    CURLMsg                *msg;
    ngx_kanban_http_req_t  *hr;

    for ( ;; ) {
        msg = curl_multi_info_read(ngx_kanban_http_multi, &left);
        if (msg == NULL) {
            break;
        }

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        hr = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &hr);

        if (hr) {
            ngx_kanban_http_finish(hr, msg->data.result);
        }
    }
}


/* The transfer is done: what it got is read from curl, curl forgets it,
 * then the handler runs (it may destroy the pool). */

static void
ngx_kanban_http_finish(ngx_kanban_http_req_t *hr, CURLcode code)
{
    long         status;
    char        *ip;
    curl_off_t   total;

    status = 0;
    total = 0;
    ip = NULL;

    curl_easy_getinfo(hr->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(hr->easy, CURLINFO_TOTAL_TIME_T, &total);
    curl_easy_getinfo(hr->easy, CURLINFO_PRIMARY_IP, &ip);

    if (ip) {
        ngx_cpystrn(hr->address, (u_char *) ip, NGX_SOCKADDR_STRLEN);
    }

    hr->elapsed = (ngx_msec_t) (total / 1000);

    if (code == CURLE_OK) {
        hr->error = NGX_KANBAN_HTTP_OK;
        hr->status = status;

    } else {
        /* a mail server's refusal is an answer: its code is kept */
        status = hr->smtp ? status : 0;

        hr->error = hr->refused ? NGX_KANBAN_HTTP_REFUSED
                    : code == CURLE_OPERATION_TIMEDOUT
                      ? NGX_KANBAN_HTTP_TIMEDOUT : NGX_KANBAN_HTTP_FAILED;
        hr->status = status;

        if (hr->refused) {
            ngx_str_set(&hr->error_text,
                        "the address is not allowed (private, loopback, "
                        "link-local or reserved)");

        } else {
            hr->error_text.data = hr->errbuf;
            hr->error_text.len = ngx_strlen(hr->errbuf);

            if (hr->error_text.len == 0) {
                hr->error_text.data = (u_char *) curl_easy_strerror(code);
                hr->error_text.len = ngx_strlen(hr->error_text.data);
            }
        }
    }

    if (hr->hbuf) {
        hr->headers.data = hr->hbuf->pos;
        hr->headers.len = hr->hbuf->last - hr->hbuf->pos;
    }

    if (hr->bbuf) {
        hr->response.data = hr->bbuf->pos;
        hr->response.len = hr->bbuf->last - hr->bbuf->pos;
    }

    ngx_kanban_http_forget(hr);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, hr->log, 0,
                   "kanban http: %V %V: %ui in %M ms",
                   &hr->method, &hr->url, hr->status, hr->elapsed);

    hr->handler(hr);
}


/* curl: about to connect to address; anything but a public address is
 * refused unless this request allows private ones */

static curl_socket_t
ngx_kanban_http_open_socket(void *clientp, curlsocktype purpose,
    struct curl_sockaddr *address)
{
    ngx_kanban_http_req_t  *hr = clientp;

    if (!hr->allow_private
        && !ngx_kanban_http_address_public(&address->addr))
    {
        hr->refused = 1;
        return CURL_SOCKET_BAD;
    }

    return socket(address->family, address->socktype, address->protocol);
}


/* Not loopback, private (RFC 1918, ULA), shared (CGNAT), link-local
 * (and so the cloud metadata address), multicast, reserved, unspecified
 * or documentation; an IPv6 address that carries an IPv4 one is judged
 * by it. */

ngx_uint_t
ngx_kanban_http_address_public(struct sockaddr *sa)
{
    u_char               *b;
    uint32_t              a;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
    static u_char         nat64[12] = { 0, 0x64, 0xff, 0x9b,
                                        0, 0, 0, 0, 0, 0, 0, 0 };
#endif

    switch (sa->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        a = ntohl(sin->sin_addr.s_addr);
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        b = sin6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)
            || IN6_IS_ADDR_V4COMPAT(&sin6->sin6_addr)
            || ngx_memcmp(b, nat64, 12) == 0)
        {
            a = ((uint32_t) b[12] << 24) | ((uint32_t) b[13] << 16)
                | ((uint32_t) b[14] << 8) | b[15];
            break;
        }

        if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)
            || IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)
            || (b[0] & 0xfe) == 0xfc                    /* fc00::/7 ULA */
            || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)  /* fe80::/10 */
            || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)  /* fec0::/10 */
            || b[0] == 0xff                             /* multicast */
            || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d
                && b[3] == 0xb8))                       /* 2001:db8::/32 */
        {
            return 0;
        }

        return 1;
#endif

    default:
        return 0;
    }

    if ((a >> 24) == 0                                  /* 0.0.0.0/8 */
        || (a >> 24) == 10                              /* 10/8 */
        || (a >> 24) == 127                             /* loopback */
        || (a & 0xffc00000) == 0x64400000               /* 100.64/10 */
        || (a & 0xffff0000) == 0xa9fe0000               /* 169.254/16 */
        || (a & 0xfff00000) == 0xac100000               /* 172.16/12 */
        || (a & 0xffffff00) == 0xc0000000               /* 192.0.0/24 */
        || (a & 0xffffff00) == 0xc0000200               /* 192.0.2/24 */
        || (a & 0xffff0000) == 0xc0a80000               /* 192.168/16 */
        || (a & 0xfffe0000) == 0xc6120000               /* 198.18/15 */
        || (a & 0xffffff00) == 0xc6336400               /* 198.51.100/24 */
        || (a & 0xffffff00) == 0xcb007100               /* 203.0.113/24 */
        || (a >> 28) >= 0xe)                            /* multicast and up */
    {
        return 0;
    }

    return 1;
}


static size_t
ngx_kanban_http_write(char *ptr, size_t size, size_t n, void *userdata)
{
    ngx_kanban_http_req_t  *hr = userdata;

    if (ngx_kanban_http_append(hr, &hr->bbuf, (u_char *) ptr, size * n,
                               hr->max_body ? hr->max_body
                                            : NGX_KANBAN_HTTP_MAX_BODY)
        != NGX_OK)
    {
        return 0;
    }

    return size * n;
}


/* Each response's headers start a new block: only the last (the final
 * answer after any 1xx) is kept. */

static size_t
ngx_kanban_http_write_header(char *ptr, size_t size, size_t n,
    void *userdata)
{
    ngx_kanban_http_req_t  *hr = userdata;

    if (!hr->smtp && size * n > 5 && ngx_strncmp(ptr, "HTTP/", 5) == 0
        && hr->hbuf)
    {
        hr->hbuf->last = hr->hbuf->pos;
    }

    if (ngx_kanban_http_append(hr, &hr->hbuf, (u_char *) ptr, size * n,
                               16384)
        != NGX_OK)
    {
        return 0;
    }

    return size * n;
}


/* Keeps up to max bytes; what comes after is dropped, not refused. */

static ngx_int_t
ngx_kanban_http_append(ngx_kanban_http_req_t *hr, ngx_buf_t **bp,
    u_char *data, size_t len, size_t max)
{
    size_t      room, size;
    ngx_buf_t  *b, *nb;

    b = *bp;

    if (b == NULL || (size_t) (b->end - b->last) < len) {
        size = b ? (size_t) (b->last - b->pos) : 0;

        if (size >= max) {
            return NGX_OK;
        }

        room = ngx_max(2 * (b ? (size_t) (b->end - b->start) : 0),
                       size + len);
        room = ngx_max(room, 1024);
        room = ngx_min(room, max);

        nb = ngx_create_temp_buf(hr->pool, room);
        if (nb == NULL) {
            return NGX_ERROR;
        }

        if (size) {
            nb->last = ngx_cpymem(nb->last, b->pos, size);
        }

        *bp = nb;
        b = nb;
    }

    len = ngx_min(len, (size_t) (b->end - b->last));
    b->last = ngx_cpymem(b->last, data, len);

    return NGX_OK;
}


/* An SMTP transfer: the envelope, TLS (smtps://, or STARTTLS required on
 * smtp:// when asked), AUTH when a user is given, and the message as the
 * upload. */

static ngx_int_t
ngx_kanban_http_smtp(ngx_kanban_http_req_t *hr, CURL *easy)
{
    char               *from, *rcpt, *v;
    struct curl_slist  *list;

    if (hr->mail_from.len == 0 || hr->rcpt.len == 0) {
        return NGX_ERROR;
    }

    from = ngx_kanban_http_cstr(hr->pool, &hr->mail_from);
    rcpt = ngx_kanban_http_cstr(hr->pool, &hr->rcpt);
    if (from == NULL || rcpt == NULL) {
        return NGX_ERROR;
    }

    /* the list is freed with the request's headers (never sent as such) */
    list = curl_slist_append(hr->header_list, rcpt);
    if (list == NULL) {
        return NGX_ERROR;
    }

    hr->header_list = list;
    hr->smtp = 1;

    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, list);
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                     (curl_off_t) hr->body.len);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, ngx_kanban_http_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, hr);
    curl_easy_setopt(easy, CURLOPT_USE_SSL,
                     hr->starttls ? CURLUSESSL_ALL : CURLUSESSL_TRY);

    if (hr->ca_file.len) {
        v = ngx_kanban_http_cstr(hr->pool, &hr->ca_file);
        if (v == NULL) {
            return NGX_ERROR;
        }

        curl_easy_setopt(easy, CURLOPT_CAINFO, v);
    }

    if (hr->user.len) {
        v = ngx_kanban_http_cstr(hr->pool, &hr->user);
        if (v == NULL) {
            return NGX_ERROR;
        }

        curl_easy_setopt(easy, CURLOPT_USERNAME, v);

        v = ngx_kanban_http_cstr(hr->pool, &hr->password);
        if (v == NULL) {
            return NGX_ERROR;
        }

        curl_easy_setopt(easy, CURLOPT_PASSWORD, v);
    }

    return NGX_OK;
}


static size_t
ngx_kanban_http_read(char *buf, size_t size, size_t n, void *userdata)
{
    ngx_kanban_http_req_t  *hr = userdata;

    size_t  len;

    len = ngx_min(size * n, hr->body.len - hr->uploaded);

    ngx_memcpy(buf, hr->body.data + hr->uploaded, len);
    hr->uploaded += len;

    return len;
}


static char *
ngx_kanban_http_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    return (char *) p;
}
