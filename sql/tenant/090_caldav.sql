-- CalDAV (RFC 4791 on WebDAV, RFC 4918) for tasks: the to-do apps of
-- phones and desktops list a person's tasks as VTODOs and write back a
-- task's title (SUMMARY), due date (DUE), completion (STATUS, COMPLETED)
-- and priority (PRIORITY). modules/caldav/ hands each request here whole
-- (method, path, Depth, Authorization, If-Match, If-None-Match, body) and
-- sends what caldav_request answers.
--
-- Who calls: HTTP Basic with the person's email and one of their API
-- tokens (kbt_..., made in the app; an "app password" that can be revoked
-- alone). The account's password is never taken here. The token is found
-- by its SHA-256, as Authorization: Bearer finds it; its scopes hold (read
-- for reading, write for PUT).
--
-- What is where, all under /dav/:
--   /dav/                                  the root: current-user-principal
--   /dav/principals/{user}/                the person: calendar-home-set
--   /dav/calendars/{user}/                 their calendar home
--   /dav/calendars/{user}/tasks/           tasks assigned to them
--   /dav/calendars/{user}/project-{id}/    a project's tasks (their team's
--                                          projects, or where they have a
--                                          task), at most 50 projects
--   .../{collection}/{task id}.ics         one task, a VTODO
-- A collection holds its open tasks and those done in the last 90 days, at
-- most 2,000. A task's ETag is its version; a collection's getctag
-- changes whenever a task in it changes, comes or goes.
--
-- A PUT changes the task through task_update_skilled and task_move, the
-- functions PATCH /tasks/{id} and its move call: the same validation,
-- rights, activity log and rules. Completing it moves it to the project's
-- first done column, reopening it to the first todo column. A stale
-- If-Match is 412. Tasks are made and deleted in the app: a PUT of a new
-- name and a DELETE are refused (403).
--
-- XML comes in through PostgreSQL's parser (libxml2, whose external
-- entities PostgreSQL never loads); the module refuses a body with a
-- DOCTYPE before it gets here, and bounds its size.


