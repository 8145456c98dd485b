-- Reminders. Each assignee of an open task with a due date is told the
-- day before it is due (due_soon) and the day after it was (overdue), at
-- the hour of the day they chose (9 by default, in the workspace's time
-- zone), once per task, kind and due date: a due date moved is told
-- again. And anyone may ask to be reminded of a task at a time of their
-- choosing ("remind me"). Both are notifications (008), so they reach the
-- person in the app and, by their mail preferences (036), by email.
--
-- Once: a notice is sent in the transaction that records it, under a key
-- (due_reminders_sent's primary key; a reminder's sent_at claimed FOR
-- UPDATE SKIP LOCKED), so nodes that sweep at the same time tell it once.
--
-- planner_step() is what nginx's planner sweep calls: the due
-- occurrences of recurring tasks (067), then the due reminders, and when
-- the next of either is due.

CREATE TABLE reminder_settings (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hour        smallint NOT NULL DEFAULT 9 CHECK (hour BETWEEN 0 AND 23),
    enabled     boolean NOT NULL DEFAULT true,   -- due_soon and overdue
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE task_reminders (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remind_at   timestamptz NOT NULL,
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    sent_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX task_reminders_due ON task_reminders (remind_at)
    WHERE sent_at IS NULL;
CREATE INDEX task_reminders_task ON task_reminders (task_id, user_id);

CREATE TABLE due_reminders_sent (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id   uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
    due_date  date NOT NULL,
    sent_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, task_id, kind, due_date)
);

CREATE INDEX due_reminders_sent_task ON due_reminders_sent (task_id);

CREATE INDEX tasks_open_due ON tasks (due_date)
    WHERE completed_at IS NULL AND due_date IS NOT NULL;


ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assigned', 'mentioned', 'commented', 'approved',
                    'webhook_disabled', 'health_changed', 'update_due',
                    'due_soon', 'overdue', 'reminder'));

CREATE OR REPLACE FUNCTION mail_notification_kinds() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['assigned', 'mentioned', 'commented', 'approved',
                 'webhook_disabled', 'health_changed', 'update_due',
                 'due_soon', 'overdue', 'reminder']
$$;

CREATE OR REPLACE FUNCTION mail_notification_line(n notifications)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE n.kind
               WHEN 'due_soon' THEN 'Due on ' || (n.data->>'due_date') || ': '
               WHEN 'overdue' THEN 'Overdue since '
                                   || (n.data->>'due_date') || ': '
               WHEN 'reminder' THEN 'Reminder: '
               ELSE coalesce((SELECT u.name FROM users u
                               WHERE u.id = n.actor_id), 'Someone')
                    || CASE n.kind
                           WHEN 'assigned' THEN ' assigned you '
                           WHEN 'mentioned' THEN ' mentioned you on '
                           WHEN 'commented' THEN ' commented on '
                           WHEN 'approved' THEN ' approved your timesheet'
                           WHEN 'webhook_disabled'
                           THEN ' - a webhook was disabled'
                           WHEN 'health_changed'
                           THEN ' - a project''s health changed'
                           WHEN 'update_due'
                           THEN ' - a project update is due'
                           ELSE ' - ' || n.kind END END
           || coalesce((SELECT p.key || '-' || t.number || ' ' || t.title
                          FROM tasks t JOIN projects p ON p.id = t.project_id
                         WHERE t.id = n.task_id), '')
           || CASE WHEN n.kind = 'reminder' AND n.data->>'note' <> ''
                   THEN ' (' || (n.data->>'note') || ')' ELSE '' END
$$;


CREATE FUNCTION reminder_settings_json(uid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'hour', coalesce(s.hour, 9),
               'enabled', coalesce(s.enabled, true),
               'time_zone', workspace_time_zone())
      FROM (SELECT 1) one
      LEFT JOIN reminder_settings s ON s.user_id = uid
$$;


-- PUT /api/v1/me/reminder-settings: {hour?, enabled?}
CREATE FUNCTION reminder_settings_put(uid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
BEGIN
    IF b ? 'hour' AND (jsonb_typeof(b->'hour') <> 'number'
                       OR (b->>'hour')::numeric NOT IN
                          (SELECT generate_series(0, 23)))
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'hour is a whole hour from 0 to 23.';
        RETURN;
    END IF;

    INSERT INTO reminder_settings AS s (user_id, hour, enabled)
    VALUES (uid, coalesce((b->>'hour')::smallint, 9),
            coalesce((b->>'enabled')::boolean, true))
    ON CONFLICT (user_id) DO UPDATE
       SET hour = coalesce((b->>'hour')::smallint, s.hour),
           enabled = coalesce((b->>'enabled')::boolean, s.enabled),
           updated_at = now();

    RETURN QUERY SELECT 200, reminder_settings_json(uid)::text, NULL::text;
END
$$;


CREATE FUNCTION task_reminder_json(x task_reminders) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', x.id, 'task_id', x.task_id,
                              'remind_at', x.remind_at, 'note', x.note,
                              'sent_at', x.sent_at,
                              'created_at', x.created_at)
$$;


