
/*
 * What an attachment is, from its first bytes (ASVS 5.2.2), and what it is
 * served as (3.2.1). At upload: an executable (PE, ELF, Mach-O, by its
 * magic or by the type it is sent as) and an SVG that can run script are
 * refused; a type whose files have a signature (PNG, JPEG, GIF, WebP,
 * PDF, ZIP and the office formats built on it, gzip) must have it. At
 * download: a type a browser would run or render as a page (HTML, SVG,
 * XML, script) is served as application/octet-stream, beside the
 * download's Content-Disposition: attachment, its sandbox CSP and
 * nosniff, so a file stored with such a type never acts on the
 * workspace's origin.
 */

/* SQL: none of its own */
#include "ngx_kanban_attachment_type.h"


typedef struct {
    char                      *types;      /* media types, " "-separated */
    size_t                     offset;
    char                      *magic;
    size_t                     len;
} ngx_kanban_signature_t;


#define ngx_kanban_sig(types, offset, magic)                                 \
    { types, offset, magic, sizeof(magic) - 1 }

/* A type listed here must start (at offset) with one of its magics. */
static ngx_kanban_signature_t  ngx_kanban_signatures[] = {
    ngx_kanban_sig(" image/png ", 0, "\x89PNG\r\n\x1a\n"),
    ngx_kanban_sig(" image/jpeg image/jpg image/pjpeg ", 0, "\xff\xd8\xff"),
    ngx_kanban_sig(" image/gif ", 0, "GIF87a"),
    ngx_kanban_sig(" image/gif ", 0, "GIF89a"),
    ngx_kanban_sig(" image/webp ", 8, "WEBP"),
    ngx_kanban_sig(" application/pdf ", 0, "%PDF-"),
    ngx_kanban_sig(" application/gzip application/x-gzip ", 0, "\x1f\x8b"),
    ngx_kanban_sig(" application/zip application/x-zip-compressed"
                   " application/epub+zip application/java-archive ",
                   0, "PK\x03\x04"),
    ngx_kanban_sig(" application/zip ", 0, "PK\x05\x06"),
    { NULL, 0, NULL, 0 }
};

/* the office formats are ZIP files whatever their name says */
static char  *ngx_kanban_zip_families[] = {
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
    NULL
};

/* programs a click could run, by their first bytes */
static ngx_kanban_signature_t  ngx_kanban_executables[] = {
    ngx_kanban_sig("PE", 0, "MZ"),
    ngx_kanban_sig("ELF", 0, "\x7f" "ELF"),
    ngx_kanban_sig("Mach-O", 0, "\xfe\xed\xfa\xce"),
    ngx_kanban_sig("Mach-O", 0, "\xfe\xed\xfa\xcf"),
    ngx_kanban_sig("Mach-O", 0, "\xce\xfa\xed\xfe"),
    ngx_kanban_sig("Mach-O", 0, "\xcf\xfa\xed\xfe"),
    ngx_kanban_sig("Mach-O", 0, "\xca\xfe\xba\xbe"),
    { NULL, 0, NULL, 0 }
};

static char  *ngx_kanban_executable_types =
    " application/x-msdownload application/x-dosexec"
    " application/vnd.microsoft.portable-executable"
    " application/x-ms-installer application/x-msi"
    " application/x-executable application/x-elf application/x-sharedlib"
    " application/x-pie-executable application/x-mach-binary ";

/* served as application/octet-stream: a browser would render or run it */
static char  *ngx_kanban_active_types =
    " text/html application/xhtml+xml image/svg+xml text/xml application/xml"
    " text/xsl application/xslt+xml text/javascript application/javascript"
    " application/x-javascript application/ecmascript text/ecmascript"
    " application/x-shockwave-flash application/pdf+html ";

/* in an SVG: what runs script, or embeds a page that can */
static char  *ngx_kanban_svg_active[] = {
    "<script", "javascript:", "<foreignobject", "<iframe", "<embed",
    "<object", "<handler", "<listener", "data:text/html", NULL
};


static void ngx_kanban_attachment_media_type(ngx_str_t *type,
    u_char *buf, size_t size, ngx_str_t *media);
static ngx_uint_t ngx_kanban_attachment_listed(char *list, ngx_str_t *type);
static ngx_uint_t ngx_kanban_attachment_magic(ngx_kanban_signature_t *sig,
    ngx_str_t *bytes);
static ngx_uint_t ngx_kanban_attachment_is_svg(ngx_str_t *media,
    ngx_str_t *bytes);
static ngx_uint_t ngx_kanban_attachment_svg_active(ngx_str_t *bytes);
static ngx_uint_t ngx_kanban_attachment_has(u_char *p, u_char *end,
    char *word);


/*
 * NGX_OK when bytes may be stored as type (the request's Content-Type,
 * NULL for none); else NGX_DECLINED with a field error's code and message.
 */

