
/*
 * A worker's feeds: for each workspace that has streams in this worker,
 * where the workspace's event log (sql/tenant/017_events.sql) stands and
 * which streams follow it.
 *
 * Redis only says that a workspace has news (ngx_kanban_events_redis.c);
 * the feed then reads what came after the last event it has from
 * PostgreSQL, one query at a time for all the worker's streams of the
 * workspace, and hands each event to every stream that may read it. So
 * live events and replayed ones are the same rows, encoded the same way,
 * and a message lost by Redis only delays its event until the next one,
 * the next heartbeat or the subscription's return.
 *
 * A new stream first learns where the log stands: a resumed one whose
 * event is still kept replays what followed it, a stream whose event is
 * no longer kept (or never was) gets one reset event; then it joins the
 * feed. Event ids follow the order of commits, so "after N" never misses
 * an event that commits late.
 */

/* SQL: sql/tenant/017_events.sql */
#include "ngx_kanban_events.h"


static ngx_int_t ngx_kanban_events_query(ngx_kanban_events_feed_t *feed,
    ngx_kanban_events_sub_t *sub, ngx_kanban_pg_stmt_t *stmt,
    int64_t after, ngx_kanban_pg_handler_pt handler);
static void ngx_kanban_events_started(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_events_start_now(ngx_event_t *ev);
static void ngx_kanban_events_replayed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static void ngx_kanban_events_continue(ngx_kanban_events_sub_t *sub,
    ngx_uint_t more);
static void ngx_kanban_events_fetch(ngx_kanban_events_feed_t *feed);
static void ngx_kanban_events_fetched(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static int ngx_kanban_events_uuid_cmp(const void *a, const void *b);
static ngx_kanban_events_event_t *ngx_kanban_events_encode(PGresult *res,
    int row);
static ngx_int_t ngx_kanban_events_reset(ngx_kanban_events_sub_t *sub,
    int64_t newest);
static void ngx_kanban_events_query_done(ngx_kanban_events_query_t *eq);
static void ngx_kanban_events_feed_free(ngx_kanban_events_feed_t *feed);
static int64_t ngx_kanban_events_int(PGresult *res, int row, int col);
static void ngx_kanban_events_flush_slice(ngx_event_t *ev);


static ngx_kanban_pg_stmt_t  ngx_kanban_events_span_stmt =
    ngx_kanban_pg_stmt("events_span",
    "SELECT newest, oldest, $1::bigint FROM events_span()");

static ngx_kanban_pg_stmt_t  ngx_kanban_events_after_stmt =
    ngx_kanban_pg_stmt("events_after",
    "SELECT id, type, project_id, readers, admins, data FROM events"
    " WHERE id > $1::bigint ORDER BY id LIMIT 500");


/* streams with a batch to write, a slice of them each turn of the event
 * loop, so that a fan-out to thousands does not hold other requests */
#define NGX_KANBAN_EVENTS_SLICE  256


static ngx_rbtree_t       ngx_kanban_events_feeds;
static ngx_rbtree_node_t  ngx_kanban_events_sentinel;
static ngx_queue_t        ngx_kanban_events_writing;
static ngx_event_t        ngx_kanban_events_slice;


ngx_int_t
ngx_kanban_events_feed_init_process(ngx_cycle_t *cycle)
{
    ngx_rbtree_init(&ngx_kanban_events_feeds, &ngx_kanban_events_sentinel,
                    ngx_str_rbtree_insert_value);

    ngx_queue_init(&ngx_kanban_events_writing);
    ngx_kanban_events_slice.handler = ngx_kanban_events_flush_slice;
    ngx_kanban_events_slice.log = cycle->log;
    ngx_kanban_events_slice.data = &ngx_kanban_events_slice;

    return NGX_OK;
}


/* The worker exits: its feeds (malloc'ed, let go only by the next
 * feed_all() once nobody follows them) go before the module, their only
 * pointer, is unloaded. Nothing runs after this to read them. */

void
ngx_kanban_events_feed_exit_process(ngx_cycle_t *cycle)
{
    ngx_rbtree_node_t  *root, *sentinel;

    sentinel = ngx_kanban_events_feeds.sentinel;

    for ( ;; ) {
        root = ngx_kanban_events_feeds.root;

        if (root == NULL || root == sentinel) {
            return;
        }

        ngx_kanban_events_feed_free((ngx_kanban_events_feed_t *)
                                    ngx_rbtree_min(root, sentinel));
    }
}


/* The workspace's feed in this worker, made on its first stream; the
 * stream counts in it until it leaves. */

ngx_kanban_events_feed_t *
ngx_kanban_events_feed_get(ngx_kanban_tenant_t *tenant)
{
    u_char                    *p;
    uint32_t                   hash;
    ngx_kanban_pg_db_t         db;
    ngx_kanban_events_feed_t  *feed;

    hash = ngx_crc32_short(tenant->slug.data, tenant->slug.len);

    feed = (ngx_kanban_events_feed_t *)
           ngx_str_rbtree_lookup(&ngx_kanban_events_feeds, &tenant->slug,
                                 hash);
    if (feed) {
        feed->nsubs++;
        return feed;
    }

    ngx_kanban_pg_tenant_db(tenant, &db);

    feed = ngx_alloc(sizeof(ngx_kanban_events_feed_t) + tenant->slug.len
                     + db.dsn.len + db.name.len, ngx_cycle->log);
    if (feed == NULL) {
        return NULL;
    }

    ngx_memzero(feed, sizeof(ngx_kanban_events_feed_t));

    p = (u_char *) (feed + 1);

    feed->node.str.data = p;
    feed->node.str.len = tenant->slug.len;
    p = ngx_cpymem(p, tenant->slug.data, tenant->slug.len);

    feed->db.dsn.data = p;
    feed->db.dsn.len = db.dsn.len;
    p = ngx_cpymem(p, db.dsn.data, db.dsn.len);

    feed->db.name.data = p;
    feed->db.name.len = db.name.len;
    ngx_memcpy(p, db.name.data, db.name.len);

    feed->node.node.key = hash;
    feed->last = -1;
    feed->nsubs = 1;
    ngx_queue_init(&feed->subs);

    ngx_rbtree_insert(&ngx_kanban_events_feeds, &feed->node.node);

    return feed;
}


/* A stream starts: where does the log stand? */

void
ngx_kanban_events_feed_start(ngx_kanban_events_sub_t *sub, int64_t after,
    ngx_uint_t resume)
{
    sub->last = resume ? after : -1;

    /* in the feed from now on (a quitting worker ends every stream of
     * its feeds), fed live once it has caught up */
    ngx_queue_insert_tail(&sub->feed->subs, &sub->queue);
    sub->joined = 1;

    if (sub->feed->last >= 0 && sub->feed->nsubs > 1
        && (!resume || after == sub->feed->last))
    {
        /* the feed knows where the log stands: no query (thousands of
         * clients reconnecting at once after a reload ask nothing). Only
         * while others follow it: a feed nobody followed has stopped
         * reading its log, and where it stood is past */
        sub->last = sub->feed->last;

        sub->start.handler = ngx_kanban_events_start_now;
        sub->start.data = sub;
        sub->start.log = sub->sse.connection->log;

        ngx_post_event(&sub->start, &ngx_posted_events);
        return;
    }

    if (ngx_kanban_events_query(sub->feed, sub, &ngx_kanban_events_span_stmt,
                                after, ngx_kanban_events_started)
        != NGX_OK)
    {
        ngx_kanban_events_end(sub, 0);
    }
}


static void
ngx_kanban_events_started(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int64_t                     newest, oldest;
    ngx_kanban_events_sub_t    *sub;
    ngx_kanban_events_feed_t   *feed;
    ngx_kanban_events_query_t  *eq;

    eq = q->data;
    sub = eq->sub;

    if (sub == NULL) {
        ngx_kanban_events_query_done(eq);
        return;
    }

    sub->querying = 0;
    feed = sub->feed;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: event stream of \"%V\" cannot start: %s",
                      &feed->node.str,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        ngx_kanban_events_query_done(eq);
        ngx_kanban_events_end(sub, 0);
        return;
    }

    newest = ngx_kanban_events_int(q->result, 0, 0);
    oldest = ngx_kanban_events_int(q->result, 0, 1);

    ngx_kanban_events_query_done(eq);

    if (feed->last < 0) {
        /* every event up to newest has committed: none can come later */
        feed->last = newest;

        if (feed->again) {
            feed->again = 0;
            ngx_kanban_events_fetch(feed);
        }
    }

    if (ngx_kanban_events_open(sub) != NGX_OK) {
        return;
    }

    /* the request has done its part: the stream goes on with its
     * connection alone */
    sub = ngx_kanban_events_take_over(sub);
    if (sub == NULL) {
        return;
    }

    if (sub->last < 0) {
        sub->last = newest;

    } else if (sub->last > newest || (oldest && sub->last < oldest - 1)) {
        /* not an event of this log, or one it no longer keeps */
        if (ngx_kanban_events_reset(sub, newest) != NGX_OK) {
            return;
        }

        sub->last = newest;
    }

    /* behind the log, not only behind the feed: a feed nobody followed
     * stopped reading its log, and where it stood may be past; waiting
     * for it would leave a resumed stream without its missed events
     * until the next event or sweep */
    ngx_kanban_events_continue(sub, sub->last < newest);
}


/* after the content handler has returned */

static void
ngx_kanban_events_start_now(ngx_event_t *ev)
{
    ngx_kanban_events_sub_t  *sub = ev->data;

    if (ngx_kanban_events_open(sub) != NGX_OK) {
        return;
    }

    sub = ngx_kanban_events_take_over(sub);
    if (sub == NULL) {
        return;
    }

    ngx_kanban_events_continue(sub, 0);
}


/* A stream behind its feed (or that has read a whole batch) replays from
 * the log; one that has caught up joins the feed's live events, which
 * skip what it has had. */

static void
ngx_kanban_events_continue(ngx_kanban_events_sub_t *sub, ngx_uint_t more)
{
    ngx_kanban_events_feed_t  *feed;

    feed = sub->feed;

    if (more || sub->last < feed->last) {
        if (ngx_kanban_events_query(feed, sub, &ngx_kanban_events_after_stmt,
                                    sub->last, ngx_kanban_events_replayed)
            != NGX_OK)
        {
            ngx_kanban_events_end(sub, 0);
        }

        return;
    }

    sub->live = 1;
}


static void
ngx_kanban_events_replayed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                         i, n;
    int64_t                     id;
    ngx_uint_t                  delivered;
    ngx_kanban_events_sub_t    *sub;
    ngx_kanban_events_event_t  *ev;
    ngx_kanban_events_query_t  *eq;

    eq = q->data;
    sub = eq->sub;

    if (sub == NULL) {
        ngx_kanban_events_query_done(eq);
        return;
    }

    sub->querying = 0;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: event stream of \"%V\" cannot replay: %s",
                      &sub->feed->node.str,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        ngx_kanban_events_query_done(eq);
        ngx_kanban_events_end(sub, 0);
        return;
    }

    n = PQntuples(q->result);
    delivered = 0;

    for (i = 0; i < n; i++) {
        id = ngx_kanban_events_int(q->result, i, 0);

        if (id <= sub->last) {
            continue;
        }

        if (sub->sse.unsent > sub->sse.conf->buffer / 2) {
            /* a replay goes at the client's pace: the rest once it has
             * read half of what waits (ngx_kanban_events_resume) */
            ngx_kanban_metrics_events(0, delivered, 0);
            ngx_kanban_events_query_done(eq);

            if (ngx_kanban_events_flush(sub) == NGX_OK) {
                sub->paused = 1;
                sub->sse.resume = ngx_kanban_events_resume;
                ngx_kanban_events_resume(&sub->sse);     /* sent at once? */
            }

            return;
        }

        ev = ngx_kanban_events_encode(q->result, i);
        if (ev == NULL) {
            ngx_kanban_events_query_done(eq);
            ngx_kanban_events_end(sub, 0);
            return;
        }

        sub->last = id;

        if (ngx_kanban_events_revokes(sub, ev)) {
            ngx_kanban_events_release(ev);
            ngx_kanban_metrics_events(0, delivered, 0);
            ngx_kanban_events_query_done(eq);
            ngx_kanban_events_end(sub, 0);
            return;
        }

        if (ngx_kanban_events_may_see(sub, ev)) {
            delivered++;

            if (ngx_kanban_events_queue(sub, ev) != NGX_OK) {
                ngx_kanban_events_release(ev);
                ngx_kanban_metrics_events(0, delivered, 0);
                ngx_kanban_events_query_done(eq);
                return;
            }
        }

        ngx_kanban_events_release(ev);
    }

    ngx_kanban_metrics_events(0, delivered, 0);
    ngx_kanban_events_query_done(eq);

    if (ngx_kanban_events_flush(sub) != NGX_OK) {
        return;
    }

    ngx_kanban_events_continue(sub, n == NGX_KANBAN_EVENTS_BATCH);
}


