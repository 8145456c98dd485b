
/*
 * Share links: what the redirect (/s/{code}), the public read of a shared
 * task or project and the share-link API have in common.
 */

#ifndef _NGX_KANBAN_SHARE_H_INCLUDED_
#define _NGX_KANBAN_SHARE_H_INCLUDED_


#include "ngx_kanban_pg.h"
#include "ngx_kanban_json.h"


#ifndef NGX_HTTP_GONE
#define NGX_HTTP_GONE                 410
#endif


#define NGX_KANBAN_SHARE_CODE_MIN     8
#define NGX_KANBAN_SHARE_CODE_MAX     32
#define NGX_KANBAN_SHARE_CODE_LEN     10     /* 59.5 bits */
#define NGX_KANBAN_SHARE_BODY_MAX     4096   /* a password's form */

/* a link's state, as PostgreSQL and the cache know it */
#define NGX_KANBAN_SHARE_UNKNOWN      0
#define NGX_KANBAN_SHARE_ACTIVE       1
#define NGX_KANBAN_SHARE_REVOKED      2
#define NGX_KANBAN_SHARE_GONE         3      /* its task or project deleted */
#define NGX_KANBAN_SHARE_USED_UP      4
#define NGX_KANBAN_SHARE_UNAVAILABLE  5      /* PostgreSQL did not answer */

/* what a visitor may have: the verdict on one request */
#define NGX_KANBAN_SHARE_OPEN         0
#define NGX_KANBAN_SHARE_NOT_FOUND    1
#define NGX_KANBAN_SHARE_EXPIRED      2      /* or revoked, gone, used up */
#define NGX_KANBAN_SHARE_LOCKED       3      /* needs the password */
#define NGX_KANBAN_SHARE_VISIT_FIRST  4      /* a read of a counted link */

#define NGX_KANBAN_SHARE_TARGET_URL   0
#define NGX_KANBAN_SHARE_TARGET_TASK  1
#define NGX_KANBAN_SHARE_TARGET_PROJECT  2
#define NGX_KANBAN_SHARE_TARGET_REPORT   3  /* a week's portfolio report */


typedef struct {
    ngx_uint_t                 state;
    ngx_uint_t                 target;
    ngx_str_t                  id;
    ngx_str_t                  url;            /* a url link's target */
    ngx_str_t                  password_hash;  /* empty: none */
    ngx_str_t                  grant_secret;
    ngx_str_t                  rules;          /* compact, one a line (087) */
    time_t                     expires;        /* 0: never */
    ngx_uint_t                 max_visits;     /* 0: no limit */
} ngx_kanban_share_link_t;


/* where a visit is sent, and why: what its record keeps */
typedef struct {
    ngx_str_t                  destination;
    ngx_uint_t                 rule;           /* 1-based; 0: the link's own */
    ngx_str_t                  country;        /* empty: not known */
} ngx_kanban_share_choice_t;


/* a visit or a password on its way through /s/{code} */
typedef struct {
    ngx_kanban_tenant_t       *tenant;
    ngx_uint_t                 elsewhere;      /* not on its own host */
    ngx_str_t                  code;
    ngx_str_t                  password;
    ngx_str_t                  client;         /* the address, hashed */
    ngx_kanban_share_link_t    link;
    ngx_uint_t                 wrong;          /* the form says so */
    ngx_uint_t                 error;          /* a body refused */
    char                      *detail;
    ngx_kanban_verified_pt     verified;       /* the password's check */
} ngx_kanban_share_ctx_t;


typedef void (*ngx_kanban_share_resolved_pt)(ngx_http_request_t *r,
    ngx_kanban_share_link_t *link);
typedef void (*ngx_kanban_share_found_pt)(ngx_http_request_t *r,
    ngx_kanban_tenant_t *tenant);


typedef struct {
    ngx_shm_zone_t            *zone;
    ngx_msec_t                 ttl;
    ngx_msec_t                 flush;
    ngx_regex_t               *bots;
    ngx_str_t                  short_origin;   /* kanban_share_short_host */
    ngx_http_complex_value_t  *country;        /* kanban_share_country */
} ngx_kanban_share_main_conf_t;


