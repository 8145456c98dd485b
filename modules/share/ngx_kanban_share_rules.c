
/*
 * PUT /api/v1/share-links/{id}/rules: a link's redirect rules and UTM
 * template, the whole set replaced (share_link_rules_set), and the link
 * out of this node's cache so that its next visit follows them. The
 * types and sizes are checked here; what each rule means (its match, its
 * values, http or https targets) in PostgreSQL, which also makes the
 * compact form the redirect reads (ngx_kanban_share_rules_match.c).
 */

/* SQL: sql/tenant/087_share_link_rules.sql */
#include "ngx_kanban_share_routes.h"
#include "ngx_kanban_share.h"


#define NGX_KANBAN_SHARE_RULES_MAX    10
#define NGX_KANBAN_SHARE_VALUES_MAX   20
#define NGX_KANBAN_SHARE_TARGETS_MAX  10
#define NGX_KANBAN_SHARE_URL_MAX      2048


static ngx_kanban_field_t  ngx_kanban_share_rule_value[] = {
    { "", NGX_KANBAN_FIELD_STRING, 1, 1, 35, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_share_target_fields[] = {
    { "url", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 1,
      NGX_KANBAN_SHARE_URL_MAX, NULL, NULL },
    { "weight", NGX_KANBAN_FIELD_INTEGER, NGX_KANBAN_REQUIRED, 1, 100,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_share_target[] = {
    { "", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0, ngx_kanban_share_target_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_share_rule_fields[] = {
    { "match", NGX_KANBAN_FIELD_STRING, NGX_KANBAN_REQUIRED, 1, 20,
      NULL, NULL },
    { "values", NGX_KANBAN_FIELD_ARRAY, 0, 0, NGX_KANBAN_SHARE_VALUES_MAX,
      ngx_kanban_share_rule_value, NULL },
    { "url", NGX_KANBAN_FIELD_STRING, 0, 1, NGX_KANBAN_SHARE_URL_MAX,
      NULL, NULL },
    { "targets", NGX_KANBAN_FIELD_ARRAY, 0, 0, NGX_KANBAN_SHARE_TARGETS_MAX,
      ngx_kanban_share_target, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_share_rule[] = {
    { "", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0, ngx_kanban_share_rule_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

static ngx_kanban_field_t  ngx_kanban_share_utm_fields[] = {
    { "source", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { "medium", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { "campaign", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { "term", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { "content", NGX_KANBAN_FIELD_STRING, 0, 1, 100, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_share_rules_fields[] = {
    { "rules", NGX_KANBAN_FIELD_ARRAY, NGX_KANBAN_REQUIRED, 0,
      NGX_KANBAN_SHARE_RULES_MAX, ngx_kanban_share_rule, NULL },
    { "utm", NGX_KANBAN_FIELD_OBJECT, 0, 0, 0, ngx_kanban_share_utm_fields,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_share_links_rules = {
    ngx_kanban_pg_stmt("share_links_rules",
    "SELECT * FROM share_link_rules_set($1::uuid, $2, $3, $4::uuid,"
    "                                   $5::jsonb)"),
    { NULL },
    NULL
};


ngx_int_t
ngx_kanban_share_links_rules_handler(ngx_http_request_t *r,
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
        || ngx_kanban_pg_run(q, &ngx_kanban_share_links_rules.stmt,
                             ngx_kanban_share_link_changed, 5,
                             &ctx->identity->user_id, &ctx->identity->role,
                             &base, id, &ctx->raw_body)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}
