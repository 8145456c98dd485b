-- AI agents as members (modules/agents, issue 23).
--
-- An agent is a row of users of kind 'agent', so that everything that
-- names a member names it too (a comment's @mention, the audit trail's
-- actor, an API token's owner), and a row of agents with what only agents
-- have. It has no password and an address under agents.invalid, so it can
-- never sign in; quota_users_used counts people only; the lists of people
-- leave agents out.
--
-- An external agent's API token is an api_tokens row like any other
-- (kbt_..., kept as its SHA-256, shown once), owned by the agent's user.
-- The token lookup of modules/auth takes only people's tokens, so an
-- agent's token is no identity for any route: it is accepted only by
-- agent_activity_add, for the sessions of its own agent.
--
-- A session opens when a task's delegate_id is set to an agent or a
-- comment @mentions one. Its state follows its last activity; whether it
-- is unresponsive (no activity 10 s after it opened or was prompted) or
-- stale (30 min without one) is computed as it is read, so no sweep runs.
-- Sessions and activities are events on the workspace's stream.

ALTER TABLE users ADD COLUMN kind text NOT NULL DEFAULT 'person'
    CHECK (kind IN ('person', 'agent'));

CREATE OR REPLACE FUNCTION quota_users_used() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM users WHERE status = 'active' AND kind = 'person'
$$;

-- 047's check, counting people only; an agent added passes it.
CREATE OR REPLACE FUNCTION quota_users_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lim   integer;
    used  bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = 'active' THEN
        RETURN NEW;                     /* not one more */
    END IF;

    SELECT max_users INTO lim FROM quota_limits;
    IF lim IS NULL THEN
        RETURN NEW;
    END IF;

    PERFORM pg_advisory_xact_lock(hashtext('kanban.quota.max_users'));

    used := (SELECT count(*) FROM users
              WHERE status = 'active' AND kind = 'person' AND id <> NEW.id);

    IF used + 1 > lim THEN
        PERFORM quota_refuse('max_users', lim, used,
            format('The workspace''s plan allows %s active people and has '
                   '%s; an admin can deactivate someone or ask for a '
                   'larger plan.', lim, used));
    END IF;

    RETURN NEW;
END
$$;

DROP TRIGGER users_quota ON users;

CREATE TRIGGER users_quota
    BEFORE INSERT OR UPDATE OF status ON users
    FOR EACH ROW WHEN (NEW.status = 'active' AND NEW.kind = 'person')
    EXECUTE FUNCTION quota_users_check();


CREATE TABLE agents (
    id           uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('external', 'builtin')),
    builtin      text CHECK (builtin IN ('breakdown', 'triage', 'digest')),
    webhook_url  text CHECK (webhook_url ~ '^https?://[^/?#\s@]+([/?#]\S*)?$'
                             AND length(webhook_url) <= 2000),
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'builtin') = (builtin IS NOT NULL)),
    CHECK (kind = 'external' OR webhook_url IS NULL)
);

ALTER TABLE tasks ADD COLUMN delegate_id uuid
    REFERENCES agents (id) ON DELETE SET NULL;

CREATE TABLE agent_sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id      uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    task_id       uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    opened_by     text NOT NULL CHECK (opened_by IN ('delegated',
                                                     'mentioned')),
    comment_id    uuid REFERENCES comments (id) ON DELETE SET NULL,
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'active', 'awaiting_input',
                                   'complete', 'error')),
    stopped       boolean NOT NULL DEFAULT false,
    external_url  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- since when the agent owes an answer: opened, or last prompted
    waiting_since timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz
);

CREATE INDEX agent_sessions_task ON agent_sessions (task_id, created_at);

