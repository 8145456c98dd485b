
/*
 * Routes that are one statement each (see ngx_kanban_sql_t): the request's
 * parts go in as parameters, PostgreSQL does the work (the change, its
 * audit row, the JSON of the answer) atomically, and its one row says what
 * to answer: (status, body) for success, (status, problem code, detail)
 * otherwise. No row is 404. Columns past the fourth (the audit row) are
 * for answers that are not JSON: the media type, then a file name that
 * makes it a download (Content-Disposition: attachment).
 */

#include "ngx_kanban_routes.h"
#include "ngx_kanban_redis.h"


#define NGX_KANBAN_SQL_MAX_LIMIT  200


static void ngx_kanban_sql_owner_found(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_sql_hashed(ngx_http_request_t *r, ngx_str_t *hash);
static ngx_int_t ngx_kanban_sql_run(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_str_t *hash);
static ngx_int_t ngx_kanban_sql_param(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, char *source, ngx_str_t *hash, ngx_str_t **value,
    ngx_array_t *errors);
static ngx_int_t ngx_kanban_sql_query(ngx_http_request_t *r, char *source,
    ngx_str_t **value, ngx_array_t *errors);
static ngx_uint_t ngx_kanban_sql_enum(ngx_str_t *value, char *values);
static ngx_int_t ngx_kanban_sql_version(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_str_t **value);
static ngx_int_t ngx_kanban_sql_etag(ngx_http_request_t *r,
    ngx_str_t *version);
static ngx_int_t ngx_kanban_sql_send(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q, ngx_int_t status, ngx_str_t *body);
static void ngx_kanban_sql_committed(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_sql_publish(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_str_t *activity, ngx_str_t *body);
static ngx_int_t ngx_kanban_sql_failed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_sql_variable(ngx_http_request_t *r, char *name,
    ngx_str_t **value);


ngx_int_t
ngx_kanban_sql_catalog_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ctx->catalog = 1;

    return ngx_kanban_sql_handler(r, ctx);
}


ngx_int_t
ngx_kanban_sql_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    char              **p;
    ngx_str_t          *password;
    ngx_kanban_sql_t   *sql;

    sql = ctx->route->data;

    for (p = sql->params; *p; p++) {
        if (ngx_strcmp(*p, "hash") != 0) {
            continue;
        }

        password = ngx_kanban_json_string(ctx->body, "password");
        if (password == NULL) {
            break;
        }

        if (ngx_kanban_password_hash(r, password, ngx_kanban_sql_hashed)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_DONE;
    }

    return ngx_kanban_sql_run(r, ctx, NULL);
}


/* The email of the person whose password the body sets, asked first
 * (see ngx_kanban_sql_owned_t). */

ngx_int_t
ngx_kanban_sql_owned_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t                rc;
    ngx_str_t               *v[3];
    ngx_uint_t               n;
    ngx_array_t             *errors;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_sql_owned_t  *sql;

    sql = ctx->route->data;

    if (ngx_kanban_json_string(ctx->body, "password") == NULL
        || ngx_kanban_json_string(ctx->body, "email") != NULL)
    {
        /* no password, or the email beside it was checked with the body */
        return ngx_kanban_sql_handler(r, ctx);
    }

    errors = ngx_array_create(r->pool, 1, sizeof(ngx_kanban_field_error_t));
    if (errors == NULL || ctx->tenant == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v[0] = v[1] = v[2] = NULL;

    for (n = 0; n < 3 && sql->owner_params[n]; n++) {
        rc = ngx_kanban_sql_param(r, ctx, sql->owner_params[n], NULL, &v[n],
                                  errors);

        if (rc == NGX_DECLINED) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, sql->owner, ngx_kanban_sql_owner_found, n,
                             v[0], v[1], v[2])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* No row (no such person, a spent invitation): the statement says so. */

static void
ngx_kanban_sql_owner_found(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t          *email, word;
    ngx_kanban_ctx_t   *ctx;

    ctx = ngx_kanban_ctx(r);

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    email = ngx_kanban_pg_value(r, q->result, 0, 0);

    if (email) {
        ngx_kanban_password_email_word(email, &word);

        if (ngx_kanban_password_words(
                ngx_kanban_json_string(ctx->body, "password"), &word, 1)
            != NGX_OK)
        {
            ngx_http_finalize_request(r,
                ngx_kanban_problem_field(r, "Some fields are not valid.",
                                         "password", "guessable",
                                         NGX_KANBAN_PASSWORD_GUESSABLE));
            return;
        }
    }

    if (ngx_kanban_password_hash(r, ngx_kanban_json_string(ctx->body,
                                                           "password"),
                                 ngx_kanban_sql_hashed)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_sql_hashed(ngx_http_request_t *r, ngx_str_t *hash)
{
    ngx_int_t  rc;

    if (hash->len == 0) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_kanban_sql_run(r, ngx_kanban_ctx(r), hash);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_kanban_sql_run(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_str_t *hash)
{
    ngx_int_t               rc;
    ngx_str_t              *v[NGX_KANBAN_PG_MAX_PARAMS];
    ngx_uint_t              n;
    ngx_array_t            *errors;
    ngx_kanban_sql_t       *sql;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    sql = ctx->route->data;

    errors = ngx_array_create(r->pool, 1, sizeof(ngx_kanban_field_error_t));
    if (errors == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (n = 0; sql->params[n]; n++) {
        rc = ngx_kanban_sql_param(r, ctx, sql->params[n], hash, &v[n],
                                  errors);

        if (rc == NGX_DECLINED) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
        }

        if (rc == NGX_ABORT) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST,
                                      "A query parameter or If-Match is "
                                      "malformed.");
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (errors->nelts) {
        return ngx_kanban_problem_errors(r, NGX_KANBAN_ERR_VALIDATION,
                                         "A query parameter is out of "
                                         "range.", errors);
    }

    for ( /* void */ ; n < NGX_KANBAN_PG_MAX_PARAMS; n++) {
        v[n] = NULL;
    }

    if (ctx->tenant && !ctx->catalog) {
        ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    } else {
        ngx_kanban_pg_catalog(&db);
    }

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (n = 0; sql->params[n]; n++) {
        if (ngx_strcmp(sql->params[n], "bytes") == 0) {
            q->binary |= (ngx_uint_t) 1 << n;
        }
    }

    rc = ngx_kanban_pg_run(q, &sql->stmt, ngx_kanban_sql_answer, n,
                           v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                           v[8], v[9], v[10], v[11], v[12], v[13], v[14],
                           v[15]);

    return rc == NGX_OK ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* NGX_OK with the value (NULL for SQL NULL); NGX_DECLINED for a path id
 * that cannot exist (404); else an error status */

static ngx_int_t
ngx_kanban_sql_param(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    char *source, ngx_str_t *hash, ngx_str_t **value, ngx_array_t *errors)
{
    ngx_str_t              *s;
    ngx_kanban_identity_t  *id;

    *value = NULL;
    id = ctx->identity;

    if (ngx_strcmp(source, "actor") == 0) {
        *value = id ? &id->user_id : NULL;
        return NGX_OK;
    }

    if (ngx_strcmp(source, "role") == 0) {
        *value = id ? &id->role : NULL;
        return NGX_OK;
    }

    if (ngx_strcmp(source, "tenant") == 0) {
        *value = ctx->tenant ? &ctx->tenant->slug : NULL;
        return NGX_OK;
    }

    if (ngx_strcmp(source, "body") == 0) {
        *value = ctx->raw_body.len ? &ctx->raw_body : NULL;
        return NGX_OK;
    }

    if (ngx_strcmp(source, "bytes") == 0) {
        *value = ctx->raw_body.len ? &ctx->raw_body : NULL;
        return NGX_OK;
    }

    if (ngx_strcmp(source, "addr") == 0) {
        *value = &r->connection->addr_text;
        return NGX_OK;
    }

    if (ngx_strncmp(source, "header:", 7) == 0) {
        *value = ngx_kanban_header_in(r, source + 7);
        return NGX_OK;
    }

    if (ngx_strcmp(source, "hash") == 0) {
        *value = hash;
        return NGX_OK;
    }

    if (ngx_strcmp(source, "tenant_url") == 0) {
        s = ngx_palloc(r->pool, sizeof(ngx_str_t));
        if (s == NULL || ctx->tenant == NULL
            || ngx_kanban_tenant_origin(r->pool, &ctx->tenant->slug, "", s)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *value = s;
        return NGX_OK;
    }

    if (ngx_strncmp(source, "var:", 4) == 0) {
        /* a variable of a module's own, such as a URL it decides */
        return ngx_kanban_sql_variable(r, source + 4, value);
    }

    if (ngx_strcmp(source, "accept") == 0) {
        *value = ngx_kanban_header_in(r, "Accept");
        return NGX_OK;
    }

    if (ngx_strcmp(source, "version") == 0) {
        return ngx_kanban_sql_version(r, ctx, value);
    }

    if (ngx_strncmp(source, "arg:", 4) == 0
        || ngx_strncmp(source, "uuid:", 5) == 0)
    {
        s = ngx_kanban_arg(ctx, ngx_strchr(source, ':') + 1);

        if (s && source[0] == 'u' && !ngx_kanban_uuid_valid(s)) {
            /* no such id can exist: PostgreSQL need not say so */
            return NGX_DECLINED;
        }

        *value = s;
        return NGX_OK;
    }

    if (ngx_strncmp(source, "query", 5) == 0) {
        return ngx_kanban_sql_query(r, source, value, errors);
    }

    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                  "kanban: unknown parameter source \"%s\"", source);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* "query:NAME" as sent, decoded; "query_int:NAME" a whole number,
 * "query_uuid:NAME" a UUID, "query_date:NAME" a date, or the request is
 * malformed (NGX_ABORT). "query_limit:NAME" a page size, 1 to
 * NGX_KANBAN_SQL_MAX_LIMIT, and "query_enum:NAME=a|b|c" one of those
 * values, or an error in errors (422, as a body's field). */

static ngx_int_t
ngx_kanban_sql_query(ngx_http_request_t *r, char *source, ngx_str_t **value,
    ngx_array_t *errors)
{
    char       *values;
    u_char     *dst, *src;
    ngx_int_t   n;
    ngx_str_t   name, arg, *s;

    name.data = (u_char *) ngx_strchr(source, ':') + 1;
    values = ngx_strchr(name.data, '=');
    name.len = values ? (size_t) ((u_char *) values - name.data)
                      : ngx_strlen((char *) name.data);

    if (ngx_http_arg(r, name.data, name.len, &arg) != NGX_OK) {
        return NGX_OK;
    }

    s = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->data = ngx_pnalloc(r->pool, arg.len + 1);
    if (s->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(s->data, arg.data, arg.len);

    /* the decoded form is what the statement compares */
    dst = s->data;
    src = s->data;
    ngx_unescape_uri(&dst, &src, arg.len, NGX_UNESCAPE_URI);
    s->len = dst - s->data;

    if ((ngx_strncmp(source, "query_int:", 10) == 0
         && ngx_atoi(s->data, s->len) == NGX_ERROR)
        || (ngx_strncmp(source, "query_uuid:", 11) == 0
            && !ngx_kanban_uuid_valid(s))
        || (ngx_strncmp(source, "query_date:", 11) == 0
            && !ngx_kanban_date_valid(s)))
    {
        return NGX_ABORT;
    }

    if (ngx_strncmp(source, "query_limit:", 12) == 0) {
        n = ngx_atoi(s->data, s->len);

        if (n == NGX_ERROR && s->len > 1 && s->data[0] == '-'
            && ngx_atoi(s->data + 1, s->len - 1) != NGX_ERROR)
        {
            n = 0;                  /* a number, below the range */
        }

        if (n == NGX_ERROR) {
            return NGX_ABORT;
        }

        if (n < 1 || n > NGX_KANBAN_SQL_MAX_LIMIT) {
            return ngx_kanban_field_error(errors, NULL,
                                          (char *) name.data, "out_of_range",
                                          "A page holds 1 to 200 items.")
                   == NGX_OK ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_strncmp(source, "query_enum:", 11) == 0
        && !ngx_kanban_sql_enum(s, values + 1))
    {
        dst = ngx_pnalloc(r->pool, name.len + 1);
        if (dst == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_cpystrn(dst, name.data, name.len + 1);

        return ngx_kanban_field_error(errors, NULL, (char *) dst,
                                      "invalid_value",
                                      "This is not one of the values the "
                                      "parameter takes.")
               == NGX_OK ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *value = s;

    return NGX_OK;
}


/* Whether value is one of "a|b|c". */

static ngx_uint_t
ngx_kanban_sql_enum(ngx_str_t *value, char *values)
{
    size_t   len;
    char    *p, *bar;

    for (p = values; /* void */ ; p = bar + 1) {
        bar = ngx_strchr(p, '|');
        len = bar ? (size_t) (bar - p) : ngx_strlen(p);

        if (value->len == len && ngx_strncmp(value->data, p, len) == 0) {
            return 1;
        }

        if (bar == NULL) {
            return 0;
        }
    }
}


/* The version a change expects: the body's "version", else If-Match's
 * "N" (consumed here, so nginx does not judge the answer's new ETag by
 * it), else none; "*" is any version, so none either. */

static ngx_int_t
ngx_kanban_sql_version(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_str_t **value)
{
    ngx_str_t          *s;
    ngx_kanban_json_t  *v;

    v = ngx_kanban_json_get(ctx->body, "version");

    if (v && v->type == NGX_KANBAN_JSON_NUMBER) {
        *value = &v->value;
        return NGX_OK;
    }

    if (r->headers_in.if_match == NULL) {
        return NGX_OK;
    }

    s = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *s = r->headers_in.if_match->value;
    r->headers_in.if_match = NULL;

    if (s->len == 1 && s->data[0] == '*') {
        return NGX_OK;             /* any current version (RFC 9110) */
    }

    if (s->len >= 2 && s->data[0] == 'W' && s->data[1] == '/') {
        s->data += 2;
        s->len -= 2;
    }

    if (s->len < 3 || s->data[0] != '"' || s->data[s->len - 1] != '"'
        || ngx_atoi(s->data + 1, s->len - 2) == NGX_ERROR)
    {
        return NGX_ABORT;          /* "*" or a tag we never made */
    }

    s->data++;
    s->len -= 2;
    *value = s;

    return NGX_OK;
}


/* The answer a statement's row gives; handlers of their own whose last
 * statement follows the convention end with it too. */

void
ngx_kanban_sql_answer(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    u_char     *d;
    ngx_int_t   status;
    ngx_str_t  *st, *body, *extra;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_sql_failed(r, q));
        return;
    }

    if (PQntuples(q->result) == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL));
        return;
    }

    st = ngx_kanban_pg_value(r, q->result, 0, 0);
    body = ngx_kanban_pg_value(r, q->result, 0, 1);
    extra = PQnfields(q->result) > 2 ? ngx_kanban_pg_value(r, q->result, 0, 2)
                                     : NULL;

    status = st ? ngx_atoi(st->data, st->len) : NGX_ERROR;

    if (status < 200 || status > 599) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (status >= 400) {
        d = NULL;

        if (extra) {
            d = ngx_pnalloc(r->pool, extra->len + 1);
            if (d == NULL) {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            ngx_cpystrn(d, extra->data, extra->len + 1);
        }

        ngx_http_finalize_request(r,
            body ? ngx_kanban_problem_code(r, body, (char *) d)
                 : NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (extra && status == NGX_HTTP_CREATED) {
        extra->data = ngx_pstrdup(r->pool, extra);
        if (extra->data == NULL
            || ngx_kanban_add_header(r, "Location", extra) != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (extra && status == NGX_HTTP_OK
        && ngx_kanban_sql_etag(r, extra) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the statement has committed: PQgetResult says so only after the
     * server is ready for the next one */
    if (PQnfields(q->result) > 3) {
        ngx_kanban_sql_publish(r, ngx_kanban_ctx(r),
                               ngx_kanban_pg_value(r, q->result, 0, 3), body);
        ngx_kanban_sql_committed(r, ngx_kanban_ctx(r));
    }

    ngx_http_finalize_request(r, ngx_kanban_sql_send(r, q, status, body));
}


/* The answer's body: JSON, or what the statement's fifth column names,
 * as a download when a sixth names the file. */

static ngx_int_t
ngx_kanban_sql_send(ngx_http_request_t *r, ngx_kanban_pg_query_t *q,
    ngx_int_t status, ngx_str_t *body)
{
    u_char     *p;
    ngx_str_t   none = ngx_null_string, *type, *file, disposition;

    if (body == NULL) {
        return ngx_kanban_send_json(r, status, &none);
    }

    /* the result is freed when the query's handler returns */
    body->data = ngx_pstrdup(r->pool, body);
    if (body->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    type = PQnfields(q->result) > 4 ? ngx_kanban_pg_value(r, q->result, 0, 4)
                                    : NULL;
    if (type == NULL) {
        return ngx_kanban_send_json(r, status, body);
    }

    type->data = ngx_pstrdup(r->pool, type);
    if (type->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    file = PQnfields(q->result) > 5 ? ngx_kanban_pg_value(r, q->result, 0, 5)
                                    : NULL;
    if (file) {
        /* the statement makes the name safe to quote */
        p = ngx_pnalloc(r->pool, sizeof("attachment; filename=\"\"")
                                 + file->len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        disposition.data = p;
        disposition.len = ngx_sprintf(p, "attachment; filename=\"%V\"", file)
                          - p;

        if (ngx_kanban_add_header(r, "Content-Disposition", &disposition)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_kanban_send_text(r, status, type, body);
}


/* The modules that work after writes hear of the route's event. */

static void
ngx_kanban_sql_committed(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_sql_t  *sql;

    sql = ctx->route->data;

    if (sql == NULL || sql->event == NULL || ctx->tenant == NULL) {
        return;
    }

    ngx_kanban_committed(r, ctx, sql->event);
}


/* The change's event, to the workspace's channel; nothing waits for it,
 * and a lost one is in the audit trail to replay. */

static void
ngx_kanban_sql_publish(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_str_t *activity, ngx_str_t *body)
{
    u_char            *p;
    size_t             len;
    ngx_str_t          channel, event, *id;
    ngx_kanban_sql_t  *sql;

    sql = ctx->route->data;

    if (sql == NULL || sql->event == NULL || activity == NULL
        || ctx->tenant == NULL)
    {
        return;
    }

    id = ngx_kanban_arg(ctx, "id");

    len = sizeof("{\"id\":,\"type\":\"\",\"data\":{\"id\":\"\"}}")
          + activity->len + ngx_strlen(sql->event)
          + (body ? body->len : (id ? id->len : 0));

    p = ngx_pnalloc(r->pool, len + sizeof("kanban:events:")
                             + ctx->tenant->slug.len);
    if (p == NULL) {
        return;
    }

    event.data = p;

    if (body) {
        p = ngx_sprintf(p, "{\"id\":%V,\"type\":\"%s\",\"data\":%V}",
                        activity, sql->event, body);

    } else {
        p = ngx_sprintf(p, "{\"id\":%V,\"type\":\"%s\","
                        "\"data\":{\"id\":\"%V\"}}",
                        activity, sql->event, id);
    }

    event.len = p - event.data;

    channel.data = p;
    p = ngx_sprintf(p, "kanban:events:%V", &ctx->tenant->slug);
    channel.len = p - channel.data;

    if (ngx_kanban_redis_command(NULL, NULL, "PUBLISH %b %b",
                                 channel.data, channel.len,
                                 event.data, event.len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kanban: event %s not published: Redis is away",
                      sql->event);
    }
}


/* A single resource's version as its ETag: nginx then answers
 * If-None-Match with 304 by itself. */

static ngx_int_t
ngx_kanban_sql_etag(ngx_http_request_t *r, ngx_str_t *version)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "ETag");

    h->value.data = ngx_pnalloc(r->pool, version->len + 2);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->value.len = ngx_sprintf(h->value.data, "\"%V\"", version)
                   - h->value.data;

    r->headers_out.etag = h;

    return NGX_OK;
}


/* "var:NAME": an nginx variable's value, NULL when it has none. */

static ngx_int_t
ngx_kanban_sql_variable(ngx_http_request_t *r, char *name, ngx_str_t **value)
{
    ngx_str_t                   n, *s;
    ngx_uint_t                  key;
    ngx_http_variable_value_t  *vv;

    n.data = (u_char *) name;
    n.len = ngx_strlen(name);
    key = ngx_hash_key(n.data, n.len);

    vv = ngx_http_get_variable(r, &n, key);
    if (vv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (vv->not_found) {
        *value = NULL;
        return NGX_OK;
    }

    s = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->data = vv->data;
    s->len = vv->len;
    *value = s;

    return NGX_OK;
}


/* Constraint violations are the client's to fix; the rest is ours. */

static ngx_int_t
ngx_kanban_sql_failed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    char  *msg;

    if (q->error != NGX_KANBAN_PG_SQL) {
        return ngx_kanban_pg_problem(r, q);
    }

    if (ngx_kanban_pg_sqlstate(q, "23505")) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_ALREADY_EXISTS,
                                  "Something with this name exists.");
    }

    if (ngx_kanban_pg_sqlstate(q, "23503")) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "It refers to something that does not "
                                  "exist.");
    }

    msg = PQresultErrorField(q->result, PG_DIAG_MESSAGE_PRIMARY);

    if (ngx_kanban_pg_sqlstate(q, "KB422") && msg) {
        /* a statement's own words for what is wrong with the input */
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION, msg);
    }

    if (ngx_kanban_pg_sqlstate(q, "23514") && msg
        && ngx_strncmp(msg, "custom fields: ", 15) == 0)
    {
        /* the trigger's words name the field and what it wants */
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION, msg);
    }

    if (ngx_kanban_pg_sqlstate(q, "23514")
        || ngx_kanban_pg_sqlstate(q, "21000")
        || ngx_kanban_pg_sqlstate(q, "22P02")
        || ngx_kanban_pg_sqlstate(q, "22021")
        || ngx_kanban_pg_sqlstate(q, "22007")
        || ngx_kanban_pg_sqlstate(q, "22008")
        || ngx_kanban_pg_sqlstate(q, "22003"))
    {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "A value is not allowed here.");
    }

    return ngx_kanban_pg_problem(r, q);
}

