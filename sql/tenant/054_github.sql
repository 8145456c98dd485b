-- The GitHub link (modules/github): a project links a repository and gets
-- a webhook URL and a secret to enter in the repository's settings; GitHub's
-- deliveries name tasks by their keys, and the tasks get links to the pull
-- requests, branches and commits, and move along the board as pull requests
-- open and merge.
--
-- github_integrations: one repository of a project, its secret sealed by the
-- module (kanban_webhooks_key, as webhooks' are: the module needs the secret
-- itself to check each delivery's HMAC), and its two rules.
-- github_deliveries: the deliveries taken, by GitHub's X-GitHub-Delivery, so
-- that one sent again does nothing twice; kept for a week.
-- task_links: what GitHub told of a task, one row per pull request, branch
-- or commit, updated as later deliveries tell more.
--
-- A move made for GitHub is an audit row with no person (actor_id NULL) and
-- via = 'GitHub', which the activity lists show as its actor; it makes the
-- task.moved event as any move does. A move follows a column's WIP limit as
-- a person's does: into a full column it is not made, and the audit row
-- 'move_refused' says why.

ALTER TABLE activity_log ADD COLUMN via text;


-- A task's branch name: its key in lower case and its title in ASCII words,
-- 60 characters at most ("vuln-12-short-title").
CREATE FUNCTION task_git_branch(key text, number int, title text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT rtrim(left(lower(key) || '-' || number
                      || coalesce(nullif('-' || trim(BOTH '-' FROM
                             regexp_replace(lower(coalesce(title, '')),
                                            '[^a-z0-9]+', '-', 'g')), '-'),
                                  ''),
                      60), '-')
$$;

ALTER TABLE tasks ADD COLUMN git_branch text;

CREATE FUNCTION tasks_git_branch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.git_branch := task_git_branch(
        (SELECT key FROM projects WHERE id = NEW.project_id),
        NEW.number, NEW.title);
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_git_branch
    BEFORE INSERT OR UPDATE OF title, number, project_id ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_git_branch();

CREATE FUNCTION projects_git_branch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks SET git_branch = task_git_branch(NEW.key, number, title)
     WHERE project_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_git_branch
    AFTER UPDATE OF key ON projects
    FOR EACH ROW WHEN (NEW.key IS DISTINCT FROM OLD.key)
    EXECUTE FUNCTION projects_git_branch();

UPDATE tasks t SET git_branch = task_git_branch(p.key, t.number, t.title)
  FROM projects p WHERE p.id = t.project_id;


CREATE TABLE github_integrations (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id              uuid NOT NULL REFERENCES projects (id)
                                 ON DELETE CASCADE,
    repository              text NOT NULL
                                 CHECK (repository ~ '^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$'),
    secret                  text NOT NULL,
    move_on_open_to_review  boolean NOT NULL DEFAULT true,
    move_on_merge_to_done   boolean NOT NULL DEFAULT true,
    review_column_id        uuid REFERENCES columns (id) ON DELETE SET NULL,
    created_by              uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    last_delivery_at        timestamptz,
    UNIQUE (project_id, repository)
);

CREATE TABLE github_deliveries (
    integration_id  uuid NOT NULL REFERENCES github_integrations (id)
                         ON DELETE CASCADE,
    delivery        text NOT NULL,
    event           text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, delivery)
);

CREATE INDEX github_deliveries_time ON github_deliveries (received_at);

CREATE TABLE task_links (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    kind        text NOT NULL
                CHECK (kind IN ('pull_request', 'branch', 'commit')),
    url         text NOT NULL,
    title       text,
    state       text,
    number      int,
    sha         text,
    author      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_id, kind, url)
);


-- The review column of a project: the one chosen, else the first of the
-- review category, else the first named like "Review".
CREATE FUNCTION github_review_column(pid uuid, chosen uuid) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT id FROM columns WHERE id = chosen AND project_id = pid),
        (SELECT id FROM columns WHERE project_id = pid
            AND category = 'review' ORDER BY position, id LIMIT 1),
        (SELECT id FROM columns WHERE project_id = pid
            AND name ~* 'review' ORDER BY position, id LIMIT 1))
