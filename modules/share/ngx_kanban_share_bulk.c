
/*
 * POST /api/v1/share-links/bulk: up to 1,000 share links in one request,
 * a JSON array of link bodies or a CSV with a header row. nginx judges
 * the request (size, media type, JSON, the cap), reserves one code a row
 * in the catalog in one statement, and the workspace's database makes
 * each row on its own (share_links_bulk): every row's result is in the
 * answer. The codes no link took go back to the catalog before it.
 */

/* SQL: sql/catalog/002_share_codes.sql; sql/tenant/081_share_links_bulk.sql */
#include "ngx_kanban_share_routes.h"
#include "ngx_kanban_share.h"

#include <openssl/rand.h>


#define NGX_KANBAN_SHARE_BULK_MAX       1000
#define NGX_KANBAN_SHARE_BULK_BODY_MAX  (1024 * 1024)
#define NGX_KANBAN_SHARE_BULK_DRAWS     5
#define NGX_KANBAN_SHARE_SECRET_LEN     64


typedef struct {
    ngx_uint_t                 n;            /* rows, at most */
    ngx_uint_t                 draws;
    ngx_uint_t                 again;        /* a code was taken: redraw */
    ngx_str_t                  media;        /* "json" or "csv" */
    ngx_str_t                  codes;        /* {c1,c2,...} */
    ngx_str_t                  secrets;      /* {s1,s2,...} */
    PGresult                  *made;         /* the answer, while codes */
} ngx_kanban_share_bulk_t;                   /* go back */


static ngx_int_t ngx_kanban_share_bulk_count(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_kanban_share_bulk_t *sb);
static ngx_int_t ngx_kanban_share_bulk_draw(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);
static void ngx_kanban_share_bulk_reserved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_bulk_made(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_share_bulk_release(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_str_t *codes);
static void ngx_kanban_share_bulk_released(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_bulk_reserve_stmt =
    ngx_kanban_pg_stmt("share_bulk_reserve",
    "INSERT INTO share_codes (code, tenant_id)"
    " SELECT unnest($1::text[]), $2::uuid"
    " ON CONFLICT DO NOTHING RETURNING code");

/* the codes as a list, "a,b,c" or "{a,b,c}": base62, nothing to quote */
static ngx_kanban_pg_stmt_t  ngx_kanban_share_bulk_release_stmt =
    ngx_kanban_pg_stmt("share_bulk_release",
    "DELETE FROM share_codes"
    " WHERE code = ANY (string_to_array(btrim($1, '{}'), ','))"
    "   AND tenant_id = $2::uuid");

ngx_kanban_sql_t  ngx_kanban_share_links_bulk = {
    ngx_kanban_pg_stmt("share_links_bulk",
    "SELECT * FROM share_links_bulk($1::uuid, $2, $3, $4, $5, $6::text[],"
    "                               $7::text[])"),
    { NULL },
    NULL
};


ngx_int_t
ngx_kanban_share_links_bulk_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_str_t                *type;
    ngx_kanban_share_bulk_t  *sb;

    if (ctx->raw_body.len > NGX_KANBAN_SHARE_BULK_BODY_MAX) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_TOO_LARGE,
                                  "A bulk request is at most 1 MiB.");
    }

    sb = ngx_pcalloc(r->pool, sizeof(ngx_kanban_share_bulk_t));
    if (sb == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = sb;

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type && type->len >= 16
        && ngx_strncasecmp(type->data, (u_char *) "application/json", 16)
           == 0)
    {
        ngx_str_set(&sb->media, "json");

    } else if (type && type->len >= 8
               && ngx_strncasecmp(type->data, (u_char *) "text/csv", 8) == 0)
    {
        ngx_str_set(&sb->media, "csv");

    } else {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_MEDIA_TYPE,
                                  "Send the links as application/json (an "
                                  "array) or text/csv (with a header row).");
    }

    rc = ngx_kanban_share_bulk_count(r, ctx, sb);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_kanban_share_bulk_draw(r, ctx);
}


/* How many rows there are at most, to draw that many codes: a JSON
 * array's elements; a CSV's non-blank records but its header. */

static ngx_int_t
ngx_kanban_share_bulk_count(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_kanban_share_bulk_t *sb)
{
    char               *error;
    u_char             *p, *end;
    ngx_int_t           rc;
    ngx_uint_t          quoted, filled;
    ngx_kanban_json_t  *root, *e;

    if (sb->media.data[0] == 'j') {
        rc = ngx_kanban_json_parse(r->pool, ctx->raw_body.data,
                                   ctx->raw_body.len, &root, &error);
        if (rc == NGX_DECLINED) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_BAD_REQUEST, error);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (root->type != NGX_KANBAN_JSON_ARRAY) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                      "Send a JSON array of links.");
        }

        for (e = root->first; e; e = e->next) {
            sb->n++;
        }

    } else {
        if (!ngx_kanban_utf8_valid(ctx->raw_body.data, ctx->raw_body.len)) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                      "The CSV is not UTF-8 text.");
        }

        quoted = 0;
        filled = 0;
        end = ctx->raw_body.data + ctx->raw_body.len;

        for (p = ctx->raw_body.data; p < end; p++) {
            if (*p == '"') {
                quoted = !quoted;
            }

            if (!quoted && (*p == '\n' || *p == '\r')) {
                sb->n += filled;
                filled = 0;
                continue;
            }

            if (*p != ' ' && *p != '\t' && *p != ',') {
                filled = 1;
            }
        }

        sb->n += filled;
        sb->n -= sb->n ? 1 : 0;                      /* the header */
    }

    if (sb->n == 0) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "There are no links in this request.");
    }

    if (sb->n > NGX_KANBAN_SHARE_BULK_MAX) {
        return ngx_kanban_problem(r, NGX_KANBAN_ERR_VALIDATION,
                                  "At most 1000 links in one request.");
    }

    return NGX_OK;
}


