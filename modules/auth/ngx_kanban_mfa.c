
/*
 * What the steps of multi-factor sign-in share: checking a code against
 * a sealed secret, making recovery codes, the 422 of a wrong factor, and
 * the second step's shape, alike at sign-in and at enrolment.
 */

/* SQL: none of its own */
#include "ngx_kanban_mfa.h"
#include "ngx_kanban_totp.h"
#include "ngx_kanban_webhooks.h"
#include <openssl/rand.h>


/* 15 random bytes (120 bits) a code, as 24 base32 characters */
#define NGX_KANBAN_MFA_RECOVERY_BYTES  15


char *
ngx_kanban_mfa_code_check(ngx_str_t *value, char **message)
{
    ngx_uint_t  i;

    for (i = 0; i < value->len; i++) {
        if (value->data[i] < '0' || value->data[i] > '9') {
            *message = "A code is the six digits the authenticator shows.";
            return "invalid_format";
        }
    }

    return NULL;
}


ngx_int_t
ngx_kanban_mfa_verify(ngx_http_request_t *r, ngx_str_t *sealed,
    ngx_str_t *last_step, ngx_str_t *code, ngx_str_t *step)
{
    int64_t     matched, last;
    ngx_int_t   rc;
    ngx_str_t   secret;

    if (sealed == NULL || last_step == NULL || code == NULL) {
        return NGX_ERROR;
    }

    last = ngx_atoof(last_step->data, last_step->len);
    if (last == NGX_ERROR) {
        return NGX_ERROR;
    }

    rc = ngx_kanban_webhooks_unseal(r->pool, sealed, &secret);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: a person's TOTP secret cannot be unsealed "
                      "(another kanban_webhooks_key?)");
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_kanban_totp_verify(r->pool, &secret, code, ngx_time(), last,
                                &matched);

    ngx_explicit_memzero(secret.data, secret.len);

    if (rc != NGX_OK) {
        return rc;
    }

    step->data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (step->data == NULL) {
        return NGX_ERROR;
    }

    step->len = ngx_sprintf(step->data, "%L", matched) - step->data;

    return NGX_OK;
}


/* ["ABCDEF-GHIJKL-MNOPQR-STUVWX", ...]: groups of six to read aloud */

ngx_int_t
ngx_kanban_mfa_recovery_codes(ngx_http_request_t *r, ngx_str_t *json)
{
    u_char      *p, raw[NGX_KANBAN_MFA_RECOVERY_BYTES], b32[32];
    ngx_str_t    text;
    ngx_uint_t   i, j;

    json->data = ngx_pnalloc(r->pool, 2 + NGX_KANBAN_MFA_RECOVERY_CODES
                                          * (sizeof("\"\",") + 27));
    if (json->data == NULL) {
        return NGX_ERROR;
    }

    p = json->data;
    *p++ = '[';

    for (i = 0; i < NGX_KANBAN_MFA_RECOVERY_CODES; i++) {
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            return NGX_ERROR;
        }

        text.data = b32;
        ngx_kanban_totp_base32_encode(&text, raw, sizeof(raw));
        ngx_explicit_memzero(raw, sizeof(raw));

        if (i) {
            *p++ = ',';
        }

        *p++ = '"';

        for (j = 0; j < text.len; j++) {
            if (j && j % 6 == 0) {
                *p++ = '-';
            }

            *p++ = text.data[j];
        }

        *p++ = '"';
    }

    *p++ = ']';
    json->len = p - json->data;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_mfa_wrong(ngx_http_request_t *r, char *field, char *message)
{
    return ngx_kanban_problem_field(r, message, field, "incorrect", message);
}


void
ngx_kanban_mfa_step_read(ngx_kanban_json_t *body, ngx_str_t *code,
    ngx_uint_t *cookie)
{
    ngx_str_t          *s;
    ngx_kanban_json_t  *flag;

    s = ngx_kanban_json_string(body, "code");
    if (s) {
        *code = *s;
    }

    flag = ngx_kanban_json_get(body, "cookie");
    *cookie = flag && flag->type == NGX_KANBAN_JSON_BOOL && flag->boolean;
}


ngx_int_t
ngx_kanban_mfa_step_ask(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_pg_stmt_t *stmt, ngx_kanban_pg_handler_pt handler,
    ngx_str_t *key)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL || ngx_kanban_pg_run(q, stmt, handler, 1, key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


ngx_int_t
ngx_kanban_mfa_step_verify(ngx_http_request_t *r, PGresult *row,
    ngx_str_t *code, ngx_str_t *step)
{
    /* a wrong code leaves step NULL: the database counts it */
    return ngx_kanban_mfa_verify(r, ngx_kanban_pg_value(r, row, 0, 0),
                                 ngx_kanban_pg_value(r, row, 0, 1),
                                 code, step);
}


ngx_int_t
ngx_kanban_mfa_step_outcome(ngx_http_request_t *r, ngx_kanban_pg_query_t *q,
    PGresult **row)
{
    ngx_str_t  *outcome;

    outcome = ngx_kanban_pg_value(r, q->result, 0, 4);

    if (outcome == NULL) {
        return NGX_ERROR;
    }

    if (outcome->len == 4 && ngx_strncmp(outcome->data, "dead", 4) == 0) {
        return NGX_DECLINED;
    }

    if (outcome->len != 2 || ngx_strncmp(outcome->data, "ok", 2) != 0) {
        return NGX_ABORT;
    }

    *row = ngx_kanban_pg_keep(r, q);

    return *row ? NGX_OK : NGX_ERROR;
}
