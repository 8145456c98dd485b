-- Rules: per project, "when this happens, if this holds, do that".
--
-- A rule is evaluated in the transaction of the write that sets it off,
-- by triggers on what every write path already leaves behind: a task's
-- audit row (created, moved, updated: the task API, imports, templates,
-- GitHub's moves), a time entry (logged over the estimate) and a pull
-- request's link turning merged (modules/github). Nothing is lost
-- between the write and the rule: both commit, or neither.
--
-- rules_fire(trigger, task, detail) is the one evaluation every trigger
-- calls. The due-date triggers (due_soon, overdue) are accepted when a
-- rule is saved, and fire when the reminder sweep calls
-- rules_fire('due_soon', task, {"days_left": n}) or
-- rules_fire('overdue', task, '{}'); until it does, they never fire.
--
-- A run's actions each run in a subtransaction: a failing one (a full
-- column, a disabled webhook) is rolled back alone and recorded in the
-- run (rule_runs, readable by the API), and the write that set it off
-- still commits. Every run is an audit row of the task, as the rule's
-- (no person; via 'Rule: <name>'), and so is each change it makes.
--
-- Loops: a rule's own changes set off rules again (a move is a move),
-- but at most rules_depth_cap levels deep (a run past it is recorded as
-- skipped), and a rule whose actions could set itself off again, through
-- any chain of the project's enabled rules, is refused when saved.

CREATE TABLE rules (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    enabled     boolean NOT NULL DEFAULT true,
    trigger     jsonb NOT NULL CHECK (jsonb_typeof(trigger) = 'object'),
    conditions  jsonb NOT NULL DEFAULT '[]'
                CHECK (jsonb_typeof(conditions) = 'array'),
    actions     jsonb NOT NULL CHECK (jsonb_typeof(actions) = 'array'),
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

CREATE INDEX rules_project ON rules (project_id, (trigger->>'type'))
    WHERE enabled;

CREATE TABLE rule_runs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigserial NOT NULL,
    rule_id     uuid NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    task_id     uuid REFERENCES tasks (id) ON DELETE SET NULL,
    trigger     text NOT NULL,
    status      text NOT NULL
                CHECK (status IN ('succeeded', 'failed', 'skipped')),
    depth       integer NOT NULL,
    actions     jsonb NOT NULL DEFAULT '[]',
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX rule_runs_rule ON rule_runs (rule_id, seq);
CREATE INDEX rule_runs_project ON rule_runs (project_id, seq);

-- a rule's notice to people
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assigned', 'mentioned', 'commented', 'approved',
                    'webhook_disabled', 'health_changed', 'update_due',
                    'due_soon', 'overdue', 'reminder', 'rule'));

CREATE OR REPLACE FUNCTION mail_notification_kinds() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['assigned', 'mentioned', 'commented', 'approved',
                 'webhook_disabled', 'health_changed', 'update_due',
                 'due_soon', 'overdue', 'reminder', 'rule']
$$;


-- How deep rules may set off rules: a person's write is 0.
CREATE FUNCTION rules_depth_cap() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 5 $$;

CREATE FUNCTION rule_trigger_types() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['task_created', 'task_moved', 'label_added',
                 'subtasks_done', 'time_over_estimate',
                 'pull_request_merged', 'due_soon', 'overdue']
$$;


CREATE FUNCTION rule_json(r rules) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', r.id, 'project_id', r.project_id, 'name', r.name,
               'enabled', r.enabled, 'trigger', r.trigger,
               'conditions', r.conditions, 'actions', r.actions,
               'created_by', r.created_by, 'created_at', r.created_at,
               'updated_at', r.updated_at, 'version', r.version)
$$;

CREATE FUNCTION rule_run_json(x rule_runs) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', x.id, 'rule_id', x.rule_id,
               'rule_name', (SELECT name FROM rules WHERE id = x.rule_id),
               'task_id', x.task_id,
               'task_key', (SELECT p.key || '-' || t.number FROM tasks t
                              JOIN projects p ON p.id = t.project_id
                             WHERE t.id = x.task_id),
               'trigger', x.trigger, 'status', x.status, 'depth', x.depth,
               'actions', x.actions, 'error', x.error,
               'created_at', x.created_at)
$$;


