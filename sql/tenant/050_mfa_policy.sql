-- The workspace's two-factor policy, and the enrolment it forces at
-- sign-in.
--
-- settings 'mfa_required': "off" (the default), "admins" or "everyone".
-- A person it covers whose authenticator is not on gets, for a right
-- password (or a provider's sign-in), no session but an enrolment
-- session: a bearer token (kbe_..., 256 bits, kept as SHA-256) good for
-- 15 minutes, 5 wrong codes and one finished enrolment, that only the
-- enrolment routes take (modules/auth/ngx_kanban_mfa_enrolment.c).

CREATE TABLE mfa_enrolments (
    token_hash  text PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL DEFAULT now() + interval '15 minutes',
    attempts    int NOT NULL DEFAULT 0,
    used_at     timestamptz
);

CREATE INDEX mfa_enrolments_user ON mfa_enrolments (user_id);


CREATE FUNCTION mfa_policy() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT value #>> '{}' FROM settings
                      WHERE key = 'mfa_required'), 'off')
$$;


-- Whether the policy makes this person enrol before any session.
-- VOLATILE: asked in the statement of a provider's sign-in, it must see
-- the account oauth_sign_in() has just made (a STABLE function would
-- read the statement's snapshot, from before).
CREATE FUNCTION mfa_policy_covers(uid uuid) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT CASE mfa_policy()
               WHEN 'everyone' THEN true
               WHEN 'admins' THEN u.role = 'admin'
               ELSE false END
           AND NOT EXISTS (SELECT 1 FROM user_mfa m
                            WHERE m.user_id = u.id
                              AND m.enabled_at IS NOT NULL)
      FROM users u WHERE u.id = uid
$$;


-- A live enrolment session's person, or none.
CREATE FUNCTION mfa_enrolment_user(token text) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT e.user_id FROM mfa_enrolments e JOIN users u ON u.id = e.user_id
     WHERE e.token_hash = token AND e.used_at IS NULL
       AND e.expires_at > now() AND e.attempts < 5 AND u.status = 'active'
$$;


-- The enrolment's end, all at once: the pending authenticator on at the
-- step the module matched (NULL: the code was wrong, which is counted),
-- its recovery codes stored, the enrolment session spent and the refresh
-- token of the full session stored. outcome: ok, wrong or dead.
CREATE FUNCTION mfa_enrolment_finish(token text, step bigint,
                                     recovery jsonb, refresh_hash text,
                                     agent text, addr inet, lifetime int,
                                     OUT outcome text, OUT user_id uuid,
                                     OUT role text, OUT teams json,
                                     OUT person json)
LANGUAGE plpgsql AS $$
DECLARE
    uid  uuid := mfa_enrolment_user(token);
    u    users;
BEGIN
    IF uid IS NULL THEN
        outcome := 'dead';
        RETURN;
    END IF;

    PERFORM 1 FROM mfa_enrolments e WHERE e.token_hash = token FOR UPDATE;

    IF step IS NULL OR NOT EXISTS (
           SELECT 1 FROM user_mfa m
            WHERE m.user_id = uid AND m.enabled_at IS NULL
              AND m.last_step < step)
    THEN
        UPDATE mfa_enrolments e SET attempts = attempts + 1
         WHERE e.token_hash = token;
        outcome := 'wrong';
        RETURN;
    END IF;

    UPDATE user_mfa m SET enabled_at = now(), last_step = step
     WHERE m.user_id = uid;
    DELETE FROM mfa_recovery_codes r WHERE r.user_id = uid;
    INSERT INTO mfa_recovery_codes (user_id, code_hash)
    SELECT uid, mfa_recovery_hash(x)
      FROM jsonb_array_elements_text(recovery) x;

    UPDATE mfa_enrolments e SET used_at = now() WHERE e.token_hash = token;
    DELETE FROM mfa_enrolments e
     WHERE e.expires_at < now() - interval '1 day';

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (uid, 'user', uid, 'mfa_enabled',
            jsonb_build_object('at_sign_in', true));

    SELECT * INTO u FROM users WHERE id = uid;

    INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at,
                                user_agent, address)
    VALUES (u.id, gen_random_uuid(), refresh_hash,
            now() + least(interval '30 days', make_interval(secs => lifetime)),
            left(agent, 256), addr);

    outcome := 'ok';
    user_id := u.id;
    role := u.role;
    teams := coalesce((SELECT json_agg(tm.team_id ORDER BY tm.team_id)
                         FROM team_members tm WHERE tm.user_id = u.id),
                      '[]'::json);
    person := json_build_object('id', u.id, 'email', u.email,
                                'name', u.name, 'role', u.role);
END
$$;


-- An erased person keeps no enrolment session either.
CREATE FUNCTION mfa_enrolments_forget_erased() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM mfa_enrolments WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_erased_mfa_enrolments AFTER UPDATE OF status ON users
    FOR EACH ROW WHEN (NEW.status = 'erased')
    EXECUTE FUNCTION mfa_enrolments_forget_erased();
