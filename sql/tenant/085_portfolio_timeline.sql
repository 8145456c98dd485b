-- One timeline across projects (issue 24).
--
-- Links: a dependency between tasks of any projects, finish-to-start with
-- a lag in days, kept in task_dependencies beside those within a project
-- (so one cycle check sees them all). Dates are whole days, both ends
-- counted: with a lag of 0 the successor may start the day after its
-- predecessor's due date; a lag of 2 leaves two free days between. A task
-- with no start date lasts its due date alone; one with no due date is
-- not scheduled and is left out of the sums.
--
-- Rescheduling: a task's new dates push its dependents (only forward, by
-- as much as the latest of their predecessors needs, keeping each one's
-- length); reschedule_plan() works it out, task_reschedule() shows or
-- applies it. A project may opt in (project_schedule.auto_shift): its
-- tasks then follow any date change of their predecessors by themselves.
--
-- The critical path: the open, dated tasks without slack to the
-- portfolio's last finish (their latest finish, walked back along the
-- links, is not after their due date).

ALTER TABLE task_dependencies
    ADD COLUMN lag_days integer NOT NULL DEFAULT 0
        CHECK (lag_days BETWEEN 0 AND 365);

CREATE TABLE project_schedule (
    project_id  uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    auto_shift  boolean NOT NULL DEFAULT false
);


-- A link between tasks of any projects; the cycle refused as within one.
CREATE FUNCTION task_link_add(actor uuid, role text, tid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t      tasks;
    o      tasks;
    other  uuid := (b->>'depends_on_id')::uuid;
    days   int := coalesce((b->>'lag_days')::int, 0);
BEGIN
    SELECT * INTO t FROM tasks WHERE id = tid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    SELECT * INTO o FROM tasks WHERE id = other;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'depends_on_id is not a task.';
        RETURN;
    END IF;

    -- one link added at a time in the workspace: two halves of a cycle
    -- through several projects added at once must not both pass
    PERFORM pg_advisory_xact_lock(hashtext('task_dependencies'));
    PERFORM 1 FROM projects WHERE id IN (t.project_id, o.project_id)
      ORDER BY id FOR UPDATE;

    IF other = tid OR EXISTS (
        WITH RECURSIVE reach AS (
            SELECT depends_on_id AS id FROM task_dependencies
             WHERE task_id = other
            UNION
            SELECT d.depends_on_id FROM task_dependencies d
              JOIN reach ON d.task_id = reach.id)
        SELECT 1 FROM reach WHERE id = tid)
    THEN
        RETURN QUERY SELECT 422, 'dependency_cycle',
            'This dependency would close a cycle.';
        RETURN;
    END IF;

    INSERT INTO task_dependencies AS d (task_id, depends_on_id, lag_days)
    VALUES (tid, other, days)
    ON CONFLICT (task_id, depends_on_id) DO UPDATE SET lag_days = days
     WHERE d.lag_days <> days;

    IF FOUND THEN           -- a repeat changes nothing, and says nothing
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, new_values)
        VALUES (actor, t.project_id, 'task', tid, 'dependency_added',
                jsonb_build_object('depends_on_id', other,
                                   'lag_days', days));
    END IF;

    RETURN QUERY SELECT 201, jsonb_build_object('task_id', tid,
                                 'depends_on_id', other, 'lag_days', days,
                                 'cross_project',
                                 t.project_id <> o.project_id)::text,
                        '/api/v1/tasks/' || tid || '/dependencies/' || other;
END
$$;


-- The shifts a task's new dates cause to its dependents. Each path from
-- the task proposes a start for the tasks on it; a task takes the latest
-- (max and + distribute, so the latest over paths is the fixpoint). Only
-- tasks of opted-in projects, when auto.
CREATE FUNCTION reschedule_plan(tid uuid, new_start date, new_due date,
                                auto boolean DEFAULT false)
RETURNS TABLE (task_id uuid, start_date date, due_date date,
               new_start_date date, new_due_date date, shift_days int)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE walk (id, s, d) AS (
        SELECT tid, new_start, new_due
        UNION
        SELECT v.id, coalesce(v.start_date, v.due_date) + x.shift,
               v.due_date + x.shift
          FROM walk w
          JOIN task_dependencies e ON e.depends_on_id = w.id
          JOIN tasks v ON v.id = e.task_id
          CROSS JOIN LATERAL (SELECT w.d + 1 + e.lag_days
                                     - coalesce(v.start_date, v.due_date)
                                     AS shift) x
         WHERE v.due_date IS NOT NULL AND v.completed_at IS NULL
           AND x.shift > 0
           AND (NOT auto OR EXISTS (SELECT 1 FROM project_schedule ps
                                     WHERE ps.project_id = v.project_id
                                       AND ps.auto_shift)))
    SELECT t.id, t.start_date, t.due_date,
           CASE WHEN t.start_date IS NOT NULL THEN t.start_date + m.shift END,
           t.due_date + m.shift, m.shift
      FROM (SELECT w.id, max(w.d - t0.due_date) AS shift
              FROM walk w JOIN tasks t0 ON t0.id = w.id
             WHERE w.id <> tid
             GROUP BY w.id) m
      JOIN tasks t ON t.id = m.id
