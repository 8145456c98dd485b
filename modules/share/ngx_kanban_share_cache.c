
/*
 * Share codes to links, in shared memory (ngx_kanban_cache.c): the
 * redirect is the product's hottest path, so a code is looked up in
 * PostgreSQL once per ttl and workspace (unknown codes too, so guessing
 * costs the database nothing more), and every worker answers from the
 * same entries. A revoked link is cached as revoked at once on this
 * node (and stays so: a lookup already under way cannot put it back);
 * other nodes see it within ttl. Expiry needs no forgetting: it is judged
 * against the clock on every visit.
 */

/* SQL: sql/tenant/011_share_links.sql, 087_share_link_rules.sql */
#include "ngx_kanban_share.h"
#include "ngx_kanban_cache.h"


/* a lookup in PostgreSQL on behalf of a request */
typedef struct {
    ngx_str_t                      key;
    ngx_kanban_share_link_t       *link;
    ngx_kanban_share_resolved_pt   handler;
} ngx_kanban_share_lookup_t;


static ngx_int_t ngx_kanban_share_key(ngx_pool_t *pool, ngx_str_t *slug,
    ngx_str_t *code, ngx_str_t *key);
static ngx_int_t ngx_kanban_share_cache_get(ngx_http_request_t *r,
    ngx_str_t *key, ngx_kanban_share_link_t *link);
static void ngx_kanban_share_cache_put(ngx_str_t *key,
    ngx_kanban_share_link_t *link);
static void ngx_kanban_share_resolved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_share_row(ngx_http_request_t *r, PGresult *res,
    ngx_kanban_share_link_t *link);
static ngx_kanban_share_main_conf_t *ngx_kanban_share_conf(void);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_resolve_stmt =
    ngx_kanban_pg_stmt("share_resolve",
    "SELECT id, state, target_type, url, expires, max_visits,"
    "       password_hash, grant_secret, rules"
    "  FROM share_link_resolve($1)");


