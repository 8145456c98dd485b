-- What the read endpoints are built from.

-- Tasks as the API shows them, by joins the planner sees through (a view,
-- not a function per row): boards and lists of many tasks read fast.
CREATE VIEW task_docs AS
SELECT t.id, t.project_id, t.column_id, t.rank, t.parent_id,
       (to_jsonb(t) - 'number')
       || jsonb_build_object('key', p.key || '-' || t.number,
                             'category', c.category,
                             'assignee_ids', coalesce(a.ids, '[]')) AS doc
  FROM tasks t
  JOIN projects p ON p.id = t.project_id
  JOIN columns c ON c.id = t.column_id
  LEFT JOIN LATERAL (SELECT jsonb_agg(user_id ORDER BY user_id) AS ids
                       FROM task_assignees WHERE task_id = t.id) a ON true;

CREATE INDEX tasks_column_rank ON tasks (column_id, rank);

-- Full-text search over tasks, projects and comments ('simple': no
-- stemming, so words in any language match as typed).

CREATE INDEX tasks_search ON tasks
    USING gin (to_tsvector('simple', title || ' ' || description));
CREATE INDEX projects_search ON projects
    USING gin (to_tsvector('simple', name || ' ' || description));
CREATE INDEX comments_search ON comments
    USING gin (to_tsvector('simple', body));

-- A task's progress for the timeline: its subtasks' share done, or by its
-- column when it has none.
CREATE FUNCTION task_progress(t tasks) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT round(100.0 * count(*) FILTER (WHERE c.category = 'done')
                      / count(*))::int
           FROM tasks s JOIN columns c ON c.id = s.column_id
          WHERE s.parent_id = t.id
         HAVING count(*) > 0),
        (SELECT CASE category WHEN 'done' THEN 100 WHEN 'review' THEN 75
                              WHEN 'in_progress' THEN 50 ELSE 0 END
           FROM columns WHERE id = t.column_id))
$$;

-- The rule-based risks of a project (API.md, Insights): schedule slipping
-- by more than 10 points, more than 2 blocked tasks, velocity declining
-- over the last three weeks, overdue milestones.
CREATE FUNCTION project_risks(p projects) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH prog AS (SELECT (project_json(p)->>'progress')::int AS done),
         elapsed AS (
             SELECT CASE WHEN p.start_date IS NULL OR p.due_date IS NULL
                          OR p.due_date <= p.start_date THEN NULL
                         ELSE least(100, greatest(0, round(100.0
                              * (current_date - p.start_date)
                              / (p.due_date - p.start_date))))::int
                    END AS pct),
         weeks AS (
             SELECT w, (SELECT count(*) FROM tasks t
                         WHERE t.project_id = p.id
                           AND t.completed_at >= date_trunc('week', now())
                                                 - (w || ' weeks')::interval
                           AND t.completed_at < date_trunc('week', now())
                                                - ((w - 1) || ' weeks')::interval)
                       AS n
               FROM generate_series(1, 3) w),
         blocked AS (SELECT count(*) AS n FROM tasks
                      WHERE project_id = p.id AND blocked
                        AND completed_at IS NULL),
         late AS (SELECT count(*) AS n FROM milestones
                   WHERE project_id = p.id AND status = 'upcoming'
                     AND due_date < current_date)
    SELECT coalesce(jsonb_agg(r) FILTER (WHERE r IS NOT NULL), '[]')
      FROM (SELECT CASE WHEN elapsed.pct - prog.done > 10
                        AND p.status NOT IN ('completed', 'cancelled')
                   THEN jsonb_build_object('rule', 'schedule_slippage',
                        'detail', format('%s%% of the time is gone, %s%% of '
                                         'the work is done', elapsed.pct,
                                         prog.done)) END
              FROM prog, elapsed
            UNION ALL
            SELECT CASE WHEN blocked.n > 2
                   THEN jsonb_build_object('rule', 'blocked_tasks',
                        'detail', format('%s tasks are blocked', blocked.n))
                   END FROM blocked
            UNION ALL
            SELECT CASE WHEN (SELECT n FROM weeks WHERE w = 3)
                             > (SELECT n FROM weeks WHERE w = 2)
                         AND (SELECT n FROM weeks WHERE w = 2)
                             > (SELECT n FROM weeks WHERE w = 1)
                   THEN jsonb_build_object('rule', 'declining_velocity',
                        'detail', 'fewer tasks done each of the last three '
                                  'weeks') END
            UNION ALL
            SELECT CASE WHEN late.n > 0
                   THEN jsonb_build_object('rule', 'overdue_milestones',
                        'detail', format('%s milestones are overdue', late.n))
                   END FROM late) AS rules (r)
$$;