-- What the agent did (thought ... error) and what a person said to it
-- (prompt), in order.
CREATE TABLE agent_activities (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id  uuid NOT NULL REFERENCES agent_sessions (id)
                     ON DELETE CASCADE,
    type        text NOT NULL CHECK (type IN ('thought', 'action',
                                              'elicitation', 'response',
                                              'error', 'prompt')),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    author_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX agent_activities_session
    ON agent_activities (session_id, created_at);


CREATE FUNCTION agent_json(u users, a agents) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'name', u.name, 'kind', a.kind, 'builtin', a.builtin,
        'webhook_url', a.webhook_url,
        'handle', split_part(u.email, '@', 1),
        'active', u.status = 'active',
        'created_at', a.created_at, 'updated_at', a.updated_at)
$$;

-- The state shown: stale once 30 minutes pass without an activity while
-- the agent still owes one.
CREATE FUNCTION agent_session_state(s agent_sessions) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN s.state IN ('pending', 'active', 'awaiting_input')
             AND now() - coalesce(s.last_activity_at, s.created_at)
                 > interval '30 minutes'
        THEN 'stale' ELSE s.state END
$$;

CREATE FUNCTION agent_session_json(s agent_sessions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id, 'agent_id', s.agent_id,
        'agent_name', (SELECT name FROM users WHERE id = s.agent_id),
        'task_id', s.task_id,
        'opened_by', s.opened_by, 'comment_id', s.comment_id,
        'state', agent_session_state(s), 'stopped', s.stopped,
        'unresponsive', s.state = 'pending'
                        AND now() - s.waiting_since > interval '10 seconds',
        'external_url', s.external_url,
        'created_at', s.created_at, 'updated_at', s.updated_at,
        'activities', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', v.id, 'type', v.type, 'body', v.body,
                       'author_id', v.author_id, 'created_at', v.created_at)
                       ORDER BY v.created_at, v.id)
              FROM agent_activities v WHERE v.session_id = s.id), '[]'))
$$;


-- The session's event on the stream, for everyone who sees its project;
-- an audit row, whose id wakes the stream's feeds.
CREATE FUNCTION agent_session_told(sid uuid, actor uuid, act text,
                                   activity jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s    agent_sessions;
    pid  uuid;
    aid  bigint;
BEGIN
    SELECT * INTO s FROM agent_sessions WHERE id = sid;
    SELECT project_id INTO pid FROM tasks WHERE id = s.task_id;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values, project_id)
    VALUES (actor, 'agent_session', sid, act,
            jsonb_build_object('state', s.state), pid)
    RETURNING id INTO aid;

    IF activity IS NOT NULL THEN
        PERFORM event_add(aid, 'agent_activity.created', pid, NULL, true,
                          activity || jsonb_build_object('session_id', sid));
    END IF;

    PERFORM event_add(aid, 'agent_session.updated', pid, NULL, true,
                      agent_session_json(s));

    RETURN aid;
END
$$;

CREATE FUNCTION agent_session_open(aid uuid, tid uuid, how text, cid uuid,
                                   actor uuid)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    sid  uuid;
BEGIN
    INSERT INTO agent_sessions (agent_id, task_id, opened_by, comment_id)
    VALUES (aid, tid, how, cid)
    RETURNING id INTO sid;

    PERFORM agent_session_told(sid, actor, 'created', NULL);

    RETURN sid;
END
$$;


-- Delegation: PATCH /tasks/{id} {delegate_id}: an agent, or null. The
-- task's own update runs first (its rules, its version); a new delegate
-- then opens its session.
ALTER FUNCTION task_update_skilled(uuid, text, uuid, jsonb, int)
    RENAME TO task_update_undelegated;

CREATE FUNCTION task_update_skilled(actor uuid, role text, tid uuid, b jsonb,
                                    expected int)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r        record;
    agent    uuid;
    current  uuid;
