-- Sign-in with GitHub and with any OpenID Connect issuer, configured by
-- the workspace's admins.
--
-- A provider's client secret is stored as webhooks' secrets are ("v1:"
-- and the AES-256-GCM sealed secret when nginx has kanban_webhooks_key),
-- or named as a file in the directory the operator allows
-- (kanban_oauth_secret_dir); it is never answered.
--
-- A sign-in in flight is a row of oauth_states: the SHA-256 of the state
-- sent to the provider (how the callback finds it) and of the handle in
-- the browser's cookie (what binds it to that browser), the PKCE verifier
-- and the OIDC nonce, which never leave the server. A row is deleted as
-- the callback reads it (single use) and is good for ten minutes.
--
-- A person signed in by a provider is matched by (provider, subject) from
-- then on: user_identities.

CREATE TABLE auth_providers (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug           text NOT NULL UNIQUE
                   CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    kind           text NOT NULL CHECK (kind IN ('github', 'oidc')),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    issuer         text CHECK (issuer ~ '^https?://[^/?#\s@]+(/\S*)?$'
                               AND length(issuer) <= 500),
    client_id      text NOT NULL
                   CHECK (length(client_id) BETWEEN 1 AND 200),
    client_secret  text,
    secret_file    text CHECK (secret_file ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
    scopes         text NOT NULL
                   CHECK (scopes ~ '^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$'
                          AND length(scopes) <= 500),
    enabled        boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'oidc' OR issuer IS NOT NULL),
    CHECK (client_secret IS NOT NULL OR secret_file IS NOT NULL)
);

CREATE TABLE user_identities (
    provider_id  uuid NOT NULL REFERENCES auth_providers (id)
                 ON DELETE CASCADE,
    subject      text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_id, subject)
);

CREATE INDEX user_identities_user ON user_identities (user_id);

CREATE TABLE oauth_states (
    state_hash    text PRIMARY KEY,
    binding_hash  text NOT NULL,
    provider_id   uuid NOT NULL REFERENCES auth_providers (id)
                  ON DELETE CASCADE,
    verifier      text NOT NULL,
    nonce         text NOT NULL,
    return_to     text NOT NULL DEFAULT '/',
    expires_at    timestamptz NOT NULL
                  DEFAULT now() + interval '10 minutes'
);

CREATE INDEX oauth_states_expires ON oauth_states (expires_at);


-- What an admin sees: the secret only as whether there is one.
CREATE FUNCTION auth_provider_json(p auth_providers) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', p.id, 'slug', p.slug, 'kind', p.kind, 'name', p.name,
               'issuer', p.issuer, 'client_id', p.client_id,
               'client_secret_set', p.client_secret IS NOT NULL,
               'secret_file', p.secret_file, 'scopes', p.scopes,
               'enabled', p.enabled,
               'created_at', p.created_at, 'updated_at', p.updated_at)
$$;


-- A provider as the body says (a new one, or one changed): what is wrong
-- with it, or NULL. The table's checks say the same, later and less
-- clearly.
CREATE FUNCTION auth_provider_problem(b jsonb, old auth_providers)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    kind    text := coalesce(b->>'kind', old.kind);
    issuer  text := CASE WHEN b ? 'issuer' THEN b->>'issuer'
                         ELSE old.issuer END;
    secret  boolean := CASE WHEN b ? 'client_secret'
                            THEN b->>'client_secret' IS NOT NULL
                            ELSE old.client_secret IS NOT NULL END;
    file    boolean := CASE WHEN b ? 'secret_file'
                            THEN b->>'secret_file' IS NOT NULL
                            ELSE old.secret_file IS NOT NULL END;
BEGIN
    IF kind NOT IN ('github', 'oidc') THEN
        RETURN 'kind: github or oidc.';
    END IF;
    IF b ? 'slug' AND (b->>'slug') !~ '^[a-z0-9][a-z0-9-]{0,39}$' THEN
        RETURN 'slug: lower-case letters, digits and hyphens, up to 40.';
    END IF;
    IF kind = 'oidc' AND issuer IS NULL THEN
        RETURN 'issuer: an OIDC provider needs its issuer URL.';
    END IF;
    IF issuer IS NOT NULL
       AND issuer !~ '^https?://[^/?#\s@]+(/\S*)?$' THEN
        RETURN 'issuer: an http(s) URL with a host, no user or password.';
    END IF;
    IF b ? 'secret_file'
       AND (b->>'secret_file') !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' THEN
        RETURN 'secret_file: a file name in the directory the operator '
               'allows (kanban_oauth_secret_dir), no path.';
    END IF;
    IF b ? 'scopes' AND (b->>'scopes') !~
           '^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$' THEN
        RETURN 'scopes: scope tokens separated by single spaces.';
    END IF;
    IF kind = 'oidc' AND b ? 'scopes'
       AND NOT 'openid' = ANY (string_to_array(b->>'scopes', ' ')) THEN
        RETURN 'scopes: an OIDC sign-in asks for openid.';
    END IF;
    IF NOT coalesce(secret, false) AND NOT coalesce(file, false) THEN
        RETURN 'client_secret or secret_file: a provider needs one.';
    END IF;
    RETURN NULL;
