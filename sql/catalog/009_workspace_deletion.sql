-- A workspace deleted by an operator: at once it answers 410
-- tenant_deleted, its database untouched ('deleting'); within the grace
-- period (30 days) a restore brings it back exactly as it was, in the
-- status it had; after it, kanbanctl purge drops the database and keeps
-- the row ('deleted'), so that the slug stays reserved for 90 days.

ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('provisioning', 'active', 'suspended', 'moving',
                      'deleting', 'deleted'));

ALTER TABLE tenants
    ADD COLUMN deleted_at timestamptz,
    -- the status a restore brings back
    ADD COLUMN status_before_delete text
        CHECK (status_before_delete IN ('active', 'suspended')),
    ADD COLUMN purge_after timestamptz,
    ADD COLUMN reserved_until timestamptz,
    ADD CHECK ((status IN ('deleting', 'deleted'))
               = (deleted_at IS NOT NULL AND purge_after IS NOT NULL
                  AND status_before_delete IS NOT NULL));


CREATE OR REPLACE FUNCTION platform_workspace_json(t tenants, f tenant_figures)
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
                                    'api_rate', t.api_rate),
        'deleted_at', t.deleted_at, 'purge_after', t.purge_after)
$$;
