
/*
 * Commands to Redis through the worker's async link. A command is never
 * waited for: its callback runs when the reply comes (reply NULL when the
 * link dropped first); NGX_DECLINED when Redis is not reachable now.
 */

#ifndef _NGX_KANBAN_REDIS_H_INCLUDED_
#define _NGX_KANBAN_REDIS_H_INCLUDED_


#include "ngx_kanban.h"
#include <hiredis/hiredis.h>
#include <hiredis/async.h>


ngx_int_t ngx_kanban_redis_command(redisCallbackFn *fn, void *privdata,
    const char *format, ...);
ngx_int_t ngx_kanban_redis_formatted(redisCallbackFn *fn, void *privdata,
    u_char *cmd, size_t len);
redisAsyncContext *ngx_kanban_redis_open(void);


#endif /* _NGX_KANBAN_REDIS_H_INCLUDED_ */
