-- Webhooks: the workspace's events POSTed to receivers its admins name.
--
-- A delivery is queued here, in the transaction of the write that made
-- its event (a trigger on the event log: the same events, with the same
-- data, as the stream), so none is lost when nginx stops: the outbox.
-- The body is fixed when it is queued, so every attempt sends the same
-- bytes under the same delivery id.
--
-- nginx's workers take due deliveries with webhook_claim(): each claimed
-- row's next_attempt_at moves past the request's timeout (a lease), under
-- FOR UPDATE SKIP LOCKED, so two workers or nodes never send one at the
-- same time, and one a stopped worker had in flight is due again when
-- its lease ends (at least once, same id). webhook_attempted() records
-- each attempt: done, or the next one after an exponential backoff with
-- jitter, until the delivery is older than the retry window; a webhook
-- whose receiver has failed for the whole window is disabled and the
-- workspace's admins are notified.
--
-- Who gets what: a webhook is the workspace's, so it gets every event an
-- admin's stream gets; a person's own notifications are theirs alone and
-- never leave by webhook.
--
-- secret: "v1:" and the AES-256-GCM sealed secret when nginx has a key
-- (kanban_webhooks_key); as given otherwise.

CREATE TABLE webhooks (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url              text NOT NULL
                     CHECK (url ~ '^https?://[^/?#\s@]+([/?#]\S*)?$'
                            AND length(url) <= 2000),
    events           text[] NOT NULL CHECK (cardinality(events) > 0),
    secret           text NOT NULL,
    enabled          boolean NOT NULL DEFAULT true,
    disabled_reason  text,
    failing_since    timestamptz,     -- the first failure of those since
                                      -- its last success
    created_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,      -- X-Kanban-Delivery
    webhook_id       uuid NOT NULL REFERENCES webhooks (id)
                     ON DELETE CASCADE,
    event_id         bigint,                -- NULL: a ping
    type             text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz DEFAULT now(),
    response_code    integer,
    response_ms      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    delivered_at     timestamptz
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries
    (webhook_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_list ON webhook_deliveries
    (webhook_id, created_at DESC);


-- The types a webhook may ask for ("*": all of them).
CREATE FUNCTION webhook_event_types() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['task.created', 'task.updated', 'task.moved',
                 'task.deleted', 'comment.created', 'project.created',
                 'project.updated', 'project.deleted', 'milestone.updated',
                 'timesheet.submitted', 'timesheet.approved',
                 'share_link.visited', 'insight.generated', '*']
$$;


CREATE FUNCTION webhook_json(w webhooks) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', w.id, 'url', w.url, 'events', to_jsonb(w.events),
               'enabled', w.enabled, 'disabled_reason', w.disabled_reason,
               'failing_since', w.failing_since,
               'created_at', w.created_at, 'updated_at', w.updated_at)
$$;


CREATE FUNCTION webhook_delivery_json(d webhook_deliveries) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', d.id, 'type', d.type, 'event_id', d.event_id,
               'status', d.status, 'attempts', d.attempts,
               'response_code', d.response_code,
               'response_ms', d.response_ms, 'error', d.last_error,
               'next_attempt_at', CASE WHEN d.status = 'pending'
                                       THEN d.next_attempt_at END,
               'created_at', d.created_at,
               'last_attempt_at', d.last_attempt_at,
               'delivered_at', d.delivered_at)
$$;


-- Queues one delivery to webhook w.
CREATE FUNCTION webhook_enqueue(w uuid, eid bigint, t text, d jsonb,
                                at timestamptz)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    did  uuid := gen_random_uuid();
BEGIN
    INSERT INTO webhook_deliveries (id, webhook_id, event_id, type, body)
    VALUES (did, w, eid, t,
            jsonb_build_object('id', did, 'type', t, 'event_id', eid,
                               'created_at', at, 'data', d)::text);
    RETURN did;
END
$$;


-- An event reaches every enabled webhook that asked for its type.
CREATE FUNCTION events_webhooks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.readers IS NOT NULL AND NOT NEW.admins THEN
        RETURN NULL;
    END IF;

    PERFORM webhook_enqueue(w.id, NEW.id, NEW.type, NEW.data, NEW.created_at)
       FROM webhooks w
      WHERE w.enabled AND (NEW.type = ANY (w.events) OR '*' = ANY (w.events));

    RETURN NULL;
END
$$;

CREATE TRIGGER events_webhooks
    AFTER INSERT ON events
    FOR EACH ROW
    EXECUTE FUNCTION events_webhooks();


-- Takes the due deliveries of enabled webhooks, at most per_hook of each
-- and total in all, none of a webhook in busy (it has requests in flight
-- in the caller), leased for lease seconds. A last row with a NULL id
-- says in how many seconds the next pending one is due (NULL: none).
CREATE FUNCTION webhook_claim(per_hook integer, total integer,
                              busy uuid[], lease double precision)
RETURNS TABLE (id uuid, webhook_id uuid, url text, secret text, type text,
               body text, attempts integer, next_in double precision)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
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
         LIMIT total)
    UPDATE webhook_deliveries d
       SET next_attempt_at = now() + make_interval(secs => lease),
           attempts = d.attempts + 1, last_attempt_at = now()
      FROM due, webhooks w
     WHERE d.id = due.id AND w.id = d.webhook_id
    RETURNING d.id, d.webhook_id, w.url, w.secret, d.type, d.body,
              d.attempts, NULL::double precision;

    -- each webhook's soonest, from its index: not a scan of all pending
    RETURN QUERY
    SELECT NULL::uuid, NULL::uuid, NULL, NULL, NULL, NULL, NULL::integer,
           extract(epoch FROM min(n.at) - now())::float8
      FROM webhooks w
      CROSS JOIN LATERAL (
            SELECT d.next_attempt_at AS at FROM webhook_deliveries d
             WHERE d.webhook_id = w.id AND d.status = 'pending'
             ORDER BY d.next_attempt_at
             LIMIT 1) n
     WHERE w.enabled;
END
$$;


-- One attempt's outcome: code the receiver's status (NULL: none), err
-- what went wrong. A 2xx is done; anything else is tried again after
-- base * 2^(attempts - 1) seconds (at most an hour), give or take a
-- quarter, until the delivery is older than win seconds. Returns in how
-- many seconds it is tried again (NULL: never).
CREATE FUNCTION webhook_attempted(did uuid, code integer, ms integer,
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

    -- failing for the whole window: since the first failure, or since
    -- this delivery was made (its first failure comes a little later)
    -- when none of the webhook's deliveries has succeeded since
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


ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assigned', 'mentioned', 'commented', 'approved',
                    'webhook_disabled'));
