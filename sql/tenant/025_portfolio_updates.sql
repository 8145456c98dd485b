-- Portfolio: weekly updates (issue 19).
--
-- A project manager of the project posts an update (health, text) once a
-- week; they are kept as the project's history, newest first. A draft is
-- written from the rules' facts (project_update_draft). An admin chooses
-- the weekday by which every active project should have this week's
-- update (portfolio_settings, Friday unless chosen); from that day on,
-- each manager (the owner, else the team's project managers) of an
-- active project without one gets an update_due notification, once a
-- week a project. The reminders are sent lazily, when the workspace's
-- portfolio is read (GET of a project's health or updates): no cron.

CREATE TABLE portfolio_settings (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    update_weekday  smallint NOT NULL DEFAULT 5
                    CHECK (update_weekday BETWEEN 1 AND 7)   -- ISO: 1 Monday
);

INSERT INTO portfolio_settings DEFAULT VALUES;

CREATE TABLE project_updates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    author_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    health      text NOT NULL
                CHECK (health IN ('on_track', 'at_risk', 'off_track')),
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 20000),
    week        text NOT NULL,          -- its ISO week, in the workspace
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX project_updates_project ON project_updates (project_id,
                                                         created_at);

-- A reminder sent: one a project and week.
CREATE TABLE project_update_reminders (
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    week        text NOT NULL,
    PRIMARY KEY (project_id, week)
);

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assigned', 'mentioned', 'commented', 'approved',
                    'webhook_disabled', 'health_changed', 'update_due'));


CREATE FUNCTION project_update_json(u project_updates) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', u.id, 'project_id', u.project_id,
               'author', (SELECT jsonb_build_object('id', a.id,
                                                    'name', a.name)
                            FROM users a WHERE a.id = u.author_id),
               'health', u.health, 'text', u.text, 'week', u.week,
               'created_at', u.created_at)
$$;


CREATE FUNCTION project_update_post(actor uuid, role text, pid uuid,
                                    b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p  projects;
    u  project_updates;
BEGIN
    SELECT * INTO p FROM projects WHERE id = pid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, p.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the team''s project managers post its updates.';
        RETURN;
    END IF;

    IF NOT coalesce(b->>'health' IN ('on_track', 'at_risk', 'off_track'),
                    false)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'health is on_track, at_risk or off_track.';
        RETURN;
    END IF;

    INSERT INTO project_updates (project_id, author_id, health, text, week)
    VALUES (pid, actor, b->>'health', b->>'text', iso_week(workspace_today()))
    RETURNING * INTO u;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'project_update', u.id, 'created',
            jsonb_build_object('health', u.health, 'week', u.week));

    RETURN QUERY SELECT 201, project_update_json(u)::text,
                        '/api/v1/projects/' || pid || '/updates/' || u.id;
END
$$;


-- A draft from the rules' facts: the health and its reasons, the work
-- done, the milestones ahead.
CREATE FUNCTION project_update_draft(p projects) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    h      jsonb := project_health_json(p);
    today  date := workspace_today();
    mon    date := date_trunc('week', today)::date;
    done   int;
    total  int;
    week   int;
    next   milestones;
    lines  text[] := '{}';
    r      jsonb;
BEGIN
    SELECT count(*) FILTER (WHERE t.completed_at IS NOT NULL), count(*),
           count(*) FILTER (WHERE t.completed_at >= day_start(mon))
      INTO done, total, week
      FROM tasks t WHERE t.project_id = p.id AND t.parent_id IS NULL;

    lines := lines || format('%s is %s.', p.name,
                             replace(h->>'health', '_', ' '));
    lines := lines || format('%s of %s tasks done (%s%%), %s of them this '
                             'week.', done, total,
                             (project_json(p)->>'progress'), week);

    FOR r IN SELECT * FROM jsonb_array_elements(h->'reasons') LOOP
        lines := lines || format('Risk: %s.', r->>'text');
    END LOOP;

    SELECT * INTO next FROM milestones m
     WHERE m.project_id = p.id AND m.status = 'upcoming'
       AND m.due_date >= today
     ORDER BY m.due_date LIMIT 1;

    IF FOUND THEN
        lines := lines || format('Next milestone: %s, due %s.', next.name,
                                 next.due_date);
    END IF;

    RETURN jsonb_build_object('health', h->>'health',
                              'text', array_to_string(lines, E'\n'),
                              'source', 'rules');
END
$$;


-- The reminders due now, sent; how many.
CREATE FUNCTION project_update_remind() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    today  date := workspace_today();
    wk     text := iso_week(today);
    p      projects;
    m      uuid;
    n      int := 0;
