-- The demo workspace's IT portfolio: people, two teams, four projects
-- with their boards and milestones (achieved and upcoming), and tasks
-- across columns and people, made through
-- the same functions the API calls, so the audit trail tells it too.
-- conf/kanbanctl runs it once, right after the demo workspace is made.

DO $$
DECLARE
    admin    uuid;
    ops      uuid;
    apps     uuid;
    people   uuid[];
    p        record;
    t        record;
    proj     uuid;
    col      uuid[];
    task     uuid;
    i        int;
    titles   text[];
    spread   int[];
BEGIN
    SELECT id INTO admin FROM users WHERE role = 'admin' ORDER BY created_at
     LIMIT 1;

    -- colleagues share the admin's password, for trying roles out
    INSERT INTO users (email, name, role, password_hash)
    SELECT e, n, r, (SELECT password_hash FROM users WHERE id = admin)
      FROM (VALUES ('priya@demo.example', 'Priya Patel', 'project_manager'),
                   ('marcus@demo.example', 'Marcus Chen', 'project_manager'),
                   ('lena@demo.example', 'Lena Novak', 'contributor'),
                   ('omar@demo.example', 'Omar Haddad', 'contributor'),
                   ('sofia@demo.example', 'Sofia Rossi', 'contributor'),
                   ('jonas@demo.example', 'Jonas Berg', 'contributor'))
           AS v (e, n, r)
    ON CONFLICT DO NOTHING;

    SELECT array_agg(id ORDER BY email) INTO people
      FROM users WHERE role <> 'admin';

    INSERT INTO teams (name, description)
    VALUES ('Infrastructure', 'Servers, networks and the cloud'),
           ('Applications', 'Business applications and identity')
    ON CONFLICT DO NOTHING;

    SELECT id INTO ops FROM teams WHERE name = 'Infrastructure';
    SELECT id INTO apps FROM teams WHERE name = 'Applications';

    INSERT INTO team_members (team_id, user_id)
    SELECT ops, id FROM users
     WHERE email IN ('priya@demo.example', 'lena@demo.example',
                     'omar@demo.example')
    UNION ALL
    SELECT apps, id FROM users
     WHERE email IN ('marcus@demo.example', 'sofia@demo.example',
                     'jonas@demo.example')
    ON CONFLICT DO NOTHING;

    -- key, name, status, team, start, due, then how many tasks go to
    -- backlog, to do, in progress, review, done
    FOR p IN
        SELECT * FROM (VALUES
            ('VULN', 'Vulnerability Management', 'active', ops,
             current_date - 90, current_date + 30, ARRAY[2, 3, 3, 2, 8]),
            ('CLOUD', 'Cloud Migration', 'active', ops,
             current_date - 60, current_date + 120, ARRAY[4, 4, 3, 1, 4]),
            ('SSO', 'Single Sign-On Rollout', 'active', apps,
             current_date - 120, current_date - 5, ARRAY[0, 1, 1, 1, 9]),
            ('CRM', 'CRM Upgrade', 'planning', apps,
             current_date + 14, current_date + 200, ARRAY[6, 2, 0, 0, 0]))
        AS v (key, name, status, team, start_date, due_date, spread)
    LOOP
        IF EXISTS (SELECT 1 FROM projects WHERE key = p.key) THEN
            CONTINUE;
        END IF;

        SELECT (extra::text) INTO t FROM project_create(admin, 'admin',
            jsonb_build_object('key', p.key, 'name', p.name,
                               'status', p.status, 'team_id', p.team,
                               'start_date', p.start_date,
                               'due_date', p.due_date));

        SELECT id INTO proj FROM projects WHERE key = p.key;
        SELECT array_agg(id ORDER BY position) INTO col FROM columns
         WHERE project_id = proj;

        titles := ARRAY[
            'Inventory the affected hosts', 'Write the runbook',
            'Review the firewall rules', 'Patch the web tier',
            'Update the base images', 'Rotate the service credentials',
            'Set up monitoring alerts', 'Load-test the new setup',
            'Document the rollback', 'Train the help desk',
            'Migrate the staging data', 'Decommission the old servers',
            'Sign off with security', 'Plan the cut-over weekend',
            'Automate the nightly scan', 'Fix the flaky health check',
            'Tag resources by owner', 'Review access permissions'];

        i := 0;
        FOR c IN 1 .. 5 LOOP
            FOR n IN 1 .. p.spread[c] LOOP
                i := i + 1;
                SELECT (body::jsonb->>'id')::uuid INTO task
                  FROM task_create(admin, 'admin', proj, jsonb_build_object(
                      'title', titles[1 + (i - 1) % array_length(titles, 1)],
                      'priority', (ARRAY['low', 'medium', 'high',
                                         'urgent'])[1 + i % 4],
                      'assignee_ids', jsonb_build_array(
                          people[1 + i % array_length(people, 1)]),
                      'labels', jsonb_build_array(lower(p.key)),
                      'estimate_minutes', 60 * (1 + i % 8),
                      -- done work was due along the way; open work
                      -- mostly ahead (one in eight a few days late), and
                      -- never after its project's end
                      'due_date', CASE WHEN c = 5 THEN p.start_date + 7 * i
                                       ELSE least(p.due_date, current_date
                                                  - 3 + (i * 5) % 40) END,
                      'blocked', c = 3 AND n = 1 AND p.key = 'CLOUD',
                      'blocked_reason', CASE WHEN c = 3 AND n = 1
                                              AND p.key = 'CLOUD'
                                         THEN 'Waiting for the VPN quote'
                                         END));

                IF c > 1 THEN
                    PERFORM task_move(admin, 'admin', task,
                                      jsonb_build_object('column_id', col[c]),
                                      NULL);
                END IF;
            END LOOP;
        END LOOP;

        -- one milestone reached, one ahead, around the project's span
        PERFORM plan_item_write(admin, 'admin', 'milestone', proj, NULL,
            jsonb_build_object('name', 'Kick-off done',
                               'due_date', p.start_date + 14,
                               'status', CASE WHEN p.start_date + 14
                                                   <= current_date
                                              THEN 'achieved'
                                              ELSE 'upcoming' END),
            NULL, false);
        PERFORM plan_item_write(admin, 'admin', 'milestone', proj, NULL,
            jsonb_build_object('name', CASE p.key
                                   WHEN 'SSO' THEN 'All apps on SSO'
                                   ELSE 'Go-live' END,
                               'due_date', greatest(p.due_date,
                                                    current_date + 10),
                               'status', 'upcoming'),
            NULL, false);
    END LOOP;