-- What a task is, for conditions: its row, its column's category, its
-- assignees.
CREATE FUNCTION rule_task_facts(t tasks) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(t) || jsonb_build_object(
               'category', (SELECT category FROM columns
                             WHERE id = t.column_id),
               'assignee_ids', coalesce((SELECT jsonb_agg(a.user_id)
                   FROM task_assignees a WHERE a.task_id = t.id), '[]'),
               'is_subtask', t.parent_id IS NOT NULL)
$$;


-- Whether one condition holds of a task's facts: {field, op, value}.
-- Numbers and dates compare as such; contains looks into a list (labels,
-- assignees) or, case aside, into a text.
CREATE FUNCTION rule_condition_holds(f jsonb, c jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(CASE c->>'op'
        WHEN 'eq' THEN f->>(c->>'field') = c->>'value'
        WHEN 'ne' THEN f->>(c->>'field') IS DISTINCT FROM c->>'value'
        WHEN 'contains' THEN CASE jsonb_typeof(f->(c->>'field'))
            WHEN 'array' THEN f->(c->>'field') ? (c->>'value')
            ELSE strpos(lower(f->>(c->>'field')), lower(c->>'value')) > 0 END
        WHEN 'not_contains' THEN NOT coalesce(CASE jsonb_typeof(f->(c->>'field'))
            WHEN 'array' THEN f->(c->>'field') ? (c->>'value')
            ELSE strpos(lower(f->>(c->>'field')), lower(c->>'value')) > 0 END,
            false)
        WHEN 'gt' THEN CASE WHEN jsonb_typeof(f->(c->>'field')) = 'number'
            THEN (f->>(c->>'field'))::numeric > (c->>'value')::numeric
            ELSE f->>(c->>'field') > c->>'value' END
        WHEN 'lt' THEN CASE WHEN jsonb_typeof(f->(c->>'field')) = 'number'
            THEN (f->>(c->>'field'))::numeric < (c->>'value')::numeric
            ELSE f->>(c->>'field') < c->>'value' END
        WHEN 'empty' THEN coalesce(f->(c->>'field'), 'null')
                          IN ('null', '[]', '""', '{}')
        WHEN 'not_empty' THEN coalesce(f->(c->>'field'), 'null')
                              NOT IN ('null', '[]', '""', '{}')
        END, false)
$$;


-- Whether a rule's trigger is this happening: its type, and what it
-- names (a column, a category, a label, days before the due date).
CREATE FUNCTION rule_trigger_matches(tr jsonb, f jsonb, detail jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE tr->>'type'
        WHEN 'task_moved' THEN
            (tr->>'column_id' IS NULL OR tr->>'column_id' = f->>'column_id')
            AND (tr->>'category' IS NULL OR tr->>'category' = f->>'category')
        WHEN 'label_added' THEN
            tr->>'label' IS NULL OR tr->>'label' = detail->>'label'
        WHEN 'due_soon' THEN
            coalesce((detail->>'days_left')::int
                     <= coalesce((tr->>'days')::int, 1), false)
        ELSE true END
$$;


-- The one evaluation: the project's enabled rules of this trigger whose
-- filter and conditions hold of the task run, oldest first. The number
-- of runs. Called by the triggers below and by whoever else sees a
-- trigger happen (the reminder sweep: due_soon, overdue).
--
-- The rules are matched in one query, against the task as the trigger
-- found it; once one has run (and may have changed the task), the next
-- one's conditions are checked again against the task as it is.
CREATE FUNCTION rules_fire(trig text, tid uuid, detail jsonb DEFAULT '{}')
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t      tasks;
    r      rules;
    f      jsonb;
    now_f  jsonb;
    n      integer := 0;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = tid;
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM rules
                                 WHERE project_id = t.project_id AND enabled
                                   AND trigger->>'type' = trig)
    THEN
        RETURN 0;
    END IF;

    f := rule_task_facts(t);
    detail := coalesce(detail, '{}');

    FOR r IN SELECT * FROM rules x
              WHERE x.project_id = t.project_id AND x.enabled
                AND x.trigger->>'type' = trig
                AND rule_trigger_matches(x.trigger, f, detail)
                AND NOT EXISTS (SELECT 1
                                  FROM jsonb_array_elements(x.conditions) c
                                 WHERE NOT rule_condition_holds(f, c))
              ORDER BY x.created_at, x.id
    LOOP
        IF n > 0 THEN
            SELECT * INTO t FROM tasks WHERE id = tid;
            EXIT WHEN NOT FOUND;
            now_f := rule_task_facts(t);
            CONTINUE WHEN EXISTS (SELECT 1
                                    FROM jsonb_array_elements(r.conditions) c
                                   WHERE NOT rule_condition_holds(now_f, c));
        END IF;

        PERFORM rule_run(r, t, trig);
        n := n + 1;
    END LOOP;

    RETURN n;
END
$$;


-- One run of a rule on a task: each action in a subtransaction of its
-- own, the run recorded with what each did, and an audit row as the
-- rule's. Past the depth cap it only records that it was skipped.
CREATE FUNCTION rule_run(r rules, t tasks, trig text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    depth    integer := coalesce(nullif(current_setting('kanban.rule_depth',
                                                        true), ''), '0')::int;
    a        jsonb;
    results  jsonb := '[]';
    failed   boolean := false;
    why      text;
    st       text;
BEGIN
    IF depth >= rules_depth_cap() THEN
        INSERT INTO rule_runs (rule_id, project_id, task_id, trigger, status,
                               depth, error)
        VALUES (r.id, t.project_id, t.id, trig, 'skipped', depth,
                'Rules set off rules ' || depth
                || ' levels deep: this run stopped there.');
        RETURN;
    END IF;

    PERFORM set_config('kanban.rule_depth', (depth + 1)::text, true);

    FOR a IN SELECT * FROM jsonb_array_elements(r.actions) LOOP
        BEGIN
            PERFORM rule_action(r, t.id, a);
            results := results || jsonb_build_object('type', a->>'type',
                                                     'ok', true);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS why = MESSAGE_TEXT;
            failed := true;
            results := results || jsonb_build_object('type', a->>'type',
                                                     'ok', false,
                                                     'error', why);
        END;
    END LOOP;

    PERFORM set_config('kanban.rule_depth', depth::text, true);

    st := CASE WHEN failed THEN 'failed' ELSE 'succeeded' END;

    INSERT INTO rule_runs (rule_id, project_id, task_id, trigger, status,
                           depth, actions)
    VALUES (r.id, t.project_id, t.id, trig, st, depth, results);

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values, via)
    VALUES (NULL, t.project_id, 'task', t.id, 'rule_ran',
            jsonb_build_object('rule_id', r.id, 'rule_name', r.name,
                               'trigger', trig, 'status', st,
                               'actions', results),
            'Rule: ' || r.name);
END
$$;


-- A change the rule makes to a task, in the audit trail as the rule's.
CREATE FUNCTION rule_task_changed(r rules, old tasks, action text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t  tasks;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = old.id;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values, via)
    VALUES (NULL, t.project_id, 'task', t.id, action,
            CASE WHEN action = 'moved'
                 THEN jsonb_build_object('column_id', old.column_id,
                                         'rank', old.rank)
                 ELSE task_json(old) END,
            CASE WHEN action = 'moved'
                 THEN jsonb_build_object('column_id', t.column_id,
                                         'rank', t.rank,
                                         'category', (SELECT category
                                             FROM columns
                                            WHERE id = t.column_id),
                                         'rule_id', r.id)
                 ELSE task_json(t) END,
            'Rule: ' || r.name);
END
$$;


-- One action; an error raised here fails this action alone.
CREATE FUNCTION rule_action(r rules, tid uuid, a jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    old   tasks;
    col   columns;
    lo    text;
    cid   uuid;
    w     webhooks;
    uid   uuid;
    x     jsonb;
    n     int;
BEGIN
    SELECT * INTO old FROM tasks WHERE id = tid FOR UPDATE;

    CASE a->>'type'
    WHEN 'move' THEN
        SELECT * INTO col FROM columns
         WHERE id = (a->>'column_id')::uuid AND project_id = old.project_id
           FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'The column is no longer in the project.';
        END IF;
        IF old.column_id = col.id THEN
            RETURN;
        END IF;
        IF col.wip_limit IS NOT NULL
           AND (SELECT count(*) FROM tasks WHERE column_id = col.id)
               >= col.wip_limit
        THEN
            RAISE EXCEPTION 'The column "%" is at its WIP limit (%).',
                            col.name, col.wip_limit;
        END IF;

        SELECT max(rank) INTO lo FROM tasks WHERE column_id = col.id;
        UPDATE tasks SET
            column_id = col.id, rank = rank_between(lo, NULL),
            completed_at = CASE WHEN col.category = 'done'
                                THEN coalesce(completed_at, now()) END,
            version = version + 1, updated_at = now()
         WHERE id = tid;
        PERFORM rule_task_changed(r, old, 'moved');

    WHEN 'assign' THEN
        INSERT INTO task_assignees (task_id, user_id)
        SELECT tid, u.id FROM users u
         WHERE u.id = (a->>'user_id')::uuid AND u.status = 'active'
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 AND NOT EXISTS (SELECT 1 FROM task_assignees
                                  WHERE task_id = tid
                                    AND user_id = (a->>'user_id')::uuid)
        THEN
            RAISE EXCEPTION 'The person to assign is not an active member.';
        END IF;
        IF n > 0 THEN
            UPDATE tasks SET version = version + 1, updated_at = now()
             WHERE id = tid;
            PERFORM rule_task_changed(r, old, 'updated');
        END IF;

    WHEN 'label' THEN
        IF NOT (a->>'label') = ANY (old.labels) THEN
            UPDATE tasks SET labels = labels || (a->>'label'),
                             version = version + 1, updated_at = now()
             WHERE id = tid;
            PERFORM rule_task_changed(r, old, 'updated');
        END IF;

    WHEN 'set_priority' THEN
        IF old.priority <> a->>'priority' THEN
            UPDATE tasks SET priority = a->>'priority',
                             version = version + 1, updated_at = now()
             WHERE id = tid;
            PERFORM rule_task_changed(r, old, 'updated');
        END IF;

    WHEN 'comment' THEN
        INSERT INTO comments (task_id, author_id, body)
        VALUES (tid, NULL, a->>'body') RETURNING id INTO cid;
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, new_values, via)
        SELECT NULL, old.project_id, 'comment', c.id, 'created', to_jsonb(c),
               'Rule: ' || r.name
          FROM comments c WHERE c.id = cid;

    WHEN 'create_subtasks' THEN
        FOR x IN SELECT * FROM jsonb_array_elements(a->'titles') LOOP
            UPDATE projects SET next_task_number = next_task_number + 1
             WHERE id = old.project_id
            RETURNING next_task_number - 1 INTO n;

            SELECT max(rank) INTO lo FROM tasks WHERE column_id = old.column_id;

            INSERT INTO tasks (project_id, number, parent_id, title,
                               column_id, rank, completed_at)
            VALUES (old.project_id, n, tid, x #>> '{}', old.column_id,
                    rank_between(lo, NULL), old.completed_at)
            RETURNING id INTO cid;

            INSERT INTO activity_log (actor_id, project_id, entity_type,
                                      entity_id, action, new_values, via)
            SELECT NULL, old.project_id, 'task', t.id, 'created',
                   task_json(t), 'Rule: ' || r.name
              FROM tasks t WHERE t.id = cid;
        END LOOP;

    WHEN 'notify' THEN
        FOR uid IN
            SELECT DISTINCT u FROM (
                SELECT user_id u FROM task_assignees
                 WHERE task_id = tid AND a->>'to' = 'assignees'
                UNION ALL
                SELECT old.reporter_id WHERE a->>'to' = 'reporter'
                UNION ALL
                -- a member's id (CASE: never cast before the test)
                SELECT CASE WHEN a->>'to' ~ '^[0-9a-fA-F-]{36}$'
                            THEN (a->>'to')::uuid END) s
             WHERE u IS NOT NULL
        LOOP
            PERFORM notification_add(uid, 'rule', NULL, tid,
                jsonb_build_object('rule_id', r.id, 'rule_name', r.name,
                                   'message', coalesce(a->>'message',
                                                       r.name)));
        END LOOP;

    WHEN 'webhook' THEN
        SELECT * INTO w FROM webhooks WHERE id = (a->>'webhook_id')::uuid;
        IF NOT FOUND OR NOT w.enabled THEN
            RAISE EXCEPTION 'The webhook is gone or turned off.';
        END IF;
        PERFORM webhook_enqueue(w.id, NULL, 'rule.fired',
            jsonb_build_object('rule', jsonb_build_object('id', r.id,
                                                          'name', r.name),
                               'task', task_json(t))
            , now())
          FROM tasks t WHERE t.id = tid;

    ELSE
        RAISE EXCEPTION 'Unknown action "%".', a->>'type';
    END CASE;
END
$$;


-- What sets rules off: a task's audit rows (created, moved, a label
-- added), a subtask's move that leaves none of its siblings open.
CREATE FUNCTION activity_log_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t   tasks;
    l   text;
