-- Private calendar feeds (ICS, RFC 5545): a URL with a secret in it that a
-- calendar app polls without a session. A person's feed holds the tasks
-- assigned to them, the milestones and sprints of their projects and
-- their approved absences; a project's feed (made by its managers) the
-- project's tasks, milestones and sprints and the approved absences of the
-- people assigned to its tasks.
--
-- The secret is shown once, in the answer that makes the feed; only its
-- SHA-256 is kept, so a lost URL is revoked and a new one made. The feed is
-- found by its id and the presented secret's hash is compared to the kept
-- one by xor of all 256 bits (no early exit on the first differing byte).
-- A revoked feed is deleted: its URL answers 404 at once.
--
-- What a feed holds is bounded: due dates from 90 days back to a year
-- ahead, at most 2,000 tasks.

CREATE TABLE calendar_feeds (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   uuid REFERENCES projects (id) ON DELETE CASCADE,
    style        text NOT NULL DEFAULT 'todo'
                 CHECK (style IN ('todo', 'event')),
    secret_hash  text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX calendar_feeds_user ON calendar_feeds (user_id);
CREATE INDEX calendar_feeds_project ON calendar_feeds (project_id);


CREATE FUNCTION calendar_feed_json(f calendar_feeds) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', f.id, 'project_id', f.project_id,
                              'style', f.style, 'created_by', f.user_id,
                              'created_at', f.created_at)
$$;


-- A new feed: the caller's own (pid NULL) or a project's (its managers);
-- the answer carries the URL, the only time its secret is shown.
CREATE FUNCTION calendar_feed_create(actor uuid, role text, pid uuid,
                                     b jsonb, origin text)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p       projects;
    f       calendar_feeds;
    secret  text;
    act     bigint;
BEGIN
    IF pid IS NOT NULL THEN
        SELECT * INTO p FROM projects WHERE id = pid;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint;
            RETURN;
        END IF;
        IF NOT can_manage_project(actor, role, p.team_id) THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Only the project''s managers make its calendar feeds.',
                NULL::bigint;
            RETURN;
        END IF;
    END IF;

    IF coalesce(b->>'style', 'todo') NOT IN ('todo', 'event') THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'style is todo or event.', NULL::bigint;
        RETURN;
    END IF;

    IF (SELECT count(*) FROM calendar_feeds c
         WHERE c.user_id = actor
           AND c.project_id IS NOT DISTINCT FROM pid) >= 10 THEN
        RETURN QUERY SELECT 409, 'conflict',
            'At most 10 feeds each: revoke one first.', NULL::bigint;
        RETURN;
    END IF;

    -- 244 random bits from two version-4 UUIDs (a strong source)
    secret := replace(gen_random_uuid()::text || gen_random_uuid()::text,
                      '-', '');

    INSERT INTO calendar_feeds (user_id, project_id, style, secret_hash)
    VALUES (actor, pid, coalesce(b->>'style', 'todo'),
            encode(sha256(convert_to(secret, 'UTF8')), 'hex'))
    RETURNING * INTO f;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'calendar_feed', f.id, 'created',
            jsonb_build_object('style', f.style))
    RETURNING id INTO act;

    RETURN QUERY SELECT 201, (calendar_feed_json(f) || jsonb_build_object(
        'url', origin || '/api/v1/ical/' || f.id || '/' || secret))::text,
        '/api/v1/calendar-feeds/' || f.id, act;
END
$$;


-- A caller's own feeds, or a project's (its managers see them all).
CREATE FUNCTION calendar_feeds_list(actor uuid, role text, pid uuid)
RETURNS TABLE (status int, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p  projects;
BEGIN
    IF pid IS NOT NULL THEN
        SELECT * INTO p FROM projects WHERE id = pid;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 404, 'not_found';
            RETURN;
        END IF;
        IF NOT can_manage_project(actor, role, p.team_id) THEN
            RETURN QUERY SELECT 403, 'forbidden';
            RETURN;
        END IF;
    END IF;

    RETURN QUERY SELECT 200, jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(calendar_feed_json(f) ORDER BY f.created_at, f.id)
          FROM calendar_feeds f
         WHERE (pid IS NULL AND f.project_id IS NULL AND f.user_id = actor)
            OR (pid IS NOT NULL AND f.project_id = pid)), '[]'))::text;
END
$$;


-- Revoked by who made it, or by a manager of its project.
CREATE FUNCTION calendar_feed_revoke(actor uuid, role text, fid uuid)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    f    calendar_feeds;
    act  bigint;
