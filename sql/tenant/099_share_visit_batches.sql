-- Share-link visits stored in batches (issue 12): one row per link and
-- flush of an nginx worker, each of the visit's fields an array in visit
-- order, instead of a row, three index entries and a foreign-key check
-- per visit. share_link_visits stays, as a view with the same columns, so
-- that what reads visits reads them as before.
--
-- A batch holds the visits of one link within less than an hour
-- (first_at to last_at): a reader that wants a span of time finds its
-- batches by first_at alone, from an hour before the span's start
-- (tenant_analytics below).

CREATE TABLE share_link_visit_batches (
    id           bigserial PRIMARY KEY,
    link_id      uuid NOT NULL REFERENCES share_links (id) ON DELETE CASCADE,
    first_at     timestamptz NOT NULL,
    last_at      timestamptz NOT NULL,
    n            integer NOT NULL,
    visited_at   timestamptz[] NOT NULL,
    referrer     text[] NOT NULL,
    user_agent   text[] NOT NULL,
    bot          boolean[] NOT NULL,
    -- anonymised by nginx before it gets here: IPv4 /24, IPv6 /48
    ip           inet[] NOT NULL,
    rule         smallint[] NOT NULL,   -- 1-based, in the link's rules (087)
    destination  text[] NOT NULL,
    country      text[] NOT NULL,
    -- the view's id is id * 2^20 + the visit's place in its batch
    CHECK (n BETWEEN 1 AND 1048576),
    CHECK (first_at <= last_at AND last_at - first_at < interval '1 hour'),
    CHECK (cardinality(visited_at) = n AND cardinality(referrer) = n
           AND cardinality(user_agent) = n AND cardinality(bot) = n
           AND cardinality(ip) = n AND cardinality(rule) = n
           AND cardinality(destination) = n AND cardinality(country) = n)
);

CREATE INDEX share_link_visit_batches_link
    ON share_link_visit_batches (link_id, first_at);
CREATE INDEX share_link_visit_batches_time
    ON share_link_visit_batches (first_at);

-- lz4 compresses the big arrays several times faster than pglz
ALTER TABLE share_link_visit_batches
    ALTER visited_at SET COMPRESSION lz4,
    ALTER referrer SET COMPRESSION lz4,
    ALTER user_agent SET COMPRESSION lz4,
    ALTER ip SET COMPRESSION lz4,
    ALTER destination SET COMPRESSION lz4;


-- The visits there are, by link and hour, at most 100,000 a batch.
INSERT INTO share_link_visit_batches (link_id, first_at, last_at, n,
                                      visited_at, referrer, user_agent, bot,
                                      ip, rule, destination, country)
SELECT link_id, min(visited_at), max(visited_at), count(*),
       array_agg(visited_at ORDER BY visited_at, id),
       array_agg(referrer ORDER BY visited_at, id),
       array_agg(user_agent ORDER BY visited_at, id),
       array_agg(bot ORDER BY visited_at, id),
       array_agg(ip ORDER BY visited_at, id),
       array_agg(rule ORDER BY visited_at, id),
       array_agg(destination ORDER BY visited_at, id),
       array_agg(country ORDER BY visited_at, id)
  FROM (SELECT v.*,
               (row_number() OVER (PARTITION BY v.link_id, v.h
                                   ORDER BY v.visited_at, v.id) - 1)
               / 100000 AS chunk
          FROM (SELECT w.*,
                       date_bin('1 hour', w.visited_at,
                                timestamptz '2000-01-01 00:00+00') AS h
                  FROM share_link_visits w) v) v
 GROUP BY link_id, h, chunk
 ORDER BY min(visited_at), link_id;

DROP TABLE share_link_visits;

CREATE VIEW share_link_visits AS
SELECT b.id * 1048576 + v.o - 1 AS id, b.link_id,
       v.visited_at, v.referrer, v.user_agent, v.bot, v.ip, v.rule,
       v.destination, v.country
  FROM share_link_visit_batches b,
       unnest(b.visited_at, b.referrer, b.user_agent, b.bot, b.ip, b.rule,
              b.destination, b.country) WITH ORDINALITY
           AS v(visited_at, referrer, user_agent, bot, ip, rule,
                destination, country, o);


-- A flush of an nginx worker (ngx_kanban_share_visits.c): its visits
-- grouped by link, each group less than an hour long; per group (in
-- order) the link, its number of visits, its first and last time, how
-- many by crawlers and how many to add to the link's count (neither a
-- crawler's nor counted already by share_link_take); then each field of
-- the visits, all groups' one after the other. Every parameter arrives
-- as a binary array: nothing here parses or regroups a visit. Links that
-- vanished are skipped; the answer is as 087's: one activity row per
-- link, published by nginx.
CREATE FUNCTION share_visits_add(links uuid[], ns integer[],
                                 firsts timestamptz[], lasts timestamptz[],
                                 bots integer[], uncounted integer[],
                                 t timestamptz[], r text[], u text[],
                                 b boolean[], i inet[], k smallint[],
                                 d text[], g text[])
