-- Working time (issue 25): what a person owes and what they worked.
--
-- A person's target is a weekly pattern (minutes for Monday to Sunday,
-- each from the date it takes effect; part time is a pattern with fewer),
-- or, without one, their weekly capacity over Monday to Friday as
-- before. A public holiday (imported by an admin from an iCalendar file)
-- and an approved absence (vacation, sick, other; requested and decided
-- like a week's timesheet) make a day's target 0. day_target() is the one
-- definition of a day's target: the overtime balance and the capacity of
-- the utilisation report both read it.
--
-- Worked time is the minutes of a day's entries; their breaks are
-- recorded beside (break_minutes; a paused timer's pauses become its
-- entry's break). The workspace's break rules say how long the breaks of
-- a day that worked more than so long must be at least (30 minutes after
-- 6 hours by default); the day is checked against them.
--
-- The balance counts from the person's first pattern (or, without one,
-- the day they joined) up to today: each day adds worked - target, so a
-- week's overtime carries into the next.

CREATE TABLE work_patterns (
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    effective_from  date NOT NULL,
    minutes         integer[] NOT NULL
                    CHECK (array_length(minutes, 1) = 7
                           AND array_position(minutes, NULL) IS NULL
                           AND 0 <= ALL (minutes) AND 1440 >= ALL (minutes)),
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, effective_from)
);

CREATE TABLE public_holidays (
    day         date PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE absences (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('vacation', 'sick', 'other')),
    start_date  date NOT NULL,
    end_date    date NOT NULL,
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    status      text NOT NULL DEFAULT 'requested'
                CHECK (status IN ('requested', 'approved', 'rejected',
                                  'cancelled')),
    reason      text,
    decided_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    CHECK (end_date >= start_date AND end_date - start_date < 366)
);

CREATE INDEX absences_user ON absences (user_id, start_date);

CREATE TABLE break_rules (
    after_minutes  integer PRIMARY KEY CHECK (after_minutes BETWEEN 1 AND 1440),
    break_minutes  integer NOT NULL CHECK (break_minutes BETWEEN 1 AND 240)
);

INSERT INTO break_rules VALUES (360, 30);

ALTER TABLE time_entries
    ADD COLUMN break_minutes integer NOT NULL DEFAULT 0
        CHECK (break_minutes BETWEEN 0 AND 1440);

ALTER TABLE timers
    ADD COLUMN paused_at timestamptz,
    ADD COLUMN paused_minutes integer NOT NULL DEFAULT 0;


-- A day's target before holidays and absences: the pattern in effect, or
-- the weekly capacity over Monday to Friday.
CREATE FUNCTION day_target_base(uid uuid, d date) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT w.minutes[extract(isodow FROM d)::int]
           FROM work_patterns w
          WHERE w.user_id = uid AND w.effective_from <= d
          ORDER BY w.effective_from DESC LIMIT 1),
        (SELECT CASE WHEN extract(isodow FROM d) < 6
                     THEN u.weekly_capacity_minutes / 5.0 ELSE 0 END
           FROM users u WHERE u.id = uid), 0)
$$;

-- What lowers a day's target to 0: 'holiday', 'vacation', 'sick',
-- 'other' (an approved absence), or NULL.
CREATE FUNCTION day_off(uid uuid, d date) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT 'holiday' FROM public_holidays h WHERE h.day = d),
        (SELECT a.kind FROM absences a
          WHERE a.user_id = uid AND a.status = 'approved'
            AND d BETWEEN a.start_date AND a.end_date LIMIT 1))
$$;

-- The one definition of what a person owes on a day, in minutes.
CREATE FUNCTION day_target(uid uuid, d date) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN day_off(uid, d) IS NULL
                THEN day_target_base(uid, d) ELSE 0 END
$$;

-- The break a day of so many worked minutes needs at least.
CREATE FUNCTION required_break(worked int) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(r.break_minutes), 0)::int FROM break_rules r
     WHERE worked > r.after_minutes
$$;

-- From when a person's balance counts.
CREATE FUNCTION balance_start(uid uuid) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT min(w.effective_from) FROM work_patterns w
                      WHERE w.user_id = uid),
                    (SELECT local_date(u.created_at) FROM users u
                      WHERE u.id = uid))
$$;

