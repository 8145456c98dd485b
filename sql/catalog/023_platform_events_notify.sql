-- The operators' event stream is woken, not polled
-- (modules/platform/ngx_kanban_platform_events.c, ngx_kanban_pg_listen.c):
-- each event of the log notifies the channel platform_events, delivered
-- at its commit to every nginx worker that has streams open, on every
-- node, whoever wrote it (nginx, kanbanctl's runner or migrate). The payload is the event's id;
-- the streams read the log itself, so a notification that merges with
-- another (one transaction, several events) loses nothing.

CREATE OR REPLACE FUNCTION platform_event_add(p_type text, p_data json)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n  bigint;
BEGIN
    IF p_data IS NULL THEN
        RETURN;
    END IF;

    PERFORM pg_advisory_xact_lock(hashtext('platform_events'));

    INSERT INTO platform_events (type, data) VALUES (p_type, p_data)
    RETURNING id INTO n;

    PERFORM pg_notify('platform_events', n::text);

    IF n % 1000 = 0 THEN
        DELETE FROM platform_events
         WHERE created_at < now() - interval '24 hours';
    END IF;
END $$;
