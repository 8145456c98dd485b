
/*
 * A project's tasks out and in: GET /api/v1/projects/{id}/export (JSON, or
 * CSV as a download) and POST /api/v1/projects/import (a Trello board's
 * JSON export, our own JSON export, or CSV with the export's header).
 * PostgreSQL builds the export and does the whole import in its one
 * statement, so a bad row leaves nothing behind. CSV is read here, into
 * the JSON rows the statement takes.
 */

/* SQL: sql/tenant/009_attachments.sql */
#include "ngx_kanban_kanban_routes.h"


#define NGX_KANBAN_IMPORT_MAX_ROWS  5000
#define NGX_KANBAN_CSV_MAX_FIELDS   64


typedef struct {
    u_char                    *pos;
    u_char                    *end;
    ngx_uint_t                 row;        /* as a spreadsheet counts */
    ngx_str_t                  fields[NGX_KANBAN_CSV_MAX_FIELDS];
    ngx_uint_t                 nfields;
    char                      *error;
} ngx_kanban_csv_t;


static ngx_int_t ngx_kanban_import_media(ngx_http_request_t *r, char *type);
static ngx_int_t ngx_kanban_import_json(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_import_csv(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static ngx_int_t ngx_kanban_csv_header(ngx_pool_t *pool,
    ngx_kanban_csv_t *csv, u_char ***names, ngx_uint_t *nnames,
    ngx_uint_t *title);
static ngx_int_t ngx_kanban_csv_rows(ngx_pool_t *pool, ngx_kanban_csv_t *csv,
    u_char **names, ngx_uint_t nnames, size_t size, ngx_str_t *out);
static ngx_int_t ngx_kanban_csv_record(ngx_pool_t *pool,
    ngx_kanban_csv_t *csv);
static ngx_int_t ngx_kanban_csv_quoted(ngx_pool_t *pool,
    ngx_kanban_csv_t *csv, ngx_str_t *f, u_char **pos);
static ngx_int_t ngx_kanban_csv_plain(ngx_kanban_csv_t *csv, ngx_str_t *f,
    u_char **pos);


ngx_kanban_sql_t  ngx_kanban_projects_export = {
    ngx_kanban_pg_stmt("projects_export",
    "SELECT * FROM project_export($1::uuid, $2, $3)"),
    { "uuid:id", "query_enum:format=json|csv", "accept", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_projects_import = {
    ngx_kanban_pg_stmt("projects_import",
    "SELECT f.*, CASE WHEN f.status < 300"
    "            THEN currval('activity_log_id_seq') END"
    "  FROM project_import($1::uuid, $2, $3, $4, $5::jsonb) f"),
    { "actor", "role", "query:key", "query:name", "body", NULL },
    "project.imported"
};


/* The body is JSON (checked here: 400 when it is not) or CSV (turned into
 * JSON rows); the statement judges what they say. */

ngx_int_t
ngx_kanban_import_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    if (ngx_kanban_import_media(r, "application/json")) {
        return ngx_kanban_import_json(r, ctx);
    }

    if (ngx_kanban_import_media(r, "text/csv")) {
        return ngx_kanban_import_csv(r, ctx);
    }

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_MEDIA_TYPE,
                              "Send a Trello board export or a JSON export "
                              "as application/json, or CSV as text/csv.");
}


/* the type, with parameters or none */

static ngx_int_t
ngx_kanban_import_media(ngx_http_request_t *r, char *type)
{
    size_t      n;
    ngx_str_t  *v;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    v = &r->headers_in.content_type->value;
    n = ngx_strlen(type);

    return v->len >= n
           && ngx_strncasecmp(v->data, (u_char *) type, n) == 0
           && (v->len == n || v->data[n] == ';' || v->data[n] == ' ');
}


static ngx_int_t
ngx_kanban_import_json(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    char               *error;
    ngx_int_t           rc;
    ngx_kanban_json_t  *root;

    rc = ngx_kanban_json_parse(r->pool, ctx->raw_body.data,
                               ctx->raw_body.len, &root, &error);

    if (rc == NGX_DECLINED) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST, error);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (root->type != NGX_KANBAN_JSON_OBJECT) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "The body is a JSON object: a Trello "
                                  "board or a project's export.");
    }

    ctx->body = root;

    return ngx_kanban_sql_handler(r, ctx);
}


