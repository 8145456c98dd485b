-- A project's document kept beside its kept board: GET /api/v1/projects
-- answered each project's progress by counting its tasks, on every read of
-- the list. The document is kept in board_cache (project_doc) and dropped
-- by the same writes, in their transactions, as the board is
-- (014_board_cache.sql's triggers on projects, columns, tasks and their
-- assignees: a superset of what progress and the project's own fields
-- depend on), so a list read after a commit is never stale. It is kept
-- under the same rule as the board: only if the generation read before
-- building it is still the current one, and, for a project with no row
-- yet, only while the project's row is there (locked as a foreign key
-- would, 034_board_kept_after_delete.sql).

ALTER TABLE board_cache ADD COLUMN project_doc jsonb;

CREATE OR REPLACE FUNCTION board_stale(pid uuid) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO board_cache AS b (project_id, gen, body)
    SELECT pid, 1, NULL
     WHERE EXISTS (SELECT 1 FROM projects WHERE id = pid)
    ON CONFLICT (project_id) DO UPDATE
        SET gen = b.gen + 1, body = NULL, project_doc = NULL
$$;

-- The project's document (NULL: no such project), built when none is
-- kept. Reads the project itself, after the generation: a row handed in
-- by the caller's statement could be older than the generation.
CREATE FUNCTION project_doc(pid uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    g      bigint;
    d      jsonb;
    known  boolean;
BEGIN
    SELECT c.gen, c.project_doc INTO g, d FROM board_cache c
     WHERE c.project_id = pid;
    known := FOUND;

    IF d IS NOT NULL THEN
        RETURN d;
    END IF;

    SELECT project_json(p) INTO d FROM projects p WHERE p.id = pid;

    -- a database being moved is read-only: answered, not kept
    IF d IS NULL OR current_setting('transaction_read_only') = 'on' THEN
        RETURN d;
    END IF;

    IF known THEN
        UPDATE board_cache c SET project_doc = d
         WHERE c.project_id = pid AND c.gen = g AND c.project_doc IS NULL;
    ELSE
        PERFORM 1 FROM projects p WHERE p.id = pid FOR KEY SHARE;

        IF FOUND THEN
            INSERT INTO board_cache (project_id, gen, project_doc)
            VALUES (pid, 0, d)
            ON CONFLICT (project_id) DO NOTHING;
        END IF;
    END IF;

    RETURN d;
END
$$;
