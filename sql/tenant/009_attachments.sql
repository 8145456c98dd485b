-- Attachments of tasks, and a project's tasks out (export: JSON or CSV)
-- and in (import: a Trello board, a CSV file, or our own JSON export).


-- Export ------------------------------------------------------------------

-- A task as it leaves the workspace: names instead of ids, so that it
-- means the same in another workspace (column, assignees' emails, custom
-- fields by name, the parent's key).
CREATE FUNCTION task_export_json(t tasks) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'key', p.key || '-' || t.number,
        'title', t.title,
        'description', t.description,
        'column', c.name,
        'category', c.category,
        'priority', t.priority,
        'assignees', coalesce((
            SELECT jsonb_agg(u.email ORDER BY lower(u.email))
              FROM task_assignees a JOIN users u ON u.id = a.user_id
             WHERE a.task_id = t.id), '[]'),
        'labels', to_jsonb(t.labels),
        'start_date', t.start_date,
        'due_date', t.due_date,
        'estimate_minutes', t.estimate_minutes,
        'blocked', t.blocked,
        'blocked_reason', t.blocked_reason,
        'parent_key', (SELECT p.key || '-' || pt.number FROM tasks pt
                        WHERE pt.id = t.parent_id),
        'custom_fields', coalesce((
            SELECT jsonb_object_agg(f.name, e.value)
              FROM jsonb_each(t.custom_fields) e
              JOIN custom_fields f ON f.id::text = e.key), '{}'),
        'created_at', t.created_at,
        'completed_at', t.completed_at)
      FROM projects p, columns c
     WHERE p.id = t.project_id AND c.id = t.column_id
$$;


