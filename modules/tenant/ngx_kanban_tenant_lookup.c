
/*
 * A workspace looked up in the catalog by its slug: the statement, what
 * its row says (the workspace, its plan's limits, its status), and the
 * answer put in the tenant cache. A request's own lookup
 * (ngx_kanban_tenant_module.c) and a background refresh
 * (ngx_kanban_tenant_refresh.c) both use them, so that they read a row the
 * same way and neither depends on the other.
 */

/* SQL: sql/catalog/001_tenants.sql */
#include "ngx_kanban_pg.h"
#include "ngx_kanban_cache.h"
#include "ngx_kanban_tenant_module.h"


static ngx_uint_t ngx_kanban_tenant_status(ngx_str_t *status);


ngx_kanban_pg_stmt_t  ngx_kanban_tenant_by_slug = ngx_kanban_pg_stmt(
    "tenant_by_slug",
    "SELECT id, slug, name, db_name, db_dsn, status,"
    "       plan, max_users, max_storage_bytes, api_rate"
    "  FROM tenants WHERE slug = $1 AND status <> 'provisioning'");


/* many at once, for the background refreshes gathered in a worker
 * (ngx_kanban_tenant_refresh.c): $1 a text[] of slugs; the same columns */
ngx_kanban_pg_stmt_t  ngx_kanban_tenant_by_slugs = ngx_kanban_pg_stmt(
    "tenant_by_slugs",
    "SELECT id, slug, name, db_name, db_dsn, status,"
    "       plan, max_users, max_storage_bytes, api_rate"
    "  FROM tenants"
    " WHERE slug = ANY($1::text[]) AND status <> 'provisioning'");


/* The lookup's row (none: an unknown slug) into t and limits, copied in
 * pool, for the result is cleared after its handler; its status. t's
 * slug stays when there is no row. */

ngx_uint_t
ngx_kanban_tenant_found(ngx_pool_t *pool, PGresult *res,
    ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits)
{
    if (PQntuples(res) != 1) {
        return NGX_KANBAN_TENANT_UNKNOWN;
    }

    return ngx_kanban_tenant_found_row(pool, res, 0, t, limits);
}


/* The same from one row of a lookup of many. */

ngx_uint_t
ngx_kanban_tenant_found_row(ngx_pool_t *pool, PGresult *res, int row,
    ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits)
{
    ngx_str_t    v;
    ngx_uint_t   i;
    ngx_str_t   *fields[] = { &t->id, &t->slug, &t->name, &t->db_name,
                              &t->db_dsn };

    for (i = 0; i < 5; i++) {
        if (PQgetisnull(res, row, i)) {
            continue;
        }

        v.data = (u_char *) PQgetvalue(res, row, i);
        v.len = PQgetlength(res, row, i);

        fields[i]->data = ngx_pstrdup(pool, &v);
        fields[i]->len = fields[i]->data ? v.len : 0;
    }

    ngx_kanban_tenant_limits_read(pool, res, row, 6, limits);

    v.data = (u_char *) PQgetvalue(res, row, 5);
    v.len = PQgetlength(res, row, 5);

    return ngx_kanban_tenant_status(PQgetisnull(res, row, 5) ? NULL : &v);
}


static ngx_uint_t
ngx_kanban_tenant_status(ngx_str_t *status)
{
    if (status && status->len == 6
        && ngx_strncmp(status->data, "active", 6) == 0)
    {
        return NGX_KANBAN_TENANT_ACTIVE;
    }

    if (status && status->len == 6
        && ngx_strncmp(status->data, "moving", 6) == 0)
    {
        return NGX_KANBAN_TENANT_MOVING;
    }

    if (status && status->len == 8
        && ngx_strncmp(status->data, "deleting", 8) == 0)
    {
        return NGX_KANBAN_TENANT_GRACE;
    }

    if (status && status->len == 7
        && ngx_strncmp(status->data, "deleted", 7) == 0)
    {
        return NGX_KANBAN_TENANT_DELETED;
    }

    return NGX_KANBAN_TENANT_SUSPENDED;
}


/* A lookup's answer, for the ttl; claim: a background refresh's (its
 * answer is put only over the entry it claimed), 0 for a request's, put
 * only if the zone had no forget since forgets was read (a move's, during
 * the lookup, may be newer than its answer). NGX_OK when put. */

ngx_int_t
ngx_kanban_tenant_cache_put(ngx_shm_zone_t *zone, ngx_msec_t ttl,
    ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits,
    ngx_uint_t status, ngx_msec_t claim, ngx_uint_t forgets)
{
    ngx_kanban_cache_value_t  v;

    v.fields[0] = t->id;
    v.fields[1] = t->name;
    v.fields[2] = t->db_name;
    v.fields[3] = t->db_dsn;
    v.fields[4] = limits->plan;
    v.fields[5] = limits->max_users;
    v.fields[6] = limits->max_storage_bytes;
    v.fields[7] = limits->api_rate;
    v.nfields = 8;
    v.numbers[0] = status;
    v.nnumbers = 1;

    if (claim) {
        return ngx_kanban_cache_put_claimed(zone, &t->slug, ttl, &v, claim);
    }

    return ngx_kanban_cache_put_since(zone, &t->slug, ttl, &v, forgets);
}
