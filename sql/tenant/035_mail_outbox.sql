-- Mail: the outbox, and the password-reset links it carries.
--
-- A message is queued here by mail_enqueue(), in the transaction of the
-- write that causes it (an invitation, a reset asked for, a
-- notification), so a rolled-back write sends nothing and a committed
-- one is never lost. nginx's workers take due messages with mail_claim()
-- (FOR UPDATE SKIP LOCKED; a claim moves next_attempt_at past the SMTP
-- exchange's timeout: a lease), compose them (headers, MIME) and send
-- them through libcurl's SMTP, then record the outcome with
-- mail_attempted(): sent, tried again later after an exponential backoff
-- (a 4xx, no answer), or failed for good (a 5xx, or the retry window
-- over), with the server's answer kept. A message whose worker stopped
-- mid-send is due again when its lease ends.
--
-- What is stored is the message's parts, not its bytes: the sender adds
-- Date, Message-ID, the workspace's name and List-Unsubscribe, and
-- encodes every header from these (RFC 2047), so no field can inject a
-- header. Addresses with anything but a plain address are refused here.

-- A plain address: local@domain, no spaces, controls, brackets, commas.
CREATE FUNCTION mail_address_ok(a text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT a IS NOT NULL AND length(a) BETWEEN 3 AND 254
       AND a ~ '^[^\s<>@,;:"()\[\]\\[:cntrl:]]+@[^\s<>@,;:"()\[\]\\[:cntrl:]]+$'
$$;

CREATE TABLE mail_outbox (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind             text NOT NULL
                     CHECK (kind IN ('invitation', 'password_reset',
                                     'notification', 'digest')),
    user_id          uuid REFERENCES users (id) ON DELETE SET NULL,
    to_addr          text NOT NULL CHECK (mail_address_ok(to_addr)),
    to_name          text NOT NULL DEFAULT '' CHECK (length(to_name) <= 200),
    subject          text NOT NULL CHECK (length(subject) <= 500),
    text_body        text NOT NULL,
    html_body        text NOT NULL,
    -- what the List-Unsubscribe link stops: a notification kind, "all",
    -- or NULL (a message the person asked for: no unsubscribe)
    unsubscribe      text,
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz DEFAULT now(),
    last_code        integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    sent_at          timestamptz
);

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE status = 'queued';
CREATE INDEX mail_outbox_newest ON mail_outbox (created_at DESC, id);


-- Text for HTML: the five characters that matter escaped.
CREATE FUNCTION mail_html(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(replace(replace(coalesce(t, ''),
           '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'),
           '''', '&#39;')
$$;


-- The workspace's name as its mail shows it.
CREATE FUNCTION mail_workspace_name() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif((SELECT value #>> '{}' FROM settings
                             WHERE key = 'name'), ''), 'Kanban')
$$;


-- Queues a message; NULL (and nothing queued) for an address that is no
-- plain address. html is the message's inner HTML: the frame is added.
CREATE FUNCTION mail_enqueue(kind text, user_id uuid, to_addr text,
                             to_name text, subject text, text_body text,
                             html text, unsubscribe text)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    mid  uuid;
BEGIN
    IF NOT mail_address_ok(to_addr) THEN
        RETURN NULL;
    END IF;

    INSERT INTO mail_outbox (kind, user_id, to_addr, to_name, subject,
                             text_body, html_body, unsubscribe)
    VALUES (kind, user_id, to_addr, left(coalesce(to_name, ''), 200),
            left(subject, 500), text_body,
            '<!doctype html><html><body style="font-family:sans-serif">'
            || html || '<p style="color:#666;font-size:12px">'
            || mail_html(mail_workspace_name()) || '</p></body></html>',
            unsubscribe)
    RETURNING id INTO mid;

    RETURN mid;
END
$$;


-- Takes up to total due messages, each leased for lease seconds. When
-- none is due, one row of NULLs but next_in: in how many seconds the
-- soonest queued one is (NULL: none queued).
CREATE FUNCTION mail_claim(total integer, lease double precision)
RETURNS TABLE (id uuid, kind text, user_id uuid, to_addr text,
               to_name text, subject text, text_body text, html_body text,
               unsubscribe text, workspace text, attempts integer,
               next_in double precision)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT m.id FROM mail_outbox m
         WHERE m.status = 'queued' AND m.next_attempt_at <= now()
         ORDER BY m.next_attempt_at
         LIMIT total
           FOR UPDATE SKIP LOCKED)
    UPDATE mail_outbox m
       SET next_attempt_at = now() + make_interval(secs => lease),
           attempts = m.attempts + 1, last_attempt_at = now()
      FROM due
     WHERE m.id = due.id
    RETURNING m.id, m.kind, m.user_id, m.to_addr, m.to_name, m.subject,
              m.text_body, m.html_body, m.unsubscribe,
              mail_workspace_name(), m.attempts, NULL::double precision;

    IF NOT FOUND THEN
        RETURN QUERY
        SELECT NULL::uuid, NULL, NULL::uuid, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL::integer,
               extract(epoch FROM min(m.next_attempt_at) - now())::float8
          FROM mail_outbox m WHERE m.status = 'queued';
    END IF;
END
$$;


-- One attempt's outcome: code the server's last reply (NULL: none),
-- answer what it said or what went wrong. 250 is sent; another 5xx is
-- final; anything else is tried again after base * 2^(attempts - 1)
-- seconds (at most an hour), give or take a quarter, until the message
-- is older than win seconds. Returns in how many seconds it is tried
-- again (NULL: never).
CREATE FUNCTION mail_attempted(mid uuid, code integer, answer text,
                               base double precision,
                               win double precision)
RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    m     mail_outbox;
    wait  double precision;
BEGIN
    SELECT * INTO m FROM mail_outbox x WHERE x.id = mid FOR UPDATE;
    IF NOT FOUND OR m.status <> 'queued' THEN
        RETURN NULL;
    END IF;

    IF code = 250 AND answer IS NULL THEN
        UPDATE mail_outbox
           SET status = 'sent', last_code = code, last_error = NULL,
               sent_at = now(), next_attempt_at = NULL
         WHERE id = mid;
        RETURN NULL;
    END IF;

    IF code BETWEEN 500 AND 599
       OR m.created_at + make_interval(secs => win) <= now()
    THEN
        UPDATE mail_outbox
           SET status = 'failed', last_code = code,
               last_error = left(coalesce(answer, 'SMTP ' || code), 2000),
               next_attempt_at = NULL
         WHERE id = mid;
        RETURN NULL;
    END IF;

    wait := least(base * 2 ^ least(m.attempts - 1, 30), 3600)
            * (0.75 + random() / 2);

    UPDATE mail_outbox
       SET last_code = code,
           last_error = left(coalesce(answer, 'SMTP ' || code), 2000),
           next_attempt_at = now() + make_interval(secs => wait)
     WHERE id = mid;

    RETURN wait;
END
$$;


-- What an admin sees of a message: not its bodies (they may carry a
-- person's reset link).
CREATE FUNCTION mail_json(m mail_outbox) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'kind', m.kind, 'user_id', m.user_id, 'to', m.to_addr,
        'subject', m.subject, 'status', m.status, 'attempts', m.attempts,
        'last_code', m.last_code, 'last_error', m.last_error,
        'created_at', to_char(m.created_at AT TIME ZONE 'UTC',
                              'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'last_attempt_at', to_char(m.last_attempt_at AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'next_attempt_at', CASE WHEN m.status = 'queued' THEN
                               to_char(m.next_attempt_at AT TIME ZONE 'UTC',
                                       'YYYY-MM-DD"T"HH24:MI:SS"Z"') END,
        'sent_at', to_char(m.sent_at AT TIME ZONE 'UTC',
                           'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;


-- Password resets. A link's token is stored as its hex SHA-256; it is
-- good once, for a short time, and only while it is the person's newest:
-- asking again spends every older one.
CREATE TABLE password_resets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz
);

CREATE INDEX password_resets_user ON password_resets (user_id, created_at);


-- A reset asked for the address: mailed to an active person with that
-- address, unless they were sent per_hour links in the last hour; for
-- anybody else nothing. The caller answers the same either way.
CREATE FUNCTION mail_password_reset(address text, base_url text,
                                    ttl double precision, per_hour integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    u      users;
    token  text;
    link   text;
BEGIN
    SELECT * INTO u FROM users x
     WHERE lower(x.email) = lower(address) AND x.status = 'active';
    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF (SELECT count(*) FROM password_resets r
         WHERE r.user_id = u.id
           AND r.created_at > now() - interval '1 hour') >= per_hour
    THEN
        RETURN;
    END IF;

    UPDATE password_resets SET spent_at = now()
     WHERE user_id = u.id AND spent_at IS NULL;

    token := replace(gen_random_uuid()::text || gen_random_uuid()::text,
                     '-', '');
    link := base_url || '/reset-password#token=' || token;

    INSERT INTO password_resets (user_id, token_hash, expires_at)
    VALUES (u.id, encode(sha256(convert_to(token, 'UTF8')), 'hex'),
            now() + make_interval(secs => ttl));

    PERFORM mail_enqueue('password_reset', u.id, u.email, u.name,
        'Reset your password for ' || mail_workspace_name(),
        'Hello ' || u.name || E',\n\n'
        || 'Someone (we hope you) asked to reset your password for '
        || mail_workspace_name() || E'. Set a new one here:\n\n'
        || link || E'\n\n'
        || 'The link works once, for ' || round(ttl / 60) || ' minutes. '
        || E'If you did not ask, ignore this message.\n',
        '<p>Hello ' || mail_html(u.name) || ',</p>'
        || '<p>Someone (we hope you) asked to reset your password for '
        || mail_html(mail_workspace_name()) || '.</p>'
        || '<p><a href="' || mail_html(link) || '">Set a new password</a></p>'
        || '<p>The link works once, for ' || round(ttl / 60)
        || ' minutes. If you did not ask, ignore this message.</p>',
        NULL);
END
$$;


-- An invitation's message, with its accept link. The person's row is
-- passed, not read: it is made in the same statement, which a query here
-- would not see.
CREATE FUNCTION mail_invitation(uid uuid, address text, name text,
                                token text, base_url text)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    link  text;
BEGIN
    link := base_url || '/accept-invite#token=' || token;

    RETURN mail_enqueue('invitation', uid, address, name,
        'You are invited to ' || mail_workspace_name(),
        'Hello ' || name || E',\n\nYou are invited to '
        || mail_workspace_name() || E'. Accept the invitation and choose '
        || E'your password here:\n\n' || link || E'\n\n'
        || E'The link works once, for 7 days.\n',
        '<p>Hello ' || mail_html(name) || ',</p>'
        || '<p>You are invited to ' || mail_html(mail_workspace_name())
        || '.</p><p><a href="' || mail_html(link) || '">Accept the '
        || 'invitation</a> and choose your password.</p>'
        || '<p>The link works once, for 7 days.</p>',
        NULL);
END
$$;