$$;

CREATE FUNCTION github_done_column(pid uuid) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT id FROM columns WHERE project_id = pid AND category = 'done'
     ORDER BY position, id LIMIT 1
$$;


CREATE FUNCTION github_integration_json(g github_integrations, origin text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', g.id,
        'project_id', g.project_id,
        'repository', g.repository,
        'webhook_url', origin || '/hooks/github/' || g.id,
        'rules', jsonb_build_object(
            'move_on_open_to_review', g.move_on_open_to_review,
            'move_on_merge_to_done', g.move_on_merge_to_done,
            'review_column_id',
                github_review_column(g.project_id, g.review_column_id)),
        'created_at', g.created_at,
        'updated_at', g.updated_at,
        'last_delivery_at', g.last_delivery_at)
$$;


-- Who may manage a project's link: its admins and managers.
CREATE FUNCTION github_may_manage(actor uuid, role text, pid uuid)
RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN NOT EXISTS (SELECT 1 FROM projects WHERE id = pid) THEN 404
        WHEN NOT can_manage_project(actor, role,
                 (SELECT team_id FROM projects WHERE id = pid)) THEN 403
        ELSE 0 END
$$;


CREATE FUNCTION github_integrations_list(actor uuid, role text, pid uuid,
                                         origin text)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    no  int := github_may_manage(actor, role, pid);
BEGIN
    IF no = 404 THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
    ELSIF no = 403 THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the project''s managers see its GitHub link.';
    ELSE
        RETURN QUERY SELECT 200, jsonb_build_object('items', coalesce((
            SELECT jsonb_agg(github_integration_json(g, origin)
                             ORDER BY g.created_at, g.id)
              FROM github_integrations g WHERE g.project_id = pid),
            '[]'), 'next_cursor', NULL)::text, NULL::text;
    END IF;
END
$$;


-- The rules of a body (create or PATCH): booleans, and a column of the
-- project or null; the message of the first wrong one, or NULL.
CREATE FUNCTION github_rules_invalid(pid uuid, b jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN b ? 'rules' AND jsonb_typeof(b->'rules') <> 'object'
        THEN 'rules is an object.'
        WHEN EXISTS (SELECT 1 FROM jsonb_object_keys(
                         coalesce(b->'rules', '{}')) k
                      WHERE k NOT IN ('move_on_open_to_review',
                                      'move_on_merge_to_done',
                                      'review_column_id'))
        THEN 'rules has move_on_open_to_review, move_on_merge_to_done and '
             'review_column_id only.'
        WHEN coalesce(jsonb_typeof(b->'rules'->'move_on_open_to_review'),
                      'boolean') <> 'boolean'
          OR coalesce(jsonb_typeof(b->'rules'->'move_on_merge_to_done'),
                      'boolean') <> 'boolean'
        THEN 'The rules are true or false.'
        WHEN jsonb_typeof(b->'rules'->'review_column_id') = 'string'
             AND NOT EXISTS (
                 SELECT 1 FROM columns
                  WHERE project_id = pid
                    AND id::text = b->'rules'->>'review_column_id')
        THEN 'review_column_id is not a column of this project.'
        WHEN coalesce(jsonb_typeof(b->'rules'->'review_column_id'), 'null')
             NOT IN ('null', 'string')
        THEN 'review_column_id is a column''s id or null.'
    END
$$;


-- $secret is answered this once; $sealed is what is kept.
CREATE FUNCTION github_integration_create(actor uuid, role text, pid uuid,
                                          b jsonb, secret text,
                                          sealed text, origin text)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    no   int := github_may_manage(actor, role, pid);
    bad  text;
    g    github_integrations;
BEGIN
    IF no = 404 THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    ELSIF no = 403 THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the project''s managers link it to GitHub.';
        RETURN;
    END IF;

    IF coalesce(b->>'repository', '')
       !~ '^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$'
    THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'repository is "owner/name", as GitHub spells it.';
        RETURN;
    END IF;

    bad := github_rules_invalid(pid, b);
    IF bad IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', bad;
        RETURN;
    END IF;

    INSERT INTO github_integrations AS x (project_id, repository, secret,
        move_on_open_to_review, move_on_merge_to_done, review_column_id,
        created_by)
    VALUES (pid, b->>'repository', sealed,
            coalesce((b->'rules'->>'move_on_open_to_review')::boolean, true),
            coalesce((b->'rules'->>'move_on_merge_to_done')::boolean, true),
            (b->'rules'->>'review_column_id')::uuid, actor)
    ON CONFLICT (project_id, repository) DO NOTHING
    RETURNING x.* INTO g;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 409, 'conflict',
            'This repository is already linked to the project.';
        RETURN;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'github_integration', g.id, 'created',
            jsonb_build_object('repository', g.repository));

    RETURN QUERY SELECT 201,
        (github_integration_json(g, origin)
         || jsonb_build_object('secret', secret))::text,
        '/api/v1/projects/' || pid || '/integrations/github/' || g.id;
