
/*
 * TOTP (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, the step before
 * and after accepted for clocks that drift, and never a step at or
 * before the last one accepted (a code is good once). Secrets travel as
 * base32 (RFC 4648, no padding), as authenticator apps take them.
 */

#ifndef _NGX_KANBAN_TOTP_H_INCLUDED_
#define _NGX_KANBAN_TOTP_H_INCLUDED_


#include "ngx_kanban.h"


#define NGX_KANBAN_TOTP_SECRET_LEN  20       /* bytes: SHA-1's size */
#define NGX_KANBAN_TOTP_PERIOD      30
#define NGX_KANBAN_TOTP_DIGITS      6


/* a new secret, as base32 text in pool */
ngx_int_t ngx_kanban_totp_secret(ngx_pool_t *pool, ngx_str_t *base32);

size_t ngx_kanban_totp_base32_length(size_t len);
void ngx_kanban_totp_base32_encode(ngx_str_t *dst, u_char *src, size_t len);
ngx_int_t ngx_kanban_totp_base32_decode(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst);

/* the code of a time step, NGX_KANBAN_TOTP_DIGITS characters into out */
ngx_int_t ngx_kanban_totp_code(ngx_str_t *key, int64_t step, u_char *out);

/*
 * Whether code is right for the base32 secret at time now, for a step
 * after last_step: NGX_OK with the step it matched in *step, NGX_DECLINED
 * when it is wrong or replayed, NGX_ERROR.
 */
ngx_int_t ngx_kanban_totp_verify(ngx_pool_t *pool, ngx_str_t *secret,
    ngx_str_t *code, time_t now, int64_t last_step, int64_t *step);


#endif /* _NGX_KANBAN_TOTP_H_INCLUDED_ */