-- POST /api/v1/tasks/{id}/reminders: {at} or {in_minutes}, note?. At
-- most 50 waiting per person and task, within five years.
CREATE FUNCTION task_reminder_add(uid uuid, tid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
DECLARE
    at_  timestamptz;
    x    task_reminders;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tasks WHERE id = tid) THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF (b ? 'at') = (b ? 'in_minutes') THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'Either at (a time) or in_minutes.';
        RETURN;
    END IF;

    IF b ? 'at' THEN
        IF b->>'at' !~ ('^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}'
                        || '(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})$')
        THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'at is an RFC 3339 time with its offset, '
                '2026-11-22T10:30:00Z.';
            RETURN;
        END IF;
        BEGIN
            at_ := (b->>'at')::timestamptz;
        EXCEPTION WHEN others THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                                'at is not a time of the calendar.';
            RETURN;
        END;
    ELSE
        at_ := now() + make_interval(mins => (b->>'in_minutes')::int);
    END IF;

    IF at_ > now() + interval '5 years'
       OR at_ < now() - interval '1 minute'
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'A reminder is from now to five years ahead.';
        RETURN;
    END IF;

    IF (SELECT count(*) FROM task_reminders WHERE task_id = tid
           AND user_id = uid AND sent_at IS NULL) >= 50
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'At most 50 reminders wait on a task.';
        RETURN;
    END IF;

    INSERT INTO task_reminders (task_id, user_id, remind_at, note)
    VALUES (tid, uid, at_, coalesce(b->>'note', ''))
    RETURNING * INTO x;

    RETURN QUERY SELECT 201, task_reminder_json(x)::text,
                        '/api/v1/reminders/' || x.id;
END
$$;


-- The notices of due dates still to send: who, which task, which kind,
-- and when (the person's hour on the day before or after the due date).
-- An overdue task of more than a week is not news.
CREATE FUNCTION due_notices()
RETURNS TABLE (user_id uuid, task_id uuid, kind text, due_date date,
               at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT a.user_id, t.id, k.kind, t.due_date,
           (k.day + make_time(coalesce(s.hour, 9), 0, 0))
               AT TIME ZONE workspace_time_zone()
      FROM tasks t
      JOIN task_assignees a ON a.task_id = t.id
      JOIN users u ON u.id = a.user_id AND u.status = 'active'
      LEFT JOIN reminder_settings s ON s.user_id = a.user_id
     CROSS JOIN LATERAL (VALUES ('due_soon', t.due_date - 1),
                                ('overdue', t.due_date + 1)) k (kind, day)
     WHERE t.completed_at IS NULL AND t.due_date IS NOT NULL
       AND t.due_date >= workspace_today() - 7
       AND coalesce(s.enabled, true)
       AND (k.kind = 'overdue' OR t.due_date >= workspace_today())
       AND NOT EXISTS (SELECT 1 FROM due_reminders_sent r
                        WHERE r.user_id = a.user_id AND r.task_id = t.id
                          AND r.kind = k.kind AND r.due_date = t.due_date)
$$;


-- Sends what is due, at most budget of each sort; how many, and in how
-- many seconds the next is due (NULL: none).
CREATE FUNCTION reminders_send(budget integer,
                               OUT sent integer, OUT next_in float8)
LANGUAGE plpgsql AS $$
DECLARE
    n  integer;
BEGIN
    WITH d AS (SELECT * FROM due_notices() WHERE at <= now()
                ORDER BY at LIMIT budget),
         i AS (INSERT INTO due_reminders_sent (user_id, task_id, kind,
                                               due_date)
               SELECT user_id, task_id, kind, due_date FROM d
               ON CONFLICT DO NOTHING
               RETURNING *)
    SELECT count(notification_add(i.user_id, i.kind, NULL, i.task_id,
                                  jsonb_build_object('due_date', i.due_date)))
      INTO sent FROM i;

    WITH c AS (SELECT id FROM task_reminders
                WHERE sent_at IS NULL AND remind_at <= now()
                ORDER BY remind_at FOR UPDATE SKIP LOCKED LIMIT budget),
         u AS (UPDATE task_reminders x SET sent_at = now()
                 FROM c WHERE x.id = c.id
               RETURNING x.*)
    SELECT count(notification_add(u.user_id, 'reminder', NULL, u.task_id,
                                  jsonb_build_object('reminder_id', u.id,
                                                     'note', u.note,
                                                     'remind_at',
                                                     u.remind_at)))
      INTO n FROM u;

    sent := sent + n;

    SELECT extract(epoch FROM least(
               (SELECT min(at) FROM due_notices()),
               (SELECT min(remind_at) FROM task_reminders
                 WHERE sent_at IS NULL)) - now())
      INTO next_in;

    next_in := greatest(next_in, 0);
END
$$;


-- The planner's step: occurrences, then reminders, and when to come
-- back. One planner works in a workspace at a time (a transaction's
-- advisory lock): another that asks meanwhile is told busy and comes
-- back, instead of queueing on the same rows. A series that waits for
-- its last task to be done has no time of its own: the write that
-- finishes the task steps the planner.
CREATE FUNCTION planner_step(budget integer, OUT made integer,
                             OUT sent integer, OUT next_in float8,
                             OUT busy boolean)
LANGUAGE plpgsql AS $$
DECLARE
    a  float8;
    b  float8;
BEGIN
    busy := NOT pg_try_advisory_xact_lock(hashtext('kanban planner'));

    IF busy THEN
        made := 0;
        sent := 0;
        RETURN;
    END IF;

    SELECT m.made, m.next_in INTO made, a FROM recurrence_make(budget) m;
    SELECT s.sent, s.next_in INTO sent, b FROM reminders_send(budget) s;

    next_in := CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a
                    ELSE least(a, b) END;
END
$$;
