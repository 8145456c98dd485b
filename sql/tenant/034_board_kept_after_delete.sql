-- A board read racing its project's delete kept the board of a project
-- that no longer exists: the read built the board from a snapshot that
-- still had the project, the delete committed and dropped the kept row
-- (014's trigger), and then the read inserted its own. Every later read
-- of that project answered 200 with the old board instead of 404.
--
-- As task_build does (026): before keeping a board it has none of, the
-- read locks the project's row as a foreign key would. A delete in
-- flight commits first, and the row is then gone, so nothing is kept; a
-- delete that comes later waits for the read, and its trigger drops what
-- the read kept.

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

    IF b IS NULL THEN
        RETURN NULL;
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
