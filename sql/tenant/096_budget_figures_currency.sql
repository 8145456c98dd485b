-- Budgets and rates, what issue 25 still lacked: a budget's figures
-- wherever its project is shown, a past-dated rate checked at once, and
-- rates with a currency.
--
-- A budget's figures wherever its project is shown: the
-- project JSON (GET /api/v1/projects and /projects/{id}) and the
-- portfolio report carry spent, billable and remaining.
--
-- They are kept, not summed on each read: the budget's row holds the
-- figures budget_check() already works out for its thresholds, on every
-- write of the project's time (now deletes and moves to another project
-- too), of its budget, and of a rate; and the project's kept document
-- (042) carries them, dropped when they change. The list reads what it
-- read before, not every time entry of each project.
--
-- A rate is a write of the figures as well: one dated in the past changes
-- what was billed since, so the budgets it reaches are checked at once,
-- not at their next entry, and a threshold it crosses is notified then.
--
-- Who sees them: the project's managers and admins, as for the budget
-- itself (GET /projects/{id}/budget); everyone else reads the project
-- without them.

ALTER TABLE project_budgets
    ADD COLUMN spent_minutes     integer NOT NULL DEFAULT 0,
    ADD COLUMN billable_minutes  integer NOT NULL DEFAULT 0,
    ADD COLUMN billable_amount   numeric(14, 2) NOT NULL DEFAULT 0;

-- (filled at the end of this file, once the rates have their currency)


-- The kept figures, in the shape of GET /projects/{id}/budget without
-- its alerts.
CREATE FUNCTION budget_figures_json(b project_budgets) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'hours', b.hours,
        'amount', b.amount,
        'currency', b.currency,
        'spent_minutes', b.spent_minutes,
        'billable_minutes', b.billable_minutes,
        'billable_amount', b.billable_amount,
        'remaining_minutes', CASE WHEN b.hours IS NOT NULL
                                  THEN round(b.hours * 60)::int
                                       - b.spent_minutes END,
        'remaining_amount', CASE WHEN b.amount IS NOT NULL
                                 THEN b.amount - b.billable_amount END,
        'hours_used', CASE WHEN b.hours IS NOT NULL
                           THEN round(b.spent_minutes / (b.hours * 60), 4)
                      END,
        'amount_used', CASE WHEN b.amount IS NOT NULL
                            THEN round(b.billable_amount / b.amount, 4) END)
$$;

-- What a reader of a project adds to its document: {"budget": {...}} for
-- its managers and admins when it has a budget, else nothing. One
-- primary-key read.
CREATE FUNCTION project_budget_part(pid uuid, team uuid, actor uuid,
                                    role text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT jsonb_build_object('budget',
                                               budget_figures_json(b))
                       FROM project_budgets b
                      WHERE b.project_id = pid
                        AND can_manage_project(actor, role, team)), '{}')
$$;


