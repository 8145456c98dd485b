-- The refusal of a split's target names the target, as every other
-- refusal of share_rules_problem() (087) names its field:
-- "rules[1].targets[0].url must be ...", not "rules[1]: each target's
-- url ...". The links page shows it beside that target's input.

CREATE OR REPLACE FUNCTION share_rules_problem(b jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r    jsonb;
    t    jsonb;
    n    int := 0;
    k    bigint;
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

            FOR t, k IN SELECT * FROM jsonb_array_elements(r->'targets')
                                 WITH ORDINALITY LOOP
                IF NOT share_target_valid(t->>'url') THEN
                    RETURN format('%s.targets[%s].url', at, k - 1)
                           || ' must be an http or https URL of at most '
                           || '2048 characters.';
                END IF;

                IF jsonb_typeof(t->'weight') IS DISTINCT FROM 'number'
                   OR t->>'weight' !~ '^\d{1,3}$'
                   OR (t->>'weight')::int NOT BETWEEN 1 AND 100
                THEN
                    RETURN format('%s.targets[%s].weight', at, k - 1)
                           || ' must be a whole number from 1 to 100.';
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