BEGIN
    IF b ? 'delegate_id' AND b->'delegate_id' <> 'null'
       AND EXISTS (SELECT 1 FROM tasks WHERE id = tid)
       AND NOT EXISTS (SELECT 1 FROM agents a JOIN users u ON u.id = a.id
                        WHERE a.id::text = b->>'delegate_id'
                          AND u.status = 'active')
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'delegate_id is an agent of the workspace, or null.';
        RETURN;
    END IF;

    FOR r IN SELECT * FROM task_update_undelegated(actor, role, tid,
                                                   b - 'delegate_id',
                                                   expected)
    LOOP
        IF r.status = 200 AND b ? 'delegate_id' THEN
            agent := (b->>'delegate_id')::uuid;
            SELECT delegate_id INTO current FROM tasks WHERE id = tid;

            IF agent IS DISTINCT FROM current THEN
                UPDATE tasks SET delegate_id = agent WHERE id = tid;
                IF agent IS NOT NULL THEN
                    PERFORM agent_session_open(agent, tid, 'delegated', NULL,
                                               actor);
                END IF;
                r.body := (SELECT task_json(t)::text FROM tasks t
                            WHERE t.id = tid);
            END IF;
        END IF;

        RETURN QUERY SELECT r.status, r.body, r.extra;
    END LOOP;
END
$$;

-- A comment that @mentions an agent opens its session.
CREATE FUNCTION comments_mention_agents() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM agent_session_open(a.id, NEW.task_id, 'mentioned', NEW.id,
                               NEW.author_id)
       FROM comment_mentions(NEW.body) m JOIN agents a ON a.id = m;
    RETURN NULL;
END
$$;

CREATE TRIGGER comments_mention_agents
    AFTER INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_mention_agents();


-- An agent is told of its work by its sessions, never by notifications
-- (nor their email, to an address that cannot receive it).
CREATE FUNCTION notifications_not_for_agents() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM users WHERE id = NEW.user_id AND kind = 'agent')
    THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER notifications_not_for_agents
    BEFORE INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notifications_not_for_agents();


-- The body of a POST or PATCH: the message of its first wrong field, or
-- NULL. creating: name and kind are required.
CREATE FUNCTION agent_body_invalid(b jsonb, creating boolean,
                                   current_kind text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM jsonb_object_keys(b) k
                      WHERE k NOT IN ('name', 'kind', 'builtin',
                                      'webhook_url'))
        THEN 'An agent has name, kind, builtin and webhook_url only.'
        WHEN creating AND NOT b ? 'name' THEN 'name is required.'
        WHEN b ? 'name' AND (jsonb_typeof(b->'name') <> 'string'
                             OR length(trim(b->>'name')) NOT BETWEEN 1 AND 80
                             OR b->>'name' !~ '[[:alnum:]]')
        THEN 'name is 1 to 80 characters, with a letter or digit.'
        WHEN NOT creating AND b ? 'kind' AND b->>'kind' <> current_kind
        THEN 'An agent''s kind cannot change.'
        WHEN coalesce(b->>'kind', current_kind) NOT IN ('external', 'builtin')
             OR (b ? 'kind' AND jsonb_typeof(b->'kind') <> 'string')
        THEN 'kind is external or builtin.'
        WHEN coalesce(b->>'kind', current_kind) = 'builtin' AND creating
             AND coalesce(b->>'builtin', '') NOT IN ('breakdown', 'triage',
                                                     'digest')
        THEN 'builtin is breakdown, triage or digest.'
        WHEN coalesce(b->>'kind', current_kind) = 'external'
             AND b ? 'builtin' AND b->'builtin' <> 'null'
        THEN 'builtin is for builtin agents.'
        WHEN coalesce(b->>'kind', current_kind) = 'builtin'
             AND b ? 'webhook_url' AND b->'webhook_url' <> 'null'
        THEN 'webhook_url is for external agents.'
        WHEN b ? 'webhook_url' AND b->'webhook_url' <> 'null'
             AND (jsonb_typeof(b->'webhook_url') <> 'string'
                  OR b->>'webhook_url' !~ '^https?://[^/?#\s@]+([/?#]\S*)?$'
                  OR length(b->>'webhook_url') > 2000)
        THEN 'webhook_url is an http or https URL.'
        WHEN NOT creating AND b ? 'builtin'
        THEN 'An agent''s builtin cannot change.'
        END
