-- Insights (API.md "Insights"): an analysis of a project or of the whole
-- portfolio, asked for with POST /api/v1/insights/analyze and made by the
-- worker without holding up anything: the rule-based risks, each with its
-- evidence (which tasks, people, figures), a summary written from the
-- data, and, when an LLM is configured, its validated answer to a compact
-- digest (no secrets, no emails). Done, it is stored and published
-- (insight.generated).
--
-- The five rules have one definition, insight_risks(); the portfolio
-- overview's flags (project_risks, 007 and 015) are its first four, as
-- {rule, detail}, so that the dashboard and the insights never disagree.

CREATE TABLE insights (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id    uuid REFERENCES projects (id) ON DELETE CASCADE,
    kind          text NOT NULL
                  CHECK (kind IN ('executive_summary', 'risk_assessment',
                                  'progress_analysis', 'recommendations')),
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed',
                                    'failed')),
    result        jsonb,
    model         text,
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    completed_at  timestamptz
);

CREATE INDEX insights_latest ON insights (project_id, kind, completed_at);


-- The rules of one project, each {rule, detail, evidence: {tasks, people,
-- milestones, figures}}: schedule slipping by more than 10 points, its
-- team's utilisation above 90 % over the last two weeks, more than 2
-- blocked tasks, velocity declining over the last three weeks, overdue
-- milestones.
CREATE FUNCTION insight_risks(p projects) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH today AS (SELECT workspace_today() AS d),
         prog AS (SELECT (project_json(p)->>'progress')::int AS done),
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
                                           - 7 * (w - 1)))::int AS n
               FROM generate_series(1, 3) w),
         blocked AS (
             SELECT count(*)::int AS n,
                    coalesce(jsonb_agg(jsonb_build_object(
                        'id', t.id, 'key', p.key || '-' || t.number,
                        'title', t.title, 'reason', t.blocked_reason)
                        ORDER BY t.number) FILTER (WHERE t.id IS NOT NULL),
                        '[]') AS tasks
               FROM tasks t
              WHERE t.project_id = p.id AND t.blocked
                AND t.completed_at IS NULL),
         late AS (
             SELECT count(*)::int AS n,
                    coalesce(jsonb_agg(jsonb_build_object(
                        'id', m.id, 'name', m.name, 'due_date', m.due_date)
                        ORDER BY m.due_date), '[]') AS milestones
               FROM milestones m
              WHERE m.project_id = p.id AND m.status = 'upcoming'
                AND m.due_date < (SELECT d FROM today)),
         overdue AS (
             SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'id', t.id, 'key', p.key || '-' || t.number,
                        'title', t.title, 'due_date', t.due_date)
                        ORDER BY t.due_date, t.number), '[]') AS tasks
               FROM tasks t
              WHERE t.project_id = p.id AND task_overdue(t)),
         team AS (
             SELECT f.user_id, f.name, f.logged, f.capacity
               FROM time_figures(array(SELECT tm.user_id FROM team_members tm
                                        WHERE tm.team_id = p.team_id),
                                 (SELECT d FROM today) - 13,
                                 (SELECT d FROM today)) f),
         util AS (
             SELECT sum(logged)::int AS logged, sum(capacity)::int AS capacity,
                    CASE WHEN sum(capacity) > 0
                         THEN round(sum(logged)::numeric / sum(capacity), 4)
                    END AS rate,
                    coalesce(jsonb_agg(jsonb_build_object(
                        'id', user_id, 'name', name,
                        'logged_minutes', logged,
                        'capacity_minutes', capacity,
                        'utilisation', CASE WHEN capacity > 0
                            THEN round(logged::numeric / capacity, 4) END)
                        ORDER BY name), '[]') AS people
               FROM team)
    SELECT coalesce(jsonb_agg(r) FILTER (WHERE r IS NOT NULL), '[]')
      FROM (SELECT CASE WHEN elapsed.pct - prog.done > 10
                        AND p.status NOT IN ('completed', 'cancelled')
                   THEN jsonb_build_object('rule', 'schedule_slippage',
                        'detail', format('%s%% of the time is gone, %s%% of '
                                         'the work is done', elapsed.pct,
                                         prog.done),
                        'evidence', jsonb_build_object(
                            'figures', jsonb_build_object(
                                'time_elapsed_pct', elapsed.pct,
                                'work_done_pct', prog.done,
                                'start_date', p.start_date,
                                'due_date', p.due_date),
                            'tasks', overdue.tasks)) END
              FROM prog, elapsed, overdue
            UNION ALL
            SELECT CASE WHEN blocked.n > 2
                   THEN jsonb_build_object('rule', 'blocked_tasks',
                        'detail', format('%s tasks are blocked', blocked.n),
                        'evidence', jsonb_build_object(
                            'figures', jsonb_build_object('blocked', blocked.n),
                            'tasks', blocked.tasks))
                   END FROM blocked
            UNION ALL
            SELECT CASE WHEN (SELECT n FROM weeks WHERE w = 3)
                             > (SELECT n FROM weeks WHERE w = 2)
                         AND (SELECT n FROM weeks WHERE w = 2)
                             > (SELECT n FROM weeks WHERE w = 1)
                   THEN jsonb_build_object('rule', 'declining_velocity',
                        'detail', 'fewer tasks done each of the last three '
                                  'weeks',
                        'evidence', jsonb_build_object(
                            'figures', jsonb_build_object(
                                'done_per_week',
                                (SELECT jsonb_agg(n ORDER BY w DESC)
                                   FROM weeks)))) END
            UNION ALL
            SELECT CASE WHEN late.n > 0
                   THEN jsonb_build_object('rule', 'overdue_milestones',
                        'detail', format('%s milestones are overdue', late.n),
                        'evidence', jsonb_build_object(
                            'figures', jsonb_build_object('overdue', late.n),
                            'milestones', late.milestones))
                   END FROM late
            UNION ALL
            SELECT CASE WHEN util.rate > 0.9
                   THEN jsonb_build_object('rule', 'team_utilisation',
                        'detail', format('its team logged %s%% of its '
                                         'capacity in the last two weeks',
                                         round(util.rate * 100)),
                        'evidence', jsonb_build_object(
                            'figures', jsonb_build_object(
                                'logged_minutes', util.logged,
                                'capacity_minutes', util.capacity,
                                'utilisation', util.rate),
                            'people', util.people))
                   END FROM util) AS rules (r)
