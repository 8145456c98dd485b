-- Webhook deliveries move to the due index (018, ngx_kanban_webhooks_send.c):
-- every active workspace that has had a webhook is due once now, so that
-- deliveries pending before this upgrade are found; each then stays
-- listed only while something is pending. webhook_tenants is read no
-- more by the sender.

INSERT INTO sweep_due (sweep, slug, due_at)
SELECT 'webhooks', w.slug, now()
  FROM webhook_tenants w JOIN tenants t ON t.slug = w.slug
 WHERE t.status = 'active'
ON CONFLICT DO NOTHING;