/* A fresh code and grant secret a row, all reserved in one statement. */

static ngx_int_t
ngx_kanban_share_bulk_draw(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    u_char                   *c, *s;
    u_char                    random[NGX_KANBAN_SHARE_SECRET_LEN / 2];
    ngx_uint_t                i;
    ngx_kanban_pg_db_t        db;
    ngx_kanban_pg_query_t    *q;
    ngx_kanban_share_bulk_t  *sb;

    sb = ctx->data;

    if (sb->draws++ == NGX_KANBAN_SHARE_BULK_DRAWS) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: no free share codes in %d draws",
                      NGX_KANBAN_SHARE_BULK_DRAWS);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    c = ngx_pnalloc(r->pool, sb->n * (NGX_KANBAN_SHARE_CODE_LEN + 1) + 2);
    s = ngx_pnalloc(r->pool, sb->n * (NGX_KANBAN_SHARE_SECRET_LEN + 1) + 2);
    if (c == NULL || s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sb->codes.data = c;
    sb->secrets.data = s;
    *c++ = '{';
    *s++ = '{';

    for (i = 0; i < sb->n; i++) {
        if (ngx_kanban_share_code_make(c) != NGX_OK
            || RAND_bytes(random, sizeof(random)) != 1)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        c += NGX_KANBAN_SHARE_CODE_LEN;
        s = ngx_hex_dump(s, random, sizeof(random));
        *c++ = ',';
        *s++ = ',';
    }

    c[-1] = '}';
    s[-1] = '}';
    sb->codes.len = c - sb->codes.data;
    sb->secrets.len = s - sb->secrets.data;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_bulk_reserve_stmt,
                             ngx_kanban_share_bulk_reserved, 2, &sb->codes,
                             &ctx->tenant->id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_kanban_share_bulk_reserved(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_int_t                 rc;
    ngx_str_t                 base;
    ngx_kanban_ctx_t         *ctx;
    ngx_kanban_pg_db_t        db;
    ngx_kanban_share_bulk_t  *sb;

    ctx = ngx_kanban_ctx(r);
    sb = ctx->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if ((ngx_uint_t) PQntuples(q->result) != sb->n) {
        /* one was taken elsewhere (rare as 59 bits): all back, draw again */
        sb->again = 1;
        rc = ngx_kanban_share_bulk_release(r, ctx, &sb->codes);

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    if (ngx_kanban_share_base(r, &ctx->tenant->slug, &base) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_links_bulk.stmt,
                             ngx_kanban_share_bulk_made, 7,
                             &ctx->identity->user_id, &ctx->identity->role,
                             &base, &sb->media, &ctx->raw_body, &sb->codes,
                             &sb->secrets)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* Made (each row as it could): the codes no link took go back first; a
 * request refused gives back them all. PostgreSQL away: they stay
 * reserved, for nothing, which is harmless. */

static void
ngx_kanban_share_bulk_made(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    char                     *status;
    ngx_int_t                 rc;
    ngx_str_t                *unused;
    ngx_kanban_ctx_t         *ctx;
    ngx_kanban_share_bulk_t  *sb;

    ctx = ngx_kanban_ctx(r);
    sb = ctx->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_kanban_sql_answer(r, q);
        return;
    }

    status = PQgetvalue(q->result, 0, 0);

    sb->made = ngx_kanban_pg_keep(r, q);
    if (sb->made == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    unused = ngx_strcmp(status, "200") == 0
             ? ngx_kanban_pg_value(r, sb->made, 0, 2) : &sb->codes;

    if (unused == NULL || unused->len == 0) {
        q->result = sb->made;
        ngx_kanban_share_bulk_released(r, q);
        return;
    }

    rc = ngx_kanban_share_bulk_release(r, ctx, unused);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_kanban_share_bulk_release(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_str_t *codes)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_share_bulk_release_stmt,
                             ngx_kanban_share_bulk_released, 2, codes,
                             &ctx->tenant->id)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* The answer is the workspace's statement's, whatever became of the
 * codes: 200 with each row's result, or the problem of the request. */

static void
ngx_kanban_share_bulk_released(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_int_t                 rc;
    ngx_str_t                *body;
    ngx_kanban_ctx_t         *ctx;
    ngx_kanban_share_bulk_t  *sb;

    ctx = ngx_kanban_ctx(r);
    sb = ctx->data;

    if (sb->again) {
        sb->again = 0;
        rc = ngx_kanban_share_bulk_draw(r, ctx);

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    if (ngx_strcmp(PQgetvalue(sb->made, 0, 0), "200") != 0) {
        q->result = sb->made;
        q->error = NGX_KANBAN_PG_OK;
        ngx_kanban_sql_answer(r, q);
        return;
    }

    body = ngx_kanban_pg_value(r, sb->made, 0, 1);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_send_json(r, NGX_HTTP_OK, body));
}
