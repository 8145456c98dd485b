-- Redirect rules of a share link (issue 25): a link to a URL may send a
-- visitor elsewhere by device or OS (User-Agent), by browser language
-- (Accept-Language, its most preferred), by country (nginx's offline
-- country database) or to one of weighted A/B targets; the first rule
-- that matches wins, else the link's own URL. A template of UTM
-- parameters is merged into every target's query string (a parameter the
-- target has already is kept as it is). Each visit records the rule that
-- sent it (NULL: none did), where to, and the visitor's country.
--
-- nginx keeps a link's rules with the link in its shared-memory cache, in
-- the compact form share_link_rules_compact makes, so that a visit never
-- reads or parses JSON: PUT /api/v1/share-links/{id}/rules writes them
-- and drops the link from the cache.

ALTER TABLE share_links
    ADD COLUMN rules jsonb NOT NULL DEFAULT '[]'
        CHECK (CASE WHEN jsonb_typeof(rules) = 'array'
                    THEN jsonb_array_length(rules) <= 10 ELSE false END),
    ADD COLUMN utm jsonb CHECK (jsonb_typeof(utm) = 'object');

ALTER TABLE share_link_visits
    ADD COLUMN rule smallint,         -- 1-based, in the link's rules
    ADD COLUMN destination text,
    ADD COLUMN country text;


-- The devices a rule names, as the bits nginx gives a User-Agent.
CREATE FUNCTION share_device_bits() RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT '{"ios": 1, "android": 2, "windows": 4, "macos": 8, "linux": 16,
             "mobile": 32, "desktop": 64}'::jsonb
$$;


-- A target a rule may send to: http or https, a host, no spaces or
-- control characters, at most 2048 characters.
CREATE FUNCTION share_target_valid(u text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT u IS NOT NULL AND length(u) <= 2048
       AND u ~* '^https?://[^[:space:][:cntrl:]/?#@]+([/?#][^[:space:][:cntrl:]]*)?$'
$$;


-- A query string's value, percent-encoded byte by byte (RFC 3986's
-- unreserved characters stay).
CREATE FUNCTION share_query_escape(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(CASE WHEN b BETWEEN 48 AND 57
                                      OR b BETWEEN 65 AND 90
                                      OR b BETWEEN 97 AND 122
                                      OR b IN (45, 46, 95, 126)
                                    THEN chr(b)
                                    ELSE '%' || upper(lpad(to_hex(b), 2, '0'))
                               END, '' ORDER BY i), '')
      FROM (SELECT i, get_byte(convert_to(s, 'UTF8'), i) AS b
              FROM generate_series(0, octet_length(convert_to(s, 'UTF8')) - 1)
                   AS i) x
$$;