$$;


-- GET shows, POST applies: the task's new dates and its dependents'.
-- Applying needs the right to change every task it moves.
CREATE FUNCTION task_reschedule(actor uuid, role text, tid uuid, b jsonb,
                                apply boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t       tasks;
    ns      date;
    nd      date;
    shifts  jsonb;
    denied  jsonb;
    old     jsonb;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = tid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    nd := coalesce((b->>'due_date')::date, t.due_date);
    ns := CASE WHEN b ? 'start_date' THEN (b->>'start_date')::date
               ELSE t.start_date END;

    IF nd IS NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'due_date: the task needs a due date to be '
                            'scheduled.';
        RETURN;
    END IF;

    IF ns IS NOT NULL AND ns > nd THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'start_date: after the due date.';
        RETURN;
    END IF;

    IF apply THEN
        PERFORM pg_advisory_xact_lock(hashtext('task_dependencies'));
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'task_id', p.task_id, 'key', pr.key || '-' || x.number,
               'title', x.title, 'project_id', x.project_id,
               'start_date', p.start_date, 'due_date', p.due_date,
               'new_start_date', p.new_start_date,
               'new_due_date', p.new_due_date, 'shift_days', p.shift_days)
               ORDER BY p.new_due_date, pr.key, x.number), '[]'),
           coalesce(jsonb_agg(p.task_id)
               FILTER (WHERE NOT can_change_task(actor, role, p.task_id)),
               '[]')
      INTO shifts, denied
      FROM reschedule_plan(tid, ns, nd) p
      JOIN tasks x ON x.id = p.task_id
      JOIN projects pr ON pr.id = x.project_id;

    IF apply THEN
        IF NOT can_change_task(actor, role, tid)
           OR jsonb_array_length(denied) > 0
        THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'You may not change every task this moves.';
            RETURN;
        END IF;

        -- the opted-in projects' trigger would walk again what is
        -- applied here
        PERFORM set_config('kanban.rescheduling', 'on', true);

        old := jsonb_build_object('start_date', t.start_date,
                                  'due_date', t.due_date);
        UPDATE tasks SET start_date = ns, due_date = nd,
                         version = version + 1, updated_at = now()
         WHERE id = tid;
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, old_values, new_values)
        VALUES (actor, t.project_id, 'task', tid, 'rescheduled', old,
                jsonb_build_object('start_date', ns, 'due_date', nd));

        UPDATE tasks x SET start_date = (s->>'new_start_date')::date,
                           due_date = (s->>'new_due_date')::date,
                           version = version + 1, updated_at = now()
          FROM jsonb_array_elements(shifts) s
         WHERE x.id = (s->>'task_id')::uuid;
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, old_values, new_values)
        SELECT actor, (s->>'project_id')::uuid, 'task',
               (s->>'task_id')::uuid, 'rescheduled',
               jsonb_build_object('start_date', s->'start_date',
                                  'due_date', s->'due_date'),
               jsonb_build_object('start_date', s->'new_start_date',
                                  'due_date', s->'new_due_date',
                                  'because_of', tid)
          FROM jsonb_array_elements(shifts) s;

        PERFORM set_config('kanban.rescheduling', '', true);
    END IF;

    RETURN QUERY SELECT 200, jsonb_build_object(
        'task_id', tid, 'start_date', ns, 'due_date', nd,
        'applied', apply, 'shifts', shifts)::text, NULL::text;
END
$$;


-- An opted-in project's tasks follow their predecessors' dates by
-- themselves, whoever moved them and however.
CREATE FUNCTION task_dates_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('kanban.rescheduling', true), '') = 'on'
       OR NEW.due_date IS NULL
    THEN
        RETURN NULL;
    END IF;

    PERFORM set_config('kanban.rescheduling', 'on', true);

    WITH p AS (SELECT * FROM reschedule_plan(NEW.id, NEW.start_date,
                                             NEW.due_date, true)),
         u AS (UPDATE tasks x SET start_date = p.new_start_date,
                                  due_date = p.new_due_date,
                                  version = version + 1, updated_at = now()
                 FROM p WHERE x.id = p.task_id
               RETURNING x.id, x.project_id)
    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    SELECT NULL, u.project_id, 'task', u.id, 'rescheduled',
           jsonb_build_object('start_date', p.start_date,
                              'due_date', p.due_date),
           jsonb_build_object('start_date', p.new_start_date,
                              'due_date', p.new_due_date,
                              'because_of', NEW.id, 'automatic', true)
      FROM u JOIN p ON p.task_id = u.id;

    PERFORM set_config('kanban.rescheduling', '', true);
    RETURN NULL;
