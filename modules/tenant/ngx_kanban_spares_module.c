
/*
 * ngx_http_kanban_spares_module: spare databases kept ready for sign-ups.
 *
 *     kanban_spare_databases 4;
 *     kanban_spare_databases_at_once 4;
 *
 * A sign-up that finds a spare database of its server takes it (a catalog
 * row) instead of waiting for CREATE DATABASE. Worker 0 of each node asks
 * the catalog every second which ones to make (spare_databases_wanted(),
 * sql/catalog/017_spare_refill_at_once.sql: up to at_once being made a
 * server, by all nodes together, the emptiest server first; nodes taking
 * turns) and makes them through the pool, side by side, never on a
 * request's path: CREATE DATABASE from the template, one connection to
 * it (its first backend builds the catalog caches a sign-up's would
 * otherwise build), then the row marked ready. As soon as one is made
 * the catalog is asked again, so that a burst of sign-ups is followed by
 * as many makings at once as the cap allows. A server that took more
 * sign-ups in the last 10 s than kanban_spare_databases keeps that many
 * ready (up to four times the number): refilled ahead by the recent
 * rate. 0 (the default) leaves it to kanbanctl spares.
 */

/* SQL: sql/catalog/006_spare_databases.sql, 010_spare_refill.sql,
 *      017_spare_refill_at_once.sql */
#include "ngx_kanban_pg.h"


/* how often the catalog is asked; at once again after a spare is made */
#define NGX_KANBAN_SPARES_EVERY  1000
#define NGX_KANBAN_SPARES_NEXT   10

/* spares ahead by the recent sign-up rate (the statement below) */
#define NGX_KANBAN_SPARES_RATE_WINDOW  "10 seconds"
#define NGX_KANBAN_SPARES_RATE_MOST    "4"


typedef struct {
    ngx_uint_t                 want;
    ngx_uint_t                 at_once;
} ngx_kanban_spares_conf_t;


/* One making, from the catalog's answer to the row marked ready. */
typedef struct {
    ngx_pool_t                *pool;
    ngx_str_t                  db_name;
    ngx_kanban_pg_db_t         server;         /* its maintenance database */
    ngx_uint_t                 made;
} ngx_kanban_spare_t;


