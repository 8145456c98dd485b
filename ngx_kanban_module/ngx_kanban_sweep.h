
/*
 * The background sweeper: a worker's timer that calls a module's step for
 * each workspace that has due work, with the bookkeeping every outbox
 * sender needs (which workspaces, when each is due again, one step at a
 * time per workspace). The core knows no sender: a module fills an
 * ngx_kanban_sweep_t of its own and starts it from its init_process.
 *
 * How a module uses it (modules/mail/ and modules/webhooks/ do):
 *
 *     static ngx_kanban_sweep_t  ngx_kanban_x_sweep = {
 *         .name = "x",                        (in log lines)
 *         .tenants = &ngx_kanban_x_tenants,   (a catalog statement: slug,
 *                                              db_name, db_dsn)
 *         .step = ngx_kanban_x_poll,
 *     };
 *
 *     and in the module's init_process, when this node sends:
 *
 *     ngx_kanban_x_sweep.period = xcf->sweep;
 *     return ngx_kanban_sweep_start(&ngx_kanban_x_sweep, cycle);
 *
 * Optional: .tick (the timer's beat: 1 s, or the period when shorter),
 * .data_size with .init (the module's own state per workspace, at
 * ws->data), .each (called for every workspace on every tick: mail
 * queues its digests from it).
 *
 * The step claims what is due in ws->db (a background query) and returns
 * NGX_OK; the query's handler starts the sending and ends with
 * ngx_kanban_sweep_done(ws, wait): the workspace is asked again in wait
 * ms (the claim says when its next item is due; the period at most).
 * A step that has nothing to ask now sets the time itself with
 * ngx_kanban_sweep_due() and returns NGX_DECLINED.
 *
 * Which workspaces: those the tenants statement lists, read again every
 * period, and those a write through this worker names
 * (ngx_kanban_sweep_wake); a sweep without a tenants statement watches
 * the woken ones only. A workspace neither lists is never connected
 * to. Entries live as long as the worker; a quitting worker leaves what
 * it has in flight to the leases of the module's claims.
 */

#ifndef _NGX_KANBAN_SWEEP_H_INCLUDED_
#define _NGX_KANBAN_SWEEP_H_INCLUDED_


#include "ngx_kanban.h"
#include "ngx_kanban_pg.h"


typedef struct ngx_kanban_sweep_s     ngx_kanban_sweep_t;
typedef struct ngx_kanban_sweep_ws_s  ngx_kanban_sweep_ws_t;

/* NGX_OK: a query is under way and will end in ngx_kanban_sweep_done();
 * NGX_DECLINED: nothing asked now; NGX_ERROR: asked again next period */
typedef ngx_int_t (*ngx_kanban_sweep_step_pt)(ngx_kanban_sweep_ws_t *ws);
typedef void (*ngx_kanban_sweep_each_pt)(ngx_kanban_sweep_ws_t *ws);


struct ngx_kanban_sweep_ws_s {
    ngx_str_node_t             node;        /* node.str: the slug */
    ngx_queue_t                queue;       /* the sweep's all */
    ngx_kanban_pg_db_t         db;
    ngx_kanban_sweep_t        *sweep;
    ngx_msec_t                 next;        /* stepped again then */
    ngx_msec_t                 stepped;     /* the last step began then */
    void                      *data;        /* the module's, data_size */
    unsigned                   stepping:1;
    unsigned                   again:1;     /* asked while stepping */
};


struct ngx_kanban_sweep_s {
    /* the module's */
    char                      *name;
    ngx_kanban_pg_stmt_t      *tenants;     /* NULL: the woken only */
    ngx_msec_t                 period;
    ngx_msec_t                 tick;        /* 0: 1 s, or the period */
    size_t                     data_size;
    ngx_kanban_sweep_step_pt   step;
    ngx_kanban_sweep_each_pt   init;        /* a new entry's data, or NULL */
    ngx_kanban_sweep_each_pt   each;        /* every tick, or NULL */

    /* the sweeper's */
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                all;
    ngx_pool_t                *pool;
    ngx_event_t                timer;
    ngx_msec_t                 listed_at;
    unsigned                   listing:1;
    unsigned                   running:1;
};


ngx_int_t ngx_kanban_sweep_start(ngx_kanban_sweep_t *s, ngx_cycle_t *cycle);

/* a write through this worker may have queued work: the workspace is
 * watched from now on and stepped */
void ngx_kanban_sweep_wake(ngx_kanban_sweep_t *s, ngx_kanban_tenant_t *t);

/* a message from elsewhere names the workspace: stepped now, or gap ms
 * after its last step when that was more recent (a busy workspace sends
 * a message a write); ignored when the sweep does not watch it */
void ngx_kanban_sweep_hint(ngx_kanban_sweep_t *s, ngx_str_t *slug,
    ngx_msec_t gap);

/* stepped now, or once the step under way is done */
void ngx_kanban_sweep_step(ngx_kanban_sweep_ws_t *ws);

/* the step's query is done; stepped again in wait ms */
void ngx_kanban_sweep_done(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait);

/* stepped again in wait ms; _sooner only when that is before its time */
void ngx_kanban_sweep_due(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait);
void ngx_kanban_sweep_sooner(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait);

/* the step's query failed: logged, quietly for a workspace not migrated */
void ngx_kanban_sweep_failed(ngx_kanban_sweep_ws_t *ws,
    ngx_kanban_pg_query_t *q);

/* the sooner of wait and a column of seconds ("1.5"), in ms */
ngx_msec_t ngx_kanban_sweep_next_in(PGresult *res, int row, int col,
    ngx_msec_t wait);

/* a value copied NUL-terminated into pool; ms as "12.345" or "12" */
ngx_int_t ngx_kanban_sweep_copy(ngx_pool_t *pool, PGresult *res, int row,
    int col, ngx_str_t *s);
ngx_str_t *ngx_kanban_sweep_number(ngx_pool_t *pool, ngx_msec_t n,
    ngx_uint_t seconds);


#endif /* _NGX_KANBAN_SWEEP_H_INCLUDED_ */
