-- GET /api/v1/projects, the whole list kept: most reads of the list are
-- its first page with no filter, in a workspace whose projects fit on it
-- (the web UI asks for 200), and the statement that joins each project's
-- kept document (042, 100) still set up a dozen plan nodes a read. The
-- list is kept as its reader got it when it was whole (no cursor to a
-- next page), in two variants: 'full' (an admin's: every budget's
-- figures) and 'plain' (a contributor's: none; can_manage_project is
-- false for every contributor, so the list is the same for all of them).
-- It answers any first page whose limit is more than its projects. A
-- project manager's list depends on their teams and is built each time,
-- as is any page with a cursor or a filter, or one that does not hold
-- them all.
--
-- Kept under the board's rule (014): a generation, moved with every
-- project document's (a write to a project, its tasks, columns or budget
-- moves its board_cache generation at commit, after the events lock,
-- 040), and by a project's delete, which leaves board_cache alone. A read
-- keeps what it built only if the generation it read before building is
-- still the current one, and only if no writer holds the row (it never
-- waits for one: SKIP LOCKED).

CREATE TABLE projects_list_kept (
    variant  text PRIMARY KEY CHECK (variant IN ('full', 'plain')),
    gen      bigint NOT NULL DEFAULT 0,
    body     text,             -- NULL: not kept
    items    int               -- its projects: it answers a limit above
);

INSERT INTO projects_list_kept (variant) VALUES ('full'), ('plain');


CREATE FUNCTION projects_list_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE projects_list_kept SET gen = gen + 1, body = NULL, items = NULL;
    RETURN NULL;
END
$$;

-- a project's document made stale (board_stale, project_doc_stale: the
-- events lock already held); a read that keeps a document or a board
-- leaves the generation, or makes a row at generation 0, and moves nothing
CREATE TRIGGER board_cache_list_stale
    AFTER UPDATE OF gen ON board_cache
    FOR EACH ROW WHEN (OLD.gen IS DISTINCT FROM NEW.gen)
    EXECUTE FUNCTION projects_list_stale();

CREATE TRIGGER board_cache_list_made
    AFTER INSERT ON board_cache
    FOR EACH ROW WHEN (NEW.gen <> 0)
    EXECUTE FUNCTION projects_list_stale();

CREATE TRIGGER board_cache_list_gone
    AFTER DELETE ON board_cache
    FOR EACH ROW EXECUTE FUNCTION projects_list_stale();

-- a project made, changed or deleted, at commit, after the events lock
-- as every other kept document's (040)
CREATE FUNCTION projects_list_stale_at_commit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('kanban events'));

    UPDATE projects_list_kept SET gen = gen + 1, body = NULL, items = NULL;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER projects_list_stale
    AFTER INSERT OR UPDATE OR DELETE ON projects
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION projects_list_stale_at_commit();


-- The list's page (ngx_kanban_projects.c's statement before this file,
-- moved here whole): kept when it is a variant's whole list.
CREATE FUNCTION projects_list(lim int, after uuid, state text, in_team uuid,
                              actor uuid, role text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    n     int := least(greatest(coalesce(lim, 50), 1), 200);
    v     text;
    g     bigint;
    page  text;
    size  int;
BEGIN
    IF after IS NULL AND state IS NULL AND in_team IS NULL THEN
        v := CASE role WHEN 'admin' THEN 'full'
                       WHEN 'contributor' THEN 'plain' END;
    END IF;

    IF v IS NOT NULL THEN
        SELECT k.gen INTO g FROM projects_list_kept k WHERE k.variant = v;
    END IF;

    WITH pg AS (SELECT p.id, p.team_id FROM projects p
                 WHERE (after IS NULL OR p.id > after)
                   AND (state IS NULL OR p.status = state)
                   AND (in_team IS NULL OR p.team_id = in_team)
                 ORDER BY p.id LIMIT n)
    SELECT '{"items" : ['
           || coalesce((SELECT string_agg(
                          CASE WHEN role <> 'admin'
                                AND EXISTS (SELECT 1 FROM project_budgets b
                                             WHERE b.project_id = d.id)
                                AND NOT can_manage_project(actor, role,
                                                           d.team)
                               THEN (d.doc::jsonb - 'budget')::text
                               ELSE d.doc END, ', ' ORDER BY d.id)
                          FROM (SELECT x.id, x.team_id team,
                                       coalesce(c.project_doc,
                                                project_doc(x.id)) doc
                                  FROM pg x
                                  LEFT JOIN board_cache c
                                         ON c.project_id = x.id) d
                         WHERE d.doc IS NOT NULL), '')
           || '], "next_cursor" : '
           || CASE WHEN (SELECT count(*) FROM pg) = n
                   THEN (SELECT to_json(x.id::text)::text FROM pg x
                          ORDER BY x.id DESC LIMIT 1)
                   ELSE 'null' END || '}',
           (SELECT count(*) FROM pg)
      INTO page, size;

    -- kept when whole (no next page); a database being moved is
    -- read-only: answered, not kept (053)
    IF g IS NOT NULL AND size < n
       AND current_setting('transaction_read_only') = 'off'
    THEN
        PERFORM 1 FROM projects_list_kept k
          WHERE k.variant = v AND k.gen = g AND k.body IS NULL
            FOR UPDATE SKIP LOCKED;

        IF FOUND THEN
            UPDATE projects_list_kept k SET body = page, items = size
             WHERE k.variant = v;
        END IF;
    END IF;

    RETURN page;
END
$$;
