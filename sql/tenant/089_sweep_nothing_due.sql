-- "Nothing due" said as NULL again. GREATEST ignores a NULL argument, so
-- greatest(next_in, 0) of 068 and greatest(0, min(...)) of 064 turned
-- "nothing due" into "due now": every workspace a write had woken was
-- stepped again at once, for ever (the planner and the built-in agents'
-- sweep), thousands of statements a second on an idle installation.

CREATE OR REPLACE FUNCTION reminders_send(budget integer,
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

    next_in := CASE WHEN next_in < 0 THEN 0 ELSE next_in END;
END
$$;


CREATE OR REPLACE FUNCTION agent_builtin_due(lease float8, lim int)
RETURNS TABLE (session_id uuid, agent_id uuid, builtin text, data text,
               next_in float8)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH c AS (
        UPDATE agent_sessions s SET claimed_at = now()
         WHERE s.id IN (
                SELECT x.id FROM agent_sessions x
                  JOIN agents a ON a.id = x.agent_id
                 WHERE x.state = 'pending' AND NOT x.stopped
                   AND x.proposal IS NULL AND a.kind = 'builtin'
                   AND (x.claimed_at IS NULL
                        OR x.claimed_at < now() - make_interval(secs => lease))
                 ORDER BY x.created_at
                 LIMIT lim
                   FOR UPDATE OF x SKIP LOCKED)
        RETURNING s.id, s.agent_id, s.task_id)
    SELECT c.id, c.agent_id, a.builtin,
           agent_builtin_data(a.builtin, c.task_id)::text, NULL::float8
      FROM c JOIN agents a ON a.id = c.agent_id;

    RETURN QUERY
    SELECT NULL::uuid, NULL::uuid, NULL::text, NULL::text,
           CASE WHEN count(*) > 0
                THEN greatest(0, extract(epoch FROM min(x.claimed_at)
                                            + make_interval(secs => lease)
                                            - now()))::float8 END
      FROM agent_sessions x JOIN agents a ON a.id = x.agent_id
     WHERE x.state = 'pending' AND NOT x.stopped AND x.proposal IS NULL
       AND a.kind = 'builtin' AND x.claimed_at IS NOT NULL;
END
$$;
