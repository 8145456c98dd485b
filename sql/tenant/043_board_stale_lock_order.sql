-- 040_write_lock_order.sql made board_stale take the workspace's events
-- lock before a board_cache row, so that concurrent writes to one project
-- no longer deadlock; 042_project_kept.sql, written beside it, redefined
-- board_stale to drop the project's kept document too and so lost the
-- lock (t/write_deadlock.t: 15 of 71 writes answered 500 again). Both.

CREATE OR REPLACE FUNCTION board_stale(pid uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('kanban events'));

    INSERT INTO board_cache AS b (project_id, gen, body)
    SELECT pid, 1, NULL
     WHERE EXISTS (SELECT 1 FROM projects WHERE id = pid)
    ON CONFLICT (project_id) DO UPDATE
        SET gen = b.gen + 1, body = NULL, project_doc = NULL
$$;