/* A paused replay goes on when its client has read enough. */

void
ngx_kanban_events_resume(ngx_kanban_sse_t *s)
{
    ngx_kanban_events_sub_t  *sub = (ngx_kanban_events_sub_t *) s;

    if (sub->paused && sub->sse.unsent <= sub->sse.conf->buffer / 4) {
        sub->paused = 0;
        ngx_kanban_events_continue(sub, 1);
    }
}


/* Redis says a workspace has news. */

void
ngx_kanban_events_feed_hint(ngx_str_t *slug)
{
    uint32_t                   hash;
    ngx_kanban_events_feed_t  *feed;

    hash = ngx_crc32_short(slug->data, slug->len);

    feed = (ngx_kanban_events_feed_t *)
           ngx_str_rbtree_lookup(&ngx_kanban_events_feeds, slug, hash);

    if (feed) {
        ngx_kanban_events_fetch(feed);
    }
}


/* Every feed reads what it may have missed: when the subscription is
 * back, while it is away, and now and then. Feeds nobody follows any
 * more are let go. */

void
ngx_kanban_events_feed_all(void)
{
    ngx_rbtree_node_t         *node, *root, *sentinel, *next;
    ngx_kanban_events_feed_t  *feed;

    sentinel = ngx_kanban_events_feeds.sentinel;
    root = ngx_kanban_events_feeds.root;

    if (root == sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(root, sentinel); node; node = next) {
        next = ngx_rbtree_next(&ngx_kanban_events_feeds, node);
        feed = (ngx_kanban_events_feed_t *) node;

        if (feed->nsubs == 0 && feed->queries == 0) {
            ngx_kanban_events_feed_free(feed);
            continue;
        }

        ngx_kanban_events_fetch(feed);
    }
}


