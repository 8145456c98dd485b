-- Budgets and billable rates (issue 25).
--
-- A project's budget is in hours, in money or both. Hours spent are all
-- minutes logged on the project; money spent is its billable entries at
-- their rates. A threshold (80 %, 100 %) of a measure is crossed once:
-- the first write that reaches it records it in budget_alerts (its
-- primary key makes parallel writers agree on one) and notifies the
-- project's managers, which queues their email through the outbox in
-- the same transaction. Changing the budget forgets the thresholds it no
-- longer reaches, so that a raised budget warns again.
--
-- A rate takes effect on its date and is never edited: a new rate is a
-- new row, so an entry keeps the rate of its own date and a changed rate
-- never rewrites what was billed before. The rate of an entry is the
-- most specific one in effect on its date: the person on that project,
-- the person, the person's role on that project, the project, the role,
-- then the workspace's default (a rate naming nothing).

CREATE TABLE project_budgets (
    project_id  uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    hours       numeric(10, 2) CHECK (hours > 0 AND hours <= 1000000),
    amount      numeric(14, 2) CHECK (amount > 0 AND amount <= 1000000000),
    currency    text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

CREATE TABLE budget_alerts (
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    measure     text NOT NULL CHECK (measure IN ('hours', 'amount')),
    threshold   integer NOT NULL CHECK (threshold IN (80, 100)),
    crossed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, measure, threshold)
);

CREATE TABLE billing_rates (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid REFERENCES users (id) ON DELETE CASCADE,
    role            text CHECK (role IN ('admin', 'project_manager',
                                         'contributor')),
    project_id      uuid REFERENCES projects (id) ON DELETE CASCADE,
    hourly_rate     numeric(12, 2) NOT NULL
                    CHECK (hourly_rate >= 0 AND hourly_rate <= 1000000),
    effective_from  date NOT NULL,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (user_id IS NULL OR role IS NULL),
    UNIQUE NULLS NOT DISTINCT (user_id, role, project_id, effective_from)
);

CREATE INDEX billing_rates_user ON billing_rates (user_id);
CREATE INDEX billing_rates_project ON billing_rates (project_id);


CREATE FUNCTION billing_rate_json(r billing_rates) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'user_id', r.user_id, 'role', r.role,
        'project_id', r.project_id, 'hourly_rate', r.hourly_rate,
        'effective_from', r.effective_from, 'created_at', r.created_at)
$$;


-- A project's entries in [f, t] (all of them when NULL), each with the
-- rate in effect on its day: the one definition of which rate applies,
-- the most specific. One join of the entries with the few rates, whatever
-- the planner knows of the entries (a fresh import has no statistics).
CREATE FUNCTION rated_entries(pid uuid, f date, t date)
RETURNS TABLE (id uuid, user_id uuid, task_id uuid, date date, minutes int,
               description text, billable boolean, rate numeric)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (e.id) e.id, e.user_id, e.task_id, e.date,
           e.minutes, e.description, e.billable, r.hourly_rate
      FROM time_entries e
      JOIN users u ON u.id = e.user_id
      LEFT JOIN billing_rates r
             ON r.effective_from <= e.date
            AND (r.user_id IS NULL OR r.user_id = e.user_id)
            AND (r.role IS NULL OR r.role = u.role)
            AND (r.project_id IS NULL OR r.project_id = pid)
     WHERE e.project_id = pid
       AND (f IS NULL OR e.date >= f) AND (t IS NULL OR e.date <= t)
     ORDER BY e.id, r.user_id IS NOT NULL DESC,
              r.project_id IS NOT NULL DESC, r.role IS NOT NULL DESC,
              r.effective_from DESC
$$;

-- What an entry bills at a rate: the one definition of billable money.
CREATE FUNCTION entry_amount(minutes int, billable boolean, rate numeric)
RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN billable THEN round(minutes * coalesce(rate, 0) / 60.0, 2)
                ELSE 0 END
$$;

