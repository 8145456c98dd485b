-- The operators' event stream (GET /api/v1/platform/events): what the
-- console shows live, kept as a log so that a stream resumes with
-- Last-Event-ID on any node. A workspace's creation and every change an
-- operator sorts or acts by (status, plan, limits, server, schema
-- version), and every change of a job, whoever made it: nginx, a sign-up,
-- kanbanctl's runner or migrate.
--
-- The rows are made at commit by deferred triggers under one lock, so
-- their ids rise in commit order: a stream that has seen id N never
-- misses a smaller id committed later. Kept 24 hours.

CREATE TABLE platform_events (
    id              bigserial PRIMARY KEY,
    type            text NOT NULL
                    CHECK (type IN ('workspace.created', 'workspace.updated',
                                    'job.updated')),
    data            jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX platform_events_created ON platform_events (created_at);


-- One event, as its row stands at commit (a later change in the same
-- transaction is in it); the lock makes ids follow commit order.
CREATE FUNCTION platform_event_add(p_type text, p_data json)
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

    IF n % 1000 = 0 THEN
        DELETE FROM platform_events
         WHERE created_at < now() - interval '24 hours';
    END IF;
END $$;


CREATE FUNCTION platform_event_job() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM platform_event_add('job.updated',
        (SELECT platform_job_json(j) FROM jobs j WHERE j.id = NEW.id));
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER platform_event_job
    AFTER INSERT OR UPDATE ON jobs
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION platform_event_job();


-- created: when its provisioning ends; updated: what the console shows
-- of it changed (its figures come by their own clock, not as events)
CREATE FUNCTION platform_event_workspace() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM platform_event_add(
        CASE WHEN OLD.status = 'provisioning' AND NEW.status <> 'provisioning'
             THEN 'workspace.created' ELSE 'workspace.updated' END,
        (SELECT platform_workspace_json(t, f)
           FROM tenants t LEFT JOIN tenant_figures f ON f.tenant_id = t.id
          WHERE t.id = NEW.id AND t.status <> 'provisioning'));
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER platform_event_workspace
    AFTER UPDATE ON tenants
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.plan IS DISTINCT FROM NEW.plan
          OR OLD.server IS DISTINCT FROM NEW.server
          OR OLD.schema_version IS DISTINCT FROM NEW.schema_version
          OR OLD.max_users IS DISTINCT FROM NEW.max_users
          OR OLD.max_storage_bytes IS DISTINCT FROM NEW.max_storage_bytes
          OR OLD.api_rate IS DISTINCT FROM NEW.api_rate)
    EXECUTE FUNCTION platform_event_workspace();