static ngx_int_t ngx_kanban_spares_init_process(ngx_cycle_t *cycle);
static void ngx_kanban_spares_tick(ngx_event_t *ev);
static void ngx_kanban_spares_wanted(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_spares_make(PGresult *res, int row);
static void ngx_kanban_spares_dropped(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_spares_created(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_spares_warmed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_spares_recorded(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_spares_command(ngx_kanban_spare_t *s,
    char *before, ngx_str_t *name, char *after, ngx_str_t *sql);
static void ngx_kanban_spares_done(ngx_kanban_spare_t *s, ngx_uint_t ok);
static void *ngx_kanban_spares_create_conf(ngx_conf_t *cf);
static char *ngx_kanban_spares_init_conf(ngx_conf_t *cf, void *conf);


/* Ahead by the recent rate: a server's spares are the configured number,
 * or as many as its sign-ups of the last RATE_WINDOW took when more (a
 * burst's next seconds are likely as busy), at most RATE_MOST times the
 * configured number (each spare is a database on disk). */
static ngx_kanban_pg_stmt_t  ngx_kanban_spares_wanted_stmt = ngx_kanban_pg_stmt(
    "spares_wanted",
    "SELECT db_name, dsn FROM spare_databases_wanted("
    "  least($1::int * " NGX_KANBAN_SPARES_RATE_MOST ", greatest($1::int,"
    "    (SELECT coalesce(max(n), 0)::int FROM (SELECT count(*) AS n"
    "       FROM tenants WHERE created_at > now() - interval '"
    NGX_KANBAN_SPARES_RATE_WINDOW "' GROUP BY server) recent))),"
    "  $2, $3)");

static ngx_kanban_pg_stmt_t  ngx_kanban_spares_ready_stmt = ngx_kanban_pg_stmt(
    "spares_ready",
    "UPDATE spare_databases SET ready = true WHERE db_name = $1");

static ngx_kanban_pg_stmt_t  ngx_kanban_spares_forget_stmt = ngx_kanban_pg_stmt(
    "spares_forget",
    "DELETE FROM spare_databases WHERE db_name = $1 AND NOT ready");


static ngx_command_t  ngx_kanban_spares_commands[] = {

    { ngx_string("kanban_spare_databases"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_spares_conf_t, want),
      NULL },

    { ngx_string("kanban_spare_databases_at_once"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_kanban_spares_conf_t, at_once),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_kanban_spares_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_kanban_spares_create_conf,         /* create main configuration */
    ngx_kanban_spares_init_conf,           /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_kanban_spares_module = {
    NGX_MODULE_V1,
    &ngx_kanban_spares_module_ctx,         /* module context */
    ngx_kanban_spares_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_kanban_spares_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_event_t  ngx_kanban_spares_timer;
static ngx_uint_t   ngx_kanban_spares_want;
static ngx_uint_t   ngx_kanban_spares_at_once;
static ngx_uint_t   ngx_kanban_spares_asking;    /* the catalog asked */
static ngx_uint_t   ngx_kanban_spares_making;    /* makings in flight */


static ngx_int_t
ngx_kanban_spares_init_process(ngx_cycle_t *cycle)
{
    ngx_kanban_spares_conf_t  *scf;

    scf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_kanban_spares_module);

    if (scf == NULL || scf->want == 0 || ngx_worker != 0
        || ngx_kanban_main_conf() == NULL
        || ngx_kanban_main_conf()->catalog.len == 0)
    {
        return NGX_OK;
    }

    ngx_kanban_spares_want = scf->want;
    ngx_kanban_spares_at_once = scf->at_once;

    ngx_kanban_spares_timer.handler = ngx_kanban_spares_tick;
    ngx_kanban_spares_timer.log = cycle->log;
    ngx_kanban_spares_timer.data = &ngx_kanban_spares_timer;
    ngx_kanban_spares_timer.cancelable = 1;

    ngx_add_timer(&ngx_kanban_spares_timer, NGX_KANBAN_SPARES_EVERY);

    return NGX_OK;
}


/* Asks the catalog for as many makings as this node has room for; a
 * making that ends asks again (ngx_kanban_spares_recorded). */

static void
ngx_kanban_spares_tick(ngx_event_t *ev)
{
    u_char                  *p;
    ngx_str_t                args[3];
    ngx_uint_t               i, values[3];
    ngx_pool_t              *pool;
    ngx_kanban_pg_db_t       db;
    ngx_kanban_pg_query_t   *q;

    if (ngx_exiting || ngx_terminate || ngx_quit
        || ngx_kanban_spares_asking
        || ngx_kanban_spares_making >= ngx_kanban_spares_at_once)
    {
        return;
    }

    pool = ngx_create_pool(1024, ev->log);
    if (pool == NULL) {
        goto later;
    }

    p = ngx_pnalloc(pool, 3 * NGX_INT_T_LEN);
    if (p == NULL) {
        ngx_destroy_pool(pool);
        goto later;
    }

    values[0] = ngx_kanban_spares_want;
    values[1] = ngx_kanban_spares_at_once;
    values[2] = ngx_kanban_spares_at_once - ngx_kanban_spares_making;

    for (i = 0; i < 3; i++) {
        args[i].data = p;
        p = ngx_sprintf(p, "%ui", values[i]);
        args[i].len = p - args[i].data;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(pool, &db);
    if (q == NULL) {
        ngx_destroy_pool(pool);
        goto later;
    }

    q->data = pool;
    ngx_kanban_spares_asking = 1;

    if (ngx_kanban_pg_run(q, &ngx_kanban_spares_wanted_stmt,
                          ngx_kanban_spares_wanted, 3,
                          &args[0], &args[1], &args[2])
        != NGX_OK)
    {
        ngx_kanban_spares_asking = 0;
        ngx_destroy_pool(pool);
        goto later;
    }

    return;

later:

    ngx_add_timer(ev, NGX_KANBAN_SPARES_EVERY);
}


/* The catalog's answer: names to make, each on its server, or nothing
 * to do (asked again a second later). */

static void
ngx_kanban_spares_wanted(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int          row, rows;
    ngx_pool_t  *pool;

    pool = q->data;
    ngx_kanban_spares_asking = 0;

    rows = 0;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: spare databases: the catalog did not "
                      "answer: %s", q->result
                          ? PQresultErrorMessage(q->result) : "");

    } else {
        rows = PQntuples(q->result);
    }

    /* each making ends in ngx_kanban_spares_recorded, which asks again */
    for (row = 0; row < rows; row++) {
        ngx_kanban_spares_make(q->result, row);
    }

    ngx_destroy_pool(pool);

    if (ngx_kanban_spares_making == 0
        && !ngx_exiting && !ngx_terminate && !ngx_quit
        && !ngx_kanban_spares_timer.timer_set)
    {
        ngx_add_timer(&ngx_kanban_spares_timer, NGX_KANBAN_SPARES_EVERY);
    }
}


/* One making, with a pool of its own. A name handed out again (its
 * making died) may exist half-made: dropped first. */

static void
ngx_kanban_spares_make(PGresult *res, int row)
{
    char                   *dsn;
    size_t                  len;
    ngx_str_t               sql;
    ngx_pool_t             *pool;
    ngx_kanban_spare_t     *s;
    ngx_kanban_pg_query_t  *q;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;     /* its row is made again after ten minutes */
    }

    s = ngx_pcalloc(pool, sizeof(ngx_kanban_spare_t));
    if (s == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    s->pool = pool;
    ngx_kanban_spares_making++;

    len = PQgetlength(res, row, 0);
    s->db_name.data = ngx_pnalloc(s->pool, len);
    s->db_name.len = len;

    dsn = PQgetvalue(res, row, 1);
    len = ngx_strlen(dsn);

    if (s->db_name.data == NULL) {
        ngx_str_null(&s->db_name);
        ngx_kanban_spares_done(s, 0);
        return;
    }

    ngx_memcpy(s->db_name.data, PQgetvalue(res, row, 0), s->db_name.len);

    /* '' is the catalog's own server */
    if (len == 0) {
        ngx_kanban_pg_catalog(&s->server);

    } else {
        s->server.dsn.data = ngx_pnalloc(s->pool, len + 1);
        if (s->server.dsn.data == NULL) {
            ngx_kanban_spares_done(s, 0);
            return;
        }

        /* libpq reads it as a C string */
        ngx_memcpy(s->server.dsn.data, dsn, len + 1);
        s->server.dsn.len = len;
        ngx_str_null(&s->server.name);
    }

    q = ngx_kanban_pg_query_background(s->pool, &s->server);

    if (q == NULL
        || ngx_kanban_spares_command(s, "DROP DATABASE IF EXISTS ",
                                     &s->db_name, " WITH (FORCE)", &sql)
           != NGX_OK)
    {
        ngx_kanban_spares_done(s, 0);
        return;
    }

    q->data = s;

    if (ngx_kanban_pg_run_sql(q, &sql, ngx_kanban_spares_dropped) != NGX_OK) {
        ngx_kanban_spares_done(s, 0);
    }
}


static void
ngx_kanban_spares_dropped(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    u_char              *p;
    ngx_str_t            sql, template;
    ngx_kanban_spare_t  *s;

    s = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_spares_done(s, 0);
        return;
    }

    /* the template's name is the configuration's, quoted like the name */
    if (ngx_kanban_spares_command(s, "", &ngx_kanban_main_conf()->template_db,
                                  "", &template)
        != NGX_OK
        || ngx_kanban_spares_command(s, "CREATE DATABASE ", &s->db_name,
                                     " TEMPLATE ", &sql)
           != NGX_OK)
    {
        ngx_kanban_spares_done(s, 0);
        return;
    }

    p = ngx_pnalloc(s->pool, sql.len + template.len);
    if (p == NULL) {
        ngx_kanban_spares_done(s, 0);
        return;
    }

    ngx_memcpy(p, sql.data, sql.len);
    ngx_memcpy(p + sql.len, template.data, template.len);
    sql.data = p;
    sql.len += template.len;

    q = ngx_kanban_pg_query_background(s->pool, &s->server);
    if (q == NULL) {
        ngx_kanban_spares_done(s, 0);
        return;
    }

    q->data = s;

    if (ngx_kanban_pg_run_sql(q, &sql, ngx_kanban_spares_created) != NGX_OK) {
        ngx_kanban_spares_done(s, 0);
    }
}


/* Made: one connection to it, so that the first backend's work (the
 * relation cache file of a database never opened) is done here, not in
 * the sign-up that takes it. */

static void
ngx_kanban_spares_created(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_str_t               sql = ngx_string(
                                "SELECT count(*) FROM users, settings");
    ngx_kanban_pg_db_t      db;
    ngx_kanban_spare_t     *s;

    s = q->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: making the spare database \"%V\" failed: %s",
                      &s->db_name, q->result
                          ? PQresultErrorMessage(q->result) : "unavailable");
        ngx_kanban_spares_done(s, 0);
        return;
    }

    db.dsn = s->server.dsn;
    db.name = s->db_name;

    q = ngx_kanban_pg_query_background(s->pool, &db);
    if (q == NULL) {
        ngx_kanban_spares_done(s, 0);
        return;
    }

    q->data = s;

    if (ngx_kanban_pg_run_sql(q, &sql, ngx_kanban_spares_warmed) != NGX_OK) {
        ngx_kanban_spares_done(s, 0);
    }
}


static void
ngx_kanban_spares_warmed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_kanban_spare_t  *s;

    s = q->data;

    /* a database that took no connection is no use to a sign-up */
    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_spares_done(s, 0);
        return;
    }

    s->made = 1;
    ngx_kanban_spares_done(s, 1);
}


