
/*
 * ngx_http_kanban_tenant_module: which workspace a request is for.
 *
 * kanban_tenant takes a value (typically a server_name capture), looks the
 * slug up in the catalog and keeps the answer in a shared-memory cache for
 * kanban_tenant_cache's ttl, unknown slugs too, so that a flood of made-up
 * hosts costs the catalog one query per slug and ttl and never touches a
 * tenant database. Unknown is 404 tenant_not_found, suspended 403
 * tenant_suspended, deleted 410 tenant_deleted (within its grace period
 * but for its admin's export: ngx_kanban_tenant_grace.c).
 *
 * The lookup also brings the limits of the workspace's plan: the limit
 * module's API rate takes them from here, and each fresh lookup copies
 * them into the workspace's database, where quotas are enforced
 * (ngx_kanban_tenant_limits.c), before the request goes on.
 *
 * An entry read near its end is looked up again in the background, the
 * request going on with it (ngx_kanban_tenant_refresh.c): a workspace in
 * use waits for the catalog only at its first request.
 */

/* SQL: sql/catalog/001_tenants.sql */
#include "ngx_kanban_pg.h"
#include "ngx_kanban_cache.h"
#include "ngx_kanban_tenant_move.h"
#include "ngx_kanban_tenant_module.h"


/* an entry this near its end (of its ttl) is looked up again in the
 * background by the first request that reads it: a workspace read at
 * least once in each last quarter never waits for the catalog, and an
 * active one costs the catalog a lookup per three quarters of the ttl */
#define NGX_KANBAN_TENANT_AHEAD(ttl)  ((ttl) / 4)


typedef struct {
    ngx_shm_zone_t            *zone;
    ngx_msec_t                 ttl;
    ngx_uint_t                 used;
} ngx_kanban_tenant_main_conf_t;


typedef struct {
    ngx_http_complex_value_t  *value;
} ngx_kanban_tenant_loc_conf_t;


typedef struct {
    ngx_kanban_tenant_t        tenant;
    ngx_kanban_tenant_limits_t limits;
    ngx_uint_t                 status;
    ngx_uint_t                 resolved;
    ngx_uint_t                 unavailable;
    ngx_uint_t                 forgets;       /* the cache's, at lookup */
} ngx_kanban_tenant_ctx_t;



