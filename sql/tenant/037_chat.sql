-- Team chat: channels (public, private with members, one per project if
-- the project wants one), direct conversations between two or more people,
-- messages with threads, mentions and task references, unread counts.
--
-- Who sees what: a public channel is every member's; a private channel or
-- a direct conversation is its members' alone, everywhere (the list, its
-- messages, search, the event stream, the export). Admins are no
-- exception: a private channel's events carry readers and admins = false.
--
-- Every write is one function call that answers (status, body or problem
-- code, detail or Location, the audit row's id); the audit row's deferred
-- trigger makes the write's event as it commits (below), as
-- activity_event() does for the board. Reading (POST .../read) is the
-- person's own state: no audit row, an event to that person alone.

CREATE TABLE chat_channels (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind        text NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    name        text CHECK (length(name) BETWEEN 1 AND 80),
    -- a project's own channel: at most one a project
    project_id  uuid UNIQUE REFERENCES projects (id) ON DELETE CASCADE,
    -- a direct conversation's people, sorted: asking again finds it
    direct_key  text UNIQUE,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL)),
    CHECK ((kind = 'direct') = (name IS NULL))
);

-- channel names are unique, without regard to case
CREATE UNIQUE INDEX chat_channels_name ON chat_channels (lower(name))
    WHERE name IS NOT NULL;

CREATE TABLE chat_members (
    channel_id  uuid NOT NULL REFERENCES chat_channels (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the newest message (its seq) the person has read
    read_seq    bigint NOT NULL DEFAULT 0,
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, user_id)
);

CREATE INDEX chat_members_user ON chat_members (user_id);

CREATE TABLE chat_messages (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigserial NOT NULL UNIQUE,   -- newest first; the cursor's key
    channel_id  uuid NOT NULL REFERENCES chat_channels (id) ON DELETE CASCADE,
    parent_id   uuid REFERENCES chat_messages (id) ON DELETE CASCADE,
    author_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    -- NULL once deleted: the row stays as the thread's tombstone
    body        text CHECK (length(body) BETWEEN 1 AND 10000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    edited_at   timestamptz,
    deleted_at  timestamptz,
    CHECK ((deleted_at IS NULL) = (body IS NOT NULL))
);

CREATE INDEX chat_messages_channel ON chat_messages (channel_id, parent_id, seq);
CREATE INDEX chat_messages_thread ON chat_messages (parent_id, seq)
    WHERE parent_id IS NOT NULL;
CREATE INDEX chat_messages_author ON chat_messages (author_id);
CREATE INDEX chat_messages_search ON chat_messages
    USING gin (to_tsvector('simple', body)) WHERE body IS NOT NULL;


-- Whether the person may see the channel: public, or one of its members.
CREATE FUNCTION chat_may_see(actor uuid, cid uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM chat_channels c
                    WHERE c.id = cid
                      AND (c.kind = 'public'
                           OR EXISTS (SELECT 1 FROM chat_members m
                                       WHERE m.channel_id = c.id
                                         AND m.user_id = actor)))
$$;


-- Who reads a channel's events: NULL (everyone) for a public one, else
-- its members.
CREATE FUNCTION chat_readers(cid uuid) RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN c.kind = 'public' THEN NULL
                ELSE coalesce((SELECT array_agg(m.user_id ORDER BY m.user_id)
                                 FROM chat_members m
                                WHERE m.channel_id = c.id), '{}') END
      FROM chat_channels c WHERE c.id = cid
$$;


-- The tasks a text names by key ("ABC-12"), as {id, key, title,
-- project_id}, in the order they first appear.
CREATE FUNCTION chat_task_refs(body text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', t.id, 'key', p.key || '-' || t.number,
                       'title', t.title, 'project_id', t.project_id)
                       ORDER BY r.n), '[]')
      FROM (SELECT DISTINCT ON (m[1], m[2]) m[1] AS key, m[2]::int AS num,
                   row_number() OVER () AS n
              FROM regexp_matches(coalesce(body, ''),
                       '(?:^|[^[:alnum:]_-])([A-Z][A-Z0-9]{1,9})-([0-9]{1,9})'
                       '(?![[:alnum:]_])', 'g') m
             ORDER BY m[1], m[2]) r
      JOIN projects p ON p.key = r.key
      JOIN tasks t ON t.project_id = p.id AND t.number = r.num
$$;


