-- "approved" notifications: the person whose week was approved hears of
-- it, from the approval's audit row (as assignments are, in 008), in the
-- approval's transaction.

CREATE FUNCTION activity_log_notify_approved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notification_add(NEW.entity_id, 'approved', NEW.actor_id, NULL,
                             jsonb_build_object(
                                 'week', NEW.new_values->>'week'));
    RETURN NULL;
END
$$;

CREATE TRIGGER activity_log_notify_approved
    AFTER INSERT ON activity_log
    FOR EACH ROW
    WHEN (NEW.entity_type = 'timesheet' AND NEW.action = 'approved')
    EXECUTE FUNCTION activity_log_notify_approved();
