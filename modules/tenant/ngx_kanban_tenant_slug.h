
/*
 * A workspace's slug, the name in its host: what one may look like. Asked
 * by whatever takes a slug from outside (a host, a sign-up, the catalog's
 * change notices), and by nothing it asks in turn.
 */

#ifndef _NGX_KANBAN_TENANT_SLUG_H_INCLUDED_
#define _NGX_KANBAN_TENANT_SLUG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


ngx_uint_t ngx_kanban_slug_valid(ngx_str_t *slug);


#endif /* _NGX_KANBAN_TENANT_SLUG_H_INCLUDED_ */
