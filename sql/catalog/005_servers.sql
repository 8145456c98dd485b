-- The PostgreSQL servers that hold workspace databases, and which one
-- holds each workspace's.
--
-- A server's dsn is a libpq conninfo reaching its maintenance database
-- (CREATE DATABASE and DROP DATABASE run there; a workspace's own dbname
-- is put over it). '' is the catalog's own server, as nginx's
-- kanban_catalog reaches it: the server every workspace was on before
-- there were several, which this file registers as 'default'.
--
-- tenants.db_dsn stays what nginx reads (the tenant lookup, the webhook
-- sweep), but it is no longer written by hand: it is the DSN of the
-- tenant's server, kept by the triggers below, so a server's DSN is
-- written once, here.

CREATE TABLE servers (
    name        text PRIMARY KEY
                CHECK (name ~ '^[a-z][a-z0-9-]{0,30}[a-z0-9]$'),
    dsn         text NOT NULL UNIQUE,
    -- how many workspaces it is meant to hold, relative to the others
    capacity    integer NOT NULL DEFAULT 1000 CHECK (capacity > 0),
    -- active: takes new workspaces; draining: keeps its own, takes none
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'draining')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO servers (name, dsn) VALUES ('default', '');

-- Workspaces some earlier hand put elsewhere: a server each.
INSERT INTO servers (name, dsn)
SELECT 'server-' || row_number() OVER (ORDER BY db_dsn), db_dsn
  FROM (SELECT DISTINCT db_dsn FROM tenants WHERE db_dsn <> '') d;

ALTER TABLE tenants ADD COLUMN server text REFERENCES servers (name);

UPDATE tenants t SET server = s.name FROM servers s WHERE s.dsn = t.db_dsn;

ALTER TABLE tenants ALTER COLUMN server SET NOT NULL;

CREATE INDEX tenants_server ON tenants (server);

-- moving: its database is being copied to another server; reads go on,
-- writes are refused with 503 tenant_moving until the switch.
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('provisioning', 'active', 'suspended', 'moving'));


-- A workspace made without naming its server is placed by the rule.
CREATE FUNCTION tenants_server_dsn() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.server IS NULL THEN
        NEW.server := place_workspace();
    END IF;
    SELECT dsn INTO STRICT NEW.db_dsn FROM servers WHERE name = NEW.server;
    RETURN NEW;
END $$;

CREATE TRIGGER tenants_server_dsn
    BEFORE INSERT OR UPDATE OF server, db_dsn ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenants_server_dsn();

CREATE FUNCTION servers_dsn_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET db_dsn = NEW.dsn WHERE server = NEW.name;
    RETURN NULL;
END $$;

CREATE TRIGGER servers_dsn_changed
    AFTER UPDATE OF dsn ON servers
    FOR EACH ROW EXECUTE FUNCTION servers_dsn_changed();


-- Where a new workspace goes: the active server with the fewest
-- workspaces for its capacity (workspaces / capacity, lowest first),
-- ties by name. Sign-ups at the same moment may pick the same server;
-- the next ones even it out.
CREATE FUNCTION place_workspace() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT s.name
      FROM servers s
      LEFT JOIN (SELECT server, count(*) AS n FROM tenants GROUP BY server) t
             ON t.server = s.name
     WHERE s.status = 'active'
     ORDER BY coalesce(t.n, 0)::numeric / s.capacity, s.name
     LIMIT 1
$$;
