
/*
 * The budget module's routes: a project's budget and what it has spent,
 * billable rates, and the billable report an invoice is written from.
 * A table of the module's own, handed to the router at configuration
 * time: an endpoint of the module is added here and nowhere else.
 */

/* SQL: none of its own */
#include "ngx_kanban_budget_routes.h"


static ngx_kanban_route_t  ngx_kanban_budget_routes[] = {

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/projects/{id}/budget",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_budget_get),

    ngx_kanban_sql_route(NGX_HTTP_PUT, "/api/v1/projects/{id}/budget",
        NGX_KANBAN_ACCESS_MANAGER, ngx_kanban_budget_fields,
        &ngx_kanban_budget_put),

    ngx_kanban_sql_route(NGX_HTTP_GET,
        "/api/v1/projects/{id}/billable-report",
        NGX_KANBAN_ACCESS_MANAGER, NULL, &ngx_kanban_billable_report),

    ngx_kanban_sql_route(NGX_HTTP_GET, "/api/v1/billing/rates",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_billing_rates_list),

    ngx_kanban_sql_route(NGX_HTTP_POST, "/api/v1/billing/rates",
        NGX_KANBAN_ACCESS_ADMIN, ngx_kanban_billing_rate_fields,
        &ngx_kanban_billing_rate_create),

    ngx_kanban_sql_route(NGX_HTTP_DELETE, "/api/v1/billing/rates/{id}",
        NGX_KANBAN_ACCESS_ADMIN, NULL, &ngx_kanban_billing_rate_delete),
};


ngx_kanban_routes_module(ngx_http_kanban_budget_routes_module,
                         ngx_kanban_budget_routes);
