
/*
 * The planner: in each workspace that has something due, it makes the
 * due occurrences of recurring tasks and sends the due reminders, both
 * with planner_step() (sql/tenant/068), and says when the workspace is
 * due next.
 *
 * Which workspaces, and when: the core's sweeper with its due index
 * (ngx_kanban_sweep.h, catalog 018): a write to a workspace through this
 * worker steps it once answered (a rule set, a date skipped, a task done,
 * a due date moved, a reminder asked for), the step's answer is recorded
 * as the workspace's due time in the catalog, and the listing of what is
 * due brings it back on any node, after a restart too. A workspace with
 * nothing due is never visited.
 *
 * Any number of workers and nodes may step one workspace at once: a date
 * is made once (its key, the series' lock; sql/tenant/067) and one
 * planner works in a workspace at a time (the others are told busy and
 * come back a second later).
 */

/* SQL: sql/catalog/018_sweep_due.sql; sql/tenant/067_recurrence.sql,
 * 068_reminders.sql */
#include "ngx_kanban_recur.h"
#include "ngx_kanban_sweep.h"


#define NGX_KANBAN_RECUR_BUSY  1000    /* ms: another planner works there */


static ngx_int_t ngx_kanban_recur_step(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_recur_stepped(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_recur_planner_step =
    ngx_kanban_pg_stmt("recur_planner_step",
    "SELECT made, sent, next_in, busy FROM planner_step($1::integer)");


static ngx_kanban_recur_conf_t  *ngx_kanban_recur_planner_conf;

static ngx_kanban_sweep_t  ngx_kanban_recur_sweep = {
    .name = "planner",
    .due_index = 1,
    .step = ngx_kanban_recur_step,
};


ngx_int_t
ngx_kanban_recur_sweep_init_process(ngx_cycle_t *cycle,
    ngx_kanban_recur_conf_t *rcf)
{
    ngx_kanban_recur_planner_conf = rcf;
    ngx_kanban_recur_sweep.period = rcf->sweep;

    return ngx_kanban_sweep_start(&ngx_kanban_recur_sweep, cycle);
}


static ngx_int_t
ngx_kanban_recur_step(ngx_kanban_sweep_ws_t *ws)
{
    ngx_str_t              *batch;
    ngx_pool_t             *pool;
    ngx_kanban_pg_query_t  *q;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    batch = ngx_kanban_sweep_number(pool, ngx_kanban_recur_planner_conf->batch,
                                    0);
    if (batch == NULL) {
        goto failed;
    }

    q = ngx_kanban_pg_query_background(pool, &ws->db);
    if (q == NULL) {
        goto failed;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_recur_planner_step,
                          ngx_kanban_recur_stepped, 1, batch)
        != NGX_OK)
    {
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);

    return NGX_ERROR;
}


static void
ngx_kanban_recur_stepped(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_msec_t              wait;
    ngx_kanban_sweep_ws_t  *ws;

    ws = q->data;

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_kanban_sweep_failed(ws, q);
        wait = ngx_kanban_recur_planner_conf->sweep;

    } else if (PQgetvalue(q->result, 0, 3)[0] == 't') {
        ngx_destroy_pool(q->pool);
        ngx_kanban_sweep_busy(ws, NGX_KANBAN_RECUR_BUSY);
        return;

    } else {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "kanban: planner: \"%V\" made %s, sent %s",
                       &ws->node.str, PQgetvalue(q->result, 0, 0),
                       PQgetvalue(q->result, 0, 1));

        wait = PQgetisnull(q->result, 0, 2)
               ? NGX_KANBAN_SWEEP_NOTHING
               : ngx_kanban_sweep_next_in(q->result, 0, 2,
                                          NGX_KANBAN_SWEEP_NOTHING - 1);

        /* tasks made, reminders sent: their events and notifications may
         * have queued webhook deliveries and mail */
        if ((!PQgetisnull(q->result, 0, 0)
             && PQgetvalue(q->result, 0, 0)[0] != '0')
            || (!PQgetisnull(q->result, 0, 1)
                && PQgetvalue(q->result, 0, 1)[0] != '0'))
        {
            ngx_kanban_sweep_wrote(&ws->node.str, &ws->db);
        }
    }

    ngx_destroy_pool(q->pool);

    ngx_kanban_sweep_done(ws, wait);
}
