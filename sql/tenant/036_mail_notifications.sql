-- Notification email: each person chooses, per kind of notification,
-- immediately (a message as it happens), a daily digest (one message
-- with everything since the last), or never. No row: immediately.
--
-- The immediate message is queued by a trigger on notifications, in the
-- transaction of the write that notified. Digests are queued by
-- mail_digest_queue(), which nginx's mail sender calls now and then: a
-- person with digest kinds whose last digest is a period old gets one
-- message of those notifications made since, if there are any.
-- Unsubscribing (a signed link, no sign-in) sets a kind, or every kind,
-- to never.

CREATE FUNCTION mail_notification_kinds() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['assigned', 'mentioned', 'commented', 'approved',
                 'webhook_disabled', 'health_changed', 'update_due']
$$;

CREATE TABLE mail_preferences (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind = ANY (mail_notification_kinds())),
    mode        text NOT NULL CHECK (mode IN ('immediate', 'digest', 'never')),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

-- when each person's last digest was made (or their first digest kind
-- chosen): the next covers what came after
CREATE TABLE mail_digests (
    user_id  uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_at  timestamptz NOT NULL DEFAULT now()
);


CREATE FUNCTION mail_mode(uid uuid, k text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT mode FROM mail_preferences
                      WHERE user_id = uid AND kind = k), 'immediate')
$$;


-- A person's choices, every kind listed.
CREATE FUNCTION mail_preferences_json(uid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('kinds', jsonb_object_agg(k, mail_mode(uid, k)))
      FROM unnest(mail_notification_kinds()) k
$$;


-- One line saying what a notification is about.
CREATE FUNCTION mail_notification_line(n notifications) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT u.name FROM users u WHERE u.id = n.actor_id),
                    'Someone')
           || CASE n.kind
                  WHEN 'assigned' THEN ' assigned you '
                  WHEN 'mentioned' THEN ' mentioned you on '
                  WHEN 'commented' THEN ' commented on '
                  WHEN 'approved' THEN ' approved your timesheet'
                  WHEN 'webhook_disabled' THEN ' - a webhook was disabled'
                  WHEN 'health_changed' THEN ' - a project''s health changed'
                  WHEN 'update_due' THEN ' - a project update is due'
                  ELSE ' - ' || n.kind END
           || coalesce((SELECT p.key || '-' || t.number || ' ' || t.title
                          FROM tasks t JOIN projects p ON p.id = t.project_id
                         WHERE t.id = n.task_id), '')
$$;


CREATE FUNCTION mail_notification_immediate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    u     users;
    line  text;
BEGIN
    IF mail_mode(NEW.user_id, NEW.kind) <> 'immediate' THEN
        RETURN NULL;
    END IF;

    SELECT * INTO u FROM users WHERE id = NEW.user_id AND status = 'active';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    line := mail_notification_line(NEW);

    PERFORM mail_enqueue('notification', u.id, u.email, u.name,
        left(line, 200),
        line || E'\n\nYou get this because of your notification settings '
        || 'in ' || mail_workspace_name() || E'.\n',
        '<p>' || mail_html(line) || '</p><p style="color:#666">You get '
        || 'this because of your notification settings in '
        || mail_html(mail_workspace_name()) || '.</p>',
        NEW.kind);
    RETURN NULL;
END
$$;

CREATE TRIGGER notifications_mail
    AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION mail_notification_immediate();


-- Queues the digests that are due (their person's last is period
-- seconds old); returns how many.
CREATE FUNCTION mail_digest_queue(period double precision)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d      record;
    lines  text[];
    n      integer := 0;
BEGIN
    FOR d IN
        SELECT g.user_id, g.last_at, u.email, u.name
          FROM mail_digests g JOIN users u ON u.id = g.user_id
         WHERE g.last_at <= now() - make_interval(secs => period)
           AND u.status = 'active'
           FOR UPDATE OF g SKIP LOCKED
    LOOP
        SELECT array_agg(mail_notification_line(x) ORDER BY x.seq)
          INTO lines
          FROM notifications x
         WHERE x.user_id = d.user_id AND x.created_at > d.last_at
           AND mail_mode(d.user_id, x.kind) = 'digest';

        UPDATE mail_digests SET last_at = now() WHERE user_id = d.user_id;

        CONTINUE WHEN lines IS NULL;

        PERFORM mail_enqueue('digest', d.user_id, d.email, d.name,
            'Your digest from ' || mail_workspace_name() || ': '
            || cardinality(lines) || ' notification'
            || CASE WHEN cardinality(lines) = 1 THEN '' ELSE 's' END,
            array_to_string(array(SELECT '* ' || l FROM unnest(lines) l),
                            E'\n') || E'\n',
            '<ul>' || array_to_string(array(
                SELECT '<li>' || mail_html(l) || '</li>'
                  FROM unnest(lines) l), '') || '</ul>',
            'all');
        n := n + 1;
    END LOOP;

    RETURN n;
END
$$;


-- Sets a person's modes from {"kinds": {kind: mode}}; a person with a
-- digest kind gets a digest clock, started now.
CREATE FUNCTION mail_preferences_set(uid uuid, body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mail_preferences (user_id, kind, mode)
    SELECT uid, e.key, e.value #>> '{}'
      FROM jsonb_each(body->'kinds') e
    ON CONFLICT (user_id, kind)
    DO UPDATE SET mode = EXCLUDED.mode, updated_at = now();

    IF EXISTS (SELECT 1 FROM mail_preferences
                WHERE user_id = uid AND mode = 'digest') THEN
        INSERT INTO mail_digests (user_id) VALUES (uid)
        ON CONFLICT (user_id) DO NOTHING;
    END IF;

    RETURN mail_preferences_json(uid);
END
$$;


-- What a valid preferences body is: an object of known kinds to modes.
CREATE FUNCTION mail_preferences_ok(body jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_typeof(body->'kinds') = 'object'
       AND NOT EXISTS (
           SELECT 1 FROM jsonb_each(body->'kinds') e
            WHERE NOT e.key = ANY (mail_notification_kinds())
               OR jsonb_typeof(e.value) <> 'string'
               OR NOT e.value #>> '{}' IN ('immediate', 'digest', 'never'))
$$;


-- A signed link's unsubscribing (the signature checked by the caller):
-- a kind, or "all", set to never. False when the person is not there.
CREATE FUNCTION mail_unsubscribe(uid uuid, what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users WHERE id = uid
                                         AND status <> 'erased') THEN
        RETURN false;
    END IF;

    INSERT INTO mail_preferences (user_id, kind, mode)
    SELECT uid, k, 'never'
      FROM unnest(mail_notification_kinds()) k
     WHERE what = 'all' OR k = what
    ON CONFLICT (user_id, kind)
    DO UPDATE SET mode = 'never', updated_at = now();

    RETURN true;
END
$$;


-- An erased person's mail goes with the rest of them (the row of an
-- erased user stays, so no cascade does it): the outbox's messages to
-- them (their address, name and links), their reset links, choices and
-- digest clock.
CREATE FUNCTION users_erase_mail() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM mail_outbox WHERE user_id = NEW.id;
    DELETE FROM password_resets WHERE user_id = NEW.id;
    DELETE FROM mail_preferences WHERE user_id = NEW.id;
    DELETE FROM mail_digests WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_erase_mail
    AFTER UPDATE OF status ON users
    FOR EACH ROW
    WHEN (NEW.status = 'erased' AND OLD.status <> 'erased')
    EXECUTE FUNCTION users_erase_mail();
