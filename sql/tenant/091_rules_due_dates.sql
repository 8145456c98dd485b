-- The rules' due-date triggers, fired by the planner's reminder sweep
-- (planner_step, 068): "due soon" (trigger {type: due_soon, days: n},
-- n days before the due date, 1 by default) and "overdue" (the day after
-- it), each through rules_fire (072), once per task and due date: a key
-- in due_rules_fired is taken in the transaction that fires it, so that
-- nodes sweeping at once fire it once, and a due date moved fires again.
--
-- When: at the start of the day (the workspace's time zone) n days before
-- the due date, or the day after it, for open tasks of projects that have
-- an enabled rule of that trigger. An overdue task of more than a week is
-- not news (a rule made today does not act on last month's tasks), as
-- for the reminders.
--
-- due_soon rules with different days each fire once: the sweep fires
-- each threshold the project's rules name on its own day, with detail
-- {"days_left", "days"}, and a rule answers the threshold that is its
-- own (rule_trigger_matches below). A call without "days" (someone
-- else's) matches as before: days_left within the rule's days.

CREATE TABLE due_rules_fired (
    task_id   uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    trigger   text NOT NULL CHECK (trigger IN ('due_soon', 'overdue')),
    due_date  date NOT NULL,
    days      integer NOT NULL DEFAULT 0,
    fired_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, trigger, due_date, days)
);


-- A due_soon trigger's days: a whole number of at most 365, else 1.
CREATE FUNCTION rule_due_days(tr jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN tr->>'days' ~ '^\d{1,3}$'
                THEN least((tr->>'days')::int, 365) ELSE 1 END
$$;


CREATE OR REPLACE FUNCTION rule_trigger_matches(tr jsonb, f jsonb,
                                                detail jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE tr->>'type'
        WHEN 'task_moved' THEN
            (tr->>'column_id' IS NULL OR tr->>'column_id' = f->>'column_id')
            AND (tr->>'category' IS NULL OR tr->>'category' = f->>'category')
        WHEN 'label_added' THEN
            tr->>'label' IS NULL OR tr->>'label' = detail->>'label'
        WHEN 'due_soon' THEN
            CASE WHEN detail ? 'days'
                 THEN rule_due_days(tr) = (detail->>'days')::int
                 ELSE coalesce((detail->>'days_left')::int
                               <= rule_due_days(tr), false) END
        ELSE true END
$$;


-- What falls due for the rules, fired or not: (task, trigger, threshold,
-- due date, when).
CREATE FUNCTION due_rule_events()
RETURNS TABLE (task_id uuid, trig text, days integer, due_date date,
               at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT t.id, 'overdue', 0, t.due_date,
           (t.due_date + 1)::timestamp AT TIME ZONE workspace_time_zone()
      FROM tasks t
     WHERE t.completed_at IS NULL AND t.due_date IS NOT NULL
       AND t.due_date >= workspace_today() - 7
       AND EXISTS (SELECT 1 FROM rules r
                    WHERE r.project_id = t.project_id AND r.enabled
                      AND r.trigger->>'type' = 'overdue')
       AND NOT EXISTS (SELECT 1 FROM due_rules_fired k
                        WHERE k.task_id = t.id AND k.trigger = 'overdue'
                          AND k.due_date = t.due_date AND k.days = 0)
    UNION ALL
    SELECT t.id, 'due_soon', d.days, t.due_date,
           (t.due_date - d.days)::timestamp AT TIME ZONE workspace_time_zone()
      FROM tasks t
      JOIN LATERAL (SELECT DISTINCT rule_due_days(r.trigger) AS days
                      FROM rules r
                     WHERE r.project_id = t.project_id AND r.enabled
                       AND r.trigger->>'type' = 'due_soon') d ON true
     WHERE t.completed_at IS NULL AND t.due_date IS NOT NULL
       AND t.due_date >= workspace_today()
       AND NOT EXISTS (SELECT 1 FROM due_rules_fired k
                        WHERE k.task_id = t.id AND k.trigger = 'due_soon'
                          AND k.due_date = t.due_date AND k.days = d.days)
$$;


-- Fires what is due, at most budget; how many, and in how many seconds
-- the next is due (NULL: none).
CREATE FUNCTION rules_due_fire(budget integer, OUT fired integer,
                               OUT next_in float8)
LANGUAGE plpgsql AS $$
DECLARE
    e  record;
BEGIN
    fired := 0;

    FOR e IN SELECT * FROM due_rule_events() WHERE at <= now()
              ORDER BY at LIMIT budget
    LOOP
        INSERT INTO due_rules_fired (task_id, trigger, due_date, days)
        VALUES (e.task_id, e.trig, e.due_date, e.days)
        ON CONFLICT DO NOTHING;

        IF FOUND THEN
            PERFORM rules_fire(e.trig, e.task_id,
                CASE WHEN e.trig = 'due_soon'
                     THEN jsonb_build_object(
                              'days_left', e.due_date - workspace_today(),
                              'days', e.days)
                     ELSE jsonb_build_object(
                              'days_late', workspace_today() - e.due_date)
                END);
            fired := fired + 1;
        END IF;
    END LOOP;

    SELECT extract(epoch FROM min(x.at) - now()) INTO next_in
      FROM due_rule_events() x;

    -- not greatest(): it would make "nothing due" (NULL) due now (089)
    next_in := CASE WHEN next_in < 0 THEN 0 ELSE next_in END;
END
$$;


-- The reminder sweep sends the notices (068), then fires the rules.
ALTER FUNCTION reminders_send(integer) RENAME TO reminders_send_notices;

CREATE FUNCTION reminders_send(budget integer,
                               OUT sent integer, OUT next_in float8)
LANGUAGE plpgsql AS $$
DECLARE
    a      float8;
    b      float8;
    fired  integer;
BEGIN
    SELECT s.sent, s.next_in INTO sent, a FROM reminders_send_notices(budget) s;
    SELECT f.fired, f.next_in INTO fired, b FROM rules_due_fire(budget) f;

    sent := sent + fired;
    next_in := CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a
                    ELSE least(a, b) END;
END
$$;
