-- Analytics: a project's flow of work and the workspace's activity, over
-- a period of days (from, to: dates, both included; by default the 30
-- days up to today, UTC; at most 366 days).
--
-- A task's category over time comes from the audit trail: its "created"
-- row, then every "moved" row (both record the category). A task with no
-- "created" row (data loaded without the API) counts in its present
-- category from its creation on.

CREATE FUNCTION analytics_period(f date, t date, OUT f_out date,
                                 OUT t_out date, OUT ok boolean)
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(f, coalesce(t, (now() AT TIME ZONE 'UTC')::date) - 29),
           coalesce(t, (now() AT TIME ZONE 'UTC')::date),
           coalesce(f, coalesce(t, (now() AT TIME ZONE 'UTC')::date) - 29)
               <= coalesce(t, (now() AT TIME ZONE 'UTC')::date)
           AND coalesce(t, (now() AT TIME ZONE 'UTC')::date)
               - coalesce(f, coalesce(t, (now() AT TIME ZONE 'UTC')::date)
                             - 29) < 366
$$;


-- Each task's categories over time: (task, since, category).
CREATE FUNCTION task_category_history(project uuid)
RETURNS TABLE (task_id uuid, since timestamptz, category text)
LANGUAGE sql STABLE AS $$
    SELECT a.entity_id, a.created_at, a.new_values->>'category'
      FROM activity_log a
     WHERE a.project_id = project AND a.entity_type = 'task'
       AND a.action IN ('created', 'moved')
       AND a.new_values ? 'category'
       AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = a.entity_id)
    UNION ALL
    SELECT t.id, t.created_at, c.category
      FROM tasks t JOIN columns c ON c.id = t.column_id
     WHERE t.project_id = project
       AND NOT EXISTS (SELECT 1 FROM activity_log a
                        WHERE a.entity_type = 'task' AND a.entity_id = t.id
                          AND a.action = 'created')
$$;


CREATE FUNCTION project_analytics(project uuid, f date, t date)
RETURNS TABLE (status int, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p       record;
    result  json;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM projects WHERE id = project) THEN
        RETURN QUERY SELECT 404, 'not_found';
        RETURN;
    END IF;

    SELECT * INTO p FROM analytics_period(f, t);

    IF NOT p.ok THEN
        RETURN QUERY SELECT 400, 'bad_request';
        RETURN;
    END IF;

    WITH days AS (
        SELECT d::date AS day
          FROM generate_series(p.f_out, p.t_out, interval '1 day') d
    ), history AS (
        SELECT * FROM task_category_history(project)
    ), done AS (
        SELECT tk.id, tk.completed_at,
               coalesce((SELECT min(h.since) FROM history h
                          WHERE h.task_id = tk.id
                            AND h.category IN ('in_progress', 'review')),
                        tk.created_at) AS started_at
          FROM tasks tk JOIN columns c ON c.id = tk.column_id
         WHERE tk.project_id = project AND c.category = 'done'
           AND tk.completed_at IS NOT NULL
           AND (tk.completed_at AT TIME ZONE 'UTC')::date
               BETWEEN p.f_out AND p.t_out
    ), cycle AS (
        SELECT extract(epoch FROM completed_at - started_at) / 3600 AS hours
          FROM done WHERE completed_at >= started_at
    )
    SELECT json_build_object(
        'project_id', project,
        'from', p.f_out,
        'to', p.t_out,
        'tasks_by_category', (
            SELECT json_object_agg(k.category, (
                       SELECT count(*) FROM tasks tk
                         JOIN columns c ON c.id = tk.column_id
                        WHERE tk.project_id = project
                          AND c.category = k.category))
              FROM unnest(ARRAY['backlog', 'todo', 'in_progress', 'review',
                                'done']) AS k(category)),
        'created_per_day', (
            SELECT json_agg(json_build_object('date', d.day, 'count', (
                       SELECT count(*) FROM tasks tk
                        WHERE tk.project_id = project
                          AND (tk.created_at AT TIME ZONE 'UTC')::date
                              = d.day))
                   ORDER BY d.day)
              FROM days d),
        'completed_per_day', (
            SELECT json_agg(json_build_object('date', d.day, 'count', (
                       SELECT count(*) FROM done
                        WHERE (done.completed_at AT TIME ZONE 'UTC')::date
                              = d.day))
                   ORDER BY d.day)
              FROM days d),
        'throughput_per_week', coalesce((
            SELECT json_agg(json_build_object('week', w.week,
                                              'completed', w.n)
                            ORDER BY w.week)
              FROM (SELECT to_char(completed_at AT TIME ZONE 'UTC',
                                   'IYYY-"W"IW') AS week, count(*) AS n
                      FROM done GROUP BY 1) w), '[]'),
        'cycle_time_hours', json_build_object(
            'p50', (SELECT round(percentile_cont(0.5)
                                 WITHIN GROUP (ORDER BY hours)::numeric, 1)
                      FROM cycle),
            'p85', (SELECT round(percentile_cont(0.85)
                                 WITHIN GROUP (ORDER BY hours)::numeric, 1)
                      FROM cycle),
            'tasks', (SELECT count(*) FROM cycle)),
        'cumulative_flow', (
            SELECT json_agg(json_build_object(
                       'date', f.day, 'backlog', f.backlog, 'todo', f.todo,
                       'in_progress', f.in_progress, 'review', f.review,
                       'done', f.done)
                   ORDER BY f.day)
              FROM (SELECT d.day,
                           count(*) FILTER (WHERE s.category = 'backlog')
                               AS backlog,
                           count(*) FILTER (WHERE s.category = 'todo')
                               AS todo,
                           count(*) FILTER (WHERE s.category = 'in_progress')
                               AS in_progress,
                           count(*) FILTER (WHERE s.category = 'review')
                               AS review,
                           count(*) FILTER (WHERE s.category = 'done')
                               AS done
                      FROM days d
                      LEFT JOIN LATERAL (
                          SELECT DISTINCT ON (h.task_id) h.task_id,
                                 h.category
                            FROM history h
                           WHERE h.since < (d.day + 1)::timestamp
                                           AT TIME ZONE 'UTC'
                           ORDER BY h.task_id, h.since DESC) s ON true
                     GROUP BY d.day) f),
        'overdue', json_build_object(
            'count', (SELECT count(*) FROM tasks tk
                        JOIN columns c ON c.id = tk.column_id
                       WHERE tk.project_id = project
                         AND c.category <> 'done'
                         AND tk.due_date < (now() AT TIME ZONE 'UTC')::date),
            'tasks', coalesce((
                SELECT json_agg(json_build_object(
                           'id', o.id, 'key', o.key, 'title', o.title,
                           'due_date', o.due_date)
                       ORDER BY o.due_date, o.key)
                  FROM (SELECT tk.id, pr.key || '-' || tk.number AS key,
                               tk.title, tk.due_date
                          FROM tasks tk
                          JOIN columns c ON c.id = tk.column_id
                          JOIN projects pr ON pr.id = tk.project_id
                         WHERE tk.project_id = project
                           AND c.category <> 'done'
                           AND tk.due_date
                               < (now() AT TIME ZONE 'UTC')::date
                         ORDER BY tk.due_date, tk.number LIMIT 20) o),
                '[]')))
      INTO result;

    RETURN QUERY SELECT 200, result::text;
