
/*
 * Visits of share links, counted without a PostgreSQL round trip each:
 * every worker keeps a batch per workspace (a JSON array of visits) and
 * hands it to PostgreSQL every kanban_share_flush, or sooner when it
 * grows past NGX_KANBAN_SHARE_BATCH_MAX. The flush timer is not
 * cancelable, so a worker that is told to quit (a reload, nginx -s quit)
 * stays until its last batch is stored. A batch PostgreSQL could not take
 * for a passing reason is kept and tried again (for a few minutes; a
 * quitting worker, a few seconds); past NGX_KANBAN_SHARE_PENDING_MAX
 * waiting visits new ones are dropped, with a warning, rather than
 * memory.
 *
 * A batch PostgreSQL refuses for its data (a value a column does not
 * take) is tried again one visit at a time, so that only the visit it
 * cannot take is lost: logged, and counted in /metrics
 * (kanban_share_visits_lost_total).
 *
 * What a visit records: time, referrer, user agent (valid UTF-8, at most
 * 512 bytes each), whether the agent is a crawler (kanban_share_bots, one
 * signature a line, matched without case), and the address with its last
 * octet (IPv4) or last 80 bits (IPv6) zeroed: the full address is never
 * kept.
 */

/* SQL: sql/tenant/011_share_links.sql, 087_share_link_rules.sql */
#include "ngx_kanban_share.h"
#include "ngx_kanban_redis.h"
#include "ngx_kanban_sweep.h"


#define NGX_KANBAN_SHARE_BATCH_MAX    (1024 * 1024)
#define NGX_KANBAN_SHARE_PENDING_MAX  262144            /* visits */
#define NGX_KANBAN_SHARE_HEADER_MAX   512

/* how often a batch is tried before it is given up: for five minutes of
 * an outage; a worker that quits waits a few seconds only */
#define NGX_KANBAN_SHARE_ATTEMPTS     300
#define NGX_KANBAN_SHARE_ATTEMPTS_EXITING  5


typedef struct {
    ngx_queue_t                queue;
    ngx_pool_t                *pool;
    ngx_str_t                  slug;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_jw_t            jw;
    ngx_str_t                  json;           /* once sealed */
    ngx_array_t               *rows;           /* where each visit starts */
    ngx_uint_t                 count;
    ngx_uint_t                 attempts;
    ngx_uint_t                 one_by_one;     /* refused for its data */
    ngx_uint_t                 row;            /* the next to store alone */
} ngx_kanban_share_batch_t;


static ngx_kanban_share_batch_t *ngx_kanban_share_batch(
    ngx_kanban_tenant_t *tenant);
static void ngx_kanban_share_flush_handler(ngx_event_t *ev);
static void ngx_kanban_share_flush(ngx_kanban_share_batch_t *b);
static void ngx_kanban_share_flushed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_share_row(ngx_kanban_share_batch_t *b,
    ngx_str_t *json);
static void ngx_kanban_share_next(ngx_kanban_share_batch_t *b);
static void ngx_kanban_share_publish(ngx_kanban_share_batch_t *b,
    PGresult *res);
static void ngx_kanban_share_arm(void);
static ngx_uint_t ngx_kanban_share_transient(ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_clean(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out);
static ngx_int_t ngx_kanban_share_address(ngx_http_request_t *r,
    ngx_str_t *out);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_visits_stmt =
    ngx_kanban_pg_stmt("share_visits_add",
    "SELECT activity, link, visits FROM share_visits_add($1::json)");


static ngx_queue_t  ngx_kanban_share_pending;     /* batches filling */
static ngx_queue_t  ngx_kanban_share_retry;       /* batches refused */
static ngx_event_t  ngx_kanban_share_timer;
static ngx_uint_t   ngx_kanban_share_npending;    /* visits not stored */


ngx_int_t
ngx_kanban_share_visits_init_process(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_kanban_share_pending);
    ngx_queue_init(&ngx_kanban_share_retry);

    ngx_kanban_share_timer.handler = ngx_kanban_share_flush_handler;
    ngx_kanban_share_timer.log = cycle->log;
    ngx_kanban_share_timer.data = &ngx_kanban_share_timer;
    ngx_kanban_share_timer.cancelable = 0;

    return NGX_OK;
}