$$;


CREATE FUNCTION agents_list() RETURNS TABLE (status int, body text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(agent_json(u, a) ORDER BY lower(u.name), a.id)
          FROM agents a JOIN users u ON u.id = a.id), '[]'),
        'next_cursor', NULL)::text
$$;


-- A handle for @mentions: the name in lower-case ASCII words, made unique
-- among members' handles with a number.
CREATE FUNCTION agent_handle(name text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    base  text := coalesce(nullif(trim(BOTH '-' FROM regexp_replace(
                      lower(name), '[^a-z0-9]+', '-', 'g')), ''), 'agent');
    h     text := left(base, 40);
    n     int := 1;
BEGIN
    WHILE EXISTS (SELECT 1 FROM users
                   WHERE lower(split_part(email, '@', 1)) = h) LOOP
        n := n + 1;
        h := left(base, 36) || '-' || n;
    END LOOP;
    RETURN h;
END
$$;


CREATE FUNCTION agent_create(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
DECLARE
    problem  text := agent_body_invalid(b, true, NULL);
    u        users;
    a        agents;
    token    text;
    j        jsonb;
    aid      bigint;
BEGIN
    IF problem IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', problem, NULL::bigint;
        RETURN;
    END IF;

    INSERT INTO users (email, name, role, status, kind)
    VALUES (agent_handle(b->>'name') || '@agents.invalid',
            trim(b->>'name'), 'contributor', 'active', 'agent')
    RETURNING * INTO u;

    INSERT INTO agents (id, kind, builtin, webhook_url, created_by)
    VALUES (u.id, b->>'kind', b->>'builtin',
            nullif(b->>'webhook_url', ''), actor)
    RETURNING * INTO a;

    j := agent_json(u, a);

    IF a.kind = 'external' THEN
        token := 'kbt_' || replace(gen_random_uuid()::text
                                   || gen_random_uuid()::text, '-', '');
        INSERT INTO api_tokens (user_id, name, scopes, token_hash)
        VALUES (u.id, 'agent', ARRAY['read', 'write'],
                encode(sha256(convert_to(token, 'UTF8')), 'hex'));
        j := j || jsonb_build_object('token', token);
    END IF;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'agent', u.id, 'created', agent_json(u, a))
    RETURNING id INTO aid;

    RETURN QUERY SELECT 201, j::text, '/api/v1/agents/' || u.id, aid;
END
$$;


CREATE FUNCTION agent_patch(actor uuid, aid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
DECLARE
    a        agents;
    u        users;
    problem  text;
BEGIN
    SELECT * INTO a FROM agents WHERE id = aid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    problem := agent_body_invalid(b, false, a.kind);
    IF problem IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', problem;
        RETURN;
    END IF;

    UPDATE users SET name = CASE WHEN b ? 'name' THEN trim(b->>'name')
                                 ELSE name END,
                     updated_at = now(), version = version + 1
     WHERE id = aid RETURNING * INTO u;

    UPDATE agents SET webhook_url = CASE WHEN b ? 'webhook_url'
                                         THEN b->>'webhook_url'
                                         ELSE webhook_url END,
                      updated_at = now()
     WHERE id = aid RETURNING * INTO a;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'agent', aid, 'updated', b);

    RETURN QUERY SELECT 200, agent_json(u, a)::text, NULL::text;
END
$$;


-- An agent removed: its sessions and token go with it; what it did stays
-- in the audit trail, with no actor.
CREATE FUNCTION agent_delete(actor uuid, aid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM users WHERE id = aid AND kind = 'agent';
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action)
    VALUES (actor, 'agent', aid, 'deleted');

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


CREATE FUNCTION agent_sessions_of_task(tid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(agent_session_json(s) ORDER BY s.created_at, s.id)
          FROM agent_sessions s WHERE s.task_id = tid), '[]'),
        'next_cursor', NULL)::text, NULL::text
      FROM tasks WHERE id = tid
