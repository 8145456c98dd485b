-- Share links in bulk (issue 25): up to 1,000 links in one request, as a
-- JSON array of the bodies POST /api/v1/share-links takes (but a
-- password: each would cost a hash) or as a CSV of the same fields, its
-- header naming the columns. Each row is made on its own, by
-- share_link_create with its checks: a bad row is reported by its number
-- and the good rows are made. A request that is itself bad (not an array,
-- not CSV, an unknown column, over the cap) makes nothing.
--
-- Rows are numbered as their author sees them: a JSON array's from 1, a
-- CSV file's by its records with the header as row 1 (as the task and
-- time imports name them). A CSV's tags cell lists them separated by ";".
--
-- Links in bulk want finding again: so tags and a folder on every link
-- come first here, with the list filtered by them.

-- Tags and a folder on a link, to find it again among many: at most 20
-- distinct tags of 1 to 40 characters, a folder's name of 1 to 100; no
-- control characters in either.
ALTER TABLE share_links
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
    ADD COLUMN folder text;

CREATE FUNCTION share_tags_valid(tags text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT cardinality(tags) <= 20
       AND NOT EXISTS (SELECT 1 FROM unnest(tags) t
                        WHERE t IS NULL OR length(t) NOT BETWEEN 1 AND 40
                           OR t ~ '[[:cntrl:]]')
       AND cardinality(tags) = (SELECT count(DISTINCT t) FROM unnest(tags) t)
$$;

ALTER TABLE share_links
    ADD CONSTRAINT share_links_tags_check CHECK (share_tags_valid(tags)),
    ADD CONSTRAINT share_links_folder_check
        CHECK (length(folder) BETWEEN 1 AND 100 AND folder !~ '[[:cntrl:]]');

CREATE INDEX share_links_tags ON share_links USING gin (tags);
CREATE INDEX share_links_folder ON share_links (folder);

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
        'created_by', l.created_by,
        'created_at', l.created_at,
        'revoked_at', l.revoked_at)
$$;


