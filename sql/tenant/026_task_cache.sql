-- Tasks, kept as built: GET /api/v1/tasks/{id} is every card opened, and
-- building its document (the task's row as JSON, its project's key, its
-- column's category, its assignees) costs PostgreSQL several times a
-- primary-key read. The last document built is kept here, by task, with
-- a generation, as boards are (014_board_cache.sql): every write to what
-- the document shows moves the generation on and drops the document (at
-- commit, deferred triggers), and a read keeps what it built only if the
-- generation it saw before building is still the current one.
--
-- A write always leaves a row behind (an upsert, not an update), so that a
-- read that found no row and built from before the write cannot keep its
-- document: its insert meets the writer's row and does nothing. The
-- foreign key drops a deleted task's row with it; a read that would keep
-- a document locks the task's row first, so a task deleted meanwhile
-- keeps none.

CREATE TABLE task_cache (
    task_id  uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    gen      bigint NOT NULL DEFAULT 0,
    version  integer,
    body     text
);


-- Every task of a set stale at once (a column's category, a project's
-- key: they are in each of its tasks' documents).
CREATE FUNCTION task_stale(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO task_cache AS c (task_id, gen, version, body)
    SELECT t.id, 1, NULL, NULL FROM tasks t WHERE t.id = ANY (ids)
    ON CONFLICT (task_id) DO UPDATE SET gen = c.gen + 1, version = NULL,
                                        body = NULL
$$;


CREATE FUNCTION task_stale_by_task() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- a new task has no document anyone could have kept; a deleted one's
    -- row goes with it (the foreign key)
    IF TG_OP = 'UPDATE' THEN
        PERFORM task_stale(ARRAY[NEW.id]);
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER tasks_task_stale
    AFTER UPDATE ON tasks
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION task_stale_by_task();


CREATE FUNCTION task_stale_by_assignee() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM task_stale(ARRAY[OLD.task_id]);
    END IF;

    IF TG_OP <> 'DELETE' THEN
        PERFORM task_stale(ARRAY[NEW.task_id]);
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER task_assignees_task_stale
    AFTER INSERT OR UPDATE OR DELETE ON task_assignees
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION task_stale_by_assignee();


CREATE FUNCTION task_stale_by_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.category IS DISTINCT FROM OLD.category THEN
        PERFORM task_stale(ARRAY(SELECT id FROM tasks
                                  WHERE column_id = NEW.id));
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER columns_task_stale
    AFTER UPDATE ON columns
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION task_stale_by_column();


CREATE FUNCTION task_stale_by_project() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key IS DISTINCT FROM OLD.key THEN
        PERFORM task_stale(ARRAY(SELECT id FROM tasks
                                  WHERE project_id = NEW.id));
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER projects_task_stale
    AFTER UPDATE ON projects
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION task_stale_by_project();


-- The skills a task requires are in its document (024), with their names.
CREATE FUNCTION task_stale_by_required_skill() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM task_stale(ARRAY[OLD.task_id]);
    END IF;

    IF TG_OP <> 'DELETE' THEN
        PERFORM task_stale(ARRAY[NEW.task_id]);
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER task_required_skills_task_stale
    AFTER INSERT OR UPDATE OR DELETE ON task_required_skills
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION task_stale_by_required_skill();


CREATE FUNCTION task_stale_by_skill() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name THEN
        PERFORM task_stale(ARRAY(SELECT task_id FROM task_required_skills
                                  WHERE skill_id = NEW.id));
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER skills_task_stale
    AFTER UPDATE ON skills
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION task_stale_by_skill();


-- A task's document and version when none is kept (no row: no such
-- task), kept for the next read. The generation is read first, in a
-- statement of its own, so a write that lands while the document is
-- built either shows in it or has moved the generation past the one it
-- would be kept under (or holds the row until it commits, and then has).
CREATE FUNCTION task_build(tid uuid, OUT body text, OUT version integer)
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