END
$$;


-- Time: the Infrastructure team's last two weeks. Lena's last week waits
-- for Priya's approval; Omar's week before was approved.
DO $$
DECLARE
    priya    uuid := (SELECT id FROM users WHERE email = 'priya@demo.example');
    monday   date := date_trunc('week', current_date)::date;
    who      record;
    d        int;
    tasks    uuid[];
BEGIN
    IF EXISTS (SELECT 1 FROM time_entries) THEN
        RETURN;
    END IF;

    SELECT array_agg(t.id ORDER BY t.number) INTO tasks
      FROM tasks t JOIN projects p ON p.id = t.project_id
     WHERE p.key IN ('VULN', 'CLOUD');

    FOR who IN
        SELECT u.id, u.email FROM users u
         WHERE u.email IN ('lena@demo.example', 'omar@demo.example')
    LOOP
        FOR d IN 0 .. 9 LOOP
            INSERT INTO time_entries (user_id, task_id, project_id, date,
                                      minutes, description, billable)
            SELECT who.id, t.id, t.project_id,
                   monday - 14 + (d / 5) * 7 + d % 5,
                   360 + (d * 37) % 150, 'Work on ' || t.title, d % 3 = 0
              FROM tasks t
             WHERE t.id = tasks[1 + (d + length(who.email))
                                    % array_length(tasks, 1)];
        END LOOP;
    END LOOP;

    INSERT INTO timesheet_weeks (user_id, week_start, status, submitted_at,
                                 decided_at, decided_by)
    SELECT id, monday - 7, 'submitted', now() - interval '2 days', NULL,
           NULL
      FROM users WHERE email = 'lena@demo.example'
    UNION ALL
    SELECT id, monday - 14, 'approved', now() - interval '9 days',
           now() - interval '8 days', priya
      FROM users WHERE email = 'omar@demo.example';
END
$$;


-- The portfolio's history: the tasks were made over the projects' days
-- so far and finished along the way, not all this minute, so that the
-- analytics (throughput, cycle time, cumulative flow) have a past to show.
-- Each task's audit rows follow its dates.
DO $$
DECLARE
    t       record;
    m       record;
    made    timestamptz;
    done    timestamptz;
    n       int;
    i       int;
BEGIN
    IF EXISTS (SELECT 1 FROM tasks
                WHERE created_at < now() - interval '1 day') THEN
        RETURN;
    END IF;

    FOR t IN
        SELECT tk.id, tk.number, c.category, p.start_date
          FROM tasks tk
          JOIN columns c ON c.id = tk.column_id
          JOIN projects p ON p.id = tk.project_id
         WHERE p.start_date < current_date
    LOOP
        -- spread over the project's days so far, in the order of keys
        made := (t.start_date
                 + (t.number * 7) % greatest(current_date - t.start_date - 3,
                                             1))::timestamp AT TIME ZONE 'UTC'
                + make_interval(hours => 9 + t.number % 8);
        done := least(made + make_interval(days => 2 + (t.number * 7) % 12,
                                           hours => t.number % 5),
                      now() - interval '2 hours');

        UPDATE tasks SET created_at = made, updated_at = done,
                         completed_at = CASE WHEN t.category = 'done'
                                             THEN done END
         WHERE id = t.id;

        UPDATE activity_log SET created_at = made
         WHERE entity_type = 'task' AND entity_id = t.id
           AND action = 'created';

        -- its moves, spread evenly from its start to its end
        SELECT count(*) INTO n FROM activity_log
         WHERE entity_type = 'task' AND entity_id = t.id AND action = 'moved';

        i := 0;
        FOR m IN
            SELECT a.id FROM activity_log a
             WHERE a.entity_type = 'task' AND a.entity_id = t.id
               AND a.action = 'moved'
             ORDER BY a.id
        LOOP
            i := i + 1;
            UPDATE activity_log
               SET created_at = made + (done - made) * i / n
             WHERE id = m.id;
        END LOOP;
    END LOOP;
END
$$;