BEGIN
    -- the common case: a project without rules costs one index probe
    IF NOT EXISTS (SELECT 1 FROM rules
                    WHERE project_id = NEW.project_id AND enabled)
    THEN
        RETURN NULL;
    END IF;

    IF NEW.action = 'created' THEN
        PERFORM rules_fire('task_created', NEW.entity_id, '{}');

    ELSIF NEW.action = 'moved' THEN
        PERFORM rules_fire('task_moved', NEW.entity_id,
            jsonb_build_object('from_column_id',
                               NEW.old_values->>'column_id'));

        SELECT * INTO t FROM tasks WHERE id = NEW.entity_id;
        IF t.parent_id IS NOT NULL
           AND (SELECT category FROM columns WHERE id = t.column_id) = 'done'
           AND NOT EXISTS (SELECT 1 FROM tasks s
                             JOIN columns c ON c.id = s.column_id
                            WHERE s.parent_id = t.parent_id
                              AND c.category <> 'done')
        THEN
            PERFORM rules_fire('subtasks_done', t.parent_id, '{}');
        END IF;

    ELSIF NEW.action = 'updated'
          AND NEW.old_values->'labels' IS DISTINCT FROM
              NEW.new_values->'labels'
    THEN
        FOR l IN SELECT * FROM jsonb_array_elements_text(
                     coalesce(NEW.new_values->'labels', '[]'))
                  WHERE NOT coalesce(NEW.old_values->'labels', '[]')
                            ? value
        LOOP
            PERFORM rules_fire('label_added', NEW.entity_id,
                               jsonb_build_object('label', l));
        END LOOP;
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER activity_log_rules
    AFTER INSERT ON activity_log
    FOR EACH ROW
    WHEN (NEW.entity_type = 'task'
          AND NEW.action IN ('created', 'moved', 'updated'))
    EXECUTE FUNCTION activity_log_rules();


