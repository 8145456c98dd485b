-- Timesheets: time entries, the one running timer of a person, the weekly
-- sheet and its approval; productivity and utilisation are computed from
-- these and from tasks.
--
-- All writes of one person's time (entries, timer stops, their week's
-- submission and its decision) take one advisory transaction lock per
-- person first (timesheet_lock), then read: of two parallel writes the
-- second sees the first's rows, so a day's 24 hours and a week's lock hold
-- under concurrency.

CREATE TABLE time_entries (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id      uuid REFERENCES tasks (id) ON DELETE SET NULL,
    project_id   uuid REFERENCES projects (id) ON DELETE SET NULL,
    date         date NOT NULL,
    minutes      integer NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
    description  text NOT NULL DEFAULT ''
                 CHECK (length(description) <= 2000),
    billable     boolean NOT NULL DEFAULT false,
    started_at   timestamptz,
    ended_at     timestamptz CHECK (ended_at >= started_at),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1
);

CREATE INDEX time_entries_user_date ON time_entries (user_id, date);
CREATE INDEX time_entries_project_date ON time_entries (project_id, date);
CREATE INDEX time_entries_task ON time_entries (task_id);

-- A week with no row is a draft.
CREATE TABLE timesheet_weeks (
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    week_start    date NOT NULL CHECK (extract(isodow FROM week_start) = 1),
    status        text NOT NULL
                  CHECK (status IN ('submitted', 'approved', 'rejected')),
    reason        text,
    submitted_at  timestamptz,
    decided_at    timestamptz,
    decided_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    version       integer NOT NULL DEFAULT 1,
    PRIMARY KEY (user_id, week_start),
    CHECK (status <> 'rejected' OR length(reason) > 0)
);

