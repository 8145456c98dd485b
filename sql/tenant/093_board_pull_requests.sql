-- The pull requests on the board's cards (issue 23): each task of the
-- board carries its linked pull requests, compactly ({number, state,
-- url}, open ones first), so that a card shows at a glance whether its
-- work is open, merged or closed without a request per card. So does the
-- task's own document (task_json), and with it every task event: the
-- board live-updates a card from the event, so a delivery that moves the
-- card or only links (066) brings its pull requests along. Lists of tasks
-- (task_docs) leave them out.
--
-- The board and the task's document are kept as built (014, 026): a pull
-- request linked, or changing state, makes both stale, as a task's write
-- does.
--
-- board_json is 053's, with the pull requests merged into each card;
-- task_json is 027's, with them added.

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
                                     SELECT jsonb_agg(d.doc
                                                || task_pull_requests(d.id)
                                                ORDER BY d.rank)
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

-- {"pull_requests": [...]} of a card: open and draft first, then merged,
-- then closed; the newest first within each (a card shows a few)
CREATE FUNCTION task_pull_requests(tid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('pull_requests', coalesce(jsonb_agg(
               jsonb_build_object('number', l.number, 'state', l.state,
                                  'url', l.url)
               ORDER BY CASE l.state WHEN 'open' THEN 0 WHEN 'draft' THEN 1
                                     WHEN 'merged' THEN 2 ELSE 3 END,
                        l.number DESC NULLS LAST, l.id), '[]'))
      FROM task_links l
     WHERE l.task_id = tid AND l.kind = 'pull_request'
$$;

CREATE OR REPLACE FUNCTION task_json(t tasks) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN task_json_core(t) || jsonb_build_object(
               'required_skills', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'skill_id', r.skill_id, 'name', s.name,
                              'level', r.level)
                              ORDER BY lower(s.name), r.skill_id)
                     FROM task_required_skills r
                     JOIN skills s ON s.id = r.skill_id
                    WHERE r.task_id = t.id), '[]'))
           || task_pull_requests(t.id);
END
$$;

-- a pull request linked, changed or gone: its card and its task's kept
-- document are built again (a task being deleted needs neither)
CREATE FUNCTION task_links_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    l  task_links := CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
BEGIN
    IF l.kind = 'pull_request' THEN
        PERFORM board_stale(t.project_id) FROM tasks t WHERE t.id = l.task_id;
        IF FOUND THEN
            PERFORM task_stale(ARRAY[l.task_id]);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER task_links_stale
    AFTER INSERT OR DELETE OR UPDATE OF state, number, url ON task_links
    FOR EACH ROW EXECUTE FUNCTION task_links_stale();

-- what was kept before has no pull requests: built again when next read
UPDATE board_cache SET gen = gen + 1, body = NULL WHERE body IS NOT NULL;
UPDATE task_cache SET gen = gen + 1, version = NULL, body = NULL
 WHERE body IS NOT NULL;