BEGIN
    SELECT * INTO f FROM calendar_feeds WHERE id = fid FOR UPDATE;

    IF NOT FOUND OR NOT (f.user_id = actor OR (f.project_id IS NOT NULL
        AND can_manage_project(actor, role,
                (SELECT team_id FROM projects WHERE id = f.project_id))))
    THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint;
        RETURN;
    END IF;

    DELETE FROM calendar_feeds WHERE id = fid;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values)
    VALUES (actor, f.project_id, 'calendar_feed', f.id, 'revoked',
            jsonb_build_object('style', f.style))
    RETURNING id INTO act;

    RETURN QUERY SELECT 204, NULL::text, NULL::text, act;
END
$$;


-- RFC 5545 3.3.11: a TEXT value's backslash, semicolon, comma and line
-- breaks escaped; other control characters dropped.
CREATE FUNCTION ics_text(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(
             replace(replace(replace(replace(replace(
               replace(s, E'\\', E'\\\\'), ';', E'\\;'), ',', E'\\,'),
               E'\r\n', E'\\n'), E'\n', E'\\n'), E'\r', E'\\n'),
             E'[\\x01-\\x08\\x0b-\\x1f\\x7f]', '', 'g')
$$;


-- RFC 5545 3.1: a content line folded so that no line is longer than 75
-- octets (the continuation's leading space counted), never inside a
-- UTF-8 character; ends with CRLF.
CREATE FUNCTION ics_line(s text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    out_  text := '';
    cur   text := '';
    room  int := 75;
    used  int := 0;
    ch    text;
    n     int;
BEGIN
    IF octet_length(s) <= 75 THEN
        RETURN s || E'\r\n';
    END IF;

    FOREACH ch IN ARRAY regexp_split_to_array(s, '') LOOP
        n := octet_length(ch);
        IF used + n > room THEN
            out_ := out_ || cur || E'\r\n ';
            cur := '';
            used := 0;
            room := 74;
        END IF;
        cur := cur || ch;
        used := used + n;
    END LOOP;

    RETURN out_ || cur || E'\r\n';
END
$$;

CREATE FUNCTION ics_date(d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT to_char(d, 'YYYYMMDD') $$;

CREATE FUNCTION ics_utc(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"')
$$;


-- One all-day VEVENT from first to last (inclusive; DTEND is exclusive).
CREATE FUNCTION ics_all_day(uid text, stamp timestamptz, first date,
                            last date, summary text, descr text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ics_line('BEGIN:VEVENT')
        || ics_line('UID:' || uid)
        || ics_line('DTSTAMP:' || ics_utc(stamp))
        || ics_line('DTSTART;VALUE=DATE:' || ics_date(first))
        || ics_line('DTEND;VALUE=DATE:' || ics_date(last + 1))
        || ics_line('SUMMARY:' || ics_text(summary))
        || CASE WHEN coalesce(descr, '') = '' THEN ''
                ELSE ics_line('DESCRIPTION:' || ics_text(descr)) END
        || ics_line('TRANSP:TRANSPARENT')
        || ics_line('END:VEVENT')
$$;


-- A task: a VTODO due on its date, or an all-day VEVENT on it.
CREATE FUNCTION ics_task(t tasks, k text, style text, host text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN style = 'event' THEN
        ics_all_day('task-' || t.id || '@' || host, t.updated_at,
                    t.due_date, t.due_date, k || '-' || t.number || ' '
                    || t.title, NULL)
    ELSE
        ics_line('BEGIN:VTODO')
        || ics_line('UID:task-' || t.id || '@' || host)
        || ics_line('DTSTAMP:' || ics_utc(t.updated_at))
        || ics_line('DUE;VALUE=DATE:' || ics_date(t.due_date))
        || ics_line('SUMMARY:' || ics_text(k || '-' || t.number || ' '
                                            || t.title))
        || ics_line('STATUS:' || CASE WHEN t.completed_at IS NULL
                                      THEN 'NEEDS-ACTION'
                                      ELSE 'COMPLETED' END)
        || CASE WHEN t.completed_at IS NULL THEN ''
                ELSE ics_line('COMPLETED:' || ics_utc(t.completed_at)) END
        || ics_line('PRIORITY:' || CASE t.priority WHEN 'urgent' THEN '1'
                                        WHEN 'high' THEN '3'
                                        WHEN 'medium' THEN '5'
                                        ELSE '9' END)
        || ics_line('END:VTODO')
    END
$$;


-- The feed itself: 404 for an unknown id, a wrong secret or a revoked
-- feed alike. as_ (the query's "as": todo or event) overrides the style.
CREATE FUNCTION calendar_feed_ics(fid uuid, secret text, as_ text,
                                  origin text)
RETURNS TABLE (status int, body text, extra text, activity bigint,
               content_type text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    f       calendar_feeds;
    u       users;
    p       projects;
    style   text;
    host    text;
    lo      date := workspace_today() - 90;
    hi      date := workspace_today() + 365;
    people  uuid[];
    projs   uuid[];
    out_    text;
BEGIN
    IF secret !~ '^[0-9a-f]{64}$' THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint,
                            NULL::text;
        RETURN;
    END IF;

    SELECT * INTO f FROM calendar_feeds WHERE id = fid;

    IF NOT FOUND
       OR bit_count(('x' || f.secret_hash)::bit(256)
                    # ('x' || encode(sha256(convert_to(secret, 'UTF8')),
                                     'hex'))::bit(256)) <> 0
    THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint,
                            NULL::text;
        RETURN;
    END IF;

    SELECT * INTO u FROM users WHERE id = f.user_id AND status = 'active';
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint,
                            NULL::text;
        RETURN;
    END IF;

    IF as_ IS NOT NULL AND as_ NOT IN ('todo', 'event') THEN
        RETURN QUERY SELECT 400, 'bad_request', 'as is todo or event.',
                            NULL::bigint, NULL::text;
        RETURN;
    END IF;

    style := coalesce(as_, f.style);
    host := regexp_replace(origin, '^[a-z]+://([^:/]+).*$', '\1');

    IF f.project_id IS NOT NULL THEN
        SELECT * INTO p FROM projects WHERE id = f.project_id;
        projs := ARRAY[f.project_id];
        people := ARRAY(SELECT DISTINCT a.user_id
                          FROM task_assignees a
                          JOIN tasks t ON t.id = a.task_id
                         WHERE t.project_id = f.project_id);
    ELSE
        projs := ARRAY(SELECT DISTINCT t.project_id
                         FROM task_assignees a
                         JOIN tasks t ON t.id = a.task_id
                        WHERE a.user_id = f.user_id);
        people := ARRAY[f.user_id];
    END IF;

    out_ := ics_line('BEGIN:VCALENDAR')
         || ics_line('VERSION:2.0')
         || ics_line('PRODID:-//Kanban//Calendar feed 1.0//EN')
         || ics_line('CALSCALE:GREGORIAN')
         || ics_line('METHOD:PUBLISH')
         || ics_line('X-WR-CALNAME:' || ics_text(CASE
                WHEN p.id IS NOT NULL THEN p.key || ' ' || p.name
                ELSE u.name || ': my tasks' END));

    out_ := out_ || coalesce((
        SELECT string_agg(ics_task(t, x.key, style, host), ''
                          ORDER BY t.due_date, t.id)
          FROM (SELECT t.*
                  FROM tasks t
                 WHERE t.due_date BETWEEN lo AND hi
                   AND (t.project_id = f.project_id
                        OR (f.project_id IS NULL AND EXISTS (
                              SELECT 1 FROM task_assignees a
                               WHERE a.task_id = t.id
                                 AND a.user_id = f.user_id)))
                 ORDER BY t.due_date, t.id
                 LIMIT 2000) t
          JOIN projects x ON x.id = t.project_id), '');

    out_ := out_ || coalesce((
        SELECT string_agg(ics_all_day('milestone-' || m.id || '@' || host,
                              m.updated_at, m.due_date, m.due_date,
                              'Milestone: ' || m.name, m.description), ''
                          ORDER BY m.due_date, m.id)
          FROM milestones m
         WHERE m.project_id = ANY (projs)
           AND m.due_date BETWEEN lo AND hi), '');

    out_ := out_ || coalesce((
        SELECT string_agg(ics_all_day('sprint-' || s.id || '@' || host,
                              s.updated_at, s.start_date, s.end_date,
                              'Sprint: ' || s.name, s.goal), ''
                          ORDER BY s.start_date, s.id)
          FROM sprints s
         WHERE s.project_id = ANY (projs)
           AND s.start_date IS NOT NULL AND s.end_date IS NOT NULL
           AND s.end_date >= lo AND s.start_date <= hi), '');

    out_ := out_ || coalesce((
        SELECT string_agg(ics_all_day('absence-' || b.id || '@' || host,
                              coalesce(b.decided_at, b.created_at),
                              b.start_date, b.end_date,
                              w.name || ': away (' || b.kind || ')', NULL),
                          '' ORDER BY b.start_date, b.id)
          FROM absences b
          JOIN users w ON w.id = b.user_id
         WHERE b.user_id = ANY (people)
           AND b.status = 'approved'
           AND b.end_date >= lo AND b.start_date <= hi), '');

    RETURN QUERY SELECT 200, out_ || ics_line('END:VCALENDAR'),
                        NULL::text, NULL::bigint,
                        'text/calendar; charset=utf-8';
END
$$;
