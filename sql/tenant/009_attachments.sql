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