END
$$;


-- The sign-in after a provider said who the person is: by the identity
-- they used before; else by a verified email, linking an active account
-- or accepting a pending invitation; else a new account when the
-- workspace has open registration. The refresh token's hash is stored
-- for the user found.
--
-- outcome: ok, email_unverified, not_invited, account_disabled.
CREATE FUNCTION oauth_sign_in(provider uuid, sub text, mail text,
                              verified boolean, full_name text,
                              token_hash text,
                              OUT outcome text, OUT user_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    u     users;
    open  boolean;
BEGIN
    SELECT users.* INTO u
      FROM user_identities i JOIN users ON users.id = i.user_id
     WHERE i.provider_id = provider AND i.subject = sub;

    IF FOUND THEN
        UPDATE user_identities SET last_used_at = now()
         WHERE provider_id = provider AND subject = sub;
    ELSE
        IF mail IS NULL OR NOT verified THEN
            outcome := 'email_unverified';
            RETURN;
        END IF;

        SELECT * INTO u FROM users WHERE lower(email) = lower(mail);

        IF NOT FOUND THEN
            open := coalesce((SELECT value = 'true'::jsonb FROM settings
                               WHERE key = 'open_registration'), false);
            IF NOT open THEN
                outcome := 'not_invited';
                RETURN;
            END IF;

            INSERT INTO users (email, name)
            VALUES (mail, coalesce(nullif(left(full_name, 200), ''),
                                   split_part(mail, '@', 1)))
            RETURNING * INTO u;

            INSERT INTO activity_log (actor_id, entity_type, entity_id,
                                      action, new_values)
            VALUES (u.id, 'user', u.id, 'registered',
                    jsonb_build_object('email', u.email,
                                       'provider', provider));

        ELSIF u.status = 'invited'
              AND coalesce(u.invite_expires_at > now(), true) THEN
            UPDATE users SET status = 'active', invite_hash = NULL,
                             invite_expires_at = NULL,
                             updated_at = now(), version = version + 1
             WHERE id = u.id
            RETURNING * INTO u;

            INSERT INTO activity_log (actor_id, entity_type, entity_id,
                                      action, new_values)
            VALUES (u.id, 'user', u.id, 'invite_accepted',
                    jsonb_build_object('provider', provider));
        END IF;

        IF u.status <> 'active' THEN
            outcome := 'account_disabled';
            RETURN;
        END IF;

        INSERT INTO user_identities (provider_id, subject, user_id, email)
        VALUES (provider, sub, u.id, mail);

        INSERT INTO activity_log (actor_id, entity_type, entity_id,
                                  action, new_values)
        VALUES (u.id, 'user', u.id, 'identity_linked',
                jsonb_build_object('provider', provider, 'subject', sub));
    END IF;

    IF u.status <> 'active' THEN
        outcome := 'account_disabled';
        RETURN;
    END IF;

    INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
    VALUES (u.id, gen_random_uuid(), token_hash,
            now() + interval '30 days');

    outcome := 'ok';
    user_id := u.id;
END
$$;


-- The same, as the error an API statement answers with (422). Volatile,
-- so that a statement always calls it.
CREATE FUNCTION auth_provider_check(b jsonb, old auth_providers)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    m  text := auth_provider_problem(b, old);
BEGIN
    IF m IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB422', MESSAGE = m;
    END IF;
    RETURN true;
END
$$;


-- The sign-in policy: the workspace's admins may turn password sign-in
-- off once a provider signs people in (settings' sign_in_password). It
-- holds only while one is enabled, so that disabling or deleting the last
-- provider never leaves a workspace nobody can enter.
CREATE FUNCTION sign_in_password_allowed() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT (coalesce((SELECT value = 'false'::jsonb FROM settings
                           WHERE key = 'sign_in_password'), false)
                AND EXISTS (SELECT 1 FROM auth_providers WHERE enabled))
$$;
