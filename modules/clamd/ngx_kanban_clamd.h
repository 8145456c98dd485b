
/*
 * Virus scanning of uploads by clamd (ASVS 5.4.3), when kanban_clamd
 * names it: the bytes go over clamd's INSTREAM protocol on a non-blocking
 * connection of nginx's event loop (ngx_kanban_clamd.c).
 */

#ifndef _NGX_KANBAN_CLAMD_H_INCLUDED_
#define _NGX_KANBAN_CLAMD_H_INCLUDED_


#include "ngx_kanban.h"
#include "ngx_kanban_json.h"


#define NGX_KANBAN_CLAMD_CLEAN        0
#define NGX_KANBAN_CLAMD_INFECTED     1
#define NGX_KANBAN_CLAMD_UNAVAILABLE  2     /* down, slow, or it failed */


/* verdict: one of the above; signature: what clamd found (INFECTED) */
typedef void (*ngx_kanban_clamd_done_pt)(ngx_http_request_t *r,
    ngx_uint_t verdict, ngx_str_t *signature);

/*
 * Scans bytes for r: NGX_OK (done is called later, never before this
 * returns), NGX_DECLINED (no kanban_clamd: nothing to scan with) or
 * NGX_ERROR.
 */
ngx_int_t ngx_kanban_clamd_scan(ngx_http_request_t *r, ngx_str_t *bytes,
    ngx_kanban_clamd_done_pt done);

/* kanban_clamd_unavailable: 1 refuse (503), 0 accept unscanned */
ngx_uint_t ngx_kanban_clamd_refuses(void);

/* 422 malware_detected: the file is refused and nothing is stored */
ngx_int_t ngx_kanban_clamd_problem(ngx_http_request_t *r,
    ngx_str_t *signature);


#endif /* _NGX_KANBAN_CLAMD_H_INCLUDED_ */
