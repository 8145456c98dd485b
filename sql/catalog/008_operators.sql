-- Operators: the people who run the installation. Their accounts live in
-- the catalog, never in a workspace; they sign in on the platform host
-- with a password and a TOTP code (RFC 6238), both required, and see
-- workspaces as figures, never their tasks.

CREATE TABLE operators (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL
                    CHECK (length(email) BETWEEN 3 AND 254
                           AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    -- pending until the setup link is used: no password, no TOTP yet
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'active', 'disabled')),
    password_hash   text,
    -- the TOTP secret, sealed as webhooks' secrets are ("v1:...")
    totp_secret     text,
    -- the last time step a code was accepted for: a code is never
    -- accepted twice, nor one of an earlier step (replay protection)
    totp_last_step  bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (status = 'pending'
           OR (password_hash IS NOT NULL AND totp_secret IS NOT NULL))
);

CREATE UNIQUE INDEX operators_email ON operators (lower(email));


-- A setup link (kanbanctl operator add): single use, short-lived; the
-- catalog keeps the SHA-256 of its token only. The TOTP secret is made
-- when the link is first opened and kept here until the setup is done.
CREATE TABLE operator_setups (
    token_hash      text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    operator_id     uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    totp_secret     text,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX operator_setups_operator ON operator_setups (operator_id);


-- A signed-in operator: valid on the platform host only (nothing on a
-- workspace's host reads this table), 8 hours at most.
CREATE TABLE operator_sessions (
    token_hash      text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    operator_id     uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    address         inet,
    user_agent      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);

CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);


-- Failed operator sign-ins, per account and address, for the throttle.
CREATE TABLE operator_login_failures (
    email           text NOT NULL,
    address         inet NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX operator_login_failures_at ON operator_login_failures (at);


-- Every operator action: who, what, to which workspace, when, from where.
-- The email is kept as it was, so the row outlives its operator.
CREATE TABLE platform_audit (
    id              bigserial PRIMARY KEY,
    operator_id     uuid REFERENCES operators (id) ON DELETE SET NULL,
    operator_email  text NOT NULL,
    action          text NOT NULL,
    workspace       text,
    details         jsonb NOT NULL DEFAULT '{}',
    address         inet,
    at              timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX platform_audit_at ON platform_audit (id DESC);
CREATE INDEX platform_audit_workspace ON platform_audit (workspace, id DESC);


-- A workspace's plan and its limits (NULL: none); quotas enforce them.
ALTER TABLE tenants
    ADD COLUMN plan text NOT NULL DEFAULT 'free'
        CHECK (plan ~ '^[a-z][a-z0-9_-]{0,31}$'),
    ADD COLUMN max_users integer CHECK (max_users > 0),
    ADD COLUMN max_storage_bytes bigint CHECK (max_storage_bytes > 0),
    ADD COLUMN api_rate integer CHECK (api_rate > 0);


-- What an operator sorts workspaces by, measured in each workspace's
-- database (kanbanctl figures, from cron) and kept here, so that the
-- console's list of 10,000 workspaces is one catalog query.
CREATE TABLE tenant_figures (
    tenant_id       uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    users           integer NOT NULL DEFAULT 0,
    tasks           bigint NOT NULL DEFAULT 0,
    size_bytes      bigint NOT NULL DEFAULT 0,
    last_active_at  timestamptz,
    measured_at     timestamptz NOT NULL DEFAULT now()
);


-- A workspace as the console shows it: figures, never contents.
CREATE FUNCTION platform_workspace_json(t tenants, f tenant_figures)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'slug', t.slug, 'name', t.name, 'status', t.status,
        'server', t.server, 'schema_version', t.schema_version,
        'users', coalesce(f.users, 0), 'tasks', coalesce(f.tasks, 0),
        'size_bytes', coalesce(f.size_bytes, 0),
        'created_at', t.created_at, 'last_active_at', f.last_active_at,
        'figures_at', f.measured_at,
        'plan', t.plan,
        'limits', json_build_object('max_users', t.max_users,
                                    'max_storage_bytes', t.max_storage_bytes,
                                    'api_rate', t.api_rate))
$$;
