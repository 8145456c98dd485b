-- A workspace's calendar. Its time zone (an IANA name, UTC by default, set
-- by an admin with PATCH /api/v1/workspace) decides which day today is and
-- where a day and an ISO week begin and end: a day is 23 or 25 hours long
-- across a daylight-saving change, and 2026-W53 is a week like any other.
-- Every report, rule and timesheet asks these functions, never
-- current_date or UTC's date, so that two screens never disagree on a day.
--
-- It also gives "overdue" its one definition (a task not done whose due
-- day has passed): the portfolio asked completed_at and current_date, the
-- analytics the column's category and UTC's date.

INSERT INTO settings (key, value) VALUES ('time_zone', '"UTC"')
    ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION workspace_time_zone() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT value #>> '{}' FROM settings
                      WHERE key = 'time_zone'), 'UTC')
$$;

CREATE FUNCTION workspace_today() RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (now() AT TIME ZONE workspace_time_zone())::date
$$;

-- the workspace's day of an instant
CREATE FUNCTION local_date(at timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (at AT TIME ZONE workspace_time_zone())::date
$$;

-- the instant the workspace's day d begins
CREATE FUNCTION day_start(d date) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT d::timestamp AT TIME ZONE workspace_time_zone()
$$;

CREATE FUNCTION task_overdue(t tasks) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT t.due_date < workspace_today() AND t.completed_at IS NULL
$$;


-- GET /api/v1/workspace: the public face of a workspace (its name,
-- whether anyone may register, its time zone); the sign-in page shows it.
CREATE FUNCTION workspace_json(slug text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'slug', slug,
        'name', (SELECT value #>> '{}' FROM settings WHERE key = 'name'),
        'open_registration', coalesce((SELECT value = 'true'::jsonb
                                         FROM settings
                                        WHERE key = 'open_registration'),
                                      false),
        'time_zone', workspace_time_zone())
$$;


-- PATCH /api/v1/workspace (admins): whether anyone may register, and the
-- time zone. A zone that is not in the IANA database is 422; the audit
-- row holds the old and new values.
CREATE FUNCTION workspace_update(actor uuid, slug text, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    keys  text[] := ARRAY['open_registration', 'time_zone'];
    old   jsonb;
    new   jsonb;
BEGIN
    IF b ? 'time_zone' AND NOT EXISTS (
           SELECT 1 FROM pg_timezone_names WHERE name = b->>'time_zone')
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'time_zone: not a time zone of the IANA database, such as '
            'Europe/Berlin or America/New_York.';
        RETURN;
    END IF;

    IF b ? 'open_registration'
       AND jsonb_typeof(b->'open_registration') <> 'boolean'
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'open_registration: true or false.';
        RETURN;
    END IF;

    SELECT jsonb_object_agg(s.key, s.value) INTO old
      FROM settings s WHERE s.key = ANY (keys);

    INSERT INTO settings (key, value, updated_at)
    SELECT k.key, b->k.key, now()
      FROM unnest(keys) k(key)
     WHERE b ? k.key
    ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                    updated_at = excluded.updated_at;

    SELECT jsonb_object_agg(s.key, s.value) INTO new
      FROM settings s WHERE s.key = ANY (keys);

    IF new IS DISTINCT FROM old THEN
        INSERT INTO activity_log (actor_id, entity_type, action, old_values,
                                  new_values)
        VALUES (actor, 'workspace', 'updated', old, new);
    END IF;

    RETURN QUERY SELECT 200, workspace_json(slug)::text, NULL::text;
END
$$;


-- Analytics (013): the period's default ends today in the workspace; days
-- are its days. analytics_period was IMMUTABLE though it reads the clock.
CREATE OR REPLACE FUNCTION analytics_period(f date, t date, OUT f_out date,
                                            OUT t_out date, OUT ok boolean)
LANGUAGE sql STABLE AS $$
    SELECT ff, tt, ff <= tt AND tt - ff < 366
      FROM (SELECT coalesce(f, coalesce(t, workspace_today()) - 29) AS ff,
                   coalesce(t, workspace_today()) AS tt) p
$$;


CREATE OR REPLACE FUNCTION project_analytics(project uuid, f date, t date)
RETURNS TABLE (status int, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p       record;
    tz      text := workspace_time_zone();
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
               (tk.completed_at AT TIME ZONE tz)::date AS completed_on,
               coalesce((SELECT min(h.since) FROM history h
                          WHERE h.task_id = tk.id
                            AND h.category IN ('in_progress', 'review')),
                        tk.created_at) AS started_at
          FROM tasks tk JOIN columns c ON c.id = tk.column_id
         WHERE tk.project_id = project AND c.category = 'done'
           AND tk.completed_at IS NOT NULL
           AND (tk.completed_at AT TIME ZONE tz)::date
               BETWEEN p.f_out AND p.t_out
    ), cycle AS (
        SELECT extract(epoch FROM completed_at - started_at) / 3600 AS hours
          FROM done WHERE completed_at >= started_at
    ), overdue AS (
        SELECT tk.id, pr.key || '-' || tk.number AS key, tk.title,
               tk.due_date, tk.number
          FROM tasks tk JOIN projects pr ON pr.id = tk.project_id
         WHERE tk.project_id = project AND task_overdue(tk)
    )
    SELECT json_build_object(
        'project_id', project,
        'from', p.f_out,
        'to', p.t_out,
        'time_zone', tz,
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
                          AND (tk.created_at AT TIME ZONE tz)::date
                              = d.day))
                   ORDER BY d.day)
              FROM days d),
        'completed_per_day', (
            SELECT json_agg(json_build_object('date', d.day, 'count', (
                       SELECT count(*) FROM done
                        WHERE done.completed_on = d.day))
                   ORDER BY d.day)
              FROM days d),
        'throughput_per_week', coalesce((
            SELECT json_agg(json_build_object('week', w.week,
                                              'completed', w.n)
                            ORDER BY w.week)
              FROM (SELECT iso_week(completed_on) AS week, count(*) AS n
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
                                           AT TIME ZONE tz
                           ORDER BY h.task_id, h.since DESC) s ON true
                     GROUP BY d.day) f),
        'overdue', json_build_object(
            'count', (SELECT count(*) FROM overdue),
            'tasks', coalesce((
                SELECT json_agg(json_build_object(
                           'id', o.id, 'key', o.key, 'title', o.title,
                           'due_date', o.due_date)
                       ORDER BY o.due_date, o.key)
                  FROM (SELECT * FROM overdue
                         ORDER BY due_date, number LIMIT 20) o),
                '[]')))
      INTO result;

    RETURN QUERY SELECT 200, result::text;
