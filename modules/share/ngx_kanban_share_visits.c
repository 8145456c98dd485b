
/*
 * Visits of share links, counted without a PostgreSQL round trip each:
 * every worker keeps a batch per workspace and hands it to PostgreSQL
 * every kanban_share_flush, or sooner when it grows past
 * NGX_KANBAN_SHARE_BATCH_MAX. The flush timer is not cancelable, so a
 * worker that is told to quit (a reload, nginx -s quit) stays until its
 * last batch is stored. A batch PostgreSQL could not take for a passing
 * reason is kept and tried again (for a few minutes; a quitting worker, a
 * few seconds); past NGX_KANBAN_SHARE_PENDING_MAX waiting visits new ones
 * are dropped, with a warning, rather than memory.
 *
 * A batch holds its visits grouped by link (a group less than an hour
 * long), each field of a group's visits already in PostgreSQL's binary
 * array format (ngx_kanban_share_visit_arrays.c): PostgreSQL stores a
 * group as one row of arrays (sql/tenant/099_share_visit_batches.sql)
 * without parsing a visit.
 *
 * A batch PostgreSQL refuses for its data (a value a column does not
 * take) is tried again one visit at a time, so that only the visit it
 * cannot take is lost: logged, and counted in /metrics
 * (kanban_share_visits_lost_total).
 *
 * What a visit keeps of its visitor is made in
 * ngx_kanban_share_visitor.c.
 */

/* SQL: sql/tenant/011_share_links.sql, 087_share_link_rules.sql,
 * 099_share_visit_batches.sql */
#include "ngx_kanban_share_visit_batch.h"
#include "ngx_kanban_redis.h"
#include "ngx_kanban_sweep.h"


#define NGX_KANBAN_SHARE_BATCH_MAX    (1024 * 1024)
#define NGX_KANBAN_SHARE_PENDING_MAX  262144            /* visits */
#define NGX_KANBAN_SHARE_DESTINATION_MAX  2048
#define NGX_KANBAN_SHARE_COUNTRY_MAX  8

/* how often a batch is tried before it is given up: for five minutes of
 * an outage; a worker that quits waits a few seconds only */
#define NGX_KANBAN_SHARE_ATTEMPTS     300
#define NGX_KANBAN_SHARE_ATTEMPTS_EXITING  5

/* a group spans less than an hour (099's CHECK) */
#define NGX_KANBAN_SHARE_GROUP_SPAN   ((int64_t) 3600 * 1000000)


/* 1970-01-01 to 2000-01-01, PostgreSQL's epoch, in seconds */
#define NGX_KANBAN_PG_EPOCH           946684800



static ngx_kanban_share_batch_t *ngx_kanban_share_batch(
    ngx_kanban_tenant_t *tenant);
static ngx_kanban_share_group_t *ngx_kanban_share_group(
    ngx_kanban_share_batch_t *b, u_char *link, int64_t now);
static void ngx_kanban_share_link_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_kanban_share_flush_handler(ngx_event_t *ev);
static void ngx_kanban_share_flush(ngx_kanban_share_batch_t *b);
static void ngx_kanban_share_flushed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_share_next(ngx_kanban_share_batch_t *b);
static void ngx_kanban_share_publish(ngx_kanban_share_batch_t *b,
    PGresult *res);
