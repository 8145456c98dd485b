-- Recurring tasks. A task carries a rule (a subset of RFC 5545's RRULE:
-- FREQ DAILY, WEEKLY, MONTHLY or YEARLY; INTERVAL; BYDAY, with an ordinal
-- in a monthly rule ("2TU", "-1FR"); BYMONTHDAY, -1 the month's last day;
-- UNTIL or COUNT) and is the pattern of its series: each date of the rule
-- gets a copy of it (title, description, priority, labels, estimate,
-- assignees, custom fields) due that day, made in the project's first
-- open column at the series' time of day, lead_days before the date.
--
-- Dates are the workspace's days (workspace_time_zone(), 015): a series
-- at 09:00 in Europe/Berlin is made at 08:00 UTC in winter and 07:00 UTC
-- in summer, and weeks begin on Monday (ISO), so 2026-W53 is one more
-- week. A mode of after_done waits instead: the next copy is due the
-- rule's interval (FREQ times INTERVAL) after the day the previous one
-- was done.
--
-- Exactly once: an occurrence is the row (recurrence_id, on_date), whose
-- primary key admits one per date, and it is made in the transaction
-- that advances its series under the series' row lock (FOR UPDATE SKIP
-- LOCKED), so any number of nginx nodes, restarts or a clock set back
-- neither double nor lose one: a date is made when its time has come,
-- once, and the series' pointer only moves past a date with it.
--
-- One occurrence can be changed or skipped before it is made (a
-- 'planned' row with its changes, or 'skipped'); once made it is a task
-- like any other, edited as one. Neither touches the series.

