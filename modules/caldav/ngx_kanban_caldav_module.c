
/*
 * CalDAV for tasks (RFC 4791 on WebDAV, RFC 4918): the to-do apps of
 * phones and desktops sync a person's tasks both ways.
 *
 *   location /dav/ { kanban_caldav; }
 *
 * WebDAV's methods (PROPFIND, REPORT) are no routes of the API's router:
 * this content handler takes the location's requests itself. It answers
 * OPTIONS, bounds and screens the body (XML with a DOCTYPE, and so any
 * entity, is refused before it is parsed), and hands the request whole to
 * one statement, caldav_request (sql/tenant/090_caldav.sql), which
 * authenticates the caller (Basic: email and API token), reads the XML and
 * the iCalendar, changes the task through the same functions as PATCH
 * /tasks/{id} and its move, and says what to answer. A change's event goes
 * to the workspace's stream after it committed, as the API's do.
 */

/* SQL: sql/tenant/090_caldav.sql */
#include "ngx_kanban_routes.h"
#include "ngx_kanban_redis.h"


/* a PROPFIND, a REPORT of 2,000 hrefs or a to-do fits well within */
#define NGX_KANBAN_CALDAV_BODY_MAX  (256 * 1024)


static ngx_int_t ngx_kanban_caldav_handler(ngx_http_request_t *r);
static void ngx_kanban_caldav_body_ready(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_caldav_body(ngx_http_request_t *r,
    ngx_str_t *body, char **refused);
static ngx_int_t ngx_kanban_caldav_run(ngx_http_request_t *r,
    ngx_str_t *body);
static void ngx_kanban_caldav_answer(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_caldav_publish(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_kanban_caldav_options(ngx_http_request_t *r);
static ngx_int_t ngx_kanban_caldav_dav_header(ngx_http_request_t *r);
static ngx_uint_t ngx_kanban_caldav_has_dtd(ngx_str_t *body);
static char *ngx_kanban_caldav(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_kanban_caldav_commands[] = {

    { ngx_string("kanban_caldav"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_kanban_caldav,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_caldav_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};


ngx_module_t  ngx_http_kanban_caldav_module = {
    NGX_MODULE_V1,
    &ngx_kanban_caldav_module_ctx,
    ngx_kanban_caldav_commands,
    NGX_HTTP_MODULE,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};


static ngx_kanban_pg_stmt_t  ngx_kanban_caldav_request = ngx_kanban_pg_stmt(
    "caldav_request",
    "SELECT status, body, content_type, etag, activity, event, event_body"
    "  FROM caldav_request($1, $2, left($3, 16), left($4, 1000),"
    "                      left($5, 100), left($6, 100), $7, $8)");

/* What a change through CalDAV is to the rest of the module: a write on
 * the workspace's host, which wakes its sweeps (webhooks, mail, planner)
 * as the API's writes do. No router knows it. */
static ngx_kanban_route_t  ngx_kanban_caldav_write = {
    .method = NGX_HTTP_PUT,
    .pattern = "/dav/",
    .host = NGX_KANBAN_HOST_TENANT,
    .access = NGX_KANBAN_ACCESS_MEMBER,
    .name = ngx_string("PUT /dav/")
};

static ngx_str_t  ngx_kanban_caldav_allow =
    ngx_string("OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT");


static ngx_int_t
ngx_kanban_caldav_handler(ngx_http_request_t *r)
{
    ngx_int_t          rc;
    ngx_str_t          none = ngx_null_string;
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->tenant = ngx_kanban_tenant(r);

    if (ngx_kanban_caldav_dav_header(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_kanban_caldav_options(r);
    }

    if (ctx->tenant == NULL || ctx->tenant->admins_only) {
        /* no workspace here, or a deleted one: its admin downloads its
         * export in the app, no calendar syncs it */
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_kanban_problem(r, ctx->tenant
                                     ? NGX_KANBAN_ERR_TENANT_DELETED
                                     : NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_DELETE)) {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = ngx_kanban_caldav_run(r, &none);

        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;
    }

    if (r->method != NGX_HTTP_PUT && r->method != NGX_HTTP_PROPFIND
        && !(r->method == NGX_HTTP_UNKNOWN
             && r->method_name.len == 6
             && ngx_strncmp(r->method_name.data, "REPORT", 6) == 0))
    {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_kanban_add_header(r, "Allow", &ngx_kanban_caldav_allow)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_kanban_problem(r, NGX_KANBAN_ERR_METHOD, NULL);
    }

    if (r->headers_in.content_length_n > NGX_KANBAN_CALDAV_BODY_MAX) {
        rc = ngx_kanban_discard_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TOO_LARGE,
                                  "A CalDAV request's body is 256 KB at "
                                  "most.");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_kanban_caldav_body_ready);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_kanban_caldav_body_ready(ngx_http_request_t *r)
{
    char       *refused;
    ngx_int_t   rc;
    ngx_str_t   body;

    rc = ngx_kanban_caldav_body(r, &body, &refused);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, refused[0] == 'A'
                                  ? NGX_KANBAN_ERR_TOO_LARGE
                                  : NGX_KANBAN_ERR_BAD_REQUEST,
                               refused));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (r->method != NGX_HTTP_PUT && ngx_kanban_caldav_has_dtd(&body)) {
        /* no DTD, no entities: neither internal (expansion) nor
         * external (files, URLs) ever reach the parser */
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST,
                               "XML with a DOCTYPE is not accepted."));
        return;
    }

    rc = ngx_kanban_caldav_run(r, &body);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* The body in one run of memory, as client_body_buffer_size keeps it; one
 * that is not (a chunked body past its limit) is refused, never read back
 * from a file. NGX_DECLINED: refused, and why. */

static ngx_int_t
ngx_kanban_caldav_body(ngx_http_request_t *r, ngx_str_t *body,
    char **refused)
{
    u_char       *p;
    size_t        len;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            *refused = "A CalDAV request's body is 256 KB at most.";
            return NGX_DECLINED;
        }

        len += cl->buf->last - cl->buf->pos;
    }

    if (len > NGX_KANBAN_CALDAV_BODY_MAX) {
        *refused = "A CalDAV request's body is 256 KB at most.";
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->last != cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    body->len = p - body->data;

    /* PostgreSQL takes text: a NUL would end it early */
    if (ngx_strlchr(body->data, body->data + body->len, '\0') != NULL) {
        *refused = "The body has a NUL byte.";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_caldav_run(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_str_t              *method, *path, *depth, *auth, *match, *none_match;
    ngx_str_t              *req, *origin;
    ngx_kanban_ctx_t       *ctx;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    ctx = ngx_kanban_ctx(r);

    method = ngx_palloc(r->pool, sizeof(ngx_str_t));
    origin = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (method == NULL || origin == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD) {
        ngx_str_set(method, "GET");

    } else {
        *method = r->method_name;
    }

    if (ngx_kanban_tenant_origin(r->pool, &ctx->tenant->slug, "", origin)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    path = &r->uri;
    depth = ngx_kanban_header_in(r, "Depth");
    auth = ngx_kanban_header_in(r, "Authorization");
    match = ngx_kanban_header_in(r, "If-Match");
    none_match = ngx_kanban_header_in(r, "If-None-Match");
    req = body->len ? body : NULL;

    /* the preconditions are the statement's: nginx must not judge the
     * answer by them again */
    r->headers_in.if_match = NULL;
    r->headers_in.if_none_match = NULL;

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_pg_run(q, &ngx_kanban_caldav_request,
                          ngx_kanban_caldav_answer, 8, method, path, depth,
                          auth, match, none_match, req, origin)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->read_event_handler = ngx_http_test_reading;

    return NGX_DONE;
}


/* The statement's row: status, body, media type, ETag; an unauthenticated
 * caller is challenged for Basic (the email and an API token). */

static void
ngx_kanban_caldav_answer(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t          status;
    ngx_str_t         *st, *body, *type, *etag, none = ngx_null_string;
    ngx_str_t          challenge = ngx_string(
                           "Basic realm=\"kanban\"");
    ngx_str_t          json = ngx_string("application/json");
    ngx_kanban_ctx_t  *ctx;

    ctx = ngx_kanban_ctx(r);

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    st = ngx_kanban_pg_value(r, q->result, 0, 0);
    body = ngx_kanban_pg_value(r, q->result, 0, 1);
    type = ngx_kanban_pg_value(r, q->result, 0, 2);
    etag = ngx_kanban_pg_value(r, q->result, 0, 3);

    status = st ? ngx_atoi(st->data, st->len) : NGX_ERROR;

    if (status < 200 || status > 599) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (status == NGX_HTTP_UNAUTHORIZED
        && ngx_kanban_add_header(r, "WWW-Authenticate", &challenge)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the result is freed when this handler returns */
    if ((body && (body->data = ngx_pstrdup(r->pool, body)) == NULL)
        || (type && (type->data = ngx_pstrdup(r->pool, type)) == NULL)
        || (etag && (etag->data = ngx_pstrdup(r->pool, etag)) == NULL))
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (etag && ngx_kanban_add_header(r, "ETag", etag) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (status == 207) {
        /* nginx's table of reasons stops before it */
        ngx_str_set(&r->headers_out.status_line, "207 Multi-Status");
    }

    ngx_kanban_caldav_publish(r, ctx, q->result);

    ngx_http_finalize_request(r,
        ngx_kanban_send_text(r, status, type ? type : &json,
                             body ? body : &none));
}


/* A change's event on the workspace's channel, as the API's routes
 * publish theirs: {"id": its audit row, "type", "data": the task}. */

static void
ngx_kanban_caldav_publish(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    PGresult *res)
{
    u_char     *p;
    ngx_str_t  *activity, *event, *data, channel, message;

    activity = ngx_kanban_pg_value(r, res, 0, 4);
    event = ngx_kanban_pg_value(r, res, 0, 5);
    data = ngx_kanban_pg_value(r, res, 0, 6);

    if (activity == NULL || event == NULL || data == NULL) {
        return;
    }

    ctx->route = &ngx_kanban_caldav_write;

    p = ngx_pnalloc(r->pool, sizeof("{\"id\":,\"type\":\"\",\"data\":}")
                             + activity->len + event->len + data->len
                             + sizeof("kanban:events:")
                             + ctx->tenant->slug.len);
    if (p == NULL) {
        return;
    }

    message.data = p;
    p = ngx_sprintf(p, "{\"id\":%V,\"type\":\"%V\",\"data\":%V}",
                    activity, event, data);
    message.len = p - message.data;

    channel.data = p;
    p = ngx_sprintf(p, "kanban:events:%V", &ctx->tenant->slug);
    channel.len = p - channel.data;

    if (ngx_kanban_redis_command(NULL, NULL, "PUBLISH %b %b",
                                 channel.data, channel.len,
                                 message.data, message.len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kanban: event %V not published: Redis is away",
                      event);
    }
}


/* What the location does, asked before any credentials (RFC 4791 5.1). */

static ngx_int_t
ngx_kanban_caldav_options(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  none = ngx_null_string, type = ngx_string("text/plain");

    rc = ngx_kanban_discard_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_kanban_add_header(r, "Allow", &ngx_kanban_caldav_allow)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_text(r, NGX_HTTP_OK, &type, &none);
}


static ngx_int_t
ngx_kanban_caldav_dav_header(ngx_http_request_t *r)
{
    ngx_str_t  dav = ngx_string("1, 3, calendar-access");

    return ngx_kanban_add_header(r, "DAV", &dav);
}


/* "<!DOCTYPE" or "<!ENTITY" anywhere, in any case. */

static ngx_uint_t
ngx_kanban_caldav_has_dtd(ngx_str_t *body)
{
    u_char  *p, *end;

    end = body->data + body->len;

    for (p = body->data; p + 9 <= end; p++) {
        if (p[0] == '<' && p[1] == '!'
            && (ngx_strncasecmp(p + 2, (u_char *) "DOCTYPE", 7) == 0
                || ngx_strncasecmp(p + 2, (u_char *) "ENTITY", 6) == 0))
        {
            return 1;
        }
    }

    return 0;
}


static char *
ngx_kanban_caldav(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_kanban_caldav_handler;

    return NGX_CONF_OK;
}
