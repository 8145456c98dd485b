-- The webhook sender polls on the core sweeper's due index (catalog 018,
-- ngx_kanban_webhooks_send.c): what webhook_claim() says is next due is
-- kept as the workspace's due time, and nothing asks it before then but
-- a write. So the time must not be "now" for deliveries the caller
-- cannot take: those of a webhook with requests in flight in the caller
-- (busy, or claimed by this very call) wait for those requests, which
-- step the workspace again as each ends, or, should the caller die, for
-- their leases. Such a webhook counts as due when its leases end at the
-- soonest; every other webhook at its soonest pending delivery, a
-- retry's backoff included.

CREATE OR REPLACE FUNCTION webhook_claim(per_hook integer, total integer,
                                         busy uuid[],
                                         lease double precision)
RETURNS TABLE (id uuid, webhook_id uuid, url text, secret text, type text,
               body text, attempts integer, next_in double precision)
LANGUAGE plpgsql AS $$
DECLARE
    taken  uuid[];
BEGIN
    WITH due AS (
        SELECT x.id
          FROM webhooks w
          CROSS JOIN LATERAL (
                SELECT d.id FROM webhook_deliveries d
                 WHERE d.webhook_id = w.id AND d.status = 'pending'
                   AND d.next_attempt_at <= now()
                 ORDER BY d.next_attempt_at
                 LIMIT per_hook
                   FOR UPDATE OF d SKIP LOCKED) x
         WHERE w.enabled AND w.id <> ALL (coalesce(busy, '{}'))
         LIMIT total),
    claimed AS (
        UPDATE webhook_deliveries d
           SET next_attempt_at = now() + make_interval(secs => lease),
               attempts = d.attempts + 1, last_attempt_at = now()
          FROM due
         WHERE d.id = due.id
        RETURNING d.id, d.webhook_id)
    SELECT array_agg(c.id) INTO taken FROM claimed c;

    RETURN QUERY
    SELECT d.id, d.webhook_id, w.url, w.secret, d.type, d.body, d.attempts,
           NULL::double precision
      FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
     WHERE d.id = ANY (coalesce(taken, '{}'));

    -- each webhook's soonest, from its index: not a scan of all pending
    RETURN QUERY
    SELECT NULL::uuid, NULL::uuid, NULL, NULL, NULL, NULL, NULL::integer,
           extract(epoch FROM min(
               CASE WHEN w.id = ANY (coalesce(busy, '{}'))
                         OR EXISTS (SELECT 1 FROM webhook_deliveries c
                                     WHERE c.id = ANY (coalesce(taken, '{}'))
                                       AND c.webhook_id = w.id)
                    THEN greatest(n.at,
                                  now() + make_interval(secs => lease))
                    ELSE n.at END) - now())::float8
      FROM webhooks w
      CROSS JOIN LATERAL (
            SELECT d.next_attempt_at AS at FROM webhook_deliveries d
             WHERE d.webhook_id = w.id AND d.status = 'pending'
             ORDER BY d.next_attempt_at
             LIMIT 1) n
     WHERE w.enabled;
END
$$;
