-- "description": null in a task's PATCH clears the description, as JSON
-- merge patch (RFC 7396) means it. task_update reads it with
-- coalesce(b->>'description', description), so a null left it unchanged;
-- the column holds no null (an empty description is ''), so the body says
-- '' instead. task_body as 016 made it, with that one case added.

CREATE OR REPLACE FUNCTION task_body(b jsonb, tid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN jsonb_typeof(b) <> 'object' THEN b ELSE
           b || CASE WHEN b->'labels' = 'null'
                     THEN '{"labels": []}'::jsonb ELSE '{}' END
             || CASE WHEN b->'description' = 'null'
                     THEN '{"description": ""}'::jsonb ELSE '{}' END
             || CASE WHEN b->'custom_fields' = 'null'
                     THEN jsonb_build_object('custom_fields', coalesce((
                              SELECT jsonb_object_agg(k, NULL)
                                FROM tasks t,
                                     jsonb_object_keys(t.custom_fields) k
                               WHERE t.id = tid), '{}'))
                     ELSE '{}' END
           END
$$;