END
$$;


CREATE FUNCTION github_integration_patch(actor uuid, role text, pid uuid,
                                         iid uuid, b jsonb, origin text)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    no   int := github_may_manage(actor, role, pid);
    bad  text;
    g    github_integrations;
BEGIN
    IF no = 404 THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    ELSIF no = 403 THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the project''s managers change its GitHub link.';
        RETURN;
    END IF;

    bad := github_rules_invalid(pid, b);
    IF bad IS NOT NULL THEN
        RETURN QUERY SELECT 422, 'validation_failed', bad;
        RETURN;
    END IF;

    UPDATE github_integrations x SET
        move_on_open_to_review = coalesce(
            (b->'rules'->>'move_on_open_to_review')::boolean,
            x.move_on_open_to_review),
        move_on_merge_to_done = coalesce(
            (b->'rules'->>'move_on_merge_to_done')::boolean,
            x.move_on_merge_to_done),
        review_column_id = CASE WHEN b->'rules' ? 'review_column_id'
                                THEN (b->'rules'->>'review_column_id')::uuid
                                ELSE x.review_column_id END,
        updated_at = now()
     WHERE x.id = iid AND x.project_id = pid
    RETURNING x.* INTO g;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, new_values)
    VALUES (actor, pid, 'github_integration', g.id, 'updated',
            coalesce(b->'rules', '{}'));

    RETURN QUERY SELECT 200, github_integration_json(g, origin)::text,
                        NULL::text;
END
$$;


CREATE FUNCTION github_integration_delete(actor uuid, role text, pid uuid,
                                          iid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    no  int := github_may_manage(actor, role, pid);
    g   github_integrations;
BEGIN
    IF no = 404 THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    ELSIF no = 403 THEN
        RETURN QUERY SELECT 403, 'forbidden',
            'Only admins and the project''s managers unlink it.';
        RETURN;
    END IF;

    DELETE FROM github_integrations x WHERE x.id = iid AND x.project_id = pid
    RETURNING x.* INTO g;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text;
        RETURN;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values)
    VALUES (actor, pid, 'github_integration', g.id, 'deleted',
            jsonb_build_object('repository', g.repository));

    RETURN QUERY SELECT 204, NULL::text, NULL::text;
END
$$;


-- The sealed secret of a link, for the module to check a delivery with.
CREATE FUNCTION github_secret(iid uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT secret FROM github_integrations WHERE id = iid
$$;


CREATE FUNCTION task_link_json(l task_links) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', l.id, 'kind', l.kind, 'url', l.url,
                              'title', l.title, 'state', l.state,
                              'number', l.number, 'sha', l.sha,
                              'author', l.author,
                              'updated_at', l.updated_at)
