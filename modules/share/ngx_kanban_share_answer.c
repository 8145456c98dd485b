
/*
 * The answers of /s/{code} that the visit and the password both give: a
 * refusal (404, 410, or 401 with the password's form) as a small HTML
 * page for browsers or a problem for clients that want JSON, and the
 * Location of a redirect.
 */

/* SQL: none of its own */
#include "ngx_kanban_share.h"


static ngx_uint_t ngx_kanban_share_wants_json(ngx_http_request_t *r);


ngx_int_t
ngx_kanban_share_refuse(ngx_http_request_t *r, ngx_kanban_share_ctx_t *ctx,
    ngx_uint_t verdict)
{
    ngx_str_t  no_store = ngx_string("private, no-store");

    if (ngx_kanban_add_header(r, "Cache-Control", &no_store) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (verdict) {

    case NGX_KANBAN_SHARE_EXPIRED:
        if (ngx_kanban_share_wants_json(r)) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_GONE,
                                      "This link has expired or was "
                                      "revoked.");
        }

        return ngx_kanban_share_page(r, NGX_HTTP_GONE, "Link expired",
                                     "This link has expired, was used up "
                                     "or was revoked. Ask whoever sent it "
                                     "for a new one.", NULL, 0);

    case NGX_KANBAN_SHARE_LOCKED:
        if (ngx_kanban_share_wants_json(r)) {
            return ngx_kanban_problem(r, ctx->wrong
                                         ? NGX_KANBAN_ERR_CREDENTIALS
                                         : NGX_KANBAN_ERR_UNAUTHORIZED,
                                      ctx->wrong
                                      ? "The password is wrong."
                                      : "This link needs its password: "
                                        "POST it to this URL.");
        }

        return ngx_kanban_share_page(r, NGX_HTTP_UNAUTHORIZED,
                                     "Password required",
                                     "This link is protected. Enter the "
                                     "password you were given.",
                                     &ctx->code, ctx->wrong);

    default:
        if (ngx_kanban_share_wants_json(r)) {
            return ngx_kanban_problem(r, NGX_KANBAN_ERR_NOT_FOUND,
                                      "There is no such link.");
        }

        return ngx_kanban_share_page(r, NGX_HTTP_NOT_FOUND, "Link not found",
                                     "There is no such link. Check that "
                                     "it was copied whole.", NULL, 0);
    }
}


ngx_int_t
ngx_kanban_share_page(ngx_http_request_t *r, ngx_uint_t status, char *title,
    char *text, ngx_str_t *form_code, ngx_uint_t wrong)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   body, type = ngx_string("text/html; charset=utf-8");

    static char  head[] =
        "<!doctype html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n"
        "<title>%s</title>\n<style>\n"
        "  body { font: 16px/1.5 system-ui, sans-serif; max-width: 26rem;\n"
        "         margin: 4rem auto; padding: 0 1rem; color: #1f2933; }\n"
        "  input { font: inherit; padding: .4rem; width: 100%%;\n"
        "          box-sizing: border-box; margin: .25rem 0 .75rem; }\n"
        "  button { font: inherit; padding: .4rem 1.2rem; }\n"
        "  .error { color: #b42318; }\n"
        "</style>\n</head>\n<body>\n<h1>%s</h1>\n<p>%s</p>\n";

    static char  form[] =
        "%s<form method=\"post\" action=\"/s/%V\">\n"
        "<label for=\"password\">Password</label>\n"
        "<input id=\"password\" name=\"password\" type=\"password\" "
        "maxlength=\"128\" autocomplete=\"current-password\" required "
        "autofocus>\n<button type=\"submit\">Open</button>\n</form>\n";

    static char  wrong_text[] = "<p class=\"error\">That password is wrong."
                                "</p>\n";

    len = sizeof(head) + 2 * ngx_strlen(title) + ngx_strlen(text)
          + sizeof(form) + sizeof(wrong_text) + NGX_KANBAN_SHARE_CODE_MAX
          + sizeof("</body>\n</html>\n");

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;
    p = ngx_sprintf(p, head, title, title, text);

    if (form_code) {
        p = ngx_sprintf(p, form, wrong ? wrong_text : "", form_code);
    }

    p = ngx_cpymem(p, "</body>\n</html>\n", sizeof("</body>\n</html>\n") - 1);
    body.len = p - body.data;

    return ngx_kanban_send_text(r, status, &type, &body);
}


/* Clients that ask for JSON (and not HTML first) get problems. */

static ngx_uint_t
ngx_kanban_share_wants_json(ngx_http_request_t *r)
{
    ngx_str_t  *accept;

    accept = ngx_kanban_header_in(r, "Accept");

    return accept != NULL
           && ngx_strlcasestrn(accept->data, accept->data + accept->len,
                               (u_char *) "json", 4 - 1) != NULL
           && ngx_strlcasestrn(accept->data, accept->data + accept->len,
                               (u_char *) "text/html", 9 - 1) == NULL;
}


ngx_int_t
ngx_kanban_share_location(ngx_http_request_t *r, ngx_str_t *url)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value = *url;

    r->headers_out.location = h;

    return NGX_OK;
}
