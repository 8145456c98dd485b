
/*
 * ngx_http_kanban_share_module: the short links, /s/{code}, on a
 * workspace's host.
 *
 *   kanban_share_cache zone=share:4m ttl=2s;
 *   kanban_share_bots  bots.txt;
 *   kanban_share_flush 1s;
 *   kanban_share_country $geoip_country_code;   (for rules by country)
 *   location /s/ { kanban_share; }
 *
 * GET: 302 to the target (a URL, or where the first of its redirect rules
 * that matches says: ngx_kanban_share_rules_match.c; /shared/{code} for a
 * task or project)
 * with Cache-Control: private, no-store so that every visit comes here
 * (crawlers get a page without the target from links that count visits);
 * unknown 404, revoked, expired, used up or its target deleted 410; with a
 * password and no grant cookie 401 and a form. Visits are counted in the
 * worker (ngx_kanban_share_visits.c), except for links with max_visits,
 * whose every visit PostgreSQL counts before the redirect so that the
 * limit is exact. HEAD is no visit. POST: the password
 * (ngx_kanban_share_password.c). Browsers get small HTML pages, clients
 * that accept JSON problems.
 *
 * On a host of no workspace (the short host, kanban_share_short_host; the
 * platform's) the code's workspace is found first, and /{code} is served
 * too (ngx_kanban_share_short.c).
 */

/* SQL: sql/tenant/011_share_links.sql */
#include "ngx_kanban_share.h"
#include "ngx_kanban_cache.h"


typedef struct {
    ngx_flag_t                 enable;
} ngx_kanban_share_loc_conf_t;


