-- Each project's kept document (042, 096) as text, not jsonb: the list
-- (GET /api/v1/projects) joins the documents with string_agg instead of
-- turning each jsonb back into text in json_agg, a fifth to a third of
-- the list's statement. Only a reader who may not see a budget's figures
-- pays for a parse, of a project that has a budget (ngx_kanban_projects.c).

ALTER TABLE board_cache ALTER COLUMN project_doc TYPE text
    USING project_doc::text;

-- 096's, the document kept and returned as text
DROP FUNCTION project_doc(uuid);

CREATE FUNCTION project_doc(pid uuid) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    g      bigint;
    d      text;
    known  boolean;
BEGIN
    SELECT c.gen, c.project_doc INTO g, d FROM board_cache c
     WHERE c.project_id = pid;
    known := FOUND;

    IF d IS NOT NULL THEN
        RETURN d;
    END IF;

    SELECT (project_json(p)
            || coalesce((SELECT jsonb_build_object('budget',
                                                   budget_figures_json(b))
                           FROM project_budgets b
                          WHERE b.project_id = p.id), '{}'))::text
      INTO d FROM projects p WHERE p.id = pid;

    -- a database being moved is read-only: answered, not kept
    IF d IS NULL OR current_setting('transaction_read_only') = 'on' THEN
        RETURN d;
    END IF;

    IF known THEN
        UPDATE board_cache c SET project_doc = d
         WHERE c.project_id = pid AND c.gen = g AND c.project_doc IS NULL;
    ELSE
        PERFORM 1 FROM projects p WHERE p.id = pid FOR KEY SHARE;

        IF FOUND THEN
            INSERT INTO board_cache (project_id, gen, project_doc)
            VALUES (pid, 0, d)
            ON CONFLICT (project_id) DO NOTHING;
        END IF;
    END IF;

    RETURN d;
END
$$;