-- Timers stay as history once stopped (with the entry they wrote) or
-- discarded (without one); a person has at most one running.
CREATE TABLE timers (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id      uuid REFERENCES tasks (id) ON DELETE SET NULL,
    project_id   uuid REFERENCES projects (id) ON DELETE SET NULL,
    description  text NOT NULL DEFAULT ''
                 CHECK (length(description) <= 2000),
    started_at   timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz,
    entry_id     uuid REFERENCES time_entries (id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX timers_running ON timers (user_id)
    WHERE stopped_at IS NULL;


-- The Monday of an ISO week "2026-W47", or NULL when it is no such week
-- (the form is strict; W53 only in years that have 53 weeks).
CREATE FUNCTION iso_week_start(w text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN extract(isoyear FROM s) = y THEN s END
      FROM (SELECT y, make_date(y, 1, 4)
                      - (extract(isodow FROM make_date(y, 1, 4))::int - 1)
                      + 7 * (n - 1) AS s
              FROM (SELECT substr(w, 1, 4)::int AS y,
                           substr(w, 7, 2)::int AS n
                     WHERE w ~ '^[0-9]{4}-W[0-9]{2}$') p
             WHERE y >= 1 AND n BETWEEN 1 AND 53) q
$$;

CREATE FUNCTION iso_week(d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(d, 'IYYY-"W"IW')
$$;

CREATE FUNCTION timesheet_lock(uid uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('timesheet:' || uid, 0))
$$;

-- draft, submitted, approved or rejected
CREATE FUNCTION week_status(uid uuid, d date) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT status FROM timesheet_weeks
                      WHERE user_id = uid
                        AND week_start = date_trunc('week', d)::date),
                    'draft')
$$;

CREATE FUNCTION day_minutes(uid uuid, d date, other_than uuid) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(minutes), 0)::int FROM time_entries
     WHERE user_id = uid AND date = d AND id IS DISTINCT FROM other_than
$$;

-- A project manager of one of the person's teams.
CREATE FUNCTION manages_user(actor uuid, role text, target uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT role = 'project_manager' AND EXISTS (
               SELECT 1 FROM team_members a
                 JOIN team_members b ON b.team_id = a.team_id
                WHERE a.user_id = actor AND b.user_id = target)
$$;

-- A person's week as the API shows it.
CREATE FUNCTION timesheet_week_json(uid uuid, ws date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'user_id', uid,
        'week', iso_week(ws),
        'week_start', ws,
        'week_end', ws + 6,
        'status', coalesce(w.status, 'draft'),
        'reason', w.reason,
        'submitted_at', w.submitted_at,
        'decided_at', w.decided_at,
        'decided_by', w.decided_by,
        'days', (SELECT jsonb_agg(jsonb_build_object(
                            'date', d::date,
                            'minutes', day_minutes(uid, d::date, NULL))
                            ORDER BY d)
                   FROM generate_series(ws::timestamp, (ws + 6)::timestamp,
                                          '1 day') d),
        'total_minutes', (SELECT coalesce(sum(minutes), 0)
                            FROM time_entries
                           WHERE user_id = uid
                             AND date BETWEEN ws AND ws + 6),
        'entries', coalesce((SELECT jsonb_agg(to_jsonb(e)
                                    ORDER BY e.date, e.created_at, e.id)
                               FROM time_entries e
                              WHERE e.user_id = uid
                                AND e.date BETWEEN ws AND ws + 6), '[]'))
      FROM (SELECT 1) one
      LEFT JOIN timesheet_weeks w ON w.user_id = uid AND w.week_start = ws
$$;


-- The task and project an entry or timer refers to: the task's project
-- when there is a task. (NULL, NULL, problem detail) when they do not fit.
CREATE FUNCTION time_refs(tid uuid, pid uuid, OUT task_id uuid,
                          OUT project_id uuid, OUT problem text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    tp  uuid;
BEGIN
    IF tid IS NOT NULL THEN
        SELECT t.project_id INTO tp FROM tasks t WHERE t.id = tid;
        IF NOT FOUND THEN
            problem := 'task_id: there is no such task.';
            RETURN;
        END IF;
        IF pid IS NOT NULL AND pid <> tp THEN
            problem := 'project_id: the task is of another project.';
            RETURN;
        END IF;
        task_id := tid;
        project_id := tp;
        RETURN;
    END IF;

    IF pid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM projects p
                                        WHERE p.id = pid) THEN
        problem := 'project_id: there is no such project.';
        RETURN;
    END IF;

    project_id := pid;
END
$$;


-- Creates (eid NULL), changes (b) or removes an entry. People write their
-- own; admins anyone's. A manager who sees the owner gets 403, anyone else
-- 404. Every check runs under the owner's lock.
CREATE FUNCTION time_entry_write(actor uuid, role text, eid uuid, b jsonb,
                                 expected int, remove boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old   time_entries;
    e     time_entries;
    refs  record;
    uid   uuid;
    d     date;
    m     int;
    used  int;
BEGIN
    IF eid IS NULL THEN
        uid := actor;
    ELSE
        SELECT * INTO old FROM time_entries WHERE id = eid;
        IF NOT FOUND OR NOT can_see_user(actor, role, old.user_id) THEN
            RETURN QUERY SELECT 404, 'not_found', NULL::text;
            RETURN;
        END IF;
        IF role <> 'admin' AND old.user_id <> actor THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Only its owner or an admin changes a time entry.';
            RETURN;
        END IF;
        uid := old.user_id;
    END IF;

    PERFORM timesheet_lock(uid);

    IF eid IS NOT NULL THEN
        SELECT * INTO old FROM time_entries WHERE id = eid;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 404, 'not_found', NULL::text;
            RETURN;
        END IF;
        IF expected IS NOT NULL AND expected <> old.version THEN
            RETURN QUERY SELECT 409, 'version_conflict',
                                'The entry was changed meanwhile.';
            RETURN;
        END IF;
        IF week_status(uid, old.date) IN ('submitted', 'approved') THEN
            RETURN QUERY SELECT 409, 'locked',
                'The week ' || iso_week(old.date) || ' is '
                || week_status(uid, old.date) || '.';
            RETURN;
        END IF;
    END IF;

    IF remove THEN
        DELETE FROM time_entries WHERE id = eid;
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, old_values)
        VALUES (actor, old.project_id, 'time_entry', eid, 'deleted',
                to_jsonb(old));
        RETURN QUERY SELECT 204, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF eid IS NULL THEN
        SELECT * INTO refs
          FROM time_refs((b->>'task_id')::uuid, (b->>'project_id')::uuid);
    ELSIF b ? 'task_id' OR b ? 'project_id' THEN
        SELECT * INTO refs FROM time_refs(
            CASE WHEN b ? 'task_id' THEN (b->>'task_id')::uuid
                 ELSE old.task_id END,
            -- a new task brings its project; no task keeps the project
            CASE WHEN b ? 'project_id' THEN (b->>'project_id')::uuid
                 WHEN b->>'task_id' IS NOT NULL THEN NULL
                 ELSE old.project_id END);
    ELSE
        SELECT * INTO refs FROM time_refs(old.task_id, old.project_id);
    END IF;

    IF refs.problem IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', refs.problem;
        RETURN;
    END IF;

    d := coalesce((b->>'date')::date, old.date);
    m := coalesce((b->>'minutes')::int, old.minutes);

    IF week_status(uid, d) IN ('submitted', 'approved') THEN
        RETURN QUERY SELECT 409, 'locked',
            'The week ' || iso_week(d) || ' is ' || week_status(uid, d)
            || '.';
        RETURN;
    END IF;

    used := day_minutes(uid, d, eid);

    IF used + m > 1440 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'minutes: a day has 24 hours (1440 minutes); ' || used
            || ' are logged on ' || d || ', ' || 1440 - used || ' are left.';
        RETURN;
    END IF;

    IF eid IS NULL THEN
        INSERT INTO time_entries (user_id, task_id, project_id, date,
                                  minutes, description, billable,
                                  started_at, ended_at)
        VALUES (uid, refs.task_id, refs.project_id, d, m,
                coalesce(b->>'description', ''),
                coalesce((b->>'billable')::boolean, false),
                (b->>'started_at')::timestamptz,
                (b->>'ended_at')::timestamptz)
        RETURNING * INTO e;

        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, new_values)
        VALUES (actor, e.project_id, 'time_entry', e.id, 'created',
                to_jsonb(e));

        RETURN QUERY SELECT 201, to_jsonb(e)::text,
                            '/api/v1/timesheets/entries/' || e.id;
        RETURN;
    END IF;

    UPDATE time_entries x
       SET task_id = refs.task_id, project_id = refs.project_id,
           date = d, minutes = m,
           description = CASE WHEN b ? 'description'
                              THEN coalesce(b->>'description', '')
                              ELSE x.description END,
           billable = CASE WHEN b ? 'billable'
                           THEN coalesce((b->>'billable')::boolean, false)
                           ELSE x.billable END,
           started_at = CASE WHEN b ? 'started_at'
                             THEN (b->>'started_at')::timestamptz
                             ELSE x.started_at END,
           ended_at = CASE WHEN b ? 'ended_at'
                           THEN (b->>'ended_at')::timestamptz
                           ELSE x.ended_at END,
           version = x.version + 1, updated_at = now()
     WHERE x.id = eid
    RETURNING * INTO e;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, e.project_id, 'time_entry', e.id, 'updated',
            to_jsonb(old), to_jsonb(e));

    RETURN QUERY SELECT 200, to_jsonb(e)::text, e.version::text;
