-- Quotas: the limits of the workspace's plan, enforced where rows are
-- written.
--
-- The limits live in the catalog (tenants.plan, max_users,
-- max_storage_bytes, api_rate: an operator sets them); the tenant module
-- copies them here whenever it looks the workspace up again (once per
-- kanban_tenant_cache ttl), so that a trigger can hold every path that
-- adds an active person or stores bytes to them, whichever handler runs:
-- creating a user, an invitation accepted, registration, a first OIDC
-- sign-in, a reactivation; an attachment uploaded or imported.
--
-- A refusal is an exception: the statement's transaction rolls back and
-- nothing is half made. Its SQLSTATE KBPRB says "this is a problem for
-- the client, whole": DETAIL is the problem+json document and HINT its
-- HTTP status (ngx_kanban_pg_problem sends it as it is).
--
-- Two writers at limit - 1 must not both pass: each takes the quota's
-- transaction-level advisory lock before it counts, and READ COMMITTED
-- gives the count after the lock a snapshot that sees the other's commit.
-- Nothing else takes these locks and a deletion touches neither, so no new
-- order of locks can deadlock (040_write_lock_order.sql). A running total
-- of bytes would make the check O(1), but its row would be locked by
-- uploads and deletions alike, against the events lock's order; the sum
-- costs an upload some 10 ms at 20,000 files (t/bench/quota_cost.pl), and
-- only where the plan limits bytes.

CREATE TABLE quota_limits (
    one                boolean PRIMARY KEY DEFAULT true CHECK (one),
    plan               text,
    max_users          integer CHECK (max_users > 0),
    max_storage_bytes  bigint CHECK (max_storage_bytes > 0),
    api_rate           integer CHECK (api_rate > 0),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

INSERT INTO quota_limits DEFAULT VALUES;


-- The catalog's answer, written only when it differs (a lookup every ttl
-- must not churn a row).
CREATE FUNCTION quota_limits_set(p_plan text, p_users int, p_bytes bigint,
                                 p_rate int)
RETURNS void LANGUAGE sql AS $$
    UPDATE quota_limits
       SET plan = p_plan, max_users = p_users, max_storage_bytes = p_bytes,
           api_rate = p_rate, updated_at = now()
     WHERE (plan, max_users, max_storage_bytes, api_rate)
           IS DISTINCT FROM (p_plan, p_users, p_bytes, p_rate)
$$;


-- One definition of what counts against each limit.
CREATE FUNCTION quota_users_used() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM users WHERE status = 'active'
$$;

CREATE FUNCTION quota_storage_used() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(size), 0)::bigint FROM attachments
$$;


CREATE FUNCTION quota_refuse(lim text, max bigint, used bigint, detail text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'KBPRB',
        MESSAGE = detail,
        HINT = '403',
        DETAIL = json_build_object(
            'type', 'https://kanban.example/problems/quota_exceeded',
            'title', 'A limit of the workspace''s plan is reached.',
            'status', 403,
            'code', 'quota_exceeded',
            'detail', detail,
            'limit', lim,
            'max', max,
            'used', used)::text;
END
$$;


CREATE FUNCTION quota_users_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lim   integer;
    used  bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = 'active' THEN
        RETURN NEW;                     /* not one more */
    END IF;

    SELECT max_users INTO lim FROM quota_limits;
    IF lim IS NULL THEN
        RETURN NEW;
    END IF;

    PERFORM pg_advisory_xact_lock(hashtext('kanban.quota.max_users'));

    used := (SELECT count(*) FROM users
              WHERE status = 'active' AND id <> NEW.id);

    IF used + 1 > lim THEN
        PERFORM quota_refuse('max_users', lim, used,
            format('The workspace''s plan allows %s active people and has '
                   '%s; an admin can deactivate someone or ask for a '
                   'larger plan.', lim, used));
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER users_quota
    BEFORE INSERT OR UPDATE OF status ON users
    FOR EACH ROW WHEN (NEW.status = 'active')
    EXECUTE FUNCTION quota_users_check();


CREATE FUNCTION quota_storage_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lim   bigint;
    used  bigint;
BEGIN
    SELECT max_storage_bytes INTO lim FROM quota_limits;
    IF lim IS NULL THEN
        RETURN NEW;
    END IF;

    PERFORM pg_advisory_xact_lock(
        hashtext('kanban.quota.max_storage_bytes'));

    used := quota_storage_used();

    IF used + NEW.size > lim THEN
        PERFORM quota_refuse('max_storage_bytes', lim, used,
            format('The workspace''s plan allows %s bytes of files and '
                   '%s are stored; this file of %s bytes does not fit.',
                   lim, used, NEW.size));
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER attachments_quota
    BEFORE INSERT ON attachments
    FOR EACH ROW EXECUTE FUNCTION quota_storage_check();


-- GET /api/v1/workspace/usage: what the admin sees against the limits.
CREATE FUNCTION quota_usage() RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'plan', q.plan,
        'users', json_build_object('used', quota_users_used(),
                                   'limit', q.max_users),
        'storage_bytes', json_build_object('used', quota_storage_used(),
                                           'limit', q.max_storage_bytes),
        'api_rate', json_build_object('limit', q.api_rate),
        'updated_at', q.updated_at)
      FROM quota_limits q
$$;