-- Time logged on a task that passes its estimate (once: the entry that
-- crosses it).
CREATE FUNCTION time_entries_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t      tasks;
    total  bigint;
    added  integer;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = NEW.task_id;
    IF NOT FOUND OR t.estimate_minutes IS NULL
       OR NOT EXISTS (SELECT 1 FROM rules
                       WHERE project_id = t.project_id AND enabled
                         AND trigger->>'type' = 'time_over_estimate')
    THEN
        RETURN NULL;
    END IF;

    added := NEW.minutes - CASE WHEN TG_OP = 'UPDATE'
                                     AND OLD.task_id = NEW.task_id
                                THEN OLD.minutes ELSE 0 END;

    SELECT sum(minutes) INTO total FROM time_entries WHERE task_id = t.id;

    IF added > 0 AND total > t.estimate_minutes
       AND total - added <= t.estimate_minutes
    THEN
        PERFORM rules_fire('time_over_estimate', t.id,
                           jsonb_build_object('logged_minutes', total));
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER time_entries_rules
    AFTER INSERT OR UPDATE OF minutes, task_id ON time_entries
    FOR EACH ROW
    WHEN (NEW.task_id IS NOT NULL)
    EXECUTE FUNCTION time_entries_rules();


-- A pull request that names the task merged (GitHub's link).
CREATE FUNCTION task_links_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM 'merged' THEN
        PERFORM rules_fire('pull_request_merged', NEW.task_id,
                           jsonb_build_object('url', NEW.url));
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER task_links_rules
    AFTER INSERT OR UPDATE OF state ON task_links
    FOR EACH ROW
    WHEN (NEW.kind = 'pull_request' AND NEW.state = 'merged')
    EXECUTE FUNCTION task_links_rules();


-- Whether an action can set off a rule: a move, moves (and may finish a
-- parent's subtasks); a label, adds one; subtasks are created, unless the
-- rule is for top-level tasks only (its condition is_subtask false).
CREATE FUNCTION rule_action_sets_off(a jsonb, tr jsonb, conds jsonb)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE tr->>'type'
        WHEN 'task_moved' THEN a->>'type' = 'move'
            AND (tr->>'column_id' IS NULL
                 OR tr->>'column_id' = a->>'column_id')
            AND (tr->>'category' IS NULL
                 OR tr->>'category' = (SELECT category FROM columns
                                        WHERE id::text = a->>'column_id'))
        WHEN 'label_added' THEN a->>'type' = 'label'
            AND (tr->>'label' IS NULL OR tr->>'label' = a->>'label')
        WHEN 'task_created' THEN a->>'type' = 'create_subtasks'
            AND NOT conds @> '[{"field": "is_subtask", "op": "eq",
                                "value": "false"}]'
            AND NOT conds @> '[{"field": "is_subtask", "op": "ne",
                                "value": "true"}]'
        WHEN 'subtasks_done' THEN a->>'type' = 'move'
            AND (SELECT category FROM columns
                  WHERE id::text = a->>'column_id') = 'done'
        ELSE false END
