-- Sessions. A sign-in's refresh-token family ends a fixed time after the sign-in
-- (kanban_session_lifetime), however often it is refreshed: each token
-- carries the moment its family began. Families already signed in begin
-- at their oldest token still kept.

ALTER TABLE refresh_tokens ADD COLUMN signed_in_at timestamptz;

UPDATE refresh_tokens t
   SET signed_in_at = f.first
  FROM (SELECT family_id, min(created_at) AS first
          FROM refresh_tokens GROUP BY family_id) f
 WHERE f.family_id = t.family_id;

ALTER TABLE refresh_tokens
    ALTER COLUMN signed_in_at SET DEFAULT now(),
    ALTER COLUMN signed_in_at SET NOT NULL;

-- What a person's list of sessions shows: the browser or client and the
-- address of each family's latest use (its live token's).
ALTER TABLE refresh_tokens
    ADD COLUMN user_agent text,
    ADD COLUMN address inet;