-- The active people a message mentions who may see its channel.
CREATE FUNCTION chat_mentions(body text, cid uuid) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT u FROM comment_mentions(coalesce(body, '')) u
     WHERE chat_may_see(u, cid)
$$;


-- A message as the API and the stream show it: the same for everyone who
-- may see it (no reader's own state), so one event serves all.
CREATE FUNCTION chat_message_json(m chat_messages) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', m.id,
               'channel_id', m.channel_id,
               'parent_id', m.parent_id,
               'author', (SELECT jsonb_build_object('id', u.id, 'name', u.name)
                            FROM users u WHERE u.id = m.author_id),
               'body', m.body,
               'deleted', m.deleted_at IS NOT NULL,
               'created_at', m.created_at,
               'edited_at', m.edited_at,
               'reply_count', (SELECT count(*) FROM chat_messages r
                                WHERE r.parent_id = m.id),
               'last_reply_at', (SELECT max(r.created_at) FROM chat_messages r
                                  WHERE r.parent_id = m.id),
               -- the patterns run only on a text that may hold one: a
               -- page of messages is read often
               'mentions', CASE WHEN strpos(m.body, '@') = 0 THEN '[]'
                   ELSE coalesce((SELECT jsonb_agg(jsonb_build_object(
                                          'id', u.id, 'name', u.name)
                                          ORDER BY u.name, u.id)
                                    FROM users u
                                   WHERE u.id IN (SELECT chat_mentions(
                                                      m.body, m.channel_id))),
                                 '[]') END,
               'tasks', CASE WHEN m.body ~ '[A-Z][A-Z0-9]+-[0-9]'
                             THEN chat_task_refs(m.body) ELSE '[]' END)
$$;


-- A channel as one person sees it: their unread count and membership.
CREATE FUNCTION chat_channel_json(c chat_channels, actor uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', c.id,
               'kind', c.kind,
               'name', c.name,
               'private', c.kind <> 'public',
               'direct', c.kind = 'direct',
               'project_id', c.project_id,
               'created_by', c.created_by,
               'created_at', c.created_at,
               'member', me.user_id IS NOT NULL,
               'member_count', (SELECT count(*) FROM chat_members m
                                 WHERE m.channel_id = c.id),
               -- everyone of a private channel or conversation; a public
               -- channel's are under /members
               'members', CASE WHEN c.kind = 'public' THEN NULL ELSE
                   coalesce((SELECT jsonb_agg(jsonb_build_object(
                                 'id', u.id, 'name', u.name)
                                 ORDER BY u.name, u.id)
                               FROM chat_members m JOIN users u
                                 ON u.id = m.user_id
                              WHERE m.channel_id = c.id), '[]') END,
               'last_message_at', (SELECT max(x.created_at)
                                     FROM chat_messages x
                                    WHERE x.channel_id = c.id),
               'unread_count', CASE WHEN me.user_id IS NULL THEN 0 ELSE
                   (SELECT count(*) FROM chat_messages x
                     WHERE x.channel_id = c.id AND x.seq > me.read_seq
                       AND x.deleted_at IS NULL
                       AND x.author_id IS DISTINCT FROM actor) END)
      FROM (SELECT 1) one
      LEFT JOIN chat_members me
        ON me.channel_id = c.id AND me.user_id = actor
$$;


-- The channel as its events carry it: no reader's own state.
CREATE FUNCTION chat_channel_event_json(c chat_channels) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT chat_channel_json(c, NULL)
           - 'member' - 'unread_count'
$$;


CREATE FUNCTION chat_audit(actor uuid, etype text, eid uuid, act text,
                           cid uuid, extra jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, etype, eid, act,
            jsonb_build_object('channel_id', cid) || extra)
    RETURNING id
$$;