$$;

CREATE FUNCTION rule_sets_off(acts jsonb, tr jsonb, conds jsonb)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(acts) a
                    WHERE rule_action_sets_off(a, tr, conds))
$$;


-- The chain by which rule me (as it would be saved) sets itself off
-- again through the project's enabled rules ("A → B → A"), or NULL.
-- Conditions other than is_subtask are not weighed: a loop that only
-- the data would break is still a loop.
CREATE FUNCTION rule_cycle(pid uuid, me uuid, nm text, tr jsonb,
                           conds jsonb, acts jsonb)
RETURNS text
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE g AS (
        SELECT id, name, trigger, conditions, actions FROM rules
         WHERE project_id = pid AND enabled AND id <> me
        UNION ALL
        SELECT me, nm, tr, conds, acts),
    walk (id, path, names) AS (
        SELECT g.id, ARRAY[g.id], ARRAY[nm, g.name] FROM g
         WHERE rule_sets_off(acts, g.trigger, g.conditions)
        UNION ALL
        SELECT n.id, w.path || n.id, w.names || n.name
          FROM walk w
          JOIN g c ON c.id = w.id
          JOIN g n ON rule_sets_off(c.actions, n.trigger, n.conditions)
         WHERE w.id <> me AND NOT n.id = ANY (w.path))
    SELECT array_to_string(names, ' → ') FROM walk WHERE id = me LIMIT 1