END
$$;


CREATE FUNCTION timer_json(t timers) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT (to_jsonb(t) - 'stopped_at' - 'entry_id')
           || jsonb_build_object('elapsed_minutes',
                  floor(extract(epoch FROM now() - t.started_at) / 60)::int)
$$;

CREATE FUNCTION timer_start(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    refs  record;
    t     timers;
BEGIN
    SELECT * INTO refs
      FROM time_refs((b->>'task_id')::uuid, (b->>'project_id')::uuid);

    IF refs.problem IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', refs.problem;
        RETURN;
    END IF;

    BEGIN
        INSERT INTO timers (user_id, task_id, project_id, description)
        VALUES (actor, refs.task_id, refs.project_id,
                coalesce(b->>'description', ''))
        RETURNING * INTO t;
    EXCEPTION WHEN unique_violation THEN
        RETURN QUERY SELECT 409, 'conflict',
                            'A timer is running already: stop it first.';
        RETURN;
    END;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, t.project_id, 'timer', t.id, 'started', to_jsonb(t));

    RETURN QUERY SELECT 201, timer_json(t)::text,
                        '/api/v1/timesheets/timer'::text;
END
$$;

-- Stops the running timer into an entry on the day it started (UTC) of
-- its minutes rounded to the nearest, at least 1; or discards it.
CREATE FUNCTION timer_stop(actor uuid, discard boolean)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t     timers;
    e     time_entries;
    d     date;
    m     int;
    used  int;
