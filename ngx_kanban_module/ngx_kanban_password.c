
/*
 * Passwords: argon2id with OWASP's parameters (19 MiB, 2 passes, one
 * lane), hashed and verified in the thread pool so a worker never stalls
 * on one. A sign-in for an unknown account verifies against a hash made at
 * the worker's start, so it costs what a known one costs. New passwords
 * are refused when they are in kanban_password_blocklist
 * (ngx_kanban_password_list.c), or when they contain a word an attacker would try first: the
 * workspace's slug or name, the local part of the person's email.
 */

#include "ngx_kanban_routes.h"
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


static ngx_int_t ngx_kanban_password_hash_job(ngx_http_request_t *r,
    ngx_str_t *password, ngx_kanban_hashed_pt handler, ngx_uint_t prompt);
static void ngx_kanban_password_hash_work(ngx_kanban_job_t *job);
static void ngx_kanban_password_hash_done(ngx_http_request_t *r,
    ngx_kanban_job_t *job);
static void ngx_kanban_password_verify_work(ngx_kanban_job_t *job);
static void ngx_kanban_password_verify_done(ngx_http_request_t *r,
    ngx_kanban_job_t *job);


/* a hash of nothing anyone knows, for accounts that do not exist */
static char  ngx_kanban_dummy_hash[NGX_KANBAN_HASH_LEN];


ngx_int_t
ngx_kanban_password_hash(ngx_http_request_t *r, ngx_str_t *password,
    ngx_kanban_hashed_pt handler)
{
    return ngx_kanban_password_hash_job(r, password, handler, 0);
}


ngx_int_t
ngx_kanban_password_hash_prompt(ngx_http_request_t *r, ngx_str_t *password,
    ngx_kanban_hashed_pt handler)
{
    return ngx_kanban_password_hash_job(r, password, handler, 1);
}


static ngx_int_t
ngx_kanban_password_hash_job(ngx_http_request_t *r, ngx_str_t *password,
    ngx_kanban_hashed_pt handler, ngx_uint_t prompt)
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
    job->prompt = prompt;

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


/*
 * Words shorter than this are not held against a password: "al" of
 * al@example.com would refuse a good share of all passphrases.
 */
#define NGX_KANBAN_PASSWORD_WORD_MIN  3


static ngx_int_t ngx_kanban_password_in_object(ngx_kanban_json_t *obj,
    ngx_kanban_field_t *fields, ngx_str_t *prefix, ngx_str_t *words,
    ngx_uint_t n, ngx_array_t *errors);


/* NGX_DECLINED when the password contains one of the words (case aside) */

ngx_int_t
ngx_kanban_password_words(ngx_str_t *password, ngx_str_t *words,
    ngx_uint_t n)
{
    u_char      low[NGX_KANBAN_PASSWORD_MAX * 4];
    size_t      len;
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        len = words[i].len;

        if (len < NGX_KANBAN_PASSWORD_WORD_MIN || len > sizeof(low)
            || len > password->len)
        {
            continue;
        }

        ngx_strlow(low, words[i].data, len);

        if (ngx_strlcasestrn(password->data, password->data + password->len,
                             low, len - 1)
            != NULL)
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* The part of an email before its last '@'. */

void
ngx_kanban_password_email_word(ngx_str_t *email, ngx_str_t *word)
{
    size_t  i;

    *word = *email;

    for (i = email->len; i > 0; i--) {
        if (email->data[i - 1] == '@') {
            word->len = i - 1;
            return;
        }
    }
}


/*
 * After a body's validation: each new password in it (a field checked by
 * ngx_kanban_password_check, at the top or in an object of the top) must
 * not contain the workspace's slug or name (the request's, or for a new
 * workspace the body's "slug" and "name"), nor the local part of the
 * "email" beside it. NGX_DECLINED with the error added.
 */

ngx_int_t
ngx_kanban_password_context(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    ngx_array_t *errors)
{
    ngx_int_t            rc;
    ngx_str_t            words[2], prefix = ngx_null_string, *s;
    ngx_uint_t           n, i;
    ngx_kanban_field_t  *f;

    if (ctx->body == NULL || ctx->route->body == NULL
        || ctx->route->body[0].name == NULL
        || ctx->route->body[0].name[0] == '\0')
    {
        return NGX_OK;
    }

    n = 0;

    if (ctx->tenant) {
        words[n++] = ctx->tenant->slug;
        words[n++] = ctx->tenant->name;

    } else {
        s = ngx_kanban_json_string(ctx->body, "slug");
        if (s) {
            words[n++] = *s;
        }

        s = ngx_kanban_json_string(ctx->body, "name");
        if (s) {
            words[n++] = *s;
        }
    }

    rc = ngx_kanban_password_in_object(ctx->body, ctx->route->body, &prefix,
                                       words, n, errors);
    if (rc != NGX_OK) {
        return rc;
    }

    /* one level down: signup's "admin" */
    for (f = ctx->route->body, i = 0; f[i].name; i++) {
        if (f[i].type != NGX_KANBAN_FIELD_OBJECT || f[i].fields == NULL) {
            continue;
        }

        prefix.data = (u_char *) f[i].name;
        prefix.len = ngx_strlen(f[i].name);

        rc = ngx_kanban_password_in_object(
                 ngx_kanban_json_get(ctx->body, f[i].name), f[i].fields,
                 &prefix, words, n, errors);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_kanban_password_in_object(ngx_kanban_json_t *obj,
    ngx_kanban_field_t *fields, ngx_str_t *prefix, ngx_str_t *words,
    ngx_uint_t n, ngx_array_t *errors)
{
    ngx_str_t    all[3], *password, *email;
    ngx_uint_t   i, m;

    if (obj == NULL || obj->type != NGX_KANBAN_JSON_OBJECT) {
        return NGX_OK;
    }

    for (i = 0; fields[i].name; i++) {
        if (fields[i].check != ngx_kanban_password_check) {
            continue;
        }

        password = ngx_kanban_json_string(obj, fields[i].name);
        if (password == NULL) {
            continue;
        }

        for (m = 0; m < n; m++) {
            all[m] = words[m];
        }

        email = ngx_kanban_json_string(obj, "email");
        if (email) {
            ngx_kanban_password_email_word(email, &all[m++]);
        }

        if (ngx_kanban_password_words(password, all, m) == NGX_OK) {
            continue;
        }

        if (ngx_kanban_field_error(errors, prefix->len ? prefix : NULL,
                                   fields[i].name, "guessable",
                                   NGX_KANBAN_PASSWORD_GUESSABLE)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}
