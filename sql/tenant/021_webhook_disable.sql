-- A webhook is disabled when its receiver has failed for the whole window
-- (018). That was judged from its first failure only, which comes a little
-- after the delivery it failed was made: a delivery that gave up at the
-- end of its window left the webhook enabled when nothing came after it.
-- A delivery that gives up with no delivery of that webhook succeeding
-- since it was made disables it too.

CREATE OR REPLACE FUNCTION webhook_attempted(did uuid, code integer, ms integer,
                                  err text, base double precision,
                                  win double precision)
RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    d     webhook_deliveries;
    w     webhooks;
    ok    boolean := code BETWEEN 200 AND 299;
    wait  double precision;
BEGIN
    SELECT * INTO d FROM webhook_deliveries x WHERE x.id = did FOR UPDATE;
    IF NOT FOUND OR d.status <> 'pending' THEN
        RETURN NULL;
    END IF;

    IF ok THEN
        UPDATE webhook_deliveries
           SET status = 'delivered', response_code = code, response_ms = ms,
               last_error = NULL, delivered_at = now(),
               next_attempt_at = NULL
         WHERE id = did;

        UPDATE webhooks SET failing_since = NULL
         WHERE id = d.webhook_id AND failing_since IS NOT NULL;
        RETURN NULL;
    END IF;

    wait := least(base * 2 ^ least(d.attempts - 1, 30), 3600)
            * (0.75 + random() / 2);

    UPDATE webhook_deliveries
       SET response_code = code, response_ms = ms,
           last_error = coalesce(err, 'HTTP ' || code),
           status = CASE WHEN created_at + make_interval(secs => win) <= now()
                         THEN 'failed' ELSE 'pending' END,
           next_attempt_at = CASE
                   WHEN created_at + make_interval(secs => win) <= now()
                   THEN NULL
                   ELSE now() + make_interval(secs => wait) END
     WHERE id = did;

    UPDATE webhooks SET failing_since = coalesce(failing_since, now())
     WHERE id = d.webhook_id
    RETURNING * INTO w;

    IF w.enabled
       AND (w.failing_since + make_interval(secs => win) <= now()
            OR (d.created_at + make_interval(secs => win) <= now()
                AND NOT EXISTS (
                    SELECT 1 FROM webhook_deliveries x
                     WHERE x.webhook_id = w.id AND x.status = 'delivered'
                       AND x.delivered_at >= d.created_at)))
    THEN
        UPDATE webhooks
           SET enabled = false, updated_at = now(),
               disabled_reason = 'its receiver failed every attempt since '
                                 || w.failing_since
         WHERE id = w.id;

        INSERT INTO activity_log (entity_type, entity_id, action, new_values)
        VALUES ('webhook', w.id, 'disabled',
                jsonb_build_object('url', w.url,
                                   'failing_since', w.failing_since));

        PERFORM notification_add(u.id, 'webhook_disabled', NULL, NULL,
                                 jsonb_build_object(
                                     'webhook_id', w.id, 'url', w.url,
                                     'failing_since', w.failing_since,
                                     'last_error',
                                     coalesce(err, 'HTTP ' || code)))
           FROM users u WHERE u.role = 'admin' AND u.status = 'active';
    END IF;

    RETURN CASE WHEN d.created_at + make_interval(secs => win) <= now()
                THEN NULL ELSE wait END;
END
$$;
