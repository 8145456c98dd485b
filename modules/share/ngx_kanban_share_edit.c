
/*
 * PATCH /api/v1/share-links/{id}: a link's expiry, tags and folder
 * changed (share_link_update), and the link out of this node's cache so
 * that its next visit judges the new expiry.
 */

/* SQL: sql/tenant/082_share_links_edit.sql */
#include "ngx_kanban_share_routes.h"
#include "ngx_kanban_share.h"


/* a tag, also of a new link (ngx_kanban_share_links.c) */
ngx_kanban_field_t  ngx_kanban_share_tag[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 40, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_share_link_edit_fields[] = {
    { "expires_at", NGX_KANBAN_FIELD_STRING, 0, 1, 40, NULL, NULL },
    { "expires_in_seconds", NGX_KANBAN_FIELD_INTEGER, 0, 1, 315360000,
      NULL, NULL },
    { "tags", NGX_KANBAN_FIELD_ARRAY, 0, 0, 20, ngx_kanban_share_tag, NULL },
    { "folder", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_share_links_edit = {
    ngx_kanban_pg_stmt("share_links_edit",
    "SELECT * FROM share_link_update($1::uuid, $2, $3, $4::uuid, $5::jsonb)"),
    { NULL },
    NULL
};


ngx_int_t
ngx_kanban_share_links_edit_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t              *id, base;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    id = ngx_kanban_arg(ctx, "id");

    if (id == NULL || !ngx_kanban_uuid_valid(id)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    if (ngx_kanban_share_base(r, &ctx->tenant->slug, &base) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_links_edit.stmt,
                             ngx_kanban_share_link_changed, 5,
                             &ctx->identity->user_id, &ctx->identity->role,
                             &base, id, &ctx->raw_body)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* A change of a link answered (status, body, its code): out of this
 * node's cache on success. Its rules' too (ngx_kanban_share_rules.c). */

void
ngx_kanban_share_link_changed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t         *status, *body, *code;
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    status = q->error == NGX_KANBAN_PG_OK && PQntuples(q->result) == 1
             ? ngx_kanban_pg_value(r, q->result, 0, 0) : NULL;

    if (status == NULL || status->len != 3
        || ngx_strncmp(status->data, "200", 3) != 0)
    {
        ngx_kanban_sql_answer(r, q);
        return;
    }

    body = ngx_kanban_pg_value(r, q->result, 0, 1);
    code = ngx_kanban_pg_value(r, q->result, 0, 2);

    if (body == NULL || code == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_kanban_share_forget(&ctx->tenant->slug, code);

    /* the result is freed when this handler returns */
    body->data = ngx_pstrdup(r->pool, body);
    if (body->data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK, body));
}
