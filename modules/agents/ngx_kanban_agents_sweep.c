
/*
 * The built-in agents' sweep (the core's sweeper with its due index,
 * ngx_kanban_sweep.h): one step in a workspace opens the sessions nobody
 * asked for (a new task's triage, the day's digests), claims the due
 * sessions of built-in agents (agent_builtin_due(), a lease) and starts
 * each one's call (ngx_kanban_agents_builtin.c).
 *
 * When: any write to the workspace through this worker steps it (a task
 * delegated or made, a comment with an @mention, a person's answer), and
 * the step's answer, the next lease to lapse or the next digest, is the
 * workspace's due time in the catalog. So a call cut off by a killed
 * nginx is claimed again once its lease lapses, on any node, after a
 * restart too, and a digest falls due in a workspace nobody writes to.
 * A workspace with nothing held and no digest is never visited.
 */

/* SQL: sql/tenant/064_agents_builtin_sweep.sql, 092_agents_on_their_own.sql */
#include "ngx_kanban_agents.h"


#define NGX_KANBAN_AGENTS_BATCH     "20"        /* sessions a claim takes */


static ngx_int_t ngx_kanban_agents_poll(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_agents_polled(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_agents_due = ngx_kanban_pg_stmt(
    "agents_builtin_due",
    "SELECT session_id, agent_id, builtin, data, next_in"
    "  FROM agent_builtin_due($1::float8, " NGX_KANBAN_AGENTS_BATCH ")");


static ngx_kanban_agents_conf_t  *ngx_kanban_agents_conf;

static ngx_kanban_sweep_t  ngx_kanban_agents_sweep = {
    .name = "agents",
    .due_index = 1,
    .step = ngx_kanban_agents_poll,
};


ngx_int_t
ngx_kanban_agents_sweep_start(ngx_cycle_t *cycle,
    ngx_kanban_agents_conf_t *acf)
{
    ngx_kanban_agents_conf = acf;
    ngx_kanban_agents_sweep.period = acf->sweep;

    return ngx_kanban_sweep_start(&ngx_kanban_agents_sweep, cycle);
}


static ngx_int_t
ngx_kanban_agents_poll(ngx_kanban_sweep_ws_t *ws)
{
    ngx_str_t              *lease;
    ngx_pool_t             *pool;
    ngx_kanban_pg_query_t  *q;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    lease = ngx_kanban_sweep_number(pool, ngx_kanban_agents_conf->lease, 1);
    q = lease ? ngx_kanban_pg_query_background(pool, &ws->db) : NULL;
    if (q == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_agents_due, ngx_kanban_agents_polled,
                          1, lease)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* Each claimed session's call starts; the last row says when the
 * workspace is due next (a lease lapsing, the next digest), or that
 * nothing is. */

static void
ngx_kanban_agents_polled(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                     i, n;
    ngx_str_t               sid, agent, builtin, data;
    ngx_msec_t              wait;
    ngx_kanban_sweep_ws_t  *ws;

    ws = q->data;
    wait = NGX_KANBAN_SWEEP_NOTHING;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_sweep_failed(ws, q);
        wait = ngx_kanban_agents_conf->sweep;
        goto done;
    }

    n = PQntuples(q->result);

    for (i = 0; i < n; i++) {
        if (PQgetisnull(q->result, i, 0)) {
            if (!PQgetisnull(q->result, i, 4)) {
                wait = ngx_kanban_sweep_next_in(q->result, i, 4,
                                                NGX_KANBAN_SWEEP_NOTHING - 1);
            }
            continue;
        }

        sid.data = (u_char *) PQgetvalue(q->result, i, 0);
        sid.len = PQgetlength(q->result, i, 0);
        agent.data = (u_char *) PQgetvalue(q->result, i, 1);
        agent.len = PQgetlength(q->result, i, 1);
        builtin.data = (u_char *) PQgetvalue(q->result, i, 2);
        builtin.len = PQgetlength(q->result, i, 2);
        data.data = (u_char *) PQgetvalue(q->result, i, 3);
        data.len = PQgetlength(q->result, i, 3);

        /* one that cannot start is claimed again when its lease lapses */
        (void) ngx_kanban_agents_builtin_start(ws, &builtin, &sid, &agent,
                                               &data);

        /* its session is on the stream: pending, opened unasked */
        ngx_kanban_agents_told(&ws->node.str, &sid);
    }

done:

    ngx_destroy_pool(q->pool);
    ngx_kanban_sweep_done(ws, wait);
}