$$;


-- Why a rule's trigger, conditions and actions are not valid in project
-- pid, or NULL. The shapes are the route's; this checks what only the
-- data can say.
CREATE FUNCTION rule_problem(pid uuid, tr jsonb, conds jsonb, acts jsonb)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        CASE
        WHEN NOT coalesce(tr->>'type' = ANY (rule_trigger_types()), false)
            THEN 'trigger.type: one of ' || array_to_string(
                     rule_trigger_types(), ', ')
        WHEN tr ? 'column_id' AND tr->>'column_id' IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM columns
                              WHERE id::text = tr->>'column_id'
                                AND project_id = pid)
            THEN 'trigger.column_id: not a column of this project'
        WHEN tr->>'category' IS NOT NULL AND tr->>'category' NOT IN
             ('backlog', 'todo', 'in_progress', 'review', 'done')
            THEN 'trigger.category: one of backlog, todo, in_progress, review, done'
        END,
        (SELECT 'conditions[' || (o - 1) || ']: ' || CASE
            WHEN NOT coalesce(c->>'field' IN ('title', 'description',
                     'priority', 'labels', 'assignee_ids', 'reporter_id',
                     'column_id', 'category', 'swimlane_id', 'due_date',
                     'start_date', 'estimate_minutes', 'blocked',
                     'is_subtask', 'milestone_id', 'sprint_id'), false)
                THEN 'field: not a field rules know'
            WHEN NOT coalesce(c->>'op' IN ('eq', 'ne', 'contains',
                     'not_contains', 'gt', 'lt', 'empty', 'not_empty'),
                     false)
                THEN 'op: one of eq, ne, contains, not_contains, gt, lt, empty, not_empty'
            WHEN c->>'op' NOT IN ('empty', 'not_empty')
                 AND c->>'value' IS NULL
                THEN 'value: required for ' || (c->>'op')
            WHEN c->>'op' IN ('gt', 'lt') AND c->>'field' = 'estimate_minutes'
                 AND c->>'value' !~ '^-?\d{1,9}$'
                THEN 'value: a whole number'
            END
           FROM jsonb_array_elements(conds) WITH ORDINALITY x (c, o)
          WHERE NOT coalesce(c->>'field' IN ('title', 'description',
                     'priority', 'labels', 'assignee_ids', 'reporter_id',
                     'column_id', 'category', 'swimlane_id', 'due_date',
                     'start_date', 'estimate_minutes', 'blocked',
                     'is_subtask', 'milestone_id', 'sprint_id'), false)
             OR NOT coalesce(c->>'op' IN ('eq', 'ne', 'contains',
                     'not_contains', 'gt', 'lt', 'empty', 'not_empty'),
                     false)
             OR (c->>'op' NOT IN ('empty', 'not_empty')
                 AND c->>'value' IS NULL)
             OR (c->>'op' IN ('gt', 'lt') AND c->>'field' = 'estimate_minutes'
                 AND c->>'value' !~ '^-?\d{1,9}$')
          ORDER BY o LIMIT 1),
        (SELECT 'actions[' || (o - 1) || ']: ' || CASE a->>'type'
            WHEN 'move' THEN 'column_id: not a column of this project'
            WHEN 'assign' THEN 'user_id: not an active member'
            WHEN 'label' THEN 'label: 1 to 100 characters'
            WHEN 'set_priority' THEN 'priority: one of low, medium, high, urgent'
            WHEN 'comment' THEN 'body: 1 to 20000 characters'
            WHEN 'create_subtasks' THEN 'titles: 1 to 50 titles of 1 to 500 characters'
            WHEN 'notify' THEN 'to: assignees, reporter or a member''s id'
            WHEN 'webhook' THEN 'webhook_id: not a webhook of this workspace'
            ELSE 'type: one of move, assign, label, set_priority, comment, create_subtasks, notify, webhook'
            END
           FROM jsonb_array_elements(acts) WITH ORDINALITY x (a, o)
          WHERE NOT CASE a->>'type'
            WHEN 'move' THEN EXISTS (SELECT 1 FROM columns
                              WHERE id::text = a->>'column_id'
                                AND project_id = pid)
            WHEN 'assign' THEN EXISTS (SELECT 1 FROM users
                              WHERE id::text = a->>'user_id'
                                AND status = 'active')
            WHEN 'label' THEN coalesce(length(a->>'label') BETWEEN 1 AND 100,
                                       false)
            WHEN 'set_priority' THEN coalesce(a->>'priority' IN
                              ('low', 'medium', 'high', 'urgent'), false)
            WHEN 'comment' THEN coalesce(length(a->>'body') BETWEEN 1
                                         AND 20000, false)
            WHEN 'create_subtasks' THEN
                coalesce(jsonb_array_length(a->'titles') BETWEEN 1 AND 50,
                         false)
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(
                                    a->'titles') ti
                                 WHERE jsonb_typeof(ti) <> 'string'
                                    OR length(ti #>> '{}')
                                       NOT BETWEEN 1 AND 500)
            WHEN 'notify' THEN coalesce(a->>'to' IN ('assignees', 'reporter'),
                                        false)
                OR EXISTS (SELECT 1 FROM users
                            WHERE id::text = a->>'to' AND status = 'active')
            WHEN 'webhook' THEN EXISTS (SELECT 1 FROM webhooks
                              WHERE id::text = a->>'webhook_id')
            ELSE false END
          ORDER BY o LIMIT 1))
