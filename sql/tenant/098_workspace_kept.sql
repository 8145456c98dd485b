-- GET /api/v1/workspace, kept: the document its settings make is built
-- when a setting is written, not on every read. The read was a PL/pgSQL
-- call aggregating five settings into JSON (half of pgbench -S's rate);
-- it is now one row's text with the slug put in front (the slug is the
-- catalog's, not the database's: a workspace keeps its database when it
-- is renamed or moved).
--
-- Never stale after a commit: every statement that writes settings first
-- locks the kept row (before its own rows), then builds the document in a
-- statement of its own, whose snapshot is taken after the lock is held,
-- so it sees every write that committed before it; a writer that comes
-- later waits for the lock and builds after this one committed. Taking
-- the kept row first, whatever keys a statement writes, gives every
-- writer of settings one lock order.

CREATE TABLE workspace_kept (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    -- the document without its opening brace and slug: '"name" : ...}'
    rest      text NOT NULL
);

-- 096's workspace_json without the slug: what the settings say
CREATE FUNCTION workspace_kept_build() RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s  jsonb;
BEGIN
    SELECT jsonb_object_agg(key, value) INTO s
      FROM settings
     WHERE key IN ('name', 'open_registration', 'time_zone', 'cors_origins',
                   'currency');

    RETURN substr(json_build_object(
        'name', s->'name' #>> '{}',
        'open_registration', coalesce(s->'open_registration' = 'true'::jsonb,
                                      false),
        'time_zone', coalesce(s->'time_zone' #>> '{}', 'UTC'),
        'cors_origins', CASE WHEN jsonb_typeof(s->'cors_origins') = 'array'
                             THEN s->'cors_origins' ELSE '[]'::jsonb END,
        'currency', coalesce(s->'currency' #>> '{}', 'EUR'))::text, 2);
END
$$;

INSERT INTO workspace_kept (rest) VALUES (workspace_kept_build());

CREATE FUNCTION workspace_kept_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM workspace_kept FOR UPDATE;
    RETURN NULL;
END
$$;

CREATE FUNCTION workspace_kept_renew() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workspace_kept SET rest = workspace_kept_build();
    RETURN NULL;
END
$$;

CREATE TRIGGER settings_kept_lock
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION workspace_kept_lock();

CREATE TRIGGER settings_kept_renew
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION workspace_kept_renew();

-- The same document for PATCH's answer (019, 096) and any other caller.
CREATE OR REPLACE FUNCTION workspace_json(slug text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT ('{"slug" : ' || to_json(slug) || ', ' || rest)::json
      FROM workspace_kept
$$;