$$;

CREATE FUNCTION task_links_list(tid uuid)
RETURNS TABLE (status int, body text, extra text)
LANGUAGE sql STABLE AS $$
    SELECT 200, jsonb_build_object('items', coalesce((
               SELECT jsonb_agg(task_link_json(l)
                                ORDER BY l.updated_at DESC, l.id)
                 FROM task_links l WHERE l.task_id = t.id), '[]'),
               'next_cursor', NULL)::text, NULL::text
      FROM tasks t WHERE t.id = tid
    UNION ALL
    SELECT 404, 'not_found', NULL::text
     WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE id = tid)
$$;


-- The tasks a text names by key: any project of this workspace, in any
-- case, word-bounded ("VULN-12", "fixes vuln-12", "vuln-12-short-title");
-- twenty at most, in the order of their ids, so that deliveries at once
-- lock the same rows in the same order.
CREATE FUNCTION github_named_tasks(text) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT t.id
      FROM regexp_matches(left(coalesce($1, ''), 65536),
               '(?:^|[^A-Za-z0-9])([A-Za-z][A-Za-z0-9]{1,9})-([0-9]{1,9})(?![A-Za-z0-9])',
               'g') m
      JOIN projects p ON p.key = upper(m[1])
      JOIN tasks t ON t.project_id = p.id AND t.number = m[2]::int
     ORDER BY t.id
     LIMIT 20
$$;


-- Links a task to what GitHub told; a first link is an audit row (as
-- GitHub's). Updates of a known link only change the link.
CREATE FUNCTION github_link(tid uuid, l task_links) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    made  boolean;
BEGIN
    INSERT INTO task_links AS x (task_id, kind, url, title, state, number,
                                 sha, author, updated_at)
    VALUES (tid, l.kind, left(l.url, 2000), left(l.title, 500),
            left(l.state, 20), l.number, left(l.sha, 64),
            left(l.author, 100), coalesce(l.updated_at, now()))
    ON CONFLICT (task_id, kind, url) DO UPDATE SET
        title = coalesce(EXCLUDED.title, x.title),
        state = coalesce(EXCLUDED.state, x.state),
        number = coalesce(EXCLUDED.number, x.number),
        sha = coalesce(EXCLUDED.sha, x.sha),
        author = coalesce(EXCLUDED.author, x.author),
        updated_at = greatest(EXCLUDED.updated_at, x.updated_at)
     -- told again what it knows: no write
     WHERE (EXCLUDED.title, EXCLUDED.state, EXCLUDED.number, EXCLUDED.sha,
            EXCLUDED.author)
           IS DISTINCT FROM (x.title, x.state, x.number, x.sha, x.author)
        OR EXCLUDED.updated_at > x.updated_at
    RETURNING (xmax = 0) INTO made;

    IF coalesce(made, false) THEN
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, new_values, via)
        SELECT NULL, t.project_id, 'task', tid, 'linked',
               jsonb_build_object('kind', l.kind, 'url', l.url,
                                  'title', l.title),
               'GitHub'
          FROM tasks t WHERE t.id = tid;
    END IF;
END
$$;


