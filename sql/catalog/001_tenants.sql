-- The catalog: which workspaces exist and where their databases live.

CREATE TABLE tenants (
    id              uuid PRIMARY KEY,
    slug            text NOT NULL UNIQUE
                    CHECK (slug ~ '^[a-z][a-z0-9-]{1,30}[a-z0-9]$'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status          text NOT NULL DEFAULT 'provisioning'
                    CHECK (status IN ('provisioning', 'active', 'suspended')),
    db_name         text NOT NULL UNIQUE,
    -- libpq conninfo of the server holding db_name; '' is the catalog's own
    db_dsn          text NOT NULL DEFAULT '',
    schema_version  integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