END
$$;


-- The workspace: who did anything, tasks made and finished, people who
-- followed share links (crawlers left out), per day.
CREATE FUNCTION tenant_analytics(f date, t date)
RETURNS TABLE (status int, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p       record;
    result  json;
BEGIN
    SELECT * INTO p FROM analytics_period(f, t);

    IF NOT p.ok THEN
        RETURN QUERY SELECT 400, 'bad_request';
        RETURN;
    END IF;

    WITH days AS (
        SELECT d::date AS day
          FROM generate_series(p.f_out, p.t_out, interval '1 day') d
    ), span AS (
        SELECT p.f_out::timestamp AT TIME ZONE 'UTC' AS lo,
               (p.t_out + 1)::timestamp AT TIME ZONE 'UTC' AS hi
    ), per_day AS (
        SELECT d.day,
               (SELECT count(DISTINCT a.actor_id) FROM activity_log a
                 WHERE (a.created_at AT TIME ZONE 'UTC')::date = d.day
                   AND a.actor_id IS NOT NULL) AS active_users,
               (SELECT count(*) FROM tasks tk
                 WHERE (tk.created_at AT TIME ZONE 'UTC')::date = d.day)
                   AS tasks_created,
               (SELECT count(*) FROM tasks tk
                 WHERE (tk.completed_at AT TIME ZONE 'UTC')::date = d.day)
                   AS tasks_completed,
               (SELECT count(*) FROM share_link_visits v
                 WHERE (v.visited_at AT TIME ZONE 'UTC')::date = d.day
                   AND NOT v.bot) AS link_visits
          FROM days d
    )
    SELECT json_build_object(
        'from', p.f_out,
        'to', p.t_out,
        'active_users', (SELECT count(DISTINCT a.actor_id)
                           FROM activity_log a, span
                          WHERE a.created_at >= span.lo
                            AND a.created_at < span.hi
                            AND a.actor_id IS NOT NULL),
        'tasks_created', (SELECT sum(tasks_created) FROM per_day),
        'tasks_completed', (SELECT sum(tasks_completed) FROM per_day),
        'link_visits', (SELECT sum(link_visits) FROM per_day),
        'per_day', (SELECT json_agg(json_build_object(
                               'date', x.day,
                               'active_users', x.active_users,
                               'tasks_created', x.tasks_created,
                               'tasks_completed', x.tasks_completed,
                               'link_visits', x.link_visits)
                           ORDER BY x.day)
                      FROM per_day x))
      INTO result;

    RETURN QUERY SELECT 200, result::text;
END
$$;

CREATE INDEX share_link_visits_time ON share_link_visits (visited_at);
CREATE INDEX activity_log_time ON activity_log (created_at);
CREATE INDEX tasks_completed_at ON tasks (completed_at)
    WHERE completed_at IS NOT NULL;
