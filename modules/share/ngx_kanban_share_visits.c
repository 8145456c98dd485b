
/*
 * A visit of a share link, taken into its workspace's batch without a
 * PostgreSQL round trip: every worker keeps a batch per workspace and
 * hands it to PostgreSQL every kanban_share_flush
 * (ngx_kanban_share_visit_flush.c), or sooner when it grows past
 * NGX_KANBAN_SHARE_BATCH_MAX. Past NGX_KANBAN_SHARE_PENDING_MAX waiting
 * visits new ones are dropped, with a warning, rather than memory.
 *
 * A batch holds its visits grouped by link (a group less than an hour
 * long), each field of a group's visits already in PostgreSQL's binary
 * array format (ngx_kanban_share_visit_arrays.c): PostgreSQL stores a
 * group as one row of arrays (sql/tenant/099_share_visit_batches.sql)
 * without parsing a visit.
 */

/* SQL: none of its own */
#include "ngx_kanban_share_visit_batch.h"


#define NGX_KANBAN_SHARE_BATCH_MAX    (1024 * 1024)
#define NGX_KANBAN_SHARE_PENDING_MAX  262144            /* visits */
#define NGX_KANBAN_SHARE_DESTINATION_MAX  2048
#define NGX_KANBAN_SHARE_COUNTRY_MAX  8

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
