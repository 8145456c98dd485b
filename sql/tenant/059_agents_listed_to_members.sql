-- Members list the workspace's agents too, so that whoever may change a
-- task may delegate it from the task panel (before, only admins saw the
-- list, and the picker was theirs alone). Admins see every agent with its
-- webhook's URL; others see the active agents without it (an external
-- agent's receiver is the admins' business). The argument is not named
-- role: users has a column of that name, which would win.

CREATE FUNCTION agents_list(asker_role text)
RETURNS TABLE (status int, body text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(CASE WHEN asker_role = 'admin' THEN agent_json(u, a)
                              ELSE agent_json(u, a)
                                   || '{"webhook_url": null}'::jsonb END
                         ORDER BY lower(u.name), a.id)
          FROM agents a JOIN users u ON u.id = a.id
         WHERE asker_role = 'admin' OR u.status = 'active'), '[]'),
        'next_cursor', NULL)::text
$$;