$$;


-- The portfolio's flags: the same rules (but the team's, which the
-- overview does not show), as {rule, detail}.
CREATE OR REPLACE FUNCTION project_risks(p projects) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('rule', r->>'rule',
                                                 'detail', r->>'detail')),
                    '[]')
      FROM jsonb_array_elements(insight_risks(p)) r
     WHERE r->>'rule' <> 'team_utilisation'
$$;


-- What an analysis is made of, for one project or (pid NULL) every
-- project not completed or cancelled: per project its figures and risks
-- with their evidence. The LLM is given this without the evidence's
-- people and titles (insight_digest_compact): figures and rule names.
CREATE FUNCTION insight_digest(pid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'scope', CASE WHEN pid IS NULL THEN 'portfolio' ELSE 'project' END,
        'today', workspace_today(),
        'projects', coalesce(jsonb_agg(jsonb_build_object(
            'id', p.id, 'key', p.key, 'name', p.name, 'status', p.status,
            'start_date', p.start_date, 'due_date', p.due_date,
            'progress', (project_json(p)->>'progress')::int,
            'tasks', (SELECT jsonb_build_object(
                          'total', count(*),
                          'done', count(*) FILTER (WHERE t.completed_at
                                                   IS NOT NULL),
                          'open', count(*) FILTER (WHERE t.completed_at
                                                   IS NULL),
                          'overdue', count(*) FILTER (WHERE task_overdue(t)),
                          'blocked', count(*) FILTER (WHERE t.blocked
                                                      AND t.completed_at
                                                          IS NULL))
                        FROM tasks t WHERE t.project_id = p.id),
            'risks', insight_risks(p)) ORDER BY p.key), '[]'))
      FROM projects p
     WHERE (pid IS NULL AND p.status NOT IN ('completed', 'cancelled'))
        OR p.id = pid
$$;

