-- Spare databases refilled by nginx itself (kanban_spare_databases N):
-- a worker of each node asks spare_database_wanted() every second and
-- makes what it is told to, off the request path. A row is written
-- before its database exists (ready false) so that two nodes asking at
-- once are not both told to make the missing ones; sign-ups take only
-- ready ones. A row left not ready for ten minutes (a node died making
-- it) is handed out again, to be dropped and made anew.

ALTER TABLE spare_databases ADD COLUMN ready boolean NOT NULL DEFAULT true;

ALTER TABLE spare_databases
    ADD COLUMN started_at timestamptz NOT NULL DEFAULT now();

DROP INDEX spare_databases_server;
CREATE INDEX spare_databases_ready ON spare_databases (server, created_at)
    WHERE ready;

-- One database to make: on the active server furthest below want spares
-- (ready or being made), none when every server has enough. One at a
-- time a server: a CREATE DATABASE copies the template and should not
-- pile up beside the workspaces' own work.
CREATE FUNCTION spare_database_wanted(want integer)
RETURNS TABLE (db_name text, dsn text)
LANGUAGE plpgsql AS $$
DECLARE
    stale  text;
BEGIN
    -- the nodes of a cluster ask one at a time
    PERFORM pg_advisory_xact_lock(hashtext('spare_database_wanted'));

    -- a making in progress for ten minutes died with its node
    SELECT d.db_name INTO stale FROM spare_databases d
     WHERE NOT d.ready AND d.started_at < now() - interval '10 minutes'
     ORDER BY d.started_at LIMIT 1;
    IF FOUND THEN
        UPDATE spare_databases SET started_at = now()
         WHERE spare_databases.db_name = stale;
        RETURN QUERY SELECT stale, s.dsn FROM spare_databases d
                       JOIN servers s ON s.name = d.server
                      WHERE d.db_name = stale;
        RETURN;
    END IF;

    RETURN QUERY
    WITH short AS (
        SELECT s.name, s.dsn
          FROM servers s
          LEFT JOIN spare_databases d ON d.server = s.name
         WHERE s.status = 'active'
           AND NOT EXISTS (SELECT 1 FROM spare_databases m
                            WHERE m.server = s.name AND NOT m.ready)
         GROUP BY s.name, s.dsn
        HAVING count(d.db_name) < want
         ORDER BY count(d.db_name), s.name
         LIMIT 1),
    made AS (
        INSERT INTO spare_databases (db_name, server, ready)
        SELECT 'kanban_s_' || replace(gen_random_uuid()::text, '-', ''),
               short.name, false
          FROM short
        RETURNING spare_databases.db_name, server)
    SELECT made.db_name, short.dsn FROM made JOIN short ON short.name = made.server;
END $$;
