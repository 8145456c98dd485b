-- An event stream opened with an API token was checked once, when it
-- opened. It must end when that token is revoked, and when its person is
-- disabled, erased or given another role (what the stream may see was
-- settled by the role). The access.revoked event tells every node's feed
-- so ({"token_id": ...} or {"user_id": ...}); it has no readers and no
-- admins, so no stream sends it and no webhook gets it (events_webhooks).
-- A session's stream ends with its access token, as its requests do.

CREATE FUNCTION access_revoked_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM event_add(NULL, 'access.revoked', NULL, '{}', false,
                      jsonb_build_object(
                          CASE TG_TABLE_NAME WHEN 'api_tokens'
                               THEN 'token_id' ELSE 'user_id' END,
                          NEW.id));
    RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_access_revoked
    AFTER UPDATE OF revoked_at ON api_tokens
    FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION access_revoked_event();

CREATE TRIGGER users_access_revoked
    AFTER UPDATE OF status, role ON users
    FOR EACH ROW
    WHEN (OLD.status = 'active'
          AND (NEW.status <> 'active' OR NEW.role <> OLD.role))
    EXECUTE FUNCTION access_revoked_event();