void
ngx_kanban_events_feed_each_sub(void (*fn)(ngx_kanban_events_sub_t *))
{
    ngx_queue_t               *q, *next;
    ngx_rbtree_node_t         *node, *root, *sentinel;
    ngx_kanban_events_feed_t  *feed;

    sentinel = ngx_kanban_events_feeds.sentinel;
    root = ngx_kanban_events_feeds.root;

    if (root == sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(root, sentinel);
         node;
         node = ngx_rbtree_next(&ngx_kanban_events_feeds, node))
    {
        feed = (ngx_kanban_events_feed_t *) node;

        for (q = ngx_queue_head(&feed->subs);
             q != ngx_queue_sentinel(&feed->subs);
             q = next)
        {
            next = ngx_queue_next(q);
            fn(ngx_queue_data(q, ngx_kanban_events_sub_t, queue));
        }
    }
}


static void
ngx_kanban_events_fetch(ngx_kanban_events_feed_t *feed)
{
    if (feed->fetching || feed->last < 0) {
        feed->again = 1;
        return;
    }

    if (feed->nsubs == 0) {
        return;
    }

    feed->again = 0;

    if (ngx_kanban_events_query(feed, NULL, &ngx_kanban_events_after_stmt,
                                feed->last, ngx_kanban_events_fetched)
        == NGX_OK)
    {
        feed->fetching = 1;
    }
}


