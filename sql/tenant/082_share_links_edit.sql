-- Share links kept up (issue 25): a link's expiry, tags and folder edited
-- (PATCH /api/v1/share-links/{id}), and its visits exported as CSV. A
-- link's statistics outlive it: revoking only marks it and expiry only
-- stops the redirect, so its analytics and this export stay readable.

-- PATCH /api/v1/share-links/{id}: {expires_at | expires_in_seconds (null:
-- never), tags, folder (null: none)}. A revoked link stays revoked and
-- unchanged (409); an expired one given a later expiry opens again.
-- extra: the code, for nginx to drop the link from its cache.
CREATE FUNCTION share_link_update(actor uuid, role text, base text,
                                  link uuid, b jsonb)
RETURNS TABLE (status integer, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    l        share_links;
    old      jsonb;
    why      text;
    timed    boolean;
    expires  timestamptz;
BEGIN
    SELECT * INTO l FROM share_links s
     WHERE s.id = link AND share_link_visible(actor, role, s) FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF l.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 409, 'conflict',
            'This link is revoked: it cannot be changed.';
        RETURN;
    END IF;

    IF NOT (b ?| ARRAY['expires_at', 'expires_in_seconds', 'tags',
                       'folder'])
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Give expires_at, expires_in_seconds, tags or folder.';
        RETURN;
    END IF;

    IF b ? 'expires_at' AND b ? 'expires_in_seconds' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Give expires_at or expires_in_seconds, not both.';
        RETURN;
    END IF;

    why := share_filing_problem(b);
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', why;
        RETURN;
    END IF;

    IF jsonb_typeof(b->'expires_at') = 'string' AND b->>'expires_at' !~
       '^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$'
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'expires_at must be an RFC 3339 time.';
        RETURN;
    END IF;

    -- whole seconds, as share_link_create keeps them
    timed := b ? 'expires_at' OR b ? 'expires_in_seconds';
    expires := CASE
        WHEN jsonb_typeof(b->'expires_at') = 'string'
        THEN date_trunc('second', (b->>'expires_at')::timestamptz)
        WHEN jsonb_typeof(b->'expires_in_seconds') = 'number'
        THEN date_trunc('second', now() + interval '999999 microseconds'
                 + make_interval(secs => (b->>'expires_in_seconds')::int))
    END;

    IF expires IS NOT NULL AND expires <= now() THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'expires_at is in the past.';
        RETURN;
    END IF;

    old := share_link_json(l, base) - 'short_url' - 'code';

    UPDATE share_links s
       SET expires_at = CASE WHEN timed THEN expires ELSE s.expires_at END,
           tags = CASE WHEN b ? 'tags'
                       THEN ARRAY(SELECT jsonb_array_elements_text(b->'tags'))
                       ELSE s.tags END,
           folder = CASE WHEN b ? 'folder' THEN b->>'folder'
                         ELSE s.folder END
     WHERE s.id = l.id
    RETURNING * INTO l;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, coalesce(l.project_id, (SELECT project_id FROM tasks
                                            WHERE id = l.task_id)),
            'share_link', l.id, 'updated', old,
            share_link_json(l, base) - 'short_url' - 'code');

    RETURN QUERY SELECT 200, share_link_json(l, base)::text, l.code;
END;
$$;


-- GET /api/v1/share-links/{id}/visits.csv: each visit a row, the newest
-- 100,000, oldest first; the referrer and user agent are the visitor's
-- text, so a cell a spreadsheet would take for a formula is defused
-- (csv_cell). Addresses as stored: anonymised.
CREATE FUNCTION share_link_visits_csv(actor uuid, role text, link uuid)
RETURNS TABLE (status integer, body text, extra text, activity bigint,
               type text, filename text)
LANGUAGE sql STABLE AS $$
    SELECT 200,
           'visited_at,referrer,user_agent,bot,ip' || E'\r\n'
           || coalesce((SELECT string_agg(concat_ws(',',
                  to_char(v.visited_at AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                  csv_cell(v.referrer), csv_cell(v.user_agent),
                  v.bot::text, coalesce(host(v.ip), '')) || E'\r\n',
                  '' ORDER BY v.visited_at, v.id)
                FROM (SELECT * FROM share_link_visits w
                       WHERE w.link_id = l.id
                       ORDER BY w.visited_at DESC, w.id DESC
                       LIMIT 100000) v), ''),
           NULL::text, NULL::bigint, 'text/csv; charset=utf-8',
           'share-link-' || l.id || '-visits.csv'
      FROM share_links l
     WHERE l.id = link AND share_link_visible(actor, role, l)
$$;
