
/*
 * POST /api/v1/tenants: self-service sign-up on the platform host.
 *
 * The steps, each through the non-blocking pool or the thread pool:
 * claim the slug in the catalog (status provisioning) and, at the same
 * time, hash the admin's password; CREATE DATABASE from the template
 * unless the claim took a spare; create the admin in the new database
 * (one statement); mark the tenant active. A step that fails undoes the
 * earlier ones (DROP DATABASE, DELETE the row), so no half-made tenant is
 * ever visible: tenant lookups skip rows still provisioning.
 *
 * The catalog places the claim on a server (place_workspace(), in
 * sql/catalog/005_servers.sql) and answers with that server's DSN: the
 * database is made, filled and, on failure, dropped there. A spare
 * database of that server, made ahead from its template (kanbanctl
 * spares, or kanban_spare_databases), is taken by the claim when there is
 * one: no CREATE DATABASE then. With a spare the path is two catalog
 * round trips, one to the new database and the hash, which runs beside
 * the claim.
 */

/* SQL: sql/catalog/001_tenants.sql, 006_spare_databases.sql;
 * sql/tenant/001_users.sql */
#include "ngx_kanban_tenant_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_tenant_module.h"


typedef struct {
    ngx_str_t                  slug;
    ngx_str_t                  name;
    ngx_str_t                  email;
    ngx_str_t                  admin_name;
    ngx_str_t                  password;
    ngx_str_t                  hash;
    ngx_str_t                  id;
    ngx_str_t                  db_name;
    ngx_str_t                  db_dsn;         /* of its server */
    ngx_str_t                  version;        /* of the schema copied */
    ngx_uint_t                 error;          /* the problem to report */
    ngx_uint_t                 database_made;
    ngx_uint_t                 hashing;        /* the hash not back yet */
    ngx_uint_t                 undoing;

    /* when each step ended, from the start (the log's account) */
    ngx_msec_t                 start;
    ngx_msec_t                 claimed;
    ngx_msec_t                 hashed;
    ngx_msec_t                 database;
    ngx_msec_t                 admin;
} ngx_kanban_signup_t;