-- The list reads each project's kept document (042): the budget's figures
-- are kept in it, so that listing them costs no more than the list did.
-- Readers who may not see them get the document without (the list's
-- statement, ngx_kanban_projects.c). 042's, the figures added:
CREATE OR REPLACE FUNCTION project_doc(pid uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    g      bigint;
    d      jsonb;
    known  boolean;
BEGIN
    SELECT c.gen, c.project_doc INTO g, d FROM board_cache c
     WHERE c.project_id = pid;
    known := FOUND;

    IF d IS NOT NULL THEN
        RETURN d;
    END IF;

    SELECT project_json(p)
           || coalesce((SELECT jsonb_build_object('budget',
                                                  budget_figures_json(b))
                          FROM project_budgets b
                         WHERE b.project_id = p.id), '{}')
      INTO d FROM projects p WHERE p.id = pid;

    -- a database being moved is read-only: answered, not kept
    IF d IS NULL OR current_setting('transaction_read_only') = 'on' THEN
        RETURN d;
    END IF;

    IF known THEN
        UPDATE board_cache c SET project_doc = d
         WHERE c.project_id = pid AND c.gen = g AND c.project_doc IS NULL;
    ELSE
        PERFORM 1 FROM projects p WHERE p.id = pid FOR KEY SHARE;

        IF FOUND THEN
            INSERT INTO board_cache (project_id, gen, project_doc)
            VALUES (pid, 0, d)
            ON CONFLICT (project_id) DO NOTHING;
        END IF;
    END IF;

    RETURN d;
END
$$;

-- A budget's row written (its figures too, by budget_check): its project's
-- kept document is dropped, as board_stale would, but not its board. At
-- commit, as board_stale is (040: the events lock, then the cache row; a
-- write of time takes the budget's lock during its statement, before).
-- The generation moves, so that a reader who built the document from
-- before this write does not keep it.
CREATE FUNCTION project_doc_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('kanban events'));

    UPDATE board_cache c SET gen = c.gen + 1, project_doc = NULL
     WHERE c.project_id = coalesce(NEW.project_id, OLD.project_id);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER project_budgets_doc_stale
    AFTER INSERT OR UPDATE OR DELETE ON project_budgets
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION project_doc_stale();


-- 076's check, now also keeping the figures it works out.
CREATE OR REPLACE FUNCTION budget_check(pid uuid) RETURNS void
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

    UPDATE project_budgets
       SET spent_minutes = (fig->>'spent_minutes')::int,
           billable_minutes = (fig->>'billable_minutes')::int,
           billable_amount = (fig->>'billable_amount')::numeric
     WHERE project_id = pid
       AND (spent_minutes, billable_minutes, billable_amount)
           IS DISTINCT FROM ((fig->>'spent_minutes')::int,
                             (fig->>'billable_minutes')::int,
                             (fig->>'billable_amount')::numeric);

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


-- Deleted entries, and entries moved off a project, lower its figures.
CREATE FUNCTION budget_check_entries_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pid  uuid;
BEGIN
    FOR pid IN SELECT DISTINCT o.project_id FROM old_rows o
                WHERE o.project_id IS NOT NULL ORDER BY 1 LOOP
        PERFORM budget_check(pid);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION budget_check_entries_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pid  uuid;
BEGIN
    FOR pid IN SELECT n.project_id FROM new_rows n
               UNION
               SELECT o.project_id FROM old_rows o
               ORDER BY 1 LOOP
        PERFORM budget_check(pid);
    END LOOP;
    RETURN NULL;
END
$$;

DROP TRIGGER time_entries_budget_update ON time_entries;

CREATE TRIGGER time_entries_budget_update
    AFTER UPDATE ON time_entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION budget_check_entries_changed();

CREATE TRIGGER time_entries_budget_delete
    AFTER DELETE ON time_entries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION budget_check_entries_gone();


-- The budgets a rate reaches: its project's, or every one for a rate of
-- a person, a role or the workspace.
CREATE FUNCTION budget_check_rate(r jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pid  uuid;
BEGIN
    FOR pid IN SELECT b.project_id FROM project_budgets b
                WHERE r->>'project_id' IS NULL
                   OR b.project_id = (r->>'project_id')::uuid
                ORDER BY 1 LOOP
        PERFORM budget_check(pid);
    END LOOP;
END
$$;

ALTER FUNCTION billing_rate_create(uuid, jsonb)
    RENAME TO billing_rate_create_unchecked;

-- POST /api/v1/billing/rates: 076's, then the budgets it reaches checked.
CREATE FUNCTION billing_rate_create(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    res  record;
BEGIN
    SELECT * INTO res FROM billing_rate_create_unchecked(actor, b) x;
    IF res.status = 201 THEN
        PERFORM budget_check_rate(res.body::jsonb);
    END IF;
    RETURN QUERY SELECT res.status, res.body, res.extra;
END
$$;

ALTER FUNCTION billing_rate_delete(uuid, uuid)
    RENAME TO billing_rate_delete_unchecked;

-- DELETE /api/v1/billing/rates/{id}: 076's, then the budgets it reached.
CREATE FUNCTION billing_rate_delete(actor uuid, rid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    pid  uuid := (SELECT r.project_id FROM billing_rates r WHERE r.id = rid);
    res  record;
BEGIN
    SELECT * INTO res FROM billing_rate_delete_unchecked(actor, rid) x;
    IF res.status = 204 THEN
        PERFORM budget_check_rate(jsonb_build_object('project_id', pid));
    END IF;
    RETURN QUERY SELECT res.status, res.body, res.extra;
END
$$;


-- The portfolio report: each project with a budget carries its kept
-- figures (as of the report's reading; a frozen week keeps those of its
-- snapshot). Only admins and project managers read them: the report is
-- one document for every member and for its share links, so the others
-- get it without.
ALTER FUNCTION portfolio_report_project(projects, date)
    RENAME TO portfolio_report_project_unbudgeted;

CREATE FUNCTION portfolio_report_project(p projects, mon date)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT portfolio_report_project_unbudgeted(p, mon)
           || coalesce((SELECT jsonb_build_object('budget',
                                                  budget_figures_json(b))
                          FROM project_budgets b
                         WHERE b.project_id = p.id), '{}')
$$;

ALTER FUNCTION portfolio_report(text, text, text)
    RENAME TO portfolio_report_with_budgets;

CREATE FUNCTION portfolio_report(wk text, accept text, fmt text,
                                 with_budget boolean)
RETURNS TABLE (status int, body text, extra text, activity bigint,
               type text, filename text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    x  record;
    r  jsonb;
BEGIN
    SELECT * INTO x FROM portfolio_report_with_budgets(wk, NULL, 'json') y;
    IF x.status <> 200 OR coalesce(fmt, 'json') NOT IN ('json', 'csv') THEN
        RETURN QUERY SELECT * FROM portfolio_report_with_budgets(wk, accept,
                                                                 fmt);
        RETURN;
    END IF;

    r := x.body::jsonb;
    IF NOT with_budget THEN
        r := jsonb_set(r, '{projects}', coalesce((
                 SELECT jsonb_agg(p - 'budget' ORDER BY n)
                   FROM jsonb_array_elements(r->'projects')
                        WITH ORDINALITY a (p, n)), '[]'));
    END IF;

    IF fmt = 'csv' OR (fmt IS NULL AND accept ~* 'text/csv') THEN
        RETURN QUERY SELECT 200, portfolio_report_csv(r), NULL::text,
            NULL::bigint, 'text/csv; charset=utf-8'::text,
            'portfolio-' || coalesce(wk, r->>'week') || '.csv';
        RETURN;
    END IF;

    RETURN QUERY SELECT 200, r::text, NULL::text, NULL::bigint, NULL::text,
                        NULL::text;
END
$$;

-- Without a reader (a share link of the report): no budgets.
CREATE FUNCTION portfolio_report(wk text, accept text, fmt text)
RETURNS TABLE (status int, body text, extra text, activity bigint,
               type text, filename text)
LANGUAGE sql AS $$
    SELECT * FROM portfolio_report(wk, accept, fmt, false)
$$;


-- Rates with a currency.
--
-- A billing user writes an invoice in one currency: the project's. So a
-- project bills in one currency, its budget's, else the workspace's
-- (a setting, `currency`, EUR until an admin sets it), and an entry is
-- billed at the most specific rate in effect on its day *in that
-- currency*. A rate in another currency does not apply to the project
-- (a person may have a EUR and a USD rate, and each project takes its
-- own); an entry with no rate in the project's currency bills nothing and
-- is counted as unrated, as before. So no figure, report or total ever
-- adds different currencies. A rate named for one project in another
-- currency than the project's could never apply: 422. Currencies are
-- ISO 4217 codes in use, checked against the list below.

CREATE FUNCTION iso_currency(c text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    -- ISO 4217's codes of money in use (no metals, funds or test codes)
    SELECT c = ANY ('{AED,AFN,ALL,AMD,ANG,AOA,ARS,AUD,AWG,AZN,BAM,BBD,BDT,
        BGN,BHD,BIF,BMD,BND,BOB,BRL,BSD,BTN,BWP,BYN,BZD,CAD,CDF,CHF,CLP,CNY,
        COP,CRC,CUP,CVE,CZK,DJF,DKK,DOP,DZD,EGP,ERN,ETB,EUR,FJD,FKP,GBP,GEL,
        GHS,GIP,GMD,GNF,GTQ,GYD,HKD,HNL,HTG,HUF,IDR,ILS,INR,IQD,IRR,ISK,JMD,
        JOD,JPY,KES,KGS,KHR,KMF,KPW,KRW,KWD,KYD,KZT,LAK,LBP,LKR,LRD,LSL,LYD,
        MAD,MDL,MGA,MKD,MMK,MNT,MOP,MRU,MUR,MVR,MWK,MXN,MYR,MZN,NAD,NGN,NIO,
        NOK,NPR,NZD,OMR,PAB,PEN,PGK,PHP,PKR,PLN,PYG,QAR,RON,RSD,RUB,RWF,SAR,
        SBD,SCR,SDG,SEK,SGD,SHP,SLE,SOS,SRD,SSP,STN,SVC,SYP,SZL,THB,TJS,TMT,
        TND,TOP,TRY,TTD,TWD,TZS,UAH,UGX,USD,UYU,UZS,VES,VND,VUV,WST,XAF,XCD,
        XCG,XOF,XPF,YER,ZAR,ZMW,ZWG}'::text[])
$$;

INSERT INTO settings (key, value) VALUES ('currency', '"EUR"')
ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION workspace_currency() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT value #>> '{}' FROM settings
                      WHERE key = 'currency'), 'EUR')
$$;

-- The currency a project bills in: its budget's, else the workspace's.
CREATE FUNCTION project_currency(pid uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT b.currency FROM project_budgets b
                      WHERE b.project_id = pid), workspace_currency())
$$;

ALTER TABLE billing_rates
    ADD COLUMN currency text NOT NULL DEFAULT 'EUR'
               CHECK (currency ~ '^[A-Z]{3}$');

-- one rate of a scope a day per currency
DO $$
DECLARE
    c  text;
BEGIN
    SELECT conname INTO c FROM pg_constraint
     WHERE conrelid = 'billing_rates'::regclass AND contype = 'u';
    EXECUTE format('ALTER TABLE billing_rates DROP CONSTRAINT %I', c);
END
$$;

ALTER TABLE billing_rates
    ADD CONSTRAINT billing_rates_scope_day_currency
    UNIQUE NULLS NOT DISTINCT (user_id, role, project_id, effective_from,
                               currency);


CREATE OR REPLACE FUNCTION billing_rate_json(r billing_rates) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'user_id', r.user_id, 'role', r.role,
        'project_id', r.project_id, 'hourly_rate', r.hourly_rate,
        'currency', r.currency,
        'effective_from', r.effective_from, 'created_at', r.created_at)
$$;


-- 076's: the rate in effect on the entry's day, of the project's currency.
CREATE OR REPLACE FUNCTION rated_entries(pid uuid, f date, t date)
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
            AND r.currency = (SELECT project_currency(pid))
     WHERE e.project_id = pid
       AND (f IS NULL OR e.date >= f) AND (t IS NULL OR e.date <= t)
     ORDER BY e.id, r.user_id IS NOT NULL DESC,
              r.project_id IS NOT NULL DESC, r.role IS NOT NULL DESC,
              r.effective_from DESC
$$;


-- 076's: the figures in the project's currency.
CREATE OR REPLACE FUNCTION budget_json(pid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'project_id', pid,
        'hours', b.hours,
        'amount', b.amount,
        'currency', project_currency(pid),
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


-- POST /api/v1/billing/rates {..., currency?}: 076's, with a currency,
-- the workspace's by default, an ISO 4217 code; for a rate of one
-- project, the project's. (billing_rate_create, above, calls it and
-- checks the budgets the rate reaches.)
CREATE OR REPLACE FUNCTION billing_rate_create_unchecked(actor uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r    billing_rates;
    cur  text := coalesce(b->>'currency', workspace_currency());
    own  text;
BEGIN
    IF NOT iso_currency(cur) THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'currency: an ISO 4217 code in use, such as EUR, USD or GBP.';
        RETURN;
    END IF;
    IF b->>'project_id' IS NOT NULL
       AND EXISTS (SELECT 1 FROM projects p
                    WHERE p.id = (b->>'project_id')::uuid)
    THEN
        own := project_currency((b->>'project_id')::uuid);
        IF own <> cur THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'currency: the project bills in ' || own
                || ' (its budget''s currency, else the workspace''s); '
                || 'a rate in ' || cur || ' would never apply to it.';
            RETURN;
        END IF;
    END IF;
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
                                   currency, effective_from, created_by)
        VALUES ((b->>'user_id')::uuid, b->>'role',
                (b->>'project_id')::uuid, (b->>'hourly_rate')::numeric,
                cur, (b->>'effective_from')::date, actor)
        RETURNING * INTO r;
    EXCEPTION WHEN unique_violation THEN
        RETURN QUERY SELECT 409, 'conflict',
            'A rate of this scope and currency takes effect on that day already.';
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



-- PUT /api/v1/projects/{id}/budget: the workspace's currency by default,
-- an ISO 4217 code. Its rates then are those of that currency.
ALTER FUNCTION budget_put(uuid, text, uuid, jsonb)
    RENAME TO budget_put_any_currency;

CREATE FUNCTION budget_put(actor uuid, role text, pid uuid, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    cur  text := coalesce(b->>'currency', workspace_currency());
BEGIN
    IF NOT iso_currency(cur) THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'currency: an ISO 4217 code in use, such as EUR, USD or GBP.';
        RETURN;
    END IF;

    RETURN QUERY SELECT * FROM budget_put_any_currency(
        actor, role, pid, b || jsonb_build_object('currency', cur)) x;
END
$$;



-- 076's report, in the project's currency (every amount of it is).
CREATE OR REPLACE FUNCTION billable_report(actor uuid, role text, pid uuid, f date,
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
    cur := project_currency(pid);

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
                         || cur || ' in effect on their day and bill '
                         || 'nothing.</p>'
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


-- The workspace's currency in GET /api/v1/workspace (027's, a fifth
-- setting in its one read) and set by PATCH /api/v1/workspace (019's).
CREATE OR REPLACE FUNCTION workspace_json(slug text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s  jsonb;
BEGIN
    SELECT jsonb_object_agg(key, value) INTO s
      FROM settings
     WHERE key IN ('name', 'open_registration', 'time_zone', 'cors_origins',
                   'currency');

    RETURN json_build_object(
        'slug', slug,
        'name', s->'name' #>> '{}',
        'open_registration', coalesce(s->'open_registration' = 'true'::jsonb,
                                      false),
        'time_zone', coalesce(s->'time_zone' #>> '{}', 'UTC'),
        'cors_origins', CASE WHEN jsonb_typeof(s->'cors_origins') = 'array'
                             THEN s->'cors_origins' ELSE '[]'::jsonb END,
        'currency', coalesce(s->'currency' #>> '{}', 'EUR'));
END
$$;

ALTER FUNCTION workspace_update(uuid, text, jsonb)
    RENAME TO workspace_update_before_currency;

CREATE FUNCTION workspace_update(actor uuid, slug text, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old  jsonb := (SELECT value FROM settings WHERE key = 'currency');
    res  record;
BEGIN
    IF b ? 'currency' AND NOT coalesce(iso_currency(b->>'currency'), false)
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'currency: an ISO 4217 code in use, such as EUR, USD or GBP.';
        RETURN;
    END IF;

    IF b ? 'currency' AND old IS DISTINCT FROM b->'currency' THEN
        INSERT INTO settings (key, value, updated_at)
        VALUES ('currency', b->'currency', now())
        ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                        updated_at = excluded.updated_at;

        INSERT INTO activity_log (actor_id, entity_type, action, old_values,
                                  new_values)
        VALUES (actor, 'workspace', 'updated',
                jsonb_build_object('currency', old),
                jsonb_build_object('currency', b->'currency'));
    END IF;

    SELECT * INTO res FROM workspace_update_before_currency(actor, slug,
                                                            b - 'currency') x;
    RETURN QUERY SELECT res.status, res.body, res.extra;
END
$$;


-- The figures of the budgets there are, as the rates bill them now.
UPDATE project_budgets b
   SET spent_minutes = (f->>'spent_minutes')::int,
       billable_minutes = (f->>'billable_minutes')::int,
       billable_amount = (f->>'billable_amount')::numeric
  FROM (SELECT x.project_id, budget_json(x.project_id) f
          FROM project_budgets x) s
 WHERE s.project_id = b.project_id;
