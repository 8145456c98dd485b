-- Projects, their board columns, swimlanes, milestones, sprints, custom
-- fields and tasks.
--
-- Task keys (VULN-12) come from the project's counter, taken under the
-- project row's lock in the inserting statement: no gaps, no duplicates.
-- A task's place in its column is a rank string (fractional indexing):
-- a move writes one row, and (column, rank) is unique.

CREATE TABLE projects (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key               text NOT NULL UNIQUE CHECK (key ~ '^[A-Z][A-Z0-9]{1,9}$'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description       text NOT NULL DEFAULT '',
    status            text NOT NULL DEFAULT 'planning'
                      CHECK (status IN ('planning', 'active', 'on_hold',
                                        'completed', 'cancelled')),
    team_id           uuid REFERENCES teams (id) ON DELETE SET NULL,
    owner_id          uuid REFERENCES users (id) ON DELETE SET NULL,
    start_date        date,
    due_date          date CHECK (due_date >= start_date),
    next_task_number  integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           integer NOT NULL DEFAULT 1
);

CREATE TABLE columns (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    category    text NOT NULL
                CHECK (category IN ('backlog', 'todo', 'in_progress',
                                    'review', 'done')),
    position    integer NOT NULL,
    wip_limit   integer CHECK (wip_limit > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

CREATE INDEX columns_project ON columns (project_id, position);

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

CREATE TABLE tasks (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id        uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number            integer NOT NULL,
    parent_id         uuid REFERENCES tasks (id) ON DELETE CASCADE,
    title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    description       text NOT NULL DEFAULT '',
    column_id         uuid NOT NULL REFERENCES columns (id),
    priority          text NOT NULL DEFAULT 'medium'
                      CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    reporter_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    labels            text[] NOT NULL DEFAULT '{}',
    start_date        date,
    due_date          date,
    estimate_minutes  integer CHECK (estimate_minutes >= 0),
    blocked           boolean NOT NULL DEFAULT false,
    blocked_reason    text,
    completed_at      timestamptz,
    sprint_id         uuid REFERENCES sprints (id) ON DELETE SET NULL,
    milestone_id      uuid REFERENCES milestones (id) ON DELETE SET NULL,
    swimlane_id       uuid REFERENCES swimlanes (id) ON DELETE SET NULL,
    custom_fields     jsonb NOT NULL DEFAULT '{}'
                      CHECK (jsonb_typeof(custom_fields) = 'object'),
    rank              text COLLATE "C" NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           integer NOT NULL DEFAULT 1,
    UNIQUE (project_id, number),
    -- checked at the end of each statement: a rebalance rewrites them all
    UNIQUE (column_id, rank) DEFERRABLE INITIALLY IMMEDIATE
);

CREATE INDEX tasks_project ON tasks (project_id, id);
CREATE INDEX tasks_parent ON tasks (parent_id);

CREATE TABLE task_assignees (
    task_id  uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, user_id)
);

CREATE INDEX task_assignees_user ON task_assignees (user_id);


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


-- A rank strictly between lo and hi (NULL: no bound), base 36, never
-- ending in '0' so that there is always room below it.
CREATE FUNCTION rank_between(lo text, hi text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    digits  constant text := '0123456789abcdefghijklmnopqrstuvwxyz';
    result  text := '';
    i       integer := 1;
    dl      integer;
    dh      integer;
BEGIN
    LOOP
        dl := CASE WHEN lo IS NOT NULL AND i <= length(lo)
                   THEN strpos(digits, substr(lo, i, 1)) - 1 ELSE 0 END;
        dh := CASE WHEN hi IS NOT NULL AND i <= length(hi)
                   THEN strpos(digits, substr(hi, i, 1)) - 1 ELSE 36 END;

        IF dl = dh THEN
            result := result || substr(digits, dl + 1, 1);
        ELSIF dh - dl > 1 THEN
            RETURN result || substr(digits, (dl + dh) / 2 + 1, 1);
        ELSE
            result := result || substr(digits, dl + 1, 1);
            hi := NULL;         -- past lo's digit, anything above lo will do
        END IF;

        i := i + 1;
    END LOOP;
END
$$;


-- Ranks grow a little with every insertion at the same spot; past 24
-- characters the column's ranks are spread out again, evenly, in one
-- statement (rare: a column is not renumbered on each move).
CREATE FUNCTION rank_spread(i bigint, n bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    digits  constant text := '0123456789abcdefghijklmnopqrstuvwxyz';
    v       bigint := i * (2176782336 / (n + 1));      -- 36^6
    result  text := '';
BEGIN
    FOR k IN 1 .. 6 LOOP
        result := substr(digits, (v % 36)::int + 1, 1) || result;
        v := v / 36;
    END LOOP;

    RETURN rtrim(result, '0');
END
$$;

-- The column's lock is held by the caller. A rebalance never waits for a
-- task another move holds (two such waits could deadlock): if one is
-- busy, the ranks stay as they are until a later move finds them free.
CREATE FUNCTION column_rebalance(cid uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM tasks WHERE column_id = cid FOR UPDATE NOWAIT;

    UPDATE tasks t SET rank = rank_spread(o.n, o.total)
      FROM (SELECT id, row_number() OVER (ORDER BY rank, id) AS n,
                   count(*) OVER () AS total
              FROM tasks WHERE column_id = cid) o
     WHERE t.id = o.id AND t.column_id = cid;
EXCEPTION
    WHEN lock_not_available THEN
        NULL;
END
$$;


-- Who may do what with a project: admins everything; project managers
-- manage projects of their teams (and projects without a team); everyone
-- reads.
CREATE FUNCTION can_manage_project(actor uuid, role text, team uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT role = 'admin'
        OR (role = 'project_manager'
            AND (team IS NULL OR EXISTS (
                     SELECT 1 FROM team_members tm
                      WHERE tm.team_id = team AND tm.user_id = actor)))
$$;

-- Contributors change the tasks assigned to them or reported by them.
CREATE FUNCTION can_change_task(actor uuid, role text, task uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT role IN ('admin', 'project_manager')
        OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = task
                      AND t.reporter_id = actor)
        OR EXISTS (SELECT 1 FROM task_assignees a WHERE a.task_id = task
                      AND a.user_id = actor)
$$;


CREATE FUNCTION project_json(p projects) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT (to_jsonb(p) - 'next_task_number')
           || jsonb_build_object('progress', coalesce((
                  SELECT round(100.0 * count(*) FILTER (
                                   WHERE c.category = 'done')
                               / nullif(count(*), 0))::int
                    FROM tasks t JOIN columns c ON c.id = t.column_id
                   WHERE t.project_id = p.id AND t.parent_id IS NULL), 0))
$$;

CREATE FUNCTION task_json(t tasks) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT (to_jsonb(t) - 'number')
           || jsonb_build_object(
                  'key', (SELECT key FROM projects WHERE id = t.project_id)
                         || '-' || t.number,
                  'category', (SELECT category FROM columns
                                WHERE id = t.column_id),
                  'assignee_ids', coalesce((
                      SELECT jsonb_agg(a.user_id ORDER BY a.user_id)
                        FROM task_assignees a WHERE a.task_id = t.id), '[]'))
$$;

CREATE FUNCTION column_json(c columns) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(c) - 'project_id' - 'created_at' - 'updated_at'
$$;


-- The audit trail knows each row's project, for a project's history.
ALTER TABLE activity_log ADD COLUMN project_id uuid;
CREATE INDEX activity_log_project ON activity_log (project_id, id);


-- The write functions answer as the API does: (status, body or problem
-- code, Location / ETag version or problem detail). Each runs in the
-- caller's one statement, so its change and its audit row commit together.

CREATE FUNCTION project_create(actor uuid, role text, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p  projects;
BEGIN
    IF NOT can_manage_project(actor, role, (b->>'team_id')::uuid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the team''s project managers create its projects.';
        RETURN;
    END IF;

    INSERT INTO projects AS x (key, name, description, status, team_id,
                               owner_id, start_date, due_date)
    VALUES (upper(b->>'key'), b->>'name', coalesce(b->>'description', ''),
            coalesce(b->>'status', 'planning'), (b->>'team_id')::uuid,
            coalesce((b->>'owner_id')::uuid, actor),
            (b->>'start_date')::date, (b->>'due_date')::date)
    RETURNING x.* INTO p;

    INSERT INTO columns (project_id, name, category, position)
    VALUES (p.id, 'Backlog', 'backlog', 0), (p.id, 'To Do', 'todo', 1),
           (p.id, 'In Progress', 'in_progress', 2),
           (p.id, 'Review', 'review', 3), (p.id, 'Done', 'done', 4);

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, p.id, 'project', p.id, 'created', project_json(p));

    RETURN QUERY SELECT 201, project_json(p)::text,
                        '/api/v1/projects/' || p.id;
END
$$;


CREATE FUNCTION project_update(actor uuid, role text, pid uuid, b jsonb,
                               expected int)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old  projects;
    p    projects;
BEGIN
    SELECT * INTO old FROM projects WHERE id = pid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, old.team_id)
       OR (b ? 'team_id' AND NOT can_manage_project(actor, role,
                                                    (b->>'team_id')::uuid))
    THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the team''s project managers change it.';
        RETURN;
    END IF;

    IF expected IS NOT NULL AND expected <> old.version THEN
        RETURN QUERY SELECT 409, 'version_conflict',
                            'The project was changed meanwhile.';
        RETURN;
    END IF;

    UPDATE projects SET
        name = coalesce(b->>'name', name),
        description = coalesce(b->>'description', description),
        status = coalesce(b->>'status', status),
        team_id = CASE WHEN b ? 'team_id' THEN (b->>'team_id')::uuid
                       ELSE team_id END,
        owner_id = CASE WHEN b ? 'owner_id' THEN (b->>'owner_id')::uuid
                        ELSE owner_id END,
        start_date = CASE WHEN b ? 'start_date'
                          THEN (b->>'start_date')::date ELSE start_date END,
        due_date = CASE WHEN b ? 'due_date' THEN (b->>'due_date')::date
                        ELSE due_date END,
        version = version + 1, updated_at = now()
    WHERE id = pid
    RETURNING * INTO p;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, pid, 'project', pid, 'updated', to_jsonb(old),
            to_jsonb(p));

    RETURN QUERY SELECT 200, project_json(p)::text, p.version::text;
END
$$;


CREATE FUNCTION project_delete(actor uuid, role text, pid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old  projects;
BEGIN
    SELECT * INTO old FROM projects WHERE id = pid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, old.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    DELETE FROM tasks WHERE project_id = pid;
    DELETE FROM projects WHERE id = pid;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values)
    VALUES (actor, pid, 'project', pid, 'deleted', to_jsonb(old));

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


CREATE FUNCTION column_create(actor uuid, role text, pid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    proj  projects;
    c     columns;
BEGIN
    SELECT * INTO proj FROM projects WHERE id = pid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_manage_project(actor, role, proj.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    INSERT INTO columns AS x (project_id, name, category, position,
                              wip_limit)
    VALUES (pid, b->>'name', coalesce(b->>'category', 'todo'),
            coalesce((SELECT max(position) + 1 FROM columns
                       WHERE project_id = pid), 0),
            (b->>'wip_limit')::int)
    RETURNING x.* INTO c;

    IF b ? 'position' THEN
        PERFORM column_place(c.id, (b->>'position')::int);
        SELECT * INTO c FROM columns WHERE id = c.id;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'column', c.id, 'created', column_json(c));

    RETURN QUERY SELECT 201, column_json(c)::text,
                        '/api/v1/columns/' || c.id;
END
$$;


-- Moves a column to a position (0 first), the others closing up behind.
CREATE FUNCTION column_place(cid uuid, pos int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pid  uuid;
BEGIN
    SELECT project_id INTO pid FROM columns WHERE id = cid;

    WITH ordered AS (
        SELECT id, row_number() OVER (ORDER BY position, id) - 1 AS n
          FROM columns WHERE project_id = pid AND id <> cid)
    UPDATE columns c
       SET position = CASE WHEN o.n >= greatest(pos, 0) THEN o.n + 1
                           ELSE o.n END
      FROM ordered o WHERE c.id = o.id;

    UPDATE columns SET position = least(greatest(pos, 0),
                                        (SELECT count(*) - 1 FROM columns
                                          WHERE project_id = pid))
     WHERE id = cid;
END
$$;


CREATE FUNCTION column_update(actor uuid, role text, cid uuid, b jsonb,
                              expected int)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old   columns;
    c     columns;
    team  uuid;
BEGIN
    SELECT * INTO old FROM columns WHERE id = cid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    SELECT team_id INTO team FROM projects WHERE id = old.project_id;

    IF NOT can_manage_project(actor, role, team) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    IF expected IS NOT NULL AND expected <> old.version THEN
        RETURN QUERY SELECT 409, 'version_conflict', NULL::text;
        RETURN;
    END IF;

    UPDATE columns SET
        name = coalesce(b->>'name', name),
        category = coalesce(b->>'category', category),
        wip_limit = CASE WHEN b ? 'wip_limit' THEN (b->>'wip_limit')::int
                         ELSE wip_limit END,
        version = version + 1, updated_at = now()
    WHERE id = cid;

    IF b ? 'position' THEN
        PERFORM column_place(cid, (b->>'position')::int);
    END IF;

    -- the tasks' category follows their column
    IF b ? 'category' AND b->>'category' <> old.category THEN
        UPDATE tasks SET completed_at = CASE
                   WHEN b->>'category' = 'done'
                   THEN coalesce(completed_at, now()) END
         WHERE column_id = cid;
    END IF;

    SELECT * INTO c FROM columns WHERE id = cid;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, old.project_id, 'column', cid, 'updated',
            column_json(old), column_json(c));

    RETURN QUERY SELECT 200, column_json(c)::text, c.version::text;
END
$$;


CREATE FUNCTION column_delete(actor uuid, role text, cid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old   columns;
    team  uuid;
BEGIN
    SELECT * INTO old FROM columns WHERE id = cid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    SELECT team_id INTO team FROM projects WHERE id = old.project_id;

    IF NOT can_manage_project(actor, role, team) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    IF EXISTS (SELECT 1 FROM tasks WHERE column_id = cid) THEN
        RETURN QUERY SELECT 409, 'conflict',
                            'Only an empty column can be deleted.';
        RETURN;
    END IF;

    DELETE FROM columns WHERE id = cid;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values)
    VALUES (actor, old.project_id, 'column', cid, 'deleted',
            column_json(old));

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


-- The assignees of a task become exactly ids (active people only).
CREATE FUNCTION task_assign(tid uuid, ids jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_typeof(ids) <> 'array' OR EXISTS (
           SELECT 1 FROM jsonb_array_elements_text(ids) e
            WHERE NOT EXISTS (SELECT 1 FROM users u
                               WHERE u.id::text = e AND u.status = 'active'))
    THEN
        RETURN false;
    END IF;

    DELETE FROM task_assignees
     WHERE task_id = tid
       AND user_id::text NOT IN (SELECT jsonb_array_elements_text(ids));

    INSERT INTO task_assignees (task_id, user_id)
    SELECT tid, e::uuid FROM jsonb_array_elements_text(ids) e
    ON CONFLICT DO NOTHING;

    RETURN true;
END
$$;


CREATE FUNCTION task_create(actor uuid, role text, pid uuid, b jsonb)
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


CREATE FUNCTION task_update(actor uuid, role text, tid uuid, b jsonb,
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


CREATE FUNCTION task_delete(actor uuid, role text, tid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old  tasks;
BEGIN
    SELECT * INTO old FROM tasks WHERE id = tid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values)
    WITH RECURSIVE sub AS (
        SELECT * FROM tasks WHERE id = tid
        UNION ALL SELECT c.* FROM tasks c JOIN sub ON c.parent_id = sub.id)
    SELECT actor, old.project_id, 'task', sub.id, 'deleted', task_json(sub)
      FROM sub;

    DELETE FROM tasks WHERE id = tid;       -- subtasks go by cascade

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


-- A move locks the target column first: moves into one column take turns,
-- and each computes its rank from what the one before it committed.
CREATE FUNCTION task_move(actor uuid, role text, tid uuid, b jsonb,
                          expected int)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    old     tasks;
    col     columns;
    t       tasks;
    lo      text;
    hi      text;
    anchor  tasks;
BEGIN
    SELECT * INTO old FROM tasks WHERE id = tid;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    SELECT * INTO col FROM columns
     WHERE id = (b->>'column_id')::uuid AND project_id = old.project_id
       FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'column_id is not a column of this project.';
        RETURN;
    END IF;

    SELECT * INTO old FROM tasks WHERE id = tid FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF NOT can_change_task(actor, role, tid) THEN
        RETURN QUERY SELECT 403, 'forbidden', NULL::text;
        RETURN;
    END IF;

    IF expected IS NOT NULL AND expected <> old.version THEN
        RETURN QUERY SELECT 409, 'version_conflict',
                            'The task was moved or changed meanwhile.';
        RETURN;
    END IF;

    IF col.id <> old.column_id AND col.wip_limit IS NOT NULL
       AND (SELECT count(*) FROM tasks WHERE column_id = col.id)
           >= col.wip_limit
    THEN
        RETURN QUERY SELECT 409, 'wip_limit_reached',
                            'The column is at its WIP limit.';
        RETURN;
    END IF;

    IF b->>'before_id' IS NOT NULL AND b->>'after_id' IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'Give before_id or after_id, not both.';
        RETURN;
    END IF;

    IF b->>'before_id' IS NOT NULL OR b->>'after_id' IS NOT NULL THEN
        SELECT * INTO anchor FROM tasks
         WHERE id = coalesce(b->>'before_id', b->>'after_id')::uuid
           AND column_id = col.id AND id <> tid;

        IF NOT FOUND THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'before_id or after_id is not another task of that column.';
            RETURN;
        END IF;
    END IF;

    IF b->>'before_id' IS NOT NULL THEN
        hi := anchor.rank;
        SELECT max(rank) INTO lo FROM tasks
         WHERE column_id = col.id AND rank < hi AND id <> tid;
    ELSIF b->>'after_id' IS NOT NULL THEN
        lo := anchor.rank;
        SELECT min(rank) INTO hi FROM tasks
         WHERE column_id = col.id AND rank > lo AND id <> tid;
    ELSE
        SELECT max(rank) INTO lo FROM tasks
         WHERE column_id = col.id AND id <> tid;
    END IF;

    UPDATE tasks SET
        column_id = col.id,
        rank = rank_between(lo, hi),
        completed_at = CASE WHEN col.category = 'done'
                            THEN coalesce(completed_at, now()) END,
        version = version + 1, updated_at = now()
    WHERE id = tid
    RETURNING * INTO t;

    IF length(t.rank) > 24 THEN
        PERFORM column_rebalance(col.id);
        SELECT * INTO t FROM tasks WHERE id = tid;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, t.project_id, 'task', tid, 'moved',
            jsonb_build_object('column_id', old.column_id,
                               'rank', old.rank),
            jsonb_build_object('column_id', t.column_id, 'rank', t.rank,
                               'category', col.category));

    RETURN QUERY SELECT 200, task_json(t)::text, t.version::text;
END
$$;
