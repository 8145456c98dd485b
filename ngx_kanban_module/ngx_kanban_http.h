
/*
 * The worker's HTTP client: libcurl's multi interface on nginx's event
 * loop. curl's sockets become nginx connections whose read and write
 * events drive curl_multi_socket_action(); curl's timer is an nginx timer.
 * Nothing here ever waits: a request is started and its handler is called
 * once, with the answer or the error.
 *
 * A request lives in a pool of its caller's; destroying that pool before
 * the answer cancels the request (the handler is then not called).
 *
 * The same client sends mail: an smtp:// or smtps:// url, the envelope in
 * mail_from and rcpt, the whole message (headers and body) in body. The
 * status is then the server's last reply code, kept on a failure too, and
 * headers hold the server's replies, so a refusal's text can be kept.
 */

#ifndef _NGX_KANBAN_HTTP_H_INCLUDED_
#define _NGX_KANBAN_HTTP_H_INCLUDED_


#include "ngx_kanban.h"


#define NGX_KANBAN_HTTP_OK         0
#define NGX_KANBAN_HTTP_FAILED     1     /* connect, TLS, reset, protocol */
#define NGX_KANBAN_HTTP_TIMEDOUT   2
#define NGX_KANBAN_HTTP_REFUSED    3     /* an address we may not reach */

#define NGX_KANBAN_HTTP_MAX_BODY   65536 /* kept of an answer; the rest read
                                            and dropped */


typedef struct ngx_kanban_http_req_s  ngx_kanban_http_req_t;

typedef void (*ngx_kanban_http_handler_pt)(ngx_kanban_http_req_t *hr);


struct ngx_kanban_http_req_s {
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;

    /* what to send: set before ngx_kanban_http_send() */
    ngx_str_t                    method;          /* "POST" */
    ngx_str_t                    url;             /* http or https only */
    ngx_str_t                    body;
    ngx_msec_t                   timeout;         /* the whole exchange */
    size_t                       max_body;        /* 0: MAX_BODY */
    ngx_uint_t                   allow_private;   /* loopback, RFC 1918 ... */
    ngx_kanban_http_handler_pt   handler;
    void                        *data;

    /* SMTP only */
    ngx_str_t                    mail_from;       /* the envelope sender */
    ngx_str_t                    rcpt;            /* one recipient */
    ngx_str_t                    user;            /* AUTH when not empty */
    ngx_str_t                    password;
    ngx_str_t                    ca_file;         /* trust these, not the
                                                     system's */
    ngx_uint_t                   starttls;        /* smtp://: required */

    /* the answer, in the handler */
    ngx_uint_t                   error;           /* NGX_KANBAN_HTTP_* */
    ngx_str_t                    error_text;
    ngx_uint_t                   status;          /* 0 when no answer */
    ngx_str_t                    headers;         /* the header block */
    ngx_str_t                    response;        /* the body, capped */
    ngx_msec_t                   elapsed;         /* the whole exchange */
    u_char                       address[NGX_SOCKADDR_STRLEN];

    /* private */
    void                        *easy;
    void                        *header_list;
    ngx_buf_t                   *hbuf;
    ngx_buf_t                   *bbuf;
    u_char                      *errbuf;
    size_t                       uploaded;        /* of body, SMTP */
    unsigned                     smtp:1;
    unsigned                     running:1;
    unsigned                     refused:1;
};


ngx_kanban_http_req_t *ngx_kanban_http_create(ngx_pool_t *pool,
    ngx_log_t *log);
ngx_int_t ngx_kanban_http_header(ngx_kanban_http_req_t *hr, char *name,
    ngx_str_t *value);
ngx_int_t ngx_kanban_http_send(ngx_kanban_http_req_t *hr);
void ngx_kanban_http_cancel(ngx_kanban_http_req_t *hr);
ngx_str_t *ngx_kanban_http_answer_header(ngx_kanban_http_req_t *hr,
    char *name);

ngx_uint_t ngx_kanban_http_address_public(struct sockaddr *sa);
ngx_uint_t ngx_kanban_http_running(void);

ngx_int_t ngx_kanban_http_init_process(ngx_cycle_t *cycle);
void ngx_kanban_http_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_KANBAN_HTTP_H_INCLUDED_ */
