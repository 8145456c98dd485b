-- What the hot reads cost PostgreSQL.
--
-- The documents the hot reads and every write answer with, as PL/pgSQL:
-- a SQL function that cannot be inlined (these have subqueries) is parsed
-- and planned again on every statement that calls it, which cost more
-- than the reads themselves; PL/pgSQL keeps its plans for the life of
-- the connection, and the pool's connections live long. The documents
-- are the same, key for key.

CREATE OR REPLACE FUNCTION workspace_json(slug text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s  jsonb;
BEGIN
    -- the four settings in one read (019_cors_origins.sql's workspace_json)
    SELECT jsonb_object_agg(key, value) INTO s
      FROM settings
     WHERE key IN ('name', 'open_registration', 'time_zone', 'cors_origins');

    RETURN json_build_object(
        'slug', slug,
        'name', s->'name' #>> '{}',
        'open_registration', coalesce(s->'open_registration' = 'true'::jsonb,
                                      false),
        'time_zone', coalesce(s->'time_zone' #>> '{}', 'UTC'),
        'cors_origins', CASE WHEN jsonb_typeof(s->'cors_origins') = 'array'
                             THEN s->'cors_origins' ELSE '[]'::jsonb END);
END
$$;


-- The task's own part (024 made task_json this plus its required skills).
CREATE OR REPLACE FUNCTION task_json_core(t tasks) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (to_jsonb(t) - 'number')
           || jsonb_build_object(
                  'key', (SELECT key FROM projects WHERE id = t.project_id)
                         || '-' || t.number,
                  'category', (SELECT category FROM columns
                                WHERE id = t.column_id),
                  'assignee_ids', coalesce((
                      SELECT jsonb_agg(a.user_id ORDER BY a.user_id)
                        FROM task_assignees a WHERE a.task_id = t.id), '[]'));
END
$$;


-- A task as the API shows it: with the skills it requires (024).
CREATE OR REPLACE FUNCTION task_json(t tasks) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN task_json_core(t) || jsonb_build_object(
               'required_skills', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'skill_id', r.skill_id, 'name', s.name,
                              'level', r.level)
                              ORDER BY lower(s.name), r.skill_id)
                     FROM task_required_skills r
                     JOIN skills s ON s.id = r.skill_id
                    WHERE r.task_id = t.id), '[]'));
END
$$;


CREATE OR REPLACE FUNCTION project_json(p projects) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (to_jsonb(p) - 'next_task_number')
           || jsonb_build_object('progress', coalesce((
                  SELECT round(100.0 * count(*) FILTER (
                                   WHERE c.category = 'done')
                               / nullif(count(*), 0))::int
                    FROM tasks t JOIN columns c ON c.id = t.column_id
                   WHERE t.project_id = p.id AND t.parent_id IS NULL), 0));
END
$$;

