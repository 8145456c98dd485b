
/*
 * What the tenant module's files share: the workspace's slug, the tenant
 * cache, and CORS (the origins a workspace lists, ngx_kanban_cors.c).
 * The rest of the product asks for the request's workspace through the
 * core's seam, ngx_kanban_tenant().
 */

#ifndef _NGX_KANBAN_TENANT_MODULE_H_INCLUDED_
#define _NGX_KANBAN_TENANT_MODULE_H_INCLUDED_


#include "ngx_kanban_pg.h"
#include "ngx_kanban_tenant_slug.h"


#define NGX_KANBAN_TENANT_UNKNOWN    0
#define NGX_KANBAN_TENANT_ACTIVE     1
#define NGX_KANBAN_TENANT_SUSPENDED  2
#define NGX_KANBAN_TENANT_MOVING     3     /* reads go on, writes wait */
#define NGX_KANBAN_TENANT_DELETED    4     /* purged: 410 */
#define NGX_KANBAN_TENANT_GRACE      5     /* deleting: 410 but the export */


extern ngx_module_t  ngx_http_kanban_tenant_module;


/* The limits of a workspace's plan as the catalog has them, text (as
 * they go to SQL); a null string is no limit. */
typedef struct {
    ngx_str_t                  plan;
    ngx_str_t                  max_users;
    ngx_str_t                  max_storage_bytes;
    ngx_str_t                  api_rate;
    ngx_uint_t                 api_rate_n;   /* requests a minute, 0: none */
} ngx_kanban_tenant_limits_t;



/* the catalog's lookup of a workspace by slug, and what it found, as a
 * request's lookup and a background refresh both read it
 * (ngx_kanban_tenant_lookup.c) */
extern ngx_kanban_pg_stmt_t  ngx_kanban_tenant_by_slug;
extern ngx_kanban_pg_stmt_t  ngx_kanban_tenant_by_slugs;

ngx_uint_t ngx_kanban_tenant_found(ngx_pool_t *pool, PGresult *res,
    ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits);
ngx_uint_t ngx_kanban_tenant_found_row(ngx_pool_t *pool, PGresult *res,
    int row, ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits);
ngx_int_t ngx_kanban_tenant_cache_put(ngx_shm_zone_t *zone, ngx_msec_t ttl,
    ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits,
    ngx_uint_t status, ngx_msec_t claim, ngx_uint_t forgets);

/* the entry of slug, claimed, looked up again in the background
 * (ngx_kanban_tenant_refresh.c) */
void ngx_kanban_tenant_refresh(ngx_str_t *slug, ngx_msec_t claim,
    ngx_kanban_tenant_limits_t *limits, ngx_shm_zone_t *zone,
    ngx_msec_t ttl);

void ngx_kanban_tenant_forget(ngx_str_t *slug);
ngx_shm_zone_t *ngx_kanban_tenant_cache_zone(void);
ngx_uint_t ngx_kanban_tenant_grace_allows(ngx_http_request_t *r);

ngx_kanban_tenant_limits_t *ngx_kanban_tenant_limits(ngx_http_request_t *r);
void ngx_kanban_tenant_limits_read(ngx_pool_t *pool, PGresult *res,
    int row, int col, ngx_kanban_tenant_limits_t *limits);
void ngx_kanban_tenant_limits_cached(ngx_str_t *fields,
    ngx_kanban_tenant_limits_t *limits);
ngx_int_t ngx_kanban_tenant_limits_sync(ngx_http_request_t *r,
    ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits,
    void (*done)(ngx_http_request_t *r));
ngx_int_t ngx_kanban_tenant_limits_sync_background(ngx_pool_t *pool,
    ngx_kanban_tenant_t *t, ngx_kanban_tenant_limits_t *limits,
    ngx_kanban_pg_handler_pt done, void *data);
ngx_uint_t ngx_kanban_tenant_limits_failed(ngx_kanban_pg_query_t *q);

ngx_int_t ngx_kanban_cors(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx);
char *ngx_kanban_cors_origin_check(ngx_str_t *value, char **message);
void ngx_kanban_cors_forget(ngx_http_request_t *r, ngx_str_t *slug);


#endif /* _NGX_KANBAN_TENANT_MODULE_H_INCLUDED_ */