-- Each day of [f, t] for a person: target, worked, breaks, what the
-- rules ask, what made it a day off, and whether it counts in the
-- balance (from balance_start to today).
CREATE FUNCTION working_days_of(uid uuid, f date, t date)
RETURNS TABLE (day date, target int, worked int, breaks int,
               required int, off text, counted boolean)
LANGUAGE sql STABLE AS $$
    SELECT d::date, round(day_target(uid, d::date))::int,
           coalesce(x.worked, 0), coalesce(x.breaks, 0),
           required_break(coalesce(x.worked, 0)), day_off(uid, d::date),
           d::date BETWEEN balance_start(uid) AND workspace_today()
      FROM generate_series(f::timestamp, t::timestamp, '1 day') d
      LEFT JOIN LATERAL (
           SELECT sum(e.minutes)::int AS worked,
                  sum(e.break_minutes)::int AS breaks
             FROM time_entries e
            WHERE e.user_id = uid AND e.date = d::date) x ON true
$$;


-- Capacity (010, 015) is now the sum of the days' targets: a pattern,
-- a holiday and an approved absence lower it.
CREATE OR REPLACE FUNCTION time_figures(uids uuid[], f date, t date)
RETURNS TABLE (user_id uuid, name text, email text, completed int,
               with_due int, on_time int, logged int, billable int,
               capacity int)
LANGUAGE sql STABLE AS $$
    SELECT u.id, u.name, u.email,
           coalesce(c.completed, 0), coalesce(c.with_due, 0),
           coalesce(c.on_time, 0), coalesce(l.logged, 0),
           coalesce(l.billable, 0),
           (SELECT round(coalesce(sum(day_target(u.id, d::date)), 0))::int
              FROM generate_series(f::timestamp, t::timestamp, '1 day') d)
      FROM users u
      LEFT JOIN LATERAL (
           SELECT count(*)::int AS completed,
                  count(*) FILTER (WHERE k.due_date IS NOT NULL)::int
                      AS with_due,
                  count(*) FILTER (WHERE k.completed_on <= k.due_date)::int
                      AS on_time
             FROM (SELECT k.due_date,
                          local_date(k.completed_at) AS completed_on
                     FROM task_assignees a JOIN tasks k ON k.id = a.task_id
                    WHERE a.user_id = u.id
                      AND k.completed_at IS NOT NULL) k
            WHERE k.completed_on BETWEEN f AND t) c ON true
      LEFT JOIN LATERAL (
           SELECT sum(e.minutes)::int AS logged,
                  sum(e.minutes) FILTER (WHERE e.billable)::int AS billable
             FROM time_entries e
            WHERE e.user_id = u.id AND e.date BETWEEN f AND t) l ON true
     WHERE u.id = ANY (uids)
$$;


-- GET /api/v1/timesheets/working-time ?user_id&from&to: whoever may read
-- the person's time (can_see_user). By default the current week; at
-- most 366 days.
CREATE FUNCTION working_time(actor uuid, role text, uid uuid, f date,
                             t date)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    ff       date;
    tt       date;
    opening  int;
    days     jsonb;
