-- Boards, kept as built: a board is tens of kilobytes of JSON that
-- PostgreSQL builds from the project, its columns, its tasks and their
-- assignees, and is read far more often than any of them changes. The
-- last one built is kept here with a generation; every write to what a
-- board shows moves its generation on and drops the kept one (triggers,
-- in the write's transaction). A read keeps what it built only if the
-- generation it saw before building is still the current one, so a board
-- built while a write was under way is never kept. The triggers run as
-- the write commits (deferred), so that writes to one project hold the
-- kept board's row for a moment only, not for their whole transaction.

CREATE TABLE board_cache (
    -- no foreign key: a project's cascade may touch this before it goes
    project_id  uuid PRIMARY KEY,
    gen         bigint NOT NULL DEFAULT 0,
    body        text
);


CREATE FUNCTION board_stale(pid uuid) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO board_cache AS b (project_id, gen, body)
    SELECT pid, 1, NULL
     WHERE EXISTS (SELECT 1 FROM projects WHERE id = pid)
    ON CONFLICT (project_id) DO UPDATE SET gen = b.gen + 1, body = NULL
$$;


CREATE FUNCTION board_stale_by_project() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM board_stale(OLD.project_id);
    END IF;

    IF TG_OP <> 'DELETE'
       AND (TG_OP = 'INSERT' OR NEW.project_id IS DISTINCT FROM OLD.project_id)
    THEN
        PERFORM board_stale(NEW.project_id);
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER tasks_board_stale
    AFTER INSERT OR UPDATE OR DELETE ON tasks
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION board_stale_by_project();

CREATE CONSTRAINT TRIGGER columns_board_stale
    AFTER INSERT OR UPDATE OR DELETE ON columns
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION board_stale_by_project();


CREATE FUNCTION board_stale_by_task() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM board_stale(t.project_id)
       FROM tasks t
      WHERE t.id = CASE TG_OP WHEN 'DELETE' THEN OLD.task_id
                              ELSE NEW.task_id END;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER task_assignees_board_stale
    AFTER INSERT OR UPDATE OR DELETE ON task_assignees
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION board_stale_by_task();


CREATE FUNCTION board_stale_project() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM board_cache WHERE project_id = OLD.id;
    ELSE
        PERFORM board_stale(NEW.id);
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER projects_board_stale
    AFTER UPDATE OR DELETE ON projects
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION board_stale_project();


-- The board of a project (NULL: no such project), built when none is
-- kept. Statements in here see the database as it is when each starts:
-- the generation is read first, so a write that lands while the board is
-- built either shows in it or moves the generation past the one the
-- board is kept under (or holds the row until it commits, and then has).
CREATE FUNCTION board_json(pid uuid) RETURNS text
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
        UPDATE board_cache c SET body = b
         WHERE c.project_id = pid AND c.gen = g AND c.body IS NULL;
    ELSE
        INSERT INTO board_cache (project_id, gen, body) VALUES (pid, 0, b)
        ON CONFLICT (project_id) DO NOTHING;
    END IF;

    RETURN b;
END
$$;
