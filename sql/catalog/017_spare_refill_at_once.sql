-- Spares made several at a time (kanban_spare_databases_at_once): 010
-- handed out one database at a time a server, so a burst of sign-ups
-- took spares faster than a node made them (about one a second a
-- server). spare_databases_wanted() hands out up to at_once makings a
-- server at once (those of every node counted: a row not ready is one),
-- the emptiest server first, at most room for the node that asks (what
-- it has free). 010's function stays for nodes not yet upgraded.

CREATE FUNCTION spare_databases_wanted(want integer, at_once integer,
                                       room integer)
RETURNS TABLE (db_name text, dsn text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n  integer;
BEGIN
    -- the nodes of a cluster ask one at a time (the lock 010's takes)
    PERFORM pg_advisory_xact_lock(hashtext('spare_database_wanted'));

    -- makings in progress for ten minutes died with their node
    RETURN QUERY
    WITH stale AS (
        UPDATE spare_databases d SET started_at = now()
         WHERE d.db_name IN (SELECT m.db_name FROM spare_databases m
                              WHERE NOT m.ready
                                AND m.started_at < now() - interval '10 minutes'
                              ORDER BY m.started_at LIMIT room)
        RETURNING d.db_name, d.server)
    SELECT stale.db_name, s.dsn FROM stale JOIN servers s ON s.name = stale.server;

    GET DIAGNOSTICS n = ROW_COUNT;
    room := room - n;

    IF room <= 0 THEN
        RETURN;
    END IF;

    -- a slot per database missing, up to at_once being made a server;
    -- slots taken in the order of the count they would bring their
    -- server to, so that servers are filled evenly
    RETURN QUERY
    WITH counts AS (
        SELECT s.name, s.dsn, count(d.db_name)::integer AS have,
               (count(d.db_name) FILTER (WHERE NOT d.ready))::integer AS making
          FROM servers s
          LEFT JOIN spare_databases d ON d.server = s.name
         WHERE s.status = 'active'
         GROUP BY s.name, s.dsn),
    picked AS (
        SELECT c.name
          FROM counts c,
               generate_series(1, least(want - c.have, at_once - c.making)) g(i)
         ORDER BY c.have + g.i, c.name
         LIMIT room),
    made AS (
        INSERT INTO spare_databases (db_name, server, ready)
        SELECT 'kanban_s_' || replace(gen_random_uuid()::text, '-', ''),
               picked.name, false
          FROM picked
        RETURNING spare_databases.db_name, spare_databases.server)
    SELECT made.db_name, c.dsn FROM made JOIN counts c ON c.name = made.server;
END $$;