CREATE TABLE recurrences (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id      uuid NOT NULL UNIQUE REFERENCES tasks (id) ON DELETE CASCADE,
    project_id   uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    rule         text NOT NULL CHECK (length(rule) BETWEEN 6 AND 200),
    mode         text NOT NULL DEFAULT 'schedule'
                 CHECK (mode IN ('schedule', 'after_done')),
    start_date   date NOT NULL,
    at_time      time NOT NULL DEFAULT '09:00',
    lead_days    integer NOT NULL DEFAULT 0
                 CHECK (lead_days BETWEEN 0 AND 365),
    next_date    date,                -- the next date to make; NULL: none
    next_at      timestamptz,         -- when it is made
    made         integer NOT NULL DEFAULT 0,   -- dates passed (COUNT's)
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX recurrences_due ON recurrences (next_at)
    WHERE next_at IS NOT NULL;

CREATE TABLE recurrence_occurrences (
    recurrence_id  uuid NOT NULL REFERENCES recurrences (id)
                   ON DELETE CASCADE,
    on_date        date NOT NULL,
    state          text NOT NULL
                   CHECK (state IN ('planned', 'made', 'skipped')),
    changes        jsonb NOT NULL DEFAULT '{}'
                   CHECK (jsonb_typeof(changes) = 'object'),
    task_id        uuid REFERENCES tasks (id) ON DELETE SET NULL,
    made_at        timestamptz,
    PRIMARY KEY (recurrence_id, on_date)
);

CREATE INDEX recurrence_occurrences_task ON recurrence_occurrences (task_id);


-- The rule, parsed: {freq, interval, byday: [{n, wd}], bymonthday: [],
-- until, count}; wd is ISO's day of the week (1 Monday). An error with
-- SQLSTATE 22023 and a message a person can read when it is not one we
-- take.
CREATE FUNCTION rrule_parse(rule text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    part   text;
    k      text;
    v      text;
    r      jsonb := '{"interval": 1}';
    x      text;
    m      text[];
    days   jsonb;
    mdays  jsonb;
BEGIN
    IF rule IS NULL OR length(rule) > 200 THEN
        RAISE EXCEPTION 'A rule is at most 200 characters.'
              USING ERRCODE = '22023';
    END IF;

    FOREACH part IN ARRAY string_to_array(upper(regexp_replace(rule,
                              '^RRULE:', '', 'i')), ';')
    LOOP
        IF part = '' THEN
            CONTINUE;
        END IF;

        k := split_part(part, '=', 1);
        v := substr(part, length(k) + 2);

        IF r ? lower(k) AND k <> 'INTERVAL' OR v = '' THEN
            RAISE EXCEPTION '% is given twice or empty.', k
                  USING ERRCODE = '22023';
        END IF;

        CASE k
        WHEN 'FREQ' THEN
            IF v NOT IN ('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY') THEN
                RAISE EXCEPTION 'FREQ is DAILY, WEEKLY, MONTHLY or YEARLY.'
                      USING ERRCODE = '22023';
            END IF;
            r := r || jsonb_build_object('freq', v);

        WHEN 'INTERVAL' THEN
            IF v !~ '^[0-9]{1,3}$' OR v::int NOT BETWEEN 1 AND 999 THEN
                RAISE EXCEPTION 'INTERVAL is a number from 1 to 999.'
                      USING ERRCODE = '22023';
            END IF;
            r := r || jsonb_build_object('interval', v::int);

        WHEN 'COUNT' THEN
            IF v !~ '^[0-9]{1,4}$' OR v::int NOT BETWEEN 1 AND 9999 THEN
                RAISE EXCEPTION 'COUNT is a number from 1 to 9999.'
                      USING ERRCODE = '22023';
            END IF;
            r := r || jsonb_build_object('count', v::int);

        WHEN 'UNTIL' THEN
            -- a date, or a UTC date-time whose day is taken
            m := regexp_match(v, '^([0-9]{4})-?([0-9]{2})-?([0-9]{2})'
                                 || '(T[0-9]{6}Z?)?$');
            IF m IS NULL THEN
                RAISE EXCEPTION 'UNTIL is a date: YYYYMMDD.'
                      USING ERRCODE = '22023';
            END IF;
            BEGIN
                r := r || jsonb_build_object('until',
                          make_date(m[1]::int, m[2]::int, m[3]::int));
            EXCEPTION WHEN others THEN
                RAISE EXCEPTION 'UNTIL is not a date of the calendar.'
                      USING ERRCODE = '22023';
            END;

        WHEN 'BYDAY' THEN
            days := '[]';
            FOREACH x IN ARRAY string_to_array(v, ',') LOOP
                m := regexp_match(x, '^([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)$');
                IF m IS NULL OR (m[1] IS NOT NULL
                                 AND (abs(m[1]::int) NOT BETWEEN 1 AND 5))
                THEN
                    RAISE EXCEPTION 'BYDAY is days as MO,WE or, in a monthly '
                          'rule, 2TU or -1FR.' USING ERRCODE = '22023';
                END IF;
                days := days || jsonb_build_object(
                    'n', m[1]::int,
                    'wd', array_position(ARRAY['MO', 'TU', 'WE', 'TH', 'FR',
                                               'SA', 'SU'], m[2]));
            END LOOP;
            r := r || jsonb_build_object('byday', days);

        WHEN 'BYMONTHDAY' THEN
            mdays := '[]';
            FOREACH x IN ARRAY string_to_array(v, ',') LOOP
                IF x !~ '^[+-]?[0-9]{1,2}$' OR x::int = 0
                   OR abs(x::int) > 31
                THEN
                    RAISE EXCEPTION 'BYMONTHDAY is days 1 to 31, or -1 (the '
                          'last) to -31.' USING ERRCODE = '22023';
                END IF;
                mdays := mdays || to_jsonb(x::int);
            END LOOP;
            r := r || jsonb_build_object('bymonthday', mdays);

        WHEN 'WKST' THEN
            IF v <> 'MO' THEN
                RAISE EXCEPTION 'Weeks begin on Monday (WKST=MO).'
                      USING ERRCODE = '22023';
            END IF;

        ELSE
            RAISE EXCEPTION '% is not a part of the rules we take (FREQ, '
                  'INTERVAL, BYDAY, BYMONTHDAY, UNTIL, COUNT).', k
                  USING ERRCODE = '22023';
        END CASE;
    END LOOP;

    IF NOT r ? 'freq' THEN
        RAISE EXCEPTION 'A rule names its FREQ.' USING ERRCODE = '22023';
    END IF;

    IF r ? 'until' AND r ? 'count' THEN
        RAISE EXCEPTION 'A rule has UNTIL or COUNT, not both.'
              USING ERRCODE = '22023';
    END IF;

    IF r->>'freq' <> 'MONTHLY' AND jsonb_path_exists(r,
           '$.byday[*] ? (@.n != null)')
    THEN
        RAISE EXCEPTION 'A day with an ordinal (2TU) is for a MONTHLY rule.'
              USING ERRCODE = '22023';
    END IF;

    IF r->>'freq' IN ('WEEKLY', 'YEARLY') AND r ? 'bymonthday'
       OR r->>'freq' = 'YEARLY' AND r ? 'byday'
    THEN
        RAISE EXCEPTION 'BYMONTHDAY is for a DAILY or MONTHLY rule, and '
              'BYDAY not for a YEARLY one.' USING ERRCODE = '22023';
    END IF;

    RETURN r;
END
$$;


-- NULL, or why the rule is refused.
CREATE FUNCTION rrule_problem(rule text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM rrule_parse(rule);
    RETURN NULL;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN SQLERRM;
END
$$;


-- The rule's dates in its p-th period after the one of start, in order.
CREATE FUNCTION rrule_period(r jsonb, start date, p integer)
RETURNS SETOF date
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    i      int := (r->>'interval')::int;
    f      text := r->>'freq';
    m0     date;
    mlen   int;
    ws     date;
    d      date;
    c      date[] := '{}';
    md     jsonb;
    bd     jsonb;
    wd     int;
    n      int;
    first  date;
    last   date;
    bymd   date[];
BEGIN
    IF f = 'DAILY' THEN
        d := start + p * i;
        IF NOT r ? 'byday' OR jsonb_path_exists(r, '$.byday[*] ? (@.wd == $w)',
                                  jsonb_build_object('w', extract(isodow
                                                              FROM d)))
        THEN
            IF NOT r ? 'bymonthday' OR jsonb_path_exists(r,
                   '$.bymonthday[*] ? (@ == $a || @ == $b)',
                   jsonb_build_object('a', extract(day FROM d),
                       'b', extract(day FROM d)
                            - extract(day FROM (date_trunc('month', d)
                                + interval '1 month - 1 day')) - 1))
            THEN
                RETURN NEXT d;
            END IF;
        END IF;
        RETURN;
    END IF;

    IF f = 'WEEKLY' THEN
        ws := start - (extract(isodow FROM start)::int - 1) + 7 * p * i;
        IF r ? 'byday' THEN
            RETURN QUERY SELECT DISTINCT ws + (x->>'wd')::int - 1
                           FROM jsonb_array_elements(r->'byday') x
                          ORDER BY 1;
        ELSE
            RETURN NEXT ws + extract(isodow FROM start)::int - 1;
        END IF;
        RETURN;
    END IF;

    IF f = 'YEARLY' THEN
        BEGIN
            RETURN NEXT make_date(extract(year FROM start)::int + p * i,
                                  extract(month FROM start)::int,
                                  extract(day FROM start)::int);
        EXCEPTION WHEN others THEN
            -- 29 February in a year without one: no date that year
            NULL;
        END;
        RETURN;
    END IF;

    -- MONTHLY
    m0 := (date_trunc('month', start) + make_interval(months => p * i))::date;
    mlen := extract(day FROM (m0 + interval '1 month - 1 day'))::int;
    last := m0 + mlen - 1;

    IF r ? 'bymonthday' THEN
        FOR md IN SELECT * FROM jsonb_array_elements(r->'bymonthday') LOOP
            n := md::int;
            IF n > 0 AND n <= mlen THEN
                bymd := bymd || (m0 + n - 1);
            ELSIF n < 0 AND -n <= mlen THEN
                bymd := bymd || (last + n + 1);
            END IF;
        END LOOP;
    END IF;

    IF r ? 'byday' THEN
        FOR bd IN SELECT * FROM jsonb_array_elements(r->'byday') LOOP
            wd := (bd->>'wd')::int;
            n := (bd->>'n')::int;
            first := m0 + (wd - extract(isodow FROM m0)::int + 7) % 7;
            IF n IS NULL THEN
                d := first;
                WHILE d <= last LOOP
                    c := c || d;
                    d := d + 7;
                END LOOP;
            ELSIF n > 0 THEN
                d := first + 7 * (n - 1);
                IF d <= last THEN
                    c := c || d;
                END IF;
            ELSE
                d := last - (extract(isodow FROM last)::int - wd + 7) % 7
                     + 7 * (n + 1);
                IF d >= m0 THEN
                    c := c || d;
                END IF;
            END IF;
        END LOOP;

        IF bymd IS NOT NULL OR r ? 'bymonthday' THEN
            -- both: the days that are both (a Friday the 13th)
            c := ARRAY(SELECT unnest(c) INTERSECT
                       SELECT unnest(coalesce(bymd, '{}'::date[])));
        END IF;
    ELSIF r ? 'bymonthday' THEN
        c := coalesce(bymd, '{}');
    ELSIF extract(day FROM start) <= mlen THEN
        -- the start's day of the month; a month without it has none
        c := ARRAY[m0 + extract(day FROM start)::int - 1];
    END IF;

    RETURN QUERY SELECT DISTINCT x FROM unnest(c) x ORDER BY 1;
END
$$;


-- The rule's first date after `after` (its first at all when NULL) within
-- its UNTIL, or NULL. COUNT is the series' to keep (recurrences.made).
CREATE FUNCTION rrule_next(r jsonb, start date, after date) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    i   int := (r->>'interval')::int;
    f   text := r->>'freq';
    p   int := 0;
    p0  int;
    d   date;
BEGIN
    IF after IS NOT NULL AND after >= start THEN
        -- the period that holds `after`: those before it hold earlier dates
        p := CASE f
            WHEN 'DAILY' THEN (after - start) / i
            WHEN 'WEEKLY' THEN ((after - extract(isodow FROM after)::int)
                                - (start - extract(isodow FROM start)::int))
                               / 7 / i
            WHEN 'MONTHLY' THEN ((extract(year FROM after)
                                  - extract(year FROM start)) * 12
                                 + extract(month FROM after)
                                 - extract(month FROM start))::int / i
            ELSE (extract(year FROM after) - extract(year FROM start))::int
                 / i
        END;
    END IF;

    p0 := p;

    -- a month without a 31st, a year without 29 February: the next one
    -- that has a date is a few periods on at most
    WHILE p < p0 + 500 LOOP
        FOR d IN SELECT * FROM rrule_period(r, start, p) LOOP
            IF d >= start AND (after IS NULL OR d > after) THEN
                IF r ? 'until' AND d > (r->>'until')::date THEN
                    RETURN NULL;
                END IF;
                RETURN d;
            END IF;
        END LOOP;

        IF r ? 'until' AND start + 0 > (r->>'until')::date THEN
            RETURN NULL;
        END IF;

        p := p + 1;
    END LOOP;

    RETURN NULL;
END
$$;


-- How many of the rule's dates come before d (at most its COUNT).
CREATE FUNCTION rrule_index(r jsonb, start date, d date) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n  int := 0;
    x  date := rrule_next(r, start, NULL);
BEGIN
    WHILE x IS NOT NULL AND x < d
          AND n < coalesce((r->>'count')::int, 10000)
    LOOP
        n := n + 1;
        x := rrule_next(r, start, x);
    END LOOP;
    RETURN n;
END
$$;


-- The length of an after_done rule's wait: FREQ times INTERVAL.
CREATE FUNCTION rrule_gap(r jsonb) RETURNS interval
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE r->>'freq'
               WHEN 'DAILY' THEN make_interval(days => (r->>'interval')::int)
               WHEN 'WEEKLY' THEN make_interval(weeks => (r->>'interval')::int)
               WHEN 'MONTHLY'
               THEN make_interval(months => (r->>'interval')::int)
               ELSE make_interval(years => (r->>'interval')::int) END
$$;


-- "Every 2 weeks on Mon, Wed", "Monthly on the 2nd Tue, 5 times": the
-- words the task panel shows.
CREATE FUNCTION rrule_summary(rule text, mode text DEFAULT 'schedule')
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r      jsonb := rrule_parse(rule);
    i      int := (r->>'interval')::int;
    unit   text := CASE r->>'freq' WHEN 'DAILY' THEN 'day'
                        WHEN 'WEEKLY' THEN 'week' WHEN 'MONTHLY' THEN 'month'
                        ELSE 'year' END;
    names  text[] := ARRAY['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    s      text;
    on_    text;
BEGIN
    s := CASE WHEN i = 1 THEN initcap(CASE unit WHEN 'day' THEN 'daily'
                                       ELSE unit || 'ly' END)
              ELSE 'Every ' || i || ' ' || unit || 's' END;

    IF mode = 'after_done' THEN
        RETURN CASE WHEN i = 1 THEN '1 ' || unit ELSE i || ' ' || unit || 's'
               END || ' after the previous one is done'
               || CASE WHEN r ? 'count' THEN ', ' || (r->>'count') || ' times'
                       WHEN r ? 'until' THEN ', until ' || (r->>'until')
                       ELSE '' END;
    END IF;

    IF r ? 'byday' THEN
        SELECT string_agg(CASE WHEN x.n IS NULL THEN names[x.wd]
                               WHEN x.n = -1 THEN 'the last ' || names[x.wd]
                               ELSE 'the ' || x.n || CASE
                                   WHEN x.n % 10 = 1 AND x.n <> 11 THEN 'st'
                                   WHEN x.n % 10 = 2 AND x.n <> 12 THEN 'nd'
                                   WHEN x.n % 10 = 3 AND x.n <> 13 THEN 'rd'
                                   ELSE 'th' END || ' ' || names[x.wd] END,
                          ', ' ORDER BY x.n NULLS FIRST, x.wd)
          INTO on_
          FROM jsonb_to_recordset(r->'byday') AS x(n int, wd int);
        s := s || ' on ' || on_;
    END IF;

    IF r ? 'bymonthday' THEN
        SELECT string_agg(CASE WHEN d = -1 THEN 'the last day'
                               WHEN d < 0 THEN (-d) || ' days before the end'
                               ELSE 'day ' || d END, ', ' ORDER BY d DESC)
          INTO on_
          FROM (SELECT x::int d FROM jsonb_array_elements_text(
                    r->'bymonthday') x) y;
        s := s || CASE WHEN r ? 'byday' THEN ' if ' ELSE ' on ' END || on_;
    END IF;

    RETURN s || CASE WHEN r ? 'count' THEN ', ' || (r->>'count') || ' times'
                     WHEN r ? 'until' THEN ', until ' || (r->>'until')
                     ELSE '' END;
END
$$;


-- The instant a date of the series is made: its time of day, lead_days
-- before, in the workspace's time zone (so across a DST change too).
CREATE FUNCTION recurrence_instant(x recurrences, d date) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT ((d - x.lead_days) + x.at_time) AT TIME ZONE workspace_time_zone()
$$;


CREATE FUNCTION recurrence_json(x recurrences) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', x.id, 'task_id', x.task_id, 'project_id', x.project_id,
               'rule', x.rule, 'mode', x.mode,
               'summary', rrule_summary(x.rule, x.mode),
               'start_date', x.start_date,
               'at', to_char(x.at_time, 'HH24:MI'),
               'lead_days', x.lead_days,
               'time_zone', workspace_time_zone(),
               'next_date', x.next_date, 'next_at', x.next_at,
               'made', x.made,
               'created_at', x.created_at, 'updated_at', x.updated_at)
$$;


-- Where the series stands after date d has passed (made or skipped).
CREATE FUNCTION recurrence_advance(x recurrences, d date) RETURNS recurrences
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r  jsonb := rrule_parse(x.rule);
BEGIN
    x.made := x.made + 1;
    x.next_date := NULL;
    x.next_at := NULL;

    IF x.mode = 'schedule'
       AND (NOT r ? 'count' OR x.made < (r->>'count')::int)
    THEN
        x.next_date := rrule_next(r, x.start_date, d);
        x.next_at := recurrence_instant(x, x.next_date);
    END IF;

    RETURN x;
END
$$;


-- Makes the task of date d (its occurrence row locked by the caller,
-- 'planned'): the pattern's copy with the occurrence's changes.
CREATE FUNCTION recurrence_task(x recurrences, o recurrence_occurrences)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    p    tasks;
    t    tasks;
    col  columns;
    n    int;
    c    jsonb := o.changes;
BEGIN
    SELECT * INTO p FROM tasks WHERE id = x.task_id;

    -- the first column that is not done: where new work waits; locked
    -- as task_create() locks it, so that two writers never take one rank
    SELECT * INTO col FROM columns WHERE project_id = x.project_id
     ORDER BY category = 'done', position, id LIMIT 1 FOR UPDATE;

    UPDATE projects SET next_task_number = next_task_number + 1
     WHERE id = x.project_id RETURNING next_task_number - 1 INTO n;

    INSERT INTO tasks AS y (project_id, number, title, description,
                            column_id, priority, reporter_id, labels,
                            start_date, due_date, estimate_minutes, rank,
                            swimlane_id, custom_fields, completed_at)
    VALUES (x.project_id, n, coalesce(c->>'title', p.title),
            coalesce(c->>'description', p.description), col.id,
            coalesce(c->>'priority', p.priority), p.reporter_id, p.labels,
            CASE WHEN p.start_date IS NOT NULL AND p.due_date IS NOT NULL
                 THEN coalesce((c->>'due_date')::date, o.on_date)
                      - (p.due_date - p.start_date) END,
            coalesce((c->>'due_date')::date, o.on_date), p.estimate_minutes,
            rank_between((SELECT max(rank) FROM tasks
                           WHERE column_id = col.id), NULL),
            p.swimlane_id, p.custom_fields,
            CASE WHEN col.category = 'done' THEN now() END)
    RETURNING y.* INTO t;

    IF c ? 'assignee_ids' THEN
        INSERT INTO task_assignees (task_id, user_id)
        SELECT t.id, u.id FROM users u
         WHERE u.id IN (SELECT (jsonb_array_elements_text(c->'assignee_ids'))
                                ::uuid)
           AND u.status = 'active';
    ELSE
        INSERT INTO task_assignees (task_id, user_id)
        SELECT t.id, a.user_id FROM task_assignees a
          JOIN users u ON u.id = a.user_id AND u.status = 'active'
         WHERE a.task_id = p.id;
    END IF;

    -- the copy's audit row is the series': it is no one's write
    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (NULL, x.project_id, 'task', t.id, 'created',
            task_json(t) || jsonb_build_object('recurrence_id', x.id,
                                               'occurrence', o.on_date));

    RETURN t.id;
END
$$;


-- Makes what is due, at most `budget` dates, the earliest first; a series
-- another transaction holds is left to it. Returns how many dates passed
-- (made or skipped) and, when nothing more is due now, in how many
-- seconds the next one is (NULL: none).
CREATE FUNCTION recurrence_make(budget integer,
                                OUT made integer, OUT next_in float8)
LANGUAGE plpgsql AS $$
DECLARE
    x  recurrences;
    o  recurrence_occurrences;
BEGIN
    made := 0;

    WHILE made < budget LOOP
        SELECT * INTO x FROM recurrences
         WHERE next_at <= now() ORDER BY next_at
           FOR UPDATE SKIP LOCKED LIMIT 1;

        EXIT WHEN NOT FOUND;

        INSERT INTO recurrence_occurrences (recurrence_id, on_date, state)
        VALUES (x.id, x.next_date, 'planned')
        ON CONFLICT DO NOTHING;

        SELECT * INTO o FROM recurrence_occurrences
         WHERE recurrence_id = x.id AND on_date = x.next_date FOR UPDATE;

        IF o.state = 'planned' THEN
            UPDATE recurrence_occurrences
               SET state = 'made', made_at = now(),
                   task_id = recurrence_task(x, o)
             WHERE recurrence_id = x.id AND on_date = x.next_date;
        END IF;

        x := recurrence_advance(x, x.next_date);

        UPDATE recurrences SET next_date = x.next_date, next_at = x.next_at,
                               made = x.made
         WHERE id = x.id;

        made := made + 1;
    END LOOP;

    next_in := CASE WHEN made >= budget THEN 0 ELSE
                   (SELECT greatest(extract(epoch FROM m - now()), 0)
                      FROM (SELECT min(next_at) m FROM recurrences) y
                     WHERE m IS NOT NULL) END;
END
$$;


-- A task of an after_done series is done: its next date is the gap after
-- the day it was done, when the task is the series' latest and COUNT or
-- UNTIL leave one.
CREATE FUNCTION recurrence_task_done() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    x  recurrences;
    o  recurrence_occurrences;
    r  jsonb;
    d  date;
BEGIN
    SELECT * INTO o FROM recurrence_occurrences WHERE task_id = NEW.id
     ORDER BY on_date DESC LIMIT 1;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    SELECT * INTO x FROM recurrences WHERE id = o.recurrence_id
       AND mode = 'after_done' FOR UPDATE;

    IF NOT FOUND OR EXISTS (SELECT 1 FROM recurrence_occurrences
                             WHERE recurrence_id = x.id
                               AND on_date > o.on_date)
    THEN
        RETURN NULL;
    END IF;

    r := rrule_parse(x.rule);
    d := (local_date(NEW.completed_at) + rrule_gap(r))::date;

    IF r ? 'count' AND x.made >= (r->>'count')::int
       OR r ? 'until' AND d > (r->>'until')::date
    THEN
        RETURN NULL;
    END IF;

    UPDATE recurrences
       SET next_date = d, next_at = recurrence_instant(x, d)
     WHERE id = x.id;

    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_recurrence_done
    AFTER UPDATE OF completed_at ON tasks
    FOR EACH ROW
    WHEN (NEW.completed_at IS NOT NULL AND OLD.completed_at IS NULL)
    EXECUTE FUNCTION recurrence_task_done();


-- PUT /api/v1/tasks/{id}/recurrence: the task's rule, made or replaced.
-- b: {rule, mode?, start_date?, at?, lead_days?}. The series starts on
-- start_date (the task's due date, or today); a date of the rule that is
-- the task's own due date is the task itself. At most a year back: the
-- dates since then are made at once.
CREATE FUNCTION recurrence_put(actor uuid, role text, tid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t        tasks;
    x        recurrences;
    old      recurrences;
    r        jsonb;
    why      text;
    m        text := coalesce(b->>'mode', 'schedule');
    s        date;
    at_      time;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = tid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only the task''s reporter, an assignee, a project manager or '
            'an admin may make it repeat.';
        RETURN;
    END IF;

    IF EXISTS (SELECT 1 FROM recurrence_occurrences o
                 JOIN recurrences y ON y.id = o.recurrence_id
                WHERE o.task_id = tid AND y.task_id <> tid)
    THEN
        RETURN QUERY SELECT 409, 'conflict',
            'This task is an occurrence of a series; change the series on '
            'its first task.';
        RETURN;
    END IF;

    why := rrule_problem(b->>'rule');
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', 'rule: ' || why;
        RETURN;
    END IF;

    r := rrule_parse(b->>'rule');

    IF m NOT IN ('schedule', 'after_done') THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'mode is schedule or after_done.';
        RETURN;
    END IF;

    IF m = 'after_done' AND (r ? 'byday' OR r ? 'bymonthday') THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'rule: an after_done rule is a FREQ and INTERVAL (and UNTIL or '
            'COUNT) only: the next one is that long after the last is done.';
        RETURN;
    END IF;

    IF b ? 'at' AND (b->>'at' IS NULL OR b->>'at' !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$') THEN
        RETURN QUERY SELECT 422, 'validation_failed', 'at is a time, HH:MM.';
        RETURN;
    END IF;

    at_ := coalesce((b->>'at')::time, '09:00');
    s := coalesce((b->>'start_date')::date, t.due_date, workspace_today());

    IF s < workspace_today() - 366 OR s > workspace_today() + 3660 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'start_date is within a year back and ten years ahead.';
        RETURN;
    END IF;

    SELECT * INTO old FROM recurrences WHERE task_id = tid FOR UPDATE;

    INSERT INTO recurrences AS y (task_id, project_id, rule, mode,
                                  start_date, at_time, lead_days, made,
                                  created_by)
    VALUES (tid, t.project_id, b->>'rule', m, s, at_,
            coalesce((b->>'lead_days')::int, 0), 0, actor)
    ON CONFLICT (task_id) DO UPDATE
       SET rule = EXCLUDED.rule, mode = EXCLUDED.mode,
           start_date = EXCLUDED.start_date, at_time = EXCLUDED.at_time,
           lead_days = EXCLUDED.lead_days, updated_at = now()
    RETURNING y.* INTO x;

    -- the task is the occurrence of its own due date
    IF t.due_date IS NOT NULL AND (m = 'after_done'
                                   OR rrule_next(r, s, s - 1) = t.due_date)
    THEN
        INSERT INTO recurrence_occurrences (recurrence_id, on_date, state,
                                            task_id, made_at)
        VALUES (x.id, t.due_date, 'made', tid, now())
        ON CONFLICT DO NOTHING;
    END IF;

    -- where the series stands: after its latest date that passed (made
    -- or skipped), or at its first
    x.made := (SELECT count(*) FROM recurrence_occurrences
                WHERE recurrence_id = x.id AND state <> 'planned'
                  AND on_date >= s);

    IF m = 'after_done' THEN
        x.next_date := CASE WHEN x.made = 0 THEN s END;
    ELSE
        -- the first of the rule's dates that has not passed yet
        x.next_date := rrule_next(r, s, NULL);
        WHILE x.next_date IS NOT NULL
              AND EXISTS (SELECT 1 FROM recurrence_occurrences
                           WHERE recurrence_id = x.id
                             AND on_date = x.next_date
                             AND state <> 'planned')
        LOOP
            x.next_date := rrule_next(r, s, x.next_date);
        END LOOP;
        IF r ? 'count' AND rrule_index(r, s, x.next_date)
                           >= (r->>'count')::int
        THEN
            x.next_date := NULL;
        END IF;
    END IF;

    x.next_at := recurrence_instant(x, x.next_date);

    UPDATE recurrences SET next_date = x.next_date, next_at = x.next_at,
                           made = x.made
     WHERE id = x.id
    RETURNING * INTO x;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, t.project_id, 'task', tid, 'updated',
            CASE WHEN old.id IS NOT NULL
                 THEN jsonb_build_object('recurrence', old.rule) END,
            jsonb_build_object('recurrence', x.rule));

    RETURN QUERY SELECT CASE WHEN old.id IS NULL THEN 201 ELSE 200 END,
                        recurrence_json(x)::text,
                        CASE WHEN old.id IS NULL
                             THEN '/api/v1/tasks/' || tid || '/recurrence'
                        END;
END
$$;


-- DELETE /api/v1/tasks/{id}/recurrence: the series ends; its tasks stay.
CREATE FUNCTION recurrence_delete(actor uuid, role text, tid uuid)
RETURNS TABLE (status int, body text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    x  recurrences;
BEGIN
    SELECT * INTO x FROM recurrences WHERE task_id = tid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found';
        RETURN;
    END IF;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden';
        RETURN;
    END IF;

    DELETE FROM recurrences WHERE id = x.id;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, x.project_id, 'task', tid, 'updated',
            jsonb_build_object('recurrence', x.rule),
            jsonb_build_object('recurrence', NULL));

    RETURN QUERY SELECT 204, NULL::text;
END
$$;


-- The series' dates from `f` on (today when NULL), at most n, each with
-- what became of it: upcoming (nothing yet), planned (changed ahead),
-- skipped, or made (its task). Dates already recorded before f are left
-- out; made ones the rule no longer has (it was changed) are listed.
CREATE FUNCTION recurrence_occurrences_json(x recurrences, f date, n int)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r      jsonb := rrule_parse(x.rule);
    d      date;
    k      int := 0;
    dates  date[] := '{}';
BEGIN
    IF x.mode = 'schedule' THEN
        d := rrule_next(r, x.start_date, f - 1);
        WHILE d IS NOT NULL AND k < n
              AND (NOT r ? 'count'
                   OR k + (SELECT count(*) FROM recurrence_occurrences
                            WHERE recurrence_id = x.id AND on_date < f
                              AND on_date >= x.start_date
                              AND state <> 'planned')
                      < (r->>'count')::int)
        LOOP
            dates := dates || d;
            k := k + 1;
            d := rrule_next(r, x.start_date, d);
        END LOOP;
    END IF;

    RETURN jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'date', a.d,
                   'starts_at', recurrence_instant(x, a.d),
                   'state', coalesce(o.state, 'upcoming'),
                   'task_id', o.task_id,
                   'changes', coalesce(o.changes, '{}'))
                   ORDER BY a.d)
          FROM (SELECT unnest(dates) d
                UNION
                SELECT on_date FROM recurrence_occurrences
                 WHERE recurrence_id = x.id AND on_date >= f) a
          LEFT JOIN recurrence_occurrences o
                 ON o.recurrence_id = x.id AND o.on_date = a.d
         WHERE a.d <= coalesce(dates[cardinality(dates)], a.d)
            OR o.state IS NOT NULL), '[]'));
END
$$;


-- PUT /api/v1/tasks/{id}/recurrence/occurrences/{date}: one date changed
-- ahead ({title?, description?, priority?, due_date?, assignee_ids?}) or
-- skipped ({skip: true}). A date the rule does not have, or one made
-- already (change its task instead), is refused.
CREATE FUNCTION recurrence_occurrence_put(actor uuid, role text, tid uuid,
                                          d text, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    x   recurrences;
    o   recurrence_occurrences;
    od  date;
    r   jsonb;
BEGIN
    SELECT * INTO x FROM recurrences WHERE task_id = tid FOR UPDATE;

    IF NOT FOUND OR d !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    BEGIN
        od := d::date;
    EXCEPTION WHEN others THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only who may change the task may change its series.';
        RETURN;
    END IF;

    r := rrule_parse(x.rule);

    IF x.mode <> 'schedule' OR rrule_next(r, x.start_date, od - 1)
                                IS DISTINCT FROM od
       OR r ? 'count' AND rrule_index(r, x.start_date, od)
                          >= (r->>'count')::int
    THEN
        RETURN QUERY SELECT 404, 'not_found',
            'The series has no occurrence on this date.';
        RETURN;
    END IF;

    SELECT * INTO o FROM recurrence_occurrences
     WHERE recurrence_id = x.id AND on_date = od;

    IF o.state = 'made' THEN
        RETURN QUERY SELECT 409, 'conflict',
            'This occurrence is a task already: change the task.';
        RETURN;
    END IF;

    IF (b ? 'skip') = (b - 'skip' <> '{}')
       OR b ? 'skip' AND jsonb_typeof(b->'skip') <> 'boolean'
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Either skip, or the changes of the occurrence '
            '(title, description, priority, due_date, assignee_ids).';
        RETURN;
    END IF;

    IF b->>'priority' IS NOT NULL
       AND b->>'priority' NOT IN ('low', 'medium', 'high', 'urgent')
       OR b ? 'assignee_ids' AND (jsonb_typeof(b->'assignee_ids') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(b->'assignee_ids') a
                       WHERE jsonb_typeof(a) <> 'string'
                          OR a #>> '{}' !~ '^[0-9a-f-]{36}$'
                          OR NOT EXISTS (SELECT 1 FROM users u
                                          WHERE u.id::text = a #>> '{}'
                                            AND u.status = 'active')))
       OR b ? 'title' AND coalesce(length(b->>'title'), 0) NOT BETWEEN 1 AND 500
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'priority is low, medium, high or urgent; assignee_ids are '
            'active members; a title is 1 to 500 characters.';
        RETURN;
    END IF;

    IF b ? 'skip' AND NOT (b->>'skip')::boolean THEN
        DELETE FROM recurrence_occurrences
         WHERE recurrence_id = x.id AND on_date = od;
    ELSE
        INSERT INTO recurrence_occurrences (recurrence_id, on_date, state,
                                            changes)
        VALUES (x.id, od, CASE WHEN b ? 'skip' THEN 'skipped'
                               ELSE 'planned' END,
                CASE WHEN b ? 'skip' THEN '{}' ELSE b END)
        ON CONFLICT (recurrence_id, on_date) DO UPDATE
           SET state = EXCLUDED.state, changes = EXCLUDED.changes;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, x.project_id, 'task', tid, 'updated',
            jsonb_build_object('occurrence', od, 'change', b));

    RETURN QUERY SELECT 200, (recurrence_occurrences_json(x, od, 1)
                              -> 'items' -> 0)::text, NULL::text;
END
$$;
