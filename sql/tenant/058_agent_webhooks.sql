-- An external agent's signed webhooks (modules/agents, issue 23): it is
-- told agent_session.created when a session opens for it and
-- agent_session.prompted when a person answers it, through the webhooks'
-- own outbox, signing, retries and disabling (018_webhooks.sql).
--
-- Its receiver is a row of webhooks bound to the agent (agent_id), kept
-- in step with the agent's webhook_url and secret by a trigger, and left
-- out of the admins' list of webhooks. Its events are the two above, which
-- the stream never carries, so events_webhooks() queues nothing to it:
-- the agent's deliveries are queued here, for its own sessions only.
--
-- webhook_secret: drawn and sealed by the module (kanban_webhooks_key) as
-- a webhook's is, answered once when the agent is added.

ALTER TABLE agents ADD COLUMN webhook_secret text;

ALTER TABLE webhooks ADD COLUMN agent_id uuid UNIQUE
    REFERENCES agents (id) ON DELETE CASCADE;


CREATE FUNCTION agents_webhook_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.webhook_url IS NULL OR NEW.webhook_secret IS NULL THEN
        DELETE FROM webhooks WHERE agent_id = NEW.id;
    ELSE
        INSERT INTO webhooks (url, events, secret, agent_id, created_by)
        VALUES (NEW.webhook_url,
                ARRAY['agent_session.created', 'agent_session.prompted'],
                NEW.webhook_secret, NEW.id, NEW.created_by)
        ON CONFLICT (agent_id) DO UPDATE
           SET url = excluded.url, secret = excluded.secret,
               enabled = true, disabled_reason = NULL, failing_since = NULL,
               updated_at = now();
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER agents_webhook_sync
    AFTER INSERT OR UPDATE OF webhook_url, webhook_secret ON agents
    FOR EACH ROW EXECUTE FUNCTION agents_webhook_sync();


-- What an external agent is told: its session, the task as data, and the
-- person's prompt when there is one.
CREATE FUNCTION agent_webhook_data(sid uuid, prompt agent_activities)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'session', agent_session_json(s),
        'task', jsonb_build_object(
            'id', t.id,
            'key', (SELECT key FROM projects WHERE id = t.project_id)
                   || '-' || t.number,
            'title', t.title, 'description', t.description,
            'project_id', t.project_id),
        'prompt', CASE WHEN prompt.id IS NOT NULL THEN jsonb_build_object(
                           'type', prompt.type,
                           'id', prompt.id, 'body', prompt.body,
                           'author_id', prompt.author_id,
                           'created_at', prompt.created_at) END)
      FROM agent_sessions s JOIN tasks t ON t.id = s.task_id
     WHERE s.id = sid
$$;

CREATE FUNCTION agent_sessions_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_enqueue(w.id, NULL, 'agent_session.created',
                            agent_webhook_data(NEW.id, NULL), now())
       FROM webhooks w WHERE w.agent_id = NEW.agent_id AND w.enabled;
    RETURN NULL;
END
$$;

CREATE TRIGGER agent_sessions_webhook
    AFTER INSERT ON agent_sessions
    FOR EACH ROW EXECUTE FUNCTION agent_sessions_webhook();

CREATE FUNCTION agent_prompts_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_enqueue(w.id, NULL, 'agent_session.prompted',
                            agent_webhook_data(NEW.session_id, NEW), now())
       FROM webhooks w
       JOIN agent_sessions s ON s.agent_id = w.agent_id
      WHERE s.id = NEW.session_id AND w.enabled;
    RETURN NULL;
END
$$;

CREATE TRIGGER agent_prompts_webhook
    AFTER INSERT ON agent_activities
    FOR EACH ROW WHEN (NEW.type = 'prompt')
    EXECUTE FUNCTION agent_prompts_webhook();


-- An agent added: an external one's webhook secret (as given, answered
-- once; sealed, as stored) besides its token.
CREATE FUNCTION agent_create_signed(actor uuid, b jsonb, secret text,
                                    sealed text)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r  record;
BEGIN
    FOR r IN SELECT * FROM agent_create(actor, b) LOOP
        IF r.status = 201 AND b->>'kind' = 'external' THEN
            UPDATE agents SET webhook_secret = sealed
             WHERE id = (r.body::jsonb->>'id')::uuid;
            r.body := (r.body::jsonb
                       || jsonb_build_object('webhook_secret', secret))::text;
        END IF;
        RETURN QUERY SELECT r.status, r.body, r.extra, r.activity;
    END LOOP;
END
$$;