BEGIN
    PERFORM timesheet_lock(actor);

    SELECT * INTO t FROM timers
     WHERE user_id = actor AND stopped_at IS NULL FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', 'No timer is running.';
        RETURN;
    END IF;

    IF discard THEN
        UPDATE timers SET stopped_at = now() WHERE id = t.id;
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action)
        VALUES (actor, t.project_id, 'timer', t.id, 'discarded');
        RETURN QUERY SELECT 204, NULL::text, NULL::text;
        RETURN;
    END IF;

    d := (t.started_at AT TIME ZONE 'UTC')::date;
    m := greatest(1, round(extract(epoch FROM now() - t.started_at) / 60));

    IF week_status(actor, d) IN ('submitted', 'approved') THEN
        RETURN QUERY SELECT 409, 'locked',
            'The week ' || iso_week(d) || ' is ' || week_status(actor, d)
            || '; discard the timer (DELETE /api/v1/timesheets/timer).';
        RETURN;
    END IF;

    used := day_minutes(actor, d, NULL);

    IF used + m > 1440 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'minutes: the timer ran ' || m || ' minutes and ' || used
            || ' are logged on ' || d || ': a day has 1440; discard the'
            || ' timer (DELETE /api/v1/timesheets/timer) and log by hand.';
        RETURN;
    END IF;

    INSERT INTO time_entries (user_id, task_id, project_id, date, minutes,
                              description, started_at, ended_at)
    VALUES (actor, t.task_id, t.project_id, d, m, t.description,
            t.started_at, now())
    RETURNING * INTO e;

    UPDATE timers SET stopped_at = now(), entry_id = e.id WHERE id = t.id;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, e.project_id, 'time_entry', e.id, 'created',
            to_jsonb(e) || jsonb_build_object('timer_id', t.id));

    RETURN QUERY SELECT 201, to_jsonb(e)::text,
                        '/api/v1/timesheets/entries/' || e.id;
END
$$;


-- GET /weekly: a malformed week is 400 (a query parameter); someone the
-- caller may not see is 403 (for non-admins whether or not they exist).
CREATE FUNCTION timesheet_week_get(actor uuid, role text, w text, uid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    ws  date;
BEGIN
    ws := CASE WHEN w IS NULL THEN date_trunc('week', current_date)::date
               ELSE iso_week_start(w) END;

    IF ws IS NULL THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'week is an ISO week such as 2026-W47 (W53 only in years '
            'that have it).';
        RETURN;
    END IF;

    uid := coalesce(uid, actor);

    IF NOT can_see_user(actor, role, uid) THEN
        RETURN QUERY SELECT 403, 'forbidden',
                            'You may not read this person''s time.';
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = uid
                      AND u.status <> 'erased') THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, timesheet_week_json(uid, ws)::text, NULL::text;
END
$$;


