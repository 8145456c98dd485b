-- An analysis is made by the worker that took its request. If that worker
-- stops first (nginx restarted, the worker killed), nothing would ever
-- finish it, and whoever polls would see "pending" for ever. The read
-- gives it up instead: an analysis still pending or running five minutes
-- after it was asked for (the LLM's timeout is far shorter, see
-- kanban_insights_llm_timeout) is failed with a reason, so that the UI
-- can offer to ask again.

CREATE FUNCTION insight_read(iid uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    i  insights;
BEGIN
    UPDATE insights
       SET status = 'failed', completed_at = now(),
           result = jsonb_build_object(
               'error', 'interrupted: the analysis stopped before it was'
                        ' done (the server restarted); ask for a new one')
     WHERE id = iid AND status IN ('pending', 'running')
       AND created_at < now() - interval '5 minutes';

    SELECT * INTO i FROM insights WHERE id = iid;

    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    RETURN insight_json(i);
END
$$;
