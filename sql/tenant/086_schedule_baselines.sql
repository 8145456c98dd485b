-- Baselines (issue 24): the portfolio's dates (or one project's) saved
-- as they stand, so slippage is measured against a plan rather than
-- against the project's own dates. A task's baseline is the latest one
-- that holds it; a project's slippage is its open tasks' last due date
-- now against the last due date its latest baseline saved, in days, and
-- the schedule_slippage risk rule uses it when the project has one.

CREATE TABLE schedule_baselines (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    project_id  uuid REFERENCES projects (id) ON DELETE CASCADE,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE schedule_baseline_tasks (
    baseline_id  uuid NOT NULL REFERENCES schedule_baselines (id)
                 ON DELETE CASCADE,
    task_id      uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    project_id   uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    start_date   date,
    due_date     date NOT NULL,
    PRIMARY KEY (baseline_id, task_id)
);

CREATE INDEX schedule_baseline_tasks_task
    ON schedule_baseline_tasks (task_id);
CREATE INDEX schedule_baseline_tasks_project
    ON schedule_baseline_tasks (project_id, baseline_id);


CREATE FUNCTION baseline_json(b schedule_baselines) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', b.id, 'name', b.name,
               'project_id', b.project_id, 'created_by', b.created_by,
               'created_at', b.created_at,
               'tasks', (SELECT count(*) FROM schedule_baseline_tasks s
                          WHERE s.baseline_id = b.id))
$$;

-- The whole portfolio's by an admin or a project manager; one project's
-- by who manages it. Only dated tasks are saved.
CREATE FUNCTION baseline_save(actor uuid, role text, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    pid  uuid := (b->>'project_id')::uuid;
    p    projects;
    bl   schedule_baselines;
BEGIN
    IF pid IS NOT NULL THEN
        SELECT * INTO p FROM projects WHERE id = pid;

        IF NOT FOUND THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                                'project_id is not a project.';
            RETURN;
        END IF;

        IF NOT can_manage_project(actor, role, p.team_id) THEN
            RETURN QUERY SELECT 403, 'forbidden', NULL::text;
            RETURN;
        END IF;
    ELSIF role NOT IN ('admin', 'project_manager') THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    INSERT INTO schedule_baselines (name, project_id, created_by)
    VALUES (b->>'name', pid, actor) RETURNING * INTO bl;

    INSERT INTO schedule_baseline_tasks (baseline_id, task_id, project_id,
                                         start_date, due_date)
    SELECT bl.id, t.id, t.project_id, t.start_date, t.due_date
      FROM tasks t JOIN projects x ON x.id = t.project_id
     WHERE t.due_date IS NOT NULL AND x.status <> 'cancelled'
       AND (pid IS NULL OR t.project_id = pid);

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'baseline', bl.id, 'created', baseline_json(bl));

    RETURN QUERY SELECT 201, baseline_json(bl)::text,
                        '/api/v1/portfolio/baselines/' || bl.id;
END
$$;


-- A project's slippage against its latest baseline (NULL: none).
CREATE FUNCTION project_slippage(pid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH bl AS (
             SELECT b.* FROM schedule_baselines b
              WHERE EXISTS (SELECT 1 FROM schedule_baseline_tasks s
                             WHERE s.baseline_id = b.id
                               AND s.project_id = pid)
              ORDER BY b.created_at DESC, b.id LIMIT 1),
         planned AS (
             SELECT max(s.due_date) AS finish FROM schedule_baseline_tasks s
              WHERE s.baseline_id = (SELECT id FROM bl)
                AND s.project_id = pid),
         now_ AS (
             SELECT max(t.due_date) AS finish FROM tasks t
              WHERE t.project_id = pid AND t.due_date IS NOT NULL)
    SELECT jsonb_build_object('baseline_id', bl.id,
               'baseline_name', bl.name,
               'baseline_saved_at', bl.created_at,
               'baseline_finish', planned.finish,
               'current_finish', now_.finish,
               'slip_days', now_.finish - planned.finish)
      FROM bl, planned, now_
$$;


-- The schedule_slippage rule measured against the baseline when the
-- project has one; the other rules as they were.
ALTER FUNCTION insight_risks(projects) RENAME TO risks_without_baseline;

CREATE FUNCTION insight_risks(p projects) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    risks  jsonb := risks_without_baseline(p);
    slip   jsonb := project_slippage(p.id);
BEGIN
    IF slip IS NULL THEN
        RETURN risks;
    END IF;

    RETURN coalesce((SELECT jsonb_agg(r) FROM jsonb_array_elements(risks) r
                      WHERE r->>'rule' <> 'schedule_slippage'), '[]')
        || CASE WHEN (slip->>'slip_days')::int > 0
                 AND p.status NOT IN ('completed', 'cancelled')
           THEN jsonb_build_array(jsonb_build_object(
                    'rule', 'schedule_slippage',
                    'detail', format('finishes %s days after the baseline '
                                     '"%s"', slip->>'slip_days',
                                     slip->>'baseline_name'),
                    'evidence', jsonb_build_object('figures', slip)))
           ELSE '[]'::jsonb END;
END
$$;


-- The timeline with each project's slippage and each task's baseline
-- dates (from the latest baseline that holds it).
ALTER FUNCTION portfolio_timeline() RENAME TO portfolio_timeline_dates;

CREATE FUNCTION portfolio_timeline() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH tl AS (SELECT portfolio_timeline_dates() AS j)
    SELECT tl.j || jsonb_build_object('projects', coalesce((
        SELECT jsonb_agg(p || jsonb_build_object(
                   'slippage', project_slippage((p->>'id')::uuid),
                   'tasks', coalesce((
                       SELECT jsonb_agg(t || coalesce((
                           SELECT jsonb_build_object(
                                      'baseline_start_date', s.start_date,
                                      'baseline_due_date', s.due_date)
                             FROM schedule_baseline_tasks s
                             JOIN schedule_baselines b ON b.id = s.baseline_id
                            WHERE s.task_id = (t->>'id')::uuid
                            ORDER BY b.created_at DESC, b.id LIMIT 1),
                           '{"baseline_start_date": null,'
                           ' "baseline_due_date": null}')
                           ORDER BY o)
                         FROM jsonb_array_elements(p->'tasks')
                              WITH ORDINALITY x(t, o)), '[]')) ORDER BY o)
          FROM jsonb_array_elements(tl.j->'projects') WITH ORDINALITY y(p, o)),
        '[]'))
      FROM tl
$$;
