-- Working time, what issue 25 still lacked: an absence approved or
-- rejected tells the person who asked (a notification and its email,
-- as an approved timesheet does), half days, and imports that keep the
-- start and end times their exports have.


-- Half days: an absence of one day may be half of it, which lowers that
-- day's target by half instead of all of it.
ALTER TABLE absences
    ADD COLUMN half_day boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT absences_half_day_one_day
        CHECK (NOT half_day OR start_date = end_date);

-- 077's: what a person owes on a day, a half day's absence owing half.
CREATE OR REPLACE FUNCTION day_target(uid uuid, d date) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN EXISTS (SELECT 1 FROM public_holidays h WHERE h.day = d)
                THEN 0
                ELSE day_target_base(uid, d)
                     * (1 - coalesce((SELECT max(CASE WHEN a.half_day
                                                      THEN 0.5 ELSE 1 END)
                                        FROM absences a
                                       WHERE a.user_id = uid
                                         AND a.status = 'approved'
                                         AND d BETWEEN a.start_date
                                                   AND a.end_date), 0))
           END
$$;

-- POST /api/v1/absences {kind, start_date, end_date, note?, half_day?}:
-- 077's, with half days.
CREATE OR REPLACE FUNCTION absence_request(actor uuid, b jsonb)
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
    IF jsonb_typeof(b->'half_day') = 'boolean' AND (b->>'half_day')::boolean
       AND e <> s
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'half_day: a half day is one day (end_date the start_date).';
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

    INSERT INTO absences (user_id, kind, start_date, end_date, note,
                          half_day)
    VALUES (actor, b->>'kind', s, e, coalesce(b->>'note', ''),
            coalesce((b->>'half_day')::boolean, false))
    RETURNING * INTO a;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'absence', a.id, 'requested', to_jsonb(a));

    RETURN QUERY SELECT 201, absence_json(a)::text,
                        '/api/v1/absences/' || a.id;
END
$$;


-- The person hears of the decision: from the decision's audit row, in its
-- transaction, as 012 does for an approved week; mailed through the
-- outbox like every notification (036), a kind of its own.
DO $$
DECLARE
    def    text;
    kinds  text[];
BEGIN
    SELECT pg_get_constraintdef(c.oid) INTO def
      FROM pg_constraint c
     WHERE c.conname = 'notifications_kind_check';

    kinds := ARRAY(SELECT DISTINCT k FROM unnest(
                 ARRAY(SELECT m[1] FROM regexp_matches(def, '''([a-z_]+)''',
                                                       'g') m)
                 || mail_notification_kinds() || 'absence_decided'::text) k
                 ORDER BY k);

    ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
    EXECUTE format('ALTER TABLE notifications ADD CONSTRAINT '
                   'notifications_kind_check CHECK (kind = ANY (%L::text[]))',
                   kinds);

    kinds := mail_notification_kinds() || 'absence_decided'::text;
    EXECUTE format('CREATE OR REPLACE FUNCTION mail_notification_kinds() '
                   'RETURNS text[] LANGUAGE sql IMMUTABLE AS '
                   '$f$ SELECT %L::text[] $f$', kinds);
END
$$;

CREATE FUNCTION activity_log_notify_absence() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notification_add((NEW.new_values->>'user_id')::uuid,
                             'absence_decided', NEW.actor_id, NULL,
                             jsonb_build_object(
                                 'absence_id', NEW.entity_id,
                                 'status', NEW.action,
                                 'absence_kind', NEW.new_values->'kind',
                                 'start_date', NEW.new_values->'start_date',
                                 'end_date', NEW.new_values->'end_date',
                                 'half_day', NEW.new_values->'half_day',
                                 'reason', NEW.new_values->'reason'));
    RETURN NULL;
END
$$;

CREATE TRIGGER activity_log_notify_absence
    AFTER INSERT ON activity_log
    FOR EACH ROW
    WHEN (NEW.entity_type = 'absence'
          AND NEW.action IN ('approved', 'rejected'))
    EXECUTE FUNCTION activity_log_notify_absence();

-- The mail's line: who decided, which days, and why not.
ALTER FUNCTION mail_notification_line(notifications)
    RENAME TO mail_notification_line_before_absences;

CREATE FUNCTION mail_notification_line(n notifications) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN n.kind = 'absence_decided'
                THEN coalesce((SELECT u.name FROM users u
                                WHERE u.id = n.actor_id), 'Someone')
                     || ' ' || (n.data->>'status') || ' your absence ('
                     || (n.data->>'absence_kind') || ', '
                     || CASE WHEN n.data->>'start_date' = n.data->>'end_date'
                             THEN n.data->>'start_date'
                             ELSE (n.data->>'start_date') || ' to '
                                  || (n.data->>'end_date') END
                     || CASE WHEN (n.data->>'half_day')::boolean
                             THEN ', half a day' ELSE '' END || ')'
                     || CASE WHEN n.data->>'status' = 'rejected'
                             THEN ': ' || coalesce(n.data->>'reason', '')
                             ELSE '' END
                ELSE mail_notification_line_before_absences(n) END