ngx_int_t
ngx_kanban_share_resolve(ngx_http_request_t *r, ngx_kanban_tenant_t *tenant,
    ngx_str_t *code, ngx_kanban_share_link_t *link,
    ngx_kanban_share_resolved_pt handler)
{
    ngx_str_t                   key;
    ngx_kanban_pg_db_t          db;
    ngx_kanban_pg_query_t      *q;
    ngx_kanban_share_lookup_t  *lk;

    if (ngx_kanban_share_key(r->pool, &tenant->slug, code, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_kanban_share_cache_get(r, &key, link) == NGX_OK) {
        return NGX_OK;
    }

    lk = ngx_palloc(r->pool, sizeof(ngx_kanban_share_lookup_t));
    if (lk == NULL) {
        return NGX_ERROR;
    }

    lk->key = key;
    lk->link = link;
    lk->handler = handler;

    ngx_kanban_pg_tenant_db(tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->data = lk;

    if (ngx_kanban_pg_run(q, &ngx_kanban_share_resolve_stmt,
                          ngx_kanban_share_resolved, 1, code)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/* An unknown code is cached as such; a database that cannot answer
 * leaves nothing in the cache and the link unavailable. */

static void
ngx_kanban_share_resolved(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_share_lookup_t  *lk;

    lk = q->data;

    ngx_memzero(lk->link, sizeof(ngx_kanban_share_link_t));

    if (q->error != NGX_KANBAN_PG_OK) {
        lk->link->state = NGX_KANBAN_SHARE_UNAVAILABLE;
        lk->handler(r, lk->link);
        return;
    }

    if (PQntuples(q->result) == 1) {
        if (ngx_kanban_share_row(r, q->result, lk->link) != NGX_OK) {
            lk->link->state = NGX_KANBAN_SHARE_UNAVAILABLE;
            lk->handler(r, lk->link);
            return;
        }
    }

    ngx_kanban_share_cache_put(&lk->key, lk->link);

    lk->handler(r, lk->link);
}


static ngx_int_t
ngx_kanban_share_row(ngx_http_request_t *r, PGresult *res,
    ngx_kanban_share_link_t *link)
{
    char        *state, *target;
    ngx_str_t   *s;
    ngx_int_t    n;

    state = PQgetvalue(res, 0, 1);
    target = PQgetvalue(res, 0, 2);

    link->state = ngx_strcmp(state, "active") == 0 ? NGX_KANBAN_SHARE_ACTIVE
                : ngx_strcmp(state, "used_up") == 0 ? NGX_KANBAN_SHARE_USED_UP
                : ngx_strcmp(state, "gone") == 0 ? NGX_KANBAN_SHARE_GONE
                : NGX_KANBAN_SHARE_REVOKED;

    link->target = ngx_strcmp(target, "task") == 0
                   ? NGX_KANBAN_SHARE_TARGET_TASK
                   : ngx_strcmp(target, "project") == 0
                     ? NGX_KANBAN_SHARE_TARGET_PROJECT
                     : ngx_strcmp(target, "report") == 0
                       ? NGX_KANBAN_SHARE_TARGET_REPORT
                       : NGX_KANBAN_SHARE_TARGET_URL;

    s = ngx_kanban_pg_value(r, res, 0, 0);
    if (s == NULL) {
        return NGX_ERROR;
    }

    link->id = *s;

    s = ngx_kanban_pg_value(r, res, 0, 3);
    if (s) {
        link->url = *s;
    }

    s = ngx_kanban_pg_value(r, res, 0, 4);
    if (s) {
        n = ngx_atotm(s->data, s->len);
        link->expires = n > 0 ? n : 1;      /* before 1970: long expired */
    }

    s = ngx_kanban_pg_value(r, res, 0, 5);
    if (s) {
        n = ngx_atoi(s->data, s->len);
        if (n <= 0) {
            return NGX_ERROR;
        }

        link->max_visits = n;
    }

    s = ngx_kanban_pg_value(r, res, 0, 6);
    if (s) {
        link->password_hash = *s;
    }

    s = ngx_kanban_pg_value(r, res, 0, 7);
    if (s == NULL) {
        return NGX_ERROR;
    }

    link->grant_secret = *s;

    s = ngx_kanban_pg_value(r, res, 0, 8);
    if (s) {
        link->rules = *s;
    }

    /* the result goes when the handler returns; the link outlives it */
    for (s = &link->id; s <= &link->rules; s++) {
        if (s->len) {
            s->data = ngx_pstrdup(r->pool, s);
            if (s->data == NULL) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* A link used up: the next visit asks PostgreSQL. */

void
ngx_kanban_share_forget(ngx_str_t *slug, ngx_str_t *code)
{
    u_char                         buf[64 + NGX_KANBAN_SHARE_CODE_MAX];
    ngx_str_t                      key;
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_kanban_share_conf();

    if (smcf->zone == NULL || slug->len + 1 + code->len > sizeof(buf)) {
        return;
    }

    key.data = buf;
    key.len = ngx_sprintf(buf, "%V/%V", slug, code) - buf;

    ngx_kanban_cache_forget(smcf->zone, &key);
}


/* A revoked link: kept as such for the cache's ttl, so that a lookup
 * that was out when it was revoked cannot put it back as it was. */

void
ngx_kanban_share_revoke(ngx_str_t *slug, ngx_str_t *code)
{
    u_char                         buf[64 + NGX_KANBAN_SHARE_CODE_MAX];
    ngx_str_t                      key;
    ngx_kanban_cache_value_t       v;
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_kanban_share_conf();

    if (smcf->zone == NULL || slug->len + 1 + code->len > sizeof(buf)) {
        return;
    }

    key.data = buf;
    key.len = ngx_sprintf(buf, "%V/%V", slug, code) - buf;

    ngx_memzero(&v, sizeof(ngx_kanban_cache_value_t));
    v.nfields = 5;
    v.numbers[0] = NGX_KANBAN_SHARE_REVOKED;
    v.nnumbers = 4;

    ngx_kanban_cache_put(smcf->zone, &key, smcf->ttl, &v);
}


static ngx_int_t
ngx_kanban_share_key(ngx_pool_t *pool, ngx_str_t *slug, ngx_str_t *code,
    ngx_str_t *key)
{
    u_char  *p;

    p = ngx_pnalloc(pool, slug->len + 1 + code->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* "slug/code", copied: ngx_sprintf's format walk cost more */
    key->data = p;
    p = ngx_cpymem(p, slug->data, slug->len);
    *p++ = '/';
    p = ngx_cpymem(p, code->data, code->len);
    key->len = p - key->data;

    return NGX_OK;
}


/* the link in the cache's terms: its strings, then its numbers */

static ngx_int_t
ngx_kanban_share_cache_get(ngx_http_request_t *r, ngx_str_t *key,
    ngx_kanban_share_link_t *link)
{
    ngx_int_t                      rc;
    ngx_kanban_cache_value_t       v;
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_kanban_share_conf();

    if (smcf->zone == NULL) {
        return NGX_DECLINED;
    }

    rc = ngx_kanban_cache_get(smcf->zone, key, r->pool, &v);

    if (rc != NGX_OK || v.nfields != 5 || v.nnumbers != 4) {
        return rc == NGX_ERROR ? NGX_ERROR : NGX_DECLINED;
    }

    link->id = v.fields[0];
    link->url = v.fields[1];
    link->password_hash = v.fields[2];
    link->grant_secret = v.fields[3];
    link->rules = v.fields[4];
    link->state = (ngx_uint_t) v.numbers[0];
    link->target = (ngx_uint_t) v.numbers[1];
    link->expires = (time_t) v.numbers[2];
    link->max_visits = (ngx_uint_t) v.numbers[3];

    return NGX_OK;
}


static void
ngx_kanban_share_cache_put(ngx_str_t *key, ngx_kanban_share_link_t *link)
{
    ngx_kanban_cache_value_t       v;
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_kanban_share_conf();

    if (smcf->zone == NULL) {
        return;
    }

    v.fields[0] = link->id;
    v.fields[1] = link->url;
    v.fields[2] = link->password_hash;
    v.fields[3] = link->grant_secret;
    v.fields[4] = link->rules;
    v.nfields = 5;

    v.numbers[0] = link->state;
    v.numbers[1] = link->target;
    v.numbers[2] = link->expires;
    v.numbers[3] = link->max_visits;
    v.nnumbers = 4;

    /* a revoke that came while this lookup was out stands */
    ngx_kanban_cache_put_unless(smcf->zone, key, smcf->ttl, &v, 0,
                                NGX_KANBAN_SHARE_REVOKED);
}


static ngx_kanban_share_main_conf_t *
ngx_kanban_share_conf(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_share_module);
}
