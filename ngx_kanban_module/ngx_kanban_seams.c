
/*
 * The seams: what the API phase asks of the modules without knowing them.
 * Which workspace a request is for, who calls, and whether a request is
 * answered before routing (another origin's preflight): the module that
 * knows registers its answer at configuration time, as nginx's own
 * modules add phase handlers, and the core calls what was registered.
 *
 * Who calls is one seam with two sides: a verifier that reads the
 * request's credentials (the JWT module) and kinds of bearer token kept
 * in storage that it looks up when a request presents one (API tokens,
 * "kbt_..."), so that neither side knows the other.
 */

#include "ngx_kanban.h"


typedef struct {
    ngx_str_t                  prefix;
    ngx_kanban_token_lookup_pt lookup;
} ngx_kanban_token_kind_t;


static ngx_kanban_main_conf_t *ngx_kanban_seams_conf(ngx_conf_t *cf);
static void *ngx_kanban_seams_push(ngx_conf_t *cf, ngx_array_t **a,
    size_t size);


ngx_int_t
ngx_kanban_tenant_seam(ngx_conf_t *cf, ngx_kanban_tenant_pt resolve)
{
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_seams_conf(cf);

    if (kmcf->tenant_of) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kanban: two modules resolve the workspace");
        return NGX_ERROR;
    }

    kmcf->tenant_of = resolve;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_identity_seam(ngx_conf_t *cf, ngx_kanban_identity_pt identify)
{
    ngx_kanban_identity_pt  *p;

    p = ngx_kanban_seams_push(cf, &ngx_kanban_seams_conf(cf)->identify,
                              sizeof(ngx_kanban_identity_pt));
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = identify;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_token_seam(ngx_conf_t *cf, char *prefix,
    ngx_kanban_token_lookup_pt lookup)
{
    ngx_kanban_token_kind_t  *kind;

    kind = ngx_kanban_seams_push(cf, &ngx_kanban_seams_conf(cf)->token_kinds,
                                 sizeof(ngx_kanban_token_kind_t));
    if (kind == NULL) {
        return NGX_ERROR;
    }

    kind->prefix.data = (u_char *) prefix;
    kind->prefix.len = ngx_strlen(prefix);
    kind->lookup = lookup;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_preroute_seam(ngx_conf_t *cf, ngx_kanban_preroute_pt handler)
{
    ngx_kanban_preroute_pt  *p;

    p = ngx_kanban_seams_push(cf, &ngx_kanban_seams_conf(cf)->preroute,
                              sizeof(ngx_kanban_preroute_pt));
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = handler;

    return NGX_OK;
}


ngx_int_t
ngx_kanban_committed_seam(ngx_conf_t *cf, ngx_kanban_committed_pt handler)
{
    ngx_kanban_committed_pt  *p;

    p = ngx_kanban_seams_push(cf, &ngx_kanban_seams_conf(cf)->committed,
                              sizeof(ngx_kanban_committed_pt));
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = handler;

    return NGX_OK;
}


/* The request's workspace, NULL on the platform's host (or when no module
 * resolves workspaces). */

ngx_kanban_tenant_t *
ngx_kanban_tenant(ngx_http_request_t *r)
{
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_module);

    return kmcf->tenant_of ? kmcf->tenant_of(r) : NULL;
}


/* Who calls: the first verifier that knows, or NULL. */

ngx_kanban_identity_t *
ngx_kanban_identity(ngx_http_request_t *r)
{
    ngx_uint_t               i;
    ngx_kanban_identity_t   *id;
    ngx_kanban_identity_pt  *identify;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_module);

    if (kmcf->identify == NULL) {
        return NULL;
    }

    identify = kmcf->identify->elts;

    for (i = 0; i < kmcf->identify->nelts; i++) {
        id = identify[i](r);
        if (id) {
            return id;
        }
    }

    return NULL;
}


/* The lookup of a stored kind of bearer token, by its prefix; NULL: none
 * (a token to verify by itself, a JWT). */

ngx_kanban_token_lookup_pt
ngx_kanban_token_kind(ngx_http_request_t *r, ngx_str_t *token)
{
    ngx_uint_t                i;
    ngx_kanban_main_conf_t   *kmcf;
    ngx_kanban_token_kind_t  *kind;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_module);

    if (kmcf->token_kinds == NULL) {
        return NULL;
    }

    kind = kmcf->token_kinds->elts;

    for (i = 0; i < kmcf->token_kinds->nelts; i++) {
        if (token->len > kind[i].prefix.len
            && ngx_strncmp(token->data, kind[i].prefix.data,
                           kind[i].prefix.len) == 0)
        {
            return kind[i].lookup;
        }
    }

    return NULL;
}


/* Before routing: each registered handler in turn; NGX_DECLINED goes on,
 * anything else is the request's answer (NGX_DONE: it resumes later). */

ngx_int_t
ngx_kanban_preroute(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t                rc;
    ngx_uint_t               i;
    ngx_kanban_preroute_pt  *handler;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_module);

    if (kmcf->preroute == NULL) {
        return NGX_DECLINED;
    }

    handler = kmcf->preroute->elts;

    for (i = 0; i < kmcf->preroute->nelts; i++) {
        rc = handler[i](r, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return NGX_DECLINED;
}


static ngx_kanban_main_conf_t *
ngx_kanban_seams_conf(ngx_conf_t *cf)
{
    return ngx_http_conf_get_module_main_conf(cf, ngx_http_kanban_module);
}


static void *
ngx_kanban_seams_push(ngx_conf_t *cf, ngx_array_t **a, size_t size)
{
    if (*a == NULL) {
        *a = ngx_array_create(cf->pool, 2, size);
        if (*a == NULL) {
            return NULL;
        }
    }

    return ngx_array_push(*a);
}


/* After a write: each registered handler is told its event. */

void
ngx_kanban_committed(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    char *event)
{
    ngx_uint_t                i;
    ngx_kanban_committed_pt  *handler;
    ngx_kanban_main_conf_t   *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kanban_module);

    if (kmcf->committed == NULL) {
        return;
    }

    handler = kmcf->committed->elts;

    for (i = 0; i < kmcf->committed->nelts; i++) {
        handler[i](r, ctx, event);
    }
}
