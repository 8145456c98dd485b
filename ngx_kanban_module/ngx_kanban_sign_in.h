
/*
 * What every password sign-in shares (a workspace's, modules/auth/, and
 * the operators', modules/platform/): the password is verified in the
 * thread pool by ngx_kanban_password_verify() (ngx_kanban.h), and
 * failures are throttled by the answer below.
 */

#ifndef _NGX_KANBAN_SIGN_IN_H_INCLUDED_
#define _NGX_KANBAN_SIGN_IN_H_INCLUDED_


#include "ngx_kanban.h"
#include "ngx_kanban_pg.h"


/*
 * Whether too many sign-ins failed: row 0 of res holds the failures of
 * the account, those of the address, and the seconds until the oldest
 * that counts ages out. NGX_DECLINED: below both limits, go on.
 * Otherwise Retry-After is set and the 429 problem sent: the caller
 * finalizes the request with what this returns.
 */
ngx_int_t ngx_kanban_sign_in_throttled(ngx_http_request_t *r, PGresult *res,
    ngx_int_t account_max, ngx_int_t addr_max);


#endif /* _NGX_KANBAN_SIGN_IN_H_INCLUDED_ */
