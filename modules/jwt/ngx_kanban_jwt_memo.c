
/*
 * A worker's memo of the access tokens it has verified.
 *
 * A client sends the same token with every request for its 15 minutes,
 * and verifying it (three base64 segments decoded, two JSON documents
 * parsed, a signature or its digest) cost a third of a task read. An
 * access token's verdict depends only on its bytes, the configured keys,
 * issuer, audience and leeway, and the clock: nothing revokes one before
 * its exp (sign-out, a disabled member or a new role end the refresh
 * tokens; API tokens are looked up, never memoised), keys change only
 * with the configuration, that is with new workers and an empty memo. So
 * a verified token's claims are kept and handed to its next requests:
 *
 *   - a fixed table of slots, the slot by a hash of the token's bytes; a
 *     newcomer evicts the slot's holder;
 *   - only a token that passed is kept, so a forged one evicts nothing;
 *   - a hit is the same verifier and the whole token equal, compared in
 *     constant time, and the clock still inside [nbf, exp] with the
 *     leeway: an entry never outlives its token;
 *   - the workspace's check (tid) stays with the caller, every request.
 *
 * The claims point into the entry's own pool; a request holding them
 * keeps the entry alive past its eviction until the request ends.
 */

/* SQL: none of its own */
#include "ngx_kanban_jwt.h"


#define NGX_KANBAN_JWT_MEMO_SLOTS      1024     /* a power of two */
#define NGX_KANBAN_JWT_MEMO_MAX_TOKEN  4096     /* longer: verified alone */
#define NGX_KANBAN_JWT_MEMO_POOL       2048


typedef struct {
    ngx_str_t                   token;
    ngx_kanban_jwt_verifier_t  *verifier;
    ngx_kanban_jwt_claims_t     claims;
    ngx_pool_t                 *pool;          /* holds this entry too */
    ngx_uint_t                  refs;          /* requests holding it */
    ngx_uint_t                  evicted;
} ngx_kanban_jwt_memo_entry_t;


static ngx_kanban_jwt_memo_entry_t *ngx_kanban_jwt_memo_find(
    ngx_kanban_jwt_verifier_t *v, ngx_str_t *token, ngx_uint_t slot);
static ngx_kanban_jwt_memo_entry_t *ngx_kanban_jwt_memo_add(
    ngx_kanban_jwt_verifier_t *v, ngx_str_t *token, ngx_uint_t slot,
    char **why);
static ngx_int_t ngx_kanban_jwt_memo_hold(ngx_pool_t *pool,
    ngx_kanban_jwt_memo_entry_t *e);
static void ngx_kanban_jwt_memo_release(void *data);
static void ngx_kanban_jwt_memo_evict(ngx_uint_t slot);
static ngx_uint_t ngx_kanban_jwt_memo_equal(const u_char *a, const u_char *b,
    size_t len);


static ngx_kanban_jwt_memo_entry_t
    *ngx_kanban_jwt_memo_slots[NGX_KANBAN_JWT_MEMO_SLOTS];


/* ngx_kanban_jwt_verify() with the worker's memory: the claims of a token
 * this worker verified already, or of one verified now. They stay valid
 * while pool (the request's) lives. */

ngx_int_t
ngx_kanban_jwt_memo_verify(ngx_pool_t *pool, ngx_kanban_jwt_verifier_t *v,
    ngx_str_t *token, ngx_kanban_jwt_claims_t *claims, char **why)
{
    ngx_uint_t                    slot;
    ngx_kanban_jwt_memo_entry_t  *e;

    if (token->len == 0 || token->len > NGX_KANBAN_JWT_MEMO_MAX_TOKEN) {
        return ngx_kanban_jwt_verify(pool, v, token, claims, why);
    }

    slot = ngx_murmur_hash2(token->data, token->len)
           & (NGX_KANBAN_JWT_MEMO_SLOTS - 1);

    e = ngx_kanban_jwt_memo_find(v, token, slot);

    if (e == NULL) {
        e = ngx_kanban_jwt_memo_add(v, token, slot, why);
        if (e == NULL) {
            return NGX_DECLINED;
        }
    }

    if (ngx_kanban_jwt_memo_hold(pool, e) != NGX_OK) {
        *why = "out of memory";
        return NGX_ERROR;
    }

    *claims = e->claims;

    return NGX_OK;
}


/* The slot's entry when it is this token's and the token is still
 * within its times; an entry past them is dropped, and the token is
 * verified again (for the reason it fails). */

