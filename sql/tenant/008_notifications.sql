-- Notifications: what happened to a person's work, for that person only.
--
-- They are made in the transaction of the write that causes them, by
-- triggers, so that no writer can forget them and none outlives a
-- rolled-back change:
--
--   assigned   someone else made you an assignee of a task (at create or
--              by PATCH): from the task's audit row (below, why);
--   mentioned  a comment names you: "@" and your email, or "@" and its
--              local part when no other active member shares it;
--   commented  a comment by someone else on a task you are assignee or
--              reporter of (a mention says it already: then only that);
--   approved   a timesheet approval: its writer calls notification_add().
--
-- Nobody is notified of their own action, and only active people are.
-- Reading one is the person's own state, not the workspace's: it makes no
-- audit row (the audit trail and its event stream are every member's).

CREATE TABLE notifications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigserial NOT NULL,     -- newest first, and the cursor's key
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL
                CHECK (kind IN ('assigned', 'mentioned', 'commented',
                                'approved')),
    actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    -- a notification about a task that is gone leads nowhere
    task_id     uuid REFERENCES tasks (id) ON DELETE CASCADE,
    data        jsonb NOT NULL DEFAULT '{}'
                CHECK (jsonb_typeof(data) = 'object'),
    read_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notifications_user ON notifications (user_id, seq);
CREATE INDEX notifications_unread ON notifications (user_id)
    WHERE read_at IS NULL;
CREATE INDEX notifications_task ON notifications (task_id);


-- Notifies one person; NULL (and nothing) when the person is the actor,
-- nobody, or not active. The id otherwise.
CREATE FUNCTION notification_add(user_id uuid, kind text, actor_id uuid,
                                 task_id uuid, data jsonb)
RETURNS uuid
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    nid  uuid;
BEGIN
    IF notification_add.user_id IS NULL
       OR notification_add.user_id = notification_add.actor_id
       OR NOT EXISTS (SELECT 1 FROM users u
                       WHERE u.id = notification_add.user_id
                         AND u.status = 'active')
    THEN
        RETURN NULL;
    END IF;

    INSERT INTO notifications AS x (user_id, kind, actor_id, task_id, data)
    VALUES (notification_add.user_id, notification_add.kind,
            notification_add.actor_id, notification_add.task_id,
            coalesce(notification_add.data, '{}'))
    RETURNING x.id INTO nid;

    RETURN nid;
END
$$;


CREATE FUNCTION notification_json(n notifications) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', n.id,
               'kind', n.kind,
               'actor', (SELECT jsonb_build_object('id', u.id,
                                                   'name', u.name)
                           FROM users u WHERE u.id = n.actor_id),
               'task', (SELECT jsonb_build_object(
                                   'id', t.id,
                                   'key', p.key || '-' || t.number,
                                   'title', t.title,
                                   'project_id', t.project_id)
                          FROM tasks t JOIN projects p ON p.id = t.project_id
                         WHERE t.id = n.task_id),
               'data', n.data,
               'read_at', n.read_at,
               'created_at', n.created_at)
$$;


-- The active people a text mentions. A mention is "@" where a word
-- starts (not inside "ann@example.com": the character before it is no
-- letter, digit or one of "_.+-@"), then a handle that runs to the first
-- character that cannot be in an email (a sentence's last "." is not part
-- of it). The handle is a member's whole email, or the part before "@"
-- of exactly one active member's, compared without regard to case.
CREATE FUNCTION comment_mentions(body text) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    WITH h AS (
        SELECT DISTINCT lower(rtrim(m[1], '.')) AS handle
          FROM regexp_matches(body,
                   '(?:^|[^[:alnum:]_.+@-])@([[:alnum:]_.%+-]+'
                   '(?:@[[:alnum:]-]+(?:\.[[:alnum:]-]+)+)?)', 'g') m)
    SELECT u.id
      FROM users u JOIN h
        ON lower(u.email) = h.handle
        OR (strpos(h.handle, '@') = 0
            AND lower(split_part(u.email, '@', 1)) = h.handle
            AND (SELECT count(*) FROM users v
                  WHERE v.status = 'active'
                    AND lower(split_part(v.email, '@', 1)) = h.handle) = 1)
     WHERE u.status = 'active'
$$;


CREATE FUNCTION comments_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d  jsonb := jsonb_build_object('comment_id', NEW.id,
                                   'excerpt', left(NEW.body, 200));
BEGIN
    PERFORM notification_add(m, 'mentioned', NEW.author_id, NEW.task_id, d)
       FROM comment_mentions(NEW.body) m;

    PERFORM notification_add(w.id, 'commented', NEW.author_id, NEW.task_id,
                             d)
       FROM (SELECT reporter_id AS id FROM tasks WHERE id = NEW.task_id
             UNION
             SELECT user_id FROM task_assignees
              WHERE task_id = NEW.task_id) w
      WHERE w.id IS NOT NULL
        AND w.id NOT IN (SELECT m FROM comment_mentions(NEW.body) m);

    RETURN NULL;
END
$$;

CREATE TRIGGER comments_notify
    AFTER INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_notify();


-- Assignments are read from the task's audit row, not from task_assignees:
-- the write functions (task_create, task_update) call task_assign(), which
-- knows no actor, before they write that row, and the row has all it
-- takes: the actor, and assignee_ids before and after. A trigger on
-- task_assignees would have to be told the actor some other way (a
-- session setting every writer must remember to make); this one holds for
-- any writer that keeps the audit trail, as every write must.
CREATE FUNCTION activity_log_notify_assigned() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notification_add(a::uuid, 'assigned', NEW.actor_id,
                             NEW.entity_id, '{}')
       FROM jsonb_array_elements_text(NEW.new_values->'assignee_ids') a
      WHERE NOT coalesce(NEW.old_values->'assignee_ids', '[]') ? a;

    RETURN NULL;
END
$$;

CREATE TRIGGER activity_log_notify_assigned
    AFTER INSERT ON activity_log
    FOR EACH ROW
    WHEN (NEW.entity_type = 'task'
          AND jsonb_typeof(NEW.new_values->'assignee_ids') = 'array'
          AND (NEW.action = 'created'
               OR (NEW.action = 'updated'
                   AND NEW.old_values ? 'assignee_ids')))
    EXECUTE FUNCTION activity_log_notify_assigned();


-- An erased person's notifications go with the rest of them (the row of
-- an erased user stays, so the cascade does not do it).
CREATE FUNCTION users_erase_notifications() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM notifications WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_erase_notifications
    AFTER UPDATE OF status ON users
    FOR EACH ROW
    WHEN (NEW.status = 'erased' AND OLD.status <> 'erased')
    EXECUTE FUNCTION users_erase_notifications();


-- Marks one of the actor's notifications read (the first time counts);
-- another person's is not found, like one that does not exist.
CREATE FUNCTION notification_read(actor uuid, nid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n  notifications;
BEGIN
    UPDATE notifications AS x SET read_at = coalesce(x.read_at, now())
     WHERE x.id = nid AND x.user_id = actor
    RETURNING x.* INTO n;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, notification_json(n)::text, NULL::text;
END
$$;
