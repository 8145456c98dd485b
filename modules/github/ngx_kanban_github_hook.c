
/*
 * POST /hooks/github/{id}, on the workspace's host: GitHub's deliveries to
 * a project's link, with no token. A delivery is GitHub's only when
 * X-Hub-Signature-256 is the HMAC-SHA256 of its body, as sent, under the
 * link's secret (compared in constant time); else 401 and nothing is
 * written. Its body is limited by the location (client_max_body_size,
 * 413). What it means for the tasks is one statement,
 * github_delivery(): taken once by X-GitHub-Delivery, linked, moved, and
 * its move's event told to the stream after the commit. The work is a few
 * rows, so GitHub's 10 seconds are never near.
 */

/* SQL: sql/tenant/054_github.sql */
#include "ngx_kanban_github.h"
#include "ngx_kanban_webhooks.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>


#define NGX_KANBAN_GITHUB_SIG_PREFIX  "sha256="
#define NGX_KANBAN_GITHUB_SIG_HEX     64


static ngx_int_t ngx_kanban_github_hook_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_github_hook_secret(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_uint_t ngx_kanban_github_signed(ngx_str_t *secret,
    ngx_str_t *body, ngx_str_t *signature);
static ngx_uint_t ngx_kanban_github_token(ngx_str_t *s, size_t max);


static ngx_kanban_pg_stmt_t  ngx_kanban_github_secret_stmt =
    ngx_kanban_pg_stmt("github_secret", "SELECT github_secret($1::uuid)");

/* the event only wakes the stream's feeds: they read the log */
static ngx_kanban_sql_t  ngx_kanban_github_delivery = {
    ngx_kanban_pg_stmt("github_delivery",
    "SELECT * FROM github_delivery($1::uuid, $2, $3, $4)"),
    { NULL },
    "task.moved"
};


ngx_kanban_route_t  ngx_kanban_github_hook_routes[] = {

    { NGX_HTTP_POST, "/hooks/github/{id}", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_github_hook_handler,
      ngx_kanban_raw_body, ngx_null_string, &ngx_kanban_github_delivery },
};

ngx_uint_t  ngx_kanban_github_hook_nroutes =
    sizeof(ngx_kanban_github_hook_routes) / sizeof(ngx_kanban_route_t);


static ngx_int_t
ngx_kanban_github_hook_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_str_t              *id, *sig;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    id = ngx_kanban_arg(ctx, "id");
    if (id == NULL || !ngx_kanban_uuid_valid(id)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    sig = ngx_kanban_header_in(r, "X-Hub-Signature-256");
    if (sig == NULL) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                   "A delivery is signed: X-Hub-Signature-256 is missing.");
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_github_secret_stmt,
                             ngx_kanban_github_hook_secret, 1, id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* The link's secret is here: the signature first, then what the headers
 * say, then the statement. */

static void
ngx_kanban_github_hook_secret(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t              *sealed, secret, *sig, *event, *delivery, *id;
    ngx_kanban_ctx_t       *ctx;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *dq;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ctx = ngx_kanban_ctx(r);

    sealed = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (sealed == NULL) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL));
        return;
    }

    if (ngx_kanban_webhooks_unseal(r->pool, sealed, &secret) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    sig = ngx_kanban_header_in(r, "X-Hub-Signature-256");

    if (!ngx_kanban_github_signed(&secret, &ctx->raw_body, sig)) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                "X-Hub-Signature-256 is not this link's signature of "
                "the body."));
        return;
    }

    event = ngx_kanban_header_in(r, "X-GitHub-Event");
    delivery = ngx_kanban_header_in(r, "X-GitHub-Delivery");

    if (!ngx_kanban_github_token(event, 64)
        || !ngx_kanban_github_token(delivery, 100))
    {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                "X-GitHub-Event and X-GitHub-Delivery are required: "
                "letters, digits, '-' and '_', 100 at most."));
        return;
    }

    id = ngx_kanban_arg(ctx, "id");

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    dq = ngx_kanban_pg_query(r, &db);
    if (dq == NULL
        || ngx_kanban_pg_run(dq, &ngx_kanban_github_delivery.stmt,
                             ngx_kanban_sql_answer, 4, id, delivery, event,
                             &ctx->raw_body)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* "sha256=" and the HMAC in hex, as GitHub writes it (either case) */
static ngx_uint_t
ngx_kanban_github_signed(ngx_str_t *secret, ngx_str_t *body,
    ngx_str_t *signature)
{
    u_char        mac[EVP_MAX_MD_SIZE], hex[NGX_KANBAN_GITHUB_SIG_HEX];
    u_char        given[NGX_KANBAN_GITHUB_SIG_HEX];
    size_t        prefix;
    unsigned int  len;

    prefix = sizeof(NGX_KANBAN_GITHUB_SIG_PREFIX) - 1;

    if (signature == NULL
        || signature->len != prefix + NGX_KANBAN_GITHUB_SIG_HEX
        || ngx_strncasecmp(signature->data,
                           (u_char *) NGX_KANBAN_GITHUB_SIG_PREFIX, prefix)
           != 0)
    {
        return 0;
    }

    if (HMAC(EVP_sha256(), secret->data, (int) secret->len,
             body->data, body->len, mac, &len)
        == NULL
        || len * 2 != NGX_KANBAN_GITHUB_SIG_HEX)
    {
        return 0;
    }

    ngx_hex_dump(hex, mac, len);
    ngx_strlow(given, signature->data + prefix, NGX_KANBAN_GITHUB_SIG_HEX);

    return CRYPTO_memcmp(hex, given, NGX_KANBAN_GITHUB_SIG_HEX) == 0;
}


static ngx_uint_t
ngx_kanban_github_token(ngx_str_t *s, size_t max)
{
    size_t  i;
    u_char  c;

    if (s == NULL || s->len == 0 || s->len > max) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            return 0;
        }
    }

    return 1;
}
