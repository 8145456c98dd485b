
/*
 * An attachment's type against its first bytes, and the type it is served
 * with (ngx_kanban_attachment_type.c).
 */

#ifndef _NGX_KANBAN_ATTACHMENT_TYPE_H_INCLUDED_
#define _NGX_KANBAN_ATTACHMENT_TYPE_H_INCLUDED_


#include "ngx_kanban_routes.h"


ngx_int_t ngx_kanban_attachment_type_check(ngx_str_t *type, ngx_str_t *bytes,
    char **code, char **message);
void ngx_kanban_attachment_type_served(ngx_str_t *stored, ngx_str_t *served);


#endif /* _NGX_KANBAN_ATTACHMENT_TYPE_H_INCLUDED_ */
