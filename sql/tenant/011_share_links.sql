-- Share links: short codes that open a task, a project or a URL to people
-- outside the workspace. The code is also in the catalog (share_codes),
-- which keeps codes unique across workspaces; everything else is here.
-- Visits arrive in batches from the nginx workers (share_visits_add), so
-- a redirect never waits on PostgreSQL unless the link counts its visits
-- against max_visits, which share_link_take does exactly.

CREATE TABLE share_links (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code           text NOT NULL UNIQUE CHECK (code ~ '^[0-9A-Za-z]{8,32}$'),
    target_type    text NOT NULL CHECK (target_type IN ('task', 'project',
                                                        'url')),
    -- a deleted target leaves the link behind, gone (410)
    task_id        uuid REFERENCES tasks (id) ON DELETE SET NULL,
    project_id     uuid REFERENCES projects (id) ON DELETE SET NULL,
    url            text CHECK (length(url) <= 2048),
    expires_at     timestamptz,
    max_visits     integer CHECK (max_visits BETWEEN 1 AND 1000000000),
    visits         bigint NOT NULL DEFAULT 0,
    password_hash  text,
    -- the key of this link's grant cookies: HMAC-SHA256(secret, code.exp)
    grant_secret   text NOT NULL CHECK (length(grant_secret) = 64),
    created_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    CHECK (target_type <> 'url' OR url IS NOT NULL)
);

CREATE INDEX share_links_created_by ON share_links (created_by, created_at);
CREATE INDEX share_links_task ON share_links (task_id);
CREATE INDEX share_links_project ON share_links (project_id);

CREATE TABLE share_link_visits (
    id          bigserial PRIMARY KEY,
    link_id     uuid NOT NULL REFERENCES share_links (id) ON DELETE CASCADE,
    visited_at  timestamptz NOT NULL,
    referrer    text,
    user_agent  text,
    bot         boolean NOT NULL DEFAULT false,
    -- anonymised by nginx before it gets here: IPv4 /24, IPv6 /48
    ip          inet
);

CREATE INDEX share_link_visits_link ON share_link_visits (link_id, visited_at);

