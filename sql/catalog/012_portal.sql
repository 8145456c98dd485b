-- The portal for people (API.md "Portal and operators"): which address
-- is an active member of which workspace, kept by each workspace's
-- changes (tenant 045: a queue there, taken here by nginx with
-- portal_directory_apply()); the single-use links it mails (find my
-- workspaces, 15 minutes) and hands out (a switch, 60 seconds); and the
-- platform's own mail outbox, which nginx's mail sender takes as it takes
-- a workspace's (the same functions as tenant 035).
--
-- Addresses are kept as the SHA-256 of their lower-cased form: the
-- catalog lists no member's address. A link's token is kept as its
-- SHA-256; its address is kept until it expires (the workspace finds the
-- person by it).

CREATE TABLE portal_members (
    address_hash  text NOT NULL CHECK (address_hash ~ '^[0-9a-f]{64}$'),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    verified      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (address_hash, tenant_id)
);

CREATE INDEX portal_members_tenant ON portal_members (tenant_id);

CREATE TABLE portal_policies (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    email_link  boolean NOT NULL DEFAULT false
);

-- How far each workspace's queue has been applied: a batch read twice
-- (two nodes, a retry) is applied once, in order.
CREATE TABLE portal_directory_applied (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    upto       bigint NOT NULL DEFAULT 0
);

CREATE TABLE portal_links (
    token_hash  text PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    address     text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('find', 'handoff')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz
);

CREATE INDEX portal_links_expires ON portal_links (expires_at);

-- Who asked, for the limits per address and per client.
CREATE TABLE portal_requests (
    id            bigserial PRIMARY KEY,
    address_hash  text NOT NULL,
    client        inet,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX portal_requests_address ON portal_requests (address_hash,
                                                         created_at);
CREATE INDEX portal_requests_client ON portal_requests (client, created_at);


CREATE FUNCTION portal_address_hash(address text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(lower(btrim(address)), 'UTF8')), 'hex')
$$;