/* One successful visit; counted says PostgreSQL counted it already (a
 * link with max_visits); choice, where it was sent and by which rule
 * (NULL: nowhere, a crawler's preview). */

ngx_int_t
ngx_kanban_share_visit(ngx_http_request_t *r, ngx_kanban_tenant_t *tenant,
    ngx_kanban_share_link_t *link, ngx_kanban_share_choice_t *choice,
    ngx_uint_t counted)
{
    u_char                     rule[NGX_INT_T_LEN];
    size_t                    *row;
    ngx_str_t                  time, referrer, agent, address, number;
    ngx_str_t                  yes = ngx_string("true");
    ngx_str_t                  no = ngx_string("false");
    ngx_kanban_jw_t           *jw;
    ngx_kanban_share_batch_t  *b;

    if (ngx_kanban_share_npending >= NGX_KANBAN_SHARE_PENDING_MAX) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: share visit not recorded: %ui visits wait "
                      "for PostgreSQL", ngx_kanban_share_npending);
        return NGX_OK;
    }

    b = ngx_kanban_share_batch(tenant);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (r->headers_in.referer) {
        ngx_kanban_share_clean(r->pool, &r->headers_in.referer->value,
                               &referrer);
    } else {
        ngx_str_null(&referrer);
    }

    if (r->headers_in.user_agent) {
        ngx_kanban_share_clean(r->pool, &r->headers_in.user_agent->value,
                               &agent);
    } else {
        ngx_str_null(&agent);
    }

    if (ngx_kanban_share_address(r, &address) != NGX_OK) {
        return NGX_ERROR;
    }

    time.data = ngx_cached_http_log_iso8601.data;
    time.len = ngx_cached_http_log_iso8601.len;

    jw = &b->jw;

    row = ngx_array_push(b->rows);
    if (row == NULL) {
        return NGX_ERROR;
    }

    *row = jw->pos - jw->start;       /* its comma, when it has one */

    ngx_kanban_jw_open(jw, '{');
    ngx_kanban_jw_key(jw, "l");
    ngx_kanban_jw_string(jw, &link->id);
    ngx_kanban_jw_key(jw, "t");
    ngx_kanban_jw_string(jw, &time);
    ngx_kanban_jw_key(jw, "r");
    ngx_kanban_jw_string(jw, referrer.len ? &referrer : NULL);
    ngx_kanban_jw_key(jw, "u");
    ngx_kanban_jw_string(jw, agent.len ? &agent : NULL);
    ngx_kanban_jw_key(jw, "b");
    ngx_kanban_jw_raw(jw, ngx_kanban_share_is_bot(r) ? &yes : &no);
    ngx_kanban_jw_key(jw, "i");
    ngx_kanban_jw_string(jw, address.len ? &address : NULL);
    ngx_kanban_jw_key(jw, "c");
    ngx_kanban_jw_raw(jw, counted ? &yes : &no);

    if (choice) {
        if (choice->rule) {
            number.data = rule;
            number.len = ngx_sprintf(rule, "%ui", choice->rule) - rule;
            ngx_kanban_jw_key(jw, "k");
            ngx_kanban_jw_raw(jw, &number);
        }

        ngx_kanban_jw_key(jw, "d");
        ngx_kanban_jw_string(jw, choice->destination.len
                                 ? &choice->destination : NULL);
        ngx_kanban_jw_key(jw, "g");
        ngx_kanban_jw_string(jw, choice->country.len
                                 ? &choice->country : NULL);
    }

    ngx_kanban_jw_close(jw, '}');

    if (jw->failed) {
        b->rows->nelts--;
        return NGX_ERROR;
    }

    b->count++;
    ngx_kanban_share_npending++;

    if ((size_t) (jw->pos - jw->start) > NGX_KANBAN_SHARE_BATCH_MAX) {
        ngx_queue_remove(&b->queue);
        ngx_kanban_share_flush(b);
        return NGX_OK;
    }

    ngx_kanban_share_arm();

    return NGX_OK;
}