static void
ngx_kanban_events_fetched(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                         i, n;
    int64_t                     id;
    ngx_uint_t                  delivered;
    ngx_queue_t                *qu, *next;
    ngx_kanban_events_sub_t    *sub;
    ngx_kanban_events_feed_t   *feed;
    ngx_kanban_events_event_t  *ev;
    ngx_kanban_events_query_t  *eq;

    eq = q->data;
    feed = eq->feed;
    feed->fetching = 0;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "kanban: events of \"%V\" not read: %s",
                      &feed->node.str,
                      q->result ? PQresultErrorMessage(q->result)
                                : "PostgreSQL is unavailable");
        ngx_kanban_events_query_done(eq);
        return;                     /* the next hint or tick tries again */
    }

    n = PQntuples(q->result);
    delivered = 0;

    for (i = 0; i < n; i++) {
        id = ngx_kanban_events_int(q->result, i, 0);

        if (id <= feed->last) {
            continue;
        }

        ev = ngx_kanban_events_encode(q->result, i);
        if (ev == NULL) {
            break;                  /* tried again at the next hint */
        }

        feed->last = id;

        for (qu = ngx_queue_head(&feed->subs);
             qu != ngx_queue_sentinel(&feed->subs);
             qu = next)
        {
            next = ngx_queue_next(qu);
            sub = ngx_queue_data(qu, ngx_kanban_events_sub_t, queue);

            if (!sub->live || id <= sub->last) {
                continue;
            }

            sub->last = id;

            if (ngx_kanban_events_revokes(sub, ev)) {
                ngx_kanban_events_end(sub, 0);
                continue;
            }

            if (ngx_kanban_events_may_see(sub, ev)) {
                delivered++;
                (void) ngx_kanban_events_queue(sub, ev);
            }
        }

        ngx_kanban_events_release(ev);
    }

    /* each stream's events of the batch in one write, a slice of the
     * streams now and the rest in the next turns of the event loop */
    for (qu = ngx_queue_head(&feed->subs);
         qu != ngx_queue_sentinel(&feed->subs);
         qu = ngx_queue_next(qu))
    {
        sub = ngx_queue_data(qu, ngx_kanban_events_sub_t, queue);

        if (sub->sse.out && !sub->writing) {
            sub->writing = 1;
            ngx_queue_insert_tail(&ngx_kanban_events_writing,
                                  &sub->write_queue);
        }
    }

    if (!ngx_kanban_events_slice.posted) {
        ngx_kanban_events_flush_slice(&ngx_kanban_events_slice);
    }

    ngx_kanban_metrics_events(0, delivered, 0);
    ngx_kanban_events_query_done(eq);

    if (n == NGX_KANBAN_EVENTS_BATCH || feed->again) {
        ngx_kanban_events_fetch(feed);
    }
}


