
/*
 * Share links on a host of no workspace: the short host an installation
 * names, and the platform's host.
 *
 *   kanban_share_short_host kbn.example;     (or http://kbn.localhost:8080)
 *   server { server_name kbn.example; location / { kanban_share; } }
 *
 * Codes are unique across workspaces (the catalog's share_codes), so such
 * a host finds the workspace of /{code} or /s/{code} in the catalog, kept
 * in the share cache for its ttl (unknown codes too: a guess costs the
 * catalog one query per code and ttl), and from there the link is what
 * it is on the workspace's own host. A link to a task or a project goes
 * on to the workspace's /s/{code}: the read-only page is read there with
 * a grant of that host, so its password, its count and its grant are the
 * workspace host's. When the short host is set, short_url and the QR
 * code use it ($kanban_share_base).
 */

/* SQL: sql/catalog/002_share_codes.sql */
#include "ngx_kanban_share.h"
#include "ngx_kanban_cache.h"


typedef struct {
    ngx_kanban_share_ctx_t        *ctx;
    ngx_kanban_share_found_pt      found;
} ngx_kanban_share_short_t;


static ngx_int_t ngx_kanban_share_short_cached(ngx_http_request_t *r,
    ngx_str_t *key, ngx_kanban_share_ctx_t *ctx);
static void ngx_kanban_share_short_resolved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_code_tenant =
    ngx_kanban_pg_stmt("share_code_tenant",
    "SELECT t.id, t.slug, t.name, t.db_name, t.db_dsn"
    "  FROM share_codes c JOIN tenants t ON t.id = c.tenant_id"
    " WHERE c.code = $1 AND t.status IN ('active', 'moving')");


/* The code of "/s/{code}" or, on a host of no workspace, "/{code}". */

ngx_int_t
ngx_kanban_share_uri_code(ngx_http_request_t *r, ngx_uint_t bare,
    ngx_str_t *code)
{
    if (r->uri.len > 3 && ngx_strncmp(r->uri.data, "/s/", 3) == 0) {
        code->data = r->uri.data + 3;
        code->len = r->uri.len - 3;

    } else if (bare && r->uri.len > 1) {
        code->data = r->uri.data + 1;
        code->len = r->uri.len - 1;

    } else {
        return NGX_DECLINED;
    }

    return ngx_kanban_share_code_valid(code) ? NGX_OK : NGX_DECLINED;
}


/* ctx->tenant from the code: NGX_OK (NULL when no workspace has it),
 * NGX_AGAIN when found will be called, NGX_ERROR. */