-- GET /api/v1/chat/channels: those the person may see, the most recently
-- active first.
CREATE FUNCTION chat_channels_list(actor uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object(
               'items', coalesce(jsonb_agg(j ORDER BY
                            coalesce(j->>'last_message_at',
                                     j->>'created_at') DESC,
                            j->>'id'), '[]'),
               'next_cursor', NULL)::text, NULL::text
      FROM (SELECT chat_channel_json(c, actor) j
              FROM chat_channels c
             WHERE chat_may_see(actor, c.id)) x
$$;


CREATE FUNCTION chat_channel_get(actor uuid, cid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(s.status, 404), coalesce(s.body, 'not_found'),
           CASE WHEN s.status IS NULL THEN 'No such channel.' END
      FROM (SELECT 1) one
      LEFT JOIN (SELECT 200 AS status, chat_channel_json(c, actor)::text body
                   FROM chat_channels c
                  WHERE c.id = cid AND chat_may_see(actor, c.id)) s ON true
$$;


-- The active people of a body's member_ids, the actor's own among them;
-- NULL when one is no active member of the workspace.
CREATE FUNCTION chat_member_ids(actor uuid, ids jsonb) RETURNS uuid[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    wanted  uuid[];
    found   uuid[];
BEGIN
    IF ids IS NULL OR jsonb_typeof(ids) = 'null' THEN
        ids := '[]';
    END IF;

    IF jsonb_typeof(ids) <> 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(ids) e
                   WHERE jsonb_typeof(e) <> 'string'
                      OR e #>> '{}' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
                                        '[0-9a-f]{4}-[0-9a-f]{12}$')
    THEN
        RETURN NULL;
    END IF;

    SELECT array_agg(DISTINCT x ORDER BY x) INTO wanted
      FROM (SELECT (e #>> '{}')::uuid x FROM jsonb_array_elements(ids) e
            UNION SELECT actor) w;

    SELECT array_agg(u.id ORDER BY u.id) INTO found
      FROM users u WHERE u.id = ANY (wanted) AND u.status = 'active';

    IF found IS DISTINCT FROM wanted THEN
        RETURN NULL;
    END IF;

    RETURN wanted;
END
$$;


-- POST /api/v1/chat/channels: a channel {name, private?, member_ids?,
-- project_id?}, or a direct conversation {direct: true, member_ids}
-- (asking again for the same people answers the one there is, 200).
CREATE FUNCTION chat_channel_create(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    people  uuid[];
    k       text;
    c       chat_channels;
    nm      text := btrim(b->>'name');
    aid     bigint;
BEGIN
    people := chat_member_ids(actor, b->'member_ids');
    IF people IS NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'member_ids: the ids of active members of this workspace.',
            NULL::bigint;
        RETURN;
    END IF;

    IF coalesce((b->>'direct')::boolean, false) THEN
        IF b ? 'name' AND b->'name' <> 'null' OR b ? 'project_id'
           AND b->'project_id' <> 'null'
        THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'A direct conversation has no name and no project.',
                NULL::bigint;
            RETURN;
        END IF;

        IF cardinality(people) < 2 THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'member_ids: a direct conversation needs someone else.',
                NULL::bigint;
            RETURN;
        END IF;

        k := array_to_string(people, ',');

        -- two people asking at once: one row, and both get it
        INSERT INTO chat_channels AS x (kind, direct_key, created_by)
        VALUES ('direct', k, actor)
        ON CONFLICT (direct_key) DO NOTHING
        RETURNING x.* INTO c;

        IF NOT FOUND THEN
            SELECT * INTO c FROM chat_channels x WHERE x.direct_key = k;
            RETURN QUERY SELECT 200, chat_channel_json(c, actor)::text,
                                NULL::text, NULL::bigint;
            RETURN;
        END IF;

    ELSE
        IF nm IS NULL OR length(nm) NOT BETWEEN 1 AND 80
           OR nm ~ '[[:cntrl:]]'
        THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'name: 1 to 80 characters, no control characters.',
                NULL::bigint;
            RETURN;
        END IF;

        IF b ? 'project_id' AND b->'project_id' <> 'null'
           AND NOT EXISTS (SELECT 1 FROM projects p
                            WHERE p.id::text = b->>'project_id')
        THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'project_id: no such project.', NULL::bigint;
            RETURN;
        END IF;

        IF EXISTS (SELECT 1 FROM chat_channels x
                    WHERE lower(x.name) = lower(nm))
        THEN
            RETURN QUERY SELECT 409, 'already_exists',
                'A channel of that name exists.', NULL::bigint;
            RETURN;
        END IF;

        IF b ? 'project_id' AND b->'project_id' <> 'null'
           AND EXISTS (SELECT 1 FROM chat_channels x
                        WHERE x.project_id::text = b->>'project_id')
        THEN
            RETURN QUERY SELECT 409, 'already_exists',
                'The project has its channel already.', NULL::bigint;
            RETURN;
        END IF;

        BEGIN
            INSERT INTO chat_channels AS x (kind, name, project_id, created_by)
            VALUES (CASE WHEN coalesce((b->>'private')::boolean, false)
                         THEN 'private' ELSE 'public' END,
                    nm, (b->>'project_id')::uuid, actor)
            RETURNING x.* INTO c;
        EXCEPTION WHEN unique_violation THEN
            RETURN QUERY SELECT 409, 'already_exists',
                'A channel of that name, or the project''s, exists.',
                NULL::bigint;
            RETURN;
        END;
    END IF;

    INSERT INTO chat_members (channel_id, user_id)
    SELECT c.id, u FROM unnest(people) u;

    aid := chat_audit(actor, 'chat_channel', c.id, 'created', c.id);

    RETURN QUERY SELECT 201, chat_channel_json(c, actor)::text,
                        '/api/v1/chat/channels/' || c.id, aid;
END
$$;


-- How to @mention a person (comment_mentions' rule): the part of their
-- email before "@" when no other active member shares it, else the email.
CREATE FUNCTION chat_handle(u users) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN (SELECT count(*) FROM users v
                       WHERE v.status = 'active'
                         AND lower(split_part(v.email, '@', 1))
                             = lower(split_part(u.email, '@', 1))) = 1
                THEN split_part(u.email, '@', 1) ELSE u.email END
$$;


-- GET /api/v1/chat/channels/{id}/members: with each one's @handle
CREATE FUNCTION chat_members_list(actor uuid, cid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN chat_may_see(actor, cid) THEN 200 ELSE 404 END,
           CASE WHEN chat_may_see(actor, cid) THEN
               jsonb_build_object('items', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'id', u.id, 'name', u.name,
                              'handle', chat_handle(u),
                              'joined_at', m.joined_at)
                              ORDER BY u.name, u.id)
                     FROM chat_members m JOIN users u ON u.id = m.user_id
                    WHERE m.channel_id = cid), '[]'),
                   'next_cursor', NULL)::text
           ELSE 'not_found' END,
           CASE WHEN NOT chat_may_see(actor, cid) THEN 'No such channel.' END
$$;


-- PUT /api/v1/chat/channels/{id}/members/{user_id}: a member of a private
-- channel adds someone; anyone joins a public one, or adds someone to it.
-- A direct conversation's people are fixed (ask for another set).
CREATE FUNCTION chat_member_add(actor uuid, cid uuid, uid uuid)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c    chat_channels;
    aid  bigint;
BEGIN
    SELECT * INTO c FROM chat_channels x WHERE x.id = cid;

    IF NOT FOUND OR NOT chat_may_see(actor, cid) THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such channel.',
                            NULL::bigint;
        RETURN;
    END IF;

    IF c.kind = 'direct' THEN
        RETURN QUERY SELECT 409, 'conflict',
            'A direct conversation''s people are fixed: start another.',
            NULL::bigint;
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM users u
                    WHERE u.id = uid AND u.status = 'active')
    THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such active member.',
                            NULL::bigint;
        RETURN;
    END IF;

    INSERT INTO chat_members (channel_id, user_id) VALUES (cid, uid)
    ON CONFLICT DO NOTHING;

    IF FOUND THEN
        aid := chat_audit(actor, 'chat_channel', cid, 'member_added', cid,
                          jsonb_build_object('user_id', uid));
    END IF;

    RETURN QUERY SELECT 200, chat_channel_json(c, actor)::text, NULL::text,
                        aid;
END
$$;


-- DELETE /api/v1/chat/channels/{id}/members/{user_id}: one leaves, or the
-- channel's creator removes someone.
CREATE FUNCTION chat_member_remove(actor uuid, cid uuid, uid uuid)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c    chat_channels;
    aid  bigint;
BEGIN
    SELECT * INTO c FROM chat_channels x WHERE x.id = cid;

    IF NOT FOUND OR NOT chat_may_see(actor, cid) THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such channel.',
                            NULL::bigint;
        RETURN;
    END IF;

    IF c.kind = 'direct' THEN
        RETURN QUERY SELECT 409, 'conflict',
            'A direct conversation''s people are fixed.', NULL::bigint;
        RETURN;
    END IF;

    IF uid <> actor AND c.created_by IS DISTINCT FROM actor THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only the channel''s creator removes someone else.',
            NULL::bigint;
        RETURN;
    END IF;

    -- the event goes to whoever was a member, the one removed too: taken
    -- now, as the trigger sees the channel after the removal
    aid := chat_audit(actor, 'chat_channel', cid, 'member_removed', cid,
                      jsonb_build_object('user_id', uid,
                                         'readers', chat_readers(cid)));

    DELETE FROM chat_members m WHERE m.channel_id = cid AND m.user_id = uid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', 'Not a member of the channel.',
                            NULL::bigint;
        RETURN;
    END IF;

    RETURN QUERY SELECT 204, NULL::text, NULL::text, aid;
END
$$;


-- GET /api/v1/chat/channels/{id}/messages?limit&cursor&parent_id: newest
-- first; the channel's own messages, or one thread's replies. The cursor
-- is the last item's id: pages stay put while new messages arrive.
CREATE FUNCTION chat_messages_list(actor uuid, cid uuid, lim int,
                                   cur uuid, parent uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    n      int := least(greatest(coalesce(lim, 50), 1), 200);
    after  bigint;
    items  jsonb;
    cnt    int;
    last   uuid;
BEGIN
    IF NOT chat_may_see(actor, cid) THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such channel.';
        RETURN;
    END IF;

    IF parent IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM chat_messages x
            WHERE x.id = parent AND x.channel_id = cid
              AND x.parent_id IS NULL)
    THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such thread here.';
        RETURN;
    END IF;

    IF cur IS NOT NULL THEN
        SELECT x.seq INTO after FROM chat_messages x
         WHERE x.id = cur AND x.channel_id = cid
           AND x.parent_id IS NOT DISTINCT FROM parent;
        IF after IS NULL THEN
            RETURN QUERY SELECT 400, 'bad_request',
                'cursor: a next_cursor of this list.';
            RETURN;
        END IF;
    END IF;

    SELECT coalesce(jsonb_agg(chat_message_json(p) ORDER BY p.seq DESC),
                    '[]'),
           count(*),
           (array_agg(p.id ORDER BY p.seq))[1]
      INTO items, cnt, last
      FROM (SELECT * FROM chat_messages x
             WHERE x.channel_id = cid
               AND x.parent_id IS NOT DISTINCT FROM parent
               AND (after IS NULL OR x.seq < after)
             ORDER BY x.seq DESC LIMIT n) p;

    RETURN QUERY SELECT 200, jsonb_build_object(
        'items', items,
        'next_cursor', CASE WHEN cnt = n THEN last END)::text, NULL::text;
END
$$;


-- POST /api/v1/chat/channels/{id}/messages {body, parent_id?}: posting in
-- a public channel joins it; a reply's parent is a message of the channel
-- (a reply to a reply is one to its thread's start). The people mentioned
-- who may see the channel are notified.
CREATE FUNCTION chat_message_post(actor uuid, cid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    txt     text := b->>'body';
    parent  uuid;
    m       chat_messages;
    aid     bigint;
BEGIN
    IF NOT chat_may_see(actor, cid) THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such channel.',
                            NULL::bigint;
        RETURN;
    END IF;

    IF txt IS NULL OR btrim(txt) = '' OR length(txt) > 10000 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'body: 1 to 10000 characters, not only spaces.', NULL::bigint;
        RETURN;
    END IF;

    IF b ? 'parent_id' AND b->'parent_id' <> 'null' THEN
        SELECT coalesce(x.parent_id, x.id) INTO parent FROM chat_messages x
         WHERE x.id::text = b->>'parent_id' AND x.channel_id = cid;
        IF parent IS NULL THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'parent_id: no such message in this channel.', NULL::bigint;
            RETURN;
        END IF;
    END IF;

    INSERT INTO chat_members (channel_id, user_id) VALUES (cid, actor)
    ON CONFLICT DO NOTHING;

    INSERT INTO chat_messages AS x (channel_id, parent_id, author_id, body)
    VALUES (cid, parent, actor, txt)
    RETURNING x.* INTO m;

    -- one's own message is read
    UPDATE chat_members x SET read_seq = m.seq
     WHERE x.channel_id = cid AND x.user_id = actor AND x.read_seq < m.seq;

    PERFORM notification_add(u, 'mentioned', actor, NULL,
                jsonb_build_object('channel_id', cid, 'message_id', m.id,
                                   'excerpt', left(txt, 200)))
       FROM chat_mentions(txt, cid) u;

    aid := chat_audit(actor, 'chat_message', m.id, 'created', cid);

    RETURN QUERY SELECT 201, chat_message_json(m)::text,
                        '/api/v1/chat/messages/' || m.id, aid;
END
$$;


-- PATCH /api/v1/chat/messages/{id} {body}: its author only. A new mention
-- in the new text is notified; one there before is not again.
CREATE FUNCTION chat_message_edit(actor uuid, mid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    txt  text := b->>'body';
    m    chat_messages;
    aid  bigint;
BEGIN
    SELECT * INTO m FROM chat_messages x WHERE x.id = mid FOR UPDATE;

    IF NOT FOUND OR NOT chat_may_see(actor, m.channel_id) THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such message.',
                            NULL::bigint;
        RETURN;
    END IF;

    IF m.author_id IS DISTINCT FROM actor THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only its author edits a message.', NULL::bigint;
        RETURN;
    END IF;

    IF m.deleted_at IS NOT NULL THEN
        RETURN QUERY SELECT 410, 'gone', 'The message was deleted.',
                            NULL::bigint;
        RETURN;
    END IF;

    IF txt IS NULL OR btrim(txt) = '' OR length(txt) > 10000 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'body: 1 to 10000 characters, not only spaces.', NULL::bigint;
        RETURN;
    END IF;

    PERFORM notification_add(u, 'mentioned', actor, NULL,
                jsonb_build_object('channel_id', m.channel_id,
                                   'message_id', m.id,
                                   'excerpt', left(txt, 200)))
       FROM (SELECT chat_mentions(txt, m.channel_id)
             EXCEPT SELECT chat_mentions(m.body, m.channel_id)) n(u);

    UPDATE chat_messages x SET body = txt, edited_at = now()
     WHERE x.id = mid RETURNING x.* INTO m;

    aid := chat_audit(actor, 'chat_message', m.id, 'updated', m.channel_id);

    RETURN QUERY SELECT 200, chat_message_json(m)::text, NULL::text, aid;
END
$$;


-- DELETE /api/v1/chat/messages/{id}: its author only; the row stays, its
-- text gone, so that its thread keeps its place.
CREATE FUNCTION chat_message_delete(actor uuid, mid uuid)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    m    chat_messages;
    aid  bigint;
BEGIN
    SELECT * INTO m FROM chat_messages x WHERE x.id = mid FOR UPDATE;

    IF NOT FOUND OR NOT chat_may_see(actor, m.channel_id)
       OR m.deleted_at IS NOT NULL
    THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such message.',
                            NULL::bigint;
        RETURN;
    END IF;

    IF m.author_id IS DISTINCT FROM actor THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only its author deletes a message.', NULL::bigint;
        RETURN;
    END IF;

    UPDATE chat_messages x SET body = NULL, deleted_at = now()
     WHERE x.id = mid;

    aid := chat_audit(actor, 'chat_message', mid, 'deleted', m.channel_id);

    RETURN QUERY SELECT 204, NULL::text, NULL::text, aid;
END
$$;


-- POST /api/v1/chat/channels/{id}/read?message_id=: read up to that
-- message, or all (a public channel's non-member has no count to clear).
-- Answers the channel as the person now sees it.
CREATE FUNCTION chat_channel_read(actor uuid, cid uuid, mid uuid)
RETURNS TABLE (status int, body text, extra text, hint bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    upto  bigint;
    c     chat_channels;
BEGIN
    IF NOT chat_may_see(actor, cid) THEN
        RETURN QUERY SELECT 404, 'not_found', 'No such channel.', NULL::bigint;
        RETURN;
    END IF;

    IF mid IS NOT NULL THEN
        SELECT x.seq INTO upto FROM chat_messages x
         WHERE x.id = mid AND x.channel_id = cid;
        IF upto IS NULL THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'message_id: no such message in this channel.', NULL::bigint;
            RETURN;
        END IF;
    ELSE
        SELECT coalesce(max(x.seq), 0) INTO upto FROM chat_messages x
         WHERE x.channel_id = cid;
    END IF;

    UPDATE chat_members x SET read_seq = greatest(x.read_seq, upto)
     WHERE x.channel_id = cid AND x.user_id = actor;

    SELECT * INTO c FROM chat_channels x WHERE x.id = cid;

    -- the 4th column only tells the feeds to read their logs now
    RETURN QUERY SELECT 200, chat_channel_json(c, actor)::text, NULL::text,
                        0::bigint;
END
$$;


-- The event of a chat audit row, made as the write commits (so the data is
-- the committed state): its type, data and readers.
CREATE FUNCTION chat_activity_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cid  uuid := (NEW.new_values->>'channel_id')::uuid;
    rd   uuid[];
    d    jsonb;
    t    text;
BEGIN
    rd := chat_readers(cid);

    IF NEW.entity_type = 'chat_message' THEN
        t := 'chat.message.' || NEW.action;
        d := coalesce((SELECT chat_message_json(m) FROM chat_messages m
                        WHERE m.id = NEW.entity_id),
                      jsonb_build_object('id', NEW.entity_id));
    ELSE
        t := 'chat.channel.' || CASE NEW.action WHEN 'created' THEN 'created'
                                                ELSE 'updated' END;
        d := coalesce((SELECT chat_channel_event_json(c) FROM chat_channels c
                        WHERE c.id = cid),
                      jsonb_build_object('id', cid));
        -- the one who was removed hears of it too
        IF NEW.new_values ? 'readers' AND rd IS NOT NULL THEN
            SELECT array_agg(DISTINCT u) INTO rd
              FROM (SELECT unnest(rd) u
                    UNION SELECT (x #>> '{}')::uuid
                      FROM jsonb_array_elements(
                               NEW.new_values->'readers') x) a;
        END IF;
    END IF;

    IF rd IS NULL AND cid IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM chat_channels c WHERE c.id = cid)
    THEN
        RETURN NULL;
    END IF;

    PERFORM event_add(NEW.id, t, NULL, rd, rd IS NULL, d);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER zz_chat_activity_event
    AFTER INSERT ON activity_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.entity_type IN ('chat_message', 'chat_channel'))
    EXECUTE FUNCTION chat_activity_event();


-- A read is the reader's own: their other browsers clear the badge.
CREATE FUNCTION chat_read_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM event_add(NULL, 'chat.read', NULL, ARRAY[NEW.user_id], false,
                      jsonb_build_object('channel_id', NEW.channel_id,
                          'unread_count',
                          (SELECT count(*) FROM chat_messages x
                            WHERE x.channel_id = NEW.channel_id
                              AND x.seq > NEW.read_seq
                              AND x.deleted_at IS NULL
                              AND x.author_id IS DISTINCT FROM NEW.user_id)));
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER zz_chat_read_event
    AFTER UPDATE OF read_seq ON chat_members
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.read_seq > OLD.read_seq)
    EXECUTE FUNCTION chat_read_event();


-- GDPR erasure: an erased person's messages are deleted as their author
-- would (the threads keep their tombstones) and they leave every channel.
CREATE FUNCTION chat_erase() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_messages SET body = NULL, deleted_at = now()
     WHERE author_id = NEW.id AND deleted_at IS NULL;
    DELETE FROM chat_members WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER chat_erase
    AFTER UPDATE OF status ON users
    FOR EACH ROW
    WHEN (NEW.status = 'erased' AND OLD.status <> 'erased')
    EXECUTE FUNCTION chat_erase();


-- GDPR export: the person's own messages, in the channels the one asking
-- may see (an admin exporting someone sees no private channel of theirs
-- that the admin is not in).
CREATE FUNCTION chat_export(subject uuid, asking uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', m.id, 'channel_id', m.channel_id,
               'channel', coalesce(c.name, 'direct'),
               'parent_id', m.parent_id, 'body', m.body,
               'created_at', m.created_at, 'edited_at', m.edited_at,
               'deleted_at', m.deleted_at) ORDER BY m.seq), '[]')
      FROM chat_messages m JOIN chat_channels c ON c.id = m.channel_id
     WHERE m.author_id = subject AND chat_may_see(asking, c.id)
$$;


-- Search: the messages the person may see, as hits of GET /api/v1/search.
CREATE FUNCTION chat_search(q tsquery, actor uuid)
RETURNS TABLE (type text, id uuid, title text, project_id uuid,
               rank real, highlight text, channel_id uuid)
LANGUAGE sql STABLE AS $$
    SELECT 'message', m.id,
           CASE WHEN c.kind = 'direct' THEN 'Direct message'
                ELSE '#' || c.name END,
           c.project_id,
           ts_rank(to_tsvector('simple', m.body), q),
           ts_headline('simple', m.body, q, 'StartSel=«, StopSel=»'),
           c.id
      FROM chat_messages m JOIN chat_channels c ON c.id = m.channel_id
     WHERE m.body IS NOT NULL
       AND to_tsvector('simple', m.body) @@ q
       AND chat_may_see(actor, c.id)
$$;