static ngx_int_t ngx_kanban_tenant_handler(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_tenant_answer(ngx_http_request_t *r,
    ngx_kanban_tenant_ctx_t *ctx);
static void ngx_kanban_tenant_resolved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_tenant_go_on(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_tenant_cache_get(ngx_http_request_t *r,
    ngx_str_t *slug, ngx_kanban_tenant_ctx_t *ctx, ngx_msec_t *claim);
static ngx_int_t ngx_kanban_tenant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_kanban_tenant_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_kanban_tenant_value(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_kanban_tenant_create_main_conf(ngx_conf_t *cf);
static char *ngx_kanban_tenant_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_kanban_tenant_create_loc_conf(ngx_conf_t *cf);
static char *ngx_kanban_tenant_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_kanban_tenant_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_tenant_init(ngx_conf_t *cf);
static ngx_kanban_tenant_t *ngx_kanban_tenant_of(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_tenant_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_kanban_tenant_commands[] = {

    { ngx_string("kanban_tenant"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_kanban_tenant_value,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_tenant_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_kanban_tenant_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_tenant_module_ctx = {
    ngx_kanban_tenant_add_variables,       /* preconfiguration */
    ngx_kanban_tenant_init,                /* postconfiguration */

    ngx_kanban_tenant_create_main_conf,    /* create main configuration */
    ngx_kanban_tenant_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_tenant_create_loc_conf,     /* create location configuration */
    ngx_kanban_tenant_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_tenant_module = {
    NGX_MODULE_V1,
    &ngx_kanban_tenant_module_ctx,         /* module context */
    ngx_kanban_tenant_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_tenant_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_kanban_tenant_move_exit_process,   /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_kanban_tenant_var_name = ngx_string("kanban_tenant");


/* The request's workspace, for the core's seam (ngx_kanban_tenant()). */

static ngx_kanban_tenant_t *
ngx_kanban_tenant_of(ngx_http_request_t *r)
{
    ngx_kanban_tenant_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_tenant_module);

    if (ctx == NULL || !ctx->resolved
        || (ctx->status != NGX_KANBAN_TENANT_ACTIVE
            && ctx->status != NGX_KANBAN_TENANT_MOVING
            && ctx->status != NGX_KANBAN_TENANT_GRACE))
    {
        return NULL;
    }

    return &ctx->tenant;
}


/* The request's workspace's limits (none on the platform's host). */

ngx_kanban_tenant_limits_t *
ngx_kanban_tenant_limits(ngx_http_request_t *r)
{
    ngx_kanban_tenant_ctx_t  *ctx;

    if (ngx_kanban_tenant_of(r) == NULL) {
        return NULL;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_tenant_module);

    return &ctx->limits;
}


static ngx_int_t
ngx_kanban_tenant_handler(ngx_http_request_t *r)
{
    ngx_str_t                       slug;
    ngx_msec_t                      claim;
    ngx_kanban_pg_db_t              db;
    ngx_kanban_pg_query_t          *q;
    ngx_kanban_tenant_ctx_t        *ctx;
    ngx_kanban_tenant_loc_conf_t   *tlcf;
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_tenant_module);

    if (tlcf->value == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_tenant_module);

    if (ctx) {
        if (!ctx->resolved) {
            return NGX_DONE;          /* still waiting for the catalog */
        }

        return ngx_kanban_tenant_answer(r, ctx);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_kanban_tenant_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_kanban_tenant_module);
    ngx_kanban_log_request_id(r);

    if (ngx_http_complex_value(r, tlcf->value, &slug) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_kanban_slug_valid(&slug)) {
        /* not a slug any workspace can have: no need to ask */
        ctx->resolved = 1;
        return ngx_kanban_tenant_answer(r, ctx);
    }

    if (ngx_kanban_tenant_cache_get(r, &slug, ctx, &claim) == NGX_OK) {
        ngx_kanban_metrics_tenant_lookup(1);

        if (claim) {
            /* near its end: looked up again behind this request's back */
            tmcf = ngx_http_get_module_main_conf(r,
                                                 ngx_http_kanban_tenant_module);
            ngx_kanban_tenant_refresh(&slug, claim, &ctx->limits,
                                      tmcf->zone, tmcf->ttl);
        }

        ctx->resolved = 1;
        return ngx_kanban_tenant_answer(r, ctx);
    }

    ngx_kanban_metrics_tenant_lookup(0);

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_tenant_module);
    ctx->forgets = ngx_kanban_cache_forgets(tmcf->zone);

    ctx->tenant.slug.data = ngx_pstrdup(r->pool, &slug);
    if (ctx->tenant.slug.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->tenant.slug.len = slug.len;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_tenant_by_slug,
                             ngx_kanban_tenant_resolved, 1, &ctx->tenant.slug)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


static ngx_int_t
ngx_kanban_tenant_answer(ngx_http_request_t *r, ngx_kanban_tenant_ctx_t *ctx)
{
    if (ctx->unavailable) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE,
                                  "The workspace directory is unavailable; "
                                  "try again shortly.");
    }

    switch (ctx->status) {

    case NGX_KANBAN_TENANT_ACTIVE:
        return NGX_DECLINED;

    case NGX_KANBAN_TENANT_SUSPENDED:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TENANT_SUSPENDED, NULL);

    case NGX_KANBAN_TENANT_MOVING:
        return ngx_kanban_tenant_moving(r);

    case NGX_KANBAN_TENANT_GRACE:
        if (ngx_kanban_tenant_grace_allows(r)) {
            ctx->tenant.admins_only = 1;
            return NGX_DECLINED;
        }

        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TENANT_DELETED, NULL);

    case NGX_KANBAN_TENANT_DELETED:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TENANT_DELETED, NULL);

    default:
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TENANT_NOT_FOUND, NULL);
    }
}


static void
ngx_kanban_tenant_resolved(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_tenant_ctx_t        *ctx;
    ngx_kanban_tenant_main_conf_t  *tmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_tenant_module);
    tmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_tenant_module);

    ctx->resolved = 1;

    if (q->error != NGX_KANBAN_PG_OK) {
        if (q->error == NGX_KANBAN_PG_SQL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kanban: tenant lookup failed: %s",
                          PQresultErrorMessage(q->result));
        }

        ctx->unavailable = 1;
        ngx_kanban_tenant_go_on(r);
        return;
    }

    ctx->status = ngx_kanban_tenant_found(r->pool, q->result, &ctx->tenant,
                                          &ctx->limits);

    (void) ngx_kanban_tenant_cache_put(tmcf->zone, tmcf->ttl, &ctx->tenant,
                                       &ctx->limits, ctx->status, 0,
                                       ctx->forgets);

    if (ctx->status == NGX_KANBAN_TENANT_ACTIVE
        && ngx_kanban_tenant_limits_sync(r, &ctx->tenant, &ctx->limits,
                                         ngx_kanban_tenant_go_on)
           == NGX_OK)
    {
        return;                       /* goes on once they are copied */
    }

    ngx_kanban_tenant_go_on(r);
}