-- The state machine of a week: draft -> submitted -> approved | rejected,
-- rejected -> submitted. 'submit' is the owner's; 'approve' and 'reject'
-- an admin's or a project manager's of one of the owner's teams, never
-- the owner's own (admins included). The fourth column is the audit row.
CREATE FUNCTION timesheet_week_change(actor uuid, role text, b jsonb,
                                      action text)
RETURNS TABLE (status int, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    uid     uuid;
    ws      date;
    cur     text;
    why     text;
    aid     bigint;
BEGIN
    ws := iso_week_start(b->>'week');

    IF ws IS NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'week: an ISO week such as 2026-W47 (W53 only in years that '
            'have it).', NULL::bigint;
        RETURN;
    END IF;

    IF action = 'submit' THEN
        uid := actor;
    ELSE
        uid := (b->>'user_id')::uuid;

        IF role <> 'admin' AND NOT manages_user(actor, role, uid) THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Only an admin or a project manager of one of their teams '
                'decides on a week.', NULL::bigint;
            RETURN;
        END IF;

        IF uid = actor THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Someone else approves or rejects your own week.',
                NULL::bigint;
            RETURN;
        END IF;

        IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = uid
                          AND u.status <> 'erased') THEN
            RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint;
            RETURN;
        END IF;
    END IF;

    PERFORM timesheet_lock(uid);

    cur := week_status(uid, ws);

    IF action = 'submit' AND cur NOT IN ('draft', 'rejected') THEN
        RETURN QUERY SELECT 409, 'conflict',
            'The week ' || iso_week(ws) || ' is ' || cur || ' already.',
            NULL::bigint;
        RETURN;
    END IF;

    IF action <> 'submit' AND cur <> 'submitted' THEN
        RETURN QUERY SELECT 409, 'conflict',
            'Only a submitted week is approved or rejected; '
            || iso_week(ws) || ' is ' || cur || '.', NULL::bigint;
        RETURN;
    END IF;

    IF action = 'reject' THEN
        why := btrim(b->>'reason');
        IF coalesce(why, '') = '' THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'reason: say why the week is rejected.', NULL::bigint;
            RETURN;
        END IF;
    END IF;

    IF action = 'submit' THEN
        INSERT INTO timesheet_weeks AS w (user_id, week_start, status,
                                          submitted_at)
        VALUES (uid, ws, 'submitted', now())
        ON CONFLICT (user_id, week_start) DO UPDATE
           SET status = 'submitted', submitted_at = now(), reason = NULL,
               decided_at = NULL, decided_by = NULL,
               version = w.version + 1;
    ELSE
        UPDATE timesheet_weeks w
           SET status = CASE action WHEN 'approve' THEN 'approved'
                                    ELSE 'rejected' END,
               reason = why,
               decided_at = now(), decided_by = actor,
               version = w.version + 1
         WHERE w.user_id = uid AND w.week_start = ws;
    END IF;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              old_values, new_values)
    VALUES (actor, 'timesheet', uid,
            CASE action WHEN 'submit' THEN 'submitted'
                        WHEN 'approve' THEN 'approved'
                        ELSE 'rejected' END,
            jsonb_build_object('user_id', uid, 'week', iso_week(ws),
                               'status', cur),
            jsonb_build_object('user_id', uid, 'week', iso_week(ws),
                               'status', week_status(uid, ws),
                               'reason', why))
    RETURNING id INTO aid;

    RETURN QUERY SELECT 200, timesheet_week_json(uid, ws)::text, NULL::text,
                        aid;
END
$$;


-- How many minutes a week a person is expected to work (40 h by default);
-- an admin sets it (PATCH /api/v1/users/{id}).
ALTER TABLE users
    ADD COLUMN weekly_capacity_minutes integer NOT NULL DEFAULT 2400
        CHECK (weekly_capacity_minutes BETWEEN 0 AND 10080);