static char *ngx_kanban_signup_check_slug(ngx_str_t *slug, char **message);
static void ngx_kanban_signup_claimed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_signup_create(ngx_http_request_t *r);
static void ngx_kanban_signup_created(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_signup_hashed(ngx_http_request_t *r, ngx_str_t *hash);
static void ngx_kanban_signup_admin(ngx_http_request_t *r);
static void ngx_kanban_signup_connect(ngx_kanban_signup_t *su);
static void ngx_kanban_signup_connected(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_signup_rehearsed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_signup_admin_inserted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_signup_admin_made(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_signup_activated(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_signup_undo(ngx_http_request_t *r, ngx_uint_t error);
static void ngx_kanban_signup_dropped(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_signup_deleted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_signup_respond(ngx_http_request_t *r,
    ngx_kanban_signup_t *su);
static ngx_int_t ngx_kanban_signup_quote(ngx_pool_t *pool, ngx_str_t *name,
    ngx_str_t *out);
static void ngx_kanban_signup_server(ngx_kanban_signup_t *su,
    ngx_kanban_pg_db_t *db);


static ngx_kanban_field_t  ngx_kanban_signup_admin_fields[] = {
    { "email", NGX_KANBAN_FIELD_EMAIL, 1, 3, 254, NULL, NULL },
    { "password", NGX_KANBAN_FIELD_STRING, 1, NGX_KANBAN_PASSWORD_MIN,
      NGX_KANBAN_PASSWORD_MAX, NULL, ngx_kanban_password_check },
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_field_t  ngx_kanban_signup_fields[] = {
    { "slug", NGX_KANBAN_FIELD_STRING, 1, 0, 64, NULL,
      ngx_kanban_signup_check_slug },
    { "name", NGX_KANBAN_FIELD_STRING, 1, 1, 200, NULL, NULL },
    { "admin", NGX_KANBAN_FIELD_OBJECT, 1, 0, 0,
      ngx_kanban_signup_admin_fields, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


static char  *ngx_kanban_reserved_slugs[] = {
    "www", "api", "admin", "app", "s", "static", "assets", "mail",
    "status", "health", "metrics", NULL
};


/* The slug claimed and a spare taken, in one round trip
 * (sql/catalog/011_claim_workspace.sql); no row: the slug is taken. */
static ngx_kanban_pg_stmt_t  ngx_kanban_signup_claim = ngx_kanban_pg_stmt(
    "signup_claim_spare",
    "SELECT id, db_name, db_dsn, spare FROM claim_workspace($1, $2)");

/* The admin, the workspace's name and the audit row in one statement:
 * all or none without a transaction's BEGIN and COMMIT round trips. */
static ngx_kanban_pg_stmt_t  ngx_kanban_signup_admin_stmt =
    ngx_kanban_pg_stmt(
    "signup_admin_settle",
    "WITH u AS ("
    "  INSERT INTO users (email, name, role, password_hash)"
    "  VALUES ($1, $2, 'admin', $3)"
    "  RETURNING id, email, role),"
    " s AS (UPDATE settings SET value = to_jsonb($4::text),"
    "              updated_at = now() WHERE key = 'name'),"
    " a AS (INSERT INTO activity_log (actor_id, entity_type, entity_id,"
    "                                 action, new_values)"
    "       SELECT u.id, 'user', u.id, 'created',"
    "              jsonb_build_object('email', u.email, 'role', u.role)"
    "         FROM u)"
    " SELECT u.id, (SELECT coalesce(max(version), 0)"
    "                 FROM schema_migrations)"
    "   FROM u");

/* The workspace active and its provisioning job (of the same id, made by
 * the claim: sql/catalog/014_jobs.sql) done, in one statement. */
static ngx_kanban_pg_stmt_t  ngx_kanban_signup_activate = ngx_kanban_pg_stmt(
    "signup_activate",
    "WITH t AS (UPDATE tenants SET status = 'active', schema_version = $2,"
    "                              updated_at = now()"
    "            WHERE id = $1 RETURNING id)"
    " UPDATE jobs SET state = 'succeeded', progress = 100,"
    "                 finished_at = now(), lease_until = NULL,"
    "                 updated_at = now()"
    "  WHERE id IN (SELECT id FROM t) AND state = 'running'");

/* The claim gone; its job stays, failed, so that the operator sees it. */
static ngx_kanban_pg_stmt_t  ngx_kanban_signup_forget = ngx_kanban_pg_stmt(
    "signup_forget",
    "WITH t AS (DELETE FROM tenants WHERE id = $1"
    "              AND status = 'provisioning' RETURNING id)"
    " UPDATE jobs SET state = 'failed', finished_at = now(),"
    "                 error = 'the sign-up failed and was undone',"
    "                 lease_until = NULL, updated_at = now()"
    "  WHERE id = $1 AND state = 'running'");


ngx_int_t
ngx_kanban_signup_handler(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx)
{
    ngx_kanban_json_t      *admin;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_signup_t    *su;
    ngx_kanban_pg_query_t  *q;

    su = ngx_pcalloc(r->pool, sizeof(ngx_kanban_signup_t));
    if (su == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = su;

    admin = ngx_kanban_json_get(ctx->body, "admin");

    su->slug = *ngx_kanban_json_string(ctx->body, "slug");
    su->name = *ngx_kanban_json_string(ctx->body, "name");
    su->email = *ngx_kanban_json_string(admin, "email");
    su->admin_name = *ngx_kanban_json_string(admin, "name");
    su->password = *ngx_kanban_json_string(admin, "password");

    /* the hash (tens of milliseconds in a thread) runs beside the claim;
     * a claim refused leaves it to finish unheard */
    if (ngx_kanban_password_hash_prompt(r, &su->password,
                                        ngx_kanban_signup_hashed)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    su->hashing = 1;
    su->start = ngx_current_msec;

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_signup_claim,
                             ngx_kanban_signup_claimed, 2,
                             &su->slug, &su->name)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static char *
ngx_kanban_signup_check_slug(ngx_str_t *slug, char **message)
{
    char  **w;

    if (!ngx_kanban_slug_valid(slug)) {
        *message = "3 to 32 characters: lowercase letters, digits and "
                   "hyphens, starting with a letter and not ending with a "
                   "hyphen.";
        return "invalid_format";
    }

    for (w = ngx_kanban_reserved_slugs; *w; w++) {
        if (slug->len == ngx_strlen(*w)
            && ngx_strncmp(slug->data, *w, slug->len) == 0)
        {
            *message = "This name is reserved.";
            return "reserved";
        }
    }

    return NULL;
}


static void
ngx_kanban_signup_claimed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t            *id, *db_name, *db_dsn, *spare;
    ngx_kanban_signup_t  *su;

    su = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_pg_problem(r, q));
        return;
    }

    if (PQntuples(q->result) == 0) {
        ngx_http_finalize_request(r,
            ngx_kanban_problem(r, NGX_KANBAN_ERR_ALREADY_EXISTS,
                               "A workspace with this slug exists."));
        return;
    }

    id = ngx_kanban_pg_value(r, q->result, 0, 0);
    db_name = ngx_kanban_pg_value(r, q->result, 0, 1);
    db_dsn = ngx_kanban_pg_value(r, q->result, 0, 2);
    spare = ngx_kanban_pg_value(r, q->result, 0, 3);

    su->claimed = ngx_current_msec - su->start;

    if (id == NULL || db_name == NULL || db_dsn == NULL || spare == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    su->id.data = ngx_pstrdup(r->pool, id);
    su->id.len = id->len;
    su->db_name.data = ngx_pstrdup(r->pool, db_name);
    su->db_name.len = db_name->len;
    su->db_dsn.data = ngx_pnalloc(r->pool, db_dsn->len + 1);
    su->db_dsn.len = db_dsn->len;

    if (su->db_dsn.data) {
        /* libpq reads it as a C string */
        *ngx_cpymem(su->db_dsn.data, db_dsn->data, db_dsn->len) = '\0';
    }

    if (su->id.data == NULL || su->db_name.data == NULL
        || su->db_dsn.data == NULL)
    {
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
        return;
    }

    if (spare->len == 1 && spare->data[0] == 't') {
        /* from here on it is this workspace's: undo drops it */
        su->database_made = 1;
        su->database = su->claimed;
        ngx_kanban_signup_connect(su);
        ngx_kanban_signup_admin(r);
        return;
    }

    /* none left: make one */
    ngx_kanban_signup_create(r);
}


static void
ngx_kanban_signup_create(ngx_http_request_t *r)
{
    u_char                  *p;
    ngx_str_t                sql, name, template;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_signup_t     *su;
    ngx_kanban_pg_query_t   *q;
    ngx_kanban_main_conf_t  *kmcf;

    su = ngx_kanban_ctx(r)->data;
    kmcf = ngx_kanban_main_conf();

    /* CREATE DATABASE takes no parameters: both names are quoted
     * identifiers, one made by the catalog, one from the configuration */
    if (ngx_kanban_signup_quote(r->pool, &su->db_name, &name) != NGX_OK
        || ngx_kanban_signup_quote(r->pool, &kmcf->template_db, &template)
           != NGX_OK)
    {
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
        return;
    }

    sql.len = sizeof("CREATE DATABASE  TEMPLATE ") - 1 + name.len
              + template.len;
    sql.data = ngx_pnalloc(r->pool, sql.len);
    if (sql.data == NULL) {
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
        return;
    }

    p = ngx_cpymem(sql.data, "CREATE DATABASE ", 16);
    p = ngx_cpymem(p, name.data, name.len);
    p = ngx_cpymem(p, " TEMPLATE ", 10);
    ngx_memcpy(p, template.data, template.len);

    ngx_kanban_signup_server(su, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run_sql(q, &sql, ngx_kanban_signup_created)
           != NGX_OK)
    {
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
    }
}


static void
ngx_kanban_signup_created(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_signup_t  *su;

    su = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        if (q->error == NGX_KANBAN_PG_SQL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kanban: creating the database of \"%V\" failed: "
                          "%s", &su->slug, PQresultErrorMessage(q->result));
        }

        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_UNAVAILABLE);
        return;
    }

    su->database_made = 1;
    su->database = ngx_current_msec - su->start;

    ngx_kanban_signup_connect(su);
    ngx_kanban_signup_admin(r);
}


/* While the password is still being hashed, the pool connects to the new
 * database and runs the admin's statement once in a transaction it rolls
 * back (a dry run: nothing of it stays, and its row locks go with the
 * ROLLBACK the pool sends as it takes the connection back): the real one
 * then finds the connection made, the statement prepared, the backend's
 * caches of the tables and the plans of their triggers warm, instead of
 * paying for all of that after the hash. A query of its own, not the
 * request's: the request may end first. */

static void
ngx_kanban_signup_connect(ngx_kanban_signup_t *su)
{
    ngx_pool_t             *pool;
    ngx_kanban_tenant_t     t;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (!su->hashing) {
        return;
    }

    pool = ngx_create_pool(512, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ngx_memzero(&t, sizeof(ngx_kanban_tenant_t));
    /* with its '\0': libpq reads it as a C string */
    t.db_dsn.data = ngx_pnalloc(pool, su->db_dsn.len + 1);
    t.db_dsn.len = su->db_dsn.len;

    if (t.db_dsn.data) {
        ngx_memcpy(t.db_dsn.data, su->db_dsn.data, su->db_dsn.len + 1);
    }

    t.db_name.data = ngx_pstrdup(pool, &su->db_name);
    t.db_name.len = su->db_name.len;

    if (t.db_dsn.data == NULL || t.db_name.data == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_kanban_pg_tenant_db(&t, &db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    q->data = pool;

    if (ngx_kanban_pg_begin(q, ngx_kanban_signup_connected) != NGX_OK) {
        ngx_destroy_pool(pool);
    }
}


static void
ngx_kanban_signup_connected(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t  email = ngx_string("dry-run@signup.invalid");
    ngx_str_t  name = ngx_string("dry run");
    ngx_str_t  hash = ngx_string("$argon2id$dry-run");

    if (q->error != NGX_KANBAN_PG_OK
        || ngx_kanban_pg_run(q, &ngx_kanban_signup_admin_stmt,
                             ngx_kanban_signup_rehearsed, 4, &email, &name,
                             &hash, &name)
           != NGX_OK)
    {
        ngx_destroy_pool(q->data);
    }
}


/* Never committed: the pool rolls it back. */

static void
ngx_kanban_signup_rehearsed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_destroy_pool(q->data);
}


/* The password's hash is back; the admin waits for it and for the
 * database, whichever comes last. */

static void
ngx_kanban_signup_hashed(ngx_http_request_t *r, ngx_str_t *hash)
{
    ngx_kanban_signup_t  *su;

    su = ngx_kanban_ctx(r)->data;
    su->hashing = 0;
    su->hashed = ngx_current_msec - su->start;

    if (su->undoing) {
        return;
    }

    if (hash->len == 0) {
        if (su->id.len == 0) {
            /* the claim is still on its way: it sees the empty hash */
            return;
        }

        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
        return;
    }

    su->hash = *hash;

    if (su->database_made) {
        ngx_kanban_signup_admin(r);
    }
}


static void
ngx_kanban_signup_admin(ngx_http_request_t *r)
{
    ngx_kanban_tenant_t     t;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_signup_t    *su;
    ngx_kanban_pg_query_t  *q;

    su = ngx_kanban_ctx(r)->data;

    if (su->hashing) {
        return;
    }

    if (su->hash.len == 0) {
        /* the hash failed while the database was being made */
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
        return;
    }

    ngx_memzero(&t, sizeof(ngx_kanban_tenant_t));
    t.db_name = su->db_name;
    t.db_dsn = su->db_dsn;

    ngx_kanban_pg_tenant_db(&t, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_signup_admin_stmt,
                             ngx_kanban_signup_admin_inserted, 4, &su->email,
                             &su->admin_name, &su->hash, &su->name)
           != NGX_OK)
    {
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
    }
}


static void
ngx_kanban_signup_admin_inserted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q)
{
    ngx_str_t            *version;
    ngx_kanban_signup_t  *su;

    su = ngx_kanban_ctx(r)->data;
    su->admin = ngx_current_msec - su->start;

    version = ngx_kanban_pg_value(r, q->result, 0, 1);

    if (q->error == NGX_KANBAN_PG_OK && version == NULL) {
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
        return;
    }

    if (version != NULL) {
        su->version.data = ngx_pstrdup(r->pool, version);
        su->version.len = version->len;

        if (su->version.data == NULL) {
            ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
            return;
        }
    }

    ngx_kanban_signup_admin_made(r, q);
}


static void
ngx_kanban_signup_admin_made(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_signup_t    *su;
    ngx_kanban_pg_query_t  *cq;

    su = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        if (q->error == NGX_KANBAN_PG_SQL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kanban: creating the admin of \"%V\" failed: %s",
                          &su->slug, PQresultErrorMessage(q->result));
        }

        ngx_kanban_signup_undo(r, q->error == NGX_KANBAN_PG_UNAVAILABLE
                                  ? NGX_KANBAN_ERR_UNAVAILABLE
                                  : NGX_KANBAN_ERR_INTERNAL);
        return;
    }

    ngx_kanban_pg_catalog(&db);

    cq = ngx_kanban_pg_query(r, &db);
    if (cq == NULL
        || ngx_kanban_pg_run(cq, &ngx_kanban_signup_activate,
                             ngx_kanban_signup_activated, 2, &su->id,
                             &su->version)
           != NGX_OK)
    {
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_INTERNAL);
    }
}


static void
ngx_kanban_signup_activated(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_signup_t  *su;

    su = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_signup_undo(r, NGX_KANBAN_ERR_UNAVAILABLE);
        return;
    }

    /* a probe of this slug before it existed may be cached as unknown */
    ngx_kanban_tenant_forget(&su->slug);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "kanban: workspace \"%V\" created in %M ms (claimed "
                  "at %M, password hashed at %M, database %s at %M, admin "
                  "made at %M)", &su->slug, ngx_current_msec - su->start,
                  su->claimed, su->hashed,
                  su->database == su->claimed ? "spare" : "created",
                  su->database, su->admin);

    ngx_http_finalize_request(r, ngx_kanban_signup_respond(r, su));
}


