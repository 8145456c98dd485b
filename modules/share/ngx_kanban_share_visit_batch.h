
/*
 * What the files of share-link visits share, and only they (the module's
 * own is ngx_kanban_share.h): a batch, its groups and their columns.
 *
 * Visits of share links, counted without a PostgreSQL round trip each:
 * every worker keeps a batch per workspace and hands it to PostgreSQL
 * every kanban_share_flush, or sooner when it grows past
 * NGX_KANBAN_SHARE_BATCH_MAX. A batch holds its visits grouped by link,
 * each field of a group's visits already in PostgreSQL's binary array
 * format, so that PostgreSQL stores a group as one row of arrays
 * (sql/tenant/099_share_visit_batches.sql) without parsing a visit.
 *
 *   ngx_kanban_share_visits.c        a visit into its workspace's batch
 *   ngx_kanban_share_visitor.c       what a visit keeps of its visitor
 *   ngx_kanban_share_visit_arrays.c  the batch in PostgreSQL's arrays
 *   ngx_kanban_share_visit_flush.c   the timer, the statement, its answer
 */

#ifndef _NGX_KANBAN_SHARE_VISIT_BATCH_H_INCLUDED_
#define _NGX_KANBAN_SHARE_VISIT_BATCH_H_INCLUDED_


#include "ngx_kanban_share.h"


/* PostgreSQL's binary array: ndim, flags, element type, length, lower
 * bound; then each element's length (-1: NULL) and bytes */
#define NGX_KANBAN_SHARE_ARRAY_HEADER  20

/* element types (pg_type.dat) */
#define NGX_KANBAN_PG_BOOL            16
#define NGX_KANBAN_PG_INT2            21
#define NGX_KANBAN_PG_INT4            23
#define NGX_KANBAN_PG_TEXT            25
#define NGX_KANBAN_PG_INET            869
#define NGX_KANBAN_PG_TIMESTAMPTZ     1184
#define NGX_KANBAN_PG_UUID            2950


/* a visit's fields, a column each; the last is not sent but with a
 * visit stored alone */
enum {
    NGX_KANBAN_SHARE_TIME = 0,
    NGX_KANBAN_SHARE_REFERRER,
    NGX_KANBAN_SHARE_AGENT,
    NGX_KANBAN_SHARE_BOT,
    NGX_KANBAN_SHARE_ADDRESS,
    NGX_KANBAN_SHARE_RULE,
    NGX_KANBAN_SHARE_DESTINATION,
    NGX_KANBAN_SHARE_COUNTRY,
    NGX_KANBAN_SHARE_SENT,                     /* the columns sent */
    NGX_KANBAN_SHARE_COUNTED = NGX_KANBAN_SHARE_SENT,
    NGX_KANBAN_SHARE_COLUMNS
};

/* per group: link, visits, first, last, bots, uncounted */
#define NGX_KANBAN_SHARE_GROUP_PARAMS  6
#define NGX_KANBAN_SHARE_PARAMS  \
    (NGX_KANBAN_SHARE_GROUP_PARAMS + NGX_KANBAN_SHARE_SENT)


/* PostgreSQL's binary formats are big-endian */

static ngx_inline u_char *
ngx_kanban_share_put32(u_char *p, uint32_t v)
{
    *p++ = (u_char) (v >> 24);
    *p++ = (u_char) (v >> 16);
    *p++ = (u_char) (v >> 8);
    *p++ = (u_char) v;
    return p;
}


static ngx_inline u_char *
ngx_kanban_share_put64(u_char *p, int64_t v)
{
    p = ngx_kanban_share_put32(p, (uint32_t) ((uint64_t) v >> 32));
    return ngx_kanban_share_put32(p, (uint32_t) v);
}


static ngx_inline uint32_t
ngx_kanban_share_get32(u_char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


/* a growing array's elements, NGX_KANBAN_SHARE_ARRAY_HEADER bytes kept
 * free before them */
typedef struct {
    u_char                    *start;
    u_char                    *pos;
    u_char                    *end;
} ngx_kanban_share_column_t;


/* the visits of one link in a batch */
typedef struct {
    ngx_rbtree_node_t          node;           /* key: the link's bytes */
    u_char                     link[16];
    ngx_uint_t                 count;
    ngx_uint_t                 bots;
    ngx_uint_t                 uncounted;      /* to add to its visits */
    int64_t                    first;          /* microseconds since 2000 */
    int64_t                    last;
    ngx_kanban_share_column_t  columns[NGX_KANBAN_SHARE_COLUMNS];
} ngx_kanban_share_group_t;


typedef struct {
    ngx_queue_t                queue;
    ngx_pool_t                *pool;
    ngx_str_t                  slug;
    ngx_kanban_pg_db_t         db;
    ngx_rbtree_t               links;          /* each link's last group */
    ngx_rbtree_node_t          sentinel;
    ngx_array_t                groups;         /* in order */
    ngx_kanban_share_group_t  *recent;         /* the last visit's */
    size_t                     size;           /* bytes of visits */
    ngx_str_t                  params[NGX_KANBAN_SHARE_PARAMS];  /* sealed */
    ngx_uint_t                 count;
    ngx_uint_t                 attempts;
    ngx_uint_t                 one_by_one;     /* refused for its data */
    ngx_uint_t                 row;            /* the next to store alone */
    ngx_uint_t                 group;          /* ... its group */
    u_char                    *at[NGX_KANBAN_SHARE_COLUMNS];  /* ... fields */
} ngx_kanban_share_batch_t;


extern ngx_queue_t  ngx_kanban_share_pending;     /* batches filling */
extern ngx_uint_t   ngx_kanban_share_npending;    /* visits not stored */


u_char *ngx_kanban_share_column_reserve(ngx_pool_t *pool,
    ngx_kanban_share_column_t *c, size_t size);
void ngx_kanban_share_text(ngx_kanban_share_column_t *c, ngx_str_t *s);
ngx_int_t ngx_kanban_share_uuid(ngx_str_t *id, u_char *out);
ngx_int_t ngx_kanban_share_seal(ngx_kanban_share_batch_t *b);
ngx_int_t ngx_kanban_share_one(ngx_kanban_share_batch_t *b,
    ngx_str_t *params);
void ngx_kanban_share_skip(ngx_kanban_share_batch_t *b);
void ngx_kanban_share_rewind(ngx_kanban_share_batch_t *b, ngx_uint_t from);
void ngx_kanban_share_flush(ngx_kanban_share_batch_t *b);
void ngx_kanban_share_arm(void);
void ngx_kanban_share_clean(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out);
size_t ngx_kanban_share_address(ngx_http_request_t *r, u_char *out);


#endif /* _NGX_KANBAN_SHARE_VISIT_BATCH_H_INCLUDED_ */
