-- Multi-factor sign-in for a workspace's people (TOTP, RFC 6238).
--
-- user_mfa: a person's authenticator secret, sealed with AES-GCM by the
-- module (kanban_webhooks_key) before it gets here; pending until a first
-- code confirms it (enabled_at), and the last time step accepted, so that
-- a code is never good twice. mfa_recovery_codes: ten single-use codes,
-- kept as SHA-256 (each has 120 random bits). mfa_challenges: the second
-- step of a sign-in, a 256-bit token kept as SHA-256, good for 5 minutes,
-- for 5 wrong codes, and once.

CREATE TABLE user_mfa (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret      text NOT NULL,
    last_step   bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    enabled_at  timestamptz
);

CREATE TABLE mfa_recovery_codes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    token_hash  text PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    attempts    int NOT NULL DEFAULT 0,
    used_at     timestamptz
);

CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);


-- A recovery code as typed: case, spaces and dashes do not matter.
CREATE FUNCTION mfa_recovery_hash(code text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(
               upper(regexp_replace(code, '[^A-Za-z0-9]', '', 'g')),
               'UTF8')), 'hex')
$$;


-- The second step of a sign-in, all at once: the challenge must be live;
-- step is the TOTP step the module matched (NULL when the code was wrong
-- or none came) and must be after the last one used; or recovery is a
-- code not used yet. Right: the challenge and the code are spent and the
-- refresh token stored (outcome 'ok' with the row a password sign-in
-- answers). Wrong: the challenge counts it (dead after 5) and so does the
-- account's sign-in throttle (login_failures). Dead or unknown: 'dead'.
CREATE FUNCTION mfa_sign_in(challenge text, step bigint, recovery text,
                            token_hash text, agent text, addr inet,
                            lifetime int,
                            OUT outcome text, OUT user_id uuid,
                            OUT role text, OUT teams json, OUT person json)
LANGUAGE plpgsql AS $$
DECLARE
    c   mfa_challenges;
    u   users;
    ok  boolean := false;
BEGIN
    SELECT * INTO c FROM mfa_challenges m
     WHERE m.token_hash = challenge FOR UPDATE;

    IF NOT FOUND OR c.used_at IS NOT NULL OR c.expires_at <= now()
       OR c.attempts >= 5
    THEN
        outcome := 'dead';
        RETURN;
    END IF;

    SELECT * INTO u FROM users WHERE id = c.user_id;

    IF u.status <> 'active' THEN
        UPDATE mfa_challenges SET used_at = now()
         WHERE mfa_challenges.token_hash = challenge;
        outcome := 'dead';
        RETURN;
    END IF;

    IF step IS NOT NULL THEN
        UPDATE user_mfa m SET last_step = step
         WHERE m.user_id = c.user_id AND m.enabled_at IS NOT NULL
           AND m.last_step < step;
        ok := FOUND;

    ELSIF recovery IS NOT NULL THEN
        UPDATE mfa_recovery_codes r SET used_at = now()
         WHERE r.user_id = c.user_id AND r.used_at IS NULL
           AND r.code_hash = mfa_recovery_hash(recovery);
        ok := FOUND;
    END IF;

    IF NOT ok THEN
        UPDATE mfa_challenges SET attempts = attempts + 1
         WHERE mfa_challenges.token_hash = challenge;
        INSERT INTO login_failures (email, addr) VALUES (u.email, mfa_sign_in.addr);
        outcome := CASE WHEN c.attempts + 1 >= 5 THEN 'dead' ELSE 'wrong' END;
        RETURN;
    END IF;

    UPDATE mfa_challenges SET used_at = now()
     WHERE mfa_challenges.token_hash = challenge;
    DELETE FROM login_failures WHERE lower(email) = lower(u.email);
    DELETE FROM mfa_challenges
     WHERE mfa_challenges.expires_at < now() - interval '1 day';

    INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at,
                                user_agent, address)
    VALUES (u.id, gen_random_uuid(), mfa_sign_in.token_hash,
            now() + least(interval '30 days', make_interval(secs => lifetime)),
            left(agent, 256), mfa_sign_in.addr);

    IF recovery IS NOT NULL THEN
        INSERT INTO activity_log (actor_id, entity_type, entity_id, action)
        VALUES (u.id, 'user', u.id, 'mfa_recovery_code_used');
    END IF;

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


-- An erased person (GDPR, DELETE /api/v1/users/{id}?erase=true) keeps
-- no second factor: the users module need not know of this one.
CREATE FUNCTION mfa_forget_erased() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM user_mfa WHERE user_id = NEW.id;
    DELETE FROM mfa_recovery_codes WHERE user_id = NEW.id;
    DELETE FROM mfa_challenges WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_erased_mfa AFTER UPDATE OF status ON users
    FOR EACH ROW WHEN (NEW.status = 'erased')
    EXECUTE FUNCTION mfa_forget_erased();