$$;


CREATE FUNCTION rules_list(pid uuid) RETURNS TABLE (status int, body text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object(
               'items', coalesce((SELECT jsonb_agg(rule_json(r)
                                      ORDER BY r.created_at, r.id)
                                    FROM rules r WHERE r.project_id = pid),
                                 '[]'),
               'next_cursor', NULL)::text
     WHERE EXISTS (SELECT 1 FROM projects WHERE id = pid)
$$;


-- Saves a rule (a new one when rid is NULL), after its rights, its data
-- and its loops are checked.
CREATE FUNCTION rule_save(actor uuid, role text, pid uuid, rid uuid,
                          b jsonb, expected int)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p      projects;
    old    rules;
    r      rules;
    why    text;
BEGIN
    IF rid IS NOT NULL THEN
        SELECT * INTO old FROM rules WHERE id = rid FOR UPDATE;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 404, 'not_found', NULL::text;
            RETURN;
        END IF;
        pid := old.project_id;
    END IF;

    -- one project's rules are saved one at a time: two that close a loop
    -- together cannot both pass the check
    SELECT * INTO p FROM projects WHERE id = pid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, p.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the team''s project managers change its rules.';
        RETURN;
    END IF;

    IF expected IS NOT NULL AND old.version <> expected THEN
        RETURN QUERY SELECT 409, 'version_conflict',
                            'The rule was changed meanwhile.';
        RETURN;
    END IF;

    r.id := coalesce(old.id, gen_random_uuid());
    r.project_id := pid;
    r.name := coalesce(b->>'name', old.name);
    r.enabled := coalesce((b->>'enabled')::boolean, old.enabled, true);
    r.trigger := coalesce(b->'trigger', old.trigger);
    r.conditions := coalesce(b->'conditions', old.conditions, '[]');
    r.actions := coalesce(b->'actions', old.actions);

    why := rule_problem(pid, r.trigger, r.conditions, r.actions);
    IF why IS NULL AND r.enabled THEN
        why := rule_cycle(pid, r.id, r.name, r.trigger, r.conditions,
                          r.actions);
        IF why IS NOT NULL THEN
            why := 'actions: this rule would set itself off again, in a '
                   || 'loop: ' || why;
        END IF;
    END IF;

    IF why IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', why;
        RETURN;
    END IF;

    IF old.id IS NULL THEN
        INSERT INTO rules AS x (id, project_id, name, enabled, trigger,
                                conditions, actions, created_by)
        VALUES (r.id, pid, r.name, r.enabled, r.trigger, r.conditions,
                r.actions, actor)
        RETURNING x.* INTO r;
    ELSE
        UPDATE rules AS x SET name = r.name, enabled = r.enabled,
            trigger = r.trigger, conditions = r.conditions,
            actions = r.actions, updated_at = now(),
            version = x.version + 1
         WHERE x.id = old.id
        RETURNING x.* INTO r;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, pid, 'rule', r.id,
            CASE WHEN old.id IS NULL THEN 'created' ELSE 'updated' END,
            CASE WHEN old.id IS NOT NULL THEN rule_json(old) END,
            rule_json(r));

    IF old.id IS NULL THEN
        RETURN QUERY SELECT 201, rule_json(r)::text,
                            '/api/v1/rules/' || r.id;
    ELSE
        RETURN QUERY SELECT 200, rule_json(r)::text, r.version::text;
    END IF;