/* The catalog told: ready, or the row gone (the name is handed out again
 * only if this fails too, after ten minutes). */

static void
ngx_kanban_spares_done(ngx_kanban_spare_t *s, ngx_uint_t ok)
{
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (s->db_name.len == 0) {
        ngx_kanban_spares_recorded(NULL, NULL);
        ngx_destroy_pool(s->pool);
        return;
    }

    ngx_kanban_pg_catalog(&db);

    q = ngx_kanban_pg_query_background(s->pool, &db);
    if (q == NULL) {
        ngx_destroy_pool(s->pool);
        ngx_kanban_spares_recorded(NULL, NULL);
        return;
    }

    q->data = s;

    if (ngx_kanban_pg_run(q, ok ? &ngx_kanban_spares_ready_stmt
                                : &ngx_kanban_spares_forget_stmt,
                          ngx_kanban_spares_recorded, 1, &s->db_name)
        != NGX_OK)
    {
        ngx_destroy_pool(s->pool);
        ngx_kanban_spares_recorded(NULL, NULL);
    }
}


/* The end of one making (q NULL: the pool is gone already): the
 * catalog asked again at once after a spare was made (room for one more
 * making), a second later otherwise. */

static void
ngx_kanban_spares_recorded(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_msec_t           after;
    ngx_uint_t           again;
    ngx_kanban_spare_t  *s;

    again = 0;

    if (q != NULL) {
        s = q->data;
        again = s->made && q->error == NGX_KANBAN_PG_OK;

        if (again) {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "kanban: spare database \"%V\" made", &s->db_name);
        }

        ngx_destroy_pool(s->pool);
    }

    ngx_kanban_spares_making--;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    after = again ? NGX_KANBAN_SPARES_NEXT : NGX_KANBAN_SPARES_EVERY;

    /* a sooner ask wins over a later one already set */
    if (ngx_kanban_spares_timer.timer_set) {
        if (ngx_kanban_spares_timer.timer.key <= ngx_current_msec + after) {
            return;
        }

        ngx_del_timer(&ngx_kanban_spares_timer);
    }

    ngx_add_timer(&ngx_kanban_spares_timer, after);
}