static void
ngx_kanban_events_flush_slice(ngx_event_t *ev)
{
    ngx_uint_t                n;
    ngx_queue_t              *q;
    ngx_kanban_events_sub_t  *sub;

    for (n = 0;
         n < NGX_KANBAN_EVENTS_SLICE
         && !ngx_queue_empty(&ngx_kanban_events_writing);
         n++)
    {
        q = ngx_queue_head(&ngx_kanban_events_writing);
        ngx_queue_remove(q);

        sub = ngx_queue_data(q, ngx_kanban_events_sub_t, write_queue);
        sub->writing = 0;

        (void) ngx_kanban_events_flush(sub);
    }

    if (!ngx_queue_empty(&ngx_kanban_events_writing)) {
        ngx_post_event(ev, &ngx_posted_next_events);
    }
}


/* "id: N\nevent: TYPE\ndata: JSON\n\n" from a row of events; the JSON
 * of jsonb has no line breaks. One reference, the caller's. */

static ngx_kanban_events_event_t *
ngx_kanban_events_encode(PGresult *res, int row)
{
    u_char                     *p, *s, *src, *last;
    size_t                      len, rlen;
    ngx_kanban_events_event_t  *ev;

    rlen = PQgetisnull(res, row, 3) ? 0 : PQgetlength(res, row, 3);

    len = sizeof("id: \nevent: \ndata: \n\n") - 1
          + PQgetlength(res, row, 0) + PQgetlength(res, row, 1)
          + PQgetlength(res, row, 5);

    ev = ngx_alloc(sizeof(ngx_kanban_events_event_t) + len + rlen,
                   ngx_cycle->log);
    if (ev == NULL) {
        return NULL;
    }

    ngx_memzero(ev, sizeof(ngx_kanban_events_event_t));

    ev->sse.refs = 1;
    ev->id = ngx_kanban_events_int(res, row, 0);
    ev->admins = (PQgetvalue(res, row, 4)[0] == 't');
    ev->revoke = (PQgetlength(res, row, 1) == sizeof("access.revoked") - 1
                  && ngx_strcmp(PQgetvalue(res, row, 1), "access.revoked")
                     == 0);

    if (!PQgetisnull(res, row, 2)
        && PQgetlength(res, row, 2) == NGX_KANBAN_EVENTS_UUID_LEN)
    {
        ngx_memcpy(ev->project, PQgetvalue(res, row, 2),
                   NGX_KANBAN_EVENTS_UUID_LEN);
        ev->has_project = 1;
    }

    p = (u_char *) (ev + 1);

    ev->sse.text = p;
    p = ngx_sprintf(p, "id: %s\nevent: %s\ndata: %s\n\n",
                    PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
                    PQgetvalue(res, row, 5));
    ev->sse.len = p - ev->sse.text;

    /* "{uuid,uuid}" as sorted fixed-width keys, once a worker, so that
     * each of many streams finds its person by halves (a private chat
     * channel's event names all its members) */
    ev->restricted = !PQgetisnull(res, row, 3);
    ev->readers = p;

    src = (u_char *) PQgetvalue(res, row, 3);
    last = src + rlen;

    for (s = src + 1; last - s > NGX_KANBAN_EVENTS_UUID_LEN;
         s += NGX_KANBAN_EVENTS_UUID_LEN + 1)
    {
        ngx_strlow(p, s, NGX_KANBAN_EVENTS_UUID_LEN);
        p += NGX_KANBAN_EVENTS_UUID_LEN;
        ev->nreaders++;
    }

    if (ev->nreaders > 1) {
        ngx_qsort(ev->readers, ev->nreaders, NGX_KANBAN_EVENTS_UUID_LEN,
                  ngx_kanban_events_uuid_cmp);
    }

    return ev;
}



