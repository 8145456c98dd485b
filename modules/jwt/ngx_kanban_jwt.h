
/*
 * JSON Web Tokens: the keys (HS256 secret, ES256, RS256 or EdDSA PEM), the
 * verification of a token against them, and the signing of new ones.
 */

#ifndef _NGX_KANBAN_JWT_H_INCLUDED_
#define _NGX_KANBAN_JWT_H_INCLUDED_


#include "ngx_kanban.h"
#include "ngx_kanban_json.h"
#include <openssl/evp.h>


#define NGX_KANBAN_JWT_MAX_LEN     8192

#define NGX_KANBAN_JWT_HS256       1
#define NGX_KANBAN_JWT_ES256       2
#define NGX_KANBAN_JWT_RS256       3
#define NGX_KANBAN_JWT_EDDSA       4


typedef struct {
    ngx_uint_t                 alg;
    ngx_str_t                  kid;
    ngx_str_t                  secret;         /* HS256 */
    EVP_PKEY                  *pkey;           /* the others */
    ngx_uint_t                 can_sign;       /* a private key or a secret */
} ngx_kanban_jwt_key_t;


/* What a verified token says, for handlers and $jwt_* variables. */
typedef struct {
    ngx_str_t                  sub;
    ngx_str_t                  role;
    ngx_str_t                  tid;
    ngx_str_t                  jti;
    ngx_kanban_json_t         *teams;
    ngx_kanban_json_t         *claims;         /* the whole payload */
    time_t                     exp;
    time_t                     not_before;     /* nbf or iat, the later */
} ngx_kanban_jwt_claims_t;


typedef struct {
    ngx_array_t               *keys;           /* ngx_kanban_jwt_key_t */
    ngx_str_t                  issuer;
    ngx_str_t                  audience;
    time_t                     leeway;
} ngx_kanban_jwt_verifier_t;


extern ngx_module_t  ngx_http_kanban_jwt_module;


ngx_kanban_jwt_claims_t *ngx_kanban_jwt_claims_of(ngx_http_request_t *r);
ngx_kanban_jwt_claims_t *ngx_kanban_jwt_identify(ngx_http_request_t *r);
ngx_int_t ngx_kanban_jwt_issue(ngx_http_request_t *r, ngx_str_t *user_id,
    ngx_str_t *role, ngx_str_t *teams, ngx_str_t *token, time_t *ttl);
time_t ngx_kanban_jwt_session_lifetime(ngx_http_request_t *r);

ngx_int_t ngx_kanban_jwt_key_load(ngx_conf_t *cf, ngx_str_t *file,
    ngx_kanban_jwt_key_t *key);
ngx_int_t ngx_kanban_jwt_jwks(ngx_pool_t *pool, ngx_array_t *keys,
    ngx_str_t *out);

ngx_int_t ngx_kanban_jwt_verify(ngx_pool_t *pool,
    ngx_kanban_jwt_verifier_t *v, ngx_str_t *token,
    ngx_kanban_jwt_claims_t *claims, char **why);
ngx_int_t ngx_kanban_jwt_memo_verify(ngx_pool_t *pool,
    ngx_kanban_jwt_verifier_t *v, ngx_str_t *token,
    ngx_kanban_jwt_claims_t *claims, char **why);
void ngx_kanban_jwt_memo_clear(void);
ngx_int_t ngx_kanban_jwt_sign(ngx_pool_t *pool, ngx_kanban_jwt_key_t *key,
    ngx_str_t *payload, ngx_str_t *token);


#endif /* _NGX_KANBAN_JWT_H_INCLUDED_ */
