-- A workspace's full export (catalog 021: the job that makes it), kept in
-- the workspace's own database so that it moves with it, is served only
-- by its host to its admins, and goes when the workspace is purged. The
-- runner keeps the newest only. content: gzip'd JSON, every table's rows.

CREATE TABLE workspace_exports (
    job_id          uuid PRIMARY KEY,
    bytes           bigint NOT NULL CHECK (bytes >= 0),
    tables          integer NOT NULL CHECK (tables >= 0),
    content         bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