-- Monday to Friday in [f, t].
CREATE FUNCTION working_days(f date, t date) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT count(*)::int
      FROM generate_series(f::timestamp, t::timestamp, '1 day') d
     WHERE extract(isodow FROM d) < 6
$$;

-- What productivity and utilisation are made of, per person in [f, t]:
-- tasks assigned to them completed in the period (completed_at's UTC
-- date), those of them with a due date and those done by it, minutes
-- logged, and capacity: their weekly minutes / 5 for each working day.
CREATE FUNCTION time_figures(uids uuid[], f date, t date)
RETURNS TABLE (user_id uuid, name text, email text, completed int,
               with_due int, on_time int, logged int, billable int,
               capacity int)
LANGUAGE sql STABLE AS $$
    SELECT u.id, u.name, u.email,
           coalesce(c.completed, 0), coalesce(c.with_due, 0),
           coalesce(c.on_time, 0), coalesce(l.logged, 0),
           coalesce(l.billable, 0),
           round(u.weekly_capacity_minutes * working_days(f, t) / 5.0)::int
      FROM users u
      LEFT JOIN LATERAL (
           SELECT count(*)::int AS completed,
                  count(*) FILTER (WHERE k.due_date IS NOT NULL)::int
                      AS with_due,
                  count(*) FILTER (WHERE (k.completed_at AT TIME ZONE 'UTC')
                                         ::date <= k.due_date)::int
                      AS on_time
             FROM task_assignees a JOIN tasks k ON k.id = a.task_id
            WHERE a.user_id = u.id AND k.completed_at IS NOT NULL
              AND (k.completed_at AT TIME ZONE 'UTC')::date
                  BETWEEN f AND t) c ON true
      LEFT JOIN LATERAL (
           SELECT sum(e.minutes)::int AS logged,
                  sum(e.minutes) FILTER (WHERE e.billable)::int AS billable
             FROM time_entries e
            WHERE e.user_id = u.id AND e.date BETWEEN f AND t) l ON true
     WHERE u.id = ANY (uids)
$$;

-- One person's productivity against the best of their peers: completed
-- tasks normalised to the best count (0 when nobody completed any), the
-- on-time rate (NULL with no due dates to judge; 0 in the score), and
-- utilisation capped at 1.
CREATE FUNCTION productivity_json(uid uuid, name text, completed int,
                                  with_due int, on_time int, logged int,
                                  capacity int, best int)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    norm    numeric;
    ontime  numeric;
    util    numeric;
BEGIN
    norm := CASE WHEN best > 0 THEN completed::numeric / best ELSE 0 END;
    ontime := CASE WHEN with_due > 0
                   THEN on_time::numeric / with_due END;
    util := CASE WHEN capacity > 0
                 THEN least(1, logged::numeric / capacity) ELSE 0 END;

    RETURN jsonb_build_object(
        'user_id', uid,
        'name', name,
        'tasks_completed', completed,
        'tasks_with_due_date', with_due,
        'tasks_on_time', on_time,
        'on_time_rate', round(ontime, 4),
        'logged_minutes', logged,
        'capacity_minutes', capacity,
        'utilization_rate', round(util, 4),
        'completed_normalized', round(norm, 4),
        'score', round(0.4 * norm + 0.3 * coalesce(ontime, 0) + 0.3 * util,
                       4));
END
$$;

-- The period of ?from&to: by default the 30 days up to today; NULL when
-- it is backwards or longer than 366 days.
CREATE FUNCTION report_period(f date, t date, OUT f_out date,
                              OUT t_out date)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN tt - ff BETWEEN 0 AND 365 THEN ff END,
           CASE WHEN tt - ff BETWEEN 0 AND 365 THEN tt END
      FROM (SELECT coalesce(f, coalesce(t, current_date) - 29) AS ff,
                   coalesce(t, current_date) AS tt) p
$$;