BEGIN
    uid := coalesce(uid, actor);
    IF NOT can_see_user(actor, role, uid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
                            'You may not read this person''s time.';
        RETURN;
    END IF;

    ff := coalesce(f, date_trunc('week', coalesce(t, workspace_today()))
                          ::date);
    tt := coalesce(t, ff + 6);
    IF tt < ff OR tt - ff > 365 THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'from must not be after to, and the period is at most 366 days.';
        RETURN;
    END IF;

    SELECT coalesce(sum(x.worked - x.target) FILTER (WHERE x.counted), 0)
      INTO opening
      FROM working_days_of(uid, least(balance_start(uid), ff), ff - 1) x;

    SELECT jsonb_agg(jsonb_build_object(
               'date', x.day, 'target_minutes', x.target,
               'worked_minutes', x.worked, 'break_minutes', x.breaks,
               'required_break_minutes', x.required,
               'break_ok', x.breaks >= x.required,
               'day_off', x.off, 'counted', x.counted)
               ORDER BY x.day)
      INTO days FROM working_days_of(uid, ff, tt) x;

    RETURN QUERY SELECT 200, jsonb_build_object(
        'user_id', uid, 'from', ff, 'to', tt,
        'balance_from', balance_start(uid),
        'opening_balance_minutes', opening,
        'target_minutes', (SELECT sum((d->>'target_minutes')::int)
                             FROM jsonb_array_elements(days) d),
        'worked_minutes', (SELECT sum((d->>'worked_minutes')::int)
                             FROM jsonb_array_elements(days) d),
        'closing_balance_minutes', opening + (
            SELECT coalesce(sum((d->>'worked_minutes')::int
                                - (d->>'target_minutes')::int), 0)
              FROM jsonb_array_elements(days) d
             WHERE (d->>'counted')::boolean),
        'break_violations', (SELECT count(*) FROM jsonb_array_elements(days) d
                              WHERE NOT (d->>'break_ok')::boolean),
        'weeks', (SELECT jsonb_agg(jsonb_build_object(
                          'week', iso_week(w.ws), 'week_start', w.ws,
                          'target_minutes', w.target,
                          'worked_minutes', w.worked,
                          'overtime_minutes', w.over,
                          'balance_minutes', opening + w.carried)
                          ORDER BY w.ws)
                    FROM (SELECT g.*, sum(g.over) OVER (ORDER BY g.ws)
                                          ::int AS carried
                    FROM (SELECT date_trunc('week', (d->>'date')::date)::date
                                     AS ws,
                                 sum((d->>'target_minutes')::int)::int
                                     AS target,
                                 sum((d->>'worked_minutes')::int)::int
                                     AS worked,
                                 coalesce(sum((d->>'worked_minutes')::int
                                              - (d->>'target_minutes')::int)
                                          FILTER (WHERE (d->>'counted')
                                                        ::boolean), 0)::int
                                     AS over
                            FROM jsonb_array_elements(days) d
                           GROUP BY 1) g) w),
        'days', days)::text, NULL::text;
END
$$;


-- GET /api/v1/users/{id}/work-pattern: the patterns, newest first, and
-- the week of the one in effect today.
CREATE FUNCTION work_pattern_get(actor uuid, role text, uid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    IF NOT can_see_user(actor, role, uid)
       OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = uid) THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, jsonb_build_object(
        'user_id', uid,
        'current', (SELECT jsonb_agg(round(day_target_base(uid,
                                   date_trunc('week', workspace_today())::date
                                   + i))::int ORDER BY i)
                      FROM generate_series(0, 6) i),
        'patterns', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                  'effective_from', w.effective_from,
                                  'minutes', to_jsonb(w.minutes),
                                  'weekly_minutes',
                                  (SELECT sum(m) FROM unnest(w.minutes) m))
                                  ORDER BY w.effective_from DESC)
                                FROM work_patterns w
                               WHERE w.user_id = uid), '[]'))::text,
        NULL::text;
END
$$;

