
/*
 * POST /api/v1/portal/find-workspaces {email} on the platform host. The
 * answer is 202 and the same body whether the address is anybody's, and
 * in the same time: it waits only for the ask to be recorded
 * (portal_ask(), catalog 012: the same statement for any address), and
 * the work that depends on the address (portal_find(): the directory
 * read, the links, the one message in the platform's outbox, which the
 * mail sender takes like a workspace's) runs after it, in the
 * background. A client past its asks of the hour gets 429; an address
 * past its mails of the hour gets the same 202 and nothing (a flood of
 * asks never floods its owner's inbox, and says nothing of it).
 */

/* SQL: sql/catalog/012_portal.sql */
#include "ngx_kanban_portal.h"
#include "ngx_kanban_mail.h"


static void ngx_kanban_portal_asked(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_portal_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static char *ngx_kanban_portal_check_address(ngx_str_t *value,
    char **message);


ngx_kanban_field_t  ngx_kanban_portal_find_fields[] = {
    { "email", NGX_KANBAN_FIELD_STRING, 1, 3, 254, NULL,
      ngx_kanban_portal_check_address },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_portal_ask = ngx_kanban_pg_stmt(
    "portal_ask",
    "SELECT portal_ask($1, $2::inet, $3::int)::int");

static ngx_kanban_pg_stmt_t  ngx_kanban_portal_find = ngx_kanban_pg_stmt(
    "portal_find",
    "SELECT portal_find($1, $2, $3, $4::float8, $5::int)");


ngx_int_t
ngx_kanban_portal_find_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_str_t               *email;
    ngx_str_t                per_client =
                                 ngx_string(NGX_KANBAN_PORTAL_PER_CLIENT);
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_query_t   *q;

    email = ngx_kanban_json_string(ctx->body, "email");
    if (email == NULL) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION, NULL);
    }

    ctx->data = email;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_portal_ask,
                             ngx_kanban_portal_asked, 3, email,
                             &r->connection->addr_text, &per_client)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_portal_asked(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t               json = ngx_string("{\"status\":\"accepted\"}");
    ngx_str_t               head, tail, *ok;
    ngx_str_t               ttl = ngx_string(NGX_KANBAN_PORTAL_FIND_TTL);
    ngx_str_t               per_address =
                                ngx_string(NGX_KANBAN_PORTAL_PER_ADDRESS);
    ngx_pool_t             *pool;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *bq;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    ok = ngx_kanban_pg_value(r, q->result, 0, 0);

    if (ok == NULL || ok->len != 1 || ok->data[0] != '1') {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_RATE_LIMITED,
                               "Too many asks from this client; try again "
                               "in an hour."));
        return;
    }

    /* the rest after the answer, on a pool of its own (the statement's
     * parameters are copied into it) */

    if (ngx_kanban_portal_origin(&head, &tail) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_kanban_pg_catalog(&db);

    bq = ngx_kanban_pg_query_background(pool, &db);
    if (bq == NULL
        || ngx_kanban_pg_run(bq, &ngx_kanban_portal_find,
                             ngx_kanban_portal_found, 5,
                             (ngx_str_t *) ngx_kanban_ctx(r)->data, &head,
                             &tail, &ttl, &per_address)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
        ngx_kanban_send_json(r, NGX_HTTP_ACCEPTED, &json));
}


static void
ngx_kanban_portal_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: portal: find my workspaces failed: %s",
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");

    } else if (PQntuples(q->result) == 1
               && PQgetlength(q->result, 0, 0) == 6
               && ngx_strncmp(PQgetvalue(q->result, 0, 0), "mailed", 6)
                  == 0)
    {
        ngx_kanban_mail_wake_catalog();
    }

    ngx_destroy_pool(q->pool);
}


/* A plain address, as the outbox takes it (mail_address_ok()): one "@"
 * with something either side, no spaces, controls or brackets. Whether
 * it is anybody's is never told; whether it is an address is. */

static char *
ngx_kanban_portal_check_address(ngx_str_t *value, char **message)
{
    u_char      c;
    ngx_uint_t  i, at;

    at = 0;

    for (i = 0; i < value->len; i++) {
        c = value->data[i];

        if (c == '@') {
            if (at || i == 0 || i == value->len - 1) {
                break;
            }

            at = i;
            continue;
        }

        if (c <= ' ' || c == 0x7f || ngx_strchr("<>,;:\"()[]\\", c)) {
            break;
        }
    }

    if (i == value->len && at) {
        return NULL;
    }

    *message = "An email address, such as ann@example.com.";
    return "invalid_value";
}
