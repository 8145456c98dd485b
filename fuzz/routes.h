
/*
 * The route tables of the modules that hand theirs to the router, for the
 * targets that try every route: a target includes each module's routes
 * file (so that fuzz/run links it in that file's place), then this.
 */

#ifndef _KANBAN_FUZZ_ROUTES_H_INCLUDED_
#define _KANBAN_FUZZ_ROUTES_H_INCLUDED_


#define kanban_fuzz_table(t)  { t, sizeof(t) / sizeof(ngx_kanban_route_t) }

static ngx_kanban_route_table_t  kanban_fuzz_tables[] = {
    kanban_fuzz_table(ngx_kanban_tenant_routes),
    kanban_fuzz_table(ngx_kanban_auth_routes),
    kanban_fuzz_table(ngx_kanban_share_routes),
    kanban_fuzz_table(ngx_kanban_analytics_routes),
    kanban_fuzz_table(ngx_kanban_users_routes),
    kanban_fuzz_table(ngx_kanban_kanban_routes),
    kanban_fuzz_table(ngx_kanban_timesheet_routes),
};

#define kanban_fuzz_ntables                                                   \
    (sizeof(kanban_fuzz_tables) / sizeof(ngx_kanban_route_table_t))


#endif /* _KANBAN_FUZZ_ROUTES_H_INCLUDED_ */