static ngx_kanban_share_batch_t *
ngx_kanban_share_batch(ngx_kanban_tenant_t *tenant)
{
    ngx_pool_t                *pool;
    ngx_queue_t               *q;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_share_batch_t  *b;

    for (q = ngx_queue_head(&ngx_kanban_share_pending);
         q != ngx_queue_sentinel(&ngx_kanban_share_pending);
         q = ngx_queue_next(q))
    {
        b = ngx_queue_data(q, ngx_kanban_share_batch_t, queue);

        if (b->slug.len == tenant->slug.len
            && ngx_strncmp(b->slug.data, tenant->slug.data, b->slug.len) == 0)
        {
            return b;
        }
    }

    pool = ngx_create_pool(16384, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    b = ngx_pcalloc(pool, sizeof(ngx_kanban_share_batch_t));
    if (b == NULL) {
        goto failed;
    }

    b->pool = pool;

    b->rows = ngx_array_create(pool, 64, sizeof(size_t));
    if (b->rows == NULL) {
        goto failed;
    }

    ngx_kanban_pg_tenant_db(tenant, &db);

    b->slug.data = ngx_pstrdup(pool, &tenant->slug);
    b->db.dsn.data = ngx_pstrdup(pool, &db.dsn);
    b->db.name.data = ngx_pstrdup(pool, &db.name);

    if (b->slug.data == NULL || b->db.dsn.data == NULL
        || b->db.name.data == NULL
        || ngx_kanban_jw_init(&b->jw, pool, 8192) != NGX_OK)
    {
        goto failed;
    }

    b->slug.len = tenant->slug.len;
    b->db.dsn.len = db.dsn.len;
    b->db.name.len = db.name.len;

    ngx_kanban_jw_open(&b->jw, '[');

    ngx_queue_insert_tail(&ngx_kanban_share_pending, &b->queue);

    return b;

failed:

    ngx_destroy_pool(pool);
    return NULL;
}


static void
ngx_kanban_share_flush_handler(ngx_event_t *ev)
{
    ngx_queue_t  *q;

    while (!ngx_queue_empty(&ngx_kanban_share_retry)) {
        q = ngx_queue_head(&ngx_kanban_share_retry);
        ngx_queue_remove(q);
        ngx_kanban_share_flush(ngx_queue_data(q, ngx_kanban_share_batch_t,
                                              queue));
    }

    while (!ngx_queue_empty(&ngx_kanban_share_pending)) {
        q = ngx_queue_head(&ngx_kanban_share_pending);
        ngx_queue_remove(q);
        ngx_kanban_share_flush(ngx_queue_data(q, ngx_kanban_share_batch_t,
                                              queue));
    }
}


/* The batch, off every queue, goes to PostgreSQL; its pool goes with the
 * answer. */

static void
ngx_kanban_share_flush(ngx_kanban_share_batch_t *b)
{
    ngx_str_t               json;
    ngx_kanban_pg_query_t  *q;

    if (b->json.data == NULL) {
        ngx_kanban_jw_close(&b->jw, ']');

        if (ngx_kanban_jw_result(&b->jw, &b->json) != NGX_OK) {
            goto failed;
        }
    }

    json = b->json;

    if (b->one_by_one && ngx_kanban_share_row(b, &json) != NGX_OK) {
        goto failed;
    }

    q = ngx_kanban_pg_query_background(b->pool, &b->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = b;

    if (ngx_kanban_pg_run(q, &ngx_kanban_share_visits_stmt,
                          ngx_kanban_share_flushed, 1, &json)
        == NGX_OK)
    {
        return;
    }

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "kanban: %ui share visits of \"%V\" lost: no memory",
                  b->count - b->row, &b->slug);

    ngx_kanban_metrics_share_visits_lost(b->count - b->row);
    ngx_kanban_share_npending -= b->count - b->row;
    ngx_destroy_pool(b->pool);
}


/* The batch's visit b->row alone, as a batch of one: "[{...}]". */

static ngx_int_t
ngx_kanban_share_row(ngx_kanban_share_batch_t *b, ngx_str_t *json)
{
    u_char  *p, *start, *end;
    size_t  *rows;

    rows = b->rows->elts;

    start = b->json.data + rows[b->row];
    end = (b->row + 1 < b->rows->nelts) ? b->json.data + rows[b->row + 1]
                                        : b->json.data + b->json.len - 1;

    if (*start == ',') {
        start++;
    }

    p = ngx_pnalloc(b->pool, end - start + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    json->data = p;

    *p++ = '[';
    p = ngx_cpymem(p, start, end - start);
    *p++ = ']';

    json->len = p - json->data;

    return NGX_OK;
}


static void
ngx_kanban_share_flushed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_uint_t                 limit, left;
    ngx_kanban_share_batch_t  *b;

    b = q->data;

    if (q->error == NGX_KANBAN_PG_OK) {
        ngx_kanban_share_publish(b, q->result);

        /* the visits' events may have queued webhook deliveries, after
         * the redirect's own wake */
        ngx_kanban_sweep_wrote(&b->slug, &b->db);

        ngx_kanban_share_next(b);
        return;
    }

    limit = ngx_exiting ? NGX_KANBAN_SHARE_ATTEMPTS_EXITING
                        : NGX_KANBAN_SHARE_ATTEMPTS;
    left = b->count - b->row;

    if (ngx_kanban_share_transient(q)) {
        if (++b->attempts < limit) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "kanban: %ui share visits of \"%V\" wait: %s",
                          left, &b->slug,
                          q->result ? PQresultErrorMessage(q->result)
                                    : "PostgreSQL is unavailable");

            ngx_queue_insert_tail(&ngx_kanban_share_retry, &b->queue);
            ngx_kanban_share_arm();
            return;
        }

        /* the outage outlasted the tries: what is left is lost */
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "kanban: %ui share visits of \"%V\" lost after %ui "
                      "tries: %s", left, &b->slug, b->attempts,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");

        ngx_kanban_metrics_share_visits_lost(left);
        ngx_kanban_share_npending -= left;
        ngx_destroy_pool(b->pool);
        return;
    }

    if (!b->one_by_one && b->count > 1) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: %ui share visits of \"%V\" refused, "
                      "stored one by one: %s", b->count, &b->slug,
                      PQresultErrorMessage(q->result));

        b->one_by_one = 1;
        b->attempts = 0;
        ngx_kanban_share_flush(b);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "kanban: a share visit of \"%V\" lost: %s",
                  &b->slug, PQresultErrorMessage(q->result));

    ngx_kanban_metrics_share_visits_lost(1);
    ngx_kanban_share_next(b);
}