-- A workspace's queued changes (tenant 045), each with its id, applied
-- in order; those at or below what was applied before are skipped, and
-- two applies of one workspace wait for each other.
CREATE FUNCTION portal_directory_apply(ws text, changes jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    tid   uuid;
    done  bigint;
    c     jsonb;
    n     integer := 0;
BEGIN
    SELECT id INTO tid FROM tenants WHERE slug = ws;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    INSERT INTO portal_directory_applied (tenant_id) VALUES (tid)
    ON CONFLICT (tenant_id) DO NOTHING;

    SELECT upto INTO done FROM portal_directory_applied
     WHERE tenant_id = tid FOR UPDATE;

    FOR c IN SELECT * FROM jsonb_array_elements(changes) LOOP
        CONTINUE WHEN (c->>'id')::bigint <= done;
        done := (c->>'id')::bigint;
        n := n + 1;

        IF c->>'kind' = 'policy' THEN
            INSERT INTO portal_policies (tenant_id, email_link)
            VALUES (tid, (c->>'email_link')::boolean)
            ON CONFLICT (tenant_id)
            DO UPDATE SET email_link = excluded.email_link;
            CONTINUE;
        END IF;

        IF c->>'old' IS NOT NULL
           AND c->>'old' IS DISTINCT FROM c->>'new'
        THEN
            DELETE FROM portal_members
             WHERE address_hash = c->>'old' AND tenant_id = tid;
        END IF;

        IF c->>'new' IS NOT NULL THEN
            INSERT INTO portal_members (address_hash, tenant_id, verified)
            VALUES (c->>'new', tid, (c->>'verified')::boolean)
            ON CONFLICT (address_hash, tenant_id)
            DO UPDATE SET verified = excluded.verified;
        END IF;
    END LOOP;

    UPDATE portal_directory_applied SET upto = done WHERE tenant_id = tid;

    RETURN n;
END
$$;


-- A workspace's whole directory (tenant 045 portal_directory_snapshot(),
-- taken by kanbanctl portal-sync) in place of what the catalog has; its
-- queue is then applied up to the snapshot's last change. Refused
-- ('newer') when the catalog already applied a later change than the
-- snapshot knows: the caller takes a new snapshot.
CREATE FUNCTION portal_directory_replace(ws text, snapshot jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    tid   uuid;
    done  bigint;
BEGIN
    SELECT id INTO tid FROM tenants WHERE slug = ws;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;

    INSERT INTO portal_directory_applied (tenant_id) VALUES (tid)
    ON CONFLICT (tenant_id) DO NOTHING;

    SELECT upto INTO done FROM portal_directory_applied
     WHERE tenant_id = tid FOR UPDATE;

    IF done > (snapshot->>'upto')::bigint THEN
        RETURN 'newer';
    END IF;

    DELETE FROM portal_members WHERE tenant_id = tid;

    INSERT INTO portal_members (address_hash, tenant_id, verified)
    SELECT m->>'hash', tid, bool_or((m->>'verified')::boolean)
      FROM jsonb_array_elements(snapshot->'members') m
     GROUP BY m->>'hash';

    INSERT INTO portal_policies (tenant_id, email_link)
    VALUES (tid, (snapshot->>'email_link')::boolean)
    ON CONFLICT (tenant_id) DO UPDATE SET email_link = excluded.email_link;

    UPDATE portal_directory_applied SET upto = (snapshot->>'upto')::bigint
     WHERE tenant_id = tid;

    RETURN 'replaced';
END
$$;


-- A single-use link into a workspace for an address: the token (the hex
-- of two random UUIDs, 244 random bits) is returned, its hash kept.
CREATE FUNCTION portal_link(tid uuid, address text, kind text,
                            ttl double precision)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    token  text;
BEGIN
    token := replace(gen_random_uuid()::text || gen_random_uuid()::text,
                     '-', '');

    INSERT INTO portal_links (token_hash, tenant_id, address, kind,
                              expires_at)
    VALUES (encode(sha256(convert_to(token, 'UTF8')), 'hex'), tid,
            lower(btrim(address)), kind,
            now() + make_interval(secs => ttl));

    DELETE FROM portal_links WHERE expires_at < now() - interval '1 day';

    RETURN token;
END
$$;


-- The workspaces an address is an active member of, active themselves.
CREATE FUNCTION portal_workspaces_of(address text)
RETURNS TABLE (id uuid, slug text, name text, email_link boolean,
               verified boolean)
LANGUAGE sql STABLE AS $$
    SELECT t.id, t.slug, t.name, coalesce(p.email_link, false), m.verified
      FROM portal_members m
      JOIN tenants t ON t.id = m.tenant_id AND t.status = 'active'
      LEFT JOIN portal_policies p ON p.tenant_id = t.id
     WHERE m.address_hash = portal_address_hash(address)
     ORDER BY lower(t.name), t.slug
$$;


-- An ask of "find my workspaces", recorded: false when the client has
-- asked per_client times this hour already (the caller answers 429).
-- The same work whatever the address: the caller answers after this
-- alone, and the rest (portal_find()) runs after the answer.
CREATE FUNCTION portal_ask(address text, client inet, per_client integer)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF client IS NOT NULL
       AND (SELECT count(*) FROM portal_requests r
             WHERE r.client = portal_ask.client
               AND r.created_at > now() - interval '1 hour') >= per_client
    THEN
        RETURN false;
    END IF;

    INSERT INTO portal_requests (address_hash, client)
    VALUES (portal_address_hash(address), client);
    DELETE FROM portal_requests WHERE created_at < now() - interval '1 day';

    RETURN true;
END
$$;


-- "Find my workspaces", after the answer: one message listing them, with
-- a link into each that allows links; nothing for an address that is
-- nobody's, and nothing past per_address asks an hour. origin_head and
-- origin_tail are a workspace's origin around its slug.
CREATE FUNCTION portal_find(address text, origin_head text,
                            origin_tail text, ttl double precision,
                            per_address integer)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    h      text := portal_address_hash(address);
    w      record;
    token  text;
    link   text;
    txt    text := '';
    html   text := '';
    n      integer := 0;
BEGIN
    IF (SELECT count(*) FROM portal_requests r
         WHERE r.address_hash = h
           AND r.created_at > now() - interval '1 hour') > per_address
       OR NOT mail_address_ok(address)
    THEN
        RETURN 'limited';
    END IF;

    FOR w IN SELECT * FROM portal_workspaces_of(address) LOOP
        n := n + 1;
        link := origin_head || w.slug || origin_tail;

        IF w.email_link THEN
            token := portal_link(w.id, address, 'find', ttl);
            txt := txt || '* ' || w.name || E'\n  Sign in: ' || link
                   || '/auth/magic?token=' || token || E'\n';
            html := html || '<li><strong>' || mail_html(w.name)
                    || '</strong>: <a href="' || mail_html(link
                    || '/auth/magic?token=' || token) || '">Sign in to '
                    || mail_html(w.name) || '</a></li>';
        ELSE
            txt := txt || '* ' || w.name || E'\n  ' || link || E'\n';
            html := html || '<li><strong>' || mail_html(w.name)
                    || '</strong>: <a href="' || mail_html(link) || '">'
                    || mail_html(link) || '</a></li>';
        END IF;
    END LOOP;

    IF n = 0 THEN
        RETURN 'none';
    END IF;

    PERFORM mail_enqueue('portal', NULL, lower(btrim(address)), '',
        'Your workspaces',
        E'Hello,\n\nSomeone (we hope you) asked which workspaces this '
        || E'address belongs to:\n\n' || txt || E'\n'
        || 'Each sign-in link works once, for ' || round(ttl / 60)
        || E' minutes. If you did not ask, ignore this message.\n',
        '<p>Hello,</p><p>Someone (we hope you) asked which workspaces this '
        || 'address belongs to:</p><ul>' || html || '</ul>'
        || '<p>Each sign-in link works once, for ' || round(ttl / 60)
        || ' minutes. If you did not ask, ignore this message.</p>',
        NULL);

    RETURN 'mailed';
END
$$;


-- A link presented to workspace ws: spent if it is good there, else why
-- not (used, expired, foreign, unknown). A link of another workspace is
-- left as it is.
CREATE FUNCTION portal_spend(hash text, ws text,
                             OUT outcome text, OUT address text)
LANGUAGE plpgsql AS $$
DECLARE
    l  record;
BEGIN
    UPDATE portal_links p SET spent_at = now()
      FROM tenants t
     WHERE p.token_hash = hash AND t.id = p.tenant_id AND t.slug = ws
       AND p.spent_at IS NULL AND p.expires_at > now()
    RETURNING p.address INTO address;

    IF FOUND THEN
        outcome := 'ok';
        RETURN;
    END IF;

    SELECT p.*, t.slug INTO l
      FROM portal_links p JOIN tenants t ON t.id = p.tenant_id
     WHERE p.token_hash = hash;

    outcome := CASE WHEN NOT FOUND THEN 'unknown'
                    WHEN l.slug <> ws THEN 'foreign'
                    WHEN l.spent_at IS NOT NULL THEN 'used'
                    ELSE 'expired' END;
    address := NULL;
END
$$;


-- The switcher: the address's other workspaces.
CREATE FUNCTION portal_switch_list(address text, ws text, origin_head text,
                                   origin_tail text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('items', coalesce(jsonb_agg(
               jsonb_build_object('slug', w.slug, 'name', w.name,
                                  'url', origin_head || w.slug || origin_tail,
                                  'email_link', w.email_link)
               ORDER BY lower(w.name), w.slug), '[]'::jsonb))
      FROM portal_workspaces_of(address) w
     WHERE w.slug <> ws
$$;


-- A switch into workspace target: a 60-second link, or NULL when that
-- workspace does not take links or the address is no member there.
CREATE FUNCTION portal_handoff(address text, ws text, target text,
                               origin_head text, origin_tail text,
                               ttl double precision)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    w  record;
BEGIN
    SELECT * INTO w FROM portal_workspaces_of(address) x
     WHERE x.slug = target AND x.slug <> ws AND x.email_link;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    RETURN origin_head || w.slug || origin_tail || '/auth/magic?token='
           || portal_link(w.id, address, 'handoff', ttl);
END
$$;


-- The platform's outbox: tenant 035's, without a workspace's people.

CREATE FUNCTION mail_address_ok(a text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT a IS NOT NULL AND length(a) BETWEEN 3 AND 254
       AND a ~ '^[^\s<>@,;:"()\[\]\\[:cntrl:]]+@[^\s<>@,;:"()\[\]\\[:cntrl:]]+$'
$$;

CREATE TABLE mail_outbox (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind             text NOT NULL CHECK (kind IN ('portal')),
    user_id          uuid,
    to_addr          text NOT NULL CHECK (mail_address_ok(to_addr)),
    to_name          text NOT NULL DEFAULT '' CHECK (length(to_name) <= 200),
    subject          text NOT NULL CHECK (length(subject) <= 500),
    text_body        text NOT NULL,
    html_body        text NOT NULL,
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

CREATE FUNCTION mail_html(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(replace(replace(coalesce(t, ''),
           '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'),
           '''', '&#39;')
$$;

CREATE FUNCTION mail_workspace_name() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'Kanban'::text
$$;

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
            || html || '</body></html>', unsubscribe)
    RETURNING id INTO mid;

    RETURN mid;
END
$$;

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
               sent_at = now(), next_attempt_at = NULL,
               text_body = '', html_body = ''   -- its links are spent
         WHERE id = mid;
        RETURN NULL;
    END IF;

    IF code BETWEEN 500 AND 599
       OR m.created_at + make_interval(secs => win) <= now()
    THEN
        UPDATE mail_outbox
           SET status = 'failed', last_code = code,
               last_error = left(coalesce(answer, 'SMTP ' || code), 2000),
               next_attempt_at = NULL, text_body = '', html_body = ''
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

-- The platform sends no digests.
CREATE FUNCTION mail_digest_queue(period double precision) RETURNS integer
LANGUAGE sql AS $$ SELECT 0 $$;
