
/*
 * A cache in shared memory, one for every worker: entries by string key
 * (an rbtree by the key's hash), each a few numbers and strings, stale
 * after their ttl; when the zone is full the least recently used make
 * room. The workspaces' lookups and the share codes are kept this way.
 */

#ifndef _NGX_KANBAN_CACHE_H_INCLUDED_
#define _NGX_KANBAN_CACHE_H_INCLUDED_


#include "ngx_kanban.h"


#define NGX_KANBAN_CACHE_MAX_FIELDS   8
#define NGX_KANBAN_CACHE_MAX_NUMBERS  8

/* a refresh claimed this long ago is taken as lost (its worker gone, its
 * query stuck): another reader may claim the entry again */
#define NGX_KANBAN_CACHE_CLAIM_LOST   5000


/* What an entry holds besides its key. */
typedef struct {
    ngx_str_t                  fields[NGX_KANBAN_CACHE_MAX_FIELDS];
    ngx_uint_t                 nfields;
    int64_t                    numbers[NGX_KANBAN_CACHE_MAX_NUMBERS];
    ngx_uint_t                 nnumbers;
} ngx_kanban_cache_value_t;


/* "zone=name:size [ttl=time]": the zone (tagged for its module) */
char *ngx_kanban_cache_conf(ngx_conf_t *cf, void *tag, ngx_shm_zone_t **zone,
    ngx_msec_t *ttl);

/* NGX_OK with the value's strings copied into pool; NGX_DECLINED when
 * there is none or it is stale */
ngx_int_t ngx_kanban_cache_get(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_pool_t *pool, ngx_kanban_cache_value_t *value);
/* the same; within ahead of its end, the first reader also gets a
 * claim (non-zero in *claim): refresh the entry now, and put the answer
 * with ngx_kanban_cache_put_claimed */
ngx_int_t ngx_kanban_cache_get_ahead(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_pool_t *pool, ngx_kanban_cache_value_t *value, ngx_msec_t ahead,
    ngx_msec_t *claim);
void ngx_kanban_cache_put(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl, ngx_kanban_cache_value_t *value);
/* the same, unless a fresh entry's numbers[i] is n: a state that no
 * later answer may undo (a revoked link), put while a lookup was out */
void ngx_kanban_cache_put_unless(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl, ngx_kanban_cache_value_t *value, ngx_uint_t i,
    int64_t n);
/* a refresh's answer: put only if the entry still carries its claim (a
 * forget since, or a request's own lookup, wins); NGX_OK when put */
ngx_int_t ngx_kanban_cache_put_claimed(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl, ngx_kanban_cache_value_t *value, ngx_msec_t claim);
/* a lookup's answer: put only if no key was forgotten since
 * ngx_kanban_cache_forgets() was read before the lookup (a move or a
 * sign-up forgot it meanwhile: the answer may predate it); NGX_OK when
 * put */
ngx_int_t ngx_kanban_cache_put_since(ngx_shm_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl, ngx_kanban_cache_value_t *value, ngx_uint_t forgets);
ngx_uint_t ngx_kanban_cache_forgets(ngx_shm_zone_t *zone);
void ngx_kanban_cache_forget(ngx_shm_zone_t *zone, ngx_str_t *key);


#endif /* _NGX_KANBAN_CACHE_H_INCLUDED_ */
