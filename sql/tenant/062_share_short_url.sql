-- short_url as API.md has it: on the short host `https://<short host>/{code}`
-- (kanban_share_short_host serves /{code}), on the workspace's own host
-- `.../s/{code}`. The module decides which and hands the prefix as base
-- ($kanban_share_base: the short origin, or the workspace origin and /s),
-- so the link and its QR code (which reads short_url from here) agree.

CREATE OR REPLACE FUNCTION share_link_json(l share_links, base text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', l.id,
        'code', l.code,
        'short_url', base || '/' || l.code,
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
