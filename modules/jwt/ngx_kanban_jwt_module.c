
/*
 * ngx_http_kanban_jwt_module: bearer tokens checked in the ACCESS phase,
 * in front of kanban handlers or of a proxy_pass alike.
 *
 *   kanban_jwt on | off | optional;
 *
 * A valid token's claims become $jwt_sub, $jwt_role, $jwt_tid and
 * $jwt_claim_<name>; its tid must be the workspace the host resolved to.
 * Any fault gives the same 401 with WWW-Authenticate: Bearer
 * error="invalid_token"; the reason goes to the error log at info level.
 * A bearer token of a kind kept in storage (an API token, kbt_...: a kind
 * another module registers with the core's identity seam) is looked up
 * instead, without blocking: the phase waits for the answer. Who the
 * token says the caller is goes to the API phase through the same seam.
 * A JWT this worker verified already is not verified again: its claims
 * come from the worker's memo (ngx_kanban_jwt_memo.c) until its exp.
 */

/* SQL: none of its own */
#include "ngx_kanban_jwt.h"
#include "ngx_kanban_pg.h"
#include <openssl/rand.h>


#define NGX_KANBAN_JWT_OFF       0
#define NGX_KANBAN_JWT_ON        1
#define NGX_KANBAN_JWT_OPTIONAL  2


typedef struct {
    ngx_kanban_jwt_verifier_t  verifier;
    ngx_kanban_jwt_key_t      *signing;
    time_t                     ttl;
    time_t                     session_lifetime;   /* of a sign-in, at most */
} ngx_kanban_jwt_main_conf_t;


typedef struct {
    ngx_uint_t                 mode;
} ngx_kanban_jwt_loc_conf_t;


typedef struct {
    ngx_kanban_jwt_claims_t    claims;
    ngx_uint_t                 presented;      /* an Authorization header */
    ngx_uint_t                 valid;
    ngx_uint_t                 scopes;
    ngx_kanban_identity_t      identity;

    ngx_str_t                  api_token;      /* kbt_..., to look up */
    ngx_kanban_token_lookup_pt lookup_token;   /* its kind's lookup */
    ngx_uint_t                 lookup;         /* 1 asked, 2 answered */
    ngx_uint_t                 unavailable;
} ngx_kanban_jwt_ctx_t;


static ngx_kanban_jwt_ctx_t *ngx_kanban_jwt_authenticate(
    ngx_http_request_t *r);
