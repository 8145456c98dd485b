
/*
 * An attachment's type check (POST .../attachments: the Content-Type sent
 * against the file's first bytes) and the type it is served with. The
 * input is the Content-Type, then after a newline (if there is one) the
 * file's bytes; no newline: the bytes alone, sent with no type. Beyond
 * memory safety the target holds the rules a user relies on: a program
 * (PE, ELF, Mach-O by its magic) is never stored, a refusal always says
 * why, and a type a browser would run is never served as itself.
 */

#include "../fuzz.h"
#include "ngx_kanban_attachment_type.h"


static ngx_uint_t
kanban_fuzz_starts(ngx_str_t *bytes, char *magic, size_t len)
{
    return bytes->len >= len && ngx_memcmp(bytes->data, magic, len) == 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char        *code, *message;
    u_char      *copy, *nl;
    ngx_int_t    rc;
    ngx_str_t    type, bytes, served, media, *sent;
    ngx_uint_t   i;
    ngx_pool_t  *pool;

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    copy = kanban_fuzz_copy(pool, data, size);
    if (copy == NULL) {
        goto done;
    }

    nl = memchr(copy, '\n', size);

    if (nl) {
        type.data = copy;
        type.len = nl - copy;
        bytes.data = nl + 1;
        bytes.len = size - type.len - 1;
        sent = &type;

    } else {
        bytes.data = copy;
        bytes.len = size;
        sent = NULL;
    }

    code = NULL;
    message = NULL;

    rc = ngx_kanban_attachment_type_check(sent, &bytes, &code, &message);

    if (rc != NGX_OK && rc != NGX_DECLINED) {
        __builtin_trap();
    }

    if (rc == NGX_DECLINED && (code == NULL || message == NULL)) {
        __builtin_trap();           /* every refusal says why */
    }

    if (rc == NGX_OK
        && (kanban_fuzz_starts(&bytes, "MZ", 2)
            || kanban_fuzz_starts(&bytes, "\x7f" "ELF", 4)
            || kanban_fuzz_starts(&bytes, "\xca\xfe\xba\xbe", 4)
            || kanban_fuzz_starts(&bytes, "\xcf\xfa\xed\xfe", 4)))
    {
        __builtin_trap();           /* a program got in */
    }

    if (sent) {
        ngx_kanban_attachment_type_served(sent, &served);

        if (served.len == 0) {
            __builtin_trap();
        }

        /* the media type, as a browser reads it: before any parameter */
        media = *sent;

        while (media.len && (media.data[0] == ' ' || media.data[0] == '\t')) {
            media.data++;
            media.len--;
        }

        for (i = 0; i < media.len; i++) {
            if (media.data[i] == ';' || media.data[i] == ' '
                || media.data[i] == '\t')
            {
                break;
            }
        }

        media.len = i;

        if (served.data == sent->data
            && (ngx_strlcasestrn(media.data, media.data + media.len,
                                 (u_char *) "html", 4 - 1) != NULL
                || ngx_strlcasestrn(media.data, media.data + media.len,
                                    (u_char *) "script", 6 - 1) != NULL
                || ngx_strlcasestrn(media.data, media.data + media.len,
                                    (u_char *) "svg+xml", 7 - 1) != NULL))
        {
            __builtin_trap();       /* served as what a browser runs */
        }
    }

done:

    ngx_destroy_pool(pool);

    return 0;
}
