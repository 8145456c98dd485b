
/*
 * Webhooks: the API that manages them (ngx_kanban_webhooks_api.c), the
 * worker's dispatcher that sends what the workspaces' outboxes hold
 * (ngx_kanban_webhooks_send.c, on the core's sweeper), the sealing of
 * secrets (ngx_kanban_webhooks_seal.c), and the module with its
 * directives (ngx_kanban_webhooks_module.c).
 */

#ifndef _NGX_KANBAN_WEBHOOKS_H_INCLUDED_
#define _NGX_KANBAN_WEBHOOKS_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_http.h"


#define NGX_KANBAN_WEBHOOKS_KEY_LEN    32      /* AES-256 */


typedef struct {
    ngx_flag_t                 enabled;        /* this node sends */
    ngx_flag_t                 allow_private;
    ngx_msec_t                 timeout;
    ngx_msec_t                 backoff;        /* the first retry's wait */
    ngx_msec_t                 window;         /* retried for this long */
    ngx_msec_t                 sweep;
    ngx_uint_t                 concurrency;    /* per receiver and worker */
    ngx_str_t                  key_file;
    u_char                     key[NGX_KANBAN_WEBHOOKS_KEY_LEN];
    unsigned                   has_key:1;
} ngx_kanban_webhooks_conf_t;


extern ngx_module_t  ngx_http_kanban_webhooks_module;

extern ngx_kanban_route_t  ngx_kanban_webhooks_routes[];
extern ngx_uint_t          ngx_kanban_webhooks_nroutes;


ngx_kanban_webhooks_conf_t *ngx_kanban_webhooks_conf(void);

/* secrets (ngx_kanban_webhooks_seal.c): "v1:" base64(nonce, sealed, tag)
 * with the key; as is without. The key is this worker's from its start. */
void ngx_kanban_webhooks_seal_init(ngx_kanban_webhooks_conf_t *whcf);
ngx_int_t ngx_kanban_webhooks_seal(ngx_pool_t *pool, ngx_str_t *secret,
    ngx_str_t *stored);
ngx_int_t ngx_kanban_webhooks_unseal(ngx_pool_t *pool, ngx_str_t *stored,
    ngx_str_t *secret);

/* a URL's form and its host (without an IPv6 address's brackets), and
 * whether that host is one anyone may be sent to: NULL, or the error's
 * code with its message; the LLM gateway checks its base URLs so too */
char *ngx_kanban_webhooks_url_host(ngx_str_t *value, ngx_str_t *out,
    char **message);
char *ngx_kanban_webhooks_host_check(ngx_str_t *host, char **message);

/* both, as a webhook's URL is checked (kanban_webhooks_allow_private);
 * an external agent's webhook_url too */
char *ngx_kanban_webhooks_url_check(ngx_str_t *value, char **message);

/* the dispatcher */
ngx_int_t ngx_kanban_webhooks_send_init_process(ngx_cycle_t *cycle,
    ngx_kanban_webhooks_conf_t *whcf);
void ngx_kanban_webhooks_hint(ngx_str_t *slug);
void ngx_kanban_webhooks_wake(ngx_kanban_tenant_t *tenant);


#endif /* _NGX_KANBAN_WEBHOOKS_H_INCLUDED_ */
