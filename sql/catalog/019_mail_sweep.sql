-- The mail sender's step on the catalog's own outbox (the platform's
-- mail, 012), under the name a workspace's has (tenant 060): the claim,
-- with next_in when nothing is due. The catalog queues no digests.
--
-- Mail moves to the due index (018): every active workspace and the
-- catalog are due once now, so that mail queued before this upgrade is
-- found; each then stays listed only while something is due.

CREATE FUNCTION mail_sweep(total integer, lease double precision,
                           period double precision)
RETURNS TABLE (id uuid, kind text, user_id uuid, to_addr text,
               to_name text, subject text, text_body text, html_body text,
               unsubscribe text, workspace text, attempts integer,
               next_in double precision)
LANGUAGE sql AS $$
    SELECT * FROM mail_claim(total, lease)
$$;

INSERT INTO sweep_due (sweep, slug, due_at)
SELECT 'mail', slug, now() FROM tenants WHERE status = 'active'
UNION ALL SELECT 'mail', '', now()
ON CONFLICT DO NOTHING;