-- PUT /api/v1/users/{id}/work-pattern {minutes: [Mon..Sun],
-- effective_from}: admins. The same date again replaces that pattern.
CREATE FUNCTION work_pattern_put(actor uuid, role text, uid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    m  int[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = uid
                      AND u.status <> 'erased') THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    m := ARRAY(SELECT (x #>> '{}')::int
                 FROM jsonb_array_elements(b->'minutes') x);
    IF array_length(m, 1) IS DISTINCT FROM 7 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'minutes: seven numbers, Monday to Sunday.';
        RETURN;
    END IF;

    PERFORM timesheet_lock(uid);

    INSERT INTO work_patterns AS w (user_id, effective_from, minutes,
                                    created_by)
    VALUES (uid, (b->>'effective_from')::date, m, actor)
    ON CONFLICT (user_id, effective_from) DO UPDATE
       SET minutes = EXCLUDED.minutes, created_by = EXCLUDED.created_by,
           created_at = now();

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'work_pattern', uid, 'updated',
            jsonb_build_object('effective_from', b->>'effective_from',
                               'minutes', to_jsonb(m)));

    RETURN QUERY SELECT * FROM work_pattern_get(actor, role, uid);
END
$$;


-- The public holidays of an iCalendar file: each VEVENT's all-day
-- DTSTART to DTEND (exclusive; one day without it) under its SUMMARY.
-- (day NULL, name the problem) for an event that is not one.
CREATE FUNCTION ics_holidays(ics text) RETURNS TABLE (day date, name text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    unfolded  text;
    ev        text;
    n         int := 0;
    s         text;
    e         text;
    summary   text;
    d0        date;
    d1        date;
BEGIN
    -- RFC 5545 3.1: a line break followed by a space or tab continues
    unfolded := regexp_replace(ics, E'\\r?\\n[ \\t]', '', 'g');

    FOR ev IN SELECT m[1] FROM regexp_matches(unfolded,
                  'BEGIN:VEVENT(.*?)END:VEVENT', 'g') m
    LOOP
        n := n + 1;
        s := substring(ev FROM E'\\nDTSTART[^:\\n]*:([0-9]{8})');
        e := substring(ev FROM E'\\nDTEND[^:\\n]*:([0-9]{8})');
        summary := btrim(substring(ev FROM E'\\nSUMMARY[^:\\n]*:([^\\r\\n]*)'));
        summary := replace(replace(replace(replace(summary, E'\\n', ' '),
                           E'\\,', ','), E'\\;', ';'), E'\\\\', E'\\');

        BEGIN
            d0 := to_date(s, 'YYYYMMDD');
            d1 := coalesce(to_date(e, 'YYYYMMDD') - 1, d0);
            IF to_char(d0, 'YYYYMMDD') <> s
               OR (e IS NOT NULL AND to_char(d1 + 1, 'YYYYMMDD') <> e) THEN
                RAISE EXCEPTION 'no date';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            day := NULL;
            name := 'event ' || n || ': DTSTART and DTEND must be dates '
                    || '(YYYYMMDD).';
            RETURN NEXT;
            CONTINUE;
        END;

        IF s IS NULL OR d1 < d0 OR d1 - d0 > 31 THEN
            day := NULL;
            name := 'event ' || n || ': a holiday has a DTSTART date and '
                    || 'lasts 1 to 32 days.';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF coalesce(summary, '') = '' OR length(summary) > 200 THEN
            day := NULL;
            name := 'event ' || n || ': SUMMARY names the holiday (at most '
                    || '200 characters).';
            RETURN NEXT;
            CONTINUE;
        END IF;

        FOR day IN SELECT g::date FROM generate_series(d0::timestamp,
                                                       d1::timestamp,
                                                       '1 day') g LOOP
            name := summary;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;

-- POST /api/v1/holidays/import (text/calendar): admins. All or nothing:
-- an event that is not a holiday names itself and nothing is kept. A day
-- already known takes the file's name.
CREATE FUNCTION holidays_import(actor uuid, raw bytea)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ics     text;
    errors  text;
    n       int;
BEGIN
    BEGIN
        ics := convert_from(raw, 'UTF8');
    EXCEPTION WHEN OTHERS THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'The file is not UTF-8 text.';
        RETURN;
    END;

    IF ics !~ 'BEGIN:VCALENDAR' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'The file is not an iCalendar file (BEGIN:VCALENDAR).';
        RETURN;
    END IF;

    SELECT string_agg(h.name, ' ') INTO errors
      FROM ics_holidays(ics) h WHERE h.day IS NULL;
    IF errors IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', errors;
        RETURN;
    END IF;

    INSERT INTO public_holidays AS p (day, name)
    SELECT DISTINCT ON (h.day) h.day, h.name FROM ics_holidays(ics) h
     ORDER BY h.day
    ON CONFLICT (day) DO UPDATE SET name = EXCLUDED.name;
    GET DIAGNOSTICS n = ROW_COUNT;

    INSERT INTO activity_log (actor_id, entity_type, action, new_values)
    VALUES (actor, 'public_holidays', 'imported',
            jsonb_build_object('days', n));

    RETURN QUERY SELECT 200, jsonb_build_object(
        'imported', n,
        'items', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                     'date', x.day, 'name', x.name)
                                     ORDER BY x.day)
                             FROM (SELECT DISTINCT ON (h.day) h.day, h.name
                                     FROM ics_holidays(ics) h
                                    ORDER BY h.day) x), '[]'))::text,
        NULL::text;
END
$$;