ngx_int_t
ngx_kanban_attachment_type_check(ngx_str_t *type, ngx_str_t *bytes,
    char **code, char **message)
{
    u_char                   buf[256];
    ngx_str_t                media;
    ngx_uint_t               listed, i;
    ngx_kanban_signature_t  *sig;

    ngx_kanban_attachment_media_type(type, buf, sizeof(buf), &media);

    for (sig = ngx_kanban_executables; sig->types; sig++) {
        if (ngx_kanban_attachment_magic(sig, bytes)) {
            *code = "dangerous_type";
            *message = "Programs (PE, ELF, Mach-O) are not attached; "
                       "put them in an archive elsewhere and link to it.";
            return NGX_DECLINED;
        }
    }

    if (media.len && ngx_kanban_attachment_listed(ngx_kanban_executable_types,
                                                  &media))
    {
        *code = "dangerous_type";
        *message = "Programs are not attached.";
        return NGX_DECLINED;
    }

    if (ngx_kanban_attachment_is_svg(&media, bytes)
        && ngx_kanban_attachment_svg_active(bytes))
    {
        *code = "dangerous_type";
        *message = "This SVG has script or embedded pages; "
                   "attach one without.";
        return NGX_DECLINED;
    }

    if (media.len == 0) {
        return NGX_OK;
    }

    listed = 0;

    for (sig = ngx_kanban_signatures; sig->types; sig++) {
        if (!ngx_kanban_attachment_listed(sig->types, &media)) {
            continue;
        }

        listed = 1;

        if (ngx_kanban_attachment_magic(sig, bytes)) {
            return NGX_OK;
        }
    }

    for (i = 0; !listed && ngx_kanban_zip_families[i]; i++) {
        if (ngx_strncmp(media.data, ngx_kanban_zip_families[i],
                        ngx_strlen(ngx_kanban_zip_families[i]))
            == 0)
        {
            listed = 1;

            if (bytes->len >= 4
                && ngx_strncmp(bytes->data, "PK\x03\x04", 4) == 0)
            {
                return NGX_OK;
            }
        }
    }

    if (listed) {
        *code = "type_mismatch";
        *message = "The file's content is not of its Content-Type.";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* The Content-Type a stored attachment is served with. */

void
ngx_kanban_attachment_type_served(ngx_str_t *stored, ngx_str_t *served)
{
    u_char     buf[256];
    ngx_str_t  media;

    ngx_kanban_attachment_media_type(stored, buf, sizeof(buf), &media);

    if (media.len == 0
        || ngx_kanban_attachment_listed(ngx_kanban_active_types, &media)
        || ngx_strlcasestrn(media.data, media.data + media.len,
                            (u_char *) "+xml", 4 - 1) != NULL
        || ngx_strlcasestrn(media.data, media.data + media.len,
                            (u_char *) "html", 4 - 1) != NULL
        || ngx_strlcasestrn(media.data, media.data + media.len,
                            (u_char *) "script", 6 - 1) != NULL
        || ngx_strncmp(media.data, "multipart/", 10) == 0
        || ngx_strncmp(media.data, "message/", 8) == 0)
    {
        ngx_str_set(served, "application/octet-stream");
        return;
    }

    *served = *stored;
}


/* "Image/PNG; charset=x" is "image/png": lowercased into buf, or empty */

static void
ngx_kanban_attachment_media_type(ngx_str_t *type, u_char *buf, size_t size,
    ngx_str_t *media)
{
    u_char  *p, *end;

    media->data = buf;
    media->len = 0;

    if (type == NULL || type->len == 0) {
        return;
    }

    p = type->data;
    end = type->data + type->len;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (p < end && *p != ';' && *p != ' ' && *p != '\t'
           && media->len < size)
    {
        buf[media->len++] = ngx_tolower(*p);
        p++;
    }

    if (media->len == size) {
        media->len = 0;
    }
}


/* whether type is a word of list (" a/b c/d ") */

static ngx_uint_t
ngx_kanban_attachment_listed(char *list, ngx_str_t *type)
{
    u_char  *p, *end;

    end = (u_char *) list + ngx_strlen(list);

    for (p = (u_char *) list; p < end; p++) {
        p = ngx_strlcasestrn(p, end, type->data, type->len - 1);

        if (p == NULL) {
            return 0;
        }

        if (p > (u_char *) list && p[-1] == ' ' && p + type->len < end
            && p[type->len] == ' ')
        {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_kanban_attachment_magic(ngx_kanban_signature_t *sig, ngx_str_t *bytes)
{
    return bytes->len >= sig->offset + sig->len
           && ngx_memcmp(bytes->data + sig->offset, sig->magic, sig->len)
              == 0;
}


/* sent as SVG, or an SVG whatever it is sent as: "<svg" in its first
 * kilobyte, after an XML declaration, comments or a doctype */

static ngx_uint_t
ngx_kanban_attachment_is_svg(ngx_str_t *media, ngx_str_t *bytes)
{
    size_t  n;

    if (media->len == 13 && ngx_strncmp(media->data, "image/svg+xml", 13) == 0)
    {
        return 1;
    }

    n = ngx_min(bytes->len, 1024);

    return ngx_kanban_attachment_has(bytes->data, bytes->data + n, "<svg");
}


static ngx_uint_t
ngx_kanban_attachment_svg_active(ngx_str_t *bytes)
{
    u_char      *p, *end;
    ngx_uint_t   i;

    end = bytes->data + bytes->len;

    for (i = 0; ngx_kanban_svg_active[i]; i++) {
        if (ngx_kanban_attachment_has(bytes->data, end,
                                      ngx_kanban_svg_active[i]))
        {
            return 1;
        }
    }

    /* an event handler attribute: on<letters>= after a space */
    for (p = bytes->data; p + 4 < end; p++) {
        p = ngx_strlcasestrn(p, end, (u_char *) "on", 2 - 1);

        if (p == NULL || p + 4 >= end) {
            return 0;
        }

        if (p == bytes->data
            || (p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n'
                && p[-1] != '\r' && p[-1] != '/' && p[-1] != '"'
                && p[-1] != '\''))
        {
            continue;
        }

        for (p += 2; p < end && ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z');
             p++)
        { /* void */ }

        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'
                           || *p == '\r'))
        {
            p++;
        }

        if (p < end && *p == '=') {
            return 1;
        }

        p--;
    }

    return 0;
}


static ngx_uint_t
ngx_kanban_attachment_has(u_char *p, u_char *end, char *word)
{
    size_t  len;

    len = ngx_strlen(word);

    return (size_t) (end - p) >= len
           && ngx_strlcasestrn(p, end, (u_char *) word, len - 1) != NULL;
}
