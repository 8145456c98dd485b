-- The built-in agents start on their own (modules/agents, issue 23).
--
-- Before, a built-in agent's pending session was claimed when its task's
-- sessions were read, so a delegation nobody looked at never started. Now
-- the write that opens a session wakes the agents' sweep in the worker
-- that served it (ngx_kanban_agents_sweep.c), which claims every due
-- session of the workspace here, and again when a lease lapses.
--
-- And the other two built-in agents, beside breakdown:
--   triage proposes labels (of those the workspace uses), a priority and
--     an assignee (a person whose skills fit) as a question; a person's
--     "yes" applies them as that person, through the task's own update.
--   digest writes the project's digest of the last day as a comment on
--     the task, as the agent, which notifies the task's people and the one
--     who asked.
-- Each answer was validated against its schema in C; here it is checked
-- again against the workspace (a label or person the model made up is
-- dropped), since the task text it read may have asked for anything.

DROP FUNCTION agent_builtin_claim(uuid);

CREATE INDEX agent_sessions_builtin_due ON agent_sessions (claimed_at)
    WHERE state = 'pending' AND NOT stopped AND proposal IS NULL;


-- What a built-in agent is given: task text as data, never an address.
CREATE FUNCTION agent_builtin_data(builtin text, tid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH t AS (
        SELECT t.*, p.key || '-' || t.number AS task_key, p.name AS pname,
               p.key AS pkey
          FROM tasks t JOIN projects p ON p.id = t.project_id
         WHERE t.id = tid)
    SELECT CASE builtin
        WHEN 'breakdown' THEN (
            SELECT jsonb_build_object('key', task_key, 'title', title,
                                      'description', description)
              FROM t)
        WHEN 'triage' THEN (
            SELECT jsonb_build_object(
                'task', jsonb_build_object('key', task_key, 'title', title,
                                           'description', description),
                'labels', coalesce((
                    SELECT jsonb_agg(l ORDER BY l) FROM (
                        SELECT DISTINCT unnest(x.labels) AS l
                          FROM tasks x LIMIT 50) ls), '[]'),
                'people', coalesce((
                    SELECT jsonb_agg(jsonb_build_object(
                               'id', u.id, 'name', u.name,
                               'skills', (SELECT jsonb_agg(s.name || ' '
                                                            || us.level
                                                            ORDER BY s.name)
                                            FROM user_skills us
                                            JOIN skills s ON s.id = us.skill_id
                                           WHERE us.user_id = u.id))
                               ORDER BY u.name)
                      FROM users u
                     WHERE u.kind = 'person' AND u.status = 'active'
                       AND EXISTS (SELECT 1 FROM user_skills us
                                    WHERE us.user_id = u.id)), '[]'))
              FROM t)
        WHEN 'digest' THEN (
            SELECT jsonb_build_object(
                'project', jsonb_build_object('key', pkey, 'name', pname),
                'created', coalesce((
                    SELECT jsonb_agg(jsonb_build_object(
                               'key', pkey || '-' || x.number,
                               'title', x.title))
                      FROM (SELECT * FROM tasks x
                             WHERE x.project_id = t.project_id
                               AND x.created_at > now() - interval '1 day'
                             ORDER BY x.created_at LIMIT 20) x), '[]'),
                'completed', coalesce((
                    SELECT jsonb_agg(jsonb_build_object(
                               'key', pkey || '-' || x.number,
                               'title', x.title))
                      FROM (SELECT * FROM tasks x
                             WHERE x.project_id = t.project_id
                               AND x.completed_at > now() - interval '1 day'
                             ORDER BY x.completed_at LIMIT 20) x), '[]'),
                'overdue', coalesce((
                    SELECT jsonb_agg(jsonb_build_object(
                               'key', pkey || '-' || x.number,
                               'title', x.title, 'due_date', x.due_date))
                      FROM (SELECT * FROM tasks x
                             WHERE x.project_id = t.project_id
                               AND x.completed_at IS NULL
                               AND x.due_date < workspace_today()
                             ORDER BY x.due_date LIMIT 20) x), '[]'))
              FROM t)
        END
$$;


-- The sweep's claim: the workspace's due sessions of built-in agents (a
-- lease, so that one call runs a session), and, in a last row without a
-- session, when the next lease lapses (seconds, or NULL: none held).
CREATE FUNCTION agent_builtin_due(lease float8, lim int)
RETURNS TABLE (session_id uuid, agent_id uuid, builtin text, data text,
               next_in float8)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH c AS (
        UPDATE agent_sessions s SET claimed_at = now()
         WHERE s.id IN (
                SELECT x.id FROM agent_sessions x
                  JOIN agents a ON a.id = x.agent_id
                 WHERE x.state = 'pending' AND NOT x.stopped
                   AND x.proposal IS NULL AND a.kind = 'builtin'
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
           greatest(0, extract(epoch FROM min(x.claimed_at)
                                   + make_interval(secs => lease)
                                   - now()))::float8
      FROM agent_sessions x JOIN agents a ON a.id = x.agent_id
     WHERE x.state = 'pending' AND NOT x.stopped AND x.proposal IS NULL
       AND a.kind = 'builtin' AND x.claimed_at IS NOT NULL;
END
$$;


-- The agent's word in its session: an activity, the state it leads to,
-- the event on the stream.
CREATE FUNCTION agent_builtin_says(s agent_sessions, kind text, body text,
                                   state text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v  agent_activities;
BEGIN
    INSERT INTO agent_activities (session_id, type, body, author_id)
    VALUES (s.id, kind, left(body, 20000), s.agent_id)
    RETURNING * INTO v;

    UPDATE agent_sessions
       SET state = agent_builtin_says.state,
           last_activity_at = v.created_at, updated_at = now()
     WHERE id = s.id;

    RETURN agent_session_told(s.id, s.agent_id, 'activity',
               jsonb_build_object('id', v.id, 'type', v.type,
                                  'body', v.body, 'author_id', v.author_id,
                                  'created_at', v.created_at));
END
$$;

-- Why a call gave nothing, in words a person acts on.
CREATE FUNCTION agent_builtin_failure(status text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status
        WHEN 'not_configured' THEN 'No language model is configured '
            'for this workspace: an admin can choose one in Admin → AI.'
        WHEN 'disabled' THEN 'The workspace''s AI settings do not let '
            'agents use the model.'
        WHEN 'budget_exhausted' THEN 'The workspace''s AI budget for '
            'this month is spent.'
        ELSE 'The model gave no usable answer (' || status || ').' END
$$;


-- triage's answer {priority, labels, assignee_id, reason}: what is left of
-- it once made-up labels and people are dropped, proposed as a question.
CREATE FUNCTION agent_triage_answer(s agent_sessions, answer jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    known     jsonb;
    labels    jsonb;
    assignee  users;
    prop      jsonb;
BEGIN
    known := agent_builtin_data('triage', s.task_id);

    SELECT coalesce(jsonb_agg(DISTINCT l), '[]') INTO labels
      FROM jsonb_array_elements_text(coalesce(answer->'labels', '[]')) l
     WHERE known->'labels' ? l;

    SELECT u.* INTO assignee FROM users u
     WHERE u.id::text = answer->>'assignee_id'
       AND EXISTS (SELECT 1 FROM jsonb_array_elements(known->'people') p
                    WHERE p->>'id' = u.id::text);

    prop := jsonb_build_object('priority', answer->>'priority',
                               'labels', labels,
                               'assignee_id', assignee.id);

    UPDATE agent_sessions SET proposal = prop WHERE id = s.id;

    RETURN agent_builtin_says(s, 'elicitation',
        format('I propose: priority %s; labels %s; assignee %s.',
               prop->>'priority',
               CASE WHEN jsonb_array_length(labels) = 0 THEN 'none'
                    ELSE (SELECT string_agg(l, ', ')
                            FROM jsonb_array_elements_text(labels) l) END,
               coalesce(assignee.name, 'nobody'))
        || E'\n' || 'Why: ' || left(coalesce(answer->>'reason', ''), 500)
        || E'\n' || 'Answer "yes" to apply it.',
        'awaiting_input');
END
$$;


-- digest's answer {summary, highlights}: a comment on the task, as the
-- agent; the comment notifies the task's reporter and assignees, and the
-- one who asked is told too. An @ in the model's text could open another
-- agent's session: it is written as "(at)".
CREATE FUNCTION agent_digest_answer(s agent_sessions, answer jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    t      tasks;
    body   text;
    c      comments;
    asker  uuid;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = s.task_id;

    body := replace('Digest of the last day: ' || (answer->>'summary')
                    || coalesce(E'\n' || (
                        SELECT string_agg('- ' || h, E'\n' ORDER BY n)
                          FROM jsonb_array_elements_text(answer->'highlights')
                               WITH ORDINALITY AS e(h, n)), ''),
                    '@', '(at)');

    INSERT INTO comments (task_id, author_id, body)
    VALUES (t.id, s.agent_id, left(body, 20000))
    RETURNING * INTO c;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (s.agent_id, t.project_id, 'comment', c.id, 'created',
            to_jsonb(c));

    SELECT actor_id INTO asker FROM activity_log
     WHERE entity_type = 'agent_session' AND entity_id = s.id
       AND action = 'created';

    IF asker IS NOT NULL
       AND asker IS DISTINCT FROM t.reporter_id
       AND NOT EXISTS (SELECT 1 FROM task_assignees
                        WHERE task_id = t.id AND user_id = asker)
    THEN
        PERFORM notification_add(asker, 'commented', s.agent_id, t.id,
                                 jsonb_build_object('comment_id', c.id,
                                                    'excerpt',
                                                    left(c.body, 200)));
    END IF;

    RETURN agent_builtin_says(s, 'response',
                              'I wrote the digest as a comment.', 'complete');
END
$$;


-- One entry for the gateway's answers (status: its name for how the call
-- ended): a session still pending gets its agent's answer, or why there
-- is none (breakdown says so itself, as before).
CREATE FUNCTION agent_builtin_answer(sid uuid, status text, answer jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s        agent_sessions;
    builtin  text;
BEGIN
    SELECT * INTO s FROM agent_sessions WHERE id = sid FOR UPDATE;
    IF NOT FOUND OR s.stopped OR s.state <> 'pending' THEN
        RETURN NULL;
    END IF;

    SELECT a.builtin INTO builtin FROM agents a WHERE a.id = s.agent_id;

    IF builtin = 'breakdown' THEN
        RETURN agent_breakdown_answer(sid, status, answer);
    END IF;

    IF status <> 'completed' OR answer IS NULL THEN
        RETURN agent_builtin_says(s, 'error', agent_builtin_failure(status),
                                  'error');
    END IF;

    CASE builtin
    WHEN 'triage' THEN
        RETURN agent_triage_answer(s, answer);
    WHEN 'digest' THEN
        RETURN agent_digest_answer(s, answer);
    ELSE
        RETURN NULL;
    END CASE;
END
$$;


-- A person's answer to triage's proposal: "yes" applies it as that
-- person, through the task's own update (their role's rules hold): the
-- priority, the labels added to the task's, the assignee added.
CREATE FUNCTION agent_triage_prompted(sid uuid, answer text, actor uuid)
RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    s     agent_sessions;
    t     tasks;
    b     jsonb;
    r     record;
    body  text := 'Understood: nothing changed.';
BEGIN
    SELECT * INTO s FROM agent_sessions WHERE id = sid;
    IF s.proposal IS NULL
       OR NOT EXISTS (SELECT 1 FROM agents
                       WHERE id = s.agent_id AND builtin = 'triage')
    THEN
        RETURN;
    END IF;

    IF answer ~* '^\s*(yes|y|ok|accept|apply)\M' THEN
        SELECT * INTO t FROM tasks WHERE id = s.task_id;

        b := jsonb_build_object('priority', s.proposal->>'priority',
            'labels', (SELECT coalesce(jsonb_agg(DISTINCT l), '[]')
                         FROM (SELECT unnest(t.labels) AS l
                               UNION
                               SELECT jsonb_array_elements_text(
                                          s.proposal->'labels')) x));

        IF s.proposal->>'assignee_id' IS NOT NULL THEN
            b := b || jsonb_build_object('assignee_ids', (
                SELECT jsonb_agg(DISTINCT a) FROM (
                    SELECT user_id::text AS a FROM task_assignees
                     WHERE task_id = t.id
                    UNION SELECT s.proposal->>'assignee_id') x));
        END IF;

        body := 'I could not apply it.';
        FOR r IN SELECT * FROM task_update_skilled(
                     actor, (SELECT role FROM users WHERE id = actor),
                     t.id, b, NULL)
        LOOP
            body := CASE WHEN r.status = 200 THEN 'Applied.'
                         ELSE 'I could not apply it: '
                              || coalesce(r.extra, r.body) END;
        END LOOP;
    END IF;

    PERFORM agent_builtin_says(s, 'response', body, 'complete');
END
$$;

ALTER FUNCTION agent_builtin_prompted(uuid, text, uuid)
    RENAME TO agent_breakdown_prompted;

CREATE FUNCTION agent_builtin_prompted(sid uuid, answer text, actor uuid)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM agent_breakdown_prompted(sid, answer, actor);
    PERFORM agent_triage_prompted(sid, answer, actor);
END
$$;
