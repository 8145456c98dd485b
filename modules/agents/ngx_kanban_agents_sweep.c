
/*
 * The built-in agents' sweep (the core's sweeper, ngx_kanban_sweep.h):
 * it claims a workspace's due sessions of built-in agents
 * (agent_builtin_due(), a lease) and starts each one's call
 * (ngx_kanban_agents_builtin.c).
 *
 * Which workspaces: only those a write through this worker may have
 * opened a session in (a task delegated, a comment with an @mention, a
 * person's answer): the core tells of each committed write (its committed
 * seam) and the workspace is woken at once. No catalog list, and no timer
 * that visits every workspace: a woken workspace is asked again only when
 * a lease it holds lapses (a call that never ended), else after an hour.
 */

/* SQL: sql/tenant/064_agents_builtin_sweep.sql */
#include "ngx_kanban_agents.h"


#define NGX_KANBAN_AGENTS_LEASE     "120"       /* s: a call and a margin */
#define NGX_KANBAN_AGENTS_BATCH     "20"        /* sessions a claim takes */
#define NGX_KANBAN_AGENTS_IDLE      3600000     /* ms: nothing held */
#define NGX_KANBAN_AGENTS_TICK      1000


static ngx_int_t ngx_kanban_agents_poll(ngx_kanban_sweep_ws_t *ws);
static void ngx_kanban_agents_polled(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);


static ngx_kanban_pg_stmt_t  ngx_kanban_agents_due = ngx_kanban_pg_stmt(
    "agents_builtin_due",
    "SELECT session_id, agent_id, builtin, data, next_in"
    "  FROM agent_builtin_due(" NGX_KANBAN_AGENTS_LEASE ","
    "                         " NGX_KANBAN_AGENTS_BATCH ")");


static ngx_kanban_sweep_t  ngx_kanban_agents_sweep = {
    .name = "agents",
    .tenants = NULL,                    /* the woken ones only */
    .period = NGX_KANBAN_AGENTS_IDLE,
    .tick = NGX_KANBAN_AGENTS_TICK,
    .step = ngx_kanban_agents_poll,
};


ngx_int_t
ngx_kanban_agents_sweep_start(ngx_cycle_t *cycle)
{
    return ngx_kanban_sweep_start(&ngx_kanban_agents_sweep, cycle);
}


/* The writes that may open a session, or answer a built-in agent; any
 * other is no reason to ask the workspace. */

void
ngx_kanban_agents_committed(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    char *event)
{
    ngx_str_t  *b;

    b = &ctx->raw_body;

    if ((ngx_strcmp(event, "task.updated") == 0
         && ngx_strlcasestrn(b->data, b->data + b->len,
                             (u_char *) "delegate_id", 11 - 1) != NULL)
        || (ngx_strcmp(event, "comment.created") == 0
            && ngx_strlchr(b->data, b->data + b->len, '@') != NULL))
    {
        ngx_kanban_sweep_wake(&ngx_kanban_agents_sweep, ctx->tenant);
    }
}


static ngx_int_t
ngx_kanban_agents_poll(ngx_kanban_sweep_ws_t *ws)
{
    ngx_pool_t             *pool;
    ngx_kanban_pg_query_t  *q;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    q = ngx_kanban_pg_query_background(pool, &ws->db);
    if (q == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    q->data = ws;

    if (ngx_kanban_pg_run(q, &ngx_kanban_agents_due, ngx_kanban_agents_polled,
                          0)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* Each claimed session's call starts; the last row says when a lease
 * held lapses, and the workspace is asked again then. */

static void
ngx_kanban_agents_polled(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    int                     i, n;
    ngx_str_t               sid, agent, builtin, data;
    ngx_msec_t              wait;
    ngx_kanban_sweep_ws_t  *ws;

    ws = q->data;
    wait = NGX_KANBAN_AGENTS_IDLE;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_kanban_sweep_failed(ws, q);
        goto done;
    }

    n = PQntuples(q->result);

    for (i = 0; i < n; i++) {
        if (PQgetisnull(q->result, i, 0)) {
            wait = ngx_kanban_sweep_next_in(q->result, i, 4, wait);
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
    }

done:

    ngx_destroy_pool(q->pool);
    ngx_kanban_sweep_done(ws, wait);
}
