
/*
 * kanban_password_blocklist file ...: common and breached passwords that
 * no new password may be (ASVS 6.2.4, 6.2.12). The files are read once,
 * when the configuration is, into one hash set (open addressing, the
 * words lowercased); the master reads it and the workers share its pages
 * after the fork, so a worker neither reads a file nor allocates for it.
 * A look-up is one hash and a probe or two: fast enough to stay in the
 * body's validation, on the event loop.
 *
 * Words shorter than NGX_KANBAN_PASSWORD_MIN are not kept: no new
 * password can be one of them, and they are half of a breach list.
 */

#include "ngx_kanban_routes.h"


#define NGX_KANBAN_PASSWORD_LIST_MAX_FILE  (64 * 1024 * 1024)


struct ngx_kanban_password_list_s {
    uint32_t                  *slots;      /* offset + 1 into words, 0 free */
    ngx_uint_t                 mask;       /* slots - 1, a power of 2 - 1 */
    ngx_uint_t                 n;          /* words kept */
    u_char                    *words;      /* each NUL-terminated */
};


static u_char *ngx_kanban_password_list_fill(ngx_kanban_password_list_t *list,
    u_char *buf, u_char *p, ngx_str_t *data);
static ngx_int_t ngx_kanban_password_list_read(ngx_conf_t *cf,
    ngx_str_t *name, ngx_str_t *data);
static ngx_uint_t ngx_kanban_password_list_lines(ngx_str_t *data);
static ngx_int_t ngx_kanban_password_list_add(
    ngx_kanban_password_list_t *list, u_char *base, u_char *word,
    size_t len);
static uint32_t *ngx_kanban_password_list_slot(
    ngx_kanban_password_list_t *list, u_char *word, size_t len);


