-- The workspaces with work that plans itself (recurring tasks and
-- reminders, sql/tenant/067 and 068), with when each has something due:
-- nginx's planner sweep lists only those due, never every workspace.
--
-- next_at is a bound, never late: a write that may make something due
-- sooner sets it to now (after its own commit), and a sweep that has
-- looked sets it to its next due time only when no such write came
-- since it began (modules/recur/ngx_kanban_recur_sweep.c).

CREATE TABLE planner_tenants (
    slug     text PRIMARY KEY REFERENCES tenants (slug) ON DELETE CASCADE,
    next_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX planner_tenants_due ON planner_tenants (next_at);