-- One CSV field (RFC 4180): quoted when it holds a comma, a quote or a
-- line break. A spreadsheet would run a cell that starts with = + - @ (or
-- a tab or carriage return, which some strip first) as a formula: such a
-- cell gets a leading apostrophe, which the import takes off again.
CREATE FUNCTION csv_field(v text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN g ~ '[",\r\n]'
                THEN '"' || replace(g, '"', '""') || '"' ELSE g END
      FROM (SELECT CASE WHEN v ~ '^[=+\-@\t\r]' THEN '''' || v
                        ELSE coalesce(v, '') END AS g) s
$$;


-- The header of the CSV export, which is also what the CSV import reads.
CREATE FUNCTION task_csv_header() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'key,title,description,column,category,priority,assignees,'
           'labels,start_date,due_date,estimate_minutes,blocked,'
           'blocked_reason,parent_key,custom_fields,created_at,completed_at'
$$;

-- Lists in a cell are separated by semicolons ("a@x.example; b@x.example").
CREATE FUNCTION task_csv_line(d jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws(',',
        csv_field(d->>'key'), csv_field(d->>'title'),
        csv_field(d->>'description'), csv_field(d->>'column'),
        csv_field(d->>'category'), csv_field(d->>'priority'),
        csv_field((SELECT string_agg(e, '; ')
                     FROM jsonb_array_elements_text(d->'assignees') e)),
        csv_field((SELECT string_agg(e, '; ')
                     FROM jsonb_array_elements_text(d->'labels') e)),
        csv_field(d->>'start_date'), csv_field(d->>'due_date'),
        csv_field(d->>'estimate_minutes'), csv_field(d->>'blocked'),
        csv_field(d->>'blocked_reason'), csv_field(d->>'parent_key'),
        csv_field(CASE WHEN d->'custom_fields' <> '{}'
                       THEN (d->'custom_fields')::text END),
        csv_field(to_char((d->>'created_at')::timestamptz AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
        csv_field(to_char((d->>'completed_at')::timestamptz
                          AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
$$;


-- (status, body, extra, activity, media type, file name): JSON unless
-- format=csv, or no format and an Accept that asks for text/csv.
CREATE FUNCTION project_export(pid uuid, fmt text, accept text)
RETURNS TABLE (status int, body text, extra text, activity bigint,
               content_type text, filename text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p  projects;
BEGIN
    SELECT * INTO p FROM projects WHERE id = pid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint,
                            NULL::text, NULL::text;
        RETURN;
    END IF;

    IF fmt IS NULL THEN
        fmt := CASE WHEN lower(coalesce(accept, '')) ~ '(^|[,\s])text/csv'
                    THEN 'csv' ELSE 'json' END;
    END IF;

    IF fmt = 'json' THEN
        RETURN QUERY SELECT 200, jsonb_build_object(
            'format', 'kanban-export', 'version', 1,
            'exported_at', now(),
            'project', project_json(p),
            'columns', coalesce((
                SELECT jsonb_agg(jsonb_build_object('name', c.name,
                           'category', c.category, 'position', c.position,
                           'wip_limit', c.wip_limit)
                           ORDER BY c.position, c.id)
                  FROM columns c WHERE c.project_id = pid), '[]'),
            'tasks', coalesce((
                SELECT jsonb_agg(task_export_json(t) ORDER BY t.number)
                  FROM tasks t WHERE t.project_id = pid), '[]'))::text,
            NULL::text, NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF fmt = 'csv' THEN
        RETURN QUERY SELECT 200,
            task_csv_header() || E'\r\n' || coalesce((
                SELECT string_agg(task_csv_line(task_export_json(t)),
                                  E'\r\n' ORDER BY t.number) || E'\r\n'
                  FROM tasks t WHERE t.project_id = pid), ''),
            NULL::text, NULL::bigint, 'text/csv; charset=utf-8',
            p.key || '-tasks.csv';
        RETURN;
    END IF;

    RETURN QUERY SELECT 400, 'bad_request',
                        'format is csv or json.', NULL::bigint,
                        NULL::text, NULL::text;
END
$$;


-- Attachments ---------------------------------------------------------------

-- Files of a task, in the workspace's own database: its isolation, its
-- transactions and its backups hold for them too, and every nginx node
-- reaches them. The bytes are read only to download them.
CREATE TABLE attachments (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id       uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    filename      text NOT NULL
                  CHECK (octet_length(filename) BETWEEN 1 AND 255
                         AND filename !~ '[/\\[:cntrl:]]'
                         AND filename NOT IN ('.', '..')),
    content_type  text NOT NULL
                  CHECK (length(content_type) <= 255
                         AND content_type !~ '[[:cntrl:]]'),
    size          bigint NOT NULL CHECK (size BETWEEN 1 AND 10485760),
    sha256        text NOT NULL,
    data          bytea NOT NULL,
    uploaded_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX attachments_task ON attachments (task_id, created_at);

-- What the API shows of one, from its columns only: a whole-row value
-- would read (and detoast) the bytes.
CREATE VIEW attachment_docs AS
SELECT a.id, a.task_id, a.created_at,
       jsonb_build_object('id', a.id, 'task_id', a.task_id,
                          'filename', a.filename,
                          'content_type', a.content_type, 'size', a.size,
                          'sha256', a.sha256, 'uploaded_by', a.uploaded_by,
                          'created_at', a.created_at) AS doc
  FROM attachments a;


-- Those who may change the task attach files to it. The file's name and
-- bytes come checked by the module; the media type is the request's, or
-- application/octet-stream.
CREATE FUNCTION attachment_create(actor uuid, role text, tid uuid,
                                  fname text, ctype text, bytes bytea)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t    tasks;
    aid  uuid;
    doc  jsonb;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = tid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Those who may change the task attach files to it.';
        RETURN;
    END IF;

    ctype := coalesce(nullif(btrim(ctype), ''), 'application/octet-stream');

    IF ctype !~ ('^[!#$%&''*+.^_`|~0-9A-Za-z-]+/[!#$%&''*+.^_`|~0-9A-Za-z-]+'
                 '(\s*;[^[:cntrl:]]*)?$')
       OR length(ctype) > 255
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'Content-Type is not a media type.';
        RETURN;
    END IF;

    INSERT INTO attachments (task_id, filename, content_type, size, sha256,
                             data, uploaded_by)
    VALUES (tid, fname, ctype, length(bytes),
            encode(sha256(bytes), 'hex'), bytes, actor)
    RETURNING id INTO aid;

    SELECT d.doc INTO doc FROM attachment_docs d WHERE d.id = aid;

    -- in the task's trail, where people look for it
    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, t.project_id, 'task', tid, 'attachment_added', doc);

    RETURN QUERY SELECT 201, doc::text, '/api/v1/attachments/' || aid;
END
$$;


-- Its uploader, those who may change its task, and admins remove it.
CREATE FUNCTION attachment_delete(actor uuid, role text, aid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    tid   uuid;
    pid   uuid;
    who   uuid;
    doc   jsonb;
BEGIN
    SELECT a.task_id, a.uploaded_by, t.project_id INTO tid, who, pid
      FROM attachments a JOIN tasks t ON t.id = a.task_id
     WHERE a.id = aid FOR UPDATE OF a;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF role <> 'admin' AND who IS DISTINCT FROM actor
       AND NOT can_change_task(actor, role, tid)
    THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Its uploader, those who may change the task and admins '
            'remove an attachment.';
        RETURN;
    END IF;

    SELECT d.doc INTO doc FROM attachment_docs d WHERE d.id = aid;

    DELETE FROM attachments WHERE id = aid;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values)
    VALUES (actor, pid, 'task', tid, 'attachment_deleted', doc);

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


-- Import ------------------------------------------------------------------

-- A board's list name says what kind of column it is, roughly.
CREATE FUNCTION import_category(name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN name ~* '(done|complete|finished|closed|shipped|released)'
            THEN 'done'
        WHEN name ~* '(review|qa\M|test|verif|approv)' THEN 'review'
        WHEN name ~* '(progress|doing|working|wip|started|active)'
            THEN 'in_progress'
        WHEN name ~* '(backlog|icebox|someday|ideas|later)' THEN 'backlog'
        ELSE 'todo' END
$$;

-- A value as text: '' is none, and the export's guard apostrophe before
-- = + - @ is taken off again.
CREATE FUNCTION import_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s ~ '^''[=+\-@\t\r]' THEN substr(s, 2)
                ELSE nullif(s, '') END
      FROM (SELECT v #>> '{}' AS s) x
$$;

-- A list: a JSON array, or a cell of items separated by semicolons.
CREATE FUNCTION import_list(v jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(btrim(e) ORDER BY i), '{}')
      FROM (SELECT e, i FROM jsonb_array_elements_text(
                CASE jsonb_typeof(v) WHEN 'array' THEN v ELSE '[]' END)
                WITH ORDINALITY a(e, i)
            UNION ALL
            SELECT e, i FROM regexp_split_to_table(
                CASE jsonb_typeof(v) WHEN 'string' THEN import_text(v) END,
                ';') WITH ORDINALITY b(e, i)) x
     WHERE btrim(e) <> ''
$$;

CREATE FUNCTION import_date(v jsonb, field text) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s  text := import_text(v);
BEGIN
    IF s IS NULL THEN
        RETURN NULL;
    END IF;

    IF s !~ '^\d{4}-\d{2}-\d{2}(T.*)?$' THEN
        RAISE EXCEPTION '% is not a date (YYYY-MM-DD): "%"', field, s
              USING ERRCODE = 'KB422';
    END IF;

    RETURN left(s, 10)::date;
END
$$;


-- A new project from a Trello board's JSON export, our own JSON export,
-- or CSV rows (the module turns them into {"format": "csv", "tasks":
-- [{"_row": 2, header: cell, ...}]}). One statement: a bad row raises
-- KB422 naming it, and nothing of the import remains.
CREATE FUNCTION project_import(actor uuid, role text, pkey text, pname text,
                               doc jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    kind       text;
    cols       jsonb;
    items       jsonb;
    skipped    int := 0;
    p          projects;
    r          jsonb;
    n          bigint;
    what       text;
    col_ids    uuid[];
    col_names  text[];
    col_cats   text[];
    k          int;
    title      text;
    prio       text;
    cat        text;
    cname      text;
    est        text;
    blk        text;
    labels     text[];
    people     text[];
    unmatched  text[] := '{}';
    cf         jsonb;
    tid        uuid;
    bad        record;
BEGIN
    IF NOT can_manage_project(actor, role, NULL) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and project managers import projects.';
        RETURN;
    END IF;

    pkey := upper(btrim(pkey));

    IF pkey IS NULL OR pkey = '' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'Name the project''s key: ?key=VULN.';
        RETURN;
    END IF;

    IF pkey !~ '^[A-Z][A-Z0-9]{1,9}$' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'key is 2 to 10 letters and digits, starting with a letter.';
        RETURN;
    END IF;

    IF EXISTS (SELECT 1 FROM projects WHERE key = pkey) THEN
        RETURN QUERY SELECT 409, 'already_exists',
                            'A project has this key.';
        RETURN;
    END IF;

    IF length(pname) > 200 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'name has at most 200 characters.';
        RETURN;
    END IF;

    IF jsonb_typeof(doc->'cards') = 'array'
       OR jsonb_typeof(doc->'lists') = 'array'
    THEN
        kind := 'trello';
    ELSIF doc->>'format' = 'csv' THEN
        kind := 'csv';
    ELSIF jsonb_typeof(doc->'tasks') = 'array' THEN
        kind := 'export';
    ELSE
        RETURN QUERY SELECT 422, 'validation_failed',
            'Send a Trello board export (lists and cards), a JSON export '
            'of a project (tasks) or CSV.';
        RETURN;
    END IF;

    IF jsonb_array_length(CASE WHEN kind = 'trello'
                               THEN coalesce(doc->'cards', '[]')
                               ELSE doc->'tasks' END) > 5000
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'An import has at most 5,000 cards or rows.';
        RETURN;
    END IF;

    BEGIN
        what := 'the board';

        IF kind = 'trello' THEN
            pname := coalesce(pname, left(nullif(btrim(doc->>'name'), ''),
                                          200));

            -- open lists by position; open cards of open lists, in order
            WITH l AS (
                SELECT x.l, row_number() OVER (
                           ORDER BY CASE WHEN jsonb_typeof(x.l->'pos')
                                              = 'number'
                                         THEN (x.l->'pos')::numeric END,
                                    x.i) AS k
                  FROM jsonb_array_elements(coalesce(doc->'lists', '[]'))
                       WITH ORDINALITY x(l, i)
                 WHERE NOT coalesce((x.l->>'closed')::boolean, false))
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'name', coalesce(nullif(btrim(l.l->>'name'), ''),
                                        'List ' || l.k),
                       'category', import_category(l.l->>'name'))
                       ORDER BY l.k), '[]'),
                   (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       '_col', l2.k,
                       '_label', format('card %s (%s)', c.i,
                                        left(c.c->>'name', 60)),
                       'title', c.c->'name',
                       'description', c.c->'desc',
                       'due_date', c.c->'due',
                       'start_date', c.c->'start',
                       'labels', (
                           SELECT coalesce(jsonb_agg(coalesce(
                                      nullif(lb->>'name', ''),
                                      lb->>'color')), '[]')
                             FROM jsonb_array_elements(
                                      CASE WHEN jsonb_typeof(c.c->'labels')
                                                = 'array'
                                           THEN c.c->'labels'
                                           ELSE (SELECT coalesce(
                                                     jsonb_agg(d), '[]')
                                                   FROM jsonb_array_elements(
                                                     coalesce(doc->'labels',
                                                              '[]')) d
                                                  WHERE coalesce(
                                                     c.c->'idLabels', '[]')
                                                     ? (d->>'id'))
                                      END) lb
                            WHERE coalesce(nullif(lb->>'name', ''),
                                           lb->>'color') IS NOT NULL))
                       ORDER BY l2.k,
                                CASE WHEN jsonb_typeof(c.c->'pos') = 'number'
                                     THEN (c.c->'pos')::numeric END,
                                c.i), '[]')
                      FROM jsonb_array_elements(coalesce(doc->'cards', '[]'))
                           WITH ORDINALITY c(c, i)
                      JOIN l l2 ON l2.l->>'id' = c.c->>'idList'
                     WHERE NOT coalesce((c.c->>'closed')::boolean, false))
              INTO cols, items
              FROM l;

            skipped := jsonb_array_length(coalesce(doc->'cards', '[]'))
                       - jsonb_array_length(items);

        ELSE
            items := doc->'tasks';

            IF kind = 'export' THEN
                pname := coalesce(pname, doc->'project'->>'name');
                cols := CASE WHEN jsonb_typeof(doc->'columns') = 'array'
                                  AND doc->'columns' <> '[]'
                             THEN doc->'columns' END;
            END IF;
        END IF;

        pname := coalesce(pname, pkey);

        -- no columns given: those the items name, in the order of their
        -- categories; none at all: the usual five
        IF cols IS NULL THEN
            SELECT jsonb_agg(jsonb_build_object('name', c.name,
                                                'category', c.cat)
                             ORDER BY array_position(ARRAY['backlog',
                                 'todo', 'in_progress', 'review', 'done'],
                                 c.cat), c.first)
              INTO cols
              FROM (SELECT import_text(x.r->'column') AS name,
                           min(x.i) AS first,
                           (array_agg(CASE WHEN import_text(x.r->'category')
                                          IN ('backlog', 'todo',
                                              'in_progress', 'review', 'done')
                                     THEN import_text(x.r->'category')
                                     ELSE import_category(
                                              import_text(x.r->'column'))
                                     END ORDER BY x.i))[1] AS cat
                      FROM jsonb_array_elements(items) WITH ORDINALITY x(r, i)
                     WHERE jsonb_typeof(x.r) = 'object'
                       AND import_text(x.r->'column') IS NOT NULL
                     GROUP BY 1) c;
        END IF;

        cols := coalesce(cols, '[{"name": "Backlog", "category": "backlog"},
            {"name": "To Do", "category": "todo"},
            {"name": "In Progress", "category": "in_progress"},
            {"name": "Review", "category": "review"},
            {"name": "Done", "category": "done"}]');

        what := NULL;

        BEGIN
            INSERT INTO projects AS x (key, name, owner_id)
            VALUES (pkey, pname, actor)
            RETURNING x.* INTO p;
        EXCEPTION
            WHEN unique_violation THEN
                RETURN QUERY SELECT 409, 'already_exists',
                                    'A project has this key.';
                RETURN;
        END;

        what := 'the columns';

        INSERT INTO columns (project_id, name, category, position, wip_limit)
        SELECT p.id, left(import_text(c->'name'), 100),
               coalesce(import_text(c->'category'),
                        import_category(import_text(c->'name'))),
               i - 1,
               CASE WHEN jsonb_typeof(c->'wip_limit') = 'number'
                    THEN (c->>'wip_limit')::int END
          FROM jsonb_array_elements(cols) WITH ORDINALITY x(c, i);

        SELECT array_agg(id ORDER BY position), array_agg(name
                         ORDER BY position),
               array_agg(category ORDER BY position)
          INTO col_ids, col_names, col_cats
          FROM columns WHERE project_id = p.id;

        FOR r, n IN SELECT x.r, x.i FROM jsonb_array_elements(items)
                                    WITH ORDINALITY x(r, i)
        LOOP
            what := coalesce(r->>'_label', CASE kind
                        WHEN 'csv' THEN 'row ' || coalesce(r->>'_row', '?')
                        ELSE 'task ' || n END);

            IF jsonb_typeof(r) <> 'object' THEN
                RAISE EXCEPTION 'not an object' USING ERRCODE = 'KB422';
            END IF;

            title := import_text(r->'title');

            IF title IS NULL THEN
                RAISE EXCEPTION 'title is required' USING ERRCODE = 'KB422';
            END IF;

            IF length(title) > 500 THEN
                RAISE EXCEPTION 'title has more than 500 characters'
                      USING ERRCODE = 'KB422';
            END IF;

            prio := lower(coalesce(import_text(r->'priority'), 'medium'));

            IF prio NOT IN ('low', 'medium', 'high', 'urgent') THEN
                RAISE EXCEPTION 'priority is low, medium, high or urgent, '
                                'not "%"', prio USING ERRCODE = 'KB422';
            END IF;

            cat := import_text(r->'category');

            IF cat NOT IN ('backlog', 'todo', 'in_progress', 'review',
                           'done')
            THEN
                RAISE EXCEPTION 'category "%" is none of backlog, todo, '
                                'in_progress, review, done', cat
                      USING ERRCODE = 'KB422';
            END IF;

            cname := import_text(r->'column');

            IF r ? '_col' THEN
                k := (r->>'_col')::int;
            ELSIF cname IS NOT NULL THEN
                k := array_position(col_names, left(cname, 100));

                IF k IS NULL THEN
                    RAISE EXCEPTION 'column "%" is not a column of the board',
                                    cname USING ERRCODE = 'KB422';
                END IF;
            ELSE
                k := coalesce(array_position(col_cats, cat), 1);
            END IF;

            est := import_text(r->'estimate_minutes');

            IF est !~ '^\d{1,7}$' OR (est ~ '^\d{1,7}$'
                                       AND est::int > 1000000)
            THEN
                RAISE EXCEPTION 'estimate_minutes is a whole number of '
                                'minutes, not "%"', est
                      USING ERRCODE = 'KB422';
            END IF;

            blk := lower(import_text(r->'blocked'));

            IF blk NOT IN ('true', 'false', 'yes', 'no', '1', '0') THEN
                RAISE EXCEPTION 'blocked is true or false, not "%"', blk
                      USING ERRCODE = 'KB422';
            END IF;

            labels := import_list(r->'labels');

            IF cardinality(labels) > 50 THEN
                RAISE EXCEPTION 'more than 50 labels'
                      USING ERRCODE = 'KB422';
            END IF;

            cf := CASE jsonb_typeof(r->'custom_fields')
                  WHEN 'object' THEN r->'custom_fields'
                  WHEN 'string' THEN import_text(r->'custom_fields')::jsonb
                  END;

            IF cf IS NOT NULL AND jsonb_typeof(cf) <> 'object' THEN
                RAISE EXCEPTION 'custom_fields is an object of field names '
                                'and values' USING ERRCODE = 'KB422';
            END IF;

            -- by name, the workspace's own fields (ids differ elsewhere);
            -- names it does not have are left out
            cf := coalesce((SELECT jsonb_object_agg(f.id::text, e.value)
                              FROM jsonb_each(cf) e
                              JOIN LATERAL (SELECT id FROM custom_fields f
                                             WHERE f.name = e.key
                                               AND f.project_id IS NULL
                                             ORDER BY f.created_at LIMIT 1) f
                                ON true
                             WHERE e.value <> 'null'), '{}');

            INSERT INTO tasks AS x (project_id, number, title, description,
                                    column_id, priority, reporter_id, labels,
                                    start_date, due_date, estimate_minutes,
                                    blocked, blocked_reason, completed_at,
                                    rank, custom_fields)
            VALUES (p.id, n, title,
                    coalesce(import_text(r->'description'), ''),
                    col_ids[k], prio, actor, labels,
                    import_date(r->'start_date', 'start_date'),
                    import_date(r->'due_date', 'due_date'),
                    est::int, coalesce(blk IN ('true', 'yes', '1'), false),
                    left(import_text(r->'blocked_reason'), 1000),
                    CASE WHEN col_cats[k] = 'done'
                         THEN coalesce(CASE WHEN import_text(
                                                 r->'completed_at')
                                                 ~ '^\d{4}-\d{2}-\d{2}T'
                                            THEN import_text(
                                                 r->'completed_at')
                                                 ::timestamptz END,
                                       now()) END,
                    'i' || n, cf)
            RETURNING x.id INTO tid;

            people := import_list(r->'assignees');

            IF people <> '{}' THEN
                INSERT INTO task_assignees (task_id, user_id)
                SELECT DISTINCT tid, u.id FROM users u
                 WHERE u.status = 'active'
                   AND (lower(u.email) IN (SELECT lower(e)
                                             FROM unnest(people) e)
                        OR u.name = ANY (people));

                unmatched := unmatched || ARRAY(
                    SELECT e FROM unnest(people) e
                     WHERE NOT EXISTS (SELECT 1 FROM users u
                                        WHERE u.status = 'active'
                                          AND (lower(u.email) = lower(e)
                                               OR u.name = e))
                       AND NOT e = ANY (unmatched));
            END IF;
        END LOOP;

        what := NULL;
        n := jsonb_array_length(items);

        -- subtasks: parent_key is the key of another row of the import
        WITH kx AS (
            SELECT x.i, coalesce(x.r->>'_label', CASE kind
                       WHEN 'csv' THEN 'row ' || coalesce(x.r->>'_row', '?')
                       ELSE 'task ' || x.i END) AS lbl,
                   import_text(x.r->'key') AS key,
                   import_text(x.r->'parent_key') AS pk
              FROM jsonb_array_elements(items) WITH ORDINALITY x(r, i)),
             dup AS (
            SELECT kx.*, row_number() OVER (PARTITION BY key ORDER BY i) AS rn
              FROM kx WHERE key IS NOT NULL)
        SELECT * INTO bad FROM (
            SELECT dup.i, format('%s: key %s appears twice', dup.lbl,
                                 dup.key) AS msg
              FROM dup WHERE rn > 1
            UNION ALL
            SELECT c.i, format('%s: parent_key %s is no key of this import',
                               c.lbl, c.pk)
              FROM kx c WHERE c.pk IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM kx WHERE kx.key = c.pk)) e
         ORDER BY e.i LIMIT 1;

        IF bad.msg IS NOT NULL THEN
            RAISE EXCEPTION '%', bad.msg USING ERRCODE = 'KB422';
        END IF;

        WITH kx AS (
            SELECT x.i, import_text(x.r->'key') AS key,
                   import_text(x.r->'parent_key') AS pk
              FROM jsonb_array_elements(items) WITH ORDINALITY x(r, i))
        UPDATE tasks t SET parent_id = pt.id
          FROM kx c JOIN kx pa ON pa.key = c.pk
               JOIN tasks pt ON pt.project_id = p.id AND pt.number = pa.i
         WHERE t.project_id = p.id AND t.number = c.i AND c.pk IS NOT NULL;

        WITH RECURSIVE up (id, parent_id, start) AS (
            SELECT t.id, t.parent_id, t.number FROM tasks t
             WHERE t.project_id = p.id AND t.parent_id IS NOT NULL
            UNION ALL
            SELECT t.id, t.parent_id, up.start
              FROM up JOIN tasks t ON t.id = up.parent_id
        ) CYCLE id SET looped USING path
        SELECT min(start) INTO k FROM up WHERE looped;

        IF k IS NOT NULL THEN
            RAISE EXCEPTION 'task % is its own ancestor (parent_key)', k
                  USING ERRCODE = 'KB422';
        END IF;

        -- ranks in each column, in the order of the import
        UPDATE tasks t SET rank = rank_spread(o.k, o.total)
          FROM (SELECT id, row_number() OVER w AS k,
                       count(*) OVER (PARTITION BY column_id) AS total
                  FROM tasks WHERE project_id = p.id
                WINDOW w AS (PARTITION BY column_id ORDER BY number)) o
         WHERE t.id = o.id;

        UPDATE projects x SET next_task_number = n + 1 WHERE x.id = p.id
        RETURNING x.* INTO p;

    EXCEPTION
        WHEN data_exception OR integrity_constraint_violation
             OR sqlstate 'KB422'
        THEN
            RAISE EXCEPTION USING ERRCODE = 'KB422',
                MESSAGE = 'import: ' || coalesce(what || ': ', '')
                          || SQLERRM;
    END;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, p.id, 'project', p.id, 'imported',
            project_json(p) || jsonb_build_object('source', kind));

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    SELECT actor, p.id, 'task', d.id, 'imported', d.doc
      FROM task_docs d JOIN tasks t ON t.id = d.id
     WHERE d.project_id = p.id
     ORDER BY t.number;

    RETURN QUERY SELECT 201, jsonb_build_object(
        'project', project_json(p),
        'imported', jsonb_build_object(
            'columns', jsonb_array_length(cols),
            'tasks', n,
            'skipped_cards', skipped,
            'unmatched_assignees', to_jsonb(unmatched)))::text,
        '/api/v1/projects/' || p.id;
END
$$;