static ngx_int_t ngx_kanban_jwt_handler(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_jwt_api_token(ngx_http_request_t *r,
    ngx_kanban_jwt_ctx_t *ctx);
static void ngx_kanban_jwt_api_token_found(ngx_http_request_t *r,
    ngx_kanban_identity_t *id, ngx_uint_t unavailable);
static ngx_kanban_identity_t *ngx_kanban_jwt_identity(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_jwt_reject(ngx_http_request_t *r,
    ngx_uint_t invalid);
static ngx_int_t ngx_kanban_jwt_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_kanban_jwt_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_kanban_jwks_handler(ngx_http_request_t *r);
static char *ngx_kanban_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_kanban_jwks(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static void *ngx_kanban_jwt_create_main_conf(ngx_conf_t *cf);
static char *ngx_kanban_jwt_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_kanban_jwt_create_loc_conf(ngx_conf_t *cf);
static char *ngx_kanban_jwt_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_kanban_jwt_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_kanban_jwt_init(ngx_conf_t *cf);
static void ngx_kanban_jwt_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_kanban_jwt_modes[] = {
    { ngx_string("off"), NGX_KANBAN_JWT_OFF },
    { ngx_string("on"), NGX_KANBAN_JWT_ON },
    { ngx_string("optional"), NGX_KANBAN_JWT_OPTIONAL },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_kanban_jwt_commands[] = {

    { ngx_string("kanban_jwt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_kanban_jwt_loc_conf_t, mode),
      &ngx_kanban_jwt_modes },

    { ngx_string("kanban_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_jwt_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      1,
      NULL },

    { ngx_string("kanban_jwt_verify_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_kanban_jwt_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kanban_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_jwt_main_conf_t, verifier.issuer),
      NULL },

    { ngx_string("kanban_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_jwt_main_conf_t, verifier.audience),
      NULL },

    { ngx_string("kanban_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_jwt_main_conf_t, verifier.leeway),
      NULL },

    { ngx_string("kanban_jwt_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_jwt_main_conf_t, ttl),
      NULL },

    { ngx_string("kanban_session_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_jwt_main_conf_t, session_lifetime),
      NULL },

    { ngx_string("kanban_jwks"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_kanban_jwks,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_jwt_module_ctx = {
    ngx_kanban_jwt_add_variables,          /* preconfiguration */
    ngx_kanban_jwt_init,                   /* postconfiguration */

    ngx_kanban_jwt_create_main_conf,       /* create main configuration */
    ngx_kanban_jwt_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_kanban_jwt_create_loc_conf,        /* create location configuration */
    ngx_kanban_jwt_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_jwt_module = {
    NGX_MODULE_V1,
    &ngx_kanban_jwt_module_ctx,            /* module context */
    ngx_kanban_jwt_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_kanban_jwt_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_kanban_jwt_vars[] = {

    { ngx_string("jwt_sub"), NULL, ngx_kanban_jwt_variable,
      offsetof(ngx_kanban_jwt_claims_t, sub), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("jwt_role"), NULL, ngx_kanban_jwt_variable,
      offsetof(ngx_kanban_jwt_claims_t, role), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("jwt_tid"), NULL, ngx_kanban_jwt_variable,
      offsetof(ngx_kanban_jwt_claims_t, tid), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("jwt_claim_"), NULL, ngx_kanban_jwt_claim_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


/* The claims of the request's valid token, or NULL. */

ngx_kanban_jwt_claims_t *
ngx_kanban_jwt_claims_of(ngx_http_request_t *r)
{
    ngx_kanban_jwt_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_jwt_module);

    return (ctx && ctx->valid) ? &ctx->claims : NULL;
}


/* How long a sign-in's refresh tokens may be renewed, from the sign-in
 * on, however often they are used (kanban_session_lifetime). */

time_t
ngx_kanban_jwt_session_lifetime(ngx_http_request_t *r)
{
    ngx_kanban_jwt_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_jwt_module);

    return jmcf->session_lifetime;
}


/* A new access token for a user of the request's workspace, signed with
 * kanban_jwt_key; teams is a JSON array as PostgreSQL wrote it. */

ngx_int_t
ngx_kanban_jwt_issue(ngx_http_request_t *r, ngx_str_t *user_id,
    ngx_str_t *role, ngx_str_t *teams, ngx_str_t *token, time_t *ttl)
{
    u_char                       jti[16];
    time_t                       now;
    ngx_str_t                    claims, id;
    ngx_kanban_jw_t              jw;
    ngx_kanban_tenant_t         *tenant;
    ngx_kanban_jwt_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_jwt_module);
    tenant = ngx_kanban_tenant(r);

    if (jmcf->signing == NULL || tenant == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: no kanban_jwt_key to sign tokens with");
        return NGX_ERROR;
    }

    if (RAND_bytes(jti, sizeof(jti)) != 1) {
        return NGX_ERROR;
    }

    id.data = ngx_pnalloc(r->pool, 2 * sizeof(jti));
    if (id.data == NULL) {
        return NGX_ERROR;
    }

    id.len = ngx_hex_dump(id.data, jti, sizeof(jti)) - id.data;

    now = ngx_time();
    *ttl = jmcf->ttl;

    if (ngx_kanban_jw_init(&jw, r->pool, 512) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "iss");
    ngx_kanban_jw_string(&jw, &jmcf->verifier.issuer);
    ngx_kanban_jw_key(&jw, "aud");
    ngx_kanban_jw_string(&jw, &jmcf->verifier.audience);
    ngx_kanban_jw_key(&jw, "sub");
    ngx_kanban_jw_string(&jw, user_id);
    ngx_kanban_jw_key(&jw, "tid");
    ngx_kanban_jw_string(&jw, &tenant->slug);
    ngx_kanban_jw_key(&jw, "role");
    ngx_kanban_jw_string(&jw, role);
    ngx_kanban_jw_key(&jw, "teams");
    ngx_kanban_jw_raw(&jw, teams);
    ngx_kanban_jw_key(&jw, "iat");
    ngx_kanban_jw_int(&jw, now);
    ngx_kanban_jw_key(&jw, "nbf");
    ngx_kanban_jw_int(&jw, now);
    ngx_kanban_jw_key(&jw, "exp");
    ngx_kanban_jw_int(&jw, now + jmcf->ttl);
    ngx_kanban_jw_key(&jw, "jti");
    ngx_kanban_jw_string(&jw, &id);
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &claims) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_kanban_jwt_sign(r->pool, jmcf->signing, &claims, token);
}


/* Verifies the request's bearer token once, whichever phase asks first
 * (the rate limiter keys on the subject before ACCESS); the verdict is
 * kept in the request's context. */

static ngx_kanban_jwt_ctx_t *
ngx_kanban_jwt_authenticate(ngx_http_request_t *r)
{
    char                        *why;
    ngx_str_t                    token;
    ngx_kanban_tenant_t         *tenant;
    ngx_kanban_jwt_ctx_t        *ctx;
    ngx_kanban_jwt_main_conf_t  *jmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_jwt_module);
    if (ctx) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_kanban_jwt_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_kanban_jwt_module);

    if (r->headers_in.authorization == NULL) {
        return ctx;
    }

    ctx->presented = 1;
    token = r->headers_in.authorization->value;

    if (token.len < 7
        || ngx_strncasecmp(token.data, (u_char *) "Bearer ", 7) != 0)
    {
        return ctx;
    }

    token.data += 7;
    token.len -= 7;

    while (token.len && token.data[0] == ' ') {
        token.data++;
        token.len--;
    }

    ctx->lookup_token = ngx_kanban_token_kind(r, &token);

    if (ctx->lookup_token) {
        /* looked up by the ACCESS handler, which may wait */
        ctx->api_token = token;
        return ctx;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_jwt_module);

    if (jmcf->verifier.keys->nelts == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: a bearer token came but no "
                      "\"kanban_jwt_key\" is set");
        return ctx;
    }

    if (ngx_kanban_jwt_memo_verify(r->pool, &jmcf->verifier, &token,
                                   &ctx->claims, &why)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kanban: bearer token rejected: %s", why);
        return ctx;
    }

    tenant = ngx_kanban_tenant(r);

    if (tenant && (ctx->claims.tid.len != tenant->slug.len
                   || ngx_strncmp(ctx->claims.tid.data, tenant->slug.data,
                                  tenant->slug.len) != 0))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kanban: bearer token of workspace \"%V\" used on "
                      "\"%V\"", &ctx->claims.tid, &tenant->slug);
        return ctx;
    }

    ctx->valid = 1;
    ctx->scopes = NGX_KANBAN_SCOPE_ALL;

    return ctx;
}


/* Who the verified token says the caller is, for the route table's roles
 * and the handlers' finer rules: this module's answer to the core's
 * identity seam (ngx_kanban_identity()). */

static ngx_kanban_identity_t *
ngx_kanban_jwt_identity(ngx_http_request_t *r)
{
    ngx_str_t                *role;
    ngx_kanban_jwt_ctx_t     *ctx;
    ngx_kanban_identity_t    *id;

    ctx = ngx_kanban_jwt_authenticate(r);

    if (ctx == NULL || !ctx->valid) {
        return NULL;
    }

    if (ctx->identity.user_id.len) {
        return &ctx->identity;
    }

    id = &ctx->identity;
    role = &ctx->claims.role;

    id->user_id = ctx->claims.sub;
    id->role = *role;
    id->teams = ctx->claims.teams;
    id->scopes = ctx->scopes;
    id->expires = ctx->claims.exp;

    if (ctx->api_token.len) {
        id->token_id = ctx->claims.jti;
    }

    if (role->len == 5 && ngx_strncmp(role->data, "admin", 5) == 0) {
        id->level = NGX_KANBAN_ROLE_ADMIN;

    } else if (role->len == 15
               && ngx_strncmp(role->data, "project_manager", 15) == 0)
    {
        id->level = NGX_KANBAN_ROLE_MANAGER;

    } else if (role->len == 11
               && ngx_strncmp(role->data, "contributor", 11) == 0)
    {
        id->level = NGX_KANBAN_ROLE_CONTRIBUTOR;

    } else {
        return NULL;            /* a token without a role of ours */
    }

    return id;
}


ngx_kanban_jwt_claims_t *
ngx_kanban_jwt_identify(ngx_http_request_t *r)
{
    ngx_kanban_jwt_ctx_t  *ctx;

    ctx = ngx_kanban_jwt_authenticate(r);

    return (ctx && ctx->valid) ? &ctx->claims : NULL;
}


static ngx_int_t
ngx_kanban_jwt_handler(ngx_http_request_t *r)
{
    ngx_kanban_jwt_ctx_t       *ctx;
    ngx_kanban_jwt_loc_conf_t  *jlcf;

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_kanban_jwt_module);

    if (jlcf->mode == NGX_KANBAN_JWT_OFF) {
        return NGX_DECLINED;
    }

    ctx = ngx_kanban_jwt_authenticate(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->api_token.len && ctx->lookup != 2) {
        return ngx_kanban_jwt_api_token(r, ctx);
    }

    if (ctx->unavailable) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE,
                               "Tokens cannot be checked right now."));
        return NGX_DONE;
    }

    if (ctx->valid) {
        return NGX_OK;
    }

    if (!ctx->presented && jlcf->mode == NGX_KANBAN_JWT_OPTIONAL) {
        return NGX_DECLINED;
    }

    return ngx_kanban_jwt_reject(r, ctx->presented);
}


/* The lookup of an API token suspends the phase; the answer resumes it. */

static ngx_int_t
ngx_kanban_jwt_api_token(ngx_http_request_t *r, ngx_kanban_jwt_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->lookup == 1) {
        return NGX_DONE;            /* woken before the answer came */
    }

    rc = ctx->lookup_token(r, &ctx->api_token,
                           ngx_kanban_jwt_api_token_found);

    if (rc == NGX_DECLINED) {
        return ngx_kanban_jwt_reject(r, 1);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->lookup = 1;

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


static void
ngx_kanban_jwt_api_token_found(ngx_http_request_t *r,
    ngx_kanban_identity_t *id, ngx_uint_t unavailable)
{
    ngx_kanban_tenant_t   *tenant;
    ngx_kanban_jwt_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kanban_jwt_module);
    tenant = ngx_kanban_tenant(r);

    ctx->lookup = 2;
    ctx->unavailable = unavailable;

    if (id && tenant) {
        ctx->claims.sub = id->user_id;
        ctx->claims.role = id->role;
        ctx->claims.tid = tenant->slug;
        ctx->claims.teams = id->teams;
        ctx->scopes = id->scopes;

        /* the token's id as the jti: an event stream follows its revoke */
        ctx->claims.jti = id->token_id;
        ctx->claims.exp = id->expires;

        ctx->valid = 1;
    }

    if (!ctx->valid && !unavailable) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kanban: unknown, revoked or expired API token");
    }

    r->main->count--;
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


/* The 401 is sent from here; the phase engine is told it is done. */

static ngx_int_t
ngx_kanban_jwt_reject(ngx_http_request_t *r, ngx_uint_t invalid)
{
    ngx_int_t  rc;
    ngx_str_t  challenge;

    if (invalid) {
        ngx_str_set(&challenge, "Bearer error=\"invalid_token\"");

    } else {
        ngx_str_set(&challenge, "Bearer realm=\"kanban\"");
    }

    rc = ngx_kanban_discard_body(r);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    if (ngx_kanban_add_header(r, "WWW-Authenticate", &challenge) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED,
                            invalid ? "The bearer token is not valid."
                                    : "This needs a bearer token.");

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
ngx_kanban_jwt_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t                *s;
    ngx_kanban_jwt_claims_t  *claims;

    claims = ngx_kanban_jwt_claims_of(r);

    if (claims == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((u_char *) claims + data);

    if (s->data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = s->data;
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* $jwt_claim_<name>: a string or number claim as it is, anything else
 * not found. */

static ngx_int_t
ngx_kanban_jwt_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *name;
    ngx_str_t                *var = (ngx_str_t *) data;
    ngx_kanban_json_t        *m;
    ngx_kanban_jwt_claims_t  *claims;

    claims = ngx_kanban_jwt_claims_of(r);
    v->not_found = 1;

    if (claims == NULL || var->len <= sizeof("jwt_claim_") - 1) {
        return NGX_OK;
    }

    name = ngx_pnalloc(r->pool, var->len - (sizeof("jwt_claim_") - 1) + 1);
    if (name == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(name, var->data + sizeof("jwt_claim_") - 1,
                var->len - (sizeof("jwt_claim_") - 1) + 1);

    m = ngx_kanban_json_get(claims->claims, (char *) name);

    if (m && (m->type == NGX_KANBAN_JSON_STRING
              || m->type == NGX_KANBAN_JSON_NUMBER))
    {
        v->data = m->value.data;
        v->len = m->value.len;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_jwks_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    body, cache = ngx_string("public, max-age=300");
    ngx_kanban_jwt_main_conf_t  *jmcf;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_jwt_module);

    if (ngx_kanban_jwt_jwks(r->pool, jmcf->verifier.keys, &body) != NGX_OK
        || ngx_kanban_add_header(r, "Cache-Control", &cache) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_json(r, NGX_HTTP_OK, &body);
}


static char *
ngx_kanban_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_jwt_main_conf_t  *jmcf = conf;

    ngx_str_t             *value;
    ngx_kanban_jwt_key_t  *key;

    value = cf->args->elts;

    if (cmd->offset && jmcf->signing) {
        return "is duplicate";
    }

    key = ngx_array_push(jmcf->verifier.keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_kanban_jwt_key_load(cf, &value[1], key) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (cmd->offset) {
        if (!key->can_sign) {
            return "needs a private key or a secret to sign with";
        }

        /* the array may move as keys are added: remember the index */
        jmcf->signing = (ngx_kanban_jwt_key_t *) (uintptr_t)
                        jmcf->verifier.keys->nelts;
    }

    return NGX_CONF_OK;
}


static char *
ngx_kanban_jwks(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_kanban_jwks_handler;

    return NGX_CONF_OK;
}


static void *
ngx_kanban_jwt_create_main_conf(ngx_conf_t *cf)
{
    ngx_kanban_jwt_main_conf_t  *jmcf;

    jmcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_jwt_main_conf_t));
    if (jmcf == NULL) {
        return NULL;
    }

    jmcf->verifier.keys = ngx_array_create(cf->pool, 2,
                                           sizeof(ngx_kanban_jwt_key_t));
    if (jmcf->verifier.keys == NULL) {
        return NULL;
    }

    jmcf->verifier.leeway = NGX_CONF_UNSET;
    jmcf->ttl = NGX_CONF_UNSET;
    jmcf->session_lifetime = NGX_CONF_UNSET;

    return jmcf;
}


static char *
ngx_kanban_jwt_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_jwt_main_conf_t  *jmcf = conf;

    ngx_uint_t             n;
    ngx_kanban_jwt_key_t  *keys;

    ngx_conf_init_value(jmcf->verifier.leeway, 30);
    ngx_conf_init_value(jmcf->ttl, 900);
    ngx_conf_init_value(jmcf->session_lifetime, 30 * 86400);

    if (jmcf->verifier.issuer.data == NULL) {
        ngx_str_set(&jmcf->verifier.issuer, "kanban");
    }

    if (jmcf->verifier.audience.data == NULL) {
        ngx_str_set(&jmcf->verifier.audience, "kanban-api");
    }

    if (jmcf->signing) {
        n = (ngx_uint_t) (uintptr_t) jmcf->signing;
        keys = jmcf->verifier.keys->elts;
        jmcf->signing = &keys[n - 1];
    }

    return NGX_CONF_OK;
}


static void *
ngx_kanban_jwt_create_loc_conf(ngx_conf_t *cf)
{
    ngx_kanban_jwt_loc_conf_t  *jlcf;

    jlcf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_jwt_loc_conf_t));
    if (jlcf == NULL) {
        return NULL;
    }

    jlcf->mode = NGX_CONF_UNSET_UINT;

    return jlcf;
}


static char *
ngx_kanban_jwt_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_kanban_jwt_loc_conf_t  *prev = parent;
    ngx_kanban_jwt_loc_conf_t  *conf = child;

    ngx_conf_merge_uint_value(conf->mode, prev->mode, NGX_KANBAN_JWT_OFF);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_kanban_jwt_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_kanban_jwt_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_jwt_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_kanban_jwt_handler;

    return ngx_kanban_identity_seam(cf, ngx_kanban_jwt_identity);
}


static void
ngx_kanban_jwt_exit_process(ngx_cycle_t *cycle)
{
    ngx_kanban_jwt_memo_clear();
}
