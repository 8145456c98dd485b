
/*
 * A QR code (libqrencode) as an SVG: one path of unit squares on a ground
 * with the standard four-module quiet zone; by default black on white,
 * error correction M, 8 px a module. Share links show their short URL
 * with it (in the size, colours and correction their caller chooses), and
 * two-factor enrolment the authenticator's otpauth:// URI, so the browser
 * needs no QR library.
 */

#include "ngx_kanban.h"
#include <qrencode.h>


#define NGX_KANBAN_QR_MODULE   8        /* px a module */
#define NGX_KANBAN_QR_QUIET    4        /* modules of margin */


ngx_int_t
ngx_kanban_qr_svg(ngx_pool_t *pool, ngx_str_t *text, ngx_str_t *svg)
{
    ngx_kanban_qr_style_t  style;

    ngx_memzero(&style, sizeof(ngx_kanban_qr_style_t));
    style.level = NGX_KANBAN_QR_LEVEL_M;

    return ngx_kanban_qr_svg_styled(pool, text, &style, svg);
}


/* style's colours are checked by the caller: "rrggbb" hex digits */

ngx_int_t
ngx_kanban_qr_svg_styled(ngx_pool_t *pool, ngx_str_t *text,
    ngx_kanban_qr_style_t *style, ngx_str_t *svg)
{
    u_char     *p, *s;
    size_t      size;
    QRcode     *qr;
    ngx_int_t   x, y, width, side, px;
    ngx_uint_t  level;
    ngx_str_t   fg = ngx_string("000"), bg = ngx_string("fff");

    static QRecLevel  levels[] = { QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q,
                                   QR_ECLEVEL_H };

    s = ngx_pnalloc(pool, text->len + 1);
    if (s == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(s, text->data, text->len + 1);

    level = style->level <= NGX_KANBAN_QR_LEVEL_H ? style->level
                                                 : NGX_KANBAN_QR_LEVEL_M;

    qr = QRcode_encodeString8bit((char *) s, 0, levels[level]);
    if (qr == NULL) {
        return NGX_ERROR;
    }

    width = qr->width;
    side = width + 2 * NGX_KANBAN_QR_QUIET;

    /* the whole image's side in px, else 8 px a module */
    px = style->size ? (ngx_int_t) style->size : side * NGX_KANBAN_QR_MODULE;

    if (style->fg.len) {
        fg = style->fg;
    }

    if (style->bg.len) {
        bg = style->bg;
    }

    size = 512 + (size_t) width * width * sizeof("M0000 0000h1v1h-1z");

    p = ngx_pnalloc(pool, size);
    if (p == NULL) {
        QRcode_free(qr);
        return NGX_ERROR;
    }

    svg->data = p;

    p = ngx_sprintf(p,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            "width=\"%i\" height=\"%i\" viewBox=\"0 0 %i %i\" "
            "shape-rendering=\"crispEdges\">"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#%V\"/>"
            "<path fill=\"#%V\" d=\"",
            px, px, side, side, &bg, &fg);

    for (y = 0; y < width; y++) {
        for (x = 0; x < width; x++) {
            if (qr->data[y * width + x] & 1) {
                p = ngx_sprintf(p, "M%i %ih1v1h-1z",
                                x + NGX_KANBAN_QR_QUIET,
                                y + NGX_KANBAN_QR_QUIET);
            }
        }
    }

    p = ngx_sprintf(p, "\"/></svg>\n");
    svg->len = p - svg->data;

    QRcode_free(qr);

    return NGX_OK;
}