extern ngx_module_t  ngx_http_kanban_share_module;


ngx_uint_t ngx_kanban_share_code_valid(ngx_str_t *code);
ngx_int_t ngx_kanban_share_code_make(u_char *code);

/* the link of a code in the request's workspace: NGX_OK with link filled
 * (from the cache), NGX_AGAIN when handler will be called (PostgreSQL),
 * NGX_ERROR */
ngx_int_t ngx_kanban_share_resolve(ngx_http_request_t *r,
    ngx_kanban_tenant_t *tenant, ngx_str_t *code,
    ngx_kanban_share_link_t *link, ngx_kanban_share_resolved_pt handler);
void ngx_kanban_share_forget(ngx_str_t *slug, ngx_str_t *code);
void ngx_kanban_share_revoke(ngx_str_t *slug, ngx_str_t *code);

ngx_uint_t ngx_kanban_share_judge(ngx_http_request_t *r,
    ngx_kanban_share_link_t *link, ngx_str_t *code, ngx_uint_t read);
ngx_int_t ngx_kanban_share_grant(ngx_http_request_t *r,
    ngx_kanban_share_link_t *link, ngx_str_t *code);

ngx_int_t ngx_kanban_share_visit(ngx_http_request_t *r,
    ngx_kanban_tenant_t *tenant, ngx_kanban_share_link_t *link,
    ngx_kanban_share_choice_t *choice, ngx_uint_t counted);

/* a link's redirect rules (ngx_kanban_share_rules_match.c) */
ngx_int_t ngx_kanban_share_choose(ngx_http_request_t *r,
    ngx_kanban_share_link_t *link, ngx_kanban_share_choice_t *choice);
ngx_uint_t ngx_kanban_share_is_bot(ngx_http_request_t *r);
/* a bot that is a whole browser (it runs the app's scripts) */
ngx_uint_t ngx_kanban_share_runs_scripts(ngx_http_request_t *r);

/* /s/{code} in layers, each calling only those below it: the handler
 * (ngx_kanban_share_module.c), its password (ngx_kanban_share_password.c),
 * the answers both give (ngx_kanban_share_answer.c) */
ngx_int_t ngx_kanban_share_password_read(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx);
ngx_int_t ngx_kanban_share_unlock(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_kanban_verified_pt verified);
void ngx_kanban_share_checked(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_uint_t match);
ngx_int_t ngx_kanban_share_refuse(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_uint_t verdict);
ngx_int_t ngx_kanban_share_page(ngx_http_request_t *r, ngx_uint_t status,
    char *title, char *text, ngx_str_t *form_code, ngx_uint_t wrong);
ngx_int_t ngx_kanban_share_location(ngx_http_request_t *r, ngx_str_t *url);
ngx_int_t ngx_kanban_share_visits_init_process(ngx_cycle_t *cycle);
char *ngx_kanban_share_bots(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* a crawler's preview of a task or a project (ngx_kanban_share_unfurl.c):
 * NGX_DONE, or an answer */
ngx_int_t ngx_kanban_share_unfurl(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx);

/* a QR code's look from its query (ngx_kanban_share_qr_style.c): NGX_OK,
 * or NGX_DECLINED with detail */
ngx_int_t ngx_kanban_share_qr_style(ngx_http_request_t *r,
    ngx_kanban_qr_style_t *style, char **detail);

/* a host of no workspace: the short host, the platform's
 * (ngx_kanban_share_short.c) */
ngx_int_t ngx_kanban_share_uri_code(ngx_http_request_t *r, ngx_uint_t bare,
    ngx_str_t *code);
ngx_int_t ngx_kanban_share_code_workspace(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_kanban_share_found_pt found);
ngx_int_t ngx_kanban_share_base(ngx_http_request_t *r, ngx_str_t *slug,
    ngx_str_t *url);
ngx_int_t ngx_kanban_share_base_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
char *ngx_kanban_share_short_host(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_KANBAN_SHARE_H_INCLUDED_ */
