-- A database being moved is read-only (kanbanctl move-workspace sets
-- default_transaction_read_only while the copy catches up), yet a read
-- of a board or a task that found nothing kept went on to keep what it
-- built: "cannot execute UPDATE in a read-only transaction", a 500 for a
-- plain GET. project_doc (042) already answers without keeping then;
-- board_json (034) and task_build (026) now do the same. The rest of each
-- is unchanged.

CREATE OR REPLACE FUNCTION board_json(pid uuid) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    g      bigint;
    b      text;
    known  boolean;
BEGIN
    SELECT c.gen, c.body INTO g, b FROM board_cache c WHERE c.project_id = pid;
    known := FOUND;

    IF b IS NOT NULL THEN
        RETURN b;
    END IF;

    SELECT json_build_object(
               'project', project_json(p),
               'columns', coalesce((
                   SELECT json_agg(column_json(c)
                              || jsonb_build_object('tasks', coalesce((
                                     SELECT jsonb_agg(d.doc ORDER BY d.rank)
                                       FROM task_docs d
                                      WHERE d.column_id = c.id), '[]'))
                          ORDER BY c.position, c.id)
                     FROM columns c WHERE c.project_id = p.id), '[]'::json))
        INTO b
      FROM projects p WHERE p.id = pid;

    -- read-only (a move): answered, not kept
    IF b IS NULL OR current_setting('transaction_read_only') = 'on' THEN
        RETURN b;
    END IF;

    IF known THEN
        -- a delete removes the row: nothing to update then
        UPDATE board_cache c SET body = b
         WHERE c.project_id = pid AND c.gen = g AND c.body IS NULL;
    ELSE
        PERFORM 1 FROM projects p WHERE p.id = pid FOR KEY SHARE;

        IF FOUND THEN
            INSERT INTO board_cache (project_id, gen, body) VALUES (pid, 0, b)
            ON CONFLICT (project_id) DO NOTHING;
        END IF;
    END IF;

    RETURN b;
END
$$;

CREATE OR REPLACE FUNCTION task_build(tid uuid, OUT body text,
                                      OUT version integer)
RETURNS SETOF record
LANGUAGE plpgsql AS $$
DECLARE
    g      bigint;
    known  boolean;
BEGIN
    SELECT c.gen INTO g FROM task_cache c WHERE c.task_id = tid;
    known := FOUND;

    SELECT j::text, (j->>'version')::int INTO body, version
      FROM (SELECT task_json(t) AS j FROM tasks t WHERE t.id = tid) d;

    IF NOT FOUND THEN
        RETURN;
    END IF;

    -- read-only (a move): answered, not kept
    IF current_setting('transaction_read_only') = 'on' THEN
        RETURN NEXT;
        RETURN;
    END IF;

    IF known THEN
        UPDATE task_cache c SET body = task_build.body,
                                version = task_build.version
         WHERE c.task_id = tid AND c.gen = g AND c.body IS NULL;
    ELSE
        -- the task's row first, as the foreign key would: a writer that
        -- holds it commits (its own row here) before this one is tried,
        -- never while this one holds a row it waits for; gone: deleted
        PERFORM 1 FROM tasks t WHERE t.id = tid FOR KEY SHARE;

        IF FOUND THEN
            INSERT INTO task_cache (task_id, gen, version, body)
            VALUES (tid, 0, task_build.version, task_build.body)
            ON CONFLICT (task_id) DO NOTHING;
        END IF;
    END IF;

    RETURN NEXT;
END
$$;