static ngx_int_t ngx_kanban_share_handler(ngx_http_request_t *r);
static void ngx_kanban_share_body(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_share_start(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx);
static void ngx_kanban_share_verified(ngx_http_request_t *r,
    ngx_uint_t match);
static void ngx_kanban_share_resolved(ngx_http_request_t *r,
    ngx_kanban_share_link_t *link);
static ngx_int_t ngx_kanban_share_visit_or_refuse(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx);
static void ngx_kanban_share_taken(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_share_redirect(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx, ngx_uint_t counted);
static ngx_int_t ngx_kanban_share_preview(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx);
static void ngx_kanban_share_found(ngx_http_request_t *r,
    ngx_kanban_tenant_t *tenant);
static ngx_int_t ngx_kanban_share_onward(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx);
static ngx_int_t ngx_kanban_share_add_variables(ngx_conf_t *cf);

static char *ngx_kanban_share(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_kanban_share_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_kanban_share_create_main_conf(ngx_conf_t *cf);
static char *ngx_kanban_share_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_kanban_share_create_loc_conf(ngx_conf_t *cf);
static char *ngx_kanban_share_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_kanban_share_init_process(ngx_cycle_t *cycle);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_take_stmt =
    ngx_kanban_pg_stmt("share_take",
    "SELECT visits FROM share_link_take($1::uuid)");


static ngx_command_t  ngx_kanban_share_commands[] = {

    { ngx_string("kanban_share"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_kanban_share,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_share_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_kanban_share_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_share_bots"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_share_bots,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_share_short_host"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_share_short_host,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_share_country"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_share_main_conf_t, country),
      NULL },

    { ngx_string("kanban_share_flush"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_share_main_conf_t, flush),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_share_module_ctx = {
    ngx_kanban_share_add_variables,        /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_kanban_share_create_main_conf,     /* create main configuration */
    ngx_kanban_share_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_share_create_loc_conf,      /* create location configuration */
    ngx_kanban_share_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_share_module = {
    NGX_MODULE_V1,
    &ngx_kanban_share_module_ctx,          /* module context */
    ngx_kanban_share_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_share_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_kanban_share_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                allow = ngx_string("GET, HEAD, POST");
    ngx_kanban_share_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_kanban_share_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_kanban_share_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_kanban_add_header(r, "Allow", &allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_kanban_problem(r, NGX_KANBAN_ERR_METHOD, NULL);
    }

    ctx->tenant = ngx_kanban_tenant(r);
    ctx->elsewhere = (ctx->tenant == NULL);

    /* "/s/" and the code, nothing more; elsewhere "/" and the code too */
    if (ngx_kanban_share_uri_code(r, ctx->elsewhere, &ctx->code) != NGX_OK) {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_kanban_share_refuse(r, ctx, NGX_KANBAN_SHARE_NOT_FOUND);
    }

    if (r->method != NGX_HTTP_POST) {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = ngx_kanban_share_start(r, ctx);

        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_kanban_share_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* POST: the body is read; its password, then the link */

static void
ngx_kanban_share_body(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_kanban_share_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_share_module);

    rc = ngx_kanban_share_password_read(r, ctx);

    if (rc == NGX_DECLINED) {
        rc = ngx_kanban_problem(r, ctx->error, ctx->detail);

    } else if (rc == NGX_OK) {
        rc = ngx_kanban_share_start(r, ctx);

        if (rc == NGX_DONE) {
            return;
        }
    }

    ngx_http_finalize_request(r, rc);
}


/* the password checked in the thread pool: back to the try with this
 * request's ctx */

static void
ngx_kanban_share_verified(ngx_http_request_t *r, ngx_uint_t match)
{
    ngx_kanban_share_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_share_module);

    ngx_kanban_share_checked(r, ctx, match);
}


static ngx_int_t
ngx_kanban_share_start(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->tenant == NULL) {
        rc = ngx_kanban_share_code_workspace(r, ctx,
                                             ngx_kanban_share_found);
        if (rc == NGX_AGAIN) {
            return NGX_DONE;
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ctx->tenant == NULL) {
            return ngx_kanban_share_refuse(r, ctx,
                                           NGX_KANBAN_SHARE_NOT_FOUND);
        }
    }

    rc = ngx_kanban_share_resolve(r, ctx->tenant, &ctx->code, &ctx->link,
                                  ngx_kanban_share_resolved);

    if (rc == NGX_AGAIN) {
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_share_visit_or_refuse(r, ctx);
}


/* elsewhere: the code's workspace is known (or none has it) */

static void
ngx_kanban_share_found(ngx_http_request_t *r, ngx_kanban_tenant_t *tenant)
{
    ngx_int_t                rc;
    ngx_kanban_share_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_share_module);

    if (ctx->link.state == NGX_KANBAN_SHARE_UNAVAILABLE) {
        rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE, NULL);

    } else if (tenant == NULL) {
        rc = ngx_kanban_share_refuse(r, ctx, NGX_KANBAN_SHARE_NOT_FOUND);

    } else {
        rc = ngx_kanban_share_start(r, ctx);

        if (rc == NGX_DONE) {
            return;
        }
    }

    ngx_http_finalize_request(r, rc);
}


static void
ngx_kanban_share_resolved(ngx_http_request_t *r, ngx_kanban_share_link_t *link)
{
    ngx_int_t                rc;
    ngx_kanban_share_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_share_module);

    rc = ngx_kanban_share_visit_or_refuse(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_kanban_share_visit_or_refuse(ngx_http_request_t *r,
    ngx_kanban_share_ctx_t *ctx)
{
    ngx_uint_t              verdict;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (ctx->link.state == NGX_KANBAN_SHARE_UNAVAILABLE) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE, NULL);
    }

    if (ctx->elsewhere && ctx->link.state != NGX_KANBAN_SHARE_UNKNOWN
        && ctx->link.target != NGX_KANBAN_SHARE_TARGET_URL)
    {
        /* its page is read on the workspace's host, on a grant of that
         * host: the visit, its password and its count are had there */
        return ngx_kanban_share_onward(r, ctx);
    }

    if (r->method == NGX_HTTP_POST) {
        return ngx_kanban_share_unlock(r, ctx, ngx_kanban_share_verified);
    }

    verdict = ngx_kanban_share_judge(r, &ctx->link, &ctx->code, 0);

    if (verdict != NGX_KANBAN_SHARE_OPEN) {
        return ngx_kanban_share_refuse(r, ctx, verdict);
    }

    /* HEAD (link checkers, mail scanners) is not a visit: nothing is
     * counted or recorded, and a link that counts its visits shows no
     * target to it */
    if (r->method == NGX_HTTP_HEAD) {
        return ctx->link.max_visits ? ngx_kanban_share_preview(r, ctx)
                                    : ngx_kanban_share_redirect(r, ctx, 0);
    }

    /* a chat app's preview of a task or a project: its title and
     * description (ngx_kanban_share_unfurl.c), not the app's page */
    if ((ctx->link.target == NGX_KANBAN_SHARE_TARGET_TASK
         || ctx->link.target == NGX_KANBAN_SHARE_TARGET_PROJECT)
        && ngx_kanban_share_is_bot(r)
        && !ngx_kanban_share_runs_scripts(r))
    {
        return ngx_kanban_share_unfurl(r, ctx);
    }

    if (ctx->link.max_visits == 0) {
        return ngx_kanban_share_redirect(r, ctx, 0);
    }

    if (ngx_kanban_share_is_bot(r)) {
        return ngx_kanban_share_preview(r, ctx);
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_take_stmt,
                             ngx_kanban_share_taken, 1, &ctx->link.id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* A visit of a link with max_visits: PostgreSQL counted it, or it was
 * the one too many (or revoked or expired meanwhile). */

static void
ngx_kanban_share_taken(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t               *visits;
    ngx_kanban_share_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_share_module);

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) == 0) {
        ngx_kanban_share_forget(&ctx->tenant->slug, &ctx->code);
        ngx_http_finalize_request(r,
            ngx_kanban_share_refuse(r, ctx, NGX_KANBAN_SHARE_EXPIRED));
        return;
    }

    /* the last visit: the cache must not keep the link open to reads
     * without a grant (/api/v1/shared) */
    visits = ngx_kanban_pg_value(r, q->result, 0, 0);

    if (visits == NULL
        || ngx_atoi(visits->data, visits->len)
           >= (ngx_int_t) ctx->link.max_visits)
    {
        ngx_kanban_share_forget(&ctx->tenant->slug, &ctx->code);
    }

    ngx_http_finalize_request(r, ngx_kanban_share_redirect(r, ctx, 1));
}


static ngx_int_t
ngx_kanban_share_redirect(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx,
    ngx_uint_t counted)
{
    ngx_int_t                  rc;
    ngx_str_t                  target;
    ngx_str_t                  no_store = ngx_string("private, no-store");
    ngx_kanban_share_choice_t  choice;

    /* a link's rules pick its target (ngx_kanban_share_rules_match.c) */
    if (ngx_kanban_share_choose(r, &ctx->link, &choice) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->link.target == NGX_KANBAN_SHARE_TARGET_URL) {
        target = choice.destination;

    } else {
        /* the shared page reads the link on this grant, even used up */
        if (ngx_kanban_share_grant(r, &ctx->link, &ctx->code) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        target.data = ngx_pnalloc(r->pool, sizeof("/shared/") + ctx->code.len);
        if (target.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        target.len = ngx_sprintf(target.data, "/shared/%V", &ctx->code)
                     - target.data;
        choice.destination = target;
    }

    if (r->method != NGX_HTTP_HEAD
        && ngx_kanban_share_visit(r, ctx->tenant, &ctx->link, &choice,
                                  counted)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: a visit of share link %V not recorded",
                      &ctx->link.id);
    }

    if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK
        || ngx_kanban_share_location(r, &target) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_MOVED_TEMPORARILY;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/* A crawler (a chat's link preview) at a link that counts its visits:
 * a page without the target, so that it neither uses the link up for
 * the person it was sent to nor gets past the limit by its name. */

static ngx_int_t
ngx_kanban_share_preview(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx)
{
    ngx_str_t  no_store = ngx_string("private, no-store");

    if (r->method != NGX_HTTP_HEAD
        && ngx_kanban_share_visit(r, ctx->tenant, &ctx->link, NULL, 0)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: a visit of share link %V not recorded",
                      &ctx->link.id);
    }

    if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_share_page(r, NGX_HTTP_OK, "A link shared with you",
                                 "Open it in a browser to see what it "
                                 "leads to; it opens a limited number of "
                                 "times.", NULL, 0);
}


static char *
ngx_kanban_share(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_share_loc_conf_t  *slcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    slcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_kanban_share_handler;

    return NGX_CONF_OK;
}


/* kanban_share_cache zone=name:size [ttl=time] */

static char *
ngx_kanban_share_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_share_main_conf_t  *smcf = conf;

    return ngx_kanban_cache_conf(cf, &ngx_http_kanban_share_module,
                                 &smcf->zone, &smcf->ttl);
}


static void *
ngx_kanban_share_create_main_conf(ngx_conf_t *cf)
{
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_share_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    smcf->ttl = NGX_CONF_UNSET_MSEC;
    smcf->flush = NGX_CONF_UNSET_MSEC;

    return smcf;
}


static char *
ngx_kanban_share_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_share_main_conf_t  *smcf = conf;

    ngx_conf_init_msec_value(smcf->ttl, 10000);
    ngx_conf_init_msec_value(smcf->flush, 1000);

    if (smcf->flush == 0) {
        return "kanban_share_flush must be more than 0";
    }

    return NGX_CONF_OK;
}


static void *
ngx_kanban_share_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_share_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_share_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    slcf->enable = NGX_CONF_UNSET;

    return slcf;
}


static char *
ngx_kanban_share_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_share_init_process(ngx_cycle_t *cycle)
{
    return ngx_kanban_share_visits_init_process(cycle);
}


/* A task's or a project's link reached elsewhere: on to the same code on
 * its workspace's host, counted nowhere yet. */

static ngx_int_t
ngx_kanban_share_onward(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx)
{
    u_char     path[sizeof("/s/") + NGX_KANBAN_SHARE_CODE_MAX], *p;
    ngx_int_t  rc;
    ngx_str_t  url, no_store = ngx_string("private, no-store");

    p = ngx_sprintf(path, "/s/%V", &ctx->code);
    *p = '\0';

    if (ngx_kanban_tenant_origin(r->pool, &ctx->tenant->slug, (char *) path,
                                 &url)
        != NGX_OK
        || ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK
        || ngx_kanban_share_location(r, &url) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_MOVED_TEMPORARILY;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_kanban_share_add_variables(ngx_conf_t *cf)
{
    ngx_str_t             name = ngx_string("kanban_share_base");
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_kanban_share_base_variable;

    return NGX_OK;
}
