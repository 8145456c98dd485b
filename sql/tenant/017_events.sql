-- The event stream's log: what GET /api/v1/events sends, live and when a
-- client resumes (Last-Event-ID), from one definition.
--
-- An event is made from an audit row (or a new notification) as its
-- transaction commits, by deferred triggers, with the data it carries as
-- of that commit. Its id is its place in the order of commits: the
-- triggers number events under a lock of the workspace's database that
-- the transaction keeps until it has committed, so an event is visible
-- only once every event before it is. A reader that has seen id N has
-- therefore seen, or may still read, everything up to N, and nothing
-- below N can appear later: resuming after N loses and repeats nothing.
-- (activity_log's own ids come from a sequence taken anywhere in a
-- transaction: two writes can commit in the other order than their ids.)
--
-- Who may read an event: everyone in the workspace when readers is NULL;
-- else the people it names, and admins too when admins is true. A week of
-- time is its person's and their teams' project managers'; a share
-- link's visits are its creator's and the managers of its project's;
-- a notification is its person's alone.
--
-- Events are kept for a day (events_prune, run as events are added): a
-- client that comes back later than that is told to reload (the stream's
-- reset event). The newest event is always kept, so that the stream
-- knows where the log stands.

CREATE TABLE events (
    id           bigint PRIMARY KEY,
    activity_id  bigint,
    type         text NOT NULL,
    project_id   uuid,
    readers      uuid[],
    admins       boolean NOT NULL DEFAULT true,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE events_id_seq OWNED BY events.id;

CREATE INDEX events_time ON events (created_at);


-- The project managers of a person's teams.
CREATE FUNCTION managers_of(uid uuid) RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT m.id), '{}')
      FROM team_members a
      JOIN team_members b ON b.team_id = a.team_id
      JOIN users m ON m.id = b.user_id
     WHERE a.user_id = uid AND m.role = 'project_manager'
       AND m.status = 'active'
$$;


-- The event an audit row makes, or none (type NULL): the one definition
-- of each event's type, data and readers. The data is what the write
-- answered (a deleted thing's id only).
CREATE FUNCTION activity_event(a activity_log, OUT type text,
                               OUT data jsonb, OUT readers uuid[],
                               OUT admins boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    gone  jsonb := jsonb_build_object('id', a.entity_id);
    l     share_links;
BEGIN
    admins := true;

    IF a.entity_type = 'task'
       AND a.action IN ('created', 'updated', 'moved', 'deleted')
    THEN
        type := 'task.' || a.action;
        data := coalesce((SELECT task_json(t) FROM tasks t
                           WHERE t.id = a.entity_id AND a.action <> 'deleted'),
                         gone);

    ELSIF a.entity_type = 'project'
          AND a.action IN ('created', 'updated', 'deleted')
    THEN
        type := 'project.' || a.action;
        data := coalesce((SELECT project_json(p) FROM projects p
                           WHERE p.id = a.entity_id
                             AND a.action <> 'deleted'), gone);

    ELSIF a.entity_type = 'comment' AND a.action = 'created' THEN
        type := 'comment.created';
        data := coalesce((SELECT to_jsonb(c) FROM comments c
                           WHERE c.id = a.entity_id), gone);

    ELSIF a.entity_type = 'milestone' THEN
        type := 'milestone.updated';
        data := coalesce((SELECT to_jsonb(m) FROM milestones m
                           WHERE m.id = a.entity_id), gone);

    ELSIF a.entity_type = 'timesheet'
          AND a.action IN ('submitted', 'approved')
    THEN
        type := 'timesheet.' || a.action;
        data := timesheet_week_json(a.entity_id,
                                    iso_week_start(a.new_values->>'week'));
        readers := a.entity_id || managers_of(a.entity_id);

    ELSIF a.entity_type = 'share_link' AND a.action = 'visited' THEN
        SELECT * INTO l FROM share_links s WHERE s.id = a.entity_id;
        type := 'share_link.visited';
        data := jsonb_build_object('id', a.entity_id,
                                   'visits', coalesce(l.visits, 0));
        readers := ARRAY[l.created_by] || coalesce((
            SELECT array_agg(u.id) FROM users u
              JOIN projects p ON p.id = a.project_id
             WHERE u.role = 'project_manager' AND u.status = 'active'
               AND can_manage_project(u.id, u.role, p.team_id)), '{}');
    END IF;
END
$$;


-- Numbers and stores one event; the lock is held until the transaction
-- has committed, so events commit in the order of their ids.
CREATE FUNCTION event_add(aid bigint, t text, pid uuid, rd uuid[], adm boolean,
                          d jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n  bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('kanban events'));

    n := nextval('events_id_seq');

    INSERT INTO events (id, activity_id, type, project_id, readers, admins,
                        data)
    VALUES (n, aid, t, pid, rd, adm, d);

    IF n % 1000 = 0 THEN
        PERFORM events_prune(interval '1 day');
    END IF;
END
$$;


-- Forgets events older than keep, the newest always kept.
CREATE FUNCTION events_prune(keep interval) RETURNS bigint
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM events
         WHERE created_at < now() - keep
           AND id < (SELECT max(id) FROM events)
        RETURNING 1)
    SELECT count(*) FROM gone
$$;


CREATE FUNCTION activity_log_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e  record;
BEGIN
    e := activity_event(NEW);

    IF e.type IS NOT NULL THEN
        PERFORM event_add(NEW.id, e.type, NEW.project_id, e.readers,
                          e.admins, e.data);
    END IF;

    RETURN NULL;
END
$$;

-- zz: among a row's deferred triggers, the last
CREATE CONSTRAINT TRIGGER zz_activity_log_event
    AFTER INSERT ON activity_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.entity_type IN ('task', 'project', 'comment', 'milestone',
                              'timesheet', 'share_link'))
    EXECUTE FUNCTION activity_log_event();


CREATE FUNCTION notifications_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM event_add(NULL, 'notification.created',
                      (SELECT t.project_id FROM tasks t
                        WHERE t.id = n.task_id),
                      ARRAY[n.user_id], false, notification_json(n))
       FROM notifications n WHERE n.id = NEW.id;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER zz_notifications_event
    AFTER INSERT ON notifications
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    EXECUTE FUNCTION notifications_event();


-- Where the log stands: its newest and oldest event (0 when none yet).
CREATE FUNCTION events_span(OUT newest bigint, OUT oldest bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(id), 0), coalesce(min(id), 0) FROM events
$$;
