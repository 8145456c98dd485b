-- "description": null in a project's or milestone's PATCH, and "goal": null
-- in a sprint's, clear the text, as JSON merge patch (RFC 7396) means it and
-- as 022 made it for a task's description. The update functions read these
-- with coalesce(b->>'description', description), so a null left the text
-- unchanged; the columns hold no null (no text is ''), so the body says ''
-- instead before the function reads it.

CREATE FUNCTION patch_text_nulls_cleared(b jsonb, VARIADIC keys text[])
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(b) <> 'object' THEN b
                ELSE b || coalesce((SELECT jsonb_object_agg(k, '')
                                      FROM unnest(keys) k
                                     WHERE b->k = 'null'), '{}')
           END
$$;