/* before "name" after, the name quoted as an identifier (inner quotes
 * doubled): CREATE and DROP DATABASE take no parameters. */

static ngx_int_t
ngx_kanban_spares_command(ngx_kanban_spare_t *s, char *before,
    ngx_str_t *name, char *after, ngx_str_t *sql)
{
    u_char      *p;
    size_t       lb, la;
    ngx_uint_t   i;

    lb = ngx_strlen(before);
    la = ngx_strlen(after);

    p = ngx_pnalloc(s->pool, lb + 2 * name->len + 2 + la);
    if (p == NULL) {
        return NGX_ERROR;
    }

    sql->data = p;
    p = ngx_cpymem(p, before, lb);
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
    p = ngx_cpymem(p, after, la);
    sql->len = p - sql->data;

    return NGX_OK;
}


static void *
ngx_kanban_spares_create_conf(ngx_conf_t *cf)
{
    ngx_kanban_spares_conf_t  *scf;

    scf = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_spares_conf_t));
    if (scf == NULL) {
        return NULL;
    }

    scf->want = NGX_CONF_UNSET_UINT;
    scf->at_once = NGX_CONF_UNSET_UINT;

    return scf;
}


static char *
ngx_kanban_spares_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_kanban_spares_conf_t  *scf = conf;

    ngx_conf_init_uint_value(scf->want, 0);
    ngx_conf_init_uint_value(scf->at_once, 4);

    if (scf->at_once == 0 || scf->at_once > 32) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kanban_spare_databases_at_once\" is 1 to 32");
        return NGX_CONF_ERROR;
    }

    if (scf->want > 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kanban_spare_databases\" is at most 1000");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
