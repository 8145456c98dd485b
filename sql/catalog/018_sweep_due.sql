-- When each workspace's background sweep is next due (ngx_kanban_sweep.h):
-- a sweep (mail, webhooks, ...) lists only the rows due within its period,
-- so a workspace with nothing due is never connected to, however many
-- the catalog holds. A worker writes a row when a step of the sweep
-- learns a new due time (the next queued message, the next digest), and
-- deletes it when nothing is due (only if no one changed it since).
-- The slug '' is the catalog's own outbox, so it is no foreign key.

CREATE TABLE sweep_due (
    sweep   text NOT NULL CHECK (length(sweep) BETWEEN 1 AND 64),
    slug    text NOT NULL,
    due_at  timestamptz NOT NULL,
    PRIMARY KEY (sweep, slug)
);

CREATE INDEX sweep_due_at ON sweep_due (sweep, due_at);


-- A workspace deleted or being deleted is swept no more: its rows go.
CREATE FUNCTION sweep_due_forget() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sweep_due WHERE slug = OLD.slug;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_sweep_due_deleted
    AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION sweep_due_forget();

CREATE TRIGGER tenants_sweep_due_deleting
    AFTER UPDATE OF status ON tenants
    FOR EACH ROW WHEN (NEW.status IN ('deleting', 'deleted'))
    EXECUTE FUNCTION sweep_due_forget();
