
/*
 * Who may open an event stream: the request's admission (method,
 * workspace, caller, token in force), its arguments (?project_id=,
 * where to resume), its header, its joining the workspace's feed. What
 * it may read then is ngx_kanban_events_access.c.
 */

/* SQL: none of its own */
#include "ngx_kanban_events.h"
#include "ngx_kanban_json.h"


static ngx_int_t ngx_kanban_events_unauthorized(ngx_http_request_t *r,
    char *detail);


/* who may open a stream: a GET or HEAD of a signed-in contributor of an
 * existing workspace, with a token still in force; NULL with the refusal
 * sent and its status in *rc */
ngx_kanban_identity_t *
ngx_kanban_events_admit(ngx_http_request_t *r, ngx_kanban_tenant_t **tenant,
    ngx_int_t *rc)
{
    ngx_str_t               allow = ngx_string("GET, HEAD");
    ngx_kanban_identity_t  *id;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_kanban_add_header(r, "Allow", &allow) != NGX_OK) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NULL;
        }

        *rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_METHOD, NULL);
        return NULL;
    }

    *tenant = ngx_kanban_tenant(r);
    if (*tenant == NULL) {
        *rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
        return NULL;
    }

    id = ngx_kanban_identity(r);

    if (id == NULL) {
        *rc = ngx_kanban_events_unauthorized(r, "Sign in to do this.");
        return NULL;
    }

    if (id->scopes == 0 || id->level < NGX_KANBAN_ROLE_CONTRIBUTOR) {
        *rc = ngx_kanban_problem(r, NGX_KANBAN_ERR_FORBIDDEN, NULL);
        return NULL;
    }

    /* a token past its exp, which calls accept within the leeway, opens
     * no stream: the stream would end at once, and its client reconnect
     * with it again and again */
    if (id->expires && id->expires <= ngx_time()) {
        *rc = ngx_kanban_events_unauthorized(r,
                                             "The access token has expired.");
        return NULL;
    }

    return id;
}


static ngx_int_t
ngx_kanban_events_unauthorized(ngx_http_request_t *r, char *detail)
{
    ngx_str_t  challenge = ngx_string("Bearer realm=\"kanban\"");

    if (ngx_kanban_add_header(r, "WWW-Authenticate", &challenge) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAUTHORIZED, detail);
}


ngx_kanban_events_sub_t *
ngx_kanban_events_sub_create(ngx_http_request_t *r, ngx_kanban_identity_t *id,
    ngx_kanban_events_conf_t *conf)
{
    ngx_kanban_events_sub_t  *sub;

    sub = ngx_pcalloc(r->pool, sizeof(ngx_kanban_events_sub_t));
    if (sub == NULL) {
        return NULL;
    }

    ngx_kanban_sse_init(&sub->sse, r, conf);
    sub->sse.closed = ngx_kanban_events_closed;
    sub->user_id = id->user_id;
    sub->token_id = id->token_id;
    sub->admin = (id->level == NGX_KANBAN_ROLE_ADMIN);
    sub->last = -1;

    return sub;
}


/* the subscriber joins its workspace's feed and stays until the request
 * ends; NGX_OK, or NGX_ERROR when it could not join */
ngx_int_t
ngx_kanban_events_subscribe(ngx_http_request_t *r,
    ngx_kanban_events_sub_t *sub, ngx_kanban_tenant_t *tenant,
    ngx_kanban_identity_t *id)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_cleanup_t  *hcln;

    sub->feed = ngx_kanban_events_feed_get(tenant);
    if (sub->feed == NULL) {
        return NGX_ERROR;
    }

    /* out of the feed as soon as the request ends, however it ends; its
     * buffers given back only when nginx is done with them */
    hcln = ngx_http_cleanup_add(r, 0);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (hcln == NULL || cln == NULL) {
        ngx_kanban_events_feed_leave(sub);
        return NGX_ERROR;
    }

    hcln->handler = ngx_kanban_events_detach;
    hcln->data = sub;
    cln->handler = ngx_kanban_events_cleanup;
    cln->data = sub;

    ngx_http_set_ctx(r, sub, ngx_http_kanban_events_module);
    ngx_kanban_metrics_events(1, 0, 0);

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_kanban_events_write_handler;

    /* a token's stream ends when the token does (an API token's also
     * when it is revoked: ngx_kanban_events_revoked) */
    if (id->expires) {
        sub->expiry.handler = ngx_kanban_events_expired;
        sub->expiry.data = sub;
        sub->expiry.log = r->connection->log;

        ngx_add_timer(&sub->expiry,
                      id->expires > ngx_time()
                      ? (ngx_msec_t) (id->expires - ngx_time()) * 1000 : 1);
    }

    return NGX_OK;
}


/* ?project_id=, and where to resume: Last-Event-ID, else
 * ?last_event_id=. NULL, or what is wrong. */

char *
ngx_kanban_events_args(ngx_http_request_t *r, ngx_kanban_events_sub_t *sub,
    int64_t *after, ngx_uint_t *resume)
{
    ngx_str_t   arg;
    ngx_uint_t  i;

    if (ngx_http_arg(r, (u_char *) "project_id", 10, &arg) == NGX_OK) {
        if (!ngx_kanban_uuid_valid(&arg)) {
            return "project_id: a project's id.";
        }

        for (i = 0; i < NGX_KANBAN_EVENTS_UUID_LEN; i++) {
            sub->project[i] = ngx_tolower(arg.data[i]);
        }

        sub->has_project = 1;
    }

    return ngx_kanban_sse_last_event_id(r, after, resume);
}
