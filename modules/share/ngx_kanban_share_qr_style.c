
/*
 * How a share link's QR code looks, from the query of GET
 * /api/v1/share-links/{id}/qr.svg: ?size= (the image's side, 64 to 4096
 * px), ?fg= and ?bg= (colours, 3 or 6 hex digits, no "#"), ?ec= (error
 * correction L, M, Q or H). A code that scanners could not read is
 * refused: the modules must be darker than the ground, with a contrast of
 * at least 3:1 (WCAG's for graphics), as most scanners want.
 */

/* SQL: none of its own */
#include "ngx_kanban_share.h"


#define NGX_KANBAN_SHARE_QR_MIN   64
#define NGX_KANBAN_SHARE_QR_MAX   4096


static ngx_int_t ngx_kanban_share_qr_colour(ngx_pool_t *pool,
    ngx_str_t *value, ngx_str_t *out);
static ngx_uint_t ngx_kanban_share_qr_light(ngx_str_t *hex);


ngx_int_t
ngx_kanban_share_qr_style(ngx_http_request_t *r, ngx_kanban_qr_style_t *style,
    char **detail)
{
    ngx_int_t   n;
    ngx_str_t   value;
    ngx_uint_t  fg, bg;

    ngx_memzero(style, sizeof(ngx_kanban_qr_style_t));
    style->level = NGX_KANBAN_QR_LEVEL_M;

    if (ngx_http_arg(r, (u_char *) "size", 4, &value) == NGX_OK) {
        n = ngx_atoi(value.data, value.len);

        if (n < NGX_KANBAN_SHARE_QR_MIN || n > NGX_KANBAN_SHARE_QR_MAX) {
            *detail = "size must be a whole number of pixels from 64 to "
                      "4096.";
            return NGX_DECLINED;
        }

        style->size = n;
    }

    if (ngx_http_arg(r, (u_char *) "ec", 2, &value) == NGX_OK) {
        switch (value.len == 1 ? value.data[0] : 0) {
        case 'L': style->level = NGX_KANBAN_QR_LEVEL_L; break;
        case 'M': style->level = NGX_KANBAN_QR_LEVEL_M; break;
        case 'Q': style->level = NGX_KANBAN_QR_LEVEL_Q; break;
        case 'H': style->level = NGX_KANBAN_QR_LEVEL_H; break;
        default:
            *detail = "ec must be L, M, Q or H.";
            return NGX_DECLINED;
        }
    }

    if (ngx_http_arg(r, (u_char *) "fg", 2, &value) == NGX_OK
        && ngx_kanban_share_qr_colour(r->pool, &value, &style->fg) != NGX_OK)
    {
        *detail = "fg must be a colour of 3 or 6 hex digits, such as 1a2b3c.";
        return NGX_DECLINED;
    }

    if (ngx_http_arg(r, (u_char *) "bg", 2, &value) == NGX_OK
        && ngx_kanban_share_qr_colour(r->pool, &value, &style->bg) != NGX_OK)
    {
        *detail = "bg must be a colour of 3 or 6 hex digits, such as fff8e7.";
        return NGX_DECLINED;
    }

    /* luminance in thousandths; contrast (L1 + 0.05) / (L2 + 0.05) >= 3 */
    fg = style->fg.len ? ngx_kanban_share_qr_light(&style->fg) : 0;
    bg = style->bg.len ? ngx_kanban_share_qr_light(&style->bg) : 1000;

    if (fg >= bg || (bg + 50) < 3 * (fg + 50)) {
        *detail = "fg must be darker than bg, with a contrast of at least "
                  "3:1, or scanners cannot read the code.";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* "abc" or "aabbcc" as "aabbcc", lower case */

static ngx_int_t
ngx_kanban_share_qr_colour(ngx_pool_t *pool, ngx_str_t *value,
    ngx_str_t *out)
{
    u_char      *p, c;
    ngx_uint_t   i;

    if (value->len != 3 && value->len != 6) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(pool, 6);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < 6; i++) {
        c = ngx_tolower(value->data[value->len == 3 ? i / 2 : i]);

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return NGX_DECLINED;
        }

        p[i] = c;
    }

    out->data = p;
    out->len = 6;

    return NGX_OK;
}


/* relative luminance of "rrggbb" in thousandths, each channel's sRGB
 * curve taken as a square (close enough to tell a readable code) */

static ngx_uint_t
ngx_kanban_share_qr_light(ngx_str_t *hex)
{
    ngx_int_t   c[3];
    ngx_uint_t  i;

    for (i = 0; i < 3; i++) {
        c[i] = ngx_hextoi(hex->data + 2 * i, 2);
        c[i] = c[i] * c[i] * 1000 / (255 * 255);
    }

    return (2126 * c[0] + 7152 * c[1] + 722 * c[2]) / 10000;
}
