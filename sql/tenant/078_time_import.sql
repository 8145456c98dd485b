-- Moving in (issue 25): time entries from the CSV exports of Toggl Track
-- (detailed report), Clockify (detailed report) and Kimai (timesheet
-- export), their columns found by their header names:
--
--   toggl     User, Email, Project, Description, Billable (Yes/No),
--             Start date (YYYY-MM-DD), Duration (H:MM:SS)
--   clockify  Project, Description, User, Email, Billable (Yes/No),
--             Start Date (MM/DD/YYYY, or YYYY-MM-DD), Duration (decimal)
--             or Duration (h) (H:MM:SS)
--   kimai     Date (YYYY-MM-DD, or DD.MM.YYYY), Duration (H:MM, or
--             decimal hours), User, E-mail, Project, Description,
--             Billable (when the export has it)
--
-- A row's person is the workspace's person of its email, else of its
-- name; its project the workspace's project of that name or key (none
-- when the cell is empty). People import their own rows, admins
-- anyone's. All or nothing, like the task import: every bad row is named
-- ("row 3: ...", the header being row 1) and nothing is kept; the rules
-- of any entry hold (a day has 24 hours, a submitted or approved week is
-- locked), counting the rows of the file itself.

-- The records of a CSV text (RFC 4180: quoted fields may hold commas,
-- quotes doubled, line breaks). NULL fields: the text is not CSV (a
-- stray quote).
CREATE FUNCTION csv_records(src text)
RETURNS TABLE (n int, fields text[])
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m     text[];
    f     text;
    cur   text[] := '{}';
    used  int := 0;
BEGIN
    n := 0;
    FOR m IN SELECT regexp_matches(src,
                 '("(?:[^"]|"")*"|[^,"\r\n]*)(,|\r\n|\n|\r|$)', 'g')
    LOOP
        used := used + length(m[1]) + length(m[2]);
        f := m[1];
        IF left(f, 1) = '"' THEN
            f := replace(substr(f, 2, length(f) - 2), '""', '"');
        END IF;
        cur := cur || f;

        CONTINUE WHEN m[2] = ',';

        IF m[2] = '' AND cur = ARRAY[''] THEN
            EXIT;                           -- the end after a last line break
        END IF;

        n := n + 1;
        fields := cur;
        RETURN NEXT;
        cur := '{}';
        EXIT WHEN m[2] = '';
    END LOOP;

    IF used <> length(src) THEN
        n := NULL;
        fields := NULL;
        RETURN NEXT;
    END IF;
END
$$;

-- A duration cell in minutes: H:MM[:SS], or decimal hours (1.5, 1,5).
CREATE FUNCTION import_minutes(v text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN v ~ '^\s*\d{1,4}:\d{1,2}(:\d{1,2})?\s*$'
        THEN round((split_part(btrim(v), ':', 1)::int * 3600
                    + split_part(btrim(v), ':', 2)::int * 60
                    + coalesce(nullif(split_part(btrim(v), ':', 3), ''),
                               '0')::int) / 60.0)::int
        WHEN v ~ '^\s*\d{1,4}([.,]\d+)?\s*$'
        THEN round(replace(btrim(v), ',', '.')::numeric * 60)::int
    END
$$;

-- A date of year, month and day; NULL when there is no such day (checked,
-- not caught: no subtransaction a row).
CREATE FUNCTION import_ymd(y int, m int, d int) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN y BETWEEN 1 AND 9999 AND m BETWEEN 1 AND 12 AND d >= 1
                     AND d <= extract(day FROM make_date(y, m, 1)
                                               + interval '1 month'
                                               - interval '1 day')
                THEN make_date(y, m, d) END
$$;

-- A date cell of a source's export; NULL when it is none.
CREATE FUNCTION import_date(v text, source text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN s ~ '^\d{4}-\d{2}-\d{2}'
        THEN import_ymd(substr(s, 1, 4)::int, substr(s, 6, 2)::int,
                        substr(s, 9, 2)::int)
        WHEN source = 'clockify' AND s ~ '^\d{2}/\d{2}/\d{4}$'
        THEN import_ymd(substr(s, 7, 4)::int, substr(s, 1, 2)::int,
                        substr(s, 4, 2)::int)
        WHEN source = 'kimai' AND s ~ '^\d{2}\.\d{2}\.\d{4}$'
        THEN import_ymd(substr(s, 7, 4)::int, substr(s, 4, 2)::int,
                        substr(s, 1, 2)::int)
    END
      FROM (SELECT btrim(v) AS s) x
$$;


-- POST /api/v1/timesheets/import?source=toggl|clockify|kimai (text/csv).
CREATE FUNCTION time_import(actor uuid, role text, source text, raw bytea)
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

        cell := coalesce(rec.fields[coalesce(c_desc, 0)], '');
        IF length(cell) > 2000 THEN
            errs := errs || format('row %s: the description has more than '
                                   '2000 characters', rec.n);
            CONTINUE;
        END IF;

        rows := rows || jsonb_build_object(
            'row', rec.n, 'user_id', who, 'project_id', pid, 'date', d,
            'minutes', m, 'description', cell,
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
                              description, billable)
    SELECT (r->>'user_id')::uuid, (r->>'project_id')::uuid,
           (r->>'date')::date, (r->>'minutes')::int, r->>'description',
           (r->>'billable')::boolean
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
