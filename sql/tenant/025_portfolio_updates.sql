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