ngx_int_t
ngx_kanban_share_code_workspace(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_kanban_share_found_pt found)
{
    ngx_str_t                  key;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_pg_query_t     *q;
    ngx_kanban_share_short_t  *s;

    /* "@": no slug begins so, the workspaces' own keys stay apart */
    key.len = 1 + ctx->code.len;
    key.data = ngx_pnalloc(r->pool, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    key.data[0] = '@';
    ngx_memcpy(key.data + 1, ctx->code.data, ctx->code.len);

    if (ngx_kanban_share_short_cached(r, &key, ctx) == NGX_OK) {
        return NGX_OK;
    }

    s = ngx_palloc(r->pool, sizeof(ngx_kanban_share_short_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->ctx = ctx;
    s->found = found;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = s;

    if (ngx_kanban_pg_run(q, &ngx_kanban_share_code_tenant,
                          ngx_kanban_share_short_resolved, 1, &ctx->code)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static ngx_int_t
ngx_kanban_share_short_cached(ngx_http_request_t *r, ngx_str_t *key,
    ngx_kanban_share_ctx_t *ctx)
{
    ngx_kanban_tenant_t           *t;
    ngx_kanban_cache_value_t       v;
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_share_module);

    if (ngx_kanban_cache_get(smcf->zone, key, r->pool, &v) != NGX_OK
        || v.nnumbers != 1 || v.nfields != 5)
    {
        return NGX_DECLINED;
    }

    if (v.numbers[0] == 0) {
        ctx->tenant = NULL;                      /* known to be unknown */
        return NGX_OK;
    }

    t = ngx_pcalloc(r->pool, sizeof(ngx_kanban_tenant_t));
    if (t == NULL) {
        return NGX_DECLINED;
    }

    t->id = v.fields[0];
    t->slug = v.fields[1];
    t->name = v.fields[2];
    t->db_name = v.fields[3];
    t->db_dsn = v.fields[4];

    ctx->tenant = t;

    return NGX_OK;
}


static void
ngx_kanban_share_short_resolved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t                     *v, key, *fields[5];
    ngx_uint_t                     i;
    ngx_kanban_tenant_t           *t;
    ngx_kanban_share_short_t      *s = q->data;
    ngx_kanban_cache_value_t       cv;
    ngx_kanban_share_main_conf_t  *smcf;

    if (q->error != NGX_KANBAN_PG_OK) {
        if (q->error == NGX_KANBAN_PG_SQL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kanban: share code lookup failed: %s",
                          PQresultErrorMessage(q->result));
        }

        s->ctx->link.state = NGX_KANBAN_SHARE_UNAVAILABLE;
        s->found(r, NULL);
        return;
    }

    ngx_memzero(&cv, sizeof(ngx_kanban_cache_value_t));
    cv.nnumbers = 1;
    t = NULL;

    if (PQntuples(q->result) == 1) {
        t = ngx_pcalloc(r->pool, sizeof(ngx_kanban_tenant_t));
        if (t == NULL) {
            s->ctx->link.state = NGX_KANBAN_SHARE_UNAVAILABLE;
            s->found(r, NULL);
            return;
        }

        fields[0] = &t->id;
        fields[1] = &t->slug;
        fields[2] = &t->name;
        fields[3] = &t->db_name;
        fields[4] = &t->db_dsn;

        for (i = 0; i < 5; i++) {
            v = ngx_kanban_pg_value(r, q->result, 0, i);
            if (v != NULL) {
                /* the result is cleared after this handler */
                fields[i]->data = ngx_pstrdup(r->pool, v);
                fields[i]->len = fields[i]->data ? v->len : 0;
            }

            cv.fields[i] = *fields[i];
        }

        cv.numbers[0] = 1;
    }

    cv.nfields = 5;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_share_module);

    key.len = 1 + s->ctx->code.len;
    key.data = ngx_pnalloc(r->pool, key.len);

    if (key.data) {
        key.data[0] = '@';
        ngx_memcpy(key.data + 1, s->ctx->code.data, s->ctx->code.len);
        ngx_kanban_cache_put(smcf->zone, &key, smcf->ttl, &cv);
    }

    s->ctx->tenant = t;
    s->found(r, t);
}


/* What short_url and the QR code put before the code: the short host
 * when there is one (it serves /{code}), else the workspace's own /s. */

ngx_int_t
ngx_kanban_share_base(ngx_http_request_t *r, ngx_str_t *slug, ngx_str_t *url)
{
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_share_module);

    if (smcf->short_origin.len) {
        *url = smcf->short_origin;
        return NGX_OK;
    }

    return ngx_kanban_tenant_origin(r->pool, slug, "/s", url);
}


/* $kanban_share_base, for the statements that build short_url */

ngx_int_t
ngx_kanban_share_base_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t             url;
    ngx_kanban_tenant_t  *t;

    t = ngx_kanban_tenant(r);

    if (t == NULL || ngx_kanban_share_base(r, &t->slug, &url) != NGX_OK) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = url.data;
    v->len = url.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* kanban_share_short_host name | scheme://name[:port] */

char *
ngx_kanban_share_short_host(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_share_main_conf_t *smcf = conf;

    u_char      *p, *scheme;
    ngx_str_t   *value;
    ngx_uint_t   slash;

    if (smcf->short_origin.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    scheme = ngx_strlcasestrn(value[1].data, value[1].data + value[1].len,
                              (u_char *) "://", 3 - 1);
    slash = ngx_strlchr(value[1].data, value[1].data + value[1].len, '/')
            != NULL;

    if (value[1].len == 0 || value[1].len > 200 || (slash && !scheme)) {
        return "must be a host name or an origin (scheme://host[:port])";
    }

    if (scheme) {
        smcf->short_origin = value[1];

    } else {
        p = ngx_pnalloc(cf->pool, sizeof("https://") - 1 + value[1].len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        smcf->short_origin.data = p;
        smcf->short_origin.len = ngx_sprintf(p, "https://%V", &value[1]) - p;
    }

    while (smcf->short_origin.len
           && smcf->short_origin.data[smcf->short_origin.len - 1] == '/')
    {
        smcf->short_origin.len--;
    }

    return NGX_CONF_OK;
}