-- /productivity/me (team NULL): the caller, normalised to the best of
-- everyone who shares a team with them (or to themselves alone).
-- /productivity/team/{id}: the team's members, each and together, for the
-- team's project managers and admins.
CREATE FUNCTION productivity(actor uuid, role text, team uuid, f date,
                             t date)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p       record;
    peers   uuid[];
    best    int;
    me      jsonb;
    members jsonb;
    agg     record;
BEGIN
    SELECT * INTO p FROM report_period(f, t);

    IF p.f_out IS NULL THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'from must not be after to, and the period is at most 366 days.';
        RETURN;
    END IF;

    IF team IS NULL THEN
        peers := ARRAY(SELECT DISTINCT b.user_id FROM team_members a
                         JOIN team_members b ON b.team_id = a.team_id
                        WHERE a.user_id = actor) || actor;
    ELSE
        IF role <> 'admin' AND NOT (role = 'project_manager' AND EXISTS (
                SELECT 1 FROM team_members tm
                 WHERE tm.team_id = team AND tm.user_id = actor)) THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Only the team''s project managers and admins read this.';
            RETURN;
        END IF;

        IF NOT EXISTS (SELECT 1 FROM teams WHERE id = team) THEN
            RETURN QUERY SELECT 404, 'not_found', NULL::text;
            RETURN;
        END IF;

        peers := ARRAY(SELECT tm.user_id FROM team_members tm
                         JOIN users u ON u.id = tm.user_id
                        WHERE tm.team_id = team AND u.status <> 'erased');
    END IF;

    SELECT coalesce(max(completed), 0) INTO best
      FROM time_figures(peers, p.f_out, p.t_out);

    IF team IS NULL THEN
        SELECT productivity_json(x.user_id, x.name, x.completed,
                                 x.with_due, x.on_time, x.logged,
                                 x.capacity, best) INTO me
          FROM time_figures(ARRAY[actor], p.f_out, p.t_out) x;

        RETURN QUERY SELECT 200, (me || jsonb_build_object(
                                      'from', p.f_out, 'to', p.t_out,
                                      'best_tasks_completed', best))::text,
                            NULL::text;
        RETURN;
    END IF;

    SELECT coalesce(jsonb_agg(productivity_json(x.user_id, x.name,
                                  x.completed, x.with_due, x.on_time,
                                  x.logged, x.capacity, best)
                              ORDER BY x.name, x.user_id), '[]')
      INTO members FROM time_figures(peers, p.f_out, p.t_out) x;

    SELECT coalesce(sum(completed), 0)::int AS completed,
           coalesce(sum(with_due), 0)::int AS with_due,
           coalesce(sum(on_time), 0)::int AS on_time,
           coalesce(sum(logged), 0)::int AS logged,
           coalesce(sum(capacity), 0)::int AS capacity
      INTO agg FROM time_figures(peers, p.f_out, p.t_out);

    RETURN QUERY SELECT 200, jsonb_build_object(
        'team_id', team, 'from', p.f_out, 'to', p.t_out,
        'best_tasks_completed', best,
        'tasks_completed', agg.completed,
        'tasks_with_due_date', agg.with_due,
        'tasks_on_time', agg.on_time,
        'on_time_rate', CASE WHEN agg.with_due > 0
                             THEN round(agg.on_time::numeric / agg.with_due,
                                        4) END,
        'logged_minutes', agg.logged,
        'capacity_minutes', agg.capacity,
        'utilization_rate', CASE WHEN agg.capacity > 0
                                 THEN round(least(1, agg.logged::numeric
                                                     / agg.capacity), 4)
                                 ELSE 0 END,
        'score', coalesce((SELECT round(avg((r->>'score')::numeric), 4)
                             FROM jsonb_array_elements(members) r), 0),
        'members', members)::text, NULL::text;
END
$$;