-- wrong passwords per link and client (a hash of the address), 15 minutes
CREATE TABLE share_link_failures (
    link_id  uuid NOT NULL REFERENCES share_links (id) ON DELETE CASCADE,
    client   text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX share_link_failures_key ON share_link_failures (link_id, client,
                                                             at);


-- Admins see every link; everyone their own; project managers those of
-- the projects they manage.
CREATE FUNCTION share_link_visible(actor uuid, role text, l share_links)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT role = 'admin'
        OR l.created_by = actor
        OR (role = 'project_manager'
            AND EXISTS (
                SELECT 1 FROM projects p
                 WHERE p.id = coalesce(l.project_id,
                                       (SELECT t.project_id FROM tasks t
                                         WHERE t.id = l.task_id))
                   AND can_manage_project(actor, role, p.team_id)))
$$;


CREATE FUNCTION share_link_json(l share_links, base text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', l.id,
        'code', l.code,
        'short_url', base || '/s/' || l.code,
        'target_type', l.target_type,
        'target_id', coalesce(l.task_id, l.project_id),
        'url', l.url,
        'expires_at', l.expires_at,
        'max_visits', l.max_visits,
        'visits', l.visits,
        'has_password', l.password_hash IS NOT NULL,
        'created_by', l.created_by,
        'created_at', l.created_at,
        'revoked_at', l.revoked_at)
$$;


-- A new link. The target is checked here: a task or project of this
-- workspace, or an absolute http(s) URL with nothing a browser or a
-- header could be tricked by (no spaces, no control characters, no
-- user:password@ before the host).
CREATE FUNCTION share_link_create(actor uuid, role text, base text,
                                  new_code text, secret text, hash text,
                                  b jsonb)
RETURNS TABLE (status integer, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    l        share_links;
    kind     text;
    expires  timestamptz;
    a        bigint;
BEGIN
    kind := CASE WHEN b ? 'task_id' THEN 'task'
                 WHEN b ? 'project_id' THEN 'project'
                 WHEN b ? 'url' THEN 'url' END;

    IF (b ? 'task_id')::int + (b ? 'project_id')::int + (b ? 'url')::int <> 1
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Give exactly one of task_id, project_id and url.', NULL::bigint;
        RETURN;
    END IF;

    IF b ? 'expires_at' AND b ? 'expires_in_seconds' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Give expires_at or expires_in_seconds, not both.', NULL::bigint;
        RETURN;
    END IF;

    IF kind = 'task'
       AND NOT EXISTS (SELECT 1 FROM tasks WHERE id = (b->>'task_id')::uuid)
       OR kind = 'project'
       AND NOT EXISTS (SELECT 1 FROM projects
                        WHERE id = (b->>'project_id')::uuid)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'There is no such ' || kind || ' in this workspace.',
            NULL::bigint;
        RETURN;
    END IF;

    IF kind = 'url'
       AND (b->>'url' !~ '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][!-~]*)?$'
            OR b->>'url' ~ '^https?://[^/?#]*@')
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'url must be an absolute http or https URL without spaces or '
            'control characters.', NULL::bigint;
        RETURN;
    END IF;

    IF b ? 'expires_at' AND b->>'expires_at' !~
       '^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$'
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'expires_at must be an RFC 3339 time.', NULL::bigint;
        RETURN;
    END IF;

    -- Whole seconds, as nginx judges expiry: an expires_at ends at the
    -- start of its second, expires_in_seconds at the end of its last one,
    -- and the link shows the moment it really ends.
    expires := CASE
        WHEN b ? 'expires_at'
        THEN date_trunc('second', (b->>'expires_at')::timestamptz)
        WHEN b ? 'expires_in_seconds'
        THEN date_trunc('second', now() + interval '999999 microseconds'
                 + make_interval(secs => (b->>'expires_in_seconds')::int))
    END;

    IF expires IS NOT NULL AND expires <= now() THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'expires_at is in the past.', NULL::bigint;
        RETURN;
    END IF;

    INSERT INTO share_links (code, target_type, task_id, project_id, url,
                             expires_at, max_visits, password_hash,
                             grant_secret, created_by)
    VALUES (new_code, kind, (b->>'task_id')::uuid, (b->>'project_id')::uuid,
            b->>'url', expires, (b->>'max_visits')::int, hash, secret, actor)
    RETURNING * INTO l;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, coalesce(l.project_id, (SELECT project_id FROM tasks
                                            WHERE id = l.task_id)),
            'share_link', l.id, 'created',
            -- the code opens the link: it stays out of the audit trail
            share_link_json(l, base) - 'short_url' - 'code')
    RETURNING id INTO a;

    RETURN QUERY SELECT 201, share_link_json(l, base)::text,
                        '/api/v1/share-links/' || l.id, a;
END;
$$;


-- What a visit needs to know about a code, cached by nginx: the state is
-- active, revoked, gone (its target deleted) or used_up; expiry is
-- judged by nginx against expires (Unix seconds) on every visit.
CREATE FUNCTION share_link_resolve(find text)
RETURNS TABLE (id uuid, state text, target_type text, url text,
               expires bigint, max_visits integer, password_hash text,
               grant_secret text)
LANGUAGE sql STABLE AS $$
    SELECT l.id,
           CASE WHEN l.revoked_at IS NOT NULL THEN 'revoked'
                WHEN l.target_type = 'task' AND l.task_id IS NULL
                  OR l.target_type = 'project' AND l.project_id IS NULL
                THEN 'gone'
                WHEN l.visits >= l.max_visits THEN 'used_up'
                ELSE 'active' END,
           l.target_type, l.url,
           extract(epoch FROM l.expires_at)::bigint,
           l.max_visits, l.password_hash, l.grant_secret
      FROM share_links l WHERE l.code = find
$$;


-- One visit of a link with max_visits, counted at once so that the limit
-- holds exactly however many visitors arrive together.
CREATE FUNCTION share_link_take(link uuid)
RETURNS TABLE (visits bigint)
LANGUAGE sql AS $$
    UPDATE share_links l SET visits = l.visits + 1
     WHERE l.id = link AND l.revoked_at IS NULL
       AND (l.max_visits IS NULL OR l.visits < l.max_visits)
       AND (l.expires_at IS NULL OR l.expires_at > now())
    RETURNING l.visits
$$;


-- A batch of visits from one nginx worker: [{l: link, t: time, r:
-- referrer, u: user agent, b: bot, i: address, c: already counted}].
-- A link's visits are people's: crawlers are stored, flagged, and not
-- counted.
-- Returns one audit row per link visited, for the share_link.visited
-- events.
CREATE FUNCTION share_visits_add(batch json)
RETURNS TABLE (activity bigint, link uuid, visits bigint)
LANGUAGE sql AS $$
    WITH v AS (
        SELECT * FROM json_to_recordset(batch)
            AS v(l uuid, t timestamptz, r text, u text, b boolean, i inet,
                 c boolean)
         WHERE EXISTS (SELECT 1 FROM share_links s WHERE s.id = v.l)
    ), stored AS (
        INSERT INTO share_link_visits (link_id, visited_at, referrer,
                                       user_agent, bot, ip)
        SELECT l, t, r, u, coalesce(b, false), i FROM v
    ), per_link AS (
        SELECT l, count(*) AS n,
               count(*) FILTER (WHERE b) AS bots,
               count(*) FILTER (WHERE NOT coalesce(c, false)
                                  AND NOT coalesce(b, false)) AS uncounted
          FROM v GROUP BY l
    ), locked AS MATERIALIZED (
        -- every worker locks its links in one order: no deadlocks
        SELECT s.id FROM share_links s
         WHERE s.id IN (SELECT l FROM per_link)
         ORDER BY s.id
           FOR UPDATE
    ), counted AS (
        UPDATE share_links s SET visits = s.visits + p.uncounted
          FROM per_link p
         WHERE s.id = p.l AND (SELECT count(*) FROM locked) >= 0
        RETURNING s.id, s.project_id, s.task_id, s.visits, p.n, p.bots
    ), a AS (
        INSERT INTO activity_log (project_id, entity_type, entity_id, action,
                                  new_values)
        SELECT coalesce(c.project_id, t.project_id), 'share_link', c.id,
               'visited',
               jsonb_build_object('visits', c.n, 'bots', c.bots,
                                  'total', c.visits)
          FROM counted c LEFT JOIN tasks t ON t.id = c.task_id
        RETURNING id, entity_id, (new_values->>'total')::bigint AS total
    )
    SELECT a.id, a.entity_id, a.total FROM a
$$;


-- Password tries: at most 5 per link and client in 15 minutes. A try is
-- written before the password is checked, under a lock of its link and
-- client, so that parallel tries cannot pass the count together; a right
-- password takes that client's tries back (share_link_tries_clear).
CREATE FUNCTION share_link_try(link uuid, who text)
RETURNS TABLE (allowed boolean, retry_after integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n       integer;
    oldest  timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(link::text || who, 0));

    DELETE FROM share_link_failures f
     WHERE f.at < now() - interval '15 minutes';

    SELECT count(*), min(f.at) INTO n, oldest
      FROM share_link_failures f
     WHERE f.link_id = link AND f.client = who;

    IF n >= 5 THEN
        RETURN QUERY SELECT false,
            greatest(1, ceil(extract(epoch FROM
                oldest + interval '15 minutes' - now())))::integer;
        RETURN;
    END IF;

    INSERT INTO share_link_failures (link_id, client) VALUES (link, who);

    RETURN QUERY SELECT true, 0;
END
$$;

CREATE FUNCTION share_link_tries_clear(link uuid, who text)
RETURNS void
LANGUAGE sql AS $$
    DELETE FROM share_link_failures WHERE link_id = link AND client = who
$$;