BEGIN
    IF extract(isodow FROM today)
       < (SELECT update_weekday FROM portfolio_settings)
    THEN
        RETURN 0;
    END IF;

    FOR p IN SELECT * FROM projects x
              WHERE x.status = 'active'
                AND NOT EXISTS (SELECT 1 FROM project_updates u
                                 WHERE u.project_id = x.id AND u.week = wk)
                AND NOT EXISTS (SELECT 1 FROM project_update_reminders r
                                 WHERE r.project_id = x.id AND r.week = wk)
    LOOP
        INSERT INTO project_update_reminders (project_id, week)
        VALUES (p.id, wk) ON CONFLICT DO NOTHING;

        IF FOUND THEN
            FOREACH m IN ARRAY project_managers(p) LOOP
                PERFORM notification_add(m, 'update_due', NULL, NULL,
                                         jsonb_build_object(
                                             'project_id', p.id,
                                             'project_key', p.key,
                                             'project_name', p.name,
                                             'week', wk));
                n := n + 1;
            END LOOP;
        END IF;
    END LOOP;

    RETURN n;
END
$$;


-- The weekly status report (GET /api/v1/portfolio/report?week=): each
-- active project's health and reasons, progress against plan, the
-- milestones done, missed and next, the top risks, what changed in the
-- week (the audit trail and the health's changes), its latest update and
-- its team's utilisation. Once the week has ended in the workspace's
-- calendar, the report is frozen: the first reading after its end is
-- stored, and every later one answers that, whatever was written since.
-- (Here, not in a file of its own: 025 has not landed anywhere yet.)

CREATE TABLE portfolio_reports (
    week       text PRIMARY KEY,
    report     jsonb NOT NULL,
    frozen_at  timestamptz NOT NULL DEFAULT now()
);


CREATE FUNCTION portfolio_report_project(p projects, mon date) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    sun      date := mon + 6;
    asof     date := least(workspace_today(), mon + 6);
    h        jsonb := project_health_json(p);
    f        timestamptz := day_start(mon);
    t        timestamptz := day_start(mon + 7);
    util     record;
    elapsed  int;
BEGIN
    elapsed := CASE WHEN p.start_date IS NULL OR p.due_date IS NULL
                         OR p.due_date <= p.start_date THEN NULL
                    ELSE least(100, greatest(0, round(100.0
                         * (asof - p.start_date)
                         / (p.due_date - p.start_date))))::int END;

    SELECT sum(x.logged)::int AS logged, sum(x.capacity)::int AS capacity
      INTO util
      FROM time_figures(array(SELECT tm.user_id FROM team_members tm
                               WHERE tm.team_id = p.team_id), mon, sun) x;

    RETURN jsonb_build_object(
        'id', p.id, 'key', p.key, 'name', p.name, 'status', p.status,
        'health', h->'health', 'reasons', h->'reasons',
        'top_risks', coalesce((SELECT jsonb_agg(r->>'text' ORDER BY n)
                                 FROM jsonb_array_elements(h->'reasons')
                                      WITH ORDINALITY a (r, n)
                                WHERE n <= 3), '[]'),
        'progress', jsonb_build_object(
            'work_done_pct', (project_json(p)->>'progress')::int,
            'time_elapsed_pct', elapsed,
            'start_date', p.start_date, 'due_date', p.due_date),
        'milestones', jsonb_build_object(
            'done', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                  'name', m.name, 'due_date', m.due_date)
                                  ORDER BY m.due_date)
                                FROM milestones m
                               WHERE m.project_id = p.id
                                 AND m.status = 'achieved'
                                 AND (m.due_date BETWEEN mon AND sun
                                      OR (m.updated_at >= f
                                          AND m.updated_at < t))), '[]'),
            'missed', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                    'name', m.name, 'due_date', m.due_date)
                                    ORDER BY m.due_date)
                                  FROM milestones m
                                 WHERE m.project_id = p.id
                                   AND m.status <> 'achieved'
                                   AND m.due_date <= asof
                                   AND m.due_date < workspace_today()
                                   AND (m.due_date >= mon
                                        OR m.status = 'upcoming')), '[]'),
            'next', coalesce((SELECT jsonb_agg(x ORDER BY x->>'due_date')
                                FROM (SELECT jsonb_build_object(
                                                 'name', m.name,
                                                 'due_date', m.due_date) x
                                        FROM milestones m
                                       WHERE m.project_id = p.id
                                         AND m.status = 'upcoming'
                                         AND m.due_date > asof
                                       ORDER BY m.due_date LIMIT 3) n),
                             '[]')),
        'changes', jsonb_build_object(
            'tasks_created', (SELECT count(*) FROM activity_log a
                               WHERE a.project_id = p.id
                                 AND a.entity_type = 'task'
                                 AND a.action = 'created'
                                 AND a.created_at >= f AND a.created_at < t),
            'tasks_done', (SELECT count(*) FROM tasks k
                            WHERE k.project_id = p.id
                              AND k.completed_at >= f AND k.completed_at < t),
            'writes', (SELECT count(*) FROM activity_log a
                        WHERE a.project_id = p.id
                          AND a.created_at >= f AND a.created_at < t),
            'health', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                    'from', c.previous, 'to', c.health,
                                    'at', c.changed_at) ORDER BY c.id)
                                  FROM project_health_changes c
                                 WHERE c.project_id = p.id
                                   AND c.changed_at >= f
                                   AND c.changed_at < t), '[]')),
        'latest_update', (SELECT project_update_json(u)
                            FROM project_updates u
                           WHERE u.project_id = p.id
                             AND u.created_at < t
                           ORDER BY u.created_at DESC, u.id LIMIT 1),
        'utilisation', jsonb_build_object(
            'logged_minutes', coalesce(util.logged, 0),
            'capacity_minutes', coalesce(util.capacity, 0),
            'rate', CASE WHEN util.capacity > 0
                         THEN round(util.logged::numeric / util.capacity, 4)
                    END));