END
$$;


CREATE OR REPLACE FUNCTION tenant_analytics(f date, t date)
RETURNS TABLE (status int, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p       record;
    tz      text := workspace_time_zone();
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
        SELECT p.f_out::timestamp AT TIME ZONE tz AS lo,
               (p.t_out + 1)::timestamp AT TIME ZONE tz AS hi
    ), per_day AS (
        SELECT d.day,
               (SELECT count(DISTINCT a.actor_id) FROM activity_log a
                 WHERE (a.created_at AT TIME ZONE tz)::date = d.day
                   AND a.actor_id IS NOT NULL) AS active_users,
               (SELECT count(*) FROM tasks tk
                 WHERE (tk.created_at AT TIME ZONE tz)::date = d.day)
                   AS tasks_created,
               (SELECT count(*) FROM tasks tk
                 WHERE (tk.completed_at AT TIME ZONE tz)::date = d.day)
                   AS tasks_completed,
               (SELECT count(*) FROM share_link_visits v
                 WHERE (v.visited_at AT TIME ZONE tz)::date = d.day
                   AND NOT v.bot) AS link_visits
          FROM days d
    )
    SELECT json_build_object(
        'from', p.f_out,
        'to', p.t_out,
        'time_zone', tz,
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


-- The portfolio's rules (007): time gone counts the workspace's days; the
-- last three weeks are its Monday-to-Sunday weeks; a milestone is overdue
-- the day after its due day there.
CREATE OR REPLACE FUNCTION project_risks(p projects) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH prog AS (SELECT (project_json(p)->>'progress')::int AS done),
         today AS (SELECT workspace_today() AS d),
         elapsed AS (
             SELECT CASE WHEN p.start_date IS NULL OR p.due_date IS NULL
                          OR p.due_date <= p.start_date THEN NULL
                         ELSE least(100, greatest(0, round(100.0
                              * ((SELECT d FROM today) - p.start_date)
                              / (p.due_date - p.start_date))))::int
                    END AS pct),
         monday AS (SELECT date_trunc('week', d)::date AS d FROM today),
         weeks AS (
             SELECT w, (SELECT count(*) FROM tasks t
                         WHERE t.project_id = p.id
                           AND t.completed_at
                               >= day_start((SELECT d FROM monday) - 7 * w)
                           AND t.completed_at
                               < day_start((SELECT d FROM monday)
                                           - 7 * (w - 1)))
                       AS n
               FROM generate_series(1, 3) w),
         blocked AS (SELECT count(*) AS n FROM tasks
                      WHERE project_id = p.id AND blocked
                        AND completed_at IS NULL),
         late AS (SELECT count(*) AS n FROM milestones
                   WHERE project_id = p.id AND status = 'upcoming'
                     AND due_date < (SELECT d FROM today))
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


-- Timesheets (010): a stopped timer's entry is on the workspace's day it
-- started; the week without ?week= is the workspace's current one; a
-- task is on time when it is done by the end of its due day there.
CREATE OR REPLACE FUNCTION timer_stop(actor uuid, discard boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t     timers;
    e     time_entries;
    d     date;
    m     int;
    used  int;
BEGIN
    PERFORM timesheet_lock(actor);

    SELECT * INTO t FROM timers
     WHERE user_id = actor AND stopped_at IS NULL FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', 'No timer is running.';
        RETURN;
    END IF;

    IF discard THEN
        UPDATE timers SET stopped_at = now() WHERE id = t.id;
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action)
        VALUES (actor, t.project_id, 'timer', t.id, 'discarded');
        RETURN QUERY SELECT 204, NULL::text, NULL::text;
        RETURN;
    END IF;

    d := local_date(t.started_at);
    m := greatest(1, round(extract(epoch FROM now() - t.started_at) / 60));

    IF week_status(actor, d) IN ('submitted', 'approved') THEN
        RETURN QUERY SELECT 409, 'locked',
            'The week ' || iso_week(d) || ' is ' || week_status(actor, d)
            || '; discard the timer (DELETE /api/v1/timesheets/timer).';
        RETURN;
    END IF;

    used := day_minutes(actor, d, NULL);

    IF used + m > 1440 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'minutes: the timer ran ' || m || ' minutes and ' || used
            || ' are logged on ' || d || ': a day has 1440; discard the'
            || ' timer (DELETE /api/v1/timesheets/timer) and log by hand.';
        RETURN;
    END IF;

    INSERT INTO time_entries (user_id, task_id, project_id, date, minutes,
                              description, started_at, ended_at)
    VALUES (actor, t.task_id, t.project_id, d, m, t.description,
            t.started_at, now())
    RETURNING * INTO e;

    UPDATE timers SET stopped_at = now(), entry_id = e.id WHERE id = t.id;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, e.project_id, 'time_entry', e.id, 'created',
            to_jsonb(e) || jsonb_build_object('timer_id', t.id));

    RETURN QUERY SELECT 201, to_jsonb(e)::text,
                        '/api/v1/timesheets/entries/' || e.id;
