-- Comments, dependencies between tasks, and the writes of milestones and
-- sprints.

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


