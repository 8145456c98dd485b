-- Portfolio: a project's health (issue 19).
--
-- The health is derived from the risk rules (insight_risks, 020, with the
-- people risks below added to it): on_track when no rule fires, at_risk
-- when one or two do, off_track from three. A project manager of the
-- project (can_manage_project) may override it with a note; the override
-- stands until it is deleted.
--
-- A change of health is noticed when a write to the project commits (a
-- deferred trigger on its audit rows; at most once a second a project)
-- and when the health is read (time alone moves it: a milestone becomes
-- overdue overnight). The change is
-- kept (project_health_state, project_health_changes), published as
-- project.health_changed and notified to the project's manager: its
-- owner, or its team's project managers when it has none.
--
-- People risks, rule-based, in the same list as the others:
--   bus_factor   one person holds more than half of the project's open
--                estimated work (a task's estimate split among its
--                assignees), or is the only one in the team with a skill
--                at the level its open tasks require;
--   skills_gap   a skill its open tasks require that nobody in the team
--                has at the needed level.

-- What a task needs of its assignee: a skill at least at this level.
CREATE TABLE task_required_skills (
    task_id   uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    skill_id  uuid NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    level     smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    PRIMARY KEY (task_id, skill_id)
);

CREATE INDEX task_required_skills_skill ON task_required_skills (skill_id);

CREATE TABLE project_health_overrides (
    project_id  uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    health      text NOT NULL
                CHECK (health IN ('on_track', 'at_risk', 'off_track')),
    note        text NOT NULL CHECK (length(note) BETWEEN 1 AND 2000),
    set_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    set_at      timestamptz NOT NULL DEFAULT now()
);

-- The health last seen, to notice its changes.
CREATE TABLE project_health_state (
    project_id  uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    health      text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    checked_at  timestamptz NOT NULL DEFAULT now()   -- by a write, last
);

-- Its changes, the rules that fired with each: a write keeps its one
-- audit row, and the report tells what changed in a week from here.
CREATE TABLE project_health_changes (
    id          bigserial PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    health      text NOT NULL,
    previous    text NOT NULL,
    rules       jsonb NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX project_health_changes_project
    ON project_health_changes (project_id, changed_at);

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assigned', 'mentioned', 'commented', 'approved',
                    'webhook_disabled', 'health_changed'));


-- The people risks of one project, as insight_risks' are.
-- plpgsql, so that each connection plans its query once: it runs as
-- writes to the project commit.
CREATE FUNCTION people_risks(p projects) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    WITH team AS (
             SELECT u.id, u.name FROM team_members tm
               JOIN users u ON u.id = tm.user_id
              WHERE tm.team_id = p.team_id AND u.status = 'active'),
         open AS (
             SELECT t.id, t.estimate_minutes,
                    (SELECT count(*) FROM task_assignees a
                      WHERE a.task_id = t.id) AS assignees
               FROM tasks t
              WHERE t.project_id = p.id AND t.completed_at IS NULL),
         held AS (
             SELECT a.user_id, u.name,
                    round(sum(o.estimate_minutes::numeric / o.assignees))
                        ::int AS minutes
               FROM open o JOIN task_assignees a ON a.task_id = o.id
               JOIN users u ON u.id = a.user_id
              WHERE o.estimate_minutes > 0
              GROUP BY a.user_id, u.name),
         total AS (
             SELECT coalesce(sum(estimate_minutes), 0)::int AS minutes
               FROM open WHERE estimate_minutes > 0),
         holder AS (
             SELECT h.*, round(h.minutes::numeric / total.minutes, 4) AS share
               FROM held h, total
              WHERE total.minutes > 0 AND 2 * h.minutes > total.minutes),
         needed AS (
             SELECT s.id, s.name, max(r.level) AS level,
                    jsonb_agg(DISTINCT p.key || '-' || t.number) AS tasks
               FROM open o JOIN tasks t ON t.id = o.id
               JOIN task_required_skills r ON r.task_id = o.id
               JOIN skills s ON s.id = r.skill_id
              GROUP BY s.id, s.name),
         able AS (
             SELECT n.id, n.name, n.level, n.tasks,
                    coalesce(jsonb_agg(jsonb_build_object(
                        'id', team.id, 'name', team.name, 'level', us.level)
                        ORDER BY team.name) FILTER (WHERE team.id IS NOT NULL),
                        '[]') AS people,
                    count(team.id) AS n
               FROM needed n
               LEFT JOIN user_skills us
                      ON us.skill_id = n.id AND us.level >= n.level
               LEFT JOIN team ON team.id = us.user_id
              WHERE p.team_id IS NOT NULL
              GROUP BY n.id, n.name, n.level, n.tasks)
    SELECT coalesce(jsonb_agg(r) FILTER (WHERE r IS NOT NULL), '[]')
      FROM (SELECT jsonb_build_object('rule', 'bus_factor',
                       'detail', format('%s holds %s%% of the open estimated '
                                        'work', h.name,
                                        round(h.share * 100)),
                       'evidence', jsonb_build_object(
                           'figures', jsonb_build_object(
                               'open_estimate_minutes', total.minutes,
                               'held_minutes', h.minutes,
                               'share', h.share),
                           'people', jsonb_build_array(jsonb_build_object(
                               'id', h.user_id, 'name', h.name))))
              FROM holder h, total
            UNION ALL
            SELECT jsonb_build_object('rule', 'bus_factor',
                       'detail', format('only %s in the team has %s at '
                                        'level %s', a.people->0->>'name',
                                        a.name, a.level),
                       'evidence', jsonb_build_object(
                           'figures', jsonb_build_object(
                               'skill', a.name, 'level', a.level),
                           'skills', jsonb_build_array(jsonb_build_object(
                               'id', a.id, 'name', a.name,
                               'level', a.level)),
                           'people', jsonb_build_array(
                               (a.people->0) - 'level'),
                           'tasks', a.tasks))
              FROM able a WHERE a.n = 1
            UNION ALL
            SELECT jsonb_build_object('rule', 'skills_gap',
                       'detail', format('nobody in the team has %s at '
                                        'level %s', a.name, a.level),
                       'evidence', jsonb_build_object(
                           'figures', jsonb_build_object(
                               'skill', a.name, 'level', a.level),
                           'skills', jsonb_build_array(jsonb_build_object(
                               'id', a.id, 'name', a.name,
                               'level', a.level)),
                           'tasks', a.tasks))
              FROM able a WHERE a.n = 0) AS rules (r));
