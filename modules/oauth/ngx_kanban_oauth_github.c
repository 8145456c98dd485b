
/*
 * GitHub: who the access token belongs to (GET /user: the numeric id is
 * the subject, since a login can be renamed) and their primary email, if
 * GitHub has verified it (GET /user/emails). GitHub Enterprise Server is
 * a provider whose issuer is its URL; its API is under /api/v3.
 */

/* SQL: none of its own */
#include "ngx_kanban_oauth.h"


typedef struct {
    ngx_http_request_t        *request;
    ngx_kanban_oauth_t        *oa;
    ngx_kanban_oauth_done_pt   done;
    ngx_str_t                  api;
} ngx_kanban_oauth_github_t;


static ngx_int_t ngx_kanban_oauth_github_get(ngx_kanban_oauth_github_t *gh,
    char *path, ngx_kanban_http_handler_pt handler);
static void ngx_kanban_oauth_github_user(ngx_kanban_http_req_t *hr);
static void ngx_kanban_oauth_github_emails(ngx_kanban_http_req_t *hr);


ngx_int_t
ngx_kanban_oauth_github_identify(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, ngx_kanban_oauth_done_pt done)
{
    ngx_kanban_oauth_github_t  *gh;

    gh = ngx_pcalloc(r->pool, sizeof(ngx_kanban_oauth_github_t));
    if (gh == NULL) {
        return NGX_ERROR;
    }

    gh->request = r;
    gh->oa = oa;
    gh->done = done;

    if (oa->issuer.len) {
        gh->api.len = oa->issuer.len + sizeof("/api/v3") - 1;
        gh->api.data = ngx_pnalloc(r->pool, gh->api.len);
        if (gh->api.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(gh->api.data, "%V/api/v3", &oa->issuer);

    } else {
        ngx_str_set(&gh->api, "https://api.github.com");
    }

    if (ngx_kanban_oauth_github_get(gh, "/user",
                                    ngx_kanban_oauth_github_user)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_kanban_oauth_github_get(ngx_kanban_oauth_github_t *gh, char *path,
    ngx_kanban_http_handler_pt handler)
{
    size_t                  len;
    ngx_str_t               url, auth;
    ngx_http_request_t     *r;
    ngx_kanban_http_req_t  *hr;

    r = gh->request;
    len = ngx_strlen(path);

    url.len = gh->api.len + len;
    url.data = ngx_pnalloc(r->pool, url.len);
    auth.len = sizeof("Bearer ") - 1 + gh->oa->access_token.len;
    auth.data = ngx_pnalloc(r->pool, auth.len);

    if (url.data == NULL || auth.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(url.data, gh->api.data, gh->api.len), path, len);
    ngx_sprintf(auth.data, "Bearer %V", &gh->oa->access_token);

    hr = ngx_kanban_oauth_http(r, "GET", &url, handler, gh);
    if (hr == NULL
        || ngx_kanban_http_header(hr, "Authorization", &auth) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_kanban_http_send(hr);
}


static void
ngx_kanban_oauth_github_user(ngx_kanban_http_req_t *hr)
{
    char                       *error;
    ngx_str_t                  *name;
    ngx_kanban_json_t          *user, *id;
    ngx_kanban_oauth_github_t  *gh;

    gh = hr->data;

    user = ngx_kanban_oauth_http_json(hr, NGX_KANBAN_JSON_OBJECT, &error);
    if (user == NULL) {
        gh->done(gh->request, gh->oa, error);
        return;
    }

    id = ngx_kanban_json_get(user, "id");
    if (id == NULL || id->type != NGX_KANBAN_JSON_NUMBER || !id->integer
        || id->value.len == 0 || id->value.len > 20)
    {
        gh->done(gh->request, gh->oa, "provider_error");
        return;
    }

    gh->oa->subject = id->value;

    name = ngx_kanban_json_string(user, "name");
    if (name == NULL || name->len == 0) {
        name = ngx_kanban_json_string(user, "login");
    }

    if (name) {
        gh->oa->name = *name;
    }

    if (ngx_kanban_oauth_github_get(gh, "/user/emails",
                                    ngx_kanban_oauth_github_emails)
        != NGX_OK)
    {
        gh->done(gh->request, gh->oa, "temporarily_unavailable");
    }
}


static void
ngx_kanban_oauth_github_emails(ngx_kanban_http_req_t *hr)
{
    char                       *error;
    ngx_str_t                  *email;
    ngx_kanban_json_t          *list, *e, *primary, *verified;
    ngx_kanban_oauth_github_t  *gh;

    gh = hr->data;

    list = ngx_kanban_oauth_http_json(hr, NGX_KANBAN_JSON_ARRAY, &error);
    if (list == NULL) {
        gh->done(gh->request, gh->oa, error);
        return;
    }

    for (e = list->first; e; e = e->next) {
        if (e->type != NGX_KANBAN_JSON_OBJECT) {
            continue;
        }

        primary = ngx_kanban_json_get(e, "primary");
        verified = ngx_kanban_json_get(e, "verified");
        email = ngx_kanban_json_string(e, "email");

        if (primary == NULL || primary->type != NGX_KANBAN_JSON_BOOL
            || !primary->boolean || email == NULL
            || email->len < 3 || email->len > 254)
        {
            continue;
        }

        gh->oa->email = *email;
        gh->oa->email_verified = verified
                                 && verified->type == NGX_KANBAN_JSON_BOOL
                                 && verified->boolean;
        break;
    }

    gh->done(gh->request, gh->oa, NULL);
}