END
$$;

CREATE TRIGGER task_dates_follow
    AFTER UPDATE OF start_date, due_date ON tasks
    FOR EACH ROW
    WHEN (NEW.due_date IS DISTINCT FROM OLD.due_date
          OR NEW.start_date IS DISTINCT FROM OLD.start_date)
    EXECUTE FUNCTION task_dates_follow();


-- The critical path: the open, dated tasks whose latest finish (the
-- portfolio's last due date, walked back along the links) is not after
-- their due date.
CREATE FUNCTION portfolio_critical_tasks() RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE n AS (
             SELECT t.id, coalesce(t.start_date, t.due_date) AS s,
                    t.due_date AS d
               FROM tasks t JOIN projects p ON p.id = t.project_id
              WHERE t.due_date IS NOT NULL AND t.completed_at IS NULL
                AND p.status <> 'cancelled'),
         lf (id, f) AS (
             SELECT n.id, (SELECT max(d) FROM n) FROM n
             UNION
             SELECT u.id, lf.f - (v.d - v.s) - 1 - e.lag_days
               FROM lf JOIN n v ON v.id = lf.id
               JOIN task_dependencies e ON e.task_id = v.id
               JOIN n u ON u.id = e.depends_on_id)
    SELECT n.id FROM n JOIN lf ON lf.id = n.id
     GROUP BY n.id, n.d HAVING min(lf.f) <= n.d
$$;


-- Every project's tasks and milestones with their dates, the links
-- between tasks, and the critical path.
CREATE FUNCTION portfolio_timeline() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH crit AS (SELECT c AS id FROM portfolio_critical_tasks() c),
         links AS (
             SELECT e.task_id, e.depends_on_id, e.lag_days,
                    a.project_id <> b.project_id AS cross_project,
                    (e.task_id IN (SELECT id FROM crit)
                     AND e.depends_on_id IN (SELECT id FROM crit)
                     AND coalesce(a.start_date, a.due_date)
                         = b.due_date + 1 + e.lag_days) AS critical
               FROM task_dependencies e
               JOIN tasks a ON a.id = e.task_id
               JOIN tasks b ON b.id = e.depends_on_id)
    SELECT jsonb_build_object(
        'projects', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'id', p.id, 'key', p.key, 'name', p.name, 'status', p.status,
            'start_date', p.start_date, 'due_date', p.due_date,
            'auto_shift', coalesce((SELECT s.auto_shift
                                      FROM project_schedule s
                                     WHERE s.project_id = p.id), false),
            'tasks', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'id', t.id, 'key', p.key || '-' || t.number,
                    'title', t.title, 'start_date', t.start_date,
                    'due_date', t.due_date,
                    'completed', t.completed_at IS NOT NULL,
                    'milestone_id', t.milestone_id,
                    'critical', t.id IN (SELECT id FROM crit))
                    ORDER BY coalesce(t.start_date, t.due_date) NULLS LAST,
                             t.number)
                  FROM tasks t
                 WHERE t.project_id = p.id AND t.parent_id IS NULL), '[]'),
            'milestones', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'id', m.id, 'name', m.name, 'due_date', m.due_date,
                    'status', m.status) ORDER BY m.due_date, m.name)
                  FROM milestones m WHERE m.project_id = p.id), '[]'))
            ORDER BY p.start_date NULLS LAST, p.key)
              FROM projects p WHERE p.status <> 'cancelled'), '[]'),
        'links', coalesce((SELECT jsonb_agg(to_jsonb(l)
                                            ORDER BY l.depends_on_id,
                                                     l.task_id)
                             FROM links l), '[]'),
        'critical_path', coalesce((SELECT jsonb_agg(t.id
                                        ORDER BY coalesce(t.start_date,
                                                          t.due_date),
                                                 t.due_date, t.id)
                                     FROM tasks t
                                    WHERE t.id IN (SELECT id FROM crit)),
                                  '[]'),
        'finish', (SELECT max(t.due_date) FROM tasks t
                     JOIN projects p ON p.id = t.project_id
                    WHERE t.completed_at IS NULL
                      AND p.status <> 'cancelled'))
$$;


-- A project opts in to its tasks following their predecessors.
CREATE FUNCTION project_schedule_put(actor uuid, role text, pid uuid,
                                     b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p  projects;
BEGIN
    SELECT * INTO p FROM projects WHERE id = pid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, p.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    INSERT INTO project_schedule AS s (project_id, auto_shift)
    VALUES (pid, (b->>'auto_shift')::boolean)
    ON CONFLICT (project_id) DO UPDATE SET auto_shift = EXCLUDED.auto_shift;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'project', pid, 'schedule_updated', b);

    RETURN QUERY SELECT 200, jsonb_build_object(
        'project_id', pid, 'auto_shift', (b->>'auto_shift')::boolean)::text,
        NULL::text;
END
$$;
