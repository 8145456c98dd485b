
/*
 * The share module's API routes: share links made, listed, read, revoked,
 * their analytics and QR codes, and the public read of what a link shares.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_share_routes.h"


static ngx_kanban_route_t  ngx_kanban_share_routes[] = {

    { NGX_HTTP_POST, "/api/v1/share-links", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_share_links_create_handler,
      ngx_kanban_share_link_fields, ngx_null_string,
      &ngx_kanban_share_links_create },

    { NGX_HTTP_POST, "/api/v1/share-links/bulk", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_share_links_bulk_handler,
      ngx_kanban_raw_body, ngx_null_string, &ngx_kanban_share_links_bulk },

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/share-links",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_share_links_list),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/share-links/{id}",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_share_links_get),

    { NGX_HTTP_PATCH, "/api/v1/share-links/{id}", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_share_links_edit_handler,
      ngx_kanban_share_link_edit_fields, ngx_null_string,
      &ngx_kanban_share_links_edit },

    { NGX_HTTP_PUT, "/api/v1/share-links/{id}/rules", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_share_links_rules_handler,
      ngx_kanban_share_rules_fields, ngx_null_string,
      &ngx_kanban_share_links_rules },

    { NGX_HTTP_DELETE, "/api/v1/share-links/{id}", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_share_links_revoke_handler,
      NULL, ngx_null_string, &ngx_kanban_share_links_revoke },

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/share-links/{id}/analytics",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_share_links_analytics),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/share-links/{id}/visits.csv",
        NGX_KANBAN_ACCESS_MEMBER, NULL, &ngx_kanban_share_links_visits_csv),

    { NGX_HTTP_GET, "/api/v1/share-links/{id}/qr.svg", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_MEMBER, ngx_kanban_share_links_qr_handler,
      NULL, ngx_null_string, &ngx_kanban_share_links_qr },

    { NGX_HTTP_GET, "/api/v1/shared/{code}", NGX_KANBAN_HOST_TENANT,
      NGX_KANBAN_ACCESS_PUBLIC, ngx_kanban_shared_handler,
      NULL, ngx_null_string, &ngx_kanban_shared_get },
};


ngx_kanban_routes_module(ngx_http_kanban_share_routes_module,
                         ngx_kanban_share_routes);
