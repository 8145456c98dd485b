-- Portfolio: skills for assignment (issue 19).
--
-- A task may require skills (required_skills: [{skill_id, level}], kept
-- in task_required_skills, 023), set when it is made or changed and shown
-- with it. GET /api/v1/tasks/{id}/assignee-suggestions ranks the people
-- of the project's team (every active member when it has no team) by
--   1. the required skills they have at the needed level, most first;
--   2. their free capacity this week: the week's capacity less the time
--      they logged this week and the estimates of their other open tasks;
--   3. their work in progress (open tasks in progress or in review),
--      least first;
-- each with its reasons in words: "Kubernetes 4 of 3 needed; 11 h free
-- this week; 2 tasks in progress".

-- A task as the API shows it: with the skills it requires.
ALTER FUNCTION task_json(tasks) RENAME TO task_json_core;

CREATE FUNCTION task_json(t tasks) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT task_json_core(t) || jsonb_build_object(
               'required_skills', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'skill_id', r.skill_id, 'name', s.name,
                              'level', r.level)
                              ORDER BY lower(s.name), r.skill_id)
                     FROM task_required_skills r
                     JOIN skills s ON s.id = r.skill_id
                    WHERE r.task_id = t.id), '[]'))
$$;


-- What is wrong with a body's required_skills (the field spec has checked
-- its shape), or NULL.
CREATE FUNCTION task_required_skills_problem(b jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN NOT b ? 'required_skills' OR b->'required_skills' = 'null'
        THEN NULL
        WHEN (SELECT count(DISTINCT lower(e->>'skill_id'))
                     <> count(*)
                FROM jsonb_array_elements(b->'required_skills') e)
        THEN 'required_skills names a skill twice.'
        WHEN EXISTS (SELECT 1
                       FROM jsonb_array_elements(b->'required_skills') e
                      WHERE NOT EXISTS (SELECT 1 FROM skills s
                                         WHERE s.id::text
                                               = lower(e->>'skill_id')))
        THEN 'required_skills names a skill the workspace does not have.'
    END
$$;

CREATE FUNCTION task_required_skills_set(tid uuid, b jsonb) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM task_required_skills
     WHERE task_id = tid AND b ? 'required_skills';
    INSERT INTO task_required_skills (task_id, skill_id, level)
    SELECT tid, (e->>'skill_id')::uuid, (e->>'level')::smallint
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(b->'required_skills')
                                          = 'array'
                                     THEN b->'required_skills'
                                     ELSE '[]' END) e;
$$;


-- task_create and task_update, with the required skills in the same
-- statement: refused before anything is written, set after.
CREATE FUNCTION task_create_skilled(actor uuid, role text, pid uuid,
                                    b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    problem  text := task_required_skills_problem(b);
    r        record;
BEGIN
    IF problem IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', problem;
        RETURN;
    END IF;

    FOR r IN SELECT * FROM task_create(actor, role, pid, task_body(b, NULL))
    LOOP
        IF r.status = 201 AND b ? 'required_skills' THEN
            PERFORM task_required_skills_set((r.body::jsonb->>'id')::uuid, b);
            r.body := (SELECT task_json(t)::text FROM tasks t
                        WHERE t.id = (r.body::jsonb->>'id')::uuid);
        END IF;

        RETURN QUERY SELECT r.status, r.body, r.extra;
    END LOOP;
END
$$;

CREATE FUNCTION task_update_skilled(actor uuid, role text, tid uuid, b jsonb,
                                    expected int)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    problem  text := task_required_skills_problem(b);
    r        record;
BEGIN
    IF problem IS NOT NULL AND EXISTS (SELECT 1 FROM tasks WHERE id = tid)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed', problem;
        RETURN;
    END IF;

    FOR r IN SELECT * FROM task_update(actor, role, tid, task_body(b, tid),
                                       expected)
    LOOP
        IF r.status = 200 AND b ? 'required_skills' THEN
            PERFORM task_required_skills_set(tid, b);
            r.body := (SELECT task_json(t)::text FROM tasks t
                        WHERE t.id = tid);
        END IF;

        RETURN QUERY SELECT r.status, r.body, r.extra;
    END LOOP;
END
$$;


-- Minutes in words: "11 h", "1.5 h".
CREATE FUNCTION hours_text(minutes int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT trim_scale(round(abs(minutes) / 60.0, 1))::text || ' h'
$$;


-- The ranked people for a task, NULL when there is no such task.
CREATE FUNCTION assignee_suggestions(tid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH t AS (SELECT k.*, p.team_id FROM tasks k
                 JOIN projects p ON p.id = k.project_id WHERE k.id = tid),
         week AS (SELECT date_trunc('week', workspace_today())::date AS mon),
         people AS (
             SELECT u.id, u.name, u.weekly_capacity_minutes AS capacity
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
