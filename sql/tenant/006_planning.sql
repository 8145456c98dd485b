-- Comments, dependencies between tasks, milestones, sprints, swimlanes
-- and custom fields.

CREATE TABLE comments (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

CREATE INDEX comments_task ON comments (task_id, created_at);

CREATE TABLE task_dependencies (
    task_id        uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on_id  uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, depends_on_id),
    CHECK (task_id <> depends_on_id)
);

CREATE INDEX task_dependencies_on ON task_dependencies (depends_on_id);

CREATE TABLE milestones (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id   uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT '',
    due_date     date NOT NULL,
    status       text NOT NULL DEFAULT 'upcoming'
                 CHECK (status IN ('upcoming', 'achieved', 'missed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1
);

CREATE INDEX milestones_project ON milestones (project_id, due_date);

CREATE TABLE sprints (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    goal        text NOT NULL DEFAULT '',
    start_date  date,
    end_date    date CHECK (end_date >= start_date),
    state       text NOT NULL DEFAULT 'planned'
                CHECK (state IN ('planned', 'active', 'closed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

CREATE INDEX sprints_project ON sprints (project_id);

-- Rows across a board; a column's WIP limit counts the whole column.
CREATE TABLE swimlanes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX swimlanes_project ON swimlanes (project_id, position);

-- Fields a workspace adds to tasks, everywhere or in one project.
CREATE TABLE custom_fields (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid REFERENCES projects (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    type        text NOT NULL
                CHECK (type IN ('text', 'number', 'date', 'select', 'user')),
    options     jsonb NOT NULL DEFAULT '[]'
                CHECK (jsonb_typeof(options) = 'array'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE tasks
    ADD COLUMN sprint_id uuid REFERENCES sprints (id) ON DELETE SET NULL,
    ADD COLUMN milestone_id uuid REFERENCES milestones (id)
        ON DELETE SET NULL,
    ADD COLUMN swimlane_id uuid REFERENCES swimlanes (id)
        ON DELETE SET NULL,
    ADD COLUMN custom_fields jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(custom_fields) = 'object');


-- Why a task's custom values are not valid, or NULL: each key a field of
-- the workspace or of the task's project, each value of the field's type.
CREATE FUNCTION custom_fields_problem(pid uuid, cf jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT string_agg(format('%s: %s', e.key, CASE
               WHEN f.id IS NULL THEN 'no such field in this project'
               ELSE 'not a ' || f.type || CASE WHEN f.type = 'select'
                    THEN ' option (' || (SELECT string_agg(o, ', ')
                          FROM jsonb_array_elements_text(f.options) o) || ')'
                    ELSE '' END END), '; ' ORDER BY e.key)
      FROM jsonb_each(cf) e
      LEFT JOIN custom_fields f
        ON f.id::text = e.key AND (f.project_id IS NULL OR f.project_id = pid)
     WHERE f.id IS NULL
        OR NOT CASE f.type
            WHEN 'text' THEN jsonb_typeof(e.value) = 'string'
            WHEN 'number' THEN jsonb_typeof(e.value) = 'number'
            WHEN 'date' THEN jsonb_typeof(e.value) = 'string'
                         AND e.value #>> '{}' ~ '^\d{4}-\d{2}-\d{2}$'
            WHEN 'select' THEN f.options ? (e.value #>> '{}')
                           AND jsonb_typeof(e.value) = 'string'
            WHEN 'user' THEN jsonb_typeof(e.value) = 'string'
                         AND EXISTS (SELECT 1 FROM users u
                                      WHERE u.id::text = e.value #>> '{}')
            END
$$;

CREATE FUNCTION tasks_check_custom() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    why  text;
BEGIN
    why := custom_fields_problem(NEW.project_id, NEW.custom_fields);

    IF why IS NOT NULL THEN
        RAISE EXCEPTION 'custom fields: %', why USING ERRCODE = '23514';
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_custom_fields
    BEFORE INSERT OR UPDATE OF custom_fields ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_check_custom();


-- A comment is changed or removed by its author or an admin.
CREATE FUNCTION comment_change(actor uuid, role text, cid uuid, b jsonb,
                               remove boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old  comments;
    c    comments;
    pid  uuid;
BEGIN
    SELECT * INTO old FROM comments WHERE id = cid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF role <> 'admin' AND old.author_id IS DISTINCT FROM actor THEN
        RETURN QUERY SELECT 403, 'forbidden',
                            'Only its author or an admin changes a comment.';
        RETURN;
    END IF;

    SELECT project_id INTO pid FROM tasks WHERE id = old.task_id;

    IF remove THEN
        DELETE FROM comments WHERE id = cid;
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, old_values)
        VALUES (actor, pid, 'comment', cid, 'deleted', to_jsonb(old));
        RETURN QUERY SELECT 204, NULL::text, NULL::text;
        RETURN;
    END IF;

    UPDATE comments SET body = coalesce(b->>'body', body),
                        version = version + 1, updated_at = now()
     WHERE id = cid RETURNING * INTO c;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, pid, 'comment', cid, 'updated', to_jsonb(old),
            to_jsonb(c));

    RETURN QUERY SELECT 200, to_jsonb(c)::text, c.version::text;
END
$$;


-- task depends on other: both of one project, and no cycle, however long.
CREATE FUNCTION dependency_add(actor uuid, role text, tid uuid, other uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t  tasks;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = tid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    IF other IS NULL OR NOT EXISTS (SELECT 1 FROM tasks WHERE id = other
                                       AND project_id = t.project_id)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'depends_on_id is not a task of this project.';
        RETURN;
    END IF;

    -- serialise additions within the project: two halves of a cycle
    -- added at once must not both pass
    PERFORM 1 FROM projects WHERE id = t.project_id FOR UPDATE;

    IF other = tid OR EXISTS (
        WITH RECURSIVE reach AS (
            SELECT depends_on_id AS id FROM task_dependencies
             WHERE task_id = other
            UNION
            SELECT d.depends_on_id FROM task_dependencies d
              JOIN reach ON d.task_id = reach.id)
        SELECT 1 FROM reach WHERE id = tid)
    THEN
        RETURN QUERY SELECT 422, 'dependency_cycle',
            'This dependency would close a cycle.';
        RETURN;
    END IF;

    INSERT INTO task_dependencies (task_id, depends_on_id)
    VALUES (tid, other) ON CONFLICT DO NOTHING;

    IF FOUND THEN           -- a repeat changes nothing, and says nothing
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, new_values)
        VALUES (actor, t.project_id, 'task', tid, 'dependency_added',
                jsonb_build_object('depends_on_id', other));
    END IF;

    RETURN QUERY SELECT 201, jsonb_build_object('task_id', tid,
                                 'depends_on_id', other)::text,
                        '/api/v1/tasks/' || tid || '/dependencies/' || other;
END
$$;


CREATE FUNCTION milestone_json(m milestones) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(m)
$$;

-- Milestones and sprints are managed as their project is.
CREATE FUNCTION plan_item_write(actor uuid, role text, kind text,
                                pid uuid, iid uuid, b jsonb, expected int,
                                remove boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    team  uuid;
    old   jsonb;
    new   jsonb;
BEGIN
    IF iid IS NOT NULL THEN
        IF kind = 'milestone' THEN
            SELECT project_id, to_jsonb(m) INTO pid, old
              FROM milestones m WHERE id = iid FOR UPDATE;
        ELSE
            SELECT project_id, to_jsonb(s) INTO pid, old
              FROM sprints s WHERE id = iid FOR UPDATE;
        END IF;
    END IF;

    SELECT team_id INTO team FROM projects WHERE id = pid;

    IF NOT FOUND OR (iid IS NOT NULL AND old IS NULL) THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, team) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    IF expected IS NOT NULL AND expected <> (old->>'version')::int THEN
        RETURN QUERY SELECT 409, 'version_conflict', NULL::text;
        RETURN;
    END IF;

    IF remove THEN
        IF kind = 'milestone' THEN
            DELETE FROM milestones WHERE id = iid;
        ELSE
            DELETE FROM sprints WHERE id = iid;
        END IF;
    ELSIF iid IS NULL AND kind = 'milestone' THEN
        INSERT INTO milestones AS x (project_id, name, description,
                                     due_date, status)
        VALUES (pid, b->>'name', coalesce(b->>'description', ''),
                (b->>'due_date')::date, coalesce(b->>'status', 'upcoming'))
        RETURNING to_jsonb(x) INTO new;
    ELSIF iid IS NULL THEN
        INSERT INTO sprints AS x (project_id, name, goal, start_date,
                                  end_date, state)
        VALUES (pid, b->>'name', coalesce(b->>'goal', ''),
                (b->>'start_date')::date, (b->>'end_date')::date,
                coalesce(b->>'state', 'planned'))
        RETURNING to_jsonb(x) INTO new;
    ELSIF kind = 'milestone' THEN
        UPDATE milestones SET
            name = coalesce(b->>'name', name),
            description = coalesce(b->>'description', description),
            due_date = coalesce((b->>'due_date')::date, due_date),
            status = coalesce(b->>'status', status),
            version = version + 1, updated_at = now()
        WHERE id = iid RETURNING to_jsonb(milestones.*) INTO new;
    ELSE
        UPDATE sprints SET
            name = coalesce(b->>'name', name),
            goal = coalesce(b->>'goal', goal),
            start_date = CASE WHEN b ? 'start_date'
                              THEN (b->>'start_date')::date
                              ELSE start_date END,
            end_date = CASE WHEN b ? 'end_date' THEN (b->>'end_date')::date
                            ELSE end_date END,
            state = coalesce(b->>'state', state),
            version = version + 1, updated_at = now()
        WHERE id = iid RETURNING to_jsonb(sprints.*) INTO new;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, pid, kind, coalesce(iid, (new->>'id')::uuid),
            CASE WHEN remove THEN 'deleted'
                 WHEN iid IS NULL THEN 'created' ELSE 'updated' END,
            old, new);

    IF remove THEN
        RETURN QUERY SELECT 204, NULL::text, NULL::text;
    ELSIF iid IS NULL THEN
        RETURN QUERY SELECT 201, new::text,
                            '/api/v1/' || kind || 's/' || (new->>'id');
    ELSE
        RETURN QUERY SELECT 200, new::text, new->>'version';
    END IF;
END
$$;


-- Tasks join sprints (none: the backlog) and milestones.
CREATE OR REPLACE FUNCTION task_create(actor uuid, role text, pid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    col   columns;
    n     int;
    t     tasks;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM projects WHERE id = pid) THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF b ? 'column_id' THEN
        SELECT * INTO col FROM columns
         WHERE id = (b->>'column_id')::uuid AND project_id = pid
           FOR UPDATE;
    ELSE
        SELECT * INTO col FROM columns WHERE project_id = pid
         ORDER BY position, id LIMIT 1 FOR UPDATE;
    END IF;

    IF col.id IS NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'column_id is not a column of this project.';
        RETURN;
    END IF;

    IF b ? 'parent_id' AND b->>'parent_id' IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM tasks WHERE project_id = pid
                          AND id = (b->>'parent_id')::uuid)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'parent_id is not a task of this project.';
        RETURN;
    END IF;


    IF (b->>'swimlane_id' IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM swimlanes WHERE id = (b->>'swimlane_id')::uuid
               AND project_id = pid))
       OR (b->>'sprint_id' IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM sprints WHERE id = (b->>'sprint_id')::uuid
               AND project_id = pid))
       OR (b->>'milestone_id' IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM milestones WHERE id = (b->>'milestone_id')::uuid
               AND project_id = pid))
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'swimlane_id, sprint_id and milestone_id must be of this project.';
        RETURN;
    END IF;

    IF col.wip_limit IS NOT NULL
       AND (SELECT count(*) FROM tasks WHERE column_id = col.id)
           >= col.wip_limit
    THEN
        RETURN QUERY SELECT 409, 'wip_limit_reached',
                            'The column is at its WIP limit.';
        RETURN;
    END IF;

    UPDATE projects SET next_task_number = next_task_number + 1
     WHERE id = pid RETURNING next_task_number - 1 INTO n;

    INSERT INTO tasks AS x (project_id, number, parent_id, title,
                            description, column_id, priority, reporter_id,
                            labels, start_date, due_date, estimate_minutes,
                            blocked, blocked_reason, completed_at, rank,
                            sprint_id, milestone_id, swimlane_id,
                            custom_fields)
    VALUES (pid, n, (b->>'parent_id')::uuid, b->>'title',
            coalesce(b->>'description', ''), col.id,
            coalesce(b->>'priority', 'medium'), actor,
            coalesce((SELECT array_agg(l) FROM jsonb_array_elements_text(
                          coalesce(b->'labels', '[]')) l), '{}'),
            (b->>'start_date')::date, (b->>'due_date')::date,
            (b->>'estimate_minutes')::int,
            coalesce((b->>'blocked')::boolean, false), b->>'blocked_reason',
            CASE WHEN col.category = 'done' THEN now() END,
            rank_between((SELECT max(rank) FROM tasks
                           WHERE column_id = col.id), NULL),
            (b->>'sprint_id')::uuid, (b->>'milestone_id')::uuid,
            (b->>'swimlane_id')::uuid,
            jsonb_strip_nulls(coalesce(b->'custom_fields', '{}')))
    RETURNING x.* INTO t;

    IF b ? 'assignee_ids' AND NOT task_assign(t.id, b->'assignee_ids') THEN
        RAISE EXCEPTION 'unknown assignee' USING ERRCODE = '23503';
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'task', t.id, 'created', task_json(t));

    RETURN QUERY SELECT 201, task_json(t)::text, '/api/v1/tasks/' || t.id;
END
$$;


CREATE OR REPLACE FUNCTION task_update(actor uuid, role text, tid uuid, b jsonb,
                            expected int)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old  tasks;
    t    tasks;
    was  jsonb;
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

    IF expected IS NOT NULL AND expected <> old.version THEN
        RETURN QUERY SELECT 409, 'version_conflict',
                            'The task was changed meanwhile.';
        RETURN;
    END IF;

    IF b ? 'parent_id' AND b->>'parent_id' IS NOT NULL
       AND (NOT EXISTS (SELECT 1 FROM tasks WHERE project_id = old.project_id
                           AND id = (b->>'parent_id')::uuid)
            OR (b->>'parent_id')::uuid IN (
                   WITH RECURSIVE sub AS (
                       SELECT id FROM tasks WHERE id = tid
                       UNION SELECT c.id FROM tasks c JOIN sub
                                ON c.parent_id = sub.id)
                   SELECT id FROM sub))
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'parent_id must be another task of the project, not a subtask.';
        RETURN;
    END IF;


    IF (b->>'swimlane_id' IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM swimlanes WHERE id = (b->>'swimlane_id')::uuid
               AND project_id = old.project_id))
       OR (b->>'sprint_id' IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM sprints WHERE id = (b->>'sprint_id')::uuid
               AND project_id = old.project_id))
       OR (b->>'milestone_id' IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM milestones WHERE id = (b->>'milestone_id')::uuid
               AND project_id = old.project_id))
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'swimlane_id, sprint_id and milestone_id must be of this project.';
        RETURN;
    END IF;

    was := task_json(old);

    UPDATE tasks SET
        title = coalesce(b->>'title', title),
        description = coalesce(b->>'description', description),
        priority = coalesce(b->>'priority', priority),
        parent_id = CASE WHEN b ? 'parent_id' THEN (b->>'parent_id')::uuid
                         ELSE parent_id END,
        labels = CASE WHEN b ? 'labels' THEN coalesce((
                          SELECT array_agg(l) FROM jsonb_array_elements_text(
                              coalesce(b->'labels', '[]')) l), '{}')
                      ELSE labels END,
        start_date = CASE WHEN b ? 'start_date'
                          THEN (b->>'start_date')::date ELSE start_date END,
        due_date = CASE WHEN b ? 'due_date' THEN (b->>'due_date')::date
                        ELSE due_date END,
        estimate_minutes = CASE WHEN b ? 'estimate_minutes'
                                THEN (b->>'estimate_minutes')::int
                                ELSE estimate_minutes END,
        blocked = coalesce((b->>'blocked')::boolean, blocked),
        blocked_reason = CASE WHEN b ? 'blocked_reason'
                              THEN b->>'blocked_reason'
                              ELSE blocked_reason END,
        sprint_id = CASE WHEN b ? 'sprint_id' THEN (b->>'sprint_id')::uuid
                         ELSE sprint_id END,
        milestone_id = CASE WHEN b ? 'milestone_id'
                            THEN (b->>'milestone_id')::uuid
                            ELSE milestone_id END,
        swimlane_id = CASE WHEN b ? 'swimlane_id'
                           THEN (b->>'swimlane_id')::uuid
                           ELSE swimlane_id END,
        custom_fields = CASE WHEN b ? 'custom_fields'
                             THEN jsonb_strip_nulls(custom_fields
                                      || coalesce(b->'custom_fields', '{}'))
                             ELSE custom_fields END,
        version = version + 1, updated_at = now()
    WHERE id = tid
    RETURNING * INTO t;

    IF b ? 'assignee_ids' AND NOT task_assign(tid, b->'assignee_ids') THEN
        RAISE EXCEPTION 'unknown assignee' USING ERRCODE = '23503';
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, t.project_id, 'task', tid, 'updated', was, task_json(t));

    RETURN QUERY SELECT 200, task_json(t)::text, t.version::text;
END
$$;