$$;


-- Imports keep the start and end times their exports have.

-- A time-of-day cell: HH:MM[:SS], or with AM/PM (Clockify's 12-hour
-- setting); NULL when it is none.
CREATE FUNCTION import_time(v text) RETURNS time
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN m IS NULL THEN NULL
        WHEN m[2]::int > 59 OR coalesce(m[3], '0')::int > 59 THEN NULL
        WHEN m[4] IS NULL
        THEN CASE WHEN m[1]::int <= 23
                  THEN make_time(m[1]::int, m[2]::int,
                                 coalesce(m[3], '0')::int) END
        WHEN m[1]::int BETWEEN 1 AND 12
        THEN make_time(m[1]::int % 12
                       + CASE WHEN upper(m[4]) = 'PM' THEN 12 ELSE 0 END,
                       m[2]::int, coalesce(m[3], '0')::int)
    END
      FROM (SELECT regexp_match(btrim(v),
                       '^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$')
                   AS m) x
$$;

-- POST /api/v1/timesheets/import: 078's, the times kept.
CREATE OR REPLACE FUNCTION time_import(actor uuid, role text, source text, raw bytea)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    src      text;
    recs     jsonb;
    head     text[];
    col      jsonb := '{}';
    c_date   int;
    c_dur    int;
    c_email  int;
    c_user   int;
    c_proj   int;
    c_desc   int;
    c_bill   int;
    c_from   int;
    c_to     int;
    c_todate int;
    t1       time;
    t2       time;
    d2       date;
    sa       timestamptz;
    ea       timestamptz;
    rec      record;
    cell     text;
    errs     text[] := '{}';
    rows     jsonb := '[]';
    who      uuid;
    pid      uuid;
    d        date;
    m        int;
    u        uuid;
    total    int;
    n        int;