static void
ngx_kanban_tenant_go_on(ngx_http_request_t *r)
{
    r->main->count--;
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


/* A workspace in the cache: its id, name, database and server, and its
 * status (unknown slugs are kept too). */

static ngx_int_t
ngx_kanban_tenant_cache_get(ngx_http_request_t *r, ngx_str_t *slug,
    ngx_kanban_tenant_ctx_t *ctx, ngx_msec_t *claim)
{
    ngx_int_t                       rc;
    ngx_msec_t                      ahead;
    ngx_kanban_cache_value_t        v;
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_tenant_module);

    /* a worker on its way out starts nothing that outlives it */
    ahead = (ngx_exiting || ngx_terminate || ngx_quit)
            ? 0 : NGX_KANBAN_TENANT_AHEAD(tmcf->ttl);

    rc = ngx_kanban_cache_get_ahead(tmcf->zone, slug, r->pool, &v, ahead,
                                    claim);

    if (rc != NGX_OK || v.nfields != 8 || v.nnumbers != 1) {
        return rc == NGX_ERROR ? NGX_ERROR : NGX_DECLINED;
    }

    ctx->tenant.slug.data = ngx_pstrdup(r->pool, slug);
    if (ctx->tenant.slug.data == NULL) {
        return NGX_ERROR;
    }

    ctx->tenant.slug.len = slug->len;
    ctx->tenant.id = v.fields[0];
    ctx->tenant.name = v.fields[1];
    ctx->tenant.db_name = v.fields[2];
    ctx->tenant.db_dsn = v.fields[3];
    ctx->status = (ngx_uint_t) v.numbers[0];

    ngx_kanban_tenant_limits_cached(&v.fields[4], &ctx->limits);

    return NGX_OK;
}




/* A workspace just made: whatever was cached for its slug (a probe of
 * the name before it existed) goes. */

void
ngx_kanban_tenant_forget(ngx_str_t *slug)
{
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_tenant_module);
    if (tmcf == NULL || tmcf->zone == NULL) {
        return;
    }

    ngx_kanban_cache_forget(tmcf->zone, slug);
}


/* The node's listener for catalog changes is handed the cache it empties,
 * so that it needs nothing else of this module. */

static ngx_int_t
ngx_kanban_tenant_init_process(ngx_cycle_t *cycle)
{
    return ngx_kanban_tenant_move_init_process(cycle,
                                               ngx_kanban_tenant_cache_zone());
}


/* The cache's zone, for what else is kept per workspace (its CORS list). */

ngx_shm_zone_t *
ngx_kanban_tenant_cache_zone(void)
{
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_tenant_module);

    return tmcf ? tmcf->zone : NULL;
}


static ngx_int_t
ngx_kanban_tenant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_kanban_tenant_t  *t;

    t = ngx_kanban_tenant(r);

    if (t == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = t->slug.data;
    v->len = t->slug.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* kanban_tenant_cache zone=name:size ttl=time */

static char *
ngx_kanban_tenant_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_tenant_main_conf_t  *tmcf = conf;

    return ngx_kanban_cache_conf(cf, &ngx_http_kanban_tenant_module,
                                 &tmcf->zone, &tmcf->ttl);
}


static char *
ngx_kanban_tenant_value(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_kanban_tenant_module);
    tmcf->used = 1;

    cmd->offset = offsetof(ngx_kanban_tenant_loc_conf_t, value);

    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


static void *
ngx_kanban_tenant_create_main_conf(ngx_conf_t *cf)
{
    ngx_kanban_tenant_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_tenant_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    tmcf->ttl = 10000;

    return tmcf;
}


static char *
ngx_kanban_tenant_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_tenant_main_conf_t  *tmcf = conf;

    if (tmcf->used && tmcf->zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kanban_tenant\" needs a \"kanban_tenant_cache\" "
                           "zone");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_kanban_tenant_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_tenant_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_tenant_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    tlcf->value = NGX_CONF_UNSET_PTR;

    return tlcf;
}


static char *
ngx_kanban_tenant_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_kanban_tenant_loc_conf_t  *prev = parent;
    ngx_kanban_tenant_loc_conf_t  *conf = child;

    ngx_conf_merge_ptr_value(conf->value, prev->value, NULL);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_tenant_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_kanban_tenant_var_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_kanban_tenant_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_tenant_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_kanban_tenant_handler;

    /* the API phase asks this module for the workspace, and lets CORS
     * answer another origin's call before routing */
    if (ngx_kanban_tenant_seam(cf, ngx_kanban_tenant_of) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_kanban_preroute_seam(cf, ngx_kanban_cors);
}
