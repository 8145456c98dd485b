-- Share links that unfurl in chat apps (issue 25): a crawler's GET of a
-- task's or a project's /s/{code} (Slack, Teams, Discord, WhatsApp ...:
-- kanban_share_bots) gets a page of Open Graph tags instead of the
-- redirect to the app's page, which has none. Title and description only:
-- nothing of people, comments or the workspace beyond what the shared
-- page shows. A link's password or expiry stop a crawler as they stop a
-- person (nginx judges before it asks for this).

-- The title and description a link's preview shows (none: no row): a
-- task's key and title and the start of its description, a project's
-- name and description, each made one line and cut to what unfurlers
-- show.
CREATE FUNCTION share_link_unfurl(link uuid)
RETURNS TABLE (title text, description text)
LANGUAGE sql STABLE AS $$
    SELECT left(regexp_replace(x.title, '\s+', ' ', 'g'), 200),
           left(regexp_replace(btrim(x.description), '\s+', ' ', 'g'), 300)
      FROM share_links l
      CROSS JOIN LATERAL (
          SELECT p.key || '-' || t.number || ': ' || t.title AS title,
                 t.description
            FROM tasks t JOIN projects p ON p.id = t.project_id
           WHERE l.target_type = 'task' AND t.id = l.task_id
          UNION ALL
          SELECT p.name, p.description
            FROM projects p
           WHERE l.target_type = 'project' AND p.id = l.project_id
      ) x
     WHERE l.id = link AND l.revoked_at IS NULL
$$;
