-- A task's body as task_create and task_update read it, with null where
-- a list or an object is expected read the way JSON merge patch (RFC 7396)
-- means it: "labels": null is no labels, "custom_fields": null removes
-- every value the task has. Sent as they were, PostgreSQL refused them
-- ("cannot extract elements from a scalar", "cannot call jsonb_each on a
-- non-object") and the request ended in a 500.

CREATE FUNCTION task_body(b jsonb, tid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN jsonb_typeof(b) <> 'object' THEN b ELSE
           b || CASE WHEN b->'labels' = 'null'
                     THEN '{"labels": []}'::jsonb ELSE '{}' END
             || CASE WHEN b->'custom_fields' = 'null'
                     THEN jsonb_build_object('custom_fields', coalesce((
                              SELECT jsonb_object_agg(k, NULL)
                                FROM tasks t,
                                     jsonb_object_keys(t.custom_fields) k
                               WHERE t.id = tid), '{}'))
                     ELSE '{}' END
           END
$$;
