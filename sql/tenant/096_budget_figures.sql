-- A budget's figures wherever its project is shown (issue 25): the
-- project JSON (GET /api/v1/projects and /projects/{id}) and the
-- portfolio report carry spent, billable and remaining.
--
-- They are kept, not summed on each read: the budget's row holds the
-- figures budget_check() already works out for its thresholds, on every
-- write of the project's time (now deletes and moves to another project
-- too), of its budget, and of a rate. A list of 200 projects then reads
-- 200 rows by primary key, not every time entry of each.
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

UPDATE project_budgets b
   SET spent_minutes = (f->>'spent_minutes')::int,
       billable_minutes = (f->>'billable_minutes')::int,
       billable_amount = (f->>'billable_amount')::numeric
  FROM (SELECT x.project_id, budget_json(x.project_id) f
          FROM project_budgets x) s
 WHERE s.project_id = b.project_id;


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