END
$$;


CREATE OR REPLACE FUNCTION timesheet_week_get(actor uuid, role text, w text,
                                              uid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    ws  date;
BEGIN
    ws := CASE WHEN w IS NULL THEN date_trunc('week', workspace_today())::date
               ELSE iso_week_start(w) END;

    IF ws IS NULL THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'week is an ISO week such as 2026-W47 (W53 only in years '
            'that have it).';
        RETURN;
    END IF;

    uid := coalesce(uid, actor);

    IF NOT can_see_user(actor, role, uid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
                            'You may not read this person''s time.';
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = uid
                      AND u.status <> 'erased') THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, timesheet_week_json(uid, ws)::text, NULL::text;
END
$$;


CREATE OR REPLACE FUNCTION time_figures(uids uuid[], f date, t date)
RETURNS TABLE (user_id uuid, name text, email text, completed int,
               with_due int, on_time int, logged int, billable int,
               capacity int)
LANGUAGE sql STABLE AS $$
    SELECT u.id, u.name, u.email,
           coalesce(c.completed, 0), coalesce(c.with_due, 0),
           coalesce(c.on_time, 0), coalesce(l.logged, 0),
           coalesce(l.billable, 0),
           round(u.weekly_capacity_minutes * working_days(f, t) / 5.0)::int
      FROM users u
      LEFT JOIN LATERAL (
           SELECT count(*)::int AS completed,
                  count(*) FILTER (WHERE k.due_date IS NOT NULL)::int
                      AS with_due,
                  count(*) FILTER (WHERE k.completed_on <= k.due_date)::int
                      AS on_time
             FROM (SELECT k.due_date,
                          local_date(k.completed_at) AS completed_on
                     FROM task_assignees a JOIN tasks k ON k.id = a.task_id
                    WHERE a.user_id = u.id
                      AND k.completed_at IS NOT NULL) k
            WHERE k.completed_on BETWEEN f AND t) c ON true
      LEFT JOIN LATERAL (
           SELECT sum(e.minutes)::int AS logged,
                  sum(e.minutes) FILTER (WHERE e.billable)::int AS billable
             FROM time_entries e
            WHERE e.user_id = u.id AND e.date BETWEEN f AND t) l ON true
     WHERE u.id = ANY (uids)
$$;


CREATE OR REPLACE FUNCTION report_period(f date, t date, OUT f_out date,
                                         OUT t_out date)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN tt - ff BETWEEN 0 AND 365 THEN ff END,
           CASE WHEN tt - ff BETWEEN 0 AND 365 THEN tt END
      FROM (SELECT coalesce(f, coalesce(t, workspace_today()) - 29) AS ff,
                   coalesce(t, workspace_today()) AS tt) p
$$;
