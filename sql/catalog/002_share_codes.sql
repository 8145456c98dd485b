-- Share-link codes of every workspace: one code is one link anywhere, so a
-- code never names two things and a workspace cannot guess another's.

CREATE TABLE share_codes (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9A-Za-z]{8,32}$'),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX share_codes_tenant ON share_codes (tenant_id);