/* What was sent is stored (or lost for its data): one by one, the next
 * visit goes; else the batch is done. */

static void
ngx_kanban_share_next(ngx_kanban_share_batch_t *b)
{
    if (b->one_by_one) {
        ngx_kanban_share_npending--;
        b->attempts = 0;

        if (++b->row < b->count) {
            ngx_kanban_share_flush(b);
            return;
        }

    } else {
        ngx_kanban_share_npending -= b->count;
    }

    ngx_destroy_pool(b->pool);
}


/* Worth another try: PostgreSQL away, or the statement undone by
 * something passing (a deadlock, a serialization failure, a timeout, a
 * lock not granted, resources short); anything else is in the data. */

static ngx_uint_t
ngx_kanban_share_transient(ngx_kanban_pg_query_t *q)
{
    char  *state;

    if (q->error == NGX_KANBAN_PG_UNAVAILABLE) {
        return 1;
    }

    state = q->result ? PQresultErrorField(q->result, PG_DIAG_SQLSTATE)
                      : NULL;

    return state == NULL
           || ngx_strncmp(state, "40", 2) == 0
           || ngx_strncmp(state, "53", 2) == 0
           || ngx_strncmp(state, "08", 2) == 0
           || ngx_strcmp(state, "57014") == 0
           || ngx_strcmp(state, "55P03") == 0;
}


