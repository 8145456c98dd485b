
/*
 * Mail: the directives (ngx_kanban_mail_module.c), the worker's sender
 * that takes the workspaces' outboxes to the SMTP server
 * (ngx_kanban_mail_send.c, on the core's sweeper), the composing of one
 * message and the signing of unsubscribe links
 * (ngx_kanban_mail_message.c), and the API:
 * the outbox for admins, password resets, notification preferences and
 * unsubscribing (ngx_kanban_mail_api.c).
 */

#ifndef _NGX_KANBAN_MAIL_H_INCLUDED_
#define _NGX_KANBAN_MAIL_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_http.h"


#define NGX_KANBAN_MAIL_KEY_LEN   32


typedef struct {
    ngx_flag_t                 enabled;        /* this node sends */
    ngx_str_t                  server;         /* smtp:// or smtps:// */
    ngx_str_t                  from;           /* the sender's address */
    ngx_str_t                  user;           /* kanban_mail_credentials */
    ngx_str_t                  password;
    ngx_str_t                  ca_file;
    ngx_flag_t                 starttls;       /* required on smtp:// */
    ngx_msec_t                 timeout;
    ngx_msec_t                 backoff;
    ngx_msec_t                 window;
    ngx_msec_t                 sweep;
    ngx_msec_t                 digest;         /* a digest's period */
    ngx_msec_t                 reset_ttl;
    ngx_uint_t                 reset_per_hour;
    ngx_uint_t                 concurrency;    /* per worker */
    ngx_uint_t                 rate;           /* messages a second, worker */
    u_char                     key[NGX_KANBAN_MAIL_KEY_LEN];
    unsigned                   has_key:1;
} ngx_kanban_mail_conf_t;


/* a message as the outbox holds it, with where it goes */
typedef struct {
    ngx_str_t                  id;
    ngx_str_t                  slug;
    ngx_str_t                  user_id;
    ngx_str_t                  to_addr;
    ngx_str_t                  to_name;
    ngx_str_t                  subject;
    ngx_str_t                  text;
    ngx_str_t                  html;
    ngx_str_t                  unsubscribe;    /* what it stops, or empty */
    ngx_str_t                  workspace;
} ngx_kanban_mail_msg_t;


extern ngx_module_t  ngx_http_kanban_mail_module;

extern ngx_kanban_route_t  ngx_kanban_mail_routes[];
extern ngx_uint_t          ngx_kanban_mail_nroutes;


ngx_kanban_mail_conf_t *ngx_kanban_mail_conf(void);

/* the hex HMAC that makes an unsubscribe link good (64 bytes at sig) */
ngx_int_t ngx_kanban_mail_sign(ngx_kanban_mail_conf_t *mcf, ngx_str_t *slug,
    ngx_str_t *user_id, ngx_str_t *what, u_char *sig);

/* the whole message, headers and MIME body; NGX_DECLINED when a field
 * cannot be put into a header (an address that is no plain address) */
ngx_int_t ngx_kanban_mail_compose(ngx_pool_t *pool,
    ngx_kanban_mail_conf_t *mcf, ngx_kanban_mail_msg_t *m, ngx_str_t *out,
    char **error);

/* the sender */
ngx_int_t ngx_kanban_mail_send_init_process(ngx_cycle_t *cycle,
    ngx_kanban_mail_conf_t *mcf);
void ngx_kanban_mail_wake(ngx_kanban_tenant_t *tenant);
void ngx_kanban_mail_wake_catalog(void);


#endif /* _NGX_KANBAN_MAIL_H_INCLUDED_ */
