-- A share link whose target is one week's portfolio report (issue 19):
-- people without an account read that week's report, read-only, with the
-- expiry, password, max visits and analytics of any link. An ended week's
-- report is its frozen snapshot (portfolio_report(), 025); the current
-- week's is built at each read.

ALTER TABLE share_links ADD COLUMN report_week text
    CHECK (report_week ~ '^\d{4}-W\d\d$');

ALTER TABLE share_links DROP CONSTRAINT share_links_target_type_check;
ALTER TABLE share_links ADD CONSTRAINT share_links_target_type_check
    CHECK (target_type IN ('task', 'project', 'url', 'report'));
ALTER TABLE share_links ADD CONSTRAINT share_links_report_week_check2
    CHECK (target_type <> 'report' OR report_week IS NOT NULL);


CREATE OR REPLACE FUNCTION share_link_json(l share_links, base text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', l.id,
        'code', l.code,
        'short_url', base || '/s/' || l.code,
        'target_type', l.target_type,
        'target_id', coalesce(l.task_id, l.project_id),
        'url', l.url,
        'report_week', l.report_week,
        'expires_at', l.expires_at,
        'max_visits', l.max_visits,
        'visits', l.visits,
        'has_password', l.password_hash IS NOT NULL,
        'created_by', l.created_by,
        'created_at', l.created_at,
        'revoked_at', l.revoked_at)
$$;


-- A report link is a manager's or an admin's to make (the report is the
-- whole portfolio), for a week that has started; anything else goes on
-- to the links of 011 unchanged.
CREATE FUNCTION share_link_create_report(actor uuid, role text, base text,
                                         new_code text, secret text,
                                         hash text, b jsonb)
RETURNS TABLE (status integer, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    w        text := b->>'report_week';
    mon      date;
    l        share_links;
    expires  timestamptz;
    a        bigint;
BEGIN
    IF b ? 'task_id' OR b ? 'project_id' OR b ? 'url' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Give exactly one of task_id, project_id, url and report_week.',
            NULL::bigint;
        RETURN;
    END IF;

    IF role NOT IN ('admin', 'project_manager') THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only a project manager or an admin shares the portfolio report.',
            NULL::bigint;
        RETURN;
    END IF;

    mon := CASE WHEN w ~ '^\d{4}-W\d\d$' THEN iso_week_start(w) END;

    IF mon IS NULL OR iso_week(mon) <> w THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'report_week is an ISO week (YYYY-Www).', NULL::bigint;
        RETURN;
    END IF;

    IF mon > workspace_today() THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'That week has not started yet.', NULL::bigint;
        RETURN;
    END IF;

    IF b ? 'expires_at' AND b ? 'expires_in_seconds' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Give expires_at or expires_in_seconds, not both.', NULL::bigint;
        RETURN;
    END IF;

    IF b ? 'expires_at' AND b->>'expires_at' !~
       '^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$'
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'expires_at must be an RFC 3339 time.', NULL::bigint;
        RETURN;
    END IF;

    -- whole seconds, as for every link (share_link_create, 011)
    expires := CASE
        WHEN b ? 'expires_at'
        THEN date_trunc('second', (b->>'expires_at')::timestamptz)
        WHEN b ? 'expires_in_seconds'
        THEN date_trunc('second', now() + interval '999999 microseconds'
                 + make_interval(secs => (b->>'expires_in_seconds')::int))
    END;

    IF expires IS NOT NULL AND expires <= now() THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'expires_at is in the past.', NULL::bigint;
        RETURN;
    END IF;

    INSERT INTO share_links (code, target_type, report_week, expires_at,
                             max_visits, password_hash, grant_secret,
                             created_by)
    VALUES (new_code, 'report', w, expires, (b->>'max_visits')::int, hash,
            secret, actor)
    RETURNING * INTO l;

    INSERT INTO activity_log (actor_id, entity_type, entity_id, action,
                              new_values)
    VALUES (actor, 'share_link', l.id, 'created',
            share_link_json(l, base) - 'short_url' - 'code')
    RETURNING id INTO a;

    RETURN QUERY SELECT 201, share_link_json(l, base)::text,
                        '/api/v1/share-links/' || l.id, a;
END;
$$;


-- What someone outside reads of a week's report: the report without ids,
-- the rules' evidence (people, tasks) or the update's author's id; the
-- reasons in words, as the committee reads them.
CREATE FUNCTION share_link_report_json(l share_links) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r  jsonb;
BEGIN
    SELECT x.body::jsonb INTO r
      FROM portfolio_report(l.report_week, NULL, 'json') x
     WHERE x.status = 200;

    IF r IS NULL THEN
        RETURN NULL;
    END IF;

    RETURN jsonb_build_object(
        'type', 'report',
        'expires_at', l.expires_at,
        'report', jsonb_build_object(
            'week', r->'week', 'from', r->'from', 'to', r->'to',
            'generated_at', r->'generated_at', 'frozen', r->'frozen',
            'projects', coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'key', p->'key', 'name', p->'name',
                    'health', p->'health',
                    'reasons', coalesce((SELECT jsonb_agg(x->'text'
                                                          ORDER BY n)
                                           FROM jsonb_array_elements(
                                                    p->'reasons')
                                                WITH ORDINALITY e (x, n)),
                                        '[]'),
                    'top_risks', p->'top_risks',
                    'progress', p->'progress',
                    'milestones', p->'milestones',
                    'changes', p->'changes',
                    'latest_update', CASE WHEN jsonb_typeof(
                                              p->'latest_update') = 'object'
                        THEN jsonb_build_object(
                            'author', p#>'{latest_update,author,name}',
                            'health', p#>'{latest_update,health}',
                            'text', p#>'{latest_update,text}',
                            'week', p#>'{latest_update,week}',
                            'created_at', p#>'{latest_update,created_at}')
                        END,
                    'utilisation', p->'utilisation') ORDER BY n)
                  FROM jsonb_array_elements(r->'projects')
                       WITH ORDINALITY a (p, n)), '[]')));
END
$$;


-- What an LLM is given to draft a project's weekly update (issue 19): the
-- insights' compact digest (figures and rule names: no people, no task
-- titles, no emails) with the rules' health and the week.
CREATE FUNCTION project_update_digest(p projects) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT insight_digest_compact(insight_digest(p.id))
           || jsonb_build_object('health', project_health_json(p)->'health',
                                 'week', iso_week(workspace_today()))
$$;