static ngx_kanban_jwt_memo_entry_t *
ngx_kanban_jwt_memo_find(ngx_kanban_jwt_verifier_t *v, ngx_str_t *token,
    ngx_uint_t slot)
{
    time_t                        now;
    ngx_kanban_jwt_memo_entry_t  *e;

    e = ngx_kanban_jwt_memo_slots[slot];

    if (e == NULL
        || e->verifier != v
        || e->token.len != token->len
        || !ngx_kanban_jwt_memo_equal(e->token.data, token->data,
                                      token->len))
    {
        return NULL;
    }

    now = ngx_time();

    if (now > e->claims.exp + v->leeway
        || now + v->leeway < e->claims.not_before)
    {
        ngx_kanban_jwt_memo_evict(slot);
        return NULL;
    }

    return e;
}


/* Verifies the token into a pool of its own; a token that passes takes
 * the slot, one that fails leaves it as it was. */

static ngx_kanban_jwt_memo_entry_t *
ngx_kanban_jwt_memo_add(ngx_kanban_jwt_verifier_t *v, ngx_str_t *token,
    ngx_uint_t slot, char **why)
{
    ngx_pool_t                   *pool;
    ngx_kanban_jwt_memo_entry_t  *e;

    /* the cycle's log: the entry outlives the request that made it */
    pool = ngx_create_pool(NGX_KANBAN_JWT_MEMO_POOL, ngx_cycle->log);
    if (pool == NULL) {
        *why = "out of memory";
        return NULL;
    }

    e = ngx_pcalloc(pool, sizeof(ngx_kanban_jwt_memo_entry_t));
    if (e == NULL) {
        *why = "out of memory";
        goto failed;
    }

    e->token.data = ngx_pnalloc(pool, token->len);
    if (e->token.data == NULL) {
        *why = "out of memory";
        goto failed;
    }

    ngx_memcpy(e->token.data, token->data, token->len);
    e->token.len = token->len;

    if (ngx_kanban_jwt_verify(pool, v, &e->token, &e->claims, why)
        != NGX_OK)
    {
        goto failed;
    }

    e->verifier = v;
    e->pool = pool;

    ngx_kanban_jwt_memo_evict(slot);
    ngx_kanban_jwt_memo_slots[slot] = e;

    return e;

failed:

    ngx_destroy_pool(pool);
    return NULL;
}


/* The request holds the entry until its pool goes. */

static ngx_int_t
ngx_kanban_jwt_memo_hold(ngx_pool_t *pool, ngx_kanban_jwt_memo_entry_t *e)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_kanban_jwt_memo_release;
    cln->data = e;
    e->refs++;

    return NGX_OK;
}


static void
ngx_kanban_jwt_memo_release(void *data)
{
    ngx_kanban_jwt_memo_entry_t  *e = data;

    if (--e->refs == 0 && e->evicted) {
        ngx_destroy_pool(e->pool);
    }
}


/* The slot emptied; its entry freed now, or by its last request. */

static void
ngx_kanban_jwt_memo_evict(ngx_uint_t slot)
{
    ngx_kanban_jwt_memo_entry_t  *e;

    e = ngx_kanban_jwt_memo_slots[slot];
    if (e == NULL) {
        return;
    }

    ngx_kanban_jwt_memo_slots[slot] = NULL;
    e->evicted = 1;

    if (e->refs == 0) {
        ngx_destroy_pool(e->pool);
    }
}


/* A worker's exit, before its modules are unloaded with the slots: what
 * they hold is freed, not lost. */

void
ngx_kanban_jwt_memo_clear(void)
{
    ngx_uint_t  slot;

    for (slot = 0; slot < NGX_KANBAN_JWT_MEMO_SLOTS; slot++) {
        ngx_kanban_jwt_memo_evict(slot);
    }
}


/* Equal in constant time, eight bytes a step: OpenSSL's CRYPTO_memcmp
 * takes one byte a step, about 3,200 instructions for a token of 700
 * bytes, a twentieth of a whole read. No branch on the bytes (the empty
 * asm keeps the compiler from making one); the length is public. */

static ngx_uint_t
ngx_kanban_jwt_memo_equal(const u_char *a, const u_char *b, size_t len)
{
    size_t    i;
    uint64_t  x, y, diff;

    diff = 0;

    for (i = 0; i + 8 <= len; i += 8) {
        ngx_memcpy(&x, a + i, 8);
        ngx_memcpy(&y, b + i, 8);
        diff |= x ^ y;
        __asm__ ("" : "+r" (diff));
    }

    for ( /* void */ ; i < len; i++) {
        diff |= (uint64_t) (a[i] ^ b[i]);
        __asm__ ("" : "+r" (diff));
    }

    return diff == 0;
}