END
$$;


-- The risk rules have one definition still: the rules of the work (020)
-- and the people's. The callers (project_risks, insight_digest) name
-- insight_risks, so they get both.
ALTER FUNCTION insight_risks(projects) RENAME TO work_risks;

CREATE FUNCTION insight_risks(p projects) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT work_risks(p) || people_risks(p)
$$;


-- The health the rules give.
CREATE FUNCTION health_of_reasons(n int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n = 0 THEN 'on_track'
                WHEN n <= 2 THEN 'at_risk'
                ELSE 'off_track' END
$$;

-- {health, derived_health, reasons: [{rule, text, evidence}], override?}
-- The rules run once (plpgsql: a SQL function's CTE could be inlined and
-- run them again for each use).
CREATE FUNCTION project_health_json(p projects) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    risks    jsonb := insight_risks(p);
    derived  text := health_of_reasons(jsonb_array_length(risks));
    o        project_health_overrides;
BEGIN
    SELECT * INTO o FROM project_health_overrides WHERE project_id = p.id;

    RETURN jsonb_build_object(
               'project_id', p.id,
               'health', coalesce(o.health, derived),
               'derived_health', derived,
               'reasons', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'rule', x->>'rule', 'text', x->>'detail',
                              'evidence', x->'evidence'))
                     FROM jsonb_array_elements(risks) x), '[]'))
           || CASE WHEN o.project_id IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('override', jsonb_build_object(
                            'health', o.health, 'note', o.note,
                            'set_by', (SELECT jsonb_build_object(
                                                  'id', u.id, 'name', u.name)
                                         FROM users u WHERE u.id = o.set_by),
                            'set_at', o.set_at)) END;
END
$$;


-- Who is told of a change: the owner, else the team's project managers.
CREATE FUNCTION project_managers(p projects) RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p.owner_id IS NOT NULL THEN ARRAY[p.owner_id]
                ELSE coalesce((
                    SELECT array_agg(u.id ORDER BY u.id)
                      FROM team_members tm JOIN users u ON u.id = tm.user_id
                     WHERE tm.team_id = p.team_id
                       AND u.role = 'project_manager'
                       AND u.status = 'active'), '{}') END
$$;