-- A target with the link's UTM template merged into its query string:
-- utm_source, utm_medium, utm_campaign, utm_term, utm_content in that
-- order, each unless the query has it already; before any #fragment.
CREATE FUNCTION share_url_with_utm(u text, utm jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    head   text;
    frag   text := '';
    query  text;
    k      text;
    add    text := '';
BEGIN
    IF u IS NULL OR utm IS NULL THEN
        RETURN u;
    END IF;

    head := u;
    IF strpos(u, '#') > 0 THEN
        head := left(u, strpos(u, '#') - 1);
        frag := substr(u, strpos(u, '#'));
    END IF;

    query := CASE WHEN strpos(head, '?') > 0
                  THEN substr(head, strpos(head, '?') + 1) ELSE '' END;

    FOREACH k IN ARRAY ARRAY['source', 'medium', 'campaign', 'term',
                             'content']
    LOOP
        CONTINUE WHEN NOT utm ? k
                 OR ('&' || query) ~ ('&utm_' || k || '(=|&|$)');
        add := add || CASE WHEN add = '' THEN '' ELSE '&' END
               || 'utm_' || k || '=' || share_query_escape(utm->>k);
    END LOOP;

    IF add = '' THEN
        RETURN u;
    END IF;

    RETURN head || CASE WHEN strpos(head, '?') = 0 THEN '?'
                        WHEN head ~ '[?&]$' THEN ''
                        ELSE '&' END
           || add || frag;
END
$$;


-- The rules as nginx keeps them, one a line, each target with its UTM:
--   d <TAB> device bits <TAB> url
--   l <TAB> languages, lower case, comma separated <TAB> url
--   c <TAB> countries, upper case, comma separated <TAB> url
--   s (<TAB> weight <TAB> url)...
-- URLs hold no tabs or newlines (share_target_valid). '' when none.
CREATE FUNCTION share_link_rules_compact(rules jsonb, utm jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(CASE r->>'match'
        WHEN 'device' THEN 'd' || E'\t'
            || (SELECT sum(DISTINCT (share_device_bits()->>v)::int)
                  FROM jsonb_array_elements_text(r->'values') v)
            || E'\t' || share_url_with_utm(r->>'url', utm)
        WHEN 'language' THEN 'l' || E'\t'
            || (SELECT string_agg(lower(v), ',')
                  FROM jsonb_array_elements_text(r->'values') v)
            || E'\t' || share_url_with_utm(r->>'url', utm)
        WHEN 'country' THEN 'c' || E'\t'
            || (SELECT string_agg(upper(v), ',')
                  FROM jsonb_array_elements_text(r->'values') v)
            || E'\t' || share_url_with_utm(r->>'url', utm)
        ELSE 's' || (SELECT string_agg(E'\t' || (t->>'weight') || E'\t'
                                       || share_url_with_utm(t->>'url', utm),
                                       '' ORDER BY o)
                       FROM jsonb_array_elements(r->'targets')
                            WITH ORDINALITY AS x(t, o))
        END, E'\n' ORDER BY n), '')
      FROM jsonb_array_elements(rules) WITH ORDINALITY AS a(r, n)
$$;


-- Why a body's rules and UTM template cannot be a link's; NULL: they can.
-- nginx has checked the types and sizes (ngx_kanban_share_rules.c).
CREATE FUNCTION share_rules_problem(b jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r    jsonb;
    t    jsonb;
    n    int := 0;
    m    text;
    at   text;
BEGIN
    IF jsonb_typeof(b->'rules') IS DISTINCT FROM 'array' THEN
        RETURN 'rules must be a list.';
    END IF;

    IF jsonb_array_length(b->'rules') > 10 THEN
        RETURN 'At most 10 rules a link.';
    END IF;

    FOR r IN SELECT * FROM jsonb_array_elements(b->'rules') LOOP
        n := n + 1;
        at := format('rules[%s]', n - 1);
        m := r->>'match';

        IF m IS NULL OR m NOT IN ('device', 'language', 'country', 'split')
        THEN
            RETURN at || '.match must be device, language, country or split.';
        END IF;

        IF m = 'split' THEN
            IF r ? 'values' OR r ? 'url' THEN
                RETURN at || ': a split has targets, not values or url.';
            END IF;

            IF jsonb_typeof(r->'targets') IS DISTINCT FROM 'array'
               OR jsonb_array_length(r->'targets') NOT BETWEEN 2 AND 10
            THEN
                RETURN at || '.targets must list 2 to 10 targets.';
            END IF;

            FOR t IN SELECT * FROM jsonb_array_elements(r->'targets') LOOP
                IF NOT share_target_valid(t->>'url') THEN
                    RETURN at || ': each target''s url must be an http or '
                           || 'https URL of at most 2048 characters.';
                END IF;

                IF jsonb_typeof(t->'weight') IS DISTINCT FROM 'number'
                   OR t->>'weight' !~ '^\d{1,3}$'
                   OR (t->>'weight')::int NOT BETWEEN 1 AND 100
                THEN
                    RETURN at || ': each target''s weight must be a whole '
                           || 'number from 1 to 100.';
                END IF;
            END LOOP;

            CONTINUE;
        END IF;

        IF r ? 'targets' THEN
            RETURN at || ': only a split has targets.';
        END IF;

        IF NOT share_target_valid(r->>'url') THEN
            RETURN at || '.url must be an http or https URL of at most '
                   || '2048 characters.';
        END IF;

        IF jsonb_typeof(r->'values') IS DISTINCT FROM 'array'
           OR jsonb_array_length(r->'values') = 0
        THEN
            RETURN at || '.values must list what the rule matches.';
        END IF;

        IF m = 'device' AND EXISTS (
               SELECT 1 FROM jsonb_array_elements_text(r->'values') v
                WHERE NOT share_device_bits() ? v)
        THEN
            RETURN at || '.values: a device is one of ios, android, windows, '
                   || 'macos, linux, mobile, desktop.';
        END IF;

        IF m = 'language' AND EXISTS (
               SELECT 1 FROM jsonb_array_elements_text(r->'values') v
                WHERE v !~ '^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$')
        THEN
            RETURN at || '.values: a language is a tag such as de or pt-BR.';
        END IF;

        IF m = 'country' AND EXISTS (
               SELECT 1 FROM jsonb_array_elements_text(r->'values') v
                WHERE v !~ '^[A-Za-z]{2}$')
        THEN
            RETURN at || '.values: a country is a two-letter ISO 3166 code '
                   || 'such as DE.';
        END IF;
    END LOOP;

    IF b ? 'utm' AND jsonb_typeof(b->'utm') <> 'null' AND (
           jsonb_typeof(b->'utm') <> 'object'
           OR EXISTS (SELECT 1 FROM jsonb_each(b->'utm') e
                       WHERE e.key NOT IN ('source', 'medium', 'campaign',
                                           'term', 'content')
                          OR jsonb_typeof(e.value) <> 'string'
                          OR length(e.value #>> '{}') NOT BETWEEN 1 AND 100))
    THEN
        RETURN 'utm: source, medium, campaign, term and content, each 1 to '
               || '100 characters.';
    END IF;

    RETURN NULL;
END
$$;


CREATE OR REPLACE FUNCTION share_link_json(l share_links, base text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', l.id,
        'code', l.code,
        'short_url', base || '/' || l.code,        -- base ends in /s when no short host (062)
        'target_type', l.target_type,
        'target_id', coalesce(l.task_id, l.project_id),
        'url', l.url,
        'report_week', l.report_week,
        'expires_at', l.expires_at,
        'max_visits', l.max_visits,
        'visits', l.visits,
        'has_password', l.password_hash IS NOT NULL,
        'tags', to_jsonb(l.tags),
        'folder', l.folder,
        'rules', l.rules,
        'utm', l.utm,
        'created_by', l.created_by,
        'created_at', l.created_at,
        'revoked_at', l.revoked_at)
$$;


-- PUT /api/v1/share-links/{id}/rules: {rules, utm (absent or null:
-- none)}, the whole set replaced. extra: the code, for nginx to drop the
-- link from its cache.
CREATE FUNCTION share_link_rules_set(actor uuid, role text, base text,
                                     link uuid, b jsonb)
RETURNS TABLE (status integer, body text, extra text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    l    share_links;
    old  jsonb;
    why  text;
BEGIN
    SELECT * INTO l FROM share_links s
     WHERE s.id = link AND share_link_visible(actor, role, s) FOR UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    IF l.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 409, 'conflict',
            'This link is revoked: it cannot be changed.';
        RETURN;
    END IF;

    IF l.target_type <> 'url' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'Redirect rules and UTM parameters are for links to a URL.';
        RETURN;
    END IF;

    why := share_rules_problem(b);
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', why;
        RETURN;
    END IF;

    old := jsonb_build_object('rules', l.rules, 'utm', l.utm);

    UPDATE share_links s
       SET rules = b->'rules',
           utm = CASE WHEN jsonb_typeof(b->'utm') = 'object'
                      THEN b->'utm' END
     WHERE s.id = l.id
    RETURNING * INTO l;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values)
    VALUES (actor, NULL, 'share_link', l.id, 'updated', old,
            jsonb_build_object('rules', l.rules, 'utm', l.utm));

    RETURN QUERY SELECT 200, share_link_json(l, base)::text, l.code;
END;
$$;


-- What a visit needs to know about a code (011), now with the URL's UTM
-- merged and the rules in their compact form.
DROP FUNCTION share_link_resolve(text);

CREATE FUNCTION share_link_resolve(find text)
RETURNS TABLE (id uuid, state text, target_type text, url text,
               expires bigint, max_visits integer, password_hash text,
               grant_secret text, rules text)
LANGUAGE sql STABLE AS $$
    SELECT l.id,
           CASE WHEN l.revoked_at IS NOT NULL THEN 'revoked'
                WHEN l.target_type = 'task' AND l.task_id IS NULL
                  OR l.target_type = 'project' AND l.project_id IS NULL
                THEN 'gone'
                WHEN l.visits >= l.max_visits THEN 'used_up'
                ELSE 'active' END,
           l.target_type, share_url_with_utm(l.url, l.utm),
           extract(epoch FROM l.expires_at)::bigint,
           l.max_visits, l.password_hash, l.grant_secret,
           share_link_rules_compact(l.rules, l.utm)
      FROM share_links l WHERE l.code = find
$$;


-- Visits (011) with the rule that sent each (k), where to (d) and the
-- visitor's country (g).
CREATE OR REPLACE FUNCTION share_visits_add(batch json)
RETURNS TABLE (activity bigint, link uuid, visits bigint)
LANGUAGE sql AS $$
    WITH v AS (
        SELECT * FROM json_to_recordset(batch)
            AS v(l uuid, t timestamptz, r text, u text, b boolean, i inet,
                 c boolean, k smallint, d text, g text)
         WHERE EXISTS (SELECT 1 FROM share_links s WHERE s.id = v.l)
    ), stored AS (
        INSERT INTO share_link_visits (link_id, visited_at, referrer,
                                       user_agent, bot, ip, rule,
                                       destination, country)
        SELECT l, t, r, u, coalesce(b, false), i, k, left(d, 2048),
               left(g, 8)
          FROM v
    ), per_link AS (
        SELECT l, count(*) AS n,
               count(*) FILTER (WHERE b) AS bots,
               count(*) FILTER (WHERE NOT coalesce(c, false)
                                  AND NOT coalesce(b, false)) AS uncounted
          FROM v GROUP BY l
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


-- visits.csv (082) with each visit's rule, destination and country.
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
                FROM (SELECT * FROM share_link_visits w
                       WHERE w.link_id = l.id
                       ORDER BY w.visited_at DESC, w.id DESC
                       LIMIT 100000) v), ''),
           NULL::text, NULL::bigint, 'text/csv; charset=utf-8',
           'share-link-' || l.id || '-visits.csv'
      FROM share_links l
     WHERE l.id = link AND share_link_visible(actor, role, l)
$$;
