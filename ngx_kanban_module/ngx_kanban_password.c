
/*
 * Passwords: argon2id with OWASP's parameters (19 MiB, 2 passes, one
 * lane), hashed and verified in the thread pool so a worker never stalls
 * on one. A sign-in for an unknown account verifies against a hash made at
 * the worker's start, so it costs what a known one costs. New passwords
 * are refused when they are in kanban_password_blocklist (one a line).
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
    ngx_kanban_verified_pt     verified;
    size_t                     len;
    u_char                     password[NGX_KANBAN_PASSWORD_MAX * 4];
    char                       hash[NGX_KANBAN_HASH_LEN];
} ngx_kanban_hash_job_t;


static void ngx_kanban_password_hash_work(ngx_kanban_job_t *job);
static void ngx_kanban_password_hash_done(ngx_http_request_t *r,
    ngx_kanban_job_t *job);
static void ngx_kanban_password_verify_work(ngx_kanban_job_t *job);
static void ngx_kanban_password_verify_done(ngx_http_request_t *r,
    ngx_kanban_job_t *job);
static int ngx_kanban_password_cmp(const void *a, const void *b);


/* a hash of nothing anyone knows, for accounts that do not exist */
static char  ngx_kanban_dummy_hash[NGX_KANBAN_HASH_LEN];


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


/* The handler learns whether password matches hash; hash NULL (no such
 * account) costs the same and never matches. */

ngx_int_t
ngx_kanban_password_verify(ngx_http_request_t *r, ngx_str_t *hash,
    ngx_str_t *password, ngx_kanban_verified_pt handler)
{
    ngx_kanban_job_t       *job;
    ngx_kanban_hash_job_t  *hj;

    if (password->len > sizeof(hj->password)
        || (hash && hash->len >= sizeof(hj->hash)))
    {
        return NGX_ERROR;
    }

    job = ngx_kanban_job_create(r, sizeof(ngx_kanban_hash_job_t));
    if (job == NULL) {
        return NGX_ERROR;
    }

    hj = job->data;
    hj->verified = handler;
    hj->len = password->len;
    ngx_memcpy(hj->password, password->data, password->len);

    if (hash && hash->len) {
        ngx_memcpy(hj->hash, hash->data, hash->len);
        hj->hash[hash->len] = '\0';
        job->rc = NGX_OK;

    } else {
        ngx_memcpy(hj->hash, ngx_kanban_dummy_hash,
                   sizeof(ngx_kanban_dummy_hash));
        job->rc = NGX_DECLINED;
    }

    job->work = ngx_kanban_password_verify_work;
    job->done = ngx_kanban_password_verify_done;

    return ngx_kanban_job_post(r, job);
}


/* in a thread; job->rc says on entry whether the account exists */

static void
ngx_kanban_password_verify_work(ngx_kanban_job_t *job)
{
    int                     rc;
    ngx_kanban_hash_job_t  *hj;

    hj = job->data;

    rc = argon2id_verify(hj->hash, (char *) hj->password, hj->len);

    job->rc = (job->rc == NGX_OK && rc == ARGON2_OK) ? NGX_OK : NGX_DECLINED;

    OPENSSL_cleanse(hj->password, sizeof(hj->password));
}


static void
ngx_kanban_password_verify_done(ngx_http_request_t *r, ngx_kanban_job_t *job)
{
    ngx_kanban_hash_job_t  *hj;

    hj = job->data;

    hj->verified(r, job->rc == NGX_OK);
}


ngx_int_t
ngx_kanban_password_init_process(ngx_cycle_t *cycle)
{
    u_char  salt[NGX_KANBAN_SALT_LEN], secret[32];

    if (RAND_bytes(salt, sizeof(salt)) != 1
        || RAND_bytes(secret, sizeof(secret)) != 1
        || argon2id_hash_encoded(NGX_KANBAN_ARGON2_T, NGX_KANBAN_ARGON2_M,
                                 NGX_KANBAN_ARGON2_P, secret, sizeof(secret),
                                 salt, sizeof(salt), NGX_KANBAN_DIGEST_LEN,
                                 ngx_kanban_dummy_hash,
                                 sizeof(ngx_kanban_dummy_hash))
           != ARGON2_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "kanban: could not make the dummy password hash");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* kanban_password_blocklist file: read once, lowercased and sorted. */

char *
ngx_kanban_password_blocklist(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_main_conf_t  *kmcf = conf;

    u_char       *p, *start, *end;
    ssize_t       n;
    ngx_fd_t      fd;
    ngx_str_t    *value, *word, file, data;
    ngx_file_info_t  fi;

    if (kmcf->blocklist) {
        return "is duplicate";
    }

    value = cf->args->elts;
    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &file);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 64 * 1024 * 1024)
    {
        ngx_close_file(fd);
        return "is unreadable or larger than 64m";
    }

    data.len = ngx_file_size(&fi);
    data.data = ngx_pnalloc(cf->pool, data.len + 1);
    if (data.data == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, data.data, data.len);
    ngx_close_file(fd);

    if (n != (ssize_t) data.len) {
        return "could not be read";
    }

    kmcf->blocklist = ngx_array_create(cf->pool, 4096, sizeof(ngx_str_t));
    if (kmcf->blocklist == NULL) {
        return NGX_CONF_ERROR;
    }

    end = data.data + data.len;

    for (start = data.data; start < end; start = p + 1) {
        p = ngx_strlchr(start, end, '\n');
        if (p == NULL) {
            p = end;
        }

        n = p - start;
        if (n && start[n - 1] == '\r') {
            n--;
        }

        if (n == 0 || (n >= 9 && ngx_strncmp(start, "#!comment", 9) == 0)) {
            continue;
        }

        word = ngx_array_push(kmcf->blocklist);
        if (word == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_strlow(start, start, n);
        word->data = start;
        word->len = n;
    }

    ngx_qsort(kmcf->blocklist->elts, kmcf->blocklist->nelts,
              sizeof(ngx_str_t), ngx_kanban_password_cmp);

    return NGX_CONF_OK;
}


/* A field check for new passwords (see ngx_kanban_field_t). */

char *
ngx_kanban_password_check(ngx_str_t *password, char **message)
{
    u_char                   buf[NGX_KANBAN_PASSWORD_MAX * 4];
    ngx_str_t                low;
    ngx_array_t             *list;
    ngx_kanban_main_conf_t  *kmcf;

    kmcf = ngx_kanban_main_conf();
    list = kmcf ? kmcf->blocklist : NULL;

    if (list == NULL || password->len > sizeof(buf)) {
        return NULL;
    }

    ngx_strlow(buf, password->data, password->len);
    low.data = buf;
    low.len = password->len;

    if (bsearch(&low, list->elts, list->nelts, sizeof(ngx_str_t),
                ngx_kanban_password_cmp)
        != NULL)
    {
        *message = "This password is too common; choose another.";
        return "too_common";
    }

    return NULL;
}


static int
ngx_kanban_password_cmp(const void *a, const void *b)
{
    const ngx_str_t  *x = a, *y = b;

    return (int) ngx_memn2cmp(x->data, y->data, x->len, y->len);
}
