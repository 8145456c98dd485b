
/*
 * The portal for people: "find my workspaces" on the platform host
 * (ngx_kanban_portal_find.c), the emailed or handed-off link that signs a
 * person in on a workspace's host (ngx_kanban_portal_link.c), the
 * switcher's list and handoff (ngx_kanban_portal_switch.c), and the
 * catalog's directory of members kept up to date from the queues of the
 * workspaces written to (ngx_kanban_portal_directory.c), whose step also
 * measures the console's figures (ngx_kanban_portal_figures.c).
 */

#ifndef _NGX_KANBAN_PORTAL_H_INCLUDED_
#define _NGX_KANBAN_PORTAL_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"


#define NGX_KANBAN_PORTAL_FIND_TTL     "900"    /* a found link: 15 minutes */
#define NGX_KANBAN_PORTAL_HANDOFF_TTL  "60"     /* a switch: 60 seconds */
#define NGX_KANBAN_PORTAL_PER_ADDRESS  "5"      /* mails an hour */
#define NGX_KANBAN_PORTAL_PER_CLIENT   "20"     /* asks an hour */
#define NGX_KANBAN_PORTAL_TOKEN_LEN    64       /* hex */
/* ms: a workspace's console figures measured at most this often */
#define NGX_KANBAN_PORTAL_FIGURES_EVERY  2000


extern ngx_module_t  ngx_http_kanban_portal_module;


/* a workspace's origin around its slug: "http://" and ".localhost:8080" */
ngx_int_t ngx_kanban_portal_origin(ngx_str_t *head, ngx_str_t *tail);

ngx_int_t ngx_kanban_portal_find_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_portal_link_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_portal_list_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_portal_handoff_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);

ngx_int_t ngx_kanban_portal_directory_init(ngx_conf_t *cf);
ngx_int_t ngx_kanban_portal_directory_init_process(ngx_cycle_t *cycle);

/* ngx_kanban_sweep_ws_t is the core sweeper's (ngx_kanban_sweep.h) */
struct ngx_kanban_sweep_ws_s;
ngx_msec_t ngx_kanban_portal_figures(struct ngx_kanban_sweep_ws_s *ws,
    ngx_msec_t *at);

extern ngx_kanban_field_t  ngx_kanban_portal_find_fields[];


#endif /* _NGX_KANBAN_PORTAL_H_INCLUDED_ */
