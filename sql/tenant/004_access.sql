-- Failed sign-ins, to throttle guessing: 5 per account and 20 per address
-- in 15 minutes. Rows older than a day are pruned as new ones come.

CREATE TABLE login_failures (
    id     bigserial PRIMARY KEY,
    email  text NOT NULL,
    addr   inet,
    at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX login_failures_email ON login_failures (lower(email), at);
CREATE INDEX login_failures_addr ON login_failures (addr, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- API tokens (kbt_...), kept as the hex SHA-256 of their value.
CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    scopes        text[] NOT NULL
                  CHECK (cardinality(scopes) > 0
                         AND scopes <@ ARRAY['read', 'write', 'admin']),
    token_hash    text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);
