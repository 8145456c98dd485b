
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
 *         .name = "x",                        (in log lines and the
 *                                              due index's rows)
 *         .due_index = 1,                     (below; or .tenants, a
 *                                              catalog statement: slug,
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
 * ws->data), .each (called for every workspace on every tick; not for a
 * due index: what falls due is a time the step returns).
 *
 * The step claims what is due in ws->db (a background query) and returns
 * NGX_OK; the query's handler starts the sending and ends with
 * ngx_kanban_sweep_done(ws, wait): the workspace is asked again in wait
 * ms (the claim says when its next item is due; without a due index,
 * the period at most).
 * A step that has nothing to ask now sets the time itself with
 * ngx_kanban_sweep_due() and returns NGX_DECLINED.
 *
 * Which workspaces, without a due index: those the tenants statement
 * lists, read again every period, and those a write through this worker
 * names (ngx_kanban_sweep_wake). A workspace neither lists is never
 * connected to. Entries live as long as the worker.
 *
 * With a due index (.due_index = 1, instead of .tenants and .each), every
 * poll happens at a known due time, so a workspace with nothing due costs
 * nothing however many the catalog holds (catalog 018, sweep_due):
 *
 *   - a write served by this worker (a request on a workspace's host
 *     that is not a GET, a GET answered with a redirect, a GET whose
 *     handler set ctx->wrote), or a sweep's own write
 *     (ngx_kanban_sweep_wrote) wakes the
 *     workspace's step at once; wakes while a step is under way make one
 *     more step after it, and one within 100 ms of the last step waits
 *     for the end of those 100 ms (a busy workspace: a step per 100 ms,
 *     not a step per write);
 *   - the step's handler passes ngx_kanban_sweep_done() the time its
 *     query learnt the next item is due in (the period when the query
 *     failed), or NGX_KANBAN_SWEEP_NOTHING; the sweeper records it in
 *     the catalog's row (sweep, slug) when it moved by a second or more;
 *   - the listing, every period, reads only the rows due within the
 *     period: that covers a restart, other nodes, and work that falls due
 *     in a workspace nobody writes to (a digest);
 *   - a workspace with nothing due leaves the worker's watched set, and
 *     its row is deleted if its due_at is still the one this worker knew,
 *     so that a wake on another node that wrote a new time is not lost.
 *     One due later stays, with the row it knows, so that its next wake
 *     writes nothing when the time is the same. An entry the module holds
 *     (ngx_kanban_sweep_hold: a send in flight that refers to it) stays
 *     until released.
 *
 * The rows are written by this worker's catalog connection only when the
 * time changes; a quitting worker leaves what it has in flight to the
 * leases of the module's claims and to the rows.
 */

#ifndef _NGX_KANBAN_SWEEP_H_INCLUDED_
#define _NGX_KANBAN_SWEEP_H_INCLUDED_


#include "ngx_kanban.h"
#include "ngx_kanban_pg.h"


/* a step's answer: nothing more is due in the workspace */
#define NGX_KANBAN_SWEEP_NOTHING  ((ngx_msec_t) -1)


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

    /* the due index's (.due_index) */
    ngx_msec_t                 wait;        /* the step's answer */
    ngx_msec_t                 due_wall;    /* the row's due_at (ms since
                                               the epoch); 0: none known */
    ngx_str_t                  due_at;      /* as read, for the delete */
    u_char                     due_at_text[64];
    ngx_uint_t                 holds;

    unsigned                   stepping:1;  /* the record included */
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
    unsigned                   due_index:1; /* polls at known times only */

    /* the sweeper's */
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                all;
    ngx_event_t                timer;
    ngx_msec_t                 listed_at;
    unsigned                   listing:1;
    unsigned                   running:1;
};


/* the core's postconfiguration: writes wake the due-indexed sweeps */
ngx_int_t ngx_kanban_sweep_init(ngx_conf_t *cf);

ngx_int_t ngx_kanban_sweep_start(ngx_kanban_sweep_t *s, ngx_cycle_t *cycle);

/* a write through this worker may have queued work: the workspace is
 * watched from now on and stepped */
void ngx_kanban_sweep_wake(ngx_kanban_sweep_t *s, ngx_kanban_tenant_t *t);

/* work done outside a request (a sweep's own query) may have queued
 * work for the due-indexed sweeps (a webhook disabled notifies by mail):
 * each steps the workspace as after a write */
void ngx_kanban_sweep_wrote(ngx_str_t *slug, ngx_kanban_pg_db_t *db);

/* a message from elsewhere names the workspace: stepped now, or gap ms
 * after its last step when that was more recent (a busy workspace sends
 * a message a write); ignored when the sweep does not watch it */
void ngx_kanban_sweep_hint(ngx_kanban_sweep_t *s, ngx_str_t *slug,
    ngx_msec_t gap);

/* stepped now, or once the step under way is done */
void ngx_kanban_sweep_step(ngx_kanban_sweep_ws_t *ws);

/* the step's query is done; stepped again in wait ms, or never when
 * NGX_KANBAN_SWEEP_NOTHING (then a due-indexed entry is dropped) */
void ngx_kanban_sweep_done(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait);

/* the step found another step working in the workspace (on another
 * worker or node): asked again here in wait ms, and the due index left
 * to that step, which records what it finds */
void ngx_kanban_sweep_busy(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait);

/* stepped again in wait ms; _sooner only when that is before its time */
void ngx_kanban_sweep_due(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait);
void ngx_kanban_sweep_sooner(ngx_kanban_sweep_ws_t *ws, ngx_msec_t wait);

/* a module's work in flight refers to the entry: kept until released
 * (the module steps it then, which may drop it) */
void ngx_kanban_sweep_hold(ngx_kanban_sweep_ws_t *ws);
void ngx_kanban_sweep_release(ngx_kanban_sweep_ws_t *ws);

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
