
/*
 * Password hashes: argon2id with OWASP's parameters (19 MiB, 2 passes,
 * one lane), computed in the thread pool so a worker never stalls on one.
 */

#include "ngx_kanban.h"
#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>


#define NGX_KANBAN_ARGON2_T       2
#define NGX_KANBAN_ARGON2_M       19456
#define NGX_KANBAN_ARGON2_P       1
#define NGX_KANBAN_SALT_LEN       16
#define NGX_KANBAN_DIGEST_LEN     32


typedef struct {
    ngx_kanban_hashed_pt       handler;
    size_t                     len;
    u_char                     password[NGX_KANBAN_PASSWORD_MAX * 4];
    char                       hash[NGX_KANBAN_HASH_LEN];
} ngx_kanban_hash_job_t;


static void ngx_kanban_password_hash_work(ngx_kanban_job_t *job);
static void ngx_kanban_password_hash_done(ngx_http_request_t *r,
    ngx_kanban_job_t *job);


ngx_int_t
ngx_kanban_password_hash(ngx_http_request_t *r, ngx_str_t *password,
    ngx_kanban_hashed_pt handler)
{
    ngx_kanban_job_t       *job;
    ngx_kanban_hash_job_t  *hj;

    if (password->len > sizeof(hj->password)) {
        return NGX_ERROR;
    }

    job = ngx_kanban_job_create(r, sizeof(ngx_kanban_hash_job_t));
    if (job == NULL) {
        return NGX_ERROR;
    }

    hj = job->data;
    hj->handler = handler;
    hj->len = password->len;
    ngx_memcpy(hj->password, password->data, password->len);

    job->work = ngx_kanban_password_hash_work;
    job->done = ngx_kanban_password_hash_done;

    return ngx_kanban_job_post(r, job);
}


/* in a thread */

static void
ngx_kanban_password_hash_work(ngx_kanban_job_t *job)
{
    u_char                  salt[NGX_KANBAN_SALT_LEN];
    ngx_kanban_hash_job_t  *hj;

    hj = job->data;
    job->rc = NGX_ERROR;

    if (RAND_bytes(salt, sizeof(salt)) == 1
        && argon2id_hash_encoded(NGX_KANBAN_ARGON2_T, NGX_KANBAN_ARGON2_M,
                                 NGX_KANBAN_ARGON2_P, hj->password, hj->len,
                                 salt, sizeof(salt), NGX_KANBAN_DIGEST_LEN,
                                 hj->hash, sizeof(hj->hash))
           == ARGON2_OK)
    {
        job->rc = NGX_OK;
    }

    OPENSSL_cleanse(hj->password, sizeof(hj->password));
}


static void
ngx_kanban_password_hash_done(ngx_http_request_t *r, ngx_kanban_job_t *job)
{
    ngx_str_t               hash;
    ngx_kanban_hash_job_t  *hj;

    hj = job->data;
    ngx_str_null(&hash);

    if (job->rc == NGX_OK) {
        hash.len = ngx_strlen(hj->hash);
        hash.data = ngx_pnalloc(r->pool, hash.len + 1);

        if (hash.data == NULL) {
            hash.len = 0;

        } else {
            ngx_memcpy(hash.data, hj->hash, hash.len + 1);
        }
    }

    hj->handler(r, &hash);
}