-- A CSV cell (RFC 4180): quoted when it holds a quote, comma or line
-- break; text a spreadsheet would take for a formula (= + - @, tab, CR
-- first) gets a leading apostrophe.
CREATE FUNCTION csv_cell(v text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s ~ '[",\r\n]'
                THEN '"' || replace(s, '"', '""') || '"' ELSE s END
      FROM (SELECT CASE WHEN v ~ '^[=+@\t\r-]' THEN '''' || v
                        ELSE coalesce(v, '') END AS s) x
$$;

-- Logged against capacity per person in [f, t]; utilisation here is not
-- capped (overtime shows). A team's for its project managers and admins;
-- without a team, everyone an admin sees, the people of a manager's
-- teams for a manager. CSV when the Accept header asks for text/csv.
CREATE FUNCTION utilization_report(actor uuid, role text, f date, t date,
                                   team uuid, accept text)
RETURNS TABLE (status int, body text, extra text, activity bigint,
               type text, filename text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p      record;
    uids   uuid[];
    items  jsonb;
BEGIN
    SELECT * INTO p FROM report_period(f, t);

    IF p.f_out IS NULL THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'from must not be after to, and the period is at most 366 days.',
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    IF team IS NOT NULL THEN
        IF role <> 'admin' AND NOT EXISTS (
                SELECT 1 FROM team_members tm
                 WHERE tm.team_id = team AND tm.user_id = actor) THEN
            RETURN QUERY SELECT 403, 'forbidden',
                'Only the team''s project managers and admins read this.',
                NULL::bigint, NULL::text, NULL::text;
            RETURN;
        END IF;

        IF NOT EXISTS (SELECT 1 FROM teams WHERE id = team) THEN
            RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint,
                                NULL::text, NULL::text;
            RETURN;
        END IF;

        uids := ARRAY(SELECT tm.user_id FROM team_members tm
                        JOIN users u ON u.id = tm.user_id
                       WHERE tm.team_id = team AND u.status <> 'erased');
    ELSE
        uids := ARRAY(SELECT u.id FROM users u
                       WHERE u.status <> 'erased'
                         -- qualified: users has a column named role
                         AND can_see_user(actor, utilization_report.role,
                                          u.id));
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'user_id', x.user_id, 'name', x.name, 'email', x.email,
               'logged_minutes', x.logged,
               'billable_minutes', x.billable,
               'capacity_minutes', x.capacity,
               'utilization_rate', CASE WHEN x.capacity > 0
                                        THEN round(x.logged::numeric
                                                   / x.capacity, 4) END)
               ORDER BY x.name, x.user_id), '[]')
      INTO items FROM time_figures(uids, p.f_out, p.t_out) x;

    IF accept ~* 'text/csv' THEN
        RETURN QUERY SELECT 200,
            'user_id,name,email,logged_minutes,billable_minutes,'
            || 'capacity_minutes,utilization_rate' || E'\r\n'
            || coalesce((SELECT string_agg(
                   concat_ws(',', csv_cell(i->>'user_id'),
                             csv_cell(i->>'name'), csv_cell(i->>'email'),
                             i->>'logged_minutes', i->>'billable_minutes',
                             i->>'capacity_minutes',
                             coalesce(i->>'utilization_rate', ''))
                   || E'\r\n', '' ORDER BY n)
                   FROM jsonb_array_elements(items) WITH ORDINALITY
                        AS a(i, n)), ''),
            NULL::text, NULL::bigint, 'text/csv; charset=utf-8'::text,
            'utilization-' || p.f_out || '-' || p.t_out || '.csv';
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, jsonb_build_object(
        'from', p.f_out, 'to', p.t_out, 'team_id', team,
        'working_days', working_days(p.f_out, p.t_out),
        'items', items,
        'total', jsonb_build_object(
            'logged_minutes', (SELECT coalesce(sum((i->>'logged_minutes')
                                                   ::int), 0)
                                 FROM jsonb_array_elements(items) i),
            'capacity_minutes', (SELECT coalesce(sum((i->>'capacity_minutes')
                                                     ::int), 0)
                                   FROM jsonb_array_elements(items) i)))::text,
        NULL::text, NULL::bigint, NULL::text, NULL::text;
END
$$;