static int
ngx_kanban_events_uuid_cmp(const void *a, const void *b)
{
    return ngx_memcmp(a, b, NGX_KANBAN_EVENTS_UUID_LEN);
}

/* The client's event is no longer in the log (or never was): it is told
 * to load what it shows anew, and goes on from the newest event. */

static ngx_int_t
ngx_kanban_events_reset(ngx_kanban_events_sub_t *sub, int64_t newest)
{
    u_char                     *p;
    ngx_int_t                   rc;
    ngx_kanban_events_event_t  *ev;

    ev = ngx_alloc(sizeof(ngx_kanban_events_event_t) + 128, ngx_cycle->log);
    if (ev == NULL) {
        ngx_kanban_events_end(sub, 0);
        return NGX_ERROR;
    }

    ngx_memzero(ev, sizeof(ngx_kanban_events_event_t));

    ev->sse.refs = 1;
    ev->id = newest;
    ev->sse.text = (u_char *) (ev + 1);

    p = ngx_sprintf(ev->sse.text, "id: %L\nevent: reset\ndata: "
                    "{\"last_event_id\":%L}\n\n", newest, newest);
    ev->sse.len = p - ev->sse.text;

    rc = ngx_kanban_events_send(sub, ev);

    ngx_kanban_events_release(ev);

    return rc;
}


/* A statement of a feed (sub NULL) or of one stream, on the workspace's
 * database, with a pool of its own. */

static ngx_int_t
ngx_kanban_events_query(ngx_kanban_events_feed_t *feed,
    ngx_kanban_events_sub_t *sub, ngx_kanban_pg_stmt_t *stmt, int64_t after,
    ngx_kanban_pg_handler_pt handler)
{
    ngx_str_t                   value;
    ngx_pool_t                 *pool;
    ngx_kanban_pg_query_t      *q;
    ngx_kanban_events_query_t  *eq;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    eq = ngx_palloc(pool, sizeof(ngx_kanban_events_query_t));
    if (eq == NULL) {
        goto failed;
    }

    eq->pool = pool;
    eq->feed = feed;
    eq->sub = sub;

    value.data = ngx_pnalloc(pool, NGX_INT64_LEN);
    if (value.data == NULL) {
        goto failed;
    }

    value.len = ngx_sprintf(value.data, "%L", after) - value.data;

    q = ngx_kanban_pg_query_background(pool, &feed->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = eq;

    if (ngx_kanban_pg_run(q, stmt, handler, 1, &value) != NGX_OK) {
        goto failed;
    }

    if (sub) {
        sub->querying = 1;
        sub->query = eq;
    }

    feed->queries++;

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);
    return NGX_ERROR;
}


static void
ngx_kanban_events_query_done(ngx_kanban_events_query_t *eq)
{
    ngx_kanban_events_feed_t  *feed;

    feed = eq->feed;
    feed->queries--;

    ngx_destroy_pool(eq->pool);
}


static void
ngx_kanban_events_feed_free(ngx_kanban_events_feed_t *feed)
{
    ngx_rbtree_delete(&ngx_kanban_events_feeds, &feed->node.node);
    ngx_free(feed);
}


static int64_t
ngx_kanban_events_int(PGresult *res, int row, int col)
{
    char     *p;
    int64_t   n;

    if (PQgetisnull(res, row, col)) {
        return 0;
    }

    n = 0;

    for (p = PQgetvalue(res, row, col); *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
    }

    return n;
}
