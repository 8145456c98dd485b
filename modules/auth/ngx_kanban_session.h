
/*
 * A signed-in session: a 15-minute access token (a JWT) and a refresh
 * token, 256 random bits the database keeps only as a SHA-256. Browsers
 * get the refresh token in an HttpOnly cookie instead of the body.
 */

#ifndef _NGX_KANBAN_SESSION_H_INCLUDED_
#define _NGX_KANBAN_SESSION_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"


#define NGX_KANBAN_REFRESH_DAYS  "30 days"

/* characters of a User-Agent kept for the list of sessions */
#define NGX_KANBAN_SESSION_AGENT_MAX  "256"


typedef struct {
    ngx_str_t                  refresh;        /* what the client gets */
    ngx_str_t                  hash;           /* what the database keeps */
    ngx_uint_t                 cookie;
    ngx_str_t                  lifetime;       /* of a sign-in, seconds */
    ngx_str_t                 *user_agent;     /* as sent, or NULL */
    ngx_str_t                 *addr;           /* the client's address */
} ngx_kanban_session_t;


ngx_int_t ngx_kanban_session_create(ngx_http_request_t *r,
    ngx_kanban_session_t *s);
ngx_int_t ngx_kanban_session_hash(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *hash);
ngx_int_t ngx_kanban_session_send(ngx_http_request_t *r,
    ngx_kanban_session_t *s, PGresult *user, ngx_uint_t status);
ngx_int_t ngx_kanban_session_send_with(ngx_http_request_t *r,
    ngx_kanban_session_t *s, PGresult *user, ngx_uint_t status, char *key,
    ngx_str_t *raw);
ngx_int_t ngx_kanban_session_presented(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_session_t *s, ngx_str_t *token);
ngx_int_t ngx_kanban_session_clear_cookie(ngx_http_request_t *r);
ngx_int_t ngx_kanban_session_cookie(ngx_http_request_t *r,
    ngx_kanban_session_t *s);


#endif /* _NGX_KANBAN_SESSION_H_INCLUDED_ */
