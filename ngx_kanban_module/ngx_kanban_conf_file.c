
/*
 * A file a directive names (a key, a secret, a list), read whole while
 * the configuration is read: its path taken from the prefix, its size
 * bounded, its bytes in the pool with a NUL after them.
 */

#include "ngx_kanban.h"


/* NGX_OK with *data; NGX_ERROR when it cannot be opened or read, or is
 * larger than max (said in the log). name becomes the full path. */

ngx_int_t
ngx_kanban_conf_read_file(ngx_conf_t *cf, ngx_str_t *name, size_t max,
    ngx_pool_t *pool, ngx_str_t *data)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", name);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || (size_t) ngx_file_size(&fi) > max)
    {
        ngx_close_file(fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is unreadable or larger than %uz bytes",
                           name, max);
        return NGX_ERROR;
    }

    data->len = ngx_file_size(&fi);
    data->data = ngx_pnalloc(pool, data->len + 1);
    if (data->data == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, data->data, data->len);
    ngx_close_file(fd);

    if (n != (ssize_t) data->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "reading \"%V\" failed", name);
        return NGX_ERROR;
    }

    data->data[data->len] = '\0';

    return NGX_OK;
}
