-- Long work, recorded where an operator sees it: provisioning (sign-up),
-- deletion and purge, export, a move to another server, the roll-out of
-- the tenant schema. A job survives an nginx reload (it is a row); the
-- work a runner does (kanbanctl jobs run) holds a lease it renews, and a
-- lease that expired means its runner died: the job is claimed again or
-- failed with the reason (jobs_expire()).

CREATE TABLE jobs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind            text NOT NULL
                    CHECK (kind IN ('provision', 'export', 'delete', 'move',
                                    'migrate')),
    -- the workspace's slug (kept after its row is gone); NULL for the
    -- roll-out of the schema to every workspace
    workspace       text,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'succeeded',
                                     'failed')),
    progress        integer NOT NULL DEFAULT 0
                    CHECK (progress BETWEEN 0 AND 100),
    error           text CHECK (length(error) <= 2000),
    -- what the work needs ({server} of a move, {target} of a migrate)
    -- and what it found ({total, done, failed} of a migrate)
    params          jsonb NOT NULL DEFAULT '{}',
    result          jsonb NOT NULL DEFAULT '{}',
    -- who asked: an operator, or 'sign-up', 'kanbanctl' (kept as it was)
    operator_id     uuid REFERENCES operators (id) ON DELETE SET NULL,
    requested_by    text NOT NULL CHECK (length(requested_by) <= 254),
    attempts        integer NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    CHECK ((state IN ('succeeded', 'failed')) = (finished_at IS NOT NULL)),
    CHECK (state <> 'failed' OR error IS NOT NULL)
);

CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_workspace ON jobs (workspace, created_at DESC);
-- what a runner looks for: the queued, and the running whose lease ran out
CREATE INDEX jobs_open ON jobs (state, created_at)
    WHERE state IN ('queued', 'running');
-- one move queued or running per workspace at a time
CREATE UNIQUE INDEX jobs_one_move ON jobs (workspace)
    WHERE kind = 'move' AND state IN ('queued', 'running');


-- A migrate job's workspaces that failed, each with its error; a run that
-- brings one to the version removes its row.
CREATE TABLE job_failures (
    job_id          uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    workspace       text NOT NULL,
    error           text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, workspace)
);


-- A job as the console shows it.
CREATE FUNCTION platform_job_json(j jobs)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', j.id, 'kind', j.kind, 'workspace', j.workspace,
        'state', j.state, 'progress', j.progress, 'error', j.error,
        'params', j.params, 'result', j.result,
        'requested_by', j.requested_by, 'attempts', j.attempts,
        'created_at', j.created_at, 'started_at', j.started_at,
        'finished_at', j.finished_at, 'updated_at', j.updated_at,
        'failures', coalesce((SELECT json_agg(json_build_object(
                                  'workspace', f.workspace,
                                  'error', f.error, 'at', f.at)
                                  ORDER BY f.workspace)
                                FROM job_failures f
                               WHERE f.job_id = j.id), '[]'::json))
$$;


-- Runners that died: a running job whose lease ran out is queued again
-- for another runner (up to 3 attempts) when its kind can start over
-- (a move before its window, a migrate), else failed with the reason.
-- A sign-up's provisioning that never finished is failed.
CREATE FUNCTION jobs_expire() RETURNS SETOF jobs
LANGUAGE sql AS $$
    UPDATE jobs j
       SET state = CASE WHEN j.kind IN ('move', 'migrate')
                             AND j.attempts < 3
                        THEN 'queued' ELSE 'failed' END,
           error = CASE WHEN j.kind IN ('move', 'migrate')
                             AND j.attempts < 3
                        THEN NULL
                        ELSE 'its runner stopped (the lease expired at '
                             || j.lease_until || ' after '
                             || j.attempts || ' attempt(s))' END,
           finished_at = CASE WHEN j.kind IN ('move', 'migrate')
                                   AND j.attempts < 3
                              THEN NULL ELSE now() END,
           lease_until = NULL, updated_at = now()
     WHERE j.state = 'running' AND j.lease_until < now()
    RETURNING j.*
$$;


-- The next queued job a runner can do (move, migrate), taken with a lease
-- of p_seconds; SKIP LOCKED: runners at once take different ones.
CREATE FUNCTION jobs_claim(p_seconds integer) RETURNS SETOF jobs
LANGUAGE sql AS $$
    UPDATE jobs j
       SET state = 'running', attempts = j.attempts + 1,
           started_at = coalesce(j.started_at, now()),
           lease_until = now() + make_interval(secs => p_seconds),
           updated_at = now()
     WHERE j.id = (SELECT x.id FROM jobs x
                    WHERE x.state = 'queued' AND x.kind IN ('move', 'migrate')
                    ORDER BY x.created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING j.*
$$;


-- A sign-up's provisioning is a job too, recorded by the claim itself:
-- no round trip more. Its lease is the claim's own ten minutes (a stale
-- claim frees its slug then).
CREATE OR REPLACE FUNCTION claim_workspace(p_slug text, p_name text)
RETURNS TABLE (id uuid, db_name text, db_dsn text, spare boolean)
LANGUAGE plpgsql AS $$
DECLARE
    t  tenants%ROWTYPE;
    s  text;
BEGIN
    INSERT INTO tenants AS o (id, slug, name, db_name)
    SELECT g.u, p_slug, p_name, 'kanban_t_' || replace(g.u::text, '-', '')
      FROM (SELECT gen_random_uuid() AS u) g
    ON CONFLICT (slug) DO UPDATE
       SET id = excluded.id, name = excluded.name,
           db_name = excluded.db_name, created_at = now(),
           updated_at = now()
     WHERE o.status = 'provisioning'
       AND o.updated_at < now() - interval '10 minutes'
    RETURNING o.* INTO t;

    IF NOT FOUND THEN
        RETURN;
    END IF;

    -- the job's id is the workspace's: activation finds it without a
    -- lookup
    INSERT INTO jobs (id, kind, workspace, state, requested_by, attempts,
                      lease_until, started_at, params)
    VALUES (t.id, 'provision', t.slug, 'running', 'sign-up', 1,
            now() + interval '10 minutes', now(),
            jsonb_build_object('server', t.server));

    DELETE FROM spare_databases d
     WHERE d.db_name = (SELECT x.db_name FROM spare_databases x
                         WHERE x.server = t.server AND x.ready
                         ORDER BY x.created_at LIMIT 1
                           FOR UPDATE SKIP LOCKED)
    RETURNING d.db_name INTO s;

    IF FOUND THEN
        UPDATE tenants SET db_name = s WHERE tenants.id = t.id;
        RETURN QUERY SELECT t.id, s, t.db_dsn, true;
    ELSE
        RETURN QUERY SELECT t.id, t.db_name, t.db_dsn, false;
    END IF;
END $$;