-- A project's entries in [f, t] with their rates and what they bill.
CREATE FUNCTION billable_lines(pid uuid, f date, t date)
RETURNS TABLE (entry_id uuid, date date, user_id uuid, person text,
               task_key text, task_title text, description text,
               minutes int, billable boolean, rate numeric, amount numeric)
LANGUAGE sql STABLE AS $$
    SELECT e.id, e.date, e.user_id, u.name,
           p.key || '-' || k.number, k.title, e.description, e.minutes,
           e.billable, e.rate, entry_amount(e.minutes, e.billable, e.rate)
      FROM rated_entries(pid, f, t) e
      JOIN users u ON u.id = e.user_id
      LEFT JOIN tasks k ON k.id = e.task_id
      LEFT JOIN projects p ON p.id = k.project_id
$$;


-- Spent, billable and remaining: the figures every screen shows.
CREATE FUNCTION budget_json(pid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'project_id', pid,
        'hours', b.hours,
        'amount', b.amount,
        'currency', coalesce(b.currency, 'EUR'),
        'spent_minutes', s.spent,
        'billable_minutes', s.billable,
        'billable_amount', s.amount,
        'remaining_minutes', CASE WHEN b.hours IS NOT NULL
                                  THEN round(b.hours * 60)::int - s.spent END,
        'remaining_amount', CASE WHEN b.amount IS NOT NULL
                                 THEN b.amount - s.amount END,
        'hours_used', CASE WHEN b.hours IS NOT NULL
                           THEN round(s.spent / (b.hours * 60), 4) END,
        'amount_used', CASE WHEN b.amount IS NOT NULL
                            THEN round(s.amount / b.amount, 4) END,
        'alerts', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                       'measure', a.measure,
                                       'threshold', a.threshold,
                                       'crossed_at', a.crossed_at)
                                   ORDER BY a.crossed_at, a.measure,
                                            a.threshold)
                              FROM budget_alerts a
                             WHERE a.project_id = pid), '[]'))
      FROM (SELECT coalesce(sum(e.minutes), 0)::int AS spent,
                   coalesce(sum(e.minutes) FILTER (WHERE e.billable), 0)::int
                       AS billable,
                   coalesce(sum(entry_amount(e.minutes, e.billable, e.rate)),
                            0)::numeric(14, 2) AS amount
              FROM rated_entries(pid, NULL, NULL) e) s
      LEFT JOIN project_budgets b ON b.project_id = pid
$$;