RETURNS TABLE (activity bigint, link uuid, visits bigint)
LANGUAGE sql AS $$
    WITH groups AS (
        SELECT x.*
          FROM (SELECT x.*, (sum(x.n) OVER (ORDER BY x.o) - x.n)::int AS s
                  FROM unnest(links, ns, firsts, lasts, bots, uncounted)
                       WITH ORDINALITY AS x(l, n, first_at, last_at, bots,
                                            uncounted, o)) x
         WHERE EXISTS (SELECT 1 FROM share_links s WHERE s.id = x.l)
    ), stored AS (
        INSERT INTO share_link_visit_batches (link_id, first_at, last_at, n,
                                              visited_at, referrer,
                                              user_agent, bot, ip, rule,
                                              destination, country)
        SELECT l, first_at, last_at, n,
               t[s + 1 : s + n], r[s + 1 : s + n], u[s + 1 : s + n],
               b[s + 1 : s + n], i[s + 1 : s + n], k[s + 1 : s + n],
               d[s + 1 : s + n], g[s + 1 : s + n]
          FROM groups
    ), per_link AS (
        SELECT l, sum(n) AS n, sum(bots) AS bots,
               sum(uncounted) AS uncounted
          FROM groups GROUP BY l
    ), locked AS MATERIALIZED (
        -- every worker locks its links in one order: no deadlocks
        SELECT s.id FROM share_links s
         WHERE s.id IN (SELECT l FROM per_link)
         ORDER BY s.id
           FOR UPDATE
    ), counted AS (
        UPDATE share_links s SET visits = s.visits + p.uncounted
          FROM per_link p
         WHERE s.id = p.l AND (SELECT count(*) FROM locked) >= 0
        RETURNING s.id, s.project_id, s.task_id, s.visits, p.n, p.bots
    ), a AS (
        INSERT INTO activity_log (project_id, entity_type, entity_id, action,
                                  new_values)
        SELECT coalesce(c.project_id, t.project_id), 'share_link', c.id,
               'visited',
               jsonb_build_object('visits', c.n, 'bots', c.bots,
                                  'total', c.visits)
          FROM counted c LEFT JOIN tasks t ON t.id = c.task_id
        RETURNING id, entity_id, (new_values->>'total')::bigint AS total
    )
    SELECT a.id, a.entity_id, a.total FROM a
$$;


-- 087's form, a JSON array of visits, for a worker of the module before
-- this one (while nginx reloads after the migration): grouped here.
CREATE OR REPLACE FUNCTION share_visits_add(batch json)
RETURNS TABLE (activity bigint, link uuid, visits bigint)
LANGUAGE sql AS $$
    WITH v AS (
        SELECT v.*, date_bin('1 hour', v.t,
                             timestamptz '2000-01-01 00:00+00') AS h
          FROM ROWS FROM (json_to_recordset(batch)
                   AS (l uuid, t timestamptz, r text, u text, b boolean,
                       i inet, c boolean, k smallint, d text, g text))
               WITH ORDINALITY AS v(l, t, r, u, b, i, c, k, d, g, o)
    ), groups AS (
        SELECT l, h, count(*)::int AS n, min(t) AS first_at,
               max(t) AS last_at,
               (count(*) FILTER (WHERE b))::int AS bots,
               (count(*) FILTER (WHERE NOT coalesce(c, false)
                                   AND NOT coalesce(b, false)))::int
                   AS uncounted
          FROM v GROUP BY l, h
    )
    SELECT x.* FROM share_visits_add(
        ARRAY(SELECT l FROM groups ORDER BY l, h),
        ARRAY(SELECT n FROM groups ORDER BY l, h),
        ARRAY(SELECT first_at FROM groups ORDER BY l, h),
        ARRAY(SELECT last_at FROM groups ORDER BY l, h),
        ARRAY(SELECT bots FROM groups ORDER BY l, h),
        ARRAY(SELECT uncounted FROM groups ORDER BY l, h),
        ARRAY(SELECT t FROM v ORDER BY l, h, o),
        ARRAY(SELECT r FROM v ORDER BY l, h, o),
        ARRAY(SELECT u FROM v ORDER BY l, h, o),
        ARRAY(SELECT coalesce(b, false) FROM v ORDER BY l, h, o),
        ARRAY(SELECT i FROM v ORDER BY l, h, o),
        ARRAY(SELECT k FROM v ORDER BY l, h, o),
        ARRAY(SELECT left(d, 2048) FROM v ORDER BY l, h, o),
        ARRAY(SELECT left(g, 8) FROM v ORDER BY l, h, o)) x
$$;