$$;

CREATE FUNCTION agent_session_get(sid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE sql STABLE AS $$
    SELECT 200, agent_session_json(s)::text, NULL::text
      FROM agent_sessions s WHERE s.id = sid
$$;


-- The agent whose token the Authorization header carries, or NULL.
CREATE FUNCTION agent_of_token(auth_header text) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT u.id
      FROM api_tokens t JOIN users u ON u.id = t.user_id
     WHERE auth_header ~ '^Bearer kbt_[0-9a-f]{64}$'
       AND t.token_hash = encode(sha256(convert_to(
                              substr(auth_header, 8), 'UTF8')), 'hex')
       AND t.revoked_at IS NULL
       AND (t.expires_at IS NULL OR t.expires_at > now())
       AND u.kind = 'agent' AND u.status = 'active'
$$;


-- The agent reports: {type, body, external_url?}. Only the session's own
-- agent, by its token; the state follows the activity.
CREATE FUNCTION agent_activity_add(auth_header text, sid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
DECLARE
    agent  uuid := agent_of_token(auth_header);
    s      agent_sessions;
    v      agent_activities;
    aid    bigint;
BEGIN
    IF agent IS NULL THEN
        RETURN QUERY SELECT 401, 'unauthorized',
            'Send the agent''s own API token as Bearer.', NULL::bigint;
        RETURN;
    END IF;

    SELECT * INTO s FROM agent_sessions WHERE id = sid FOR UPDATE;
    IF NOT FOUND OR s.agent_id <> agent THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint;
        RETURN;
    END IF;

    IF b IS NULL OR jsonb_typeof(b) <> 'object'
       OR EXISTS (SELECT 1 FROM jsonb_object_keys(b) k
                   WHERE k NOT IN ('type', 'body', 'external_url'))
       OR coalesce(b->>'type', '') NOT IN ('thought', 'action',
                                           'elicitation', 'response',
                                           'error')
       OR jsonb_typeof(b->'body') IS DISTINCT FROM 'string'
       OR length(b->>'body') NOT BETWEEN 1 AND 20000
       OR (b ? 'external_url' AND (jsonb_typeof(b->'external_url') <> 'string'
           OR b->>'external_url' !~ '^https?://[^[:space:]]+$'))
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'An activity is {type: thought, action, elicitation, response'
            ' or error; body: 1 to 20000 characters; external_url}.',
            NULL::bigint;
        RETURN;
    END IF;

    IF s.stopped THEN
        RETURN QUERY SELECT 409, 'conflict',
            'A person stopped this session.', NULL::bigint;
        RETURN;
    END IF;

    INSERT INTO agent_activities (session_id, type, body, author_id)
    VALUES (sid, b->>'type', b->>'body', agent)
    RETURNING * INTO v;

    UPDATE agent_sessions
       SET state = CASE v.type WHEN 'elicitation' THEN 'awaiting_input'
                               WHEN 'response' THEN 'complete'
                               WHEN 'error' THEN 'error'
                               ELSE 'active' END,
           external_url = coalesce(b->>'external_url', external_url),
           last_activity_at = v.created_at, updated_at = now()
     WHERE id = sid;

    aid := agent_session_told(sid, agent, 'activity',
               jsonb_build_object('id', v.id, 'type', v.type,
                                  'body', v.body, 'author_id', v.author_id,
                                  'created_at', v.created_at));

    RETURN QUERY SELECT 201, jsonb_build_object(
        'id', v.id, 'type', v.type, 'body', v.body,
        'author_id', v.author_id, 'created_at', v.created_at)::text,
        NULL::text, aid;
END
$$;


-- A person answers the agent (prompt) or stops it.
CREATE FUNCTION agent_session_prompt(actor uuid, sid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
DECLARE
    s    agent_sessions;
    v    agent_activities;
    aid  bigint;
BEGIN
    SELECT * INTO s FROM agent_sessions WHERE id = sid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint;
        RETURN;
    END IF;

    IF s.stopped OR s.state IN ('complete', 'error') THEN
        RETURN QUERY SELECT 409, 'conflict',
            'This session has ended.', NULL::bigint;
        RETURN;
    END IF;

    INSERT INTO agent_activities (session_id, type, body, author_id)
    VALUES (sid, 'prompt', b->>'body', actor)
    RETURNING * INTO v;

    UPDATE agent_sessions
       SET state = 'pending', waiting_since = now(), updated_at = now()
     WHERE id = sid;

    aid := agent_session_told(sid, actor, 'prompted',
               jsonb_build_object('id', v.id, 'type', v.type,
                                  'body', v.body, 'author_id', v.author_id,
                                  'created_at', v.created_at));

    -- a built-in agent answers at once (defined below)
    PERFORM agent_builtin_prompted(sid, v.body, actor);

    RETURN QUERY SELECT 200, (SELECT agent_session_json(x)::text
                                FROM agent_sessions x WHERE x.id = sid),
                        NULL::text, aid;
END
$$;

CREATE FUNCTION agent_session_stop(actor uuid, sid uuid)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
DECLARE
    aid  bigint;
BEGIN
    UPDATE agent_sessions
       SET stopped = true, state = 'complete', updated_at = now()
     WHERE id = sid;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint;
        RETURN;
    END IF;

    aid := agent_session_told(sid, actor, 'stopped', NULL);

    RETURN QUERY SELECT 200, (SELECT agent_session_json(x)::text
                                FROM agent_sessions x WHERE x.id = sid),
                        NULL::text, aid;
END
$$;


-- The built-in breakdown agent, run by nginx through the LLM gateway
-- (ngx_kanban_agents_breakdown.c): a pending session of it is claimed
-- when its task's sessions are read (a lease of two minutes, so two
-- readers start one call), the model proposes subtasks (validated against
-- the schema in C) as an elicitation, and a person's "yes" creates them
-- as the task's subtasks, as that person.
ALTER TABLE agent_sessions ADD COLUMN proposal jsonb,
                           ADD COLUMN claimed_at timestamptz;

CREATE FUNCTION agent_builtin_claim(tid uuid)
RETURNS TABLE (session_id uuid, agent_id uuid, data text)
LANGUAGE sql AS $$
    WITH c AS (
        UPDATE agent_sessions s SET claimed_at = now()
          FROM agents a
         WHERE s.task_id = tid AND a.id = s.agent_id
           AND a.builtin = 'breakdown' AND s.state = 'pending'
           AND NOT s.stopped AND s.proposal IS NULL
           AND (s.claimed_at IS NULL
                OR s.claimed_at < now() - interval '2 minutes')
        RETURNING s.id, s.agent_id, s.task_id)
    SELECT c.id, c.agent_id, jsonb_build_object(
               'key', (SELECT key FROM projects WHERE id = t.project_id)
                      || '-' || t.number,
               'title', t.title, 'description', t.description)::text
      FROM c JOIN tasks t ON t.id = c.task_id
$$;

-- The model's answer (status: the gateway's name for how the call ended).
CREATE FUNCTION agent_breakdown_answer(sid uuid, status text, answer jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s     agent_sessions;
    v     agent_activities;
    kind  text := 'elicitation';
    body  text;
BEGIN
    SELECT * INTO s FROM agent_sessions WHERE id = sid FOR UPDATE;
    IF NOT FOUND OR s.stopped OR s.state <> 'pending' THEN
        RETURN NULL;
    END IF;

    IF status = 'completed' AND jsonb_typeof(answer->'subtasks') = 'array'
       AND jsonb_array_length(answer->'subtasks') > 0
    THEN
        body := 'I propose these subtasks:' || E'\n' || (
            SELECT string_agg(format('%s. %s (%s min). Done when: %s', n,
                                     x->>'title', x->>'estimate_minutes',
                                     x->>'acceptance_criteria'), E'\n'
                              ORDER BY n)
              FROM jsonb_array_elements(answer->'subtasks')
                   WITH ORDINALITY AS e(x, n))
            || E'\n' || 'Answer "yes" to create them as subtasks.';
        UPDATE agent_sessions SET proposal = answer->'subtasks' WHERE id = sid;
    ELSE
        kind := 'error';
        body := CASE status
            WHEN 'not_configured' THEN 'No language model is configured '
                'for this workspace: an admin can choose one in Admin → AI.'
            WHEN 'disabled' THEN 'The workspace''s AI settings do not let '
                'agents use the model.'
            WHEN 'budget_exhausted' THEN 'The workspace''s AI budget for '
                'this month is spent.'
            ELSE 'The model gave no usable answer (' || status || ').' END;
    END IF;

    INSERT INTO agent_activities (session_id, type, body, author_id)
    VALUES (sid, kind, left(body, 20000), s.agent_id)
    RETURNING * INTO v;

    UPDATE agent_sessions
       SET state = CASE kind WHEN 'error' THEN 'error'
                             ELSE 'awaiting_input' END,
           last_activity_at = v.created_at, updated_at = now()
     WHERE id = sid;

    RETURN agent_session_told(sid, s.agent_id, 'activity',
               jsonb_build_object('id', v.id, 'type', v.type,
                                  'body', v.body, 'author_id', v.author_id,
                                  'created_at', v.created_at));
END
$$;

-- A person's answer to the breakdown's proposal: "yes" creates the
-- subtasks as that person (their role's rules hold), anything else
-- declines; either way the session is complete.
CREATE FUNCTION agent_builtin_prompted(sid uuid, answer text, actor uuid)
RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    s        agent_sessions;
    t        tasks;
    x        jsonb;
    r        record;
    made     int := 0;
    v        agent_activities;
    body     text;
BEGIN
    SELECT * INTO s FROM agent_sessions WHERE id = sid;
    IF s.proposal IS NULL
       OR NOT EXISTS (SELECT 1 FROM agents
                       WHERE id = s.agent_id AND builtin = 'breakdown')
    THEN
        RETURN;
    END IF;

    SELECT * INTO t FROM tasks WHERE id = s.task_id;

    IF answer ~* '^\s*(yes|y|ok|accept|create)\M' THEN
        FOR x IN SELECT * FROM jsonb_array_elements(s.proposal) LOOP
            FOR r IN SELECT * FROM task_create_skilled(
                         actor, (SELECT role FROM users WHERE id = actor),
                         t.project_id, jsonb_build_object(
                             'title', left(x->>'title', 500),
                             'description', 'Done when: '
                                 || (x->>'acceptance_criteria'),
                             'estimate_minutes', (x->>'estimate_minutes')::int,
                             'parent_id', t.id))
            LOOP
                IF r.status = 201 THEN
                    made := made + 1;
                END IF;
            END LOOP;
        END LOOP;
        body := format('Created %s subtasks.', made);
    ELSE
        body := 'Understood: no subtasks created.';
    END IF;

    INSERT INTO agent_activities (session_id, type, body, author_id)
    VALUES (sid, 'response', body, s.agent_id)
    RETURNING * INTO v;

    UPDATE agent_sessions
       SET state = 'complete', last_activity_at = v.created_at,
           updated_at = now()
     WHERE id = sid;

    PERFORM agent_session_told(sid, s.agent_id, 'activity',
                jsonb_build_object('id', v.id, 'type', v.type,
                                   'body', v.body, 'author_id', v.author_id,
                                   'created_at', v.created_at));
END
$$;