-- XML text and attribute values: markup escaped, the control characters
-- XML 1.0 cannot carry dropped.
CREATE FUNCTION dav_x(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(
             replace(replace(replace(replace(s, '&', '&amp;'), '<', '&lt;'),
                             '>', '&gt;'), '"', '&quot;'),
             E'[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f]', '', 'g')
$$;


CREATE FUNCTION caldav_problem(st int, code text, detail text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'type', 'https://kanban.example/problems/' || code,
        'title', x.title, 'status', st, 'code', code,
        'detail', coalesce(detail, x.title))::text
      FROM (SELECT CASE code
            WHEN 'unauthorized' THEN 'Authentication is required.'
            WHEN 'forbidden' THEN 'This is not allowed.'
            WHEN 'not_found' THEN 'Nothing is here.'
            WHEN 'method_not_allowed' THEN 'The method is not allowed here.'
            WHEN 'precondition_failed'
                THEN 'It was changed by someone else.'
            WHEN 'validation_failed' THEN 'The input is not valid.'
            WHEN 'bad_request' THEN 'The request is malformed.'
            WHEN 'version_conflict' THEN 'It was changed by someone else.'
            WHEN 'wip_limit_reached' THEN 'The column is at its WIP limit.'
            ELSE 'The request cannot be done.' END AS title) x
$$;


-- The caller: Basic base64(email ":" kbt_...). NULL when anything is off.
CREATE FUNCTION caldav_user(auth text, OUT uid uuid, OUT writes boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    cred    text;
    who     text;
    secret  text;
BEGIN
    IF auth IS NULL OR auth !~* '^basic [A-Za-z0-9+/=]+$' THEN
        RETURN;
    END IF;

    BEGIN
        cred := convert_from(decode(substr(auth, 7), 'base64'), 'UTF8');
    EXCEPTION WHEN others THEN
        RETURN;
    END;

    IF position(':' IN cred) = 0 THEN
        RETURN;
    END IF;

    who := split_part(cred, ':', 1);
    secret := substr(cred, position(':' IN cred) + 1);

    IF secret !~ '^kbt_[0-9a-f]{64}$' THEN
        RETURN;
    END IF;

    SELECT u.id, s.s && ARRAY['write', 'admin']
      INTO uid, writes
      FROM api_tokens t JOIN users u ON u.id = t.user_id,
           LATERAL token_scopes(t, u) s (s)
     WHERE t.token_hash = encode(sha256(convert_to(secret, 'UTF8')), 'hex')
       AND t.revoked_at IS NULL
       AND (t.expires_at IS NULL OR t.expires_at > now())
       AND u.status = 'active' AND u.kind = 'person'
       AND lower(u.email) = lower(who)
       AND cardinality(s.s) > 0;
END
$$;


-- The collections of a person: their tasks, then their projects'.
CREATE FUNCTION caldav_collections(uid uuid)
RETURNS TABLE (name text, project_id uuid, display text)
LANGUAGE sql STABLE AS $$
    SELECT 'tasks', NULL::uuid, 'My tasks'
    UNION ALL
    (SELECT 'project-' || p.id, p.id, p.key || ' ' || p.name
       FROM projects p
      WHERE p.status NOT IN ('completed', 'cancelled')
        AND (EXISTS (SELECT 1 FROM team_members m
                      WHERE m.team_id = p.team_id AND m.user_id = uid)
             OR EXISTS (SELECT 1 FROM task_assignees a
                          JOIN tasks t ON t.id = a.task_id
                         WHERE a.user_id = uid AND t.project_id = p.id))
      ORDER BY p.key
      LIMIT 50)
$$;


-- The tasks of a collection: pid NULL is the person's own.
CREATE FUNCTION caldav_members(uid uuid, pid uuid) RETURNS SETOF tasks
LANGUAGE sql STABLE AS $$
    SELECT x.* FROM (
        SELECT t.* FROM task_assignees a JOIN tasks t ON t.id = a.task_id
         WHERE pid IS NULL AND a.user_id = uid
           AND (t.completed_at IS NULL
                OR t.completed_at > now() - interval '90 days')
        UNION ALL
        SELECT t.* FROM tasks t
         WHERE t.project_id = pid
           AND (t.completed_at IS NULL
                OR t.completed_at > now() - interval '90 days')) x
     ORDER BY x.id
     LIMIT 2000
$$;


CREATE FUNCTION caldav_holds(t tasks, uid uuid, pid uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN pid IS NULL
                THEN EXISTS (SELECT 1 FROM task_assignees a
                              WHERE a.task_id = t.id AND a.user_id = uid)
                ELSE t.project_id = pid END
$$;


CREATE FUNCTION caldav_ctag(uid uuid, pid uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT md5(coalesce(pid::text, 'tasks') || ':' || coalesce(
               string_agg(m.id || '.' || m.version, ',' ORDER BY m.id), ''))
      FROM caldav_members(uid, pid) m
$$;


-- RFC 5545 3.8.1.9: 1 is the highest, 9 the lowest, 0 undefined.
CREATE FUNCTION caldav_priority_out(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p WHEN 'urgent' THEN '1' WHEN 'high' THEN '3'
                  WHEN 'medium' THEN '5' ELSE '9' END
$$;

CREATE FUNCTION caldav_priority_in(n int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n = 1 THEN 'urgent' WHEN n BETWEEN 2 AND 4 THEN 'high'
                WHEN n = 5 THEN 'medium' WHEN n BETWEEN 6 AND 9 THEN 'low'
           END
$$;


-- A task as the calendar object a client stores: one VTODO. Its SUMMARY
-- is the bare title, so that what comes back is the title.
CREATE FUNCTION caldav_ics(t tasks, host text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN ics_line('BEGIN:VCALENDAR')
        || ics_line('VERSION:2.0')
        || ics_line('PRODID:-//Kanban//CalDAV 1.0//EN')
        || ics_line('BEGIN:VTODO')
        || ics_line('UID:task-' || t.id || '@' || host)
        || ics_line('DTSTAMP:' || ics_utc(t.updated_at))
        || ics_line('CREATED:' || ics_utc(t.created_at))
        || ics_line('LAST-MODIFIED:' || ics_utc(t.updated_at))
        || ics_line('SUMMARY:' || ics_text(t.title))
        || CASE WHEN t.description = '' THEN ''
                ELSE ics_line('DESCRIPTION:' || ics_text(
                                  left(t.description, 4000))) END
        || CASE WHEN t.due_date IS NULL THEN ''
                ELSE ics_line('DUE;VALUE=DATE:' || ics_date(t.due_date)) END
        || ics_line('STATUS:' || CASE WHEN t.completed_at IS NULL
                                      THEN 'NEEDS-ACTION'
                                      ELSE 'COMPLETED' END)
        || CASE WHEN t.completed_at IS NULL THEN ''
                ELSE ics_line('COMPLETED:' || ics_utc(t.completed_at)) END
        || ics_line('PRIORITY:' || caldav_priority_out(t.priority))
        || (SELECT ics_line('X-KANBAN-KEY:' || p.key || '-' || t.number)
              FROM projects p WHERE p.id = t.project_id)
        || ics_line('END:VTODO')
        || ics_line('END:VCALENDAR');
END
$$;


-- A TEXT value unescaped (the reverse of ics_text).
CREATE FUNCTION ics_untext(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(replace(replace(
             replace(regexp_replace(s, E'[\\x01-\\x08\\x0b-\\x1f\\x7f]', '',
                                    'g'),
                     E'\\\\', E'\x01'),
             E'\\n', E'\n'), E'\\N', E'\n'), E'\\,', ','), E'\\;', ';'),
             E'\x01', E'\\')
$$;


-- A UTC DATE-TIME (RFC 5545 3.3.5, "19980119T070000Z") as an instant.
CREATE FUNCTION ics_instant(s text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT make_timestamptz(substr(s, 1, 4)::int, substr(s, 5, 2)::int,
                            substr(s, 7, 2)::int, substr(s, 10, 2)::int,
                            substr(s, 12, 2)::int, substr(s, 14, 2)::int,
                            'UTC')
     WHERE s ~ '^\d{8}T\d{6}Z$'
$$;


-- The value of a component's first NAME line (the body unfolded first).
CREATE FUNCTION ics_value(comp text, name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (regexp_match(comp, '^' || name || '(;[^:\n]*)?:([^\n]*)$',
                         'in'))[2]
$$;


-- One property of a resource, as the XML inside its element; NULL: the
-- resource has none (404 in its propstat).
CREATE FUNCTION caldav_prop(kind text, ns text, name text, u users,
                            coll text, display text, pid uuid, t tasks,
                            host text)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN CASE
      WHEN ns = 'DAV:' AND name = 'current-user-principal'
        THEN '<d:href>/dav/principals/' || u.id || '/</d:href>'
      WHEN ns = 'DAV:' AND name IN ('principal-URL', 'owner')
           AND kind IN ('principal', 'home', 'calendar')
        THEN '<d:href>/dav/principals/' || u.id || '/</d:href>'
      WHEN ns = 'urn:ietf:params:xml:ns:caldav' AND name = 'calendar-home-set'
           AND kind IN ('root', 'principal')
        THEN '<d:href>/dav/calendars/' || u.id || '/</d:href>'
      WHEN ns = 'urn:ietf:params:xml:ns:caldav'
           AND name = 'calendar-user-address-set' AND kind = 'principal'
        THEN '<d:href>mailto:' || dav_x(u.email) || '</d:href>'
      WHEN ns = 'DAV:' AND name = 'resourcetype'
        THEN CASE kind WHEN 'principal' THEN '<d:principal/>'
                       WHEN 'calendar' THEN '<d:collection/><c:calendar/>'
                       WHEN 'item' THEN ''
                       ELSE '<d:collection/>' END
      WHEN ns = 'DAV:' AND name = 'displayname'
        THEN dav_x(CASE kind WHEN 'root' THEN 'Kanban'
                             WHEN 'principal' THEN u.name
                             WHEN 'home' THEN 'Calendars'
                             WHEN 'calendar' THEN display
                             ELSE t.title END)
      WHEN ns = 'urn:ietf:params:xml:ns:caldav'
           AND name = 'supported-calendar-component-set'
           AND kind = 'calendar'
        THEN '<c:comp name="VTODO"/>'
      WHEN ns = 'urn:ietf:params:xml:ns:caldav'
           AND name = 'supported-calendar-data' AND kind = 'calendar'
        THEN '<c:calendar-data content-type="text/calendar" version="2.0"/>'
      WHEN ns = 'DAV:' AND name = 'supported-report-set'
           AND kind = 'calendar'
        THEN '<d:supported-report><d:report><c:calendar-query/></d:report>'
             '</d:supported-report><d:supported-report><d:report>'
             '<c:calendar-multiget/></d:report></d:supported-report>'
      WHEN ns = 'DAV:' AND name = 'current-user-privilege-set'
        THEN '<d:privilege><d:read/></d:privilege>'
             || CASE WHEN kind IN ('calendar', 'item')
                     THEN '<d:privilege><d:write-content/></d:privilege>'
                     ELSE '' END
      WHEN ns = 'http://calendarserver.org/ns/' AND name = 'getctag'
           AND kind = 'calendar'
        THEN caldav_ctag(u.id, pid)
      WHEN ns = 'DAV:' AND name = 'getetag' AND kind = 'item'
        THEN dav_x('"' || t.version || '"')
      WHEN ns = 'DAV:' AND name = 'getcontenttype' AND kind = 'item'
        THEN 'text/calendar; charset=utf-8; component=VTODO'
      WHEN ns = 'DAV:' AND name = 'getlastmodified' AND kind = 'item'
        THEN to_char(t.updated_at AT TIME ZONE 'UTC',
                     'Dy, DD Mon YYYY HH24:MI:SS "GMT"')
      WHEN ns = 'urn:ietf:params:xml:ns:caldav' AND name = 'calendar-data'
           AND kind = 'item'
        THEN dav_x(caldav_ics(t, host))
    END;
END
$$;


-- An element's name as the answer writes it: the namespaces it declares
-- on the root by their prefix, any other with a declaration of its own.
CREATE FUNCTION caldav_tag(ns text, name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE ns
        WHEN 'DAV:' THEN 'd:' || name
        WHEN 'urn:ietf:params:xml:ns:caldav' THEN 'c:' || name
        WHEN 'http://calendarserver.org/ns/' THEN 'cs:' || name
        ELSE 'x:' || name || ' xmlns:x="' || dav_x(coalesce(ns, '')) || '"'
    END
$$;


-- One resource's <d:response>: what it has under 200, what not under 404.
CREATE FUNCTION caldav_response(href text, kind text, u users, coll text,
                                display text, pid uuid, t tasks, host text,
                                nss text[], names text[])
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    found    text := '';
    missing  text := '';
    v        text;
    tag      text;
    i        int;
BEGIN
    FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
        v := caldav_prop(kind, nss[i], names[i], u, coll, display, pid, t,
                         host);
        tag := caldav_tag(nss[i], names[i]);
        IF v IS NULL THEN
            missing := missing || '<' || tag || '/>';
        ELSE
            found := found || '<' || tag || '>' || v || '</'
                     || split_part(tag, ' ', 1) || '>';
        END IF;
    END LOOP;

    RETURN '<d:response><d:href>' || dav_x(href) || '</d:href>'
        || CASE WHEN found <> '' OR missing = ''
                THEN '<d:propstat><d:prop>' || found || '</d:prop>'
                     || '<d:status>HTTP/1.1 200 OK</d:status></d:propstat>'
                ELSE '' END
        || CASE WHEN missing <> ''
                THEN '<d:propstat><d:prop>' || missing || '</d:prop>'
                     || '<d:status>HTTP/1.1 404 Not Found</d:status>'
                     || '</d:propstat>'
                ELSE '' END
        || '</d:response>';
END
$$;


CREATE FUNCTION caldav_multistatus(responses text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '<?xml version="1.0" encoding="utf-8"?>' || E'\n'
        || '<d:multistatus xmlns:d="DAV:"'
        || ' xmlns:c="urn:ietf:params:xml:ns:caldav"'
        || ' xmlns:cs="http://calendarserver.org/ns/">'
        || coalesce(responses, '') || '</d:multistatus>' || E'\n'
$$;


-- The task a PUT sends back: its SUMMARY, DUE, STATUS/COMPLETED and
-- PRIORITY checked and changed as PATCH and move would, in one
-- transaction (a failed move undoes the change before it).
CREATE FUNCTION caldav_put(u users, t tasks, req text, expected int,
    OUT status int, OUT body text, OUT activity bigint, OUT event text,
    OUT event_body text)
LANGUAGE plpgsql AS $$
DECLARE
    ics      text;
    todo     text;
    summary  text;
    due_raw  text;
    due      date;
    stat     text;
    prio     text;
    done     boolean;
    patch    jsonb := '{}';
    col      uuid;
    r        record;
BEGIN
    ics := replace(replace(coalesce(req, ''), E'\r\n', E'\n'), E'\r', E'\n');
    ics := regexp_replace(ics, E'\n[ \t]', '', 'g');

    IF ics !~* E'^BEGIN:VCALENDAR\n' THEN
        status := 422;
        body := caldav_problem(422, 'validation_failed',
                               'The body is not an iCalendar object.');
        RETURN;
    END IF;

    todo := substring(ics FROM E'\nBEGIN:VTODO\n(.*?)\nEND:VTODO(\n|$)');
    IF todo IS NULL THEN
        status := 422;
        body := caldav_problem(422, 'validation_failed',
                               'Only to-dos (VTODO) sync here.');
        RETURN;
    END IF;
    todo := regexp_replace(todo, E'BEGIN:VALARM\n.*?END:VALARM(\n|$)', '',
                           'g');

    summary := btrim(ics_untext(ics_value(todo, 'SUMMARY')));
    due_raw := ics_value(todo, 'DUE');
    stat := upper(btrim(ics_value(todo, 'STATUS')));
    prio := btrim(ics_value(todo, 'PRIORITY'));

    IF summary IS NULL OR summary = '' OR length(summary) > 500 THEN
        status := 422;
        body := caldav_problem(422, 'validation_failed',
                    'SUMMARY, the task''s title, is 1 to 500 characters.');
        RETURN;
    END IF;

    IF due_raw IS NOT NULL AND due_raw !~ '^\d{8}(T\d{6}Z?)?$' THEN
        status := 422;
        body := caldav_problem(422, 'validation_failed',
                               'DUE is a date or a date and time.');
        RETURN;
    END IF;

    IF prio IS NOT NULL AND prio !~ '^\d$' THEN
        status := 422;
        body := caldav_problem(422, 'validation_failed',
                               'PRIORITY is 0 to 9.');
        RETURN;
    END IF;

    BEGIN
        due := CASE WHEN due_raw IS NULL THEN NULL
                    WHEN due_raw LIKE '%Z'
                    THEN local_date(ics_instant(due_raw))
                    ELSE to_date(left(due_raw, 8), 'YYYYMMDD') END;
    EXCEPTION WHEN others THEN
        status := 422;
        body := caldav_problem(422, 'validation_failed',
                               'DUE is not a date of the calendar.');
        RETURN;
    END;

    done := CASE WHEN stat = 'COMPLETED' THEN true
                 WHEN stat IS NULL AND ics_value(todo, 'COMPLETED') IS NOT NULL
                 THEN true
                 WHEN stat = 'CANCELLED' THEN t.completed_at IS NOT NULL
                 ELSE false END;

    IF summary <> t.title THEN
        patch := patch || jsonb_build_object('title', summary);
    END IF;
    IF due IS DISTINCT FROM t.due_date THEN
        patch := patch || jsonb_build_object('due_date', due);
    END IF;
    IF caldav_priority_in(prio::int) IS NOT NULL
       AND caldav_priority_in(prio::int) <> t.priority
    THEN
        patch := patch || jsonb_build_object('priority',
                                             caldav_priority_in(prio::int));
    END IF;

    IF done <> (t.completed_at IS NOT NULL) THEN
        SELECT c.id INTO col FROM columns c
         WHERE c.project_id = t.project_id
           AND CASE WHEN done THEN c.category = 'done'
                    ELSE c.category <> 'done' END
         ORDER BY CASE WHEN done OR c.category = 'todo' THEN 0 ELSE 1 END,
                  c.position
         LIMIT 1;

        IF col IS NULL THEN
            status := 422;
            body := caldav_problem(422, 'validation_failed',
                        'The task''s project has no column to move it to.');
            RETURN;
        END IF;
    END IF;

    status := 204;

    BEGIN
        IF patch <> '{}' THEN
            SELECT * INTO r FROM task_update_skilled(u.id, u.role, t.id, patch,
                                                     expected);
            IF r.status >= 300 THEN
                RAISE EXCEPTION USING ERRCODE = 'KBDAV',
                    MESSAGE = r.status || ' ' || r.body,
                    DETAIL = coalesce(r.extra, '');
            END IF;
            event := 'task.updated';
            event_body := r.body;
            expected := NULL;
        END IF;

        IF col IS NOT NULL THEN
            SELECT * INTO r FROM task_move(u.id, u.role, t.id,
                                           jsonb_build_object('column_id', col),
                                           expected);
            IF r.status >= 300 THEN
                RAISE EXCEPTION USING ERRCODE = 'KBDAV',
                    MESSAGE = r.status || ' ' || r.body,
                    DETAIL = coalesce(r.extra, '');
            END IF;
            event := 'task.moved';
            event_body := r.body;
        END IF;
    EXCEPTION WHEN SQLSTATE 'KBDAV' THEN
        GET STACKED DIAGNOSTICS ics = MESSAGE_TEXT, todo = PG_EXCEPTION_DETAIL;
        status := split_part(ics, ' ', 1)::int;
        IF status = 409 AND split_part(ics, ' ', 2) = 'version_conflict' THEN
            status := 412;
            body := caldav_problem(412, 'precondition_failed',
                        'The task was changed meanwhile: read it again.');
        ELSE
            body := caldav_problem(status, split_part(ics, ' ', 2),
                                   nullif(todo, ''));
        END IF;
        event := NULL;
        event_body := NULL;
        RETURN;
    END;

    IF event IS NOT NULL THEN
        activity := currval('activity_log_id_seq');
    END IF;
END
$$;


-- A request, whole: (status, body, media type, ETag, and after a change
-- its audit row and event for the stream).
CREATE FUNCTION caldav_request(meth text, path text, depth text, auth text,
                               if_match text, if_none_match text, req text,
                               origin text)
RETURNS TABLE (status int, body text, content_type text, etag text,
               activity bigint, event text, event_body text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    problem  text := 'application/problem+json';
    ms       text := 'application/xml; charset=utf-8';
    host     text := regexp_replace(origin, '^[a-z]+://([^:/]+).*$', '\1');
    cu       record;
    u        users;
    m        text[];
    kind     text;
    coll     text;
    display  text;
    pid      uuid;
    t        tasks;
    c        record;
    doc      xml;
    nss      text[];
    names    text[];
    ns       text[] := ARRAY[ARRAY['d', 'DAV:'],
                             ARRAY['c', 'urn:ietf:params:xml:ns:caldav']];
    out_     text := '';
    base     text;
    expected int;
    p        record;
    open_    boolean;
    lo       timestamptz;
    hi       timestamptz;
BEGIN
    SELECT * INTO cu FROM caldav_user(auth);
    SELECT * INTO u FROM users WHERE id = cu.uid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 401, caldav_problem(401, 'unauthorized',
            'Sign in with your email and an API token (HTTP Basic).'),
            problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF meth IN ('PUT', 'DELETE') AND NOT cu.writes THEN
        RETURN QUERY SELECT 403, caldav_problem(403, 'forbidden',
            'This API token may only read: give one the write scope.'),
            problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    -- which resource
    IF path ~ '^/dav/?$' THEN
        kind := 'root';
        base := '/dav/';
    ELSIF path ~ '^/dav/principals/[0-9a-f-]{36}/?$' THEN
        kind := 'principal';
        m := regexp_match(path, '^/dav/principals/([0-9a-f-]{36})');
    ELSIF path ~ '^/dav/calendars/[0-9a-f-]{36}/?$' THEN
        kind := 'home';
        m := regexp_match(path, '^/dav/calendars/([0-9a-f-]{36})');
    ELSE
        m := regexp_match(path, '^/dav/calendars/([0-9a-f-]{36})/'
                                || '(tasks|project-[0-9a-f-]{36})(/([^/]*))?$');
        IF m IS NOT NULL THEN
            kind := CASE WHEN coalesce(m[4], '') = '' THEN 'calendar'
                         ELSE 'item' END;
        END IF;
    END IF;

    IF kind IS NULL OR (kind <> 'root' AND m[1] <> u.id::text) THEN
        RETURN QUERY SELECT 404, caldav_problem(404, 'not_found', NULL),
            problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF kind = 'principal' THEN
        base := '/dav/principals/' || u.id || '/';
    ELSIF kind = 'home' THEN
        base := '/dav/calendars/' || u.id || '/';
    ELSIF kind IN ('calendar', 'item') THEN
        coll := m[2];
        SELECT * INTO c FROM caldav_collections(u.id) k WHERE k.name = coll;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 404, caldav_problem(404, 'not_found', NULL),
                problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
            RETURN;
        END IF;
        pid := c.project_id;
        display := c.display;
        base := '/dav/calendars/' || u.id || '/' || coll || '/';

        IF kind = 'item' THEN
            IF m[4] ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.ics$'
            THEN
                SELECT * INTO t FROM tasks
                 WHERE id = left(m[4], 36)::uuid;
                IF FOUND AND NOT caldav_holds(t, u.id, pid) THEN
                    t := NULL;
                END IF;
            END IF;
        END IF;
    END IF;

    -- what is done to it
    IF meth IN ('GET', 'HEAD') THEN
        IF kind <> 'item' OR t.id IS NULL THEN
            RETURN QUERY SELECT 404, caldav_problem(404, 'not_found',
                CASE WHEN kind = 'item' THEN NULL ELSE
                'A collection is read with PROPFIND or REPORT.' END),
                problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
            RETURN;
        END IF;
        RETURN QUERY SELECT 200, caldav_ics(t, host),
            'text/calendar; charset=utf-8', '"' || t.version || '"',
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF meth = 'DELETE' THEN
        RETURN QUERY SELECT CASE WHEN t.id IS NULL THEN 404 ELSE 403 END,
            CASE WHEN t.id IS NULL THEN caldav_problem(404, 'not_found', NULL)
                 ELSE caldav_problem(403, 'forbidden',
                     'Tasks are deleted in the app; a calendar client '
                     'changes them, completes them or reopens them.') END,
            problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF meth = 'PUT' THEN
        IF kind <> 'item' OR t.id IS NULL THEN
            RETURN QUERY SELECT 403, caldav_problem(403, 'forbidden',
                'Tasks are made in the app; a calendar client changes the '
                'ones it has.'),
                problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
            RETURN;
        END IF;

        IF if_none_match = '*' THEN
            RETURN QUERY SELECT 412, caldav_problem(412,
                'precondition_failed', 'The task exists already.'),
                problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
            RETURN;
        END IF;

        IF if_match IS NOT NULL AND btrim(if_match) <> '*' THEN
            IF btrim(if_match) !~ '^(W/)?"\d{1,9}"$'
               OR substring(if_match FROM '"(\d+)"')::int <> t.version
            THEN
                RETURN QUERY SELECT 412, caldav_problem(412,
                    'precondition_failed',
                    'The task was changed meanwhile: read it again.'),
                    problem, NULL::text, NULL::bigint, NULL::text,
                    NULL::text;
                RETURN;
            END IF;
            expected := t.version;
        END IF;

        SELECT * INTO p FROM caldav_put(u, t, req, expected);
        RETURN QUERY SELECT p.status, p.body,
            CASE WHEN p.status >= 400 THEN problem END, NULL::text,
            p.activity, p.event, p.event_body;
        RETURN;
    END IF;

    IF meth NOT IN ('PROPFIND', 'REPORT') THEN
        RETURN QUERY SELECT 405, caldav_problem(405, 'method_not_allowed',
            NULL), problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF kind = 'item' AND t.id IS NULL THEN
        RETURN QUERY SELECT 404, caldav_problem(404, 'not_found', NULL),
            problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF coalesce(btrim(req), '') <> '' THEN
        BEGIN
            doc := xmlparse(DOCUMENT req);
        EXCEPTION WHEN others THEN
            RETURN QUERY SELECT 400, caldav_problem(400, 'bad_request',
                'The body is not well-formed XML.'),
                problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
            RETURN;
        END;
    END IF;

    -- the properties asked for; none named (allprop, an empty body): all
    -- those a client reads
    IF doc IS NOT NULL THEN
        SELECT array_agg(w.wns ORDER BY w.n), array_agg(w.wnm ORDER BY w.n)
          INTO nss, names
          FROM XMLTABLE(XMLNAMESPACES('DAV:' AS d),
                        '/*/d:prop/*' PASSING doc
                        COLUMNS n FOR ORDINALITY,
                                wns text PATH 'namespace-uri()',
                                wnm text PATH 'local-name()') w
         WHERE w.n <= 64;
    END IF;

    IF names IS NULL THEN
        nss := ARRAY['DAV:', 'DAV:', 'DAV:', 'DAV:', 'DAV:', 'DAV:',
                     'urn:ietf:params:xml:ns:caldav',
                     'http://calendarserver.org/ns/', 'DAV:'];
        names := ARRAY['resourcetype', 'displayname',
                       'current-user-principal', 'getetag', 'getcontenttype',
                       'getlastmodified', 'supported-calendar-component-set',
                       'getctag', 'supported-report-set'];
    END IF;

    IF meth = 'PROPFIND' THEN
        IF kind = 'item' THEN
            out_ := caldav_response(base || left(m[4], 40), kind, u, coll,
                                    display, pid, t, host, nss, names);
        ELSE
            out_ := caldav_response(base, kind, u, coll, display, pid, NULL,
                                    host, nss, names);
        END IF;

        IF coalesce(depth, 'infinity') <> '0' THEN
            IF kind = 'home' THEN
                out_ := out_ || coalesce((
                    SELECT string_agg(caldav_response(
                               base || k.name || '/', 'calendar', u, k.name,
                               k.display, k.project_id, NULL, host, nss,
                               names), '')
                      FROM caldav_collections(u.id) k), '');
            ELSIF kind = 'calendar' THEN
                out_ := out_ || coalesce((
                    SELECT string_agg(caldav_response(
                               base || x.id || '.ics', 'item', u, coll,
                               display, pid, x, host, nss, names), ''
                               ORDER BY x.id)
                      FROM caldav_members(u.id, pid) x), '');
            END IF;
        END IF;

        RETURN QUERY SELECT 207, caldav_multistatus(out_), ms, NULL::text,
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    -- REPORT
    IF kind NOT IN ('calendar', 'item') THEN
        RETURN QUERY SELECT 403, caldav_problem(403, 'forbidden',
            'Reports are asked of a calendar collection.'),
            problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF doc IS NOT NULL AND xpath_exists('/c:calendar-multiget', doc, ns) THEN
        SELECT string_agg(CASE WHEN x.id IS NULL
                   THEN '<d:response><d:href>' || dav_x(h.href)
                        || '</d:href><d:status>HTTP/1.1 404 Not Found'
                        || '</d:status></d:response>'
                   ELSE caldav_response(base || x.id || '.ics', 'item', u,
                            coll, display, pid, x, host, nss, names) END,
                   '' ORDER BY h.n)
          INTO out_
          FROM (SELECT w.n, w.href,
                       (regexp_match(w.href, '/([0-9a-f]{8}-[0-9a-f]{4}-'
                           || '[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.ics$'))[1]
                       AS tid
                  FROM XMLTABLE(XMLNAMESPACES('DAV:' AS d,
                                    'urn:ietf:params:xml:ns:caldav' AS c),
                                '/c:calendar-multiget/d:href' PASSING doc
                                COLUMNS n FOR ORDINALITY,
                                        href text PATH '.') w
                 WHERE w.n <= 2000) h
          LEFT JOIN tasks x
                 ON x.id = h.tid::uuid
                AND rtrim(regexp_replace(h.href, '^[a-z]+://[^/]+', ''),
                          '/') = base || x.id || '.ics'
                AND caldav_holds(x, u.id, pid);

        RETURN QUERY SELECT 207, caldav_multistatus(out_), ms, NULL::text,
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF doc IS NULL OR NOT xpath_exists('/c:calendar-query', doc, ns) THEN
        RETURN QUERY SELECT 403, caldav_problem(403, 'forbidden',
            'The reports here are calendar-query and calendar-multiget.'),
            problem, NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    -- calendar-query: to-dos (none when only events are asked for),
    -- open ones only when COMPLETED must be undefined or STATUS not
    -- COMPLETED, due within a time-range when one is given
    IF xpath_exists('/c:calendar-query/c:filter/c:comp-filter/c:comp-filter',
                    doc, ns)
       AND NOT xpath_exists('/c:calendar-query/c:filter/c:comp-filter/'
                            'c:comp-filter[@name="VTODO"]', doc, ns)
    THEN
        RETURN QUERY SELECT 207, caldav_multistatus(''), ms, NULL::text,
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    -- every to-do here has a STATUS: one that must have none matches none
    IF xpath_exists('//c:comp-filter[@name="VTODO"]'
                    '/c:prop-filter[@name="STATUS"]/c:is-not-defined', doc, ns)
    THEN
        RETURN QUERY SELECT 207, caldav_multistatus(''), ms, NULL::text,
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    open_ := xpath_exists('//c:comp-filter[@name="VTODO"]'
                          '/c:prop-filter[@name="COMPLETED"]/c:is-not-defined',
                          doc, ns)
          OR xpath_exists('//c:comp-filter[@name="VTODO"]'
                          '/c:prop-filter[@name="STATUS"]'
                          '/c:text-match[@negate-condition="yes"]'
                          '[normalize-space(.)="COMPLETED"]', doc, ns)
          OR xpath_exists('//c:comp-filter[@name="VTODO"]'
                          '/c:prop-filter[@name="STATUS"]'
                          '/c:text-match[not(@negate-condition="yes")]'
                          '[normalize-space(.)="NEEDS-ACTION"]', doc, ns);

    BEGIN
        lo := ics_instant((xpath('string(//c:comp-filter[@name="VTODO"]'
                                 '/c:time-range/@start)', doc, ns))[1]::text);
    EXCEPTION WHEN others THEN
        lo := NULL;
    END;
    BEGIN
        hi := ics_instant((xpath('string(//c:comp-filter[@name="VTODO"]'
                                 '/c:time-range/@end)', doc, ns))[1]::text);
    EXCEPTION WHEN others THEN
        hi := NULL;
    END;

    SELECT string_agg(caldav_response(base || x.id || '.ics', 'item', u,
                          coll, display, pid, x, host, nss, names), ''
                      ORDER BY x.id)
      INTO out_
      FROM caldav_members(u.id, pid) x
     WHERE (kind = 'calendar' OR x.id = t.id)
       AND (NOT open_ OR x.completed_at IS NULL)
       AND (x.due_date IS NULL
            OR ((lo IS NULL OR x.due_date + 1 > local_date(lo))
                AND (hi IS NULL OR x.due_date < local_date(hi) + 1)));

    RETURN QUERY SELECT 207, caldav_multistatus(out_), ms, NULL::text,
        NULL::bigint, NULL::text, NULL::text;
END
$$;
