-- The portal: one person, many workspaces (API.md "Portal and operators").
--
-- The catalog keeps a directory of which address is a member where
-- (catalog 012 portal_members, by the SHA-256 of the lower-cased
-- address), so that "find my workspaces" is one indexed read however
-- many workspaces there are. A workspace cannot write to the catalog
-- (another database, perhaps another server): each change to a person's
-- address, status or verification, and to the email-link policy, is
-- queued here by a trigger in the transaction of the write, and nginx
-- takes the queue to the catalog (modules/portal/, portal_directory_*),
-- deleting what it applied. A change is never lost: a failed apply
-- leaves it queued; the catalog applies each id once, in order
-- (portal_directory_applied), however often it is read.
--
-- "Once, in order" needs the ids to be given in the order of commits:
-- otherwise a transaction that took id 10 and committed after another's
-- id 11 was read and applied would be skipped. So the triggers run at
-- commit (deferred, as the events' numbering of 017) and take the
-- workspace's events lock before their id: the queue's committed ids are
-- always a prefix. Taken at commit, as every write with an audit row
-- takes it anyway, the lock waits for no row lock (040).

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

CREATE FUNCTION portal_address_hash(address text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(lower(btrim(address)), 'UTF8')), 'hex')
$$;

-- Sign-in by an emailed link: off until an admin turns it on.
CREATE FUNCTION sign_in_email_link_allowed() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT value = 'true'::jsonb FROM settings
                      WHERE key = 'sign_in_email_link'), false)
$$;

CREATE TABLE portal_directory_changes (
    id          bigserial PRIMARY KEY,
    change      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION portal_user_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('kanban events'));
    INSERT INTO portal_directory_changes (change)
    VALUES (jsonb_build_object(
        'kind', 'member',
        'old', CASE WHEN TG_OP <> 'INSERT'
                    THEN portal_address_hash(OLD.email) END,
        'new', CASE WHEN TG_OP <> 'DELETE' AND NEW.status = 'active'
                    THEN portal_address_hash(NEW.email) END,
        'verified', TG_OP <> 'DELETE' AND NEW.email_verified_at IS NOT NULL));
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER users_portal_directory
    AFTER INSERT OR DELETE OR UPDATE OF email, status, email_verified_at
    ON users DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portal_user_changed();

CREATE FUNCTION portal_policy_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(NEW.key, OLD.key) = 'sign_in_email_link' THEN
        PERFORM pg_advisory_xact_lock(hashtext('kanban events'));
        INSERT INTO portal_directory_changes (change)
        VALUES (jsonb_build_object('kind', 'policy',
                                   'email_link', sign_in_email_link_allowed()));
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER settings_portal_directory
    AFTER INSERT OR DELETE OR UPDATE ON settings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portal_policy_changed();

-- Everything the catalog must know of the people already here.
INSERT INTO portal_directory_changes (change)
SELECT jsonb_build_object('kind', 'member', 'old', NULL,
                          'new', portal_address_hash(email),
                          'verified', false)
  FROM users WHERE status = 'active';

INSERT INTO portal_directory_changes (change)
VALUES (jsonb_build_object('kind', 'policy',
                           'email_link', sign_in_email_link_allowed()));


-- The oldest queued changes, at most n, in order, each with its id, and
-- the last one's id.
CREATE FUNCTION portal_directory_pending(n integer,
                                         OUT upto bigint, OUT changes jsonb)
LANGUAGE sql STABLE AS $$
    SELECT max(id), coalesce(jsonb_agg(change || jsonb_build_object('id', id)
                                       ORDER BY id), '[]'::jsonb)
      FROM (SELECT id, change FROM portal_directory_changes
             ORDER BY id LIMIT n) c
$$;


-- The whole directory of this workspace as it stands, and the last
-- queued change it includes (kanbanctl portal-sync: the catalog's part
-- replaced, the queue up to there dropped). Under the events lock, so
-- that no change is half in it.
CREATE FUNCTION portal_directory_snapshot(OUT upto bigint, OUT members jsonb,
                                          OUT email_link boolean)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('kanban events'));

    -- the last id given, whether or not nginx already took it: none is
    -- in flight while the lock is held
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO upto
      FROM portal_directory_changes_id_seq;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'hash', portal_address_hash(email),
               'verified', email_verified_at IS NOT NULL)), '[]'::jsonb)
      INTO members
      FROM users WHERE status = 'active';
    email_link := sign_in_email_link_allowed();
END
$$;


-- A sign-in by an emailed link (the catalog spent it): the person must
-- be an active member and the workspace must allow links. Their address
-- is then verified; the session is a password sign-in's.
CREATE FUNCTION portal_link_sign_in(address text, token_hash text,
                                    agent text, addr inet, lifetime int,
                                    OUT outcome text, OUT user_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    u  users;
BEGIN
    IF NOT sign_in_email_link_allowed() THEN
        outcome := 'policy';
        RETURN;
    END IF;

    SELECT * INTO u FROM users x
     WHERE lower(x.email) = lower(address) AND x.status = 'active';
    IF NOT FOUND THEN
        outcome := 'not_member';
        RETURN;
    END IF;

    UPDATE users SET email_verified_at = now()
     WHERE id = u.id AND email_verified_at IS NULL;

    INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at,
                                user_agent, address)
    VALUES (u.id, gen_random_uuid(), token_hash,
            now() + least(interval '30 days',
                          make_interval(secs => coalesce(lifetime,
                                                         30 * 86400))),
            left(agent, 256), addr);

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (u.id, 'user', u.id, 'signed_in_by_link', '{}'::jsonb);

    outcome := 'ok';
    user_id := u.id;
END
$$;
