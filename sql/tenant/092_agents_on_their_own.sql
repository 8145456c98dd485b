-- The built-in agents at work without being asked (modules/agents,
-- issue 23), and their runs surviving a killed nginx.
--
-- Triage on every new task of a project that opts in (an admin or the
-- project's manager, PATCH /projects/{id}/agent-settings): the task made
-- through the API by a person (never by an agent, a rule, a recurring
-- series, an import, nor a subtask, which its parent's triage covers) is
-- queued in the task's own transaction, with no audit row of its own (the
-- create's event keeps its id); the agents' sweep opens its session
-- ("new_task"), and the triage agent proposes, or applies as itself when
-- the project says "apply".
--
-- The digest daily: each project that opts in gets its digest, as a
-- comment on a task of its own ("Daily digest", made on opting in unless
-- one is named), at the workspace's hour (agent-settings, admins) in its
-- time zone. Exactly once a day however many nodes, workers or restarts:
-- agent_digest_days is keyed by project and day, and only the one insert
-- that wins opens the session.
--
-- Recovery: the sweep now keeps its due time in the catalog's index
-- (ngx_kanban_agents_sweep.c), so a lease held by a killed nginx lapses
-- into a new claim on any node after a restart; a session claimed three
-- times without an answer ends in an error that says so.

ALTER TABLE agent_sessions DROP CONSTRAINT agent_sessions_opened_by_check;
ALTER TABLE agent_sessions ADD CONSTRAINT agent_sessions_opened_by_check
    CHECK (opened_by IN ('delegated', 'mentioned', 'new_task', 'daily'));

ALTER TABLE agent_sessions ADD COLUMN claims int NOT NULL DEFAULT 0;


CREATE TABLE project_agent_settings (
    project_id      uuid PRIMARY KEY REFERENCES projects (id)
                         ON DELETE CASCADE,
    triage          text NOT NULL DEFAULT 'off'
                         CHECK (triage IN ('off', 'propose', 'apply')),
    digest          boolean NOT NULL DEFAULT false,
    digest_task_id  uuid REFERENCES tasks (id) ON DELETE SET NULL,
    updated_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- new tasks waiting for the sweep to open their triage session
CREATE TABLE agent_triage_queue (
    task_id    uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    actor_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    queued_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_digest_days (
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    local_day   date NOT NULL,          -- the workspace's day
    session_id  uuid REFERENCES agent_sessions (id) ON DELETE SET NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, local_day)
);

INSERT INTO settings (key, value) VALUES ('agent_digest_hour', '8')
    ON CONFLICT (key) DO NOTHING;


-- The workspace's built-in agent of a kind that works unasked: the oldest
-- active one.
CREATE FUNCTION agent_builtin_of(which text) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT a.id FROM agents a JOIN users u ON u.id = a.id
     WHERE a.builtin = which AND u.status = 'active'
     ORDER BY a.created_at, a.id LIMIT 1
$$;

CREATE FUNCTION agent_digest_hour() RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT (value #>> '{}')::int FROM settings
                      WHERE key = 'agent_digest_hour'), 8)
$$;

-- the instant of the digest of the workspace's day d
CREATE FUNCTION agent_digest_at(d date) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT (d::timestamp + make_interval(hours => agent_digest_hour()))
           AT TIME ZONE workspace_time_zone()
$$;

-- the next digest: today's when its hour is still ahead, else tomorrow's
CREATE FUNCTION agent_digest_next() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN now() < agent_digest_at(workspace_today())
                THEN agent_digest_at(workspace_today())
                ELSE agent_digest_at(workspace_today() + 1) END
$$;


-- GET/PATCH /api/v1/agent-settings: {digest_hour}, admins.
CREATE FUNCTION agent_settings_json() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('digest_hour', agent_digest_hour(),
                              'time_zone', workspace_time_zone(),
                              'next_digest_at', agent_digest_next())
$$;

CREATE FUNCTION agent_settings_get()
RETURNS TABLE (status int, body text, extra text)
LANGUAGE sql STABLE AS $$
    SELECT 200, agent_settings_json()::text, NULL::text
$$;

CREATE FUNCTION agent_settings_patch(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM jsonb_object_keys(b) k
                WHERE k <> 'digest_hour')
       OR jsonb_typeof(b->'digest_hour') IS DISTINCT FROM 'number'
       OR (b->>'digest_hour') !~ '^[0-9]{1,2}$'
       OR (b->>'digest_hour')::int > 23
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'digest_hour is a whole hour, 0 to 23, in the workspace''s '
            'time zone.';
        RETURN;
    END IF;

    INSERT INTO settings (key, value)
    VALUES ('agent_digest_hour', b->'digest_hour')
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'agent_settings', NULL, 'updated', b);

    RETURN QUERY SELECT 200, agent_settings_json()::text, NULL::text;
END
$$;


-- GET/PATCH /api/v1/projects/{id}/agent-settings: admins and the
-- project's managers.
CREATE FUNCTION project_agent_settings_json(pid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'project_id', pid,
        'triage', coalesce(s.triage, 'off'),
        'digest', coalesce(s.digest, false),
        'digest_task_id', s.digest_task_id,
        'triage_agent_id', agent_builtin_of('triage'),
        'digest_agent_id', agent_builtin_of('digest'),
        'digest_hour', agent_digest_hour(),
        'time_zone', workspace_time_zone(),
        'next_digest_at', CASE WHEN s.digest THEN agent_digest_next() END,
        'last_digest_on', (SELECT max(d.local_day) FROM agent_digest_days d
                            WHERE d.project_id = pid),
        'updated_at', s.updated_at)
      FROM (SELECT 1) one
      LEFT JOIN project_agent_settings s ON s.project_id = pid
$$;

CREATE FUNCTION project_agent_settings_get(actor uuid, role text, pid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    no  int := github_may_manage(actor, role, pid);
BEGIN
    IF no = 404 THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
    ELSIF no = 403 THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the project''s managers see its agents.';
    ELSE
        RETURN QUERY SELECT 200, project_agent_settings_json(pid)::text,
                            NULL::text;
    END IF;
END
$$;

CREATE FUNCTION project_agent_settings_patch(actor uuid, role text,
                                             pid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
DECLARE
    no      int := github_may_manage(actor, role, pid);
    s       project_agent_settings;
    want_triage  text;
    want_digest  boolean;
    dtask        uuid;
    r       record;
BEGIN
    IF no = 404 THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    ELSIF no = 403 THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the project''s managers choose its agents.';
        RETURN;
    END IF;

    IF EXISTS (SELECT 1 FROM jsonb_object_keys(b) k
                WHERE k NOT IN ('triage', 'digest', 'digest_task_id'))
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'The settings are triage, digest and digest_task_id.';
        RETURN;
    END IF;

    IF b ? 'triage' AND (jsonb_typeof(b->'triage') <> 'string'
                         OR b->>'triage' NOT IN ('off', 'propose', 'apply'))
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'triage is off, propose or apply.';
        RETURN;
    END IF;

    IF b ? 'digest' AND jsonb_typeof(b->'digest') <> 'boolean' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'digest is true or false.';
        RETURN;
    END IF;

    IF b ? 'digest_task_id' AND b->'digest_task_id' <> 'null'
       AND NOT EXISTS (SELECT 1 FROM tasks t
                        WHERE t.id::text = b->>'digest_task_id'
                          AND t.project_id = pid)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'digest_task_id is a task of this project, or null.';
        RETURN;
    END IF;

    SELECT * INTO s FROM project_agent_settings WHERE project_id = pid
       FOR UPDATE;

    want_triage := coalesce(b->>'triage', s.triage, 'off');
    want_digest := coalesce((b->>'digest')::boolean, s.digest, false);
    dtask := CASE WHEN b ? 'digest_task_id'
                  THEN (b->>'digest_task_id')::uuid
                  ELSE s.digest_task_id END;

    IF want_triage <> 'off' AND agent_builtin_of('triage') IS NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'The workspace has no built-in triage agent: an admin adds one '
            'in Admin → Agents first.';
        RETURN;
    END IF;

    IF want_digest AND agent_builtin_of('digest') IS NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'The workspace has no built-in digest agent: an admin adds one '
            'in Admin → Agents first.';
        RETURN;
    END IF;

    -- the digest needs a task to write on: one of its own
    IF want_digest AND dtask IS NULL THEN
        FOR r IN SELECT * FROM task_create_untriaged(actor, role, pid,
                     jsonb_build_object('title', 'Daily digest',
                         'description', 'The digest agent writes the '
                         'project''s digest here every day, as a comment.'))
        LOOP
            IF r.status <> 201 THEN
                RETURN QUERY SELECT r.status, r.body, r.extra;
                RETURN;
            END IF;
            dtask := (r.body::jsonb->>'id')::uuid;
        END LOOP;
    END IF;

    INSERT INTO project_agent_settings AS x (project_id, triage, digest,
                                             digest_task_id, updated_by)
    VALUES (pid, want_triage, want_digest, dtask, actor)
    ON CONFLICT (project_id) DO UPDATE
       SET triage = EXCLUDED.triage, digest = EXCLUDED.digest,
           digest_task_id = EXCLUDED.digest_task_id,
           updated_by = actor, updated_at = now();

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'project_agent_settings', pid, 'updated',
            jsonb_build_object('triage', want_triage, 'digest', want_digest,
                               'digest_task_id', dtask));

    RETURN QUERY SELECT 200, project_agent_settings_json(pid)::text,
                        NULL::text;
END
$$;


-- A task made through the API: queued for triage when a person made it,
-- it is no subtask, and its project opts in.
ALTER FUNCTION task_create_skilled(uuid, text, uuid, jsonb)
    RENAME TO task_create_untriaged;

CREATE FUNCTION task_create_skilled(actor uuid, role text, pid uuid,
                                    b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r  record;
BEGIN
    FOR r IN SELECT * FROM task_create_untriaged(actor, role, pid, b) LOOP
        IF r.status = 201
           AND (r.body::jsonb->>'parent_id') IS NULL
           AND EXISTS (SELECT 1 FROM users WHERE id = actor
                                             AND kind = 'person')
           AND EXISTS (SELECT 1 FROM project_agent_settings
                        WHERE project_id = pid AND triage <> 'off')
        THEN
            INSERT INTO agent_triage_queue (task_id, actor_id)
            VALUES ((r.body::jsonb->>'id')::uuid, actor)
            ON CONFLICT (task_id) DO NOTHING;
        END IF;

        RETURN QUERY SELECT r.status, r.body, r.extra;
    END LOOP;
END
$$;


-- The sessions nobody asked for, opened by the sweep: the queued new
-- tasks' triage, and today's digests that are due.
CREATE FUNCTION agent_sessions_unasked() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    q      record;
    d      record;
    agent  uuid;
    sid    uuid;
BEGIN
    FOR q IN
        WITH taken AS (
            DELETE FROM agent_triage_queue x
             WHERE x.task_id IN (SELECT task_id FROM agent_triage_queue
                                  ORDER BY queued_at LIMIT 50
                                    FOR UPDATE SKIP LOCKED)
            RETURNING x.task_id, x.actor_id)
        SELECT taken.* FROM taken
          JOIN tasks t ON t.id = taken.task_id
          JOIN project_agent_settings s ON s.project_id = t.project_id
         WHERE s.triage <> 'off'
    LOOP
        agent := agent_builtin_of('triage');
        IF agent IS NOT NULL THEN
            PERFORM agent_session_open(agent, q.task_id, 'new_task', NULL,
                                       q.actor_id);
        END IF;
    END LOOP;

    IF now() < agent_digest_at(workspace_today()) THEN
        RETURN;
    END IF;

    agent := agent_builtin_of('digest');
    IF agent IS NULL THEN
        RETURN;
    END IF;

    -- the insert that wins the day's key opens its session; any other
    -- (another worker, node, or a step after a restart) does nothing
    FOR d IN
        INSERT INTO agent_digest_days AS x (project_id, local_day)
        SELECT s.project_id, workspace_today()
          FROM project_agent_settings s
         WHERE s.digest AND s.digest_task_id IS NOT NULL
        ON CONFLICT (project_id, local_day) DO NOTHING
        RETURNING x.project_id, x.local_day
    LOOP
        sid := agent_session_open(agent,
                   (SELECT digest_task_id FROM project_agent_settings
                     WHERE project_id = d.project_id),
                   'daily', NULL, NULL);
        UPDATE agent_digest_days SET session_id = sid
         WHERE project_id = d.project_id AND local_day = d.local_day;
    END LOOP;
END
$$;


-- The sweep's step: the unasked sessions opened; the sessions claimed
-- too often without an answer (nginx killed mid-call, three times) end
-- in an error; the due ones claimed (a lease); and, in a last row
-- without a session, when the workspace is due next (a lease lapsing,
-- the next digest, a queued task), or NULL: nothing.
CREATE OR REPLACE FUNCTION agent_builtin_due(lease float8, lim int)
RETURNS TABLE (session_id uuid, agent_id uuid, builtin text, data text,
               next_in float8)
LANGUAGE plpgsql AS $$
DECLARE
    cut  agent_sessions;
BEGIN
    PERFORM agent_sessions_unasked();

    FOR cut IN
        SELECT x.* FROM agent_sessions x
          JOIN agents a ON a.id = x.agent_id
         WHERE x.state = 'pending' AND NOT x.stopped
           AND x.proposal IS NULL AND a.kind = 'builtin'
           AND x.claims >= 3
           AND x.claimed_at < now() - make_interval(secs => lease)
           FOR UPDATE OF x SKIP LOCKED
    LOOP
        PERFORM agent_builtin_says(cut, 'error',
            'I was interrupted three times before the model answered '
            '(the server restarted); delegate or mention me again to '
            'retry.', 'error');
    END LOOP;

    RETURN QUERY
    WITH c AS (
        UPDATE agent_sessions s SET claimed_at = now(),
                                    claims = s.claims + 1
         WHERE s.id IN (
                SELECT x.id FROM agent_sessions x
                  JOIN agents a ON a.id = x.agent_id
                 WHERE x.state = 'pending' AND NOT x.stopped
                   AND x.proposal IS NULL AND a.kind = 'builtin'
                   AND x.claims < 3
                   AND (x.claimed_at IS NULL
                        OR x.claimed_at < now() - make_interval(secs => lease))
                 ORDER BY x.created_at
                 LIMIT lim
                   FOR UPDATE OF x SKIP LOCKED)
        RETURNING s.id, s.agent_id, s.task_id)
    SELECT c.id, c.agent_id, a.builtin,
           agent_builtin_data(a.builtin, c.task_id)::text, NULL::float8
      FROM c JOIN agents a ON a.id = c.agent_id;

    RETURN QUERY
    SELECT NULL::uuid, NULL::uuid, NULL::text, NULL::text,
           -- not greatest(0, ...) alone: it makes no due time (NULL) 0,
           -- due now, for ever (089)
           CASE WHEN min(w) IS NOT NULL
                THEN greatest(0, extract(epoch FROM min(w) - now()))::float8
           END
      FROM (
        SELECT min(x.claimed_at) + make_interval(secs => lease) AS w
          FROM agent_sessions x JOIN agents a ON a.id = x.agent_id
         WHERE x.state = 'pending' AND NOT x.stopped
           AND x.proposal IS NULL AND a.kind = 'builtin'
           AND x.claimed_at IS NOT NULL
        UNION ALL
        SELECT agent_digest_next()
         WHERE EXISTS (SELECT 1 FROM project_agent_settings WHERE digest)
        UNION ALL
        SELECT now() + interval '1 second'
         WHERE EXISTS (SELECT 1 FROM agent_triage_queue)) due;
END
$$;


-- triage's answer to a new task of a project that says "apply": applied
-- by the agent itself, with the authority the project's manager gave it
-- (its audit rows are the agent's); otherwise proposed as before.
ALTER FUNCTION agent_triage_answer(agent_sessions, jsonb)
    RENAME TO agent_triage_propose;

CREATE FUNCTION agent_triage_answer(s agent_sessions, answer jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    known jsonb;
    p     jsonb;
    t     tasks;
    b     jsonb;
    r     record;
    said  text := 'I could not apply it.';
BEGIN
    IF s.opened_by <> 'new_task' OR NOT EXISTS (
           SELECT 1 FROM tasks x JOIN project_agent_settings ps
                                   ON ps.project_id = x.project_id
            WHERE x.id = s.task_id AND ps.triage = 'apply')
    THEN
        RETURN agent_triage_propose(s, answer);
    END IF;

    -- what is left once made-up labels and people are dropped
    known := agent_builtin_data('triage', s.task_id);
    p := jsonb_build_object('priority', answer->>'priority',
        'labels', (SELECT coalesce(jsonb_agg(DISTINCT l), '[]')
                     FROM jsonb_array_elements_text(
                              coalesce(answer->'labels', '[]')) l
                    WHERE known->'labels' ? l),
        'assignee_id', (SELECT u.id FROM users u
                         WHERE u.id::text = answer->>'assignee_id'
                           AND EXISTS (
                               SELECT 1 FROM jsonb_array_elements(
                                                 known->'people') x
                                WHERE x->>'id' = u.id::text)));
    UPDATE agent_sessions SET proposal = p WHERE id = s.id;
    SELECT * INTO t FROM tasks WHERE id = s.task_id;

    b := jsonb_build_object('priority', p->>'priority',
        'labels', (SELECT coalesce(jsonb_agg(DISTINCT l), '[]')
                     FROM (SELECT unnest(t.labels) AS l
                           UNION
                           SELECT jsonb_array_elements_text(p->'labels')) x));

    IF p->>'assignee_id' IS NOT NULL THEN
        b := b || jsonb_build_object('assignee_ids', (
            SELECT jsonb_agg(DISTINCT a) FROM (
                SELECT user_id::text AS a FROM task_assignees
                 WHERE task_id = t.id
                UNION SELECT p->>'assignee_id') x));
    END IF;

    FOR r IN SELECT * FROM task_update_skilled(s.agent_id, 'project_manager',
                                               t.id, b, NULL)
    LOOP
        said := CASE WHEN r.status = 200
                     THEN format('Applied: priority %s; labels %s; '
                                 'assignee %s.', p->>'priority',
                                 CASE WHEN jsonb_array_length(p->'labels') = 0
                                      THEN 'none'
                                      ELSE (SELECT string_agg(l, ', ')
                                              FROM jsonb_array_elements_text(
                                                       p->'labels') l) END,
                                 coalesce((SELECT name FROM users
                                            WHERE id::text
                                                  = p->>'assignee_id'),
                                          'nobody'))
                     ELSE 'I could not apply it: '
                          || coalesce(r.extra, r.body) END;
    END LOOP;

    RETURN agent_builtin_says(s, 'response', said, 'complete');
END
$$;
