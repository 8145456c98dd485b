-- Concurrent writes to one project deadlocked now and then (make soak:
-- moves, edits, creates and deletes, 8 at a time, about 1 in 100 answered
-- 500). At commit each write runs its deferred triggers: the board's and
-- the task's kept documents made stale (014, 026: a row of board_cache
-- or task_cache locked) and its event numbered (017: the workspace's
-- advisory lock 'kanban events'). Their order follows the order in which
-- the statement's parts ran, which differs between statements; one write
-- held the events lock and waited for a board_cache row that another held
-- while it waited for the events lock.
--
-- One order for all: the events lock first. Every write with an audit
-- row takes it at commit anyway (its event), so this serialises nothing
-- that was not already; it only takes the lock before the cache rows.

CREATE OR REPLACE FUNCTION board_stale(pid uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('kanban events'));

    INSERT INTO board_cache AS b (project_id, gen, body)
    SELECT pid, 1, NULL
     WHERE EXISTS (SELECT 1 FROM projects WHERE id = pid)
    ON CONFLICT (project_id) DO UPDATE SET gen = b.gen + 1, body = NULL
$$;


CREATE OR REPLACE FUNCTION task_stale(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('kanban events'));

    INSERT INTO task_cache AS c (task_id, gen, version, body)
    SELECT t.id, 1, NULL, NULL FROM tasks t WHERE t.id = ANY (ids)
    ON CONFLICT (task_id) DO UPDATE SET gen = c.gen + 1, version = NULL,
                                        body = NULL
$$;
