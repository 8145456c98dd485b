-- Capacity with absences feeds the assignment suggestions (issue 25):
-- a person's free time this week is this week's targets (077's
-- day_target: their weekly pattern, less public holidays and approved
-- absences) less the time logged and the open estimates, as before. The
-- utilisation report and the portfolio report read time_figures, which
-- 077 already made of the same targets. 024's function, that one line
-- changed.

CREATE OR REPLACE FUNCTION assignee_suggestions(tid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH t AS (SELECT k.*, p.team_id FROM tasks k
                 JOIN projects p ON p.id = k.project_id WHERE k.id = tid),
         week AS (SELECT date_trunc('week', workspace_today())::date AS mon),
         people AS (
             SELECT u.id, u.name,
                    (SELECT round(sum(day_target(u.id, week.mon + i)))
                       FROM week, generate_series(0, 6) i) AS capacity
               FROM users u, t
              WHERE u.status = 'active'
                AND (t.team_id IS NULL
                     OR u.id IN (SELECT tm.user_id FROM team_members tm
                                  WHERE tm.team_id = t.team_id))),
         needed AS (
             SELECT r.skill_id, s.name, r.level FROM task_required_skills r
               JOIN skills s ON s.id = r.skill_id
              WHERE r.task_id = tid),
         fit AS (
             SELECT pe.id,
                    count(*) FILTER (WHERE us.level >= n.level) AS met,
                    coalesce(sum(least(coalesce(us.level, 0), n.level)), 0)
                        AS closeness,
                    coalesce(jsonb_agg(jsonb_build_object(
                        'skill_id', n.skill_id, 'name', n.name,
                        'needed', n.level, 'level', coalesce(us.level, 0))
                        ORDER BY lower(n.name)) FILTER (WHERE n.skill_id
                                                        IS NOT NULL),
                        '[]') AS skills,
                    array_agg(CASE WHEN us.level IS NULL
                                   THEN format('no %s, %s needed', n.name,
                                               n.level)
                                   ELSE format('%s %s of %s needed', n.name,
                                               us.level, n.level) END
                              ORDER BY lower(n.name))
                        FILTER (WHERE n.skill_id IS NOT NULL) AS words
               FROM people pe CROSS JOIN needed n
               LEFT JOIN user_skills us
                      ON us.user_id = pe.id AND us.skill_id = n.skill_id
              GROUP BY pe.id),
         load AS (
             SELECT pe.id,
                    pe.capacity
                    - coalesce((SELECT sum(e.minutes) FROM time_entries e,
                                       week
                                 WHERE e.user_id = pe.id
                                   AND e.date BETWEEN week.mon
                                                  AND week.mon + 6), 0)
                    - coalesce((SELECT sum(k.estimate_minutes)
                                  FROM task_assignees a
                                  JOIN tasks k ON k.id = a.task_id
                                 WHERE a.user_id = pe.id AND k.id <> tid
                                   AND k.completed_at IS NULL), 0) AS free,
                    (SELECT count(*) FROM task_assignees a
                       JOIN tasks k ON k.id = a.task_id
                       JOIN columns c ON c.id = k.column_id
                      WHERE a.user_id = pe.id AND k.completed_at IS NULL
                        AND c.category IN ('in_progress', 'review'))
                        AS wip
               FROM people pe),
         ranked AS (
             SELECT pe.id, pe.name, coalesce(f.met, 0) AS met,
                    coalesce(f.closeness, 0) AS closeness,
                    coalesce(f.skills, '[]') AS skills, l.free::int AS free,
                    l.wip::int AS wip,
                    coalesce(f.words, '{}')
                    || CASE WHEN l.free >= 0
                            THEN hours_text(l.free::int) || ' free this week'
                            ELSE hours_text(l.free::int)
                                 || ' over capacity this week' END
                    || CASE l.wip WHEN 1 THEN '1 task in progress'
                            ELSE l.wip || ' tasks in progress' END AS words,
                    EXISTS (SELECT 1 FROM task_assignees a
                             WHERE a.task_id = tid AND a.user_id = pe.id)
                        AS assigned
               FROM people pe JOIN load l ON l.id = pe.id
               LEFT JOIN fit f ON f.id = pe.id)
    SELECT jsonb_build_object(
               'task_id', tid,
               'required_skills', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'skill_id', n.skill_id, 'name', n.name,
                              'level', n.level) ORDER BY lower(n.name))
                     FROM needed n), '[]'),
               'items', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'user', jsonb_build_object('id', r.id,
                                                         'name', r.name),
                              'skills_met', r.met,
                              'skills', r.skills,
                              'free_minutes', r.free,
                              'in_progress', r.wip,
                              'assigned', r.assigned,
                              'reasons', to_jsonb(r.words),
                              'summary', array_to_string(r.words, '; '))
                              ORDER BY r.met DESC, r.closeness DESC,
                                       r.free DESC, r.wip, r.name, r.id)
                     FROM ranked r), '[]'))
      FROM t
$$;