END
$$;


CREATE FUNCTION portfolio_report_build(mon date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'week', iso_week(mon), 'from', mon, 'to', mon + 6,
        'generated_at', now(),
        'projects', coalesce((SELECT jsonb_agg(
                                  portfolio_report_project(p, mon)
                                  ORDER BY p.due_date NULLS LAST, p.key)
                                FROM projects p
                               WHERE p.status = 'active'), '[]'))
$$;


CREATE FUNCTION portfolio_report_csv(r jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'week,key,name,health,work_done_pct,time_elapsed_pct,'
           || 'milestones_done,milestones_missed,next_milestone,top_risks,'
           || 'tasks_done,utilisation,latest_update' || E'\r\n'
           || coalesce(string_agg(concat_ws(',',
                  csv_cell(r->>'week'), csv_cell(p->>'key'),
                  csv_cell(p->>'name'), csv_cell(p->>'health'),
                  p#>>'{progress,work_done_pct}',
                  coalesce(p#>>'{progress,time_elapsed_pct}', ''),
                  jsonb_array_length(p#>'{milestones,done}'),
                  jsonb_array_length(p#>'{milestones,missed}'),
                  csv_cell(p#>>'{milestones,next,0,name}'),
                  csv_cell((SELECT string_agg(x, '; ')
                              FROM jsonb_array_elements_text(p->'top_risks')
                                   x)),
                  p#>>'{changes,tasks_done}',
                  coalesce(p#>>'{utilisation,rate}', ''),
                  csv_cell(p#>>'{latest_update,text}')) || E'\r\n',
                  '' ORDER BY n), '')
      FROM jsonb_array_elements(r->'projects') WITH ORDINALITY a (p, n)
$$;


-- The week's report, JSON or CSV (Accept: text/csv, or format=csv); a
-- week that has ended is answered from its snapshot, made now if it is
-- the first reading since.
CREATE FUNCTION portfolio_report(wk text, accept text, fmt text)
RETURNS TABLE (status int, body text, extra text, activity bigint,
               type text, filename text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    w      text := coalesce(wk, iso_week(workspace_today()));
    mon    date := iso_week_start(w);
    r      jsonb;
    ended  boolean;
BEGIN
    IF mon IS NULL OR iso_week(mon) <> w
       OR coalesce(fmt, 'json') NOT IN ('json', 'csv')
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'week is an ISO week (YYYY-Www); format is json or csv.',
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF mon > workspace_today() THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'That week has not started yet.',
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    ended := workspace_today() > mon + 6;

    IF ended THEN
        SELECT x.report INTO r FROM portfolio_reports x WHERE x.week = w;

        IF NOT FOUND THEN
            INSERT INTO portfolio_reports (week, report)
            VALUES (w, portfolio_report_build(mon)
                       || jsonb_build_object('frozen', true))
            ON CONFLICT (week) DO NOTHING;

            SELECT x.report INTO r FROM portfolio_reports x WHERE x.week = w;
        END IF;
    ELSE
        r := portfolio_report_build(mon) || jsonb_build_object('frozen', false);
    END IF;

    IF fmt = 'csv' OR (fmt IS NULL AND accept ~* 'text/csv') THEN
        RETURN QUERY SELECT 200, portfolio_report_csv(r), NULL::text,
            NULL::bigint, 'text/csv; charset=utf-8'::text,
            'portfolio-' || w || '.csv';
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, r::text, NULL::text, NULL::bigint, NULL::text,
                        NULL::text;
END
$$;
