-- A workspace's full export as a job (kind 'export'): asked for by its
-- admin (POST /api/v1/workspace/export) or an operator (POST
-- /api/v1/platform/workspaces/{slug}/export), done by kanbanctl's runner,
-- which writes the file into the workspace's own database (tenant 061)
-- for its admins to download. An export starts over safely, so a runner
-- that died has its export queued again like a move or a migrate (3
-- attempts), then failed with the reason. One export of a workspace is
-- queued or running at a time: asking again answers that one.

CREATE UNIQUE INDEX jobs_one_export ON jobs (workspace)
    WHERE kind = 'export' AND state IN ('queued', 'running');


CREATE OR REPLACE FUNCTION jobs_expire() RETURNS SETOF jobs
LANGUAGE sql AS $$
    UPDATE jobs j
       SET state = CASE WHEN j.kind IN ('move', 'migrate', 'export')
                             AND j.attempts < 3
                        THEN 'queued' ELSE 'failed' END,
           error = CASE WHEN j.kind IN ('move', 'migrate', 'export')
                             AND j.attempts < 3
                        THEN NULL
                        ELSE 'its runner stopped (the lease expired at '
                             || j.lease_until || ' after '
                             || j.attempts || ' attempt(s))' END,
           finished_at = CASE WHEN j.kind IN ('move', 'migrate', 'export')
                                   AND j.attempts < 3
                              THEN NULL ELSE now() END,
           lease_until = NULL, updated_at = now()
     WHERE j.state = 'running' AND j.lease_until < now()
    RETURNING j.*
$$;


CREATE OR REPLACE FUNCTION jobs_claim(p_seconds integer) RETURNS SETOF jobs
LANGUAGE sql AS $$
    UPDATE jobs j
       SET state = 'running', attempts = j.attempts + 1,
           started_at = coalesce(j.started_at, now()),
           lease_until = now() + make_interval(secs => p_seconds),
           updated_at = now()
     WHERE j.id = (SELECT x.id FROM jobs x
                    WHERE x.state = 'queued'
                      AND x.kind IN ('move', 'migrate', 'export')
                    ORDER BY x.created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING j.*
$$;


-- The export queued for a workspace that has a database (not one being
-- provisioned, moved or purged), or the one already queued or running.
-- NULL: no such workspace, or not now.
CREATE FUNCTION export_queue(p_slug text, p_requested_by text,
                             p_operator uuid, p_params jsonb)
RETURNS jobs LANGUAGE plpgsql AS $$
DECLARE
    j  jobs;
BEGIN
    PERFORM 1 FROM tenants t
      WHERE t.slug = p_slug
        AND t.status IN ('active', 'suspended', 'deleting')
      FOR SHARE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    INSERT INTO jobs (kind, workspace, requested_by, operator_id, params)
    VALUES ('export', p_slug, p_requested_by, p_operator, p_params)
    ON CONFLICT (workspace)
       WHERE kind = 'export' AND state IN ('queued', 'running')
       DO NOTHING
    RETURNING * INTO j;

    IF j.id IS NULL THEN
        SELECT * INTO j FROM jobs x
         WHERE x.workspace = p_slug AND x.kind = 'export'
           AND x.state IN ('queued', 'running');
    END IF;

    RETURN j;
END $$;


-- An export as its workspace's admin sees it: no operator's address.
CREATE FUNCTION workspace_export_json(j jobs)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', j.id, 'state', j.state, 'progress', j.progress,
        'error', j.error, 'attempts', j.attempts,
        'bytes', (j.result->>'bytes')::bigint,
        'tables', (j.result->>'tables')::int,
        'created_at', j.created_at, 'started_at', j.started_at,
        'finished_at', j.finished_at)
$$;
