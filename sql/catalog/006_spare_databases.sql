-- Databases made ahead of time from a server's template, so that a
-- sign-up takes one (a catalog UPDATE) instead of waiting for CREATE
-- DATABASE, which copies the template and costs hundreds of
-- milliseconds. conf/kanbanctl spares N keeps N a server (run it from
-- cron, or after a burst of sign-ups); with none left, sign-up creates
-- the database as before. sql/migrate migrates spares like workspaces.

CREATE TABLE spare_databases (
    db_name     text PRIMARY KEY CHECK (db_name ~ '^kanban_s_[0-9a-f]{32}$'),
    server      text NOT NULL REFERENCES servers (name) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX spare_databases_server ON spare_databases (server, created_at);
