
/*
 * Sign-in with GitHub and with any OpenID Connect issuer, per workspace:
 * the providers its admins configure (ngx_kanban_oauth_providers.c), the
 * start of a sign-in (ngx_kanban_oauth_start.c) and its callback
 * (ngx_kanban_oauth_callback.c), what the browser is sent on the way
 * (ngx_kanban_oauth_browser.c), OIDC's discovery, keys and ID token
 * (ngx_kanban_oauth_oidc.c, ngx_kanban_oauth_jwk.c), GitHub's user API
 * (ngx_kanban_oauth_github.c), and the module with its directives
 * (ngx_kanban_oauth_module.c). Every call to a provider goes through the
 * worker's HTTP client on nginx's loop (ngx_kanban_http.c).
 */

#ifndef _NGX_KANBAN_OAUTH_H_INCLUDED_
#define _NGX_KANBAN_OAUTH_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_http.h"
#include "ngx_kanban_jwt.h"
#include "ngx_kanban_session.h"


#define NGX_KANBAN_OAUTH_COOKIE        "__Host-kanban_oauth"
#define NGX_KANBAN_OAUTH_STATE_TTL     "600"          /* seconds */
#define NGX_KANBAN_OAUTH_SECRET_MAX    4096
#define NGX_KANBAN_OAUTH_SKEW          60             /* seconds */


typedef struct {
    ngx_msec_t                 timeout;        /* each call to a provider */
    time_t                     cache_ttl;      /* discovery and keys */
    ngx_str_t                  secret_dir;     /* where secret files may be */
} ngx_kanban_oauth_conf_t;


/* A provider as the callback reads it, with the sign-in's own state. */
typedef struct {
    ngx_str_t                  id;
    ngx_str_t                  slug;
    ngx_str_t                  kind;
    ngx_str_t                  issuer;
    ngx_str_t                  client_id;
    ngx_str_t                  client_secret;  /* unsealed, or read */
    ngx_str_t                  secret_file;
    ngx_str_t                  scopes;

    ngx_str_t                  verifier;       /* PKCE */
    ngx_str_t                  nonce;
    ngx_str_t                  return_to;
    ngx_str_t                  redirect_uri;
    ngx_str_t                  code;

    /* OIDC's endpoints, from discovery (GitHub's are fixed) */
    ngx_str_t                  authorization_endpoint;
    ngx_str_t                  token_endpoint;
    ngx_str_t                  jwks_uri;

    /* who the provider says it is */
    ngx_str_t                  access_token;
    ngx_str_t                  id_token;
    ngx_str_t                  subject;
    ngx_str_t                  email;
    ngx_str_t                  name;
    ngx_uint_t                 email_verified;

    ngx_kanban_session_t       session;
    ngx_uint_t                 jwks_refetched;
} ngx_kanban_oauth_t;


/* called once with NGX_OK, or an error code for the sign-in page */
typedef void (*ngx_kanban_oauth_done_pt)(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, char *error);


extern ngx_module_t  ngx_http_kanban_oauth_module;

extern ngx_kanban_route_t  ngx_kanban_oauth_routes[];
extern ngx_uint_t          ngx_kanban_oauth_nroutes;


ngx_kanban_oauth_conf_t *ngx_kanban_oauth_conf(void);
ngx_uint_t ngx_kanban_oauth_allow_private(void);

/* the flow's handlers */
ngx_int_t ngx_kanban_oauth_start_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_oauth_callback_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
ngx_int_t ngx_kanban_oauth_redirect(ngx_http_request_t *r, ngx_str_t *to);
ngx_int_t ngx_kanban_oauth_fail(ngx_http_request_t *r, char *error);
ngx_int_t ngx_kanban_oauth_retry(ngx_http_request_t *r);
ngx_int_t ngx_kanban_oauth_redirect_uri(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa);
ngx_int_t ngx_kanban_oauth_cookie(ngx_http_request_t *r, ngx_str_t *handle);
ngx_int_t ngx_kanban_oauth_random(ngx_pool_t *pool, size_t n,
    ngx_str_t *out);
u_char *ngx_kanban_oauth_escape(u_char *dst, ngx_str_t *src);
ngx_int_t ngx_kanban_oauth_form(ngx_pool_t *pool, ngx_str_t *prefix,
    char **names, ngx_str_t **values, ngx_str_t *out);
ngx_int_t ngx_kanban_oauth_arg(ngx_http_request_t *r, char *name,
    size_t max, ngx_str_t *value);

/* OIDC: discovery (cached per worker), then the ID token checked */
ngx_int_t ngx_kanban_oauth_oidc_discover(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, ngx_kanban_oauth_done_pt done);
ngx_int_t ngx_kanban_oauth_oidc_identify(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, ngx_kanban_oauth_done_pt done);
EVP_PKEY *ngx_kanban_oauth_jwk_key(ngx_pool_t *pool, ngx_kanban_json_t *jwk,
    ngx_uint_t *alg);

/* GitHub: the user and their primary verified email */
ngx_int_t ngx_kanban_oauth_github_identify(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, ngx_kanban_oauth_done_pt done);

/* a call to a provider, with what every one has */
ngx_kanban_http_req_t *ngx_kanban_oauth_http(ngx_http_request_t *r,
    char *method, ngx_str_t *url, ngx_kanban_http_handler_pt handler,
    void *data);
ngx_kanban_json_t *ngx_kanban_oauth_http_json(ngx_kanban_http_req_t *hr,
    ngx_uint_t type, char **error);


#endif /* _NGX_KANBAN_OAUTH_H_INCLUDED_ */