-- Why a body's tags or folder cannot be a link's (NULL: they can, or
-- there are none); a null folder is none.
CREATE FUNCTION share_filing_problem(b jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF b ? 'tags' AND (jsonb_typeof(b->'tags') <> 'array'
                       OR EXISTS (SELECT 1 FROM jsonb_array_elements(b->'tags') e
                                   WHERE jsonb_typeof(e) <> 'string'))
    THEN
        RETURN 'tags must be a list of strings.';
    END IF;

    IF b ? 'tags' AND NOT share_tags_valid(
           ARRAY(SELECT jsonb_array_elements_text(b->'tags')))
    THEN
        RETURN 'tags: at most 20, distinct, each 1 to 40 characters.';
    END IF;

    IF b ? 'folder' AND jsonb_typeof(b->'folder') <> 'null'
       AND (jsonb_typeof(b->'folder') <> 'string'
            OR length(b->>'folder') NOT BETWEEN 1 AND 100
            OR b->>'folder' ~ '[[:cntrl:]]')
    THEN
        RETURN 'folder must be a name of 1 to 100 characters.';
    END IF;

    RETURN NULL;
END
$$;


-- A new link (of 011, or a week's report of 032) with its tags and
-- folder: what POST /api/v1/share-links and each bulk row call.
CREATE FUNCTION share_link_create_filed(report boolean, actor uuid,
                                        role text, base text,
                                        new_code text, secret text,
                                        hash text, b jsonb)
RETURNS TABLE (status integer, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    made  record;
    l     share_links;
    why   text;
BEGIN
    why := share_filing_problem(b);

    IF why IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', why, NULL::bigint;
        RETURN;
    END IF;

    IF report THEN
        SELECT * INTO made FROM share_link_create_report(actor, role, base,
            new_code, secret, hash, b - 'tags' - 'folder') c;
    ELSE
        SELECT * INTO made FROM share_link_create(actor, role, base,
            new_code, secret, hash, b - 'tags' - 'folder') c;
    END IF;

    IF made.status = 201 AND (b ? 'tags' OR b ? 'folder') THEN
        UPDATE share_links
           SET tags = ARRAY(SELECT jsonb_array_elements_text(
                                coalesce(b->'tags', '[]'))),
               folder = b->>'folder'
         WHERE code = new_code
        RETURNING * INTO l;

        made.body := share_link_json(l, base)::text;
    END IF;

    RETURN QUERY SELECT made.status, made.body, made.extra, made.activity;
END;
$$;


-- Bulk.

-- What a row may hold, the CSV columns as much as the JSON fields.
CREATE FUNCTION share_bulk_fields() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['task_id', 'project_id', 'url', 'expires_at',
                 'expires_in_seconds', 'max_visits', 'tags', 'folder']
$$;


-- The rows of a CSV text as the objects a JSON row would be: its empty
-- cells left out, the numbers' cells as numbers when they are digits.
-- n NULL: the text is not CSV; obj NULL: a row whose cells do not match
-- the header's (its reason in problem).
CREATE FUNCTION share_bulk_csv(src text)
RETURNS TABLE (n int, obj jsonb, problem text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    rec   record;
    head  text[];
    cell  text;
    i     int;
BEGIN
    FOR rec IN SELECT * FROM csv_records(src) LOOP
        IF rec.n IS NULL THEN
            n := NULL; obj := NULL; problem := 'not csv';
            RETURN NEXT;
            RETURN;
        END IF;

        IF head IS NULL THEN
            SELECT array_agg(lower(btrim(f)) ORDER BY o) INTO head
              FROM unnest(rec.fields) WITH ORDINALITY AS h(f, o);
            CONTINUE;
        END IF;

        CONTINUE WHEN array_to_string(rec.fields, '') ~ '^\s*$';

        n := rec.n;
        obj := NULL;
        problem := NULL;

        IF cardinality(rec.fields) <> cardinality(head) THEN
            problem := format('This row has %s cells; the header has %s.',
                              cardinality(rec.fields), cardinality(head));
            RETURN NEXT;
            CONTINUE;
        END IF;

        obj := '{}';
        FOR i IN 1 .. cardinality(head) LOOP
            cell := btrim(rec.fields[i]);
            CONTINUE WHEN cell = '';
            obj := obj || jsonb_build_object(head[i],
                CASE WHEN head[i] IN ('expires_in_seconds', 'max_visits')
                          AND cell ~ '^\d{1,10}$'
                     THEN to_jsonb(cell::bigint)
                     WHEN head[i] = 'tags'
                     THEN to_jsonb(ARRAY(SELECT btrim(t)
                                           FROM unnest(string_to_array(cell,
                                                                       ';')) t
                                          WHERE btrim(t) <> ''))
                     ELSE to_jsonb(cell) END);
        END LOOP;

        RETURN NEXT;
    END LOOP;
END
$$;


-- Why one row cannot be a link before share_link_create looks at it: the
-- types and sizes the single create's body checks in nginx. NULL: none.
CREATE FUNCTION share_bulk_row_problem(b jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN jsonb_typeof(b) IS DISTINCT FROM 'object'
        THEN 'A row must be an object of a link''s fields.'
        WHEN b ? 'password'
        THEN 'A password cannot be set in bulk: create that link on its own.'
        WHEN EXISTS (SELECT 1 FROM jsonb_object_keys(b) k
                      WHERE k <> ALL (share_bulk_fields()))
        THEN 'Unknown field ' || (SELECT min(k) FROM jsonb_object_keys(b) k
                                   WHERE k <> ALL (share_bulk_fields()))
             || '.'
        WHEN EXISTS (SELECT 1 FROM unnest(ARRAY['task_id', 'project_id']) f
                      WHERE b ? f AND (jsonb_typeof(b->f) <> 'string'
                            OR b->>f !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'))
        THEN 'task_id and project_id must be UUIDs.'
        WHEN b ? 'url' AND (jsonb_typeof(b->'url') <> 'string'
                            OR length(b->>'url') NOT BETWEEN 1 AND 2048)
        THEN 'url must be a string of at most 2048 characters.'
        WHEN b ? 'expires_at' AND (jsonb_typeof(b->'expires_at') <> 'string'
                                   OR length(b->>'expires_at') > 40)
        THEN 'expires_at must be an RFC 3339 time.'
        WHEN b ? 'expires_in_seconds'
             AND (jsonb_typeof(b->'expires_in_seconds') <> 'number'
                  OR b->>'expires_in_seconds' !~ '^\d{1,9}$'
                  OR (b->>'expires_in_seconds')::int
                     NOT BETWEEN 1 AND 315360000)
        THEN 'expires_in_seconds must be a whole number from 1 to 315360000.'
        WHEN b ? 'max_visits'
             AND (jsonb_typeof(b->'max_visits') <> 'number'
                  OR b->>'max_visits' !~ '^\d{1,10}$'
                  OR (b->>'max_visits')::bigint NOT BETWEEN 1 AND 1000000000)
        THEN 'max_visits must be a whole number from 1 to 1000000000.'
        ELSE share_filing_problem(b)
    END
$$;


-- POST /api/v1/share-links/bulk. codes and secrets: one reserved code
-- (in the catalog) and grant secret a row, at least as many as the rows;
-- extra: the codes no link took, for nginx to give back.
CREATE FUNCTION share_links_bulk(actor uuid, role text, base text,
                                 media text, src text, codes text[],
                                 secrets text[])
RETURNS TABLE (status integer, body text, extra text, activity bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    items     jsonb[] := '{}';
    nums     int[] := '{}';
    whys     text[] := '{}';
    rec      record;
    made     record;
    results  jsonb[] := '{}';
    unused   text[] := '{}';
    why      text;
    created  int := 0;
    head     text;
    broken   boolean;
    i        int;
BEGIN
    IF media = 'json' THEN
        IF jsonb_typeof(src::jsonb) <> 'array' THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'Send a JSON array of links.', NULL::bigint;
            RETURN;
        END IF;

        SELECT array_agg(e ORDER BY o), array_agg(o::int ORDER BY o),
               array_agg(NULL::text ORDER BY o)
          INTO items, nums, whys
          FROM jsonb_array_elements(src::jsonb) WITH ORDINALITY AS a(e, o);
    ELSE
        SELECT array_agg(c.obj ORDER BY c.n), array_agg(c.n ORDER BY c.n),
               array_agg(c.problem ORDER BY c.n), bool_or(c.n IS NULL)
          INTO items, nums, whys, broken
          FROM share_bulk_csv(src) c;

        IF broken THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'The body is not CSV (a stray quote?).', NULL::bigint;
            RETURN;
        END IF;

        SELECT min(lower(btrim(h.f))) INTO head
          FROM unnest((SELECT r.fields FROM csv_records(src) r LIMIT 1))
               AS h(f)
         WHERE lower(btrim(h.f)) <> ALL (share_bulk_fields());

        IF head IS NOT NULL THEN
            RETURN QUERY SELECT 422, 'validation_failed',
                'Unknown column ' || quote_literal(head) || '; the columns are '
                || array_to_string(share_bulk_fields(), ', ') || '.',
                NULL::bigint;
            RETURN;
        END IF;

    END IF;

    IF coalesce(cardinality(items), 0) = 0 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'There are no links in this request.', NULL::bigint;
        RETURN;
    END IF;

    IF cardinality(items) > 1000 THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            format('At most 1000 links in one request; this one has %s.',
                   cardinality(items)), NULL::bigint;
        RETURN;
    END IF;

    IF cardinality(items) > cardinality(codes) THEN
        RAISE EXCEPTION 'share_links_bulk: % rows, % codes',
                        cardinality(items), cardinality(codes);
    END IF;

    FOR i IN 1 .. cardinality(items) LOOP
        why := coalesce(whys[i], share_bulk_row_problem(items[i]));

        IF why IS NULL THEN
            BEGIN
                SELECT * INTO made
                  FROM share_link_create_filed(false, actor, role, base,
                                               codes[i], secrets[i], NULL,
                                               items[i]) c;

                IF made.status = 201 THEN
                    created := created + 1;
                    results := results || jsonb_build_object(
                        'row', nums[i], 'status', 'created',
                        'link', made.body::jsonb);
                    CONTINUE;
                END IF;

                why := made.extra;
            EXCEPTION WHEN data_exception OR integrity_constraint_violation
            THEN
                why := 'A value of this row is out of range.';
            END;
        END IF;

        unused := unused || codes[i];
        results := results || jsonb_build_object('row', nums[i],
                                                 'status', 'failed',
                                                 'error', why);
    END LOOP;

    unused := unused || codes[cardinality(items) + 1 :];

    RETURN QUERY SELECT 200, jsonb_build_object(
        'created', created,
        'failed', cardinality(items) - created,
        'results', to_jsonb(results))::text,
        array_to_string(unused, ','), NULL::bigint;
END;
$$;
