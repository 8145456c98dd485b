-- Invitations, and the shapes people are shown in.

ALTER TABLE users
    ADD COLUMN invite_hash text UNIQUE,
    ADD COLUMN invite_expires_at timestamptz;

-- A user as the API shows it: no secrets, with the ids of their teams.
CREATE FUNCTION user_public(u jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT (u - 'password_hash' - 'invite_hash' - 'invite_expires_at')
           || jsonb_build_object('teams', coalesce(
                  (SELECT jsonb_agg(tm.team_id ORDER BY tm.team_id)
                     FROM team_members tm
                    WHERE tm.user_id = (u->>'id')::uuid), '[]'))
$$;

-- Who may see whom: admins everyone, project managers the people of
-- their teams, everyone themselves.
CREATE FUNCTION can_see_user(actor uuid, role text, target uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT role = 'admin' OR actor = target
        OR (role = 'project_manager' AND EXISTS (
                SELECT 1 FROM team_members a
                  JOIN team_members b ON b.team_id = a.team_id
                 WHERE a.user_id = actor AND b.user_id = target))
$$;

-- A team with its members' ids and names.
CREATE FUNCTION team_public(t jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT t || jsonb_build_object('members', coalesce(
               (SELECT jsonb_agg(jsonb_build_object('id', u.id,
                                                    'name', u.name)
                                 ORDER BY u.name, u.id)
                  FROM team_members tm JOIN users u ON u.id = tm.user_id
                 WHERE tm.team_id = (t->>'id')::uuid), '[]'))
$$;
