-- A GitHub delivery that only links (a push, a new branch, a pull request
-- the rules do not move) is told to the event stream too (modules/github,
-- issue 23). Before, only a move made an event, so a task panel open on
-- the task showed its new pull request, branch or commit only when read
-- again.
--
-- Each task the delivery linked gets a task.updated event with the task
-- as it is (its Code section reads its links again), on the audit row of
-- its link; the delivery's fourth column then names the last of them when
-- nothing moved, so the module wakes the stream's feeds after the commit.

ALTER FUNCTION github_delivery(uuid, text, text, text)
    RENAME TO github_delivery_untold;

CREATE FUNCTION github_delivery(iid uuid, delivery text, event text,
                                raw text)
RETURNS TABLE (status int, body text, extra text, activity text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    r       record;
    before  bigint := coalesce((SELECT max(id) FROM activity_log), 0);
    a       record;
    told    bigint;
BEGIN
    FOR r IN SELECT * FROM github_delivery_untold(iid, delivery, event, raw)
    LOOP
        IF r.status = 200 THEN
            FOR a IN SELECT DISTINCT ON (l.entity_id) l.id, l.entity_id,
                            l.project_id
                       FROM activity_log l
                      WHERE l.id > before AND l.entity_type = 'task'
                        AND l.action = 'linked'
                      ORDER BY l.entity_id, l.id DESC
            LOOP
                PERFORM event_add(a.id, 'task.updated', a.project_id, NULL,
                                  true, (SELECT task_json(t) FROM tasks t
                                          WHERE t.id = a.entity_id));
                told := greatest(told, a.id);
            END LOOP;

            r.activity := coalesce(r.activity, told::text);
        END IF;

        RETURN QUERY SELECT r.status, r.body, r.extra, r.activity;
    END LOOP;
END
$$;
