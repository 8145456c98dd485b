
/*
 * What every fuzz target needs of nginx, which it links whole (the same
 * objects as build/sanitize's nginx, its main renamed): a pool, a log that
 * says nothing, a cycle with no configuration, and a request with no
 * connection behind it for the parsers that read one.
 */

#ifndef _KANBAN_FUZZ_H_INCLUDED_
#define _KANBAN_FUZZ_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

ngx_log_t *kanban_fuzz_init(void);
ngx_http_request_t *kanban_fuzz_request(ngx_pool_t *pool);
ngx_int_t kanban_fuzz_header(ngx_http_request_t *r, char *name,
    u_char *value, size_t len);
u_char *kanban_fuzz_copy(ngx_pool_t *pool, const uint8_t *data, size_t size);


#endif /* _KANBAN_FUZZ_H_INCLUDED_ */
