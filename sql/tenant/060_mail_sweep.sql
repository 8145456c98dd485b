-- The mail sender's step (ngx_kanban_mail_send.c): the digests that are
-- due queued (036), then up to total messages claimed (035). When none
-- is claimed, next_in says in how many seconds the soonest of the next
-- queued message and the next digest is due (NULL: nothing is), which
-- nginx keeps in the catalog's due index (catalog 018): a workspace is
-- asked only then, or when a write queues mail.

-- In how many seconds the next message or digest is due (NULL: none).
CREATE FUNCTION mail_due_in(period double precision)
RETURNS double precision
LANGUAGE sql STABLE AS $$
    SELECT extract(epoch FROM least(
        (SELECT min(m.next_attempt_at) FROM mail_outbox m
          WHERE m.status = 'queued'),
        (SELECT min(g.last_at) + make_interval(secs => period)
           FROM mail_digests g JOIN users u ON u.id = g.user_id
          WHERE u.status = 'active')) - now())::float8
$$;

CREATE FUNCTION mail_sweep(total integer, lease double precision,
                           period double precision)
RETURNS TABLE (id uuid, kind text, user_id uuid, to_addr text,
               to_name text, subject text, text_body text, html_body text,
               unsubscribe text, workspace text, attempts integer,
               next_in double precision)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mail_digest_queue(period);

    RETURN QUERY
    SELECT c.id, c.kind, c.user_id, c.to_addr, c.to_name, c.subject,
           c.text_body, c.html_body, c.unsubscribe, c.workspace, c.attempts,
           CASE WHEN c.id IS NULL THEN mail_due_in(period) END
      FROM mail_claim(total, lease) c;
END
$$;