-- GET /api/v1/holidays ?from&to (by default this year).
CREATE FUNCTION holidays_list(f date, t date)
RETURNS TABLE (status int, body text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object('items', coalesce(jsonb_agg(
               jsonb_build_object('date', h.day, 'name', h.name)
               ORDER BY h.day), '[]'))::text
      FROM public_holidays h
     WHERE h.day BETWEEN coalesce(f, date_trunc('year', workspace_today())
                                          ::date)
                     AND coalesce(t, (date_trunc('year', workspace_today())
                                      + interval '1 year - 1 day')::date)
$$;

-- DELETE /api/v1/holidays/{date}: admins.
CREATE FUNCTION holiday_delete(actor uuid, d text)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    h  public_holidays;
BEGIN
    IF d !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;
    BEGIN
        DELETE FROM public_holidays WHERE day = d::date RETURNING * INTO h;
    EXCEPTION WHEN OTHERS THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END;
    IF h.day IS NULL THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;
    INSERT INTO activity_log (actor_id, entity_type, action, old_values)
    VALUES (actor, 'public_holidays', 'deleted', to_jsonb(h));
    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


CREATE FUNCTION absence_json(a absences) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(a) || jsonb_build_object(
        'user', (SELECT jsonb_build_object('id', u.id, 'name', u.name)
                   FROM users u WHERE u.id = a.user_id),
        'working_days', (SELECT count(*) FROM generate_series(
                             a.start_date::timestamp, a.end_date::timestamp,
                             '1 day') d
                          WHERE day_target_base(a.user_id, d::date) > 0
                            AND NOT EXISTS (SELECT 1 FROM public_holidays h
                                             WHERE h.day = d::date)))
$$;

-- GET /api/v1/absences ?user_id&status&from&to: the absences of the
-- people the caller may see (a manager's queue: ?status=requested).
CREATE FUNCTION absences_list(actor uuid, role text, uid uuid, st text,
                              f date, t date)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    IF st IS NOT NULL
       AND st NOT IN ('requested', 'approved', 'rejected', 'cancelled') THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'status: requested, approved, rejected or cancelled.';
        RETURN;
    END IF;
    IF uid IS NOT NULL AND NOT can_see_user(actor, role, uid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
                            'You may not read this person''s time.';
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, jsonb_build_object('items', coalesce(
        (SELECT jsonb_agg(absence_json(a) ORDER BY a.start_date, a.id)
           FROM (SELECT * FROM absences a
                  WHERE can_see_user(actor, role, a.user_id)
                    AND (uid IS NULL OR a.user_id = uid)
                    AND (st IS NULL OR a.status = st)
                    AND (f IS NULL OR a.end_date >= f)
                    AND (t IS NULL OR a.start_date <= t)
                  ORDER BY a.start_date DESC LIMIT 500) a), '[]'))::text,
        NULL::text;
END
$$;

-- POST /api/v1/absences {kind, start_date, end_date, note?}: the
-- caller's own request. One that overlaps another requested or approved
-- absence of theirs is 409.
CREATE FUNCTION absence_request(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a   absences;
    s   date := (b->>'start_date')::date;
    e   date := (b->>'end_date')::date;
BEGIN
    IF b->>'kind' NOT IN ('vacation', 'sick', 'other') THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'kind: vacation, sick or other.';
        RETURN;
    END IF;
    IF e < s OR e - s > 365 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'end_date: on or after start_date, within a year of it.';
        RETURN;
    END IF;

    PERFORM timesheet_lock(actor);

    IF EXISTS (SELECT 1 FROM absences x
                WHERE x.user_id = actor
                  AND x.status IN ('requested', 'approved')
                  AND x.start_date <= e AND x.end_date >= s) THEN
        RETURN QUERY SELECT 409, 'conflict',
            'You have an absence on some of these days already.';
        RETURN;
    END IF;

    INSERT INTO absences (user_id, kind, start_date, end_date, note)
    VALUES (actor, b->>'kind', s, e, coalesce(b->>'note', ''))
    RETURNING * INTO a;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'absence', a.id, 'requested', to_jsonb(a));

    RETURN QUERY SELECT 201, absence_json(a)::text,
                        '/api/v1/absences/' || a.id;
END
$$;

-- approve, reject (with a reason) or cancel an absence. Deciding is an
-- admin's or a project manager's of one of the person's teams, never on
-- their own; cancelling is the person's own or an admin's.
CREATE FUNCTION absence_change(actor uuid, role text, aid uuid, b jsonb,
                               action text)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a    absences;
    why  text;
BEGIN
    SELECT * INTO a FROM absences WHERE id = aid;
    IF NOT FOUND OR NOT can_see_user(actor, role, a.user_id) THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF action = 'cancel' THEN
        IF a.user_id <> actor AND role <> 'admin' THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Only the person or an admin cancels an absence.';
            RETURN;
        END IF;
    ELSE
        IF role <> 'admin' AND NOT manages_user(actor, role, a.user_id) THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Only an admin or a project manager of one of their teams '
                'decides on an absence.';
            RETURN;
        END IF;
        IF a.user_id = actor THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Someone else decides on your own absence.';
            RETURN;
        END IF;
    END IF;

    PERFORM timesheet_lock(a.user_id);
    SELECT * INTO a FROM absences WHERE id = aid;

    IF action IN ('approve', 'reject') AND a.status <> 'requested' THEN
        RETURN QUERY SELECT 409, 'conflict',
            'Only a requested absence is approved or rejected; this one is '
            || a.status || '.';
        RETURN;
    END IF;
    IF action = 'cancel' AND a.status NOT IN ('requested', 'approved') THEN
        RETURN QUERY SELECT 409, 'conflict',
            'This absence is ' || a.status || ' already.';
        RETURN;
    END IF;

    IF action = 'reject' THEN
        why := btrim(b->>'reason');
        IF coalesce(why, '') = '' THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                                'reason: say why the absence is rejected.';
            RETURN;
        END IF;
    END IF;

    UPDATE absences x
       SET status = CASE action WHEN 'approve' THEN 'approved'
                                WHEN 'reject' THEN 'rejected'
                                ELSE 'cancelled' END,
           reason = coalesce(why, x.reason),
           decided_by = CASE WHEN action = 'cancel' THEN x.decided_by
                             ELSE actor END,
           decided_at = CASE WHEN action = 'cancel' THEN x.decided_at
                             ELSE now() END,
           version = x.version + 1
     WHERE x.id = aid
    RETURNING * INTO a;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'absence', a.id,
            CASE action WHEN 'approve' THEN 'approved'
                        WHEN 'reject' THEN 'rejected'
                        ELSE 'cancelled' END, to_jsonb(a));

    RETURN QUERY SELECT 200, absence_json(a)::text, NULL::text;
END
$$;


-- GET and PUT /api/v1/timesheets/break-rules {rules: [{after_minutes,
-- break_minutes}]} (PUT: admins; at most 5 rules, [] for none).
CREATE FUNCTION break_rules_json() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('rules', coalesce(jsonb_agg(jsonb_build_object(
               'after_minutes', r.after_minutes,
               'break_minutes', r.break_minutes)
               ORDER BY r.after_minutes), '[]'))
      FROM break_rules r
$$;

CREATE FUNCTION break_rules_put(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old  jsonb := break_rules_json();
BEGIN
    IF (SELECT count(DISTINCT r->>'after_minutes')
          FROM jsonb_array_elements(b->'rules') r)
       <> jsonb_array_length(b->'rules') THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'rules: one rule for each after_minutes.';
        RETURN;
    END IF;

    DELETE FROM break_rules;
    INSERT INTO break_rules (after_minutes, break_minutes)
    SELECT (r->>'after_minutes')::int, (r->>'break_minutes')::int
      FROM jsonb_array_elements(b->'rules') r;

    INSERT INTO activity_log (actor_id, entity_type, action, old_values,
                              new_values)
    VALUES (actor, 'break_rules', 'updated', old, break_rules_json());

    RETURN QUERY SELECT 200, break_rules_json()::text, NULL::text;
END
$$;


-- An entry carries its break: time_entry_write (010) does the work, and
-- the break the body names is kept on the entry it wrote.
ALTER FUNCTION time_entry_write(uuid, text, uuid, jsonb, int, boolean)
    RENAME TO time_entry_write_minutes;

CREATE FUNCTION time_entry_write(actor uuid, role text, eid uuid, b jsonb,
                                 expected int, remove boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r  record;
    e  time_entries;
BEGIN
    SELECT * INTO r
      FROM time_entry_write_minutes(actor, role, eid, b, expected, remove);

    IF r.status NOT IN (200, 201) OR NOT b ? 'break_minutes' THEN
        RETURN QUERY SELECT r.status, r.body, r.extra;
        RETURN;
    END IF;

    UPDATE time_entries x
       SET break_minutes = coalesce((b->>'break_minutes')::int, 0)
     WHERE x.id = (r.body::jsonb->>'id')::uuid
    RETURNING * INTO e;

    RETURN QUERY SELECT r.status, to_jsonb(e)::text, r.extra;
END
$$;


-- The timer pauses: the minutes it was paused are not worked, and the
-- entry it writes carries them as its break.
CREATE FUNCTION timer_pause(actor uuid, pause boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t  timers;
BEGIN
    SELECT * INTO t FROM timers
     WHERE user_id = actor AND stopped_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', 'No timer is running.';
        RETURN;
    END IF;
    IF pause = (t.paused_at IS NOT NULL) THEN
        RETURN QUERY SELECT 409, 'conflict',
            CASE WHEN pause THEN 'The timer is paused already.'
                 ELSE 'The timer is not paused.' END;
        RETURN;
    END IF;

    UPDATE timers x
       SET paused_at = CASE WHEN pause THEN now() END,
           paused_minutes = x.paused_minutes + CASE WHEN pause THEN 0
               ELSE round(extract(epoch FROM now() - x.paused_at) / 60)::int
               END
     WHERE x.id = t.id
    RETURNING * INTO t;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action)
    VALUES (actor, t.project_id, 'timer', t.id,
            CASE WHEN pause THEN 'paused' ELSE 'resumed' END);

    RETURN QUERY SELECT 200, timer_json(t)::text, NULL::text;
END
$$;

-- The running time of a timer, its pauses left out.
CREATE FUNCTION timer_paused_minutes(t timers) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT t.paused_minutes
           + coalesce(round(extract(epoch FROM now() - t.paused_at) / 60)
                      ::int, 0)
$$;

CREATE OR REPLACE FUNCTION timer_json(t timers) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT (to_jsonb(t) - 'stopped_at' - 'entry_id' - 'paused_minutes')
           || jsonb_build_object(
                  'elapsed_minutes',
                  greatest(0, floor(extract(epoch FROM now() - t.started_at)
                                    / 60)::int - timer_paused_minutes(t)),
                  'paused', t.paused_at IS NOT NULL,
                  'break_minutes', timer_paused_minutes(t))
$$;

-- 015's timer_stop, its pauses left out of the minutes and kept as the
-- entry's break.
CREATE OR REPLACE FUNCTION timer_stop(actor uuid, discard boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t     timers;
    e     time_entries;
    d     date;
    m     int;
    p     int;
    used  int;
BEGIN
    PERFORM timesheet_lock(actor);

    SELECT * INTO t FROM timers
     WHERE user_id = actor AND stopped_at IS NULL FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', 'No timer is running.';
        RETURN;
    END IF;

    IF discard THEN
        UPDATE timers SET stopped_at = now() WHERE id = t.id;
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action)
        VALUES (actor, t.project_id, 'timer', t.id, 'discarded');
        RETURN QUERY SELECT 204, NULL::text, NULL::text;
        RETURN;
    END IF;

    d := local_date(t.started_at);
    p := least(timer_paused_minutes(t), 1440);
    m := greatest(1, round(extract(epoch FROM now() - t.started_at) / 60)
                     - p);

    IF week_status(actor, d) IN ('submitted', 'approved') THEN
        RETURN QUERY SELECT 409, 'locked',
            'The week ' || iso_week(d) || ' is ' || week_status(actor, d)
            || '; discard the timer (DELETE /api/v1/timesheets/timer).';
        RETURN;
    END IF;

    used := day_minutes(actor, d, NULL);

    IF used + m > 1440 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'minutes: the timer ran ' || m || ' minutes and ' || used
            || ' are logged on ' || d || ': a day has 1440; discard the'
            || ' timer (DELETE /api/v1/timesheets/timer) and log by hand.';
        RETURN;
    END IF;

    INSERT INTO time_entries (user_id, task_id, project_id, date, minutes,
                              break_minutes, description, started_at,
                              ended_at)
    VALUES (actor, t.task_id, t.project_id, d, m, p, t.description,
            t.started_at, now())
    RETURNING * INTO e;

    UPDATE timers SET stopped_at = now(), entry_id = e.id,
                      paused_minutes = p, paused_at = NULL
     WHERE id = t.id;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, e.project_id, 'time_entry', e.id, 'created',
            to_jsonb(e) || jsonb_build_object('timer_id', t.id));

    RETURN QUERY SELECT 201, to_jsonb(e)::text,
                        '/api/v1/timesheets/entries/' || e.id;
END
$$;