/* share_link.visited, one event a link and batch, with its audit row */

static void
ngx_kanban_share_publish(ngx_kanban_share_batch_t *b, PGresult *res)
{
    u_char  *p, channel[sizeof("kanban:events:") + 64];
    u_char   event[256];
    int      i, n;

    if (b->slug.len > 64) {
        return;
    }

    p = ngx_sprintf(channel, "kanban:events:%V", &b->slug);
    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        if (PQgetlength(res, i, 1) > 36 || PQgetlength(res, i, 0) > 20
            || PQgetlength(res, i, 2) > 20)
        {
            continue;
        }

        ngx_kanban_redis_command(NULL, NULL, "PUBLISH %b %b",
            channel, (size_t) (p - channel),
            event,
            (size_t) (ngx_sprintf(event,
                          "{\"id\":%s,\"type\":\"share_link.visited\","
                          "\"data\":{\"id\":\"%s\",\"visits\":%s}}",
                          PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                          PQgetvalue(res, i, 2))
                      - event));
    }
}


static void
ngx_kanban_share_arm(void)
{
    ngx_kanban_share_main_conf_t  *smcf;

    if (ngx_kanban_share_timer.timer_set) {
        return;
    }

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_share_module);

    ngx_add_timer(&ngx_kanban_share_timer, smcf->flush);
}


/* A header as text PostgreSQL takes: at most NGX_KANBAN_SHARE_HEADER_MAX
 * bytes, whole UTF-8 characters, "?" for what is not one or is a control
 * character. */

static void
ngx_kanban_share_clean(ngx_pool_t *pool, ngx_str_t *in, ngx_str_t *out)
{
    u_char    *p, *q, *s, *end, *next;
    uint32_t   c;

    /* printable ASCII within the limit, as browsers' agents and most
     * referrers are: taken as it is, neither decoded nor copied */
    if (in->len <= NGX_KANBAN_SHARE_HEADER_MAX) {
        for (s = in->data, end = s + in->len;
             s < end && *s >= 0x20 && *s < 0x7f;
             s++)
        { /* void */ }

        if (s == end) {
            *out = *in;
            return;
        }
    }

    out->data = ngx_pnalloc(pool, NGX_KANBAN_SHARE_HEADER_MAX);
    if (out->data == NULL) {
        out->len = 0;
        return;
    }

    p = out->data;
    s = in->data;
    end = in->data + in->len;

    while (s < end) {
        next = s;
        c = (*s < 0x80) ? *next++ : ngx_utf8_decode(&next, end - s);

        /* ngx_utf8_decode takes any byte past 0x7f for a continuation
         * and lets surrogates through: PostgreSQL takes neither, and
         * would refuse the whole batch */
        for (q = s + 1; c <= 0x10ffff && q < next; q++) {
            if ((*q & 0xc0) != 0x80) {
                c = 0xffffffff;
            }
        }

        if (c >= 0xd800 && c <= 0xdfff) {
            c = 0xffffffff;
        }

        if (c > 0x10ffff || c < 0x20 || c == 0x7f) {
            /* a byte that does not start a character, or a control */
            next = s + 1;
            c = '?';
        }

        if ((size_t) (p - out->data) + (next - s)
            > NGX_KANBAN_SHARE_HEADER_MAX)
        {
            break;
        }

        if (c == '?') {
            *p++ = '?';

        } else {
            p = ngx_cpymem(p, s, next - s);
        }

        s = next;
    }

    out->len = p - out->data;
}