-- The project's health now; a change from the one last seen is recorded,
-- published and notified (not to the actor whose write or override made
-- it; NULL when time alone did). The first sight of a project is no
-- change.
CREATE FUNCTION project_health_check(pid uuid, actor uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    p    projects;
    h    jsonb;
    old  text;
    m    uuid;
BEGIN
    SELECT * INTO p FROM projects WHERE id = pid;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    h := project_health_json(p);

    -- no lock while nothing changes: writes to a project do not queue
    -- here; of two that see the same change, the update tells one
    SELECT s.health INTO old FROM project_health_state s
     WHERE s.project_id = pid;

    IF NOT FOUND THEN
        INSERT INTO project_health_state (project_id, health)
        VALUES (pid, h->>'health')
        ON CONFLICT (project_id) DO NOTHING;
        RETURN h;
    END IF;

    IF old = h->>'health' THEN
        RETURN h;
    END IF;

    UPDATE project_health_state SET health = h->>'health', changed_at = now()
     WHERE project_id = pid AND health = old;

    IF NOT FOUND THEN
        RETURN h;
    END IF;

    INSERT INTO project_health_changes (project_id, health, previous, rules)
    VALUES (pid, h->>'health', old,
            (SELECT coalesce(jsonb_agg(x->'rule'), '[]')
               FROM jsonb_array_elements(h->'reasons') x));

    PERFORM event_add(NULL, 'project.health_changed', pid, NULL, true,
                      h || jsonb_build_object('previous', old,
                                              'project', jsonb_build_object(
                                                  'id', p.id, 'key', p.key,
                                                  'name', p.name)));

    FOREACH m IN ARRAY project_managers(p) LOOP
        PERFORM notification_add(m, 'health_changed', actor, NULL,
                                 jsonb_build_object(
                                     'project_id', p.id,
                                     'project_key', p.key,
                                     'project_name', p.name,
                                     'from', old, 'to', h->>'health'));
    END LOOP;

    RETURN h;
END
$$;


-- Once per project and transaction, as the transaction commits: after
-- all its writes, so the health is the one they leave. Only the writes
-- the rules read (tasks, milestones, the project) are looked at; time
-- logged is seen when the health is next read.
CREATE FUNCTION activity_log_health() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    seen  text := coalesce(current_setting('kanban.health_seen', true), '');
BEGIN
    IF strpos(seen, NEW.project_id::text) > 0 THEN
        RETURN NULL;
    END IF;

    PERFORM set_config('kanban.health_seen',
                       seen || ' ' || NEW.project_id::text, true);

    -- the rules take tens of milliseconds on a large project: a burst of
    -- writes (a board's moves, an import) is checked once a second; a
    -- change it makes in between is seen by the next write or read
    UPDATE project_health_state SET checked_at = clock_timestamp()
     WHERE project_id = NEW.project_id
       AND checked_at < clock_timestamp() - interval '1 second';

    IF NOT FOUND AND EXISTS (SELECT 1 FROM project_health_state
                              WHERE project_id = NEW.project_id)
    THEN
        RETURN NULL;
    END IF;
    -- a writer is not told of the change their own write made
    PERFORM project_health_check(NEW.project_id, NEW.actor_id);

    RETURN NULL;
END
$$;

-- zzz: after the audit row's own event (zz_), which made the change
CREATE CONSTRAINT TRIGGER zzz_activity_log_health
    AFTER INSERT ON activity_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.project_id IS NOT NULL
          AND NEW.entity_type IN ('task', 'milestone', 'project'))
    EXECUTE FUNCTION activity_log_health();


-- A manager's override; 403 for others.
CREATE FUNCTION project_health_override(actor uuid, role text, pid uuid,
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
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the team''s project managers set its health.';
        RETURN;
    END IF;

    IF b IS NOT NULL THEN
        IF NOT coalesce(b->>'health' IN ('on_track', 'at_risk', 'off_track'),
                        false)
        THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'health is on_track, at_risk or off_track.';
            RETURN;
        END IF;

        INSERT INTO project_health_overrides AS o (project_id, health, note,
                                                   set_by)
        VALUES (pid, b->>'health', b->>'note', actor)
        ON CONFLICT (project_id) DO UPDATE
           SET health = EXCLUDED.health, note = EXCLUDED.note,
               set_by = EXCLUDED.set_by, set_at = now();
    ELSE
        DELETE FROM project_health_overrides WHERE project_id = pid;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'project', pid,
            CASE WHEN b IS NULL THEN 'health_override_removed'
                 ELSE 'health_overridden' END,
            b);

    RETURN QUERY SELECT 200, project_health_check(pid, actor)::text,
                        NULL::text;
END
$$;


-- Webhooks may ask for the change of health by its name.
CREATE OR REPLACE FUNCTION webhook_event_types() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['task.created', 'task.updated', 'task.moved',
                 'task.deleted', 'comment.created', 'project.created',
                 'project.updated', 'project.deleted', 'milestone.updated',
                 'timesheet.submitted', 'timesheet.approved',
                 'share_link.visited', 'insight.generated',
                 'project.health_changed', '*']
$$;
