-- CORS: the origins allowed to call a workspace's API from a browser
-- (other than the workspace's own pages). None by default: the UI is
-- same-origin. An admin sets the list with PATCH /api/v1/workspace
-- ({"cors_origins": ["https://app.example"]}); nginx answers preflights
-- from the list, cached per workspace for a few seconds, and never allows
-- cookies cross-origin. The list replaces the one before; its origins
-- are checked by the module (scheme, host, port; at most 20).

INSERT INTO settings (key, value) VALUES ('cors_origins', '[]')
    ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION workspace_cors_origins() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT value FROM settings
                      WHERE key = 'cors_origins'
                        AND jsonb_typeof(value) = 'array'), '[]')
$$;


CREATE OR REPLACE FUNCTION workspace_json(slug text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'slug', slug,
        'name', (SELECT value #>> '{}' FROM settings WHERE key = 'name'),
        'open_registration', coalesce((SELECT value = 'true'::jsonb
                                         FROM settings
                                        WHERE key = 'open_registration'),
                                      false),
        'time_zone', workspace_time_zone(),
        'cors_origins', workspace_cors_origins())
$$;


-- PATCH /api/v1/workspace, as in 015, with cors_origins (a list of
-- distinct origins; null is none).
CREATE OR REPLACE FUNCTION workspace_update(actor uuid, slug text, b jsonb)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    keys  text[] := ARRAY['open_registration', 'time_zone', 'cors_origins'];
    old   jsonb;
    new   jsonb;
BEGIN
    IF b ? 'time_zone' AND NOT EXISTS (
           SELECT 1 FROM pg_timezone_names WHERE name = b->>'time_zone')
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'time_zone: not a time zone of the IANA database, such as '
            'Europe/Berlin or America/New_York.';
        RETURN;
    END IF;

    IF b ? 'open_registration'
       AND jsonb_typeof(b->'open_registration') <> 'boolean'
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
                            'open_registration: true or false.';
        RETURN;
    END IF;

    IF b ? 'cors_origins' THEN
        IF jsonb_typeof(b->'cors_origins') = 'null' THEN
            b := jsonb_set(b, '{cors_origins}', '[]');
        END IF;

        IF jsonb_typeof(b->'cors_origins') <> 'array' THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                                'cors_origins: a list of origins.';
            RETURN;
        END IF;

        b := jsonb_set(b, '{cors_origins}', coalesce(
                 (SELECT jsonb_agg(DISTINCT o)
                    FROM jsonb_array_elements(b->'cors_origins') o),
                 '[]'));
    END IF;

    SELECT jsonb_object_agg(s.key, s.value) INTO old
      FROM settings s WHERE s.key = ANY (keys);

    INSERT INTO settings (key, value, updated_at)
    SELECT k.key, b->k.key, now()
      FROM unnest(keys) k(key)
     WHERE b ? k.key
    ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                    updated_at = excluded.updated_at;

    SELECT jsonb_object_agg(s.key, s.value) INTO new
      FROM settings s WHERE s.key = ANY (keys);

    IF new IS DISTINCT FROM old THEN
        INSERT INTO activity_log (actor_id, entity_type, action, old_values,
                                  new_values)
        VALUES (actor, 'workspace', 'updated', old, new);
    END IF;

    RETURN QUERY SELECT 200, workspace_json(slug)::text, NULL::text;
END
$$;