-- Records the thresholds the project's spending has reached and notifies
-- its managers of each one newly crossed. Called by every write of time
-- (a trigger) and of the budget.
CREATE FUNCTION budget_check(pid uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p     projects;
    fig   jsonb;
    used  numeric;
    m     text;
    th    int;
    who   uuid;
BEGIN
    IF pid IS NULL
       OR NOT EXISTS (SELECT 1 FROM project_budgets WHERE project_id = pid)
    THEN
        RETURN;
    END IF;

    -- one writer of a project's time at a time from here: each then
    -- reads the others' committed minutes, so two entries that cross a
    -- threshold together are not each judged without the other
    PERFORM pg_advisory_xact_lock(hashtextextended('budget:' || pid, 0));

    SELECT * INTO p FROM projects WHERE id = pid;
    fig := budget_json(pid);

    FOREACH m IN ARRAY ARRAY['hours', 'amount'] LOOP
        used := (fig->>(m || '_used'))::numeric;
        CONTINUE WHEN used IS NULL;

        FOREACH th IN ARRAY ARRAY[80, 100] LOOP
            CONTINUE WHEN used * 100 < th;

            INSERT INTO budget_alerts (project_id, measure, threshold)
            VALUES (pid, m, th)
            ON CONFLICT DO NOTHING;
            CONTINUE WHEN NOT FOUND;

            FOREACH who IN ARRAY project_managers(p) LOOP
                PERFORM notification_add(who, 'budget_alert', NULL, NULL,
                    jsonb_build_object(
                        'project_id', p.id, 'project_key', p.key,
                        'project_name', p.name, 'measure', m,
                        'threshold', th,
                        'budget', CASE m WHEN 'hours' THEN fig->'hours'
                                         ELSE fig->'amount' END,
                        'spent', CASE m
                                     WHEN 'hours'
                                     THEN to_jsonb(round((fig->>'spent_minutes')
                                                   ::numeric / 60, 2))
                                     ELSE fig->'billable_amount' END,
                        'currency', fig->'currency'));
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;

-- Once a statement, for each project it wrote time to: an import of
-- thousands of rows checks its projects once, not once a row.
CREATE FUNCTION budget_check_entries() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pid  uuid;
BEGIN
    FOR pid IN SELECT DISTINCT n.project_id FROM new_rows n
                WHERE n.project_id IS NOT NULL ORDER BY 1 LOOP
        PERFORM budget_check(pid);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER time_entries_budget_insert
    AFTER INSERT ON time_entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION budget_check_entries();

CREATE TRIGGER time_entries_budget_update
    AFTER UPDATE ON time_entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION budget_check_entries();


-- GET /api/v1/projects/{id}/budget: its managers and admins.
CREATE FUNCTION budget_get(actor uuid, role text, pid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p  projects;
BEGIN
    SELECT * INTO p FROM projects WHERE id = pid;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;
    IF NOT can_manage_project(actor, role, p.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only the project''s managers and admins read its budget.';
        RETURN;
    END IF;
    RETURN QUERY SELECT 200, budget_json(pid)::text, NULL::text;
END
$$;

-- PUT /api/v1/projects/{id}/budget {hours, amount, currency}: a missing
-- or null measure has no budget.
CREATE FUNCTION budget_put(actor uuid, role text, pid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p    projects;
    old  project_budgets;
    nb   project_budgets;
BEGIN
    SELECT * INTO p FROM projects WHERE id = pid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;
    IF NOT can_manage_project(actor, role, p.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only the project''s managers and admins set its budget.';
        RETURN;
    END IF;
    IF (b->>'hours')::numeric NOT BETWEEN 0.01 AND 1000000 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'hours: from 0.01 to 1,000,000, or null for no hours budget.';
        RETURN;
    END IF;
    IF (b->>'amount')::numeric NOT BETWEEN 0.01 AND 1000000000 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'amount: from 0.01 to 1,000,000,000, or null for no money '
            || 'budget.';
        RETURN;
    END IF;
    IF b->>'currency' IS NOT NULL AND b->>'currency' !~ '^[A-Z]{3}$' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'currency: three capital letters (ISO 4217), such as EUR.';
        RETURN;
    END IF;

    SELECT * INTO old FROM project_budgets WHERE project_id = pid;

    INSERT INTO project_budgets AS x (project_id, hours, amount, currency)
    VALUES (pid, (b->>'hours')::numeric, (b->>'amount')::numeric,
            coalesce(b->>'currency', 'EUR'))
    ON CONFLICT (project_id) DO UPDATE
       SET hours = EXCLUDED.hours, amount = EXCLUDED.amount,
           currency = EXCLUDED.currency, updated_at = now(),
           version = x.version + 1
    RETURNING * INTO nb;

    -- a threshold the new budget no longer reaches may be crossed again
    DELETE FROM budget_alerts a
     WHERE a.project_id = pid
       AND coalesce((budget_json(pid)->>(a.measure || '_used'))::numeric
                    * 100, 0) < a.threshold;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, pid, 'project_budget', pid,
            CASE WHEN old.project_id IS NULL THEN 'created'
                 ELSE 'updated' END,
            to_jsonb(old), to_jsonb(nb));

    PERFORM budget_check(pid);

    RETURN QUERY SELECT 200, budget_json(pid)::text, NULL::text;
END
$$;


-- GET /api/v1/billing/rates: admins; ?user_id&project_id narrow it.
CREATE FUNCTION billing_rates_list(uid uuid, pid uuid)
RETURNS TABLE (status int, body text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object('items', coalesce(jsonb_agg(
               billing_rate_json(r) ORDER BY r.effective_from DESC,
                                             r.created_at DESC), '[]'))::text
      FROM billing_rates r
     WHERE (uid IS NULL OR r.user_id = uid)
       AND (pid IS NULL OR r.project_id = pid)
$$;

-- POST /api/v1/billing/rates {user_id?, role?, project_id?, hourly_rate,
-- effective_from}: admins. A second rate of the same scope and day is 409.
CREATE FUNCTION billing_rate_create(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r  billing_rates;
BEGIN
    IF (b->>'hourly_rate')::numeric NOT BETWEEN 0 AND 1000000 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'hourly_rate: from 0 to 1,000,000.';
        RETURN;
    END IF;
    IF b->>'role' NOT IN ('admin', 'project_manager', 'contributor') THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'role: admin, project_manager or contributor.';
        RETURN;
    END IF;
    IF b->>'user_id' IS NOT NULL AND b->>'role' IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'role: a rate is of a person or of a role, not both.';
        RETURN;
    END IF;
    IF b->>'user_id' IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM users u WHERE u.id = (b->>'user_id')::uuid) THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'user_id: there is no such person.';
        RETURN;
    END IF;
    IF b->>'project_id' IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM projects p WHERE p.id = (b->>'project_id')::uuid)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'project_id: there is no such project.';
        RETURN;
    END IF;

    BEGIN
        INSERT INTO billing_rates (user_id, role, project_id, hourly_rate,
                                   effective_from, created_by)
        VALUES ((b->>'user_id')::uuid, b->>'role',
                (b->>'project_id')::uuid, (b->>'hourly_rate')::numeric,
                (b->>'effective_from')::date, actor)
        RETURNING * INTO r;
    EXCEPTION WHEN unique_violation THEN
        RETURN QUERY SELECT 409, 'conflict',
            'A rate of this scope takes effect on that day already.';
        RETURN;
    END;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, r.project_id, 'billing_rate', r.id, 'created',
            to_jsonb(r));

    RETURN QUERY SELECT 201, billing_rate_json(r)::text,
                        '/api/v1/billing/rates/' || r.id;
END
$$;

-- DELETE /api/v1/billing/rates/{id}: admins; a rate entered by mistake.
CREATE FUNCTION billing_rate_delete(actor uuid, rid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r  billing_rates;
BEGIN
    DELETE FROM billing_rates WHERE id = rid RETURNING * INTO r;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values)
    VALUES (actor, r.project_id, 'billing_rate', r.id, 'deleted',
            to_jsonb(r));

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


-- GET /api/v1/projects/{id}/billable-report ?from&to&format: the
-- project's billable entries of the period, each at its day's rate, per
-- person and in total; format (or Accept) csv or html for a download or
-- a printable page an invoice is written from.
CREATE FUNCTION billable_report(actor uuid, role text, pid uuid, f date,
                                t date, fmt text, accept text)
RETURNS TABLE (status int, body text, extra text, activity bigint,
               type text, filename text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p       projects;
    per     record;
    kind    text;
    cur     text;
    lines   jsonb;
    people  jsonb;
    tot     record;
    html    text;
BEGIN
    SELECT * INTO p FROM projects WHERE id = pid;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::bigint,
                            NULL::text, NULL::text;
        RETURN;
    END IF;
    IF NOT can_manage_project(actor, billable_report.role, p.team_id) THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only the project''s managers and admins read what it bills.',
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;
    IF fmt IS NOT NULL AND fmt NOT IN ('json', 'csv', 'html') THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'format: json, csv or html.', NULL::bigint, NULL::text,
            NULL::text;
        RETURN;
    END IF;

    SELECT * INTO per FROM report_period(f, t);
    IF per.f_out IS NULL THEN
        RETURN QUERY SELECT 400, 'bad_request',
            'from must not be after to, and the period is at most 366 days.',
            NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;

    kind := coalesce(fmt, CASE WHEN accept ~* 'text/csv' THEN 'csv'
                               WHEN accept ~* 'text/html' THEN 'html'
                               ELSE 'json' END);
    cur := coalesce((SELECT currency FROM project_budgets
                      WHERE project_id = pid), 'EUR');

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'entry_id', l.entry_id, 'date', l.date,
               'user_id', l.user_id, 'person', l.person,
               'task_key', l.task_key, 'task_title', l.task_title,
               'description', l.description, 'minutes', l.minutes,
               'hourly_rate', l.rate, 'amount', l.amount)
               ORDER BY l.date, l.person, l.entry_id), '[]')
      INTO lines
      FROM billable_lines(pid, per.f_out, per.t_out) l
     WHERE l.billable;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'user_id', x.user_id, 'person', x.person,
               'minutes', x.minutes, 'amount', x.amount)
               ORDER BY x.person, x.user_id), '[]')
      INTO people
      FROM (SELECT l->>'user_id' AS user_id, l->>'person' AS person,
                   sum((l->>'minutes')::int)::int AS minutes,
                   sum((l->>'amount')::numeric) AS amount
              FROM jsonb_array_elements(lines) l
             GROUP BY 1, 2) x;

    SELECT coalesce(sum((l->>'minutes')::int), 0)::int AS minutes,
           coalesce(sum((l->>'amount')::numeric), 0)::numeric(14, 2)
               AS amount,
           count(*) FILTER (WHERE l->'hourly_rate' = 'null') AS unrated
      INTO tot FROM jsonb_array_elements(lines) l;

    IF kind = 'csv' THEN
        RETURN QUERY SELECT 200,
            'date,person,task,description,minutes,hourly_rate,amount,'
            || 'currency' || E'\r\n'
            || coalesce((SELECT string_agg(concat_ws(',',
                   l->>'date', csv_cell(l->>'person'),
                   csv_cell(l->>'task_key'), csv_cell(l->>'description'),
                   l->>'minutes', coalesce(l->>'hourly_rate', ''),
                   l->>'amount', cur) || E'\r\n', '' ORDER BY n)
                   FROM jsonb_array_elements(lines) WITH ORDINALITY
                        AS a(l, n)), '')
            || concat_ws(',', '', 'Total', '', '', tot.minutes, '',
                         tot.amount, cur) || E'\r\n',
            NULL::text, NULL::bigint, 'text/csv; charset=utf-8'::text,
            'billable-' || p.key || '-' || per.f_out || '-' || per.t_out
            || '.csv';
        RETURN;
    END IF;

    IF kind = 'html' THEN
        html := '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            || '<title>Billable time: ' || mail_html(p.name) || ' '
            || per.f_out || ' to ' || per.t_out || '</title><style>'
            || 'body{font:14px/1.4 system-ui,sans-serif;margin:2em;'
            || 'color:#111}table{border-collapse:collapse;width:100%;'
            || 'margin:1em 0}th,td{border-bottom:1px solid #ccc;'
            || 'padding:4px 8px;text-align:left}td.n,th.n{text-align:right}'
            || 'tfoot td{font-weight:bold;border-top:2px solid #111}'
            || '@media print{body{margin:0}}</style></head><body>'
            || '<h1>Billable time</h1><p><strong>'
            || mail_html(p.key || ' ' || p.name) || '</strong><br>'
            || mail_html(mail_workspace_name()) || '<br>Period: '
            || per.f_out || ' to ' || per.t_out || '</p>'
            || '<h2>By person</h2><table><thead><tr><th>Person</th>'
            || '<th class="n">Hours</th><th class="n">Amount (' || cur
            || ')</th></tr></thead><tbody>'
            || coalesce((SELECT string_agg('<tr><td>'
                   || mail_html(x->>'person') || '</td><td class="n">'
                   || to_char((x->>'minutes')::numeric / 60, 'FM999990.00')
                   || '</td><td class="n">'
                   || to_char((x->>'amount')::numeric, 'FM999999990.00')
                   || '</td></tr>', '' ORDER BY n)
                   FROM jsonb_array_elements(people) WITH ORDINALITY
                        AS a(x, n)), '')
            || '</tbody></table><h2>Entries</h2><table><thead><tr>'
            || '<th>Date</th><th>Person</th><th>Task</th>'
            || '<th>Description</th><th class="n">Hours</th>'
            || '<th class="n">Rate</th><th class="n">Amount</th></tr>'
            || '</thead><tbody>'
            || coalesce((SELECT string_agg('<tr><td>' || (l->>'date')
                   || '</td><td>' || mail_html(l->>'person')
                   || '</td><td>' || mail_html(coalesce(l->>'task_key', ''))
                   || '</td><td>' || mail_html(l->>'description')
                   || '</td><td class="n">'
                   || to_char((l->>'minutes')::numeric / 60, 'FM999990.00')
                   || '</td><td class="n">'
                   || coalesce(to_char((l->>'hourly_rate')::numeric,
                                       'FM999990.00'), 'no rate')
                   || '</td><td class="n">'
                   || to_char((l->>'amount')::numeric, 'FM999999990.00')
                   || '</td></tr>', '' ORDER BY n)
                   FROM jsonb_array_elements(lines) WITH ORDINALITY
                        AS a(l, n)), '')
            || '</tbody><tfoot><tr><td colspan="4">Total</td>'
            || '<td class="n">'
            || to_char(tot.minutes::numeric / 60, 'FM999990.00')
            || '</td><td></td><td class="n">'
            || to_char(tot.amount, 'FM999999990.00') || ' ' || cur
            || '</td></tr></tfoot></table>'
            || CASE WHEN tot.unrated > 0
                    THEN '<p>' || tot.unrated || ' entries have no rate in '
                         || 'effect on their day and bill nothing.</p>'
                    ELSE '' END
            || '</body></html>';

        RETURN QUERY SELECT 200, html, NULL::text, NULL::bigint,
                            'text/html; charset=utf-8'::text, NULL::text;
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, jsonb_build_object(
        'project_id', pid, 'from', per.f_out, 'to', per.t_out,
        'currency', cur, 'lines', lines, 'people', people,
        'total_minutes', tot.minutes, 'total_amount', tot.amount,
        'unrated_lines', tot.unrated)::text,
        NULL::text, NULL::bigint, NULL::text, NULL::text;
