-- Templates: a project's shape kept to start new projects from, and task
-- templates for checklists done again and again.
--
-- A project template's body is the project without its people and its
-- history: columns (name, category, WIP limit) in order, swimlanes,
-- labels, the project's custom fields, milestones, and its top-level
-- tasks, each with its subtasks, its dependencies (by the task's place in
-- the list, "ref") and its dates as days after the project's start. A
-- task's custom values are keyed by the field's place in the template's
-- list (a workspace-wide field keeps its id). Starting a project from it
-- takes a start date and lays every date out from there.
--
-- A task template's body: a checklist (its subtasks' titles), and labels
-- and a priority that applying it adds to the task.
--
-- Built-in templates (builtin, fixed ids) come with every workspace and
-- cannot be changed or removed; the workspace's own are made by admins
-- and project managers and removed by them.

CREATE TABLE templates (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind         text NOT NULL CHECK (kind IN ('project', 'task')),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT ''
                 CHECK (length(description) <= 20000),
    builtin      boolean NOT NULL DEFAULT false,
    body         jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX templates_kind ON templates (kind, name);


-- The list's entry: what the gallery shows, without the body's tasks.
CREATE FUNCTION template_summary_json(t templates) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', t.id, 'kind', t.kind, 'name', t.name,
               'description', t.description, 'builtin', t.builtin,
               'columns', coalesce((SELECT jsonb_agg(c->>'name')
                   FROM jsonb_array_elements(t.body->'columns') c), '[]'),
               'task_count', coalesce(jsonb_array_length(t.body->'tasks'),
                   jsonb_array_length(t.body->'checklist'), 0),
               'created_at', t.created_at)
$$;

CREATE FUNCTION template_json(t templates) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT template_summary_json(t) || jsonb_build_object('body', t.body)
$$;


-- One task of a template: where it sits (column, swimlane, milestone by
-- their place), what it says, its dates as days after start.
CREATE FUNCTION template_task_json(t tasks, start date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', t.title, 'description', t.description,
        'priority', t.priority, 'labels', to_jsonb(t.labels),
        'estimate_minutes', t.estimate_minutes,
        'column', (SELECT count(*) FROM columns c, columns me
                    WHERE me.id = t.column_id AND c.project_id = me.project_id
                      AND (c.position, c.id) < (me.position, me.id)),
        'swimlane', CASE WHEN t.swimlane_id IS NOT NULL THEN (
                      SELECT count(*) FROM swimlanes s, swimlanes me
                       WHERE me.id = t.swimlane_id
                         AND s.project_id = me.project_id
                         AND (s.position, s.id) < (me.position, me.id)) END,
        'milestone', CASE WHEN t.milestone_id IS NOT NULL THEN (
                       SELECT count(*) FROM milestones m, milestones me
                        WHERE me.id = t.milestone_id
                          AND m.project_id = me.project_id
                          AND (m.due_date, m.id) < (me.due_date, me.id)) END,
        'start_day', t.start_date - start,
        'due_day', t.due_date - start,
        'custom_fields', coalesce((SELECT jsonb_object_agg(
                CASE WHEN f.project_id IS NULL THEN f.id::text
                     ELSE (SELECT count(*) FROM custom_fields o
                            WHERE o.project_id = f.project_id
                              AND (o.created_at, o.id)
                                  < (f.created_at, f.id))::text END,
                e.value)
              FROM jsonb_each(t.custom_fields) e
              JOIN custom_fields f ON f.id::text = e.key), '{}'))
$$;


