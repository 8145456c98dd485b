-- A sign-in through GitHub or an OpenID Connect issuer (021) is a session
-- like a password's (033): the person's list of sessions shows its
-- browser and address, and its first refresh token expires within
-- kanban_session_lifetime as a password sign-in's does. The function
-- takes them beside the refresh token's hash; the one of 021, which a
-- node not yet upgraded still calls, goes on working and records neither.

CREATE FUNCTION oauth_sign_in(provider uuid, sub text, mail text,
                              verified boolean, full_name text,
                              token_hash text, agent text, addr inet,
                              lifetime int,
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

    INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at,
                                user_agent, address)
    VALUES (u.id, gen_random_uuid(), token_hash,
            now() + least(interval '30 days',
                          make_interval(secs => coalesce(lifetime,
                                                         30 * 86400))),
            left(agent, 256), addr);

    outcome := 'ok';
    user_id := u.id;
END
$$;
