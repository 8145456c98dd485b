-- Scopes for what an external agent may change (modules/agents, issue 23).
--
-- An agent's scopes are those of API tokens (API.md): read (GET) and
-- write (any method); never admin. With none, its token is no identity,
-- as before: it reports its sessions' activities and opens no other route
-- (403). With some, its token stands for the agent's user, a contributor,
-- bounded by the scopes as any token is (the core's verifier), so it
-- changes tasks through the normal API under the contributor's rules, and
-- each change is in the activity log as the agent's. A contributor
-- changes the tasks assigned to it or reported by it; an agent also
-- changes the tasks delegated to it.
--
-- The scopes live on the agent, not on its token row: api_tokens keeps
-- at least one scope per token, and the token stays the same when an
-- admin changes what the agent may do.

ALTER TABLE agents ADD COLUMN scopes text[] NOT NULL DEFAULT '{}'
    CHECK (scopes <@ ARRAY['read', 'write'] AND (kind = 'external'
                                                 OR cardinality(scopes) = 0));


-- What a token may do: an agent's scopes are its agent's.
CREATE FUNCTION token_scopes(t api_tokens, u users) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE u.kind
        WHEN 'agent' THEN coalesce((SELECT a.scopes FROM agents a
                                     WHERE a.id = u.id), '{}')
        ELSE t.scopes END
$$;


CREATE OR REPLACE FUNCTION can_change_task(actor uuid, role text, task uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT role IN ('admin', 'project_manager')
        OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = task
                      AND (t.reporter_id = actor OR t.delegate_id = actor))
        OR EXISTS (SELECT 1 FROM task_assignees a WHERE a.task_id = task
                      AND a.user_id = actor)
$$;


CREATE OR REPLACE FUNCTION agent_json(u users, a agents) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'name', u.name, 'kind', a.kind, 'builtin', a.builtin,
        'webhook_url', a.webhook_url,
        'handle', split_part(u.email, '@', 1),
        'active', u.status = 'active',
        'scopes', to_jsonb(a.scopes),
        'created_at', a.created_at, 'updated_at', a.updated_at)
$$;


-- The scopes of a body, as stored (sorted, distinct), or NULL when they
-- are not a list of read and write.
CREATE FUNCTION agent_scopes_of(b jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(b->'scopes') = 'array'
                 AND NOT EXISTS (
                     SELECT 1 FROM jsonb_array_elements(b->'scopes') e
                      WHERE e NOT IN ('"read"', '"write"'))
           THEN (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}')
                   FROM jsonb_array_elements_text(b->'scopes') x)
           END
$$;

CREATE FUNCTION agent_scopes_invalid(b jsonb, kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN NOT b ? 'scopes' THEN NULL
        WHEN agent_scopes_of(b) IS NULL
        THEN 'scopes is a list of read and write (an agent is never admin).'
        WHEN kind <> 'external' AND cardinality(agent_scopes_of(b)) > 0
        THEN 'scopes are for external agents.'
        END
$$;


-- An agent added with its scopes (none unless given).
ALTER FUNCTION agent_create_signed(uuid, jsonb, text, text)
    RENAME TO agent_create_signed_unscoped;

CREATE FUNCTION agent_create_signed(actor uuid, b jsonb, secret text,
                                    sealed text)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r        record;
    problem  text := agent_scopes_invalid(b, coalesce(b->>'kind', ''));
BEGIN
    IF problem IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', problem, NULL::bigint;
        RETURN;
    END IF;

    FOR r IN SELECT * FROM agent_create_signed_unscoped(actor, b - 'scopes',
                                                        secret, sealed)
    LOOP
        IF r.status = 201 AND b ? 'scopes' THEN
            UPDATE agents SET scopes = agent_scopes_of(b)
             WHERE id = (r.body::jsonb->>'id')::uuid;
            r.body := (r.body::jsonb || jsonb_build_object(
                           'scopes', to_jsonb(agent_scopes_of(b))))::text;
        END IF;
        RETURN QUERY SELECT r.status, r.body, r.extra, r.activity;
    END LOOP;
END
$$;


-- An admin changes what the agent may do; the change is in the audit
-- trail with the rest of the PATCH.
ALTER FUNCTION agent_patch(uuid, uuid, jsonb) RENAME TO agent_patch_unscoped;

CREATE FUNCTION agent_patch(actor uuid, aid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r        record;
    problem  text := agent_scopes_invalid(b,
                         coalesce((SELECT kind FROM agents WHERE id = aid),
                                  ''));
BEGIN
    IF problem IS NOT NULL
       AND EXISTS (SELECT 1 FROM agents WHERE id = aid)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed', problem;
        RETURN;
    END IF;

    FOR r IN SELECT * FROM agent_patch_unscoped(actor, aid, b - 'scopes') LOOP
        IF r.status = 200 AND b ? 'scopes' THEN
            UPDATE agents SET scopes = agent_scopes_of(b) WHERE id = aid;
            UPDATE activity_log SET new_values = b
             WHERE id = (SELECT max(id) FROM activity_log
                          WHERE entity_type = 'agent' AND entity_id = aid);
            r.body := (SELECT agent_json(u, a)::text
                         FROM agents a JOIN users u ON u.id = a.id
                        WHERE a.id = aid);
        END IF;
        RETURN QUERY SELECT r.status, r.body, r.extra;
    END LOOP;
END
$$;