CREATE FUNCTION insight_digest_compact(d jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT d || jsonb_build_object('projects', coalesce((
        SELECT jsonb_agg((p - 'id' - 'risks') || jsonb_build_object(
                   'risks', coalesce((
                       SELECT jsonb_agg(jsonb_build_object(
                                  'rule', r->>'rule', 'detail', r->>'detail',
                                  'figures', r#>'{evidence,figures}'))
                         FROM jsonb_array_elements(p->'risks') r), '[]')))
          FROM jsonb_array_elements(d->'projects') p), '[]'))
$$;


-- The summary, written from the digest: reads well with no LLM.
CREATE FUNCTION insight_summary(d jsonb, kind text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n        int := jsonb_array_length(d->'projects');
    p        jsonb;
    r        jsonb;
    atrisk   text[] := '{}';
    lines    text[] := '{}';
    done     int := 0;
    total    int := 0;
    overdue  int := 0;
    blocked  int := 0;
    what     text;
BEGIN
    FOR p IN SELECT * FROM jsonb_array_elements(d->'projects') LOOP
        total := total + (p#>>'{tasks,total}')::int;
        done := done + (p#>>'{tasks,done}')::int;
        overdue := overdue + (p#>>'{tasks,overdue}')::int;
        blocked := blocked + (p#>>'{tasks,blocked}')::int;

        IF jsonb_array_length(p->'risks') > 0 THEN
            atrisk := atrisk || (p->>'name');
            FOR r IN SELECT * FROM jsonb_array_elements(p->'risks') LOOP
                lines := lines || format('%s: %s', p->>'name',
                                         r->>'detail');
            END LOOP;
        END IF;
    END LOOP;

    IF n = 0 THEN
        RETURN 'There is no active project to analyse.';
    END IF;

    what := CASE WHEN d->>'scope' = 'portfolio'
                 THEN format('%s active %s', n,
                             CASE WHEN n = 1 THEN 'project' ELSE 'projects'
                             END)
                 ELSE format('%s (%s)', d#>>'{projects,0,name}',
                             d#>>'{projects,0,status}') END;

    RETURN format('%s: %s of %s tasks done (%s%%), %s overdue, %s blocked. ',
                  what, done, total,
                  CASE WHEN total > 0 THEN round(100.0 * done / total)
                       ELSE 0 END, overdue, blocked)
        || CASE WHEN cardinality(atrisk) = 0
                THEN 'No risk rule is triggered.'
                ELSE format('%s at risk: %s.',
                            CASE WHEN cardinality(atrisk) = 1 THEN '1 project'
                                 ELSE cardinality(atrisk) || ' projects' END,
                            array_to_string(lines, '; '))
           END
        || CASE kind
               WHEN 'recommendations' THEN CASE
                   WHEN blocked > 0 THEN ' First, unblock the blocked tasks.'
                   WHEN overdue > 0 THEN ' First, replan the overdue tasks.'
                   ELSE ' Keep the current pace.' END
               ELSE '' END;
END
$$;


CREATE FUNCTION insight_json(i insights) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', i.id, 'project_id', i.project_id, 'kind', i.kind,
               'status', i.status, 'result', i.result, 'model', i.model,
               'created_at', i.created_at, 'completed_at', i.completed_at)
$$;


-- The worker takes an analysis: running, and what it is made of (the
-- rules' result, and the digest for the LLM). NULL when it is not pending.
CREATE FUNCTION insight_start(iid uuid)
RETURNS TABLE (result text, digest text)
LANGUAGE plpgsql AS $$
DECLARE
    i  insights;
    d  jsonb;
BEGIN
    UPDATE insights SET status = 'running', started_at = now()
     WHERE id = iid AND status = 'pending'
    RETURNING * INTO i;

    IF NOT FOUND THEN
        RETURN;
    END IF;

    d := insight_digest(i.project_id);

    RETURN QUERY SELECT jsonb_build_object(
               'kind', i.kind,
               'scope', CASE WHEN i.project_id IS NULL THEN 'portfolio'
                             ELSE 'project' END,
               'summary', insight_summary(d, i.kind),
               'risks', coalesce((
                   SELECT jsonb_agg(r || jsonb_build_object(
                              'project', jsonb_build_object(
                                  'id', p->'id', 'key', p->'key',
                                  'name', p->'name')))
                     FROM jsonb_array_elements(d->'projects') p,
                          jsonb_array_elements(p->'risks') r), '[]'),
               'figures', jsonb_build_object(
                   'projects', (SELECT jsonb_agg(p - 'risks')
                                  FROM jsonb_array_elements(d->'projects') p)),
               'generated_at', now())::text,
           jsonb_build_object('kind', i.kind,
                              'digest', insight_digest_compact(d))::text;
END
$$;


-- The analysis is done: its result (the rules' and the LLM's part) stored
-- and published.
CREATE FUNCTION insight_finish(iid uuid, res jsonb, m text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    i  insights;
BEGIN
    UPDATE insights
       SET status = 'completed', result = res, model = m,
           completed_at = now()
     WHERE id = iid AND status = 'running'
    RETURNING * INTO i;

    IF FOUND THEN
        PERFORM event_add(NULL, 'insight.generated', i.project_id, NULL,
                          true, insight_json(i));
    END IF;
END
$$;


CREATE FUNCTION insight_failed(iid uuid, err text) RETURNS void
LANGUAGE sql AS $$
    UPDATE insights
       SET status = 'failed', completed_at = now(),
           result = jsonb_build_object('error', err)
     WHERE id = iid AND status IN ('pending', 'running')
$$;