char *
ngx_kanban_password_blocklist(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_kanban_main_conf_t  *kmcf = conf;

    u_char                      *p, *buf;
    size_t                       total;
    ngx_str_t                   *value, *data;
    ngx_uint_t                   i, lines, size;
    ngx_kanban_password_list_t  *list;

    if (kmcf->blocklist) {
        return "is duplicate";
    }

    value = cf->args->elts;

    data = ngx_pcalloc(cf->temp_pool, cf->args->nelts * sizeof(ngx_str_t));
    if (data == NULL) {
        return NGX_CONF_ERROR;
    }

    total = 0;
    lines = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_kanban_password_list_read(cf, &value[i], &data[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        total += data[i].len + 1;
        lines += ngx_kanban_password_list_lines(&data[i]);
    }

    if (total >= 0xffffffff) {
        return "lists more than 4g of words";
    }

    list = ngx_pcalloc(cf->pool, sizeof(ngx_kanban_password_list_t));
    if (list == NULL) {
        return NGX_CONF_ERROR;
    }

    /* at most half full: a miss ends after a probe or two */
    for (size = 1024; size < lines * 2; size <<= 1) { /* void */ }

    list->mask = size - 1;
    list->slots = ngx_pcalloc(cf->pool, size * sizeof(uint32_t));
    buf = ngx_pnalloc(cf->temp_pool, total + 1);

    if (list->slots == NULL || buf == NULL) {
        return NGX_CONF_ERROR;
    }

    list->words = buf;
    p = buf + 1;                    /* offset 0 means a free slot */

    for (i = 1; i < cf->args->nelts; i++) {
        p = ngx_kanban_password_list_fill(list, buf, p, &data[i]);
    }

    /* what is kept is a fraction of the files: copied out of temp_pool */
    list->words = ngx_pnalloc(cf->pool, p - buf);
    if (list->words == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(list->words, buf, p - buf);

    kmcf->blocklist = list;

    ngx_conf_log_error(NGX_LOG_INFO, cf, 0,
                       "password blocklist: %ui words kept, %uz bytes",
                       list->n, (size_t) (p - buf) + size * sizeof(uint32_t));

    return NGX_CONF_OK;
}


/* One file's words, lowercased, added at p (in buf) unless too short, too
 * long or seen already; returns where the next word goes. */

static u_char *
ngx_kanban_password_list_fill(ngx_kanban_password_list_t *list, u_char *buf,
    u_char *p, ngx_str_t *data)
{
    u_char  *start, *end, *nl, *next;
    size_t   len;

    end = data->data + data->len;

    for (start = data->data; start < end; start = next) {
        nl = ngx_strlchr(start, end, '\n');
        next = nl ? nl + 1 : end;
        len = (nl ? nl : end) - start;

        if (len && start[len - 1] == '\r') {
            len--;
        }

        /* john's list starts with "#!comment:" lines */
        if (len < NGX_KANBAN_PASSWORD_MIN
            || len > NGX_KANBAN_PASSWORD_MAX * 4
            || ngx_strncmp(start, "#!comment", 9) == 0
            || memchr(start, '\0', len) != NULL)
        {
            continue;
        }

        ngx_strlow(p, start, len);
        p[len] = '\0';

        if (ngx_kanban_password_list_add(list, buf, p, len) == NGX_OK) {
            p += len + 1;
        }
    }

    return p;
}


static ngx_int_t
ngx_kanban_password_list_read(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *data)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_str_t        file;
    ngx_file_info_t  fi;

    file = *name;

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &file);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_KANBAN_PASSWORD_LIST_MAX_FILE)
    {
        ngx_close_file(fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is unreadable or larger than 64m", &file);
        return NGX_ERROR;
    }

    data->len = ngx_file_size(&fi);
    data->data = ngx_pnalloc(cf->temp_pool, data->len + 1);
    if (data->data == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, data->data, data->len);
    ngx_close_file(fd);

    if (n != (ssize_t) data->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" could not be read", &file);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_kanban_password_list_lines(ngx_str_t *data)
{
    u_char      *p, *start, *end;
    ngx_uint_t   n;

    n = 0;
    end = data->data + data->len;

    /* the lines long enough to be kept, CRs and comments aside */
    for (start = data->data; start < end; start = p + 1) {
        p = ngx_strlchr(start, end, '\n');
        if (p == NULL) {
            p = end;
        }

        n += ((size_t) (p - start) >= NGX_KANBAN_PASSWORD_MIN);
    }

    return n;
}


/* NGX_OK when added; NGX_DECLINED for a word already there */

static ngx_int_t
ngx_kanban_password_list_add(ngx_kanban_password_list_t *list, u_char *base,
    u_char *word, size_t len)
{
    uint32_t  *slot;

    slot = ngx_kanban_password_list_slot(list, word, len);

    if (*slot) {
        return NGX_DECLINED;
    }

    *slot = (uint32_t) (word - base);
    list->n++;

    return NGX_OK;
}


/* the slot that holds the word, or the free one where it would go */

static uint32_t *
ngx_kanban_password_list_slot(ngx_kanban_password_list_t *list, u_char *word,
    size_t len)
{
    u_char      *w;
    ngx_uint_t   i;

    i = ngx_murmur_hash2(word, len) & list->mask;

    for ( ;; ) {
        if (list->slots[i] == 0) {
            return &list->slots[i];
        }

        w = list->words + list->slots[i];

        if (ngx_strncmp(w, word, len) == 0 && w[len] == '\0') {
            return &list->slots[i];
        }

        i = (i + 1) & list->mask;
    }
}


/* A field check for new passwords (see ngx_kanban_field_t). */

char *
ngx_kanban_password_check(ngx_str_t *password, char **message)
{
    u_char                       buf[NGX_KANBAN_PASSWORD_MAX * 4];
    ngx_kanban_main_conf_t      *kmcf;
    ngx_kanban_password_list_t  *list;

    kmcf = ngx_kanban_main_conf();
    list = kmcf ? kmcf->blocklist : NULL;

    if (list == NULL || password->len > sizeof(buf)
        || memchr(password->data, '\0', password->len) != NULL)
    {
        return NULL;
    }

    ngx_strlow(buf, password->data, password->len);

    if (*ngx_kanban_password_list_slot(list, buf, password->len)) {
        *message = "This password is in a list of common or breached "
                   "passwords; choose another.";
        return "too_common";
    }

    return NULL;
}