/* RFC 4180, leniently: LF alone ends a line too, a UTF-8 byte order mark
 * is skipped, blank lines are. The header names the fields; a row may
 * have fewer (the rest are empty), never more. */

static ngx_int_t
ngx_kanban_import_csv(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    u_char            *p, **names;
    ngx_int_t          rc;
    ngx_str_t          out;
    ngx_uint_t         nnames, title;
    ngx_kanban_csv_t   csv;

    u_char             detail[128];

    if (!ngx_kanban_utf8_valid(ctx->raw_body.data, ctx->raw_body.len)) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST,
                                  "The CSV is not UTF-8.");
    }

    ngx_memzero(&csv, sizeof(ngx_kanban_csv_t));
    csv.pos = ctx->raw_body.data;
    csv.end = ctx->raw_body.data + ctx->raw_body.len;

    if (csv.end - csv.pos >= 3
        && ngx_strncmp(csv.pos, "\xef\xbb\xbf", 3) == 0)
    {
        csv.pos += 3;
    }

    rc = ngx_kanban_csv_header(r->pool, &csv, &names, &nnames, &title);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        goto invalid;
    }

    if (!title) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "The CSV's header row has no title "
                                  "column.");
    }

    rc = ngx_kanban_csv_rows(r->pool, &csv, names, nnames,
                             ctx->raw_body.len * 2 + 256, &out);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        goto invalid;
    }

    if (rc == NGX_ABORT) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "An import has at most 5,000 cards "
                                  "or rows.");
    }

    ctx->raw_body = out;

    return ngx_kanban_sql_handler(r, ctx);

invalid:

    p = ngx_snprintf(detail, sizeof(detail) - 1, "import: row %ui: %s",
                     csv.row, csv.error ? csv.error : "it is empty");
    *p = '\0';

    return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION, (char *) detail);
}


/* The header row: its names, trimmed and lowercased ("Title " and
 * "title" name the same), and whether one is "title". NGX_DECLINED: no
 * header (csv->error says why, or it is empty). */

static ngx_int_t
ngx_kanban_csv_header(ngx_pool_t *pool, ngx_kanban_csv_t *csv,
    u_char ***names, ngx_uint_t *nnames, ngx_uint_t *title)
{
    u_char      *p, **n;
    ngx_int_t    rc;
    ngx_uint_t   i;

    rc = ngx_kanban_csv_record(pool, csv);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED || csv->nfields == 0) {
        return NGX_DECLINED;
    }

    *nnames = csv->nfields;
    *title = 0;

    n = ngx_palloc(pool, *nnames * sizeof(u_char *));
    if (n == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < *nnames; i++) {
        n[i] = ngx_pnalloc(pool, csv->fields[i].len + 1);
        if (n[i] == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(n[i], csv->fields[i].data, csv->fields[i].len);
        while (p > n[i] && (p[-1] == ' ' || p[-1] == '\t')) {
            p--;
        }
        *p = '\0';

        ngx_strlow(n[i], n[i], p - n[i]);

        if (ngx_strcmp(n[i], "title") == 0) {
            *title = 1;
        }
    }

    *names = n;

    return NGX_OK;
}


/* The rows after the header as the import's JSON, {"format": "csv",
 * "tasks": [{"_row": N, name: value, ...}, ...]}. NGX_DECLINED: a row is
 * not valid (csv->error says why); NGX_ABORT: too many rows. */

static ngx_int_t
ngx_kanban_csv_rows(ngx_pool_t *pool, ngx_kanban_csv_t *csv, u_char **names,
    ngx_uint_t nnames, size_t size, ngx_str_t *out)
{
    ngx_int_t        rc;
    ngx_uint_t       i, rows;
    ngx_kanban_jw_t  jw;

    if (ngx_kanban_jw_init(&jw, pool, size) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "format");
    ngx_kanban_jw_cstring(&jw, "csv");
    ngx_kanban_jw_key(&jw, "tasks");
    ngx_kanban_jw_open(&jw, '[');

    for (rows = 0; /* void */ ; rows++) {

        rc = ngx_kanban_csv_record(pool, csv);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DONE) {
            break;
        }

        if (rc == NGX_DECLINED) {
            return NGX_DECLINED;
        }

        if (csv->nfields > nnames) {
            csv->error = "it has more fields than the header";
            return NGX_DECLINED;
        }

        if (rows == NGX_KANBAN_IMPORT_MAX_ROWS) {
            return NGX_ABORT;
        }

        ngx_kanban_jw_open(&jw, '{');
        ngx_kanban_jw_key(&jw, "_row");
        ngx_kanban_jw_int(&jw, csv->row);

        for (i = 0; i < csv->nfields; i++) {
            ngx_kanban_jw_key(&jw, (char *) names[i]);
            ngx_kanban_jw_string(&jw, &csv->fields[i]);
        }

        ngx_kanban_jw_close(&jw, '}');
    }

    ngx_kanban_jw_close(&jw, ']');
    ngx_kanban_jw_close(&jw, '}');

    return ngx_kanban_jw_result(&jw, out) == NGX_OK ? NGX_OK : NGX_ERROR;
}


