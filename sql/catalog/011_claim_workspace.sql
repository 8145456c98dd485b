-- A sign-up's claim in one round trip: the slug taken (status
-- provisioning, placed by place_workspace()) and, when its server has
-- one ready, a spare database made its own. No row: the slug is taken.
-- spare says whether the database exists already (else the sign-up
-- creates db_name from the template).
CREATE FUNCTION claim_workspace(p_slug text, p_name text)
RETURNS TABLE (id uuid, db_name text, db_dsn text, spare boolean)
LANGUAGE plpgsql AS $$
DECLARE
    t  tenants%ROWTYPE;
    s  text;
BEGIN
    -- a stale claim (a sign-up that died half-way and could not undo
    -- itself) does not hold a slug for ever
    INSERT INTO tenants AS o (id, slug, name, db_name)
    SELECT g.u, p_slug, p_name, 'kanban_t_' || replace(g.u::text, '-', '')
      FROM (SELECT gen_random_uuid() AS u) g
    ON CONFLICT (slug) DO UPDATE
       SET id = excluded.id, name = excluded.name,
           db_name = excluded.db_name, created_at = now(),
           updated_at = now()
     WHERE o.status = 'provisioning'
       AND o.updated_at < now() - interval '10 minutes'
    RETURNING o.* INTO t;

    IF NOT FOUND THEN
        RETURN;
    END IF;

    -- the oldest ready spare of its server; SKIP LOCKED: sign-ups at
    -- once take different ones
    DELETE FROM spare_databases d
     WHERE d.db_name = (SELECT x.db_name FROM spare_databases x
                         WHERE x.server = t.server AND x.ready
                         ORDER BY x.created_at LIMIT 1
                           FOR UPDATE SKIP LOCKED)
    RETURNING d.db_name INTO s;

    IF FOUND THEN
        UPDATE tenants SET db_name = s WHERE tenants.id = t.id;
        RETURN QUERY SELECT t.id, s, t.db_dsn, true;
    ELSE
        RETURN QUERY SELECT t.id, t.db_name, t.db_dsn, false;
    END IF;
END $$;
