
/*
 * POST /api/v1/portal/find-workspaces {email} on the platform host: one
 * statement in the catalog (portal_find(), catalog 012) reads the
 * directory, makes the links and queues the one message in the
 * platform's outbox, which the mail sender takes like a workspace's.
 * The answer is 202 and the same body whether the address is anybody's:
 * the statement does about the same work either way, and the mail goes
 * out later. A client past its asks of the hour gets 429; an address past
 * its mails of the hour gets the same 202 and nothing (a flood of asks
 * never floods its owner's inbox, and says nothing of it).
 */

/* SQL: sql/catalog/012_portal.sql */
#include "ngx_kanban_portal.h"
#include "ngx_kanban_mail.h"


static void ngx_kanban_portal_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


ngx_kanban_field_t  ngx_kanban_portal_find_fields[] = {
    { "email", NGX_KANBAN_FIELD_STRING, 1, 3, 254, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static ngx_kanban_pg_stmt_t  ngx_kanban_portal_find = ngx_kanban_pg_stmt(
    "portal_find",
    "SELECT portal_find($1::jsonb->>'email', $2::inet, $3, $4,"
    "                   $5::float8, $6::int, $7::int)");


ngx_int_t
ngx_kanban_portal_find_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_str_t               head, tail;
    ngx_str_t               ttl = ngx_string(NGX_KANBAN_PORTAL_FIND_TTL);
    ngx_str_t               per_address =
                                ngx_string(NGX_KANBAN_PORTAL_PER_ADDRESS);
    ngx_str_t               per_client =
                                ngx_string(NGX_KANBAN_PORTAL_PER_CLIENT);
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (ngx_kanban_portal_origin(&head, &tail) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_portal_find,
                             ngx_kanban_portal_found, 7, &ctx->raw_body,
                             &r->connection->addr_text, &head, &tail, &ttl,
                             &per_address, &per_client)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_portal_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t   json = ngx_string("{\"status\":\"accepted\"}");
    ngx_str_t  *outcome;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    outcome = ngx_kanban_pg_value(r, q->result, 0, 0);

    if (outcome && outcome->len == 7
        && ngx_strncmp(outcome->data, "limited", 7) == 0)
    {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_RATE_LIMITED,
                               "Too many asks from this client; try again "
                               "in an hour."));
        return;
    }

    ngx_kanban_mail_wake_catalog();

    ngx_http_finalize_request(r,
        ngx_kanban_send_json(r, NGX_HTTP_ACCEPTED, &json));
}