/* The next record's fields, NGX_DONE at the end, NGX_DECLINED with
 * csv->error when it is malformed. A quoted field with "" in it is copied
 * to the pool; the others point into the body. */

static ngx_int_t
ngx_kanban_csv_record(ngx_pool_t *pool, ngx_kanban_csv_t *csv)
{
    u_char     *p;
    ngx_int_t   rc;
    ngx_str_t  *f;

    p = csv->pos;

    /* blank lines are no records */
    while (p < csv->end && (*p == '\r' || *p == '\n')) {
        if (*p == '\n') {
            csv->row++;
        }
        p++;
    }

    if (p == csv->end) {
        csv->pos = p;
        return NGX_DONE;
    }

    csv->row++;
    csv->nfields = 0;

    for ( ;; ) {

        if (csv->nfields == NGX_KANBAN_CSV_MAX_FIELDS) {
            csv->error = "it has too many fields";
            return NGX_DECLINED;
        }

        f = &csv->fields[csv->nfields++];

        if (p < csv->end && *p == '"') {
            rc = ngx_kanban_csv_quoted(pool, csv, f, &p);

        } else {
            rc = ngx_kanban_csv_plain(csv, f, &p);
        }

        if (rc != NGX_OK) {
            return rc;
        }

        if (p < csv->end && *p == ',') {
            p++;
            continue;
        }

        /* the record ends: CRLF, LF, or the body's end */
        if (p < csv->end && *p == '\r') {
            p++;
        }

        if (p < csv->end && *p == '\n') {
            p++;
        }

        csv->pos = p;

        return NGX_OK;
    }
}


/* A quoted field from *pos (its opening quote) to past its closing one;
 * a field with "" in it is copied to the pool without the doubling. */

static ngx_int_t
ngx_kanban_csv_quoted(ngx_pool_t *pool, ngx_kanban_csv_t *csv, ngx_str_t *f,
    u_char **pos)
{
    u_char  *p, *q, *start, *d;

    p = *pos;
    start = ++p;
    d = NULL;

    for ( ;; ) {
        q = ngx_strlchr(p, csv->end, '"');

        if (q == NULL) {
            csv->error = "a quoted field does not end";
            return NGX_DECLINED;
        }

        if (q + 1 < csv->end && q[1] == '"') {
            /* "" is one quote: the field is copied without them */
            if (d == NULL) {
                f->data = ngx_pnalloc(pool, csv->end - start);
                if (f->data == NULL) {
                    return NGX_ERROR;
                }
                d = f->data;
                d = ngx_cpymem(d, start, q - start);

            } else {
                d = ngx_cpymem(d, p, q - p);
            }

            *d++ = '"';
            p = q + 2;
            continue;
        }

        if (d == NULL) {
            f->data = start;
            f->len = q - start;

        } else {
            d = ngx_cpymem(d, p, q - p);
            f->len = d - f->data;
        }

        p = q + 1;
        break;
    }

    if (p < csv->end && *p != ',' && *p != '\r' && *p != '\n') {
        csv->error = "text follows a closing quote";
        return NGX_DECLINED;
    }

    *pos = p;

    return NGX_OK;
}


/* an unquoted field from *pos to the next comma or the line's end */

static ngx_int_t
ngx_kanban_csv_plain(ngx_kanban_csv_t *csv, ngx_str_t *f, u_char **pos)
{
    u_char  *p, *start;

    start = *pos;

    for (p = start; p < csv->end && *p != ',' && *p != '\r' && *p != '\n'; p++)
    {
        if (*p == '"') {
            csv->error = "a quote inside an unquoted field";
            return NGX_DECLINED;
        }
    }

    f->data = start;
    f->len = p - start;
    *pos = p;

    return NGX_OK;
}