BEGIN
    IF source IS NULL OR source NOT IN ('toggl', 'clockify', 'kimai') THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'source: toggl, clockify or kimai (whose export the file is).';
        RETURN;
    END IF;

    BEGIN
        src := convert_from(raw, 'UTF8');
    EXCEPTION WHEN OTHERS THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'The file is not UTF-8 text.';
        RETURN;
    END;
    src := regexp_replace(src, '^' || chr(65279), '');   -- a BOM

    -- parsed once
    SELECT coalesce(jsonb_agg(jsonb_build_object('n', r.n,
                                                 'f', to_jsonb(r.fields))
                              ORDER BY r.n), '[]')
      INTO recs FROM csv_records(src) r;

    IF EXISTS (SELECT 1 FROM jsonb_array_elements(recs) x
                WHERE x->'n' = 'null') THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'The file is not CSV: a quote is not closed or stands inside '
            'a field.';
        RETURN;
    END IF;

    head := ARRAY(SELECT jsonb_array_elements_text(recs->0->'f'));
    IF cardinality(head) = 0 THEN
        RETURN QUERY SELECT 422, 'validation_failed', 'The file is empty.';
        RETURN;
    END IF;

    SELECT jsonb_object_agg(lower(btrim(h)), i) INTO col
      FROM unnest(head) WITH ORDINALITY x(h, i);

    c_date := (col->>CASE source WHEN 'toggl' THEN 'start date'
                                 WHEN 'clockify' THEN 'start date'
                                 ELSE 'date' END)::int;
    c_dur := coalesce((col->>CASE source WHEN 'clockify'
                                        THEN 'duration (decimal)'
                                        ELSE 'duration' END)::int,
                      (col->>'duration (h)')::int);
    c_email := coalesce((col->>'email')::int, (col->>'e-mail')::int);
    c_user := (col->>'user')::int;
    c_proj := (col->>'project')::int;
    c_desc := (col->>'description')::int;
    c_bill := (col->>'billable')::int;
    -- start and end: Toggl's and Clockify's Start time, End date and End
    -- time; Kimai's From and To (or Begin and End)
    c_from := coalesce((col->>'start time')::int, (col->>'from')::int,
                       (col->>'begin')::int);
    c_to := coalesce((col->>'end time')::int, (col->>'to')::int,
                     (col->>'end')::int);
    c_todate := (col->>'end date')::int;

    IF c_date IS NULL OR c_dur IS NULL
       OR (c_email IS NULL AND c_user IS NULL) THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'This is not a ' || initcap(source) || ' export: its header '
            || 'lacks ' || concat_ws(', ',
                CASE WHEN c_date IS NULL THEN CASE source
                     WHEN 'kimai' THEN 'Date' ELSE 'Start date' END END,
                CASE WHEN c_dur IS NULL THEN CASE source
                     WHEN 'clockify' THEN 'Duration (decimal)'
                     ELSE 'Duration' END END,
                CASE WHEN c_email IS NULL AND c_user IS NULL
                     THEN 'Email or User' END) || '.';
        RETURN;
    END IF;

    IF jsonb_array_length(recs) > 10001 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'At most 10,000 rows in one import.';
        RETURN;
    END IF;

    FOR rec IN SELECT (x->>'n')::int AS n,
                      ARRAY(SELECT jsonb_array_elements_text(x->'f'))
                          AS fields
                 FROM jsonb_array_elements(recs) x
                WHERE (x->>'n')::int > 1
                ORDER BY (x->>'n')::int
    LOOP
        CONTINUE WHEN array_to_string(rec.fields, '') = '';   -- blank line

        -- the person: by email, else by name
        who := NULL;
        cell := btrim(rec.fields[coalesce(c_email, 0)]);
        IF coalesce(cell, '') <> '' THEN
            SELECT x.id INTO who FROM users x
             WHERE lower(x.email) = lower(cell) AND x.status = 'active';
            IF who IS NULL THEN
                errs := errs || format('row %s: nobody here has the email '
                                       '%s', rec.n, cell);
                CONTINUE;
            END IF;
        ELSE
            cell := btrim(rec.fields[coalesce(c_user, 0)]);
            SELECT min(x.id::text)::uuid INTO who FROM users x
             WHERE lower(x.name) = lower(cell) AND x.status = 'active'
            HAVING count(*) = 1;
            IF who IS NULL THEN
                errs := errs || format('row %s: nobody here is named "%s" '
                                       '(or several are)', rec.n,
                                       coalesce(cell, ''));
                CONTINUE;
            END IF;
        END IF;

        IF who <> actor AND role <> 'admin' THEN
            errs := errs || format('row %s: the time of someone else; only '
                                   'an admin imports others'' time', rec.n);
            CONTINUE;
        END IF;

        -- the project: by name or key; none for an empty cell
        pid := NULL;
        cell := btrim(rec.fields[coalesce(c_proj, 0)]);
        IF coalesce(cell, '') <> '' THEN
            SELECT min(p.id::text)::uuid INTO pid FROM projects p
             WHERE lower(p.name) = lower(cell) OR p.key = upper(cell)
            HAVING count(*) = 1;
            IF pid IS NULL THEN
                errs := errs || format('row %s: no project is named "%s"',
                                       rec.n, cell);
                CONTINUE;
            END IF;
        END IF;

        d := import_date(rec.fields[c_date], source);
        IF d IS NULL THEN
            errs := errs || format('row %s: "%s" is not a date', rec.n,
                                   coalesce(rec.fields[c_date], ''));
            CONTINUE;
        END IF;

        m := import_minutes(rec.fields[c_dur]);
        IF m IS NULL OR m NOT BETWEEN 1 AND 1440 THEN
            errs := errs || format('row %s: the duration "%s" is not 1 '
                                   'minute to 24 hours', rec.n,
                                   coalesce(rec.fields[c_dur], ''));
            CONTINUE;
        END IF;

        -- the times of day, when the export has them: in the workspace's
        -- time zone; an end before the start without an end date is on
        -- the next day (a night's work)
        sa := NULL;
        ea := NULL;
        cell := btrim(rec.fields[coalesce(c_from, 0)]);
        IF coalesce(cell, '') <> '' THEN
            t1 := import_time(cell);
            IF t1 IS NULL THEN
                errs := errs || format('row %s: the start "%s" is not a '
                                       'time of day', rec.n, cell);
                CONTINUE;
            END IF;
            sa := (d + t1) AT TIME ZONE workspace_time_zone();

            cell := btrim(rec.fields[coalesce(c_to, 0)]);
            IF coalesce(cell, '') <> '' THEN
                t2 := import_time(cell);
                IF t2 IS NULL THEN
                    errs := errs || format('row %s: the end "%s" is not a '
                                           'time of day', rec.n, cell);
                    CONTINUE;
                END IF;
                cell := btrim(rec.fields[coalesce(c_todate, 0)]);
                d2 := CASE WHEN coalesce(cell, '') = '' THEN NULL
                           ELSE import_date(cell, source) END;
                IF coalesce(cell, '') <> '' AND d2 IS NULL THEN
                    errs := errs || format('row %s: the end date "%s" is '
                                           'not a date', rec.n, cell);
                    CONTINUE;
                END IF;
                d2 := coalesce(d2, CASE WHEN t2 < t1 THEN d + 1 ELSE d END);
                ea := (d2 + t2) AT TIME ZONE workspace_time_zone();
                IF ea < sa OR ea - sa > interval '24 hours' THEN
                    errs := errs || format('row %s: it ends before it '
                                           'starts, or more than a day '
                                           'after', rec.n);
                    CONTINUE;
                END IF;
            END IF;
        END IF;

        cell := coalesce(rec.fields[coalesce(c_desc, 0)], '');
        IF length(cell) > 2000 THEN
            errs := errs || format('row %s: the description has more than '
                                   '2000 characters', rec.n);
            CONTINUE;
        END IF;

        rows := rows || jsonb_build_object(
            'row', rec.n, 'user_id', who, 'project_id', pid, 'date', d,
            'minutes', m, 'description', cell,
            'started_at', sa, 'ended_at', ea,
            'billable', lower(btrim(coalesce(
                rec.fields[coalesce(c_bill, 0)], ''))) IN ('yes', 'true',
                                                           '1', 'ja'));
    END LOOP;

    -- each person's time under their lock, in one order (no deadlock)
    FOR u IN SELECT DISTINCT (r->>'user_id')::uuid AS u
               FROM jsonb_array_elements(rows) r ORDER BY 1 LOOP
        PERFORM timesheet_lock(u);
    END LOOP;

    -- the rules of any entry, this file's own rows counted
    SELECT errs || coalesce(array_agg(x.msg ORDER BY x.rn), '{}') INTO errs
      FROM (SELECT (r->>'row')::int AS rn,
                   CASE WHEN week_status((r->>'user_id')::uuid,
                                         (r->>'date')::date)
                             IN ('submitted', 'approved')
                        THEN format('row %s: the week %s is %s', r->>'row',
                                    iso_week((r->>'date')::date),
                                    week_status((r->>'user_id')::uuid,
                                                (r->>'date')::date))
                        WHEN day_minutes((r->>'user_id')::uuid,
                                         (r->>'date')::date, NULL)
                             + sum((r->>'minutes')::int) OVER (
                                   PARTITION BY r->>'user_id', r->>'date'
                                   ORDER BY (r->>'row')::int) > 1440
                        THEN format('row %s: %s would hold more than 24 '
                                    'hours', r->>'row', r->>'date')
                   END AS msg
              FROM jsonb_array_elements(rows) r) x
     WHERE x.msg IS NOT NULL;

    IF cardinality(errs) > 0 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Nothing was imported. '
            || array_to_string(errs[1:20], '; ')
            || CASE WHEN cardinality(errs) > 20
                    THEN format('; and %s more', cardinality(errs) - 20)
                    ELSE '' END || '.';
        RETURN;
    END IF;

    IF jsonb_array_length(rows) = 0 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'The file has no rows of time.';
        RETURN;
    END IF;

    INSERT INTO time_entries (user_id, project_id, date, minutes,
                              description, billable, started_at, ended_at)
    SELECT (r->>'user_id')::uuid, (r->>'project_id')::uuid,
           (r->>'date')::date, (r->>'minutes')::int, r->>'description',
           (r->>'billable')::boolean, (r->>'started_at')::timestamptz,
           (r->>'ended_at')::timestamptz
      FROM jsonb_array_elements(rows) r
     ORDER BY (r->>'row')::int;
    GET DIAGNOSTICS n = ROW_COUNT;

    SELECT sum((r->>'minutes')::int) INTO total
      FROM jsonb_array_elements(rows) r;

    INSERT INTO activity_log (actor_id, entity_type, action, new_values)
    VALUES (actor, 'time_import', 'imported',
            jsonb_build_object('source', source, 'entries', n,
                               'minutes', total));

    RETURN QUERY SELECT 200, jsonb_build_object(
        'source', source, 'imported', n, 'minutes', total,
        'from', (SELECT min((r->>'date')::date)
                   FROM jsonb_array_elements(rows) r),
        'to', (SELECT max((r->>'date')::date)
                 FROM jsonb_array_elements(rows) r),
        'people', (SELECT jsonb_agg(jsonb_build_object(
                              'user_id', x.uid, 'name', x.name,
                              'entries', x.entries, 'minutes', x.minutes)
                              ORDER BY x.name)
                     FROM (SELECT (r->>'user_id')::uuid AS uid,
                                  (SELECT name FROM users
                                    WHERE id = (r->>'user_id')::uuid) AS name,
                                  count(*) AS entries,
                                  sum((r->>'minutes')::int) AS minutes
                             FROM jsonb_array_elements(rows) r
                            GROUP BY 1, 2) x))::text,
        NULL::text;
END
$$;