static void ngx_kanban_share_arm(void);
static ngx_uint_t ngx_kanban_share_transient(ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_share_visits_stmt =
    ngx_kanban_pg_stmt("share_visits_add",
    "SELECT activity, link, visits FROM share_visits_add($1::uuid[],"
    " $2::int4[], $3::timestamptz[], $4::timestamptz[], $5::int4[],"
    " $6::int4[], $7::timestamptz[], $8::text[], $9::text[], $10::bool[],"
    " $11::inet[], $12::int2[], $13::text[], $14::text[])");


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
    u_char                     *p, id[16], address[20];
    size_t                      size, alen;
    size_t                      sizes[NGX_KANBAN_SHARE_COLUMNS];
    int64_t                     now;
    ngx_str_t                   referrer, agent, destination, country;
    ngx_uint_t                  i, bot, rule;
    ngx_time_t                 *tp;
    ngx_kanban_share_group_t   *g;
    ngx_kanban_share_batch_t   *b;
    ngx_kanban_share_column_t  *c;

    if (ngx_kanban_share_npending >= NGX_KANBAN_SHARE_PENDING_MAX) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban: share visit not recorded: %ui visits wait "
                      "for PostgreSQL", ngx_kanban_share_npending);
        return NGX_OK;
    }

    if (ngx_kanban_share_uuid(&link->id, id) != NGX_OK) {
        return NGX_ERROR;
    }

    b = ngx_kanban_share_batch(tenant);
    if (b == NULL) {
        return NGX_ERROR;
    }

    tp = ngx_timeofday();
    now = ((int64_t) tp->sec - NGX_KANBAN_PG_EPOCH) * 1000000
          + (int64_t) tp->msec * 1000;

    g = ngx_kanban_share_group(b, id, now);
    if (g == NULL) {
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

    alen = ngx_kanban_share_address(r, address);
    bot = ngx_kanban_share_is_bot(r);

    ngx_str_null(&destination);
    ngx_str_null(&country);
    rule = 0;

    if (choice) {
        rule = choice->rule;
        destination = choice->destination;
        country = choice->country;

        /* whole UTF-8 characters within the limits */
        if (destination.len > NGX_KANBAN_SHARE_DESTINATION_MAX) {
            destination.len = NGX_KANBAN_SHARE_DESTINATION_MAX;
            while (destination.len
                   && (destination.data[destination.len] & 0xc0) == 0x80)
            {
                destination.len--;
            }
        }

        if (country.len > NGX_KANBAN_SHARE_COUNTRY_MAX) {
            country.len = NGX_KANBAN_SHARE_COUNTRY_MAX;
            while (country.len
                   && (country.data[country.len] & 0xc0) == 0x80)
            {
                country.len--;
            }
        }
    }

    sizes[NGX_KANBAN_SHARE_TIME] = 4 + 8;
    sizes[NGX_KANBAN_SHARE_REFERRER] = 4 + referrer.len;
    sizes[NGX_KANBAN_SHARE_AGENT] = 4 + agent.len;
    sizes[NGX_KANBAN_SHARE_BOT] = 4 + 1;
    sizes[NGX_KANBAN_SHARE_ADDRESS] = 4 + alen;
    sizes[NGX_KANBAN_SHARE_RULE] = 4 + 2;
    sizes[NGX_KANBAN_SHARE_DESTINATION] = 4 + destination.len;
    sizes[NGX_KANBAN_SHARE_COUNTRY] = 4 + country.len;
    sizes[NGX_KANBAN_SHARE_COUNTED] = 4 + 1;

    /* room in every column first: a failure leaves no visit half made */
    size = 0;

    for (i = 0; i < NGX_KANBAN_SHARE_COLUMNS; i++) {
        if (ngx_kanban_share_column_reserve(b->pool, &g->columns[i],
                                            sizes[i])
            == NULL)
        {
            return NGX_ERROR;
        }

        size += sizes[i];
    }

    c = g->columns;

    p = c[NGX_KANBAN_SHARE_TIME].pos;
    p = ngx_kanban_share_put32(p, 8);
    p = ngx_kanban_share_put64(p, now);
    c[NGX_KANBAN_SHARE_TIME].pos = p;

    ngx_kanban_share_text(&c[NGX_KANBAN_SHARE_REFERRER], &referrer);
    ngx_kanban_share_text(&c[NGX_KANBAN_SHARE_AGENT], &agent);

    p = c[NGX_KANBAN_SHARE_BOT].pos;
    p = ngx_kanban_share_put32(p, 1);
    *p++ = bot ? 1 : 0;
    c[NGX_KANBAN_SHARE_BOT].pos = p;

    p = c[NGX_KANBAN_SHARE_ADDRESS].pos;
    if (alen) {
        p = ngx_kanban_share_put32(p, alen);
        p = ngx_cpymem(p, address, alen);
    } else {
        p = ngx_kanban_share_put32(p, (uint32_t) -1);
    }
    c[NGX_KANBAN_SHARE_ADDRESS].pos = p;

    p = c[NGX_KANBAN_SHARE_RULE].pos;
    if (rule) {
        p = ngx_kanban_share_put32(p, 2);
        *p++ = (u_char) (rule >> 8);
        *p++ = (u_char) rule;
    } else {
        p = ngx_kanban_share_put32(p, (uint32_t) -1);
    }
    c[NGX_KANBAN_SHARE_RULE].pos = p;

    ngx_kanban_share_text(&c[NGX_KANBAN_SHARE_DESTINATION], &destination);
    ngx_kanban_share_text(&c[NGX_KANBAN_SHARE_COUNTRY], &country);

    p = c[NGX_KANBAN_SHARE_COUNTED].pos;
    p = ngx_kanban_share_put32(p, 1);
    *p++ = counted ? 1 : 0;
    c[NGX_KANBAN_SHARE_COUNTED].pos = p;

    g->count++;
    g->bots += bot;
    g->uncounted += !bot && !counted;
    g->first = ngx_min(g->first, now);
    g->last = ngx_max(g->last, now);

    b->count++;
    b->size += size;
    ngx_kanban_share_npending++;

    if (b->size > NGX_KANBAN_SHARE_BATCH_MAX) {
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

    if (ngx_array_init(&b->groups, pool, 4,
                       sizeof(ngx_kanban_share_group_t *))
        != NGX_OK)
    {
        goto failed;
    }

    ngx_rbtree_init(&b->links, &b->sentinel, ngx_kanban_share_link_insert);

    ngx_kanban_pg_tenant_db(tenant, &db);

    b->slug.data = ngx_pstrdup(pool, &tenant->slug);
    b->db.dsn.data = ngx_pstrdup(pool, &db.dsn);
    b->db.name.data = ngx_pstrdup(pool, &db.name);

    if (b->slug.data == NULL || b->db.dsn.data == NULL
        || b->db.name.data == NULL)
    {
        goto failed;
    }

    b->slug.len = tenant->slug.len;
    b->db.dsn.len = db.dsn.len;
    b->db.name.len = db.name.len;

    ngx_queue_insert_tail(&ngx_kanban_share_pending, &b->queue);

    return b;

failed:

    ngx_destroy_pool(pool);
    return NULL;
}


/* The group of the link's visits that a visit at now joins: its latest,
 * unless that would span an hour or more; else a new one. */

static ngx_kanban_share_group_t *
ngx_kanban_share_group(ngx_kanban_share_batch_t *b, u_char *link,
    int64_t now)
{
    ngx_int_t                   rc;
    ngx_rbtree_key_t            key;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_kanban_share_group_t   *g, **slot;

    g = b->recent;

    if (g == NULL || ngx_memcmp(g->link, link, 16) != 0) {
        ngx_memcpy(&key, link, sizeof(ngx_rbtree_key_t));

        g = NULL;
        node = b->links.root;
        sentinel = b->links.sentinel;

        while (node != sentinel) {
            if (key != node->key) {
                node = (key < node->key) ? node->left : node->right;
                continue;
            }

            rc = ngx_memcmp(link,
                            ((ngx_kanban_share_group_t *) node)->link, 16);

            if (rc == 0) {
                g = (ngx_kanban_share_group_t *) node;
                break;
            }

            node = (rc < 0) ? node->left : node->right;
        }
    }

    if (g && ngx_max(g->last, now) - ngx_min(g->first, now)
             < NGX_KANBAN_SHARE_GROUP_SPAN)
    {
        b->recent = g;
        return g;
    }

    if (g) {
        /* the link's visits go on in a new group */
        ngx_rbtree_delete(&b->links, &g->node);
    }

    slot = ngx_array_push(&b->groups);
    if (slot == NULL) {
        return NULL;
    }

    g = ngx_pcalloc(b->pool, sizeof(ngx_kanban_share_group_t));
    if (g == NULL) {
        b->groups.nelts--;
        return NULL;
    }

    *slot = g;

    ngx_memcpy(g->link, link, 16);
    ngx_memcpy(&g->node.key, link, sizeof(ngx_rbtree_key_t));
    g->first = now;
    g->last = now;

    ngx_rbtree_insert(&b->links, &g->node);
    b->recent = g;

    return g;
}


/* ordered by the key, then by the whole link */

static void
ngx_kanban_share_link_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t  **p;

    for ( ;; ) {
        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = (ngx_memcmp(((ngx_kanban_share_group_t *) node)->link,
                            ((ngx_kanban_share_group_t *) temp)->link, 16)
                 < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
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
    ngx_str_t               one[NGX_KANBAN_SHARE_PARAMS], *params;
    ngx_kanban_pg_query_t  *q;

    if (b->params[0].data == NULL && ngx_kanban_share_seal(b) != NGX_OK) {
        goto failed;
    }

    params = b->params;

    if (b->one_by_one) {
        if (ngx_kanban_share_one(b, one) != NGX_OK) {
            goto failed;
        }

        params = one;
    }

    q = ngx_kanban_pg_query_background(b->pool, &b->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = b;
    q->binary = ((ngx_uint_t) 1 << NGX_KANBAN_SHARE_PARAMS) - 1;

    if (ngx_kanban_pg_run(q, &ngx_kanban_share_visits_stmt,
                          ngx_kanban_share_flushed, NGX_KANBAN_SHARE_PARAMS,
                          &params[0], &params[1], &params[2], &params[3],
                          &params[4], &params[5], &params[6], &params[7],
                          &params[8], &params[9], &params[10], &params[11],
                          &params[12], &params[13])
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

        ngx_kanban_share_rewind(b, 0);

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
            ngx_kanban_share_skip(b);
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
