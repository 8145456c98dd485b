
/*
 * Attachments: POST/GET /api/v1/tasks/{id}/attachments, GET/DELETE
 * /api/v1/attachments/{id}. The body of an upload is the file as it is, of
 * any media type (?filename= names it); it is stored as a bytea in the
 * workspace's database, sent to PostgreSQL as a binary parameter and read
 * back as a binary result, so every byte survives and none is re-encoded.
 * The type sent must fit the file's first bytes, and programs are
 * refused (ngx_kanban_attachment_type.c). A download is served as an
 * attachment with the stored media type, or application/octet-stream for
 * one a browser would render as a page, in a sandbox: an uploaded page or
 * image runs no script on the workspace's origin. With kanban_clamd, a
 * file is scanned before it is stored: malware is 422 malware_detected.
 */

/* SQL: sql/tenant/005_kanban.sql, 009_attachments.sql */
#include "ngx_kanban_kanban_routes.h"
#include "ngx_kanban_attachment_type.h"
#include "ngx_kanban_clamd.h"


#define NGX_KANBAN_FILENAME_MAX  255


static ngx_int_t ngx_kanban_attachment_filename(ngx_http_request_t *r,
    ngx_str_t *name, char **code, char **message);
static ngx_int_t ngx_kanban_attachment_scan(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_attachment_scanned(ngx_http_request_t *r,
    ngx_uint_t verdict, ngx_str_t *signature);
static void ngx_kanban_attachment_read(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_attachment_send(ngx_http_request_t *r,
    PGresult *res);
static ngx_int_t ngx_kanban_attachment_disposition(ngx_http_request_t *r,
    ngx_str_t *name);


ngx_kanban_sql_t  ngx_kanban_attachments_create = {
    ngx_kanban_pg_stmt("attachments_create",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM attachment_create($1::uuid, $2, $3::uuid, $4, $5,"
    "                         $6::bytea) f"),
    { "actor", "role", "uuid:id", "query:filename", "header:Content-Type",
      "bytes", NULL },
    "attachment.created"
};

ngx_kanban_sql_t  ngx_kanban_attachments_list = {
    ngx_kanban_pg_stmt("attachments_list",
    "SELECT 200, json_build_object('items', coalesce((SELECT json_agg("
    "           d.doc ORDER BY d.created_at, d.id)"
    "      FROM attachment_docs d WHERE d.task_id = t.id), '[]'::json),"
    "    'next_cursor', NULL)"
    "  FROM tasks t WHERE t.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_attachments_delete = {
    ngx_kanban_pg_stmt("attachments_delete",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM attachment_delete($1::uuid, $2, $3::uuid) f"),
    { "actor", "role", "uuid:id", NULL },
    "attachment.deleted"
};

/* every column as bytes: the file's, and text as it is */
static ngx_kanban_pg_stmt_t  ngx_kanban_attachments_read =
    ngx_kanban_pg_stmt("attachments_read",
    "SELECT content_type, filename, sha256, data FROM attachments"
    " WHERE id = $1::uuid");


/* The file's name is checked here, before its bytes travel further. */

ngx_int_t
ngx_kanban_attachment_upload_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    char       *code, *message, *field, *detail;
    ngx_int_t   rc;
    ngx_str_t   name;

    field = "filename";
    detail = "The file name is not valid.";

    rc = ngx_kanban_attachment_filename(r, &name, &code, &message);

    if (rc == NGX_OK) {
        field = "content_type";
        detail = "The file is not of a type that may be attached.";

        rc = ngx_kanban_attachment_type_check(
                 ngx_kanban_header_in(r, "Content-Type"), &ctx->raw_body,
                 &code, &message);

        if (rc == NGX_OK) {
            return ngx_kanban_attachment_scan(r, ctx);
        }
    }

    if (rc != NGX_DECLINED) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_problem_field(r, detail, field, code, message);
}


/* A file of the right type is scanned (kanban_clamd) before it is stored;
 * without a scanner it is stored at once. */

static ngx_int_t
ngx_kanban_attachment_scan(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_kanban_clamd_scan(r, &ctx->raw_body,
                               ngx_kanban_attachment_scanned);

    if (rc == NGX_DECLINED) {
        return ngx_kanban_sql_handler(r, ctx);
    }

    return rc == NGX_OK ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static void
ngx_kanban_attachment_scanned(ngx_http_request_t *r, ngx_uint_t verdict,
    ngx_str_t *signature)
{
    ngx_int_t  rc;
    ngx_str_t  unscanned = ngx_string("unscanned");
    ngx_str_t  clean = ngx_string("clean");

    switch (verdict) {

    case NGX_KANBAN_CLAMD_INFECTED:
        ngx_http_finalize_request(r, ngx_kanban_clamd_problem(r, signature));
        return;

    case NGX_KANBAN_CLAMD_UNAVAILABLE:
        if (ngx_kanban_clamd_refuses()) {
            ngx_http_finalize_request(r,
                ngx_kanban_problem(r, NGX_KANBAN_ERR_UNAVAILABLE,
                                   "Uploads cannot be scanned for viruses "
                                   "right now; try again later."));
            return;
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: an attachment is stored unscanned "
                      "(clamd unavailable)");

        rc = ngx_kanban_add_header(r, "X-Kanban-Scan", &unscanned);
        break;

    default:
        rc = ngx_kanban_add_header(r, "X-Kanban-Scan", &clean);
        break;
    }

    if (rc == NGX_OK) {
        rc = ngx_kanban_sql_handler(r, ngx_kanban_ctx(r));
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc == NGX_OK
                                     ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc);
    }
}


/* NGX_OK when ?filename= is a name we can store and serve back: UTF-8,
 * at most 255 bytes, no path separator, no control character; else
 * NGX_DECLINED with the error's code and message. */

static ngx_int_t
ngx_kanban_attachment_filename(ngx_http_request_t *r, ngx_str_t *name,
    char **code, char **message)
{
    u_char     *p, *end, *dst, *src;
    uint32_t    c;
    ngx_str_t   arg;

    if (ngx_http_arg(r, (u_char *) "filename", 8, &arg) != NGX_OK
        || arg.len == 0)
    {
        *code = "required";
        *message = "Name the file: ?filename=report.pdf.";
        return NGX_DECLINED;
    }

    name->data = ngx_pnalloc(r->pool, arg.len);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(name->data, arg.data, arg.len);

    dst = name->data;
    src = name->data;
    ngx_unescape_uri(&dst, &src, arg.len, NGX_UNESCAPE_URI);
    name->len = dst - name->data;

    if (name->len > NGX_KANBAN_FILENAME_MAX) {
        *code = "too_long";
        *message = "A file name has at most 255 bytes.";
        return NGX_DECLINED;
    }

    *code = "invalid_format";
    *message = "A file name is UTF-8 without / \\ or control characters.";

    if (name->len == 0
        || (name->len == 1 && name->data[0] == '.')
        || (name->len == 2 && name->data[0] == '.' && name->data[1] == '.'))
    {
        return NGX_DECLINED;
    }

    p = name->data;
    end = name->data + name->len;

    while (p < end) {

        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\') {
                return NGX_DECLINED;
            }

            p++;
            continue;
        }

        c = ngx_utf8_decode(&p, end - p);

        if (c > 0x10ffff || (c >= 0x80 && c < 0xa0)
            || c == 0x200e || c == 0x200f
            || (c >= 0x202a && c <= 0x202e)
            || (c >= 0x2066 && c <= 0x2069))
        {
            /* not UTF-8, a C1 control character, or a direction mark
             * that would show "a<RLO>fdp.exe" as "aexe.pdf" */
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_kanban_attachment_download_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_str_t              *id;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    id = ngx_kanban_arg(ctx, "id");

    if (id == NULL || !ngx_kanban_uuid_valid(id)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL);
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->binary_result = 1;

    if (ngx_kanban_pg_run(q, &ngx_kanban_attachments_read,
                          ngx_kanban_attachment_read, 1, id)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_attachment_read(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    PGresult  *res;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND, NULL));
        return;
    }

    /* the bytes are sent from the result itself, kept until the request
     * ends: a file is never copied */
    res = ngx_kanban_pg_keep(r, q);
    if (res == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_attachment_send(r, res));
}


static ngx_int_t
ngx_kanban_attachment_send(ngx_http_request_t *r, PGresult *res)
{
    ngx_str_t         csp = ngx_string("sandbox; default-src 'none'");
    ngx_str_t        *type, *name, *sha, *data, served;
    ngx_table_elt_t  *h;

    type = ngx_kanban_pg_value(r, res, 0, 0);
    name = ngx_kanban_pg_value(r, res, 0, 1);
    sha = ngx_kanban_pg_value(r, res, 0, 2);
    data = ngx_kanban_pg_value(r, res, 0, 3);

    if (type == NULL || name == NULL || sha == NULL || data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_attachment_disposition(r, name) != NGX_OK
        || ngx_kanban_add_header(r, "Content-Security-Policy", &csp)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the content's hash is its strong validator: If-None-Match is 304 */
    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, sha->len + 2);
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "ETag");
    h->value.len = ngx_sprintf(h->value.data, "\"%V\"", sha)
                   - h->value.data;
    r->headers_out.etag = h;

    ngx_kanban_attachment_type_served(type, &served);

    return ngx_kanban_send_text(r, NGX_HTTP_OK, &served, data);
}


/* attachment; filename="..." with a plain ASCII stand-in (anything else
 * is _), and filename*=UTF-8''... (RFC 5987) with the real name when it
 * is not plain ASCII. */

static ngx_int_t
ngx_kanban_attachment_disposition(ngx_http_request_t *r, ngx_str_t *name)
{
    u_char      *p, *s, *end;
    ngx_str_t    value;
    ngx_uint_t   plain;

    static u_char  hex[] = "0123456789ABCDEF";

    p = ngx_pnalloc(r->pool, sizeof("attachment; filename=\"\"; "
                                    "filename*=UTF-8''") - 1
                             + name->len * 4);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    p = ngx_cpymem(p, "attachment; filename=\"", 22);

    plain = 1;
    end = name->data + name->len;

    for (s = name->data; s < end; s++) {
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\') {
            *p++ = '_';
            plain = 0;

        } else {
            *p++ = *s;
        }
    }

    *p++ = '"';

    if (!plain) {
        p = ngx_cpymem(p, "; filename*=UTF-8''", 19);

        for (s = name->data; s < end; s++) {
            /* attr-char of RFC 5987 as it is, the rest %XX */
            if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
                || (*s >= '0' && *s <= '9')
                || (*s > 0x20 && *s < 0x7f
                    && ngx_strchr("!#$&+-.^_`|~", *s) != NULL))
            {
                *p++ = *s;
                continue;
            }

            *p++ = '%';
            *p++ = hex[*s >> 4];
            *p++ = hex[*s & 0x0f];
        }
    }

    value.len = p - value.data;

    return ngx_kanban_add_header(r, "Content-Disposition", &value);
}