-- A project as a template's body (dates as days after start).
CREATE FUNCTION project_template_body(pid uuid, start date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH cols AS (
        SELECT c.id, row_number() OVER (ORDER BY c.position, c.id) - 1 AS i,
               c.name, c.category, c.wip_limit
          FROM columns c WHERE c.project_id = pid),
    lanes AS (
        SELECT s.id, row_number() OVER (ORDER BY s.position, s.id) - 1 AS i,
               s.name
          FROM swimlanes s WHERE s.project_id = pid),
    fields AS (
        SELECT f.id, row_number() OVER (ORDER BY f.created_at, f.id) - 1
                     AS i, f.name, f.type, f.options
          FROM custom_fields f WHERE f.project_id = pid),
    stones AS (
        SELECT m.id, row_number() OVER (ORDER BY m.due_date, m.id) - 1 AS i,
               m.name, m.description, m.due_date
          FROM milestones m WHERE m.project_id = pid),
    tops AS (
        SELECT t.id, row_number() OVER (ORDER BY c.i, t.rank) - 1 AS i
          FROM tasks t JOIN cols c ON c.id = t.column_id
         WHERE t.project_id = pid AND t.parent_id IS NULL)
    SELECT jsonb_build_object(
        'columns', coalesce((SELECT jsonb_agg(jsonb_build_object(
                'name', name, 'category', category, 'wip_limit', wip_limit)
                ORDER BY i) FROM cols), '[]'),
        'swimlanes', coalesce((SELECT jsonb_agg(jsonb_build_object(
                'name', name) ORDER BY i) FROM lanes), '[]'),
        'labels', coalesce((SELECT jsonb_agg(DISTINCT l ORDER BY l)
                FROM tasks t, unnest(t.labels) l
               WHERE t.project_id = pid), '[]'),
        'custom_fields', coalesce((SELECT jsonb_agg(jsonb_build_object(
                'name', name, 'type', type, 'options', options)
                ORDER BY i) FROM fields), '[]'),
        'milestones', coalesce((SELECT jsonb_agg(jsonb_build_object(
                'name', name, 'description', description,
                'due_day', due_date - start) ORDER BY i) FROM stones), '[]'),
        'tasks', coalesce((SELECT jsonb_agg(template_task_json(t, start)
                || jsonb_build_object(
                    'ref', o.i,
                    'subtasks', coalesce((SELECT jsonb_agg(
                            template_task_json(s, start) ORDER BY s.number)
                          FROM tasks s WHERE s.parent_id = t.id), '[]'),
                    'depends_on', coalesce((SELECT jsonb_agg(on_.i ORDER BY on_.i)
                          FROM task_dependencies d
                          JOIN tops on_ ON on_.id = d.depends_on_id
                         WHERE d.task_id = t.id), '[]'))
                ORDER BY o.i)
              FROM tops o JOIN tasks t ON t.id = o.id), '[]'))
$$;


-- The date a template's day number falls on.
CREATE FUNCTION template_day(start date, d jsonb) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(d) = 'number'
                THEN start + (d #>> '{}')::int END
$$;


CREATE FUNCTION templates_list(k text) RETURNS TABLE (status int, body text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object(
               'items', coalesce(jsonb_agg(template_summary_json(t)
                   ORDER BY t.builtin DESC, t.kind, t.name), '[]'),
               'next_cursor', NULL)::text
      FROM templates t
     WHERE k IS NULL OR t.kind = k
$$;


-- Saves a project as a template of the workspace's (its managers).
CREATE FUNCTION template_from_project(actor uuid, role text, pid uuid,
                                      b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p  projects;
    t  templates;
BEGIN
    SELECT * INTO p FROM projects WHERE id = pid;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, p.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the team''s project managers save its template.';
        RETURN;
    END IF;

    INSERT INTO templates AS x (kind, name, description, body, created_by)
    VALUES ('project', coalesce(b->>'name', p.name),
            coalesce(b->>'description', p.description),
            project_template_body(pid, coalesce(p.start_date,
                                                local_date(p.created_at))),
            actor)
    RETURNING x.* INTO t;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'template', t.id, 'created',
            template_summary_json(t));

    RETURN QUERY SELECT 201, template_json(t)::text,
                        '/api/v1/templates/' || t.id;
END
$$;


-- Why a task template's body is not one, or NULL.
CREATE FUNCTION task_template_problem(b jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN jsonb_typeof(b->'checklist') IS DISTINCT FROM 'array'
            THEN 'body.checklist: a list of subtask titles is required'
        WHEN jsonb_array_length(b->'checklist') NOT BETWEEN 1 AND 100
            THEN 'body.checklist: 1 to 100 items'
        WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(b->'checklist') i
                      WHERE jsonb_typeof(i) <> 'string'
                         OR length(i #>> '{}') NOT BETWEEN 1 AND 500)
            THEN 'body.checklist: each item a title of 1 to 500 characters'
        WHEN b ? 'labels' AND (jsonb_typeof(b->'labels') <> 'array'
             OR jsonb_array_length(b->'labels') > 20
             OR EXISTS (SELECT 1 FROM jsonb_array_elements(b->'labels') i
                         WHERE jsonb_typeof(i) <> 'string'
                            OR length(i #>> '{}') NOT BETWEEN 1 AND 100))
            THEN 'body.labels: at most 20 labels of 1 to 100 characters'
        WHEN b ? 'priority' AND NOT coalesce(b->>'priority' IN
                  ('low', 'medium', 'high', 'urgent'), false)
            THEN 'body.priority: one of low, medium, high, urgent'
        WHEN EXISTS (SELECT 1 FROM jsonb_object_keys(b) k
                      WHERE k NOT IN ('checklist', 'labels', 'priority'))
            THEN 'body: only checklist, labels and priority'
    END
$$;


-- A task template, made by an admin or a project manager.
CREATE FUNCTION task_template_create(actor uuid, role text, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t    templates;
    why  text;
BEGIN
    IF role NOT IN ('admin', 'project_manager') THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and project managers make templates.';
        RETURN;
    END IF;

    why := task_template_problem(b->'body');
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', why;
        RETURN;
    END IF;

    INSERT INTO templates AS x (kind, name, description, body, created_by)
    VALUES ('task', b->>'name', coalesce(b->>'description', ''), b->'body',
            actor)
    RETURNING x.* INTO t;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'template', t.id, 'created', template_summary_json(t));

    RETURN QUERY SELECT 201, template_json(t)::text,
                        '/api/v1/templates/' || t.id;
END
$$;


CREATE FUNCTION template_delete(actor uuid, role text, tid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t  templates;
BEGIN
    SELECT * INTO t FROM templates WHERE id = tid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF t.builtin THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'A built-in template cannot be removed.';
        RETURN;
    END IF;

    IF role <> 'admin' AND t.created_by IS DISTINCT FROM actor THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Admins and the template''s maker remove it.';
        RETURN;
    END IF;

    DELETE FROM templates WHERE id = tid;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              old_values)
    VALUES (actor, 'template', tid, 'deleted', template_summary_json(t));

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


-- Starts a project from a project template: the project as
-- project_create makes it (its rights, its audit row), then the
-- template's columns instead of the default ones, its swimlanes, fields,
-- milestones and tasks, every date laid out from start_date (the
-- workspace's today when not given).
CREATE FUNCTION project_from_template(actor uuid, role text, tid uuid,
                                      b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    tp     templates;
    r      record;
    p      projects;
    start  date := coalesce((b->>'start_date')::date, workspace_today());
    cols   uuid[] := '{}';
    lanes  uuid[] := '{}';
    flds   uuid[] := '{}';
    stones uuid[] := '{}';
    tops   uuid[] := '{}';
    e      jsonb;
    s      jsonb;
    i      int;
    cid    uuid;
    nid    uuid;
BEGIN
    SELECT * INTO tp FROM templates WHERE id = tid AND kind = 'project';
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    SELECT * INTO r FROM project_create(actor, role,
        (b - 'start_date') || jsonb_build_object('start_date', start)) f;
    IF r.status <> 201 THEN
        RETURN QUERY SELECT r.status, r.body, r.extra;
        RETURN;
    END IF;

    p := jsonb_populate_record(NULL::projects, r.body::jsonb);

    DELETE FROM columns WHERE project_id = p.id;
    i := 0;
    FOR e IN SELECT * FROM jsonb_array_elements(tp.body->'columns') LOOP
        INSERT INTO columns (project_id, name, category, position, wip_limit)
        VALUES (p.id, e->>'name', e->>'category', i,
                (e->>'wip_limit')::int)
        RETURNING id INTO cid;
        cols := cols || cid;
        i := i + 1;
    END LOOP;

    i := 0;
    FOR e IN SELECT * FROM jsonb_array_elements(
                 coalesce(tp.body->'swimlanes', '[]')) LOOP
        INSERT INTO swimlanes (project_id, name, position)
        VALUES (p.id, e->>'name', i) RETURNING id INTO nid;
        lanes := lanes || nid;
        i := i + 1;
    END LOOP;

    FOR e IN SELECT * FROM jsonb_array_elements(
                 coalesce(tp.body->'custom_fields', '[]')) LOOP
        INSERT INTO custom_fields (project_id, name, type, options,
                                   created_at)
        VALUES (p.id, e->>'name', e->>'type',
                coalesce(e->'options', '[]'),
                clock_timestamp())
        RETURNING id INTO nid;
        flds := flds || nid;
    END LOOP;

    FOR e IN SELECT * FROM jsonb_array_elements(
                 coalesce(tp.body->'milestones', '[]')) LOOP
        INSERT INTO milestones (project_id, name, description, due_date)
        VALUES (p.id, e->>'name', coalesce(e->>'description', ''),
                coalesce(template_day(start, e->'due_day'), start))
        RETURNING id INTO nid;
        stones := stones || nid;
    END LOOP;

    FOR e IN SELECT * FROM jsonb_array_elements(
                 coalesce(tp.body->'tasks', '[]')) LOOP
        nid := template_task_make(p.id, NULL, e, start, cols, lanes, flds,
                                  stones, actor);
        tops := tops || nid;

        FOR s IN SELECT * FROM jsonb_array_elements(
                     coalesce(e->'subtasks', '[]')) LOOP
            PERFORM template_task_make(p.id, nid, s, start, cols, lanes,
                                       flds, stones, actor);
        END LOOP;
    END LOOP;

    -- dependencies once every task is there (a ref may point ahead)
    i := 1;
    FOR e IN SELECT * FROM jsonb_array_elements(
                 coalesce(tp.body->'tasks', '[]')) LOOP
        INSERT INTO task_dependencies (task_id, depends_on_id)
        SELECT tops[i], tops[(d #>> '{}')::int + 1]
          FROM jsonb_array_elements(coalesce(e->'depends_on', '[]')) d
         WHERE tops[(d #>> '{}')::int + 1] IS NOT NULL
           AND (d #>> '{}')::int + 1 <> i
        ON CONFLICT DO NOTHING;
        i := i + 1;
    END LOOP;

    SELECT * INTO p FROM projects WHERE id = p.id;

    RETURN QUERY SELECT 201, project_json(p)::text,
                        '/api/v1/projects/' || p.id;
END
$$;


-- One task of a template made in project pid (a subtask of parent).
CREATE FUNCTION template_task_make(pid uuid, parent uuid, e jsonb,
                                   start date, cols uuid[], lanes uuid[],
                                   flds uuid[], stones uuid[], actor uuid)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    n    int;
    col  columns;
    t    tasks;
BEGIN
    SELECT * INTO col FROM columns
     WHERE id = coalesce(cols[coalesce((e->>'column')::int, 0) + 1],
                         cols[1]);

    UPDATE projects SET next_task_number = next_task_number + 1
     WHERE id = pid RETURNING next_task_number - 1 INTO n;

    INSERT INTO tasks AS x (project_id, number, parent_id, title,
                            description, column_id, priority, reporter_id,
                            labels, start_date, due_date, estimate_minutes,
                            completed_at, rank, swimlane_id, milestone_id,
                            custom_fields)
    VALUES (pid, n, parent, e->>'title', coalesce(e->>'description', ''),
            col.id, coalesce(e->>'priority', 'medium'), actor,
            coalesce((SELECT array_agg(l) FROM jsonb_array_elements_text(
                          coalesce(e->'labels', '[]')) l), '{}'),
            template_day(start, e->'start_day'),
            template_day(start, e->'due_day'),
            (e->>'estimate_minutes')::int,
            CASE WHEN col.category = 'done' THEN now() END,
            rank_between((SELECT max(rank) FROM tasks
                           WHERE column_id = col.id), NULL),
            lanes[(e->>'swimlane')::int + 1],
            stones[(e->>'milestone')::int + 1],
            coalesce((SELECT jsonb_object_agg(
                        coalesce(flds[CASE WHEN k.key ~ '^\d{1,4}$'
                                           THEN k.key::int + 1 END]::text,
                                 k.key), k.value)
                        FROM jsonb_each(coalesce(e->'custom_fields', '{}')) k),
                     '{}'))
    RETURNING x.* INTO t;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'task', t.id, 'created', task_json(t));

    RETURN t.id;
END
$$;


-- Applies a task template to a task: its checklist as subtasks (in the
-- task's column), its labels added, its priority set.
CREATE FUNCTION task_template_apply(actor uuid, role text, tid uuid,
                                    b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    tp   templates;
    old  tasks;
    t    tasks;
    i    jsonb;
BEGIN
    SELECT * INTO old FROM tasks WHERE id = tid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Contributors change the tasks assigned to them or reported by them.';
        RETURN;
    END IF;

    SELECT * INTO tp FROM templates
     WHERE id = (b->>'template_id')::uuid AND kind = 'task';
    IF NOT FOUND THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'template_id: no task template has this id';
        RETURN;
    END IF;

    FOR i IN SELECT * FROM jsonb_array_elements(tp.body->'checklist') LOOP
        PERFORM template_task_make(old.project_id, tid,
            jsonb_build_object('title', i #>> '{}'), workspace_today(),
            ARRAY[old.column_id], '{}', '{}', '{}', actor);
    END LOOP;

    UPDATE tasks SET
        labels = ARRAY(SELECT DISTINCT l FROM unnest(labels || coalesce(
                     (SELECT array_agg(x) FROM jsonb_array_elements_text(
                          tp.body->'labels') x), '{}')) l ORDER BY l),
        priority = coalesce(tp.body->>'priority', priority),
        version = version + 1, updated_at = now()
     WHERE id = tid
    RETURNING * INTO t;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, t.project_id, 'task', tid, 'updated', task_json(old),
            task_json(t) || jsonb_build_object('template_id', tp.id));

    RETURN QUERY SELECT 200, task_json(t)::text, t.version::text;
END
$$;


-- The built-in templates. Days count from the project's start.
INSERT INTO templates (id, kind, name, description, builtin, body) VALUES
('00000000-0000-4000-8000-000000000071', 'project', 'Kanban',
 'A flow board: a backlog, work limited in progress and review, done.',
 true, '{
  "columns": [
    {"name": "Backlog", "category": "backlog", "wip_limit": null},
    {"name": "To Do", "category": "todo", "wip_limit": null},
    {"name": "In Progress", "category": "in_progress", "wip_limit": 3},
    {"name": "Review", "category": "review", "wip_limit": 2},
    {"name": "Done", "category": "done", "wip_limit": null}],
  "swimlanes": [{"name": "Expedite"}, {"name": "Standard"}],
  "labels": ["bug", "feature", "chore"],
  "custom_fields": [], "milestones": [],
  "tasks": [
    {"ref": 0, "title": "Agree on the board''s WIP limits", "column": 1,
     "priority": "medium", "labels": ["chore"], "due_day": 2,
     "subtasks": [], "depends_on": []}]}'),
('00000000-0000-4000-8000-000000000072', 'project', 'Scrum',
 'Sprints of two weeks: a product backlog, the sprint''s work and its ceremonies.',
 true, '{
  "columns": [
    {"name": "Product Backlog", "category": "backlog", "wip_limit": null},
    {"name": "Sprint Backlog", "category": "todo", "wip_limit": null},
    {"name": "In Progress", "category": "in_progress", "wip_limit": null},
    {"name": "Review", "category": "review", "wip_limit": null},
    {"name": "Done", "category": "done", "wip_limit": null}],
  "swimlanes": [],
  "labels": ["story", "bug", "spike"],
  "custom_fields": [{"name": "Story points", "type": "number", "options": []}],
  "milestones": [{"name": "Sprint 1 review", "description": "", "due_day": 13}],
  "tasks": [
    {"ref": 0, "title": "Sprint planning", "column": 1, "priority": "high",
     "start_day": 0, "due_day": 0, "milestone": 0,
     "subtasks": [{"title": "Set the sprint goal", "column": 1},
                  {"title": "Estimate the top stories", "column": 1}],
     "depends_on": []},
    {"ref": 1, "title": "Sprint review", "column": 1, "priority": "medium",
     "due_day": 13, "milestone": 0, "subtasks": [], "depends_on": [0]},
    {"ref": 2, "title": "Retrospective", "column": 1, "priority": "medium",
     "due_day": 13, "subtasks": [], "depends_on": [1]}]}'),
('00000000-0000-4000-8000-000000000073', 'project', 'IT project',
 'Phases as swimlanes (initiation, planning, execution, closure), milestones at each gate, tasks that follow one another.',
 true, '{
  "columns": [
    {"name": "Backlog", "category": "backlog", "wip_limit": null},
    {"name": "To Do", "category": "todo", "wip_limit": null},
    {"name": "In Progress", "category": "in_progress", "wip_limit": 5},
    {"name": "Review", "category": "review", "wip_limit": null},
    {"name": "Done", "category": "done", "wip_limit": null}],
  "swimlanes": [{"name": "Initiation"}, {"name": "Planning"},
                {"name": "Execution"}, {"name": "Closure"}],
  "labels": ["gate", "risk"],
  "custom_fields": [{"name": "Phase owner", "type": "text", "options": []}],
  "milestones": [
    {"name": "Charter approved", "description": "", "due_day": 10},
    {"name": "Plan baselined", "description": "", "due_day": 30},
    {"name": "Go-live", "description": "", "due_day": 75},
    {"name": "Project closed", "description": "", "due_day": 90}],
  "tasks": [
    {"ref": 0, "title": "Write the project charter", "column": 1,
     "swimlane": 0, "milestone": 0, "priority": "high", "labels": ["gate"],
     "start_day": 0, "due_day": 10, "estimate_minutes": 960,
     "subtasks": [{"title": "Name the sponsor and stakeholders"},
                  {"title": "State scope and goals"}],
     "depends_on": []},
    {"ref": 1, "title": "Plan scope, schedule and budget", "column": 0,
     "swimlane": 1, "milestone": 1, "priority": "high", "labels": ["gate"],
     "start_day": 11, "due_day": 30, "estimate_minutes": 2400,
     "subtasks": [{"title": "Work breakdown"}, {"title": "Risk register"},
                  {"title": "Budget approved"}],
     "depends_on": [0]},
    {"ref": 2, "title": "Build and test", "column": 0, "swimlane": 2,
     "priority": "medium", "start_day": 31, "due_day": 65,
     "subtasks": [], "depends_on": [1]},
    {"ref": 3, "title": "Go-live and hypercare", "column": 0, "swimlane": 2,
     "milestone": 2, "priority": "high", "labels": ["gate", "risk"],
     "start_day": 66, "due_day": 75,
     "subtasks": [{"title": "Cut-over plan"}, {"title": "Rollback plan"}],
     "depends_on": [2]},
    {"ref": 4, "title": "Close the project", "column": 0, "swimlane": 3,
     "milestone": 3, "priority": "medium", "start_day": 76, "due_day": 90,
     "subtasks": [{"title": "Lessons learned"}, {"title": "Hand over to operations"}],
     "depends_on": [3]}]}'),
('00000000-0000-4000-8000-000000000074', 'project', 'Incident follow-up',
 'After an incident: the timeline, the root cause, the actions that keep it from coming back.',
 true, '{
  "columns": [
    {"name": "To Do", "category": "todo", "wip_limit": null},
    {"name": "In Progress", "category": "in_progress", "wip_limit": null},
    {"name": "Review", "category": "review", "wip_limit": null},
    {"name": "Done", "category": "done", "wip_limit": null}],
  "swimlanes": [],
  "labels": ["incident", "postmortem", "action-item"],
  "custom_fields": [{"name": "Severity", "type": "select",
                     "options": ["SEV1", "SEV2", "SEV3"]}],
  "milestones": [{"name": "Postmortem published", "description": "", "due_day": 5}],
  "tasks": [
    {"ref": 0, "title": "Write the incident timeline", "column": 0,
     "priority": "urgent", "labels": ["incident"], "due_day": 1,
     "subtasks": [], "depends_on": []},
    {"ref": 1, "title": "Find the root cause", "column": 0,
     "priority": "high", "labels": ["postmortem"], "due_day": 3,
     "subtasks": [{"title": "Five whys"}, {"title": "Contributing factors"}],
     "depends_on": [0]},
    {"ref": 2, "title": "Publish the postmortem", "column": 0,
     "priority": "high", "labels": ["postmortem"], "due_day": 5,
     "milestone": 0, "subtasks": [], "depends_on": [1]},
    {"ref": 3, "title": "Track the action items to done", "column": 0,
     "priority": "medium", "labels": ["action-item"], "due_day": 30,
     "subtasks": [], "depends_on": [2]}]}'),
('00000000-0000-4000-8000-000000000075', 'task', 'Release checklist',
 'What every release goes through.', true,
 '{"checklist": ["Changelog written", "Version bumped", "Tests green on the release branch", "Tagged and signed", "Announced"], "labels": ["release"]}'),
('00000000-0000-4000-8000-000000000076', 'task', 'New joiner',
 'Accounts and introductions for someone new.', true,
 '{"checklist": ["Laptop ready", "Accounts created", "Buddy named", "First week planned"], "labels": ["onboarding"]}');