-- The workspace's activity (015) with its link visits counted from the
-- batches of its span: found by first_at, an hour's margin before it.
CREATE OR REPLACE FUNCTION tenant_analytics(f date, t date)
RETURNS TABLE (status int, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    p       record;
    tz      text := workspace_time_zone();
    result  json;
BEGIN
    SELECT * INTO p FROM analytics_period(f, t);

    IF NOT p.ok THEN
        RETURN QUERY SELECT 400, 'bad_request';
        RETURN;
    END IF;

    WITH days AS (
        SELECT d::date AS day
          FROM generate_series(p.f_out, p.t_out, interval '1 day') d
    ), span AS (
        SELECT p.f_out::timestamp AT TIME ZONE tz AS lo,
               (p.t_out + 1)::timestamp AT TIME ZONE tz AS hi
    ), visits AS (
        SELECT (v.at AT TIME ZONE tz)::date AS day, count(*) AS n
          FROM span, share_link_visit_batches b,
               unnest(b.visited_at, b.bot) AS v(at, bot)
         WHERE b.first_at > span.lo - interval '1 hour'
           AND b.first_at < span.hi
           AND v.at >= span.lo AND v.at < span.hi AND NOT v.bot
         GROUP BY 1
    ), per_day AS (
        SELECT d.day,
               (SELECT count(DISTINCT a.actor_id) FROM activity_log a
                 WHERE (a.created_at AT TIME ZONE tz)::date = d.day
                   AND a.actor_id IS NOT NULL) AS active_users,
               (SELECT count(*) FROM tasks tk
                 WHERE (tk.created_at AT TIME ZONE tz)::date = d.day)
                   AS tasks_created,
               (SELECT count(*) FROM tasks tk
                 WHERE (tk.completed_at AT TIME ZONE tz)::date = d.day)
                   AS tasks_completed,
               coalesce((SELECT v.n FROM visits v WHERE v.day = d.day), 0)
                   AS link_visits
          FROM days d
    )
    SELECT json_build_object(
        'from', p.f_out,
        'to', p.t_out,
        'time_zone', tz,
        'active_users', (SELECT count(DISTINCT a.actor_id)
                           FROM activity_log a, span
                          WHERE a.created_at >= span.lo
                            AND a.created_at < span.hi
                            AND a.actor_id IS NOT NULL),
        'tasks_created', (SELECT sum(tasks_created) FROM per_day),
        'tasks_completed', (SELECT sum(tasks_completed) FROM per_day),
        'link_visits', (SELECT sum(link_visits) FROM per_day),
        'per_day', (SELECT json_agg(json_build_object(
                               'date', x.day,
                               'active_users', x.active_users,
                               'tasks_created', x.tasks_created,
                               'tasks_completed', x.tasks_completed,
                               'link_visits', x.link_visits)
                           ORDER BY x.day)
                      FROM per_day x))
      INTO result;

    RETURN QUERY SELECT 200, result::text;
END
$$;


-- visits.csv (087): its last 100,000 visits read from the link's latest
-- batches only: those from an hour before the batch where, newest first,
-- the count reaches 100,000 (a batch spans less than an hour, so none
-- before it holds a visit that late).
CREATE OR REPLACE FUNCTION share_link_visits_csv(actor uuid, role text,
                                                 link uuid)
RETURNS TABLE (status integer, body text, extra text, activity bigint,
               type text, filename text)
LANGUAGE sql STABLE AS $$
    SELECT 200,
           'visited_at,referrer,user_agent,bot,ip,rule,destination,country'
           || E'\r\n'
           || coalesce((SELECT string_agg(concat_ws(',',
                  to_char(v.visited_at AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                  csv_cell(v.referrer), csv_cell(v.user_agent),
                  v.bot::text, coalesce(host(v.ip), ''),
                  coalesce(v.rule::text, ''), csv_cell(v.destination),
                  coalesce(v.country, '')) || E'\r\n',
                  '' ORDER BY v.visited_at, v.id)
                FROM (SELECT b.id * 1048576 + w.o - 1 AS id, w.*
                        FROM share_link_visit_batches b,
                             unnest(b.visited_at, b.referrer, b.user_agent,
                                    b.bot, b.ip, b.rule, b.destination,
                                    b.country) WITH ORDINALITY
                                 AS w(visited_at, referrer, user_agent, bot,
                                      ip, rule, destination, country, o)
                       WHERE b.link_id = l.id
                         AND b.first_at > coalesce(
                             (SELECT c.first_at
                                FROM (SELECT c.first_at,
                                             sum(c.n) OVER (
                                                 ORDER BY c.first_at DESC,
                                                          c.id DESC) AS upto
                                        FROM share_link_visit_batches c
                                       WHERE c.link_id = l.id) c
                               WHERE c.upto >= 100000
                               ORDER BY c.upto LIMIT 1)
                             - interval '1 hour', '-infinity')
                       ORDER BY w.visited_at DESC, id DESC
                       LIMIT 100000) v), ''),
           NULL::text, NULL::bigint, 'text/csv; charset=utf-8',
           'share-link-' || l.id || '-visits.csv'
      FROM share_links l
     WHERE l.id = link AND share_link_visible(actor, role, l)
$$;
