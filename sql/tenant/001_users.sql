-- A workspace's people, its settings and its audit trail.

CREATE TABLE settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO settings (key, value) VALUES
    ('name', '""'),
    ('open_registration', 'false');

CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role           text NOT NULL DEFAULT 'contributor'
                   CHECK (role IN ('admin', 'project_manager', 'contributor')),
    status         text NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'invited', 'disabled', 'erased')),
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        integer NOT NULL DEFAULT 1
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE activity_log (
    id           bigserial PRIMARY KEY,
    actor_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    entity_type  text NOT NULL,
    entity_id    uuid,
    action       text NOT NULL,
    old_values   jsonb,
    new_values   jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX activity_log_entity ON activity_log (entity_type, entity_id, id);