END
$$;


CREATE FUNCTION rule_delete(actor uuid, role text, rid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r  rules;
BEGIN
    SELECT * INTO r FROM rules WHERE id = rid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, (SELECT team_id FROM projects
                                             WHERE id = r.project_id))
    THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the team''s project managers change its rules.';
        RETURN;
    END IF;

    DELETE FROM rules WHERE id = rid;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values)
    VALUES (actor, r.project_id, 'rule', rid, 'deleted', rule_json(r));

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


-- A rule's runs, or a project's (rid NULL), newest first.
CREATE FUNCTION rule_runs_list(pid uuid, rid uuid, lim int, cur uuid)
RETURNS TABLE (status int, body text)
LANGUAGE sql STABLE AS $$
    WITH n AS (SELECT least(greatest(coalesce(lim, 50), 1), 200) n),
    page AS (
        SELECT x FROM rule_runs x
         WHERE (rid IS NULL OR x.rule_id = rid)
           AND (pid IS NULL OR x.project_id = pid)
           AND (cur IS NULL OR x.seq < (SELECT seq FROM rule_runs
                                         WHERE id = cur))
         ORDER BY x.seq DESC LIMIT (SELECT n FROM n))
    SELECT 200, jsonb_build_object(
               'items', coalesce((SELECT jsonb_agg(rule_run_json(x)
                                      ORDER BY (x).seq DESC) FROM page),
                                 '[]'),
               'next_cursor', CASE WHEN (SELECT count(*) FROM page)
                                        = (SELECT n FROM n)
                                   THEN (SELECT (x).id FROM page
                                          ORDER BY (x).seq LIMIT 1) END)::text
     WHERE (rid IS NULL OR EXISTS (SELECT 1 FROM rules WHERE id = rid))
       AND (pid IS NULL OR EXISTS (SELECT 1 FROM projects WHERE id = pid))
$$;
