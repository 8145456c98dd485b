
/*
 * A workspace in its deletion's grace period (catalog status 'deleting')
 * answers 410 tenant_deleted to everything but what its admin needs to
 * take the data away: signing in (with a second factor, a refresh, a
 * sign-out, who am I), the list of projects and each project's export,
 * and the workspace's full export (asked for, followed, downloaded).
 * Those are served to its admins only (the API phase refuses anyone
 * else, ngx_kanban_tenant_t's admins_only); nothing here writes to the
 * workspace but the sessions of the sign-in.
 */

/* SQL: none of its own */
#include "ngx_kanban.h"
#include "ngx_kanban_json.h"
#include "ngx_kanban_tenant_module.h"


typedef struct {
    ngx_uint_t   method;
    char        *path;
} ngx_kanban_tenant_grace_path_t;


static ngx_kanban_tenant_grace_path_t  ngx_kanban_tenant_grace_paths[] = {
    { NGX_HTTP_POST, "/api/v1/auth/login" },
    { NGX_HTTP_POST, "/api/v1/auth/login/mfa" },
    { NGX_HTTP_POST, "/api/v1/auth/refresh" },
    { NGX_HTTP_POST, "/api/v1/auth/logout" },
    { NGX_HTTP_GET,  "/api/v1/auth/me" },
    { NGX_HTTP_GET,  "/api/v1/projects" },
    { NGX_HTTP_POST, "/api/v1/workspace/export" },
    { NGX_HTTP_GET,  "/api/v1/workspace/exports" },
    { 0, NULL }
};


#define NGX_KANBAN_GRACE_PROJECTS  "/api/v1/projects/"
#define NGX_KANBAN_GRACE_EXPORTS   "/api/v1/workspace/exports/"
#define NGX_KANBAN_GRACE_EXPORT    "/export"


ngx_uint_t
ngx_kanban_tenant_grace_allows(ngx_http_request_t *r)
{
    size_t                           n, prefix, suffix;
    ngx_str_t                        id;
    ngx_kanban_tenant_grace_path_t  *p;

    for (p = ngx_kanban_tenant_grace_paths; p->path; p++) {
        n = ngx_strlen(p->path);

        if ((r->method & p->method) && r->uri.len == n
            && ngx_strncmp(r->uri.data, p->path, n) == 0)
        {
            return 1;
        }
    }

    /* GET /api/v1/workspace/exports/{id}[/download]: the router checks
     * the rest */
    prefix = sizeof(NGX_KANBAN_GRACE_EXPORTS) - 1;

    if ((r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) && r->uri.len > prefix
        && ngx_strncmp(r->uri.data, NGX_KANBAN_GRACE_EXPORTS, prefix) == 0)
    {
        return 1;
    }

    /* GET /api/v1/projects/{uuid}/export */
    prefix = sizeof(NGX_KANBAN_GRACE_PROJECTS) - 1;
    suffix = sizeof(NGX_KANBAN_GRACE_EXPORT) - 1;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        || r->uri.len <= prefix + suffix
        || ngx_strncmp(r->uri.data, NGX_KANBAN_GRACE_PROJECTS, prefix) != 0
        || ngx_strncmp(r->uri.data + r->uri.len - suffix,
                       NGX_KANBAN_GRACE_EXPORT, suffix) != 0)
    {
        return 0;
    }

    id.data = r->uri.data + prefix;
    id.len = r->uri.len - prefix - suffix;

    return ngx_kanban_uuid_valid(&id);
}
