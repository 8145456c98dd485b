
/*
 * Multi-factor sign-in for a workspace's people: TOTP (RFC 6238, the
 * core's ngx_kanban_totp) with a secret sealed as webhook secrets are,
 * ten single-use recovery codes, and the challenge that stands between a
 * right password and a session (sql/tenant/044_mfa.sql).
 */

#ifndef _NGX_KANBAN_MFA_H_INCLUDED_
#define _NGX_KANBAN_MFA_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"


#define NGX_KANBAN_MFA_RECOVERY_CODES  10
#define NGX_KANBAN_MFA_CHALLENGE_TTL   300      /* seconds */

/* the longest recovery code typed: 24 characters, dashes and spaces */
#define NGX_KANBAN_MFA_RECOVERY_MAX    64


/* the password was right and the person's MFA is on: answers 401
 * mfa_required with a new challenge instead of a session */
ngx_int_t ngx_kanban_mfa_challenge(ngx_http_request_t *r,
    ngx_str_t *user_id);

/* a six-digit code (a field's check) */
char *ngx_kanban_mfa_code_check(ngx_str_t *value, char **message);

/*
 * Whether code is right for the sealed secret, at a step after last_step
 * (text, as PostgreSQL answers it): NGX_OK with the step as text in *step,
 * NGX_DECLINED when wrong or used already, NGX_ERROR.
 */
ngx_int_t ngx_kanban_mfa_verify(ngx_http_request_t *r, ngx_str_t *sealed,
    ngx_str_t *last_step, ngx_str_t *code, ngx_str_t *step);

/* ten new recovery codes as a JSON array of strings */
ngx_int_t ngx_kanban_mfa_recovery_codes(ngx_http_request_t *r,
    ngx_str_t *json);

/* 200 with a pending secret: as text, as an otpauth:// URI and as the
 * URI's QR code (SVG) */
ngx_int_t ngx_kanban_mfa_secret_show(ngx_http_request_t *r, ngx_str_t *email,
    ngx_str_t *secret);

/* the sign-in of a person the workspace's policy makes enrol: an
 * enrolment session instead of a session (ngx_kanban_mfa_enrolment.c),
 * answered as 401 mfa_enrolment_required, or by answer (a provider's
 * sign-in redirects); void_refresh: a session stored already, dropped */
typedef ngx_int_t (*ngx_kanban_mfa_enrolment_pt)(ngx_http_request_t *r,
    ngx_str_t *token);

ngx_int_t ngx_kanban_mfa_enrolment_begin(ngx_http_request_t *r,
    ngx_str_t *user_id, ngx_str_t *void_refresh,
    ngx_kanban_mfa_enrolment_pt answer);

/*
 * The second step, alike for a sign-in's challenge and an enrolment: the
 * body's code and cookie choice read; the pending row asked by its key
 * (NGX_DONE, or a status); the code checked against the row's sealed
 * secret and last step (ngx_kanban_mfa_verify's answers); the database's
 * decision read back: NGX_OK with its row kept for the answer,
 * NGX_DECLINED when the challenge or enrolment is dead, NGX_ABORT for a
 * wrong code, NGX_ERROR.
 */
void ngx_kanban_mfa_step_read(ngx_kanban_json_t *body, ngx_str_t *code,
    ngx_uint_t *cookie);
ngx_int_t ngx_kanban_mfa_step_ask(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_pg_stmt_t *stmt,
    ngx_kanban_pg_handler_pt handler, ngx_str_t *key);
ngx_int_t ngx_kanban_mfa_step_verify(ngx_http_request_t *r, PGresult *row,
    ngx_str_t *code, ngx_str_t *step);
ngx_int_t ngx_kanban_mfa_step_outcome(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q, PGresult **row);

/* 422 validation_failed naming one field */
ngx_int_t ngx_kanban_mfa_wrong(ngx_http_request_t *r, char *field,
    char *message);


#endif /* _NGX_KANBAN_MFA_H_INCLUDED_ */