-- Moves a task for GitHub to the end of a column, as task_move does (the
-- column locked first), unless it is there already; a full column (its WIP
-- limit) refuses, as it would a person. The audit row's id, when moved.
CREATE FUNCTION github_move(tid uuid, cid uuid, why jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    col  columns;
    old  tasks;
    t    tasks;
    lo   text;
    aid  bigint;
BEGIN
    SELECT * INTO col FROM columns WHERE id = cid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    SELECT * INTO old FROM tasks WHERE id = tid FOR UPDATE;
    IF NOT FOUND OR old.column_id = col.id THEN
        RETURN NULL;
    END IF;

    IF col.wip_limit IS NOT NULL
       AND (SELECT count(*) FROM tasks WHERE column_id = col.id)
           >= col.wip_limit
    THEN
        INSERT INTO activity_log (actor_id, project_id, entity_type,
                                  entity_id, action, new_values, via)
        VALUES (NULL, old.project_id, 'task', tid, 'move_refused',
                why || jsonb_build_object('column_id', col.id,
                                          'reason', 'wip_limit_reached'),
                'GitHub');
        RETURN NULL;
    END IF;

    SELECT max(rank) INTO lo FROM tasks WHERE column_id = col.id;

    UPDATE tasks SET
        column_id = col.id,
        rank = rank_between(lo, NULL),
        completed_at = CASE WHEN col.category = 'done'
                            THEN coalesce(completed_at, now()) END,
        version = version + 1, updated_at = now()
    WHERE id = tid
    RETURNING * INTO t;

    IF length(t.rank) > 24 THEN
        PERFORM column_rebalance(col.id);
        SELECT * INTO t FROM tasks WHERE id = tid;
    END IF;

    INSERT INTO activity_log (actor_id, project_id, entity_type, entity_id,
                              action, old_values, new_values, via)
    VALUES (NULL, t.project_id, 'task', tid, 'moved',
            jsonb_build_object('column_id', old.column_id, 'rank', old.rank),
            why || jsonb_build_object('column_id', t.column_id,
                                      'rank', t.rank,
                                      'category', col.category),
            'GitHub')
    RETURNING id INTO aid;

    RETURN aid;
END
$$;


-- One delivery, verified by the module: taken once (a delivery seen again
-- answers 200 and does nothing), its tasks linked and moved by the rules.
-- The fourth column: the last audit row of a move, for the module to tell
-- the event stream after the commit.
CREATE FUNCTION github_delivery(iid uuid, delivery text, event text,
                                raw text)
RETURNS TABLE (status int, body text, extra text, activity text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    g      github_integrations;
    p      jsonb;
    pr     jsonb;
    c      jsonb;
    l      task_links;
    tid    uuid;
    task   tasks;
    repo   text;
    ref    text;
    txt    text;
    aid    bigint;
    last   bigint;
    linked int := 0;
    moved  int := 0;
BEGIN
    SELECT * INTO g FROM github_integrations WHERE id = iid;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 404, 'not_found', NULL::text, NULL::text;
        RETURN;
    END IF;

    BEGIN
        p := raw::jsonb;
    EXCEPTION WHEN others THEN
        p := NULL;
    END;

    IF jsonb_typeof(p) IS DISTINCT FROM 'object' THEN
        RETURN QUERY SELECT 422, 'validation_failed',
            'The body is a JSON object: choose application/json as the '
            'webhook''s content type.', NULL::text;
        RETURN;
    END IF;

    INSERT INTO github_deliveries (integration_id, delivery, event)
    VALUES (iid, delivery, event)
    ON CONFLICT DO NOTHING;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 200, jsonb_build_object('delivery', delivery,
            'event', event, 'duplicate', true, 'linked', 0,
            'moved', 0)::text, NULL::text, NULL::text;
        RETURN;
    END IF;

    -- a minute's precision: deliveries at once do not queue on the row
    UPDATE github_integrations SET last_delivery_at = now()
     WHERE id = iid
       AND (last_delivery_at IS NULL
            OR last_delivery_at < now() - interval '1 minute');

    IF random() < 0.01 THEN
        DELETE FROM github_deliveries
         WHERE received_at < now() - interval '7 days';
    END IF;

    repo := coalesce(p->'repository'->>'html_url',
                     'https://github.com/' || g.repository);

    IF event = 'pull_request' AND jsonb_typeof(p->'pull_request') = 'object'
    THEN
        pr := p->'pull_request';
        l.kind := 'pull_request';
        l.url := pr->>'html_url';
        l.title := pr->>'title';
        l.number := (pr->>'number')::int;
        l.sha := pr->'head'->>'sha';
        l.author := pr->'user'->>'login';
        l.updated_at := coalesce((pr->>'updated_at')::timestamptz, now());
        l.state := CASE
            WHEN (pr->>'merged')::boolean THEN 'merged'
            WHEN pr->>'state' = 'closed' THEN 'closed'
            WHEN (pr->>'draft')::boolean THEN 'draft'
            ELSE 'open' END;

        txt := concat_ws(' ', pr->>'title', left(pr->>'body', 65536),
                         pr->'head'->>'ref');

        FOR tid IN SELECT * FROM github_named_tasks(txt) LOOP
            IF l.url IS NOT NULL THEN
                PERFORM github_link(tid, l);
                linked := linked + 1;
            END IF;

            SELECT * INTO task FROM tasks WHERE id = tid;
            aid := NULL;

            IF g.move_on_open_to_review
               AND p->>'action' IN ('opened', 'ready_for_review', 'reopened')
               AND l.state = 'open'
               AND (SELECT category FROM columns WHERE id = task.column_id)
                   NOT IN ('review', 'done')
            THEN
                aid := github_move(tid,
                    github_review_column(task.project_id,
                        CASE WHEN task.project_id = g.project_id
                             THEN g.review_column_id END),
                    jsonb_build_object('pull_request', l.url));

            ELSIF g.move_on_merge_to_done
                  AND p->>'action' = 'closed' AND l.state = 'merged'
            THEN
                aid := github_move(tid, github_done_column(task.project_id),
                    jsonb_build_object('pull_request', l.url));
            END IF;

            IF aid IS NOT NULL THEN
                moved := moved + 1;
                last := aid;
            END IF;
        END LOOP;

    ELSIF event = 'push' THEN
        ref := regexp_replace(coalesce(p->>'ref', ''), '^refs/heads/', '');

        IF p->>'ref' LIKE 'refs/heads/%' THEN
            l.kind := 'branch';
            l.url := repo || '/tree/' || ref;
            l.title := ref;
            l.state := CASE WHEN (p->>'deleted')::boolean THEN 'deleted'
                            ELSE 'active' END;
            l.sha := nullif(p->>'after', repeat('0', 40));
            l.author := p->'sender'->>'login';
            l.updated_at := now();

            FOR tid IN SELECT * FROM github_named_tasks(ref) LOOP
                PERFORM github_link(tid, l);
                linked := linked + 1;
            END LOOP;
        END IF;

        FOR c IN SELECT x FROM jsonb_array_elements(
                     CASE WHEN jsonb_typeof(p->'commits') = 'array'
                          THEN p->'commits' ELSE '[]' END) x
                  LIMIT 100
        LOOP
            l := NULL;
            l.kind := 'commit';
            l.url := c->>'url';
            l.title := split_part(c->>'message', E'\n', 1);
            l.sha := c->>'id';
            l.author := coalesce(c->'author'->>'username',
                                 c->'author'->>'name');
            l.updated_at := coalesce((c->>'timestamp')::timestamptz, now());

            CONTINUE WHEN l.url IS NULL;

            FOR tid IN SELECT * FROM github_named_tasks(c->>'message') LOOP
                PERFORM github_link(tid, l);
                linked := linked + 1;
            END LOOP;
        END LOOP;

    ELSIF event = 'create' AND p->>'ref_type' = 'branch' THEN
        ref := p->>'ref';
        l.kind := 'branch';
        l.url := repo || '/tree/' || ref;
        l.title := ref;
        l.state := 'active';
        l.author := p->'sender'->>'login';
        l.updated_at := now();

        FOR tid IN SELECT * FROM github_named_tasks(ref) LOOP
            PERFORM github_link(tid, l);
            linked := linked + 1;
        END LOOP;
    END IF;

    RETURN QUERY SELECT 200, jsonb_build_object('delivery', delivery,
        'event', event, 'duplicate', false, 'linked', linked,
        'moved', moved)::text, NULL::text, last::text;
END
$$;
