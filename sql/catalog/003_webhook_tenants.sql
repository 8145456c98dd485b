-- The workspaces that have ever had a webhook: the ones nginx's workers
-- sweep for due deliveries (besides those a Redis event message names).
-- A workspace is added before its first webhook is stored, so a webhook
-- is never in a database the sweep does not visit; one that no longer
-- has any costs a cheap query per sweep.

CREATE TABLE webhook_tenants (
    slug        text PRIMARY KEY REFERENCES tenants (slug) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