/* The client's address, anonymised: IPv4 /24, IPv6 /48 (IPv4-mapped ones
 * as IPv4). */

static ngx_int_t
ngx_kanban_share_address(ngx_http_request_t *r, ngx_str_t *out)
{
    u_char               *a;
    struct sockaddr_in    sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6   sin6;
#endif

    out->len = 0;
    out->data = ngx_pnalloc(r->pool, NGX_SOCKADDR_STRLEN);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        ngx_memcpy(&sin, r->connection->sockaddr, sizeof(sin));
        a = (u_char *) &sin.sin_addr.s_addr;
        a[3] = 0;
        out->len = ngx_inet_ntop(AF_INET, a, out->data, NGX_SOCKADDR_STRLEN);
        return NGX_OK;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        ngx_memcpy(&sin6, r->connection->sockaddr, sizeof(sin6));
        a = sin6.sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
            a[15] = 0;
            out->len = ngx_inet_ntop(AF_INET, a + 12, out->data,
                                     NGX_SOCKADDR_STRLEN);
            return NGX_OK;
        }

        ngx_memzero(a + 6, 10);
        out->len = ngx_inet_ntop(AF_INET6, a, out->data, NGX_SOCKADDR_STRLEN);
        return NGX_OK;
#endif

    default:
        return NGX_OK;                  /* a unix socket: no address */
    }
}


/* A crawler, by its User-Agent (kanban_share_bots). */

ngx_uint_t
ngx_kanban_share_is_bot(ngx_http_request_t *r)
{
    ngx_kanban_share_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kanban_share_module);

    if (smcf->bots == NULL || r->headers_in.user_agent == NULL) {
        return 0;
    }

    return ngx_regex_exec(smcf->bots, &r->headers_in.user_agent->value,
                          NULL, 0)
           >= 0;
}


/* kanban_share_bots file: crawler signatures, one a line ("#" starts a
 * comment), each matched as a literal part of the User-Agent, without
 * case; they become one regular expression. */

char *
ngx_kanban_share_bots(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_share_main_conf_t  *smcf = conf;

    u_char               *p, *line, *end, *next, errstr[NGX_MAX_CONF_ERRSTR];
    size_t                size;
    ngx_str_t            *value, file, data;
    ngx_uint_t            count;
    ngx_regex_compile_t   rc;

    if (smcf->bots) {
        return "is duplicate";
    }

    value = cf->args->elts;
    file = value[1];

    if (ngx_kanban_conf_read_file(cf, &file, 1024 * 1024, cf->temp_pool,
                                  &data)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    size = data.len;
    line = data.data;

    /* every byte may need a backslash, and a "|" between lines */
    p = ngx_pnalloc(cf->pool, 2 * size + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));
    rc.pattern.data = p;
    rc.options = NGX_REGEX_CASELESS;
    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    end = line + size;
    count = 0;

    for ( /* void */ ; line < end; line = next + 1) {
        next = ngx_strlchr(line, end, '\n');
        if (next == NULL) {
            next = end;
        }

        while (next > line && (next[-1] == '\r' || next[-1] == ' ')) {
            next--;
        }

        if (next == line || *line == '#') {
            next = ngx_strlchr(line, end, '\n');
            if (next == NULL) {
                break;
            }
            continue;
        }

        if (count++) {
            *p++ = '|';
        }

        for ( /* void */ ; line < next; line++) {
            if (ngx_strchr("\\^$.|?*+()[]{}", *line)) {
                *p++ = '\\';
            }
            *p++ = *line;
        }

        next = ngx_strlchr(next, end, '\n');
        if (next == NULL) {
            break;
        }
    }

    if (count == 0) {
        return "has no signatures in the file";
    }

    rc.pattern.len = p - rc.pattern.data;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
        return NGX_CONF_ERROR;
    }

    smcf->bots = rc.regex;

    return NGX_CONF_OK;
}
