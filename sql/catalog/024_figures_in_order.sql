-- A workspace's figures are measured by whichever nginx worker its write
-- woke, and by kanbanctl figures; two measures may reach the catalog in
-- the other order than they were taken (the later one's store first), and
-- the older must not overwrite the newer: the console would show a burst
-- without its last task until the next write. Each measure brings the
-- moment its statement began on the workspace's own server (its snapshot:
-- all one server's, so comparable), and a store keeps only a newer one.

ALTER TABLE tenant_figures ADD COLUMN taken_at timestamptz;

COMMENT ON COLUMN tenant_figures.taken_at IS
    'when the measure''s statement began, on the workspace''s server; a '
    'store of an older measure is ignored';