/* Undo: drop the database if it was made, then the catalog's claim. The
 * client gets the problem of the step that failed. */

static void
ngx_kanban_signup_undo(ngx_http_request_t *r, ngx_uint_t error)
{
    u_char                 *p;
    ngx_str_t               sql, name;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_signup_t    *su;
    ngx_kanban_pg_query_t  *q;

    su = ngx_kanban_ctx(r)->data;
    su->error = error;
    su->undoing = 1;

    if (su->database_made) {
        ngx_kanban_signup_server(su, &db);

    } else {
        ngx_kanban_pg_catalog(&db);
    }

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (!su->database_made) {
        ngx_kanban_signup_dropped(r, q);
        return;
    }

    if (ngx_kanban_signup_quote(r->pool, &su->db_name, &name) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* FORCE: the pool may hold a connection to the new database */
    sql.len = sizeof("DROP DATABASE IF EXISTS  WITH (FORCE)") - 1 + name.len;
    sql.data = ngx_pnalloc(r->pool, sql.len);
    if (sql.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(sql.data, "DROP DATABASE IF EXISTS ", 24);
    p = ngx_cpymem(p, name.data, name.len);
    ngx_memcpy(p, " WITH (FORCE)", 13);

    if (ngx_kanban_pg_run_sql(q, &sql, ngx_kanban_signup_dropped) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_signup_dropped(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_pg_db_t    db;
    ngx_kanban_signup_t  *su;

    su = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: could not drop the database of the failed "
                      "sign-up \"%V\" (%V); drop it by hand",
                      &su->slug, &su->db_name);
    }

    if (su->database_made) {
        /* the claim is the catalog's */
        ngx_kanban_pg_catalog(&db);

        q = ngx_kanban_pg_query(r, &db);
        if (q == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (ngx_kanban_pg_run(q, &ngx_kanban_signup_forget,
                          ngx_kanban_signup_deleted, 1, &su->id)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_kanban_signup_deleted(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_signup_t  *su;

    su = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        /* the claim stays provisioning: invisible, and reclaimed later */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban: could not remove the failed sign-up \"%V\"",
                      &su->slug);
    }

    ngx_http_finalize_request(r, ngx_kanban_problem(r, su->error, NULL));
}


static ngx_int_t
ngx_kanban_signup_respond(ngx_http_request_t *r, ngx_kanban_signup_t *su)
{
    ngx_str_t         body, url;
    ngx_kanban_jw_t   jw;

    if (ngx_kanban_tenant_origin(r->pool, &su->slug, "/", &url) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_kanban_jw_init(&jw, r->pool, 256) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "id");
    ngx_kanban_jw_string(&jw, &su->id);
    ngx_kanban_jw_key(&jw, "slug");
    ngx_kanban_jw_string(&jw, &su->slug);
    ngx_kanban_jw_key(&jw, "name");
    ngx_kanban_jw_string(&jw, &su->name);
    ngx_kanban_jw_key(&jw, "url");
    ngx_kanban_jw_string(&jw, &url);
    ngx_kanban_jw_key(&jw, "status");
    ngx_kanban_jw_cstring(&jw, "active");
    ngx_kanban_jw_close(&jw, '}');

    if (ngx_kanban_jw_result(&jw, &body) != NGX_OK
        || ngx_kanban_add_header(r, "Location", &url) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_kanban_send_json(r, NGX_HTTP_CREATED, &body);
}


/* "name" with inner quotes doubled: an identifier SQL cannot escape */

static ngx_int_t
ngx_kanban_signup_quote(ngx_pool_t *pool, ngx_str_t *name, ngx_str_t *out)
{
    u_char      *p;
    ngx_uint_t   i;

    p = ngx_pnalloc(pool, 2 * name->len + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    *p++ = '"';

    for (i = 0; i < name->len; i++) {
        if (name->data[i] == '\0') {
            return NGX_ERROR;
        }

        if (name->data[i] == '"') {
            *p++ = '"';
        }

        *p++ = name->data[i];
    }

    *p++ = '"';
    out->len = p - out->data;

    return NGX_OK;
}


/* The maintenance database of the workspace's server: '' is the
 * catalog's own server, reached as the catalog. */

static void
ngx_kanban_signup_server(ngx_kanban_signup_t *su, ngx_kanban_pg_db_t *db)
{
    if (su->db_dsn.len == 0) {
        ngx_kanban_pg_catalog(db);
        return;
    }

    db->dsn = su->db_dsn;
    ngx_str_null(&db->name);
}