END
$$;


-- The budget_alert notification: a kind of its own, added to the kinds
-- the migrations before this one allowed (read from the database, so
-- that it keeps any another migration added).
DO $$
DECLARE
    def    text;
    kinds  text[];
BEGIN
    SELECT pg_get_constraintdef(c.oid) INTO def
      FROM pg_constraint c
     WHERE c.conname = 'notifications_kind_check';

    kinds := ARRAY(SELECT DISTINCT k FROM unnest(
                 ARRAY(SELECT m[1] FROM regexp_matches(def, '''([a-z_]+)''',
                                                       'g') m)
                 || mail_notification_kinds() || 'budget_alert'::text) k
                 ORDER BY k);

    ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
    EXECUTE format('ALTER TABLE notifications ADD CONSTRAINT '
                   'notifications_kind_check CHECK (kind = ANY (%L::text[]))',
                   kinds);

    kinds := mail_notification_kinds() || 'budget_alert'::text;
    EXECUTE format('CREATE OR REPLACE FUNCTION mail_notification_kinds() '
                   'RETURNS text[] LANGUAGE sql IMMUTABLE AS '
                   '$f$ SELECT %L::text[] $f$', kinds);
END
$$;

-- The mail line of a budget alert says which project and how far; every
-- other kind keeps its line.
ALTER FUNCTION mail_notification_line(notifications)
    RENAME TO mail_notification_line_before_budget;

CREATE FUNCTION mail_notification_line(n notifications) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN n.kind = 'budget_alert'
                THEN 'Budget: ' || (n.data->>'project_key') || ' '
                     || (n.data->>'project_name') || ' has used '
                     || (n.data->>'threshold') || ' % of its '
                     || CASE n.data->>'measure' WHEN 'hours' THEN 'hours'
                                                ELSE 'money' END
                     || ' budget (' || (n.data->>'spent') || ' of '
                     || (n.data->>'budget')
                     || CASE n.data->>'measure' WHEN 'hours' THEN ' h'
                             ELSE ' ' || (n.data->>'currency') END || ')'
                ELSE mail_notification_line_before_budget(n) END
$$;
