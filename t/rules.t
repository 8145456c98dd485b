#!/usr/bin/perl

# Rules, over the real nginx, PostgreSQL and Redis: a project's "when this
# happens, if this holds, do that", run in the transaction of the write
# that sets them off. Each trigger (created, moved to a column or a
# category, label added, all subtasks done, time logged over the
# estimate, a pull request merged through the GitHub link) with
# conditions on the task's fields and each action (move, assign, label,
# set priority, comment, create subtasks, notify, call a webhook through
# the webhooks' outbox). A loop between rules is refused when saved (422);
# rules that loop anyway (written behind the API's back) stop at the depth
# cap; a failing action is in the runs log and the write still commits;
# every run is in the task's audit trail as the rule's.

use strict;
use warnings;
use utf8;

use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(sleep);
use Kanban::Test qw(made problem_is);
use Kanban::Receiver;

my $JSON = $Kanban::Test::JSON;

my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_webhooks_allow_private on;
kanban_webhooks_timeout 1500ms;
kanban_webhooks_backoff 300ms;
kanban_webhooks_sweep 1s;
kanban_planner_sweep 1s;
EOF

my $ws = $t->workspace(prefix => 'rule');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $rcv = Kanban::Receiver->new;

sub api { $ws->api(@_) }

my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');
my $alpha = $ws->team('Alpha', $pam, $carl);

my $project = made(api($admin, POST => '/api/v1/projects',
                       json => { key => 'OPS', name => 'Operations',
                                 team_id => $alpha->{id} }), 'project');
my $pid = $project->{id};
my %col = map { $_->{category} => $_ }
          @{ api($admin, GET => "/api/v1/projects/$pid/columns")
             ->{json}{items} };
my $other = made(api($admin, POST => '/api/v1/projects',
                     json => { key => 'OTH', name => 'Other' }), 'project');
my ($other_col) = @{ api($admin, GET => "/api/v1/projects/$other->{id}/columns")
                     ->{json}{items} };

sub task {
    my (%b) = @_;
    return made(api($carl, POST => "/api/v1/projects/$pid/tasks",
                    json => { column_id => $col{todo}{id}, %b }), 'task');
}
sub task_now { made(api($admin, GET => "/api/v1/tasks/$_[0]{id}"), 'task') }
sub move {
    my ($task, $col, $who) = @_;
    return api($who // $admin, PATCH => "/api/v1/tasks/$task->{id}/move",
               json => { column_id => $col->{id} });
}
sub rule {
    my (%b) = @_;
    return api($pam, POST => "/api/v1/projects/$pid/rules", json => \%b);
}
sub rule_in {
    my ($project, %b) = @_;
    return api($pam, POST => "/api/v1/projects/$project->{id}/rules",
               json => \%b);
}
sub runs_of {
    my ($rule) = @_;
    return made(api($carl, GET => "/api/v1/rules/$rule->{id}/runs"),
                'runs')->{items};
}
sub comments_of {
    return [ map { $_->{body} }
             @{ made(api($admin, GET => "/api/v1/tasks/$_[0]{id}/comments"),
                     'comments')->{items} } ];
}

# --- who, and what a rule may be ------------------------------------------------------

problem_is(api($carl, POST => "/api/v1/projects/$pid/rules",
               json => { name => 'x', trigger => { type => 'task_created' },
                         actions => [ { type => 'label', label => 'x' } ] }),
           403, 'forbidden', 'a contributor makes no rule');
problem_is(rule(name => 'x', trigger => { type => 'task_exploded' },
                actions => [ { type => 'label', label => 'x' } ]),
           422, 'validation_failed', 'an unknown trigger');
problem_is(rule(name => 'x', trigger => { type => 'task_created' },
                actions => []),
           422, 'validation_failed', 'no action');
problem_is(rule(name => 'x', trigger => { type => 'task_created' },
                actions => [ { type => 'move',
                               column_id => $other_col->{id} } ]),
           422, 'validation_failed', "another project's column");
problem_is(rule(name => 'x', trigger => { type => 'task_created' },
                conditions => [ { field => 'password', op => 'eq',
                                  value => 'x' } ],
                actions => [ { type => 'label', label => 'x' } ]),
           422, 'validation_failed', 'a condition on no field of a task');
problem_is(rule(name => 'x', trigger => { type => 'task_created' },
                actions => [ { type => 'notify', to => 'everyone' } ]),
           422, 'validation_failed', 'a notice to nobody known');
problem_is(rule(name => 'x', trigger => { type => 'task_created' },
                actions => [ { type => 'notify', message => 'Hi' } ]),
           422, 'validation_failed', 'a notice to no one named');
problem_is(rule(name => 'x', trigger => { type => 'task_created' },
                actions => [ { type => 'label', label => 'x',
                               colour => 'red' } ]),
           422, 'validation_failed', 'an unknown field of an action');

# --- created: label, priority, assign, comment, subtasks ----------------------------------

my $r = rule(name => 'Triage bugs',
             trigger => { type => 'task_created' },
             conditions => [ { field => 'title', op => 'contains',
                               value => 'bug' },
                             { field => 'is_subtask', op => 'eq',
                               value => 'false' } ],
             actions => [ { type => 'label', label => 'bug' },
                          { type => 'set_priority', priority => 'high' },
                          { type => 'assign', user_id => $carl->{id} },
                          { type => 'comment', body => 'Triaged by a rule.' },
                          { type => 'create_subtasks',
                            titles => ['Reproduce', 'Fix', 'Test'] } ]);
is($r->{status}, 201, 'a rule made: 201');
my $triage = $r->{json};
is($r->{headers}{location}, "/api/v1/rules/$triage->{id}", 'its Location');
is($triage->{enabled}, JSON::XS::true, 'on by default');

my $bug = task(title => 'Login bug on Safari');
my $now = task_now($bug);
is_deeply($now->{labels}, ['bug'], 'created: the rule labelled it');
is($now->{priority}, 'high', '... set its priority');
is_deeply($now->{assignee_ids}, [$carl->{id}], '... assigned it');
is_deeply(comments_of($bug), ['Triaged by a rule.'], '... commented');
my $subs = made(api($admin, GET => "/api/v1/tasks/$bug->{id}/subtasks"),
                'subtasks')->{items};
is_deeply([ sort map { $_->{title} } @$subs ], ['Fix', 'Reproduce', 'Test'],
          '... and made its subtasks (which set off no rule: conditions)');

my $plain = task(title => 'Write the runbook');
is_deeply(task_now($plain)->{labels}, [], 'a condition that fails: no run');

my $runs = runs_of($triage);
is(scalar @$runs, 1, 'one run in the rule\'s log');
is($runs->[0]{status}, 'succeeded', '... succeeded');
is($runs->[0]{task_key}, $bug->{key}, '... on the task');
is($runs->[0]{trigger}, 'task_created', '... for its trigger');
is(scalar(grep { $_->{ok} } @{ $runs->[0]{actions} }), 5,
   '... each of the five actions done');

my $activity = made(api($carl, GET => "/api/v1/tasks/$bug->{id}/activity"),
                    'activity')->{items};
my ($ran) = grep { $_->{action} eq 'rule_ran' } @$activity;
ok($ran, 'the run is in the task\'s audit trail');
is($ran->{via}, 'Rule: Triage bugs', '... as the rule\'s');
ok(!defined $ran->{actor_id}, '... with no person');
ok(scalar(grep { ($_->{via} // '') eq 'Rule: Triage bugs'
                 && $_->{action} eq 'updated' } @$activity),
   'its changes too are the rule\'s');

# --- moved to a category, with a condition; notify ---------------------------------------

my $done_rule = made(rule(
    name => 'Tell the team about urgent work done',
    trigger => { type => 'task_moved', category => 'done' },
    conditions => [ { field => 'priority', op => 'eq', value => 'high' } ],
    actions => [ { type => 'notify', to => 'assignees',
                   message => 'Done, and it was high.' } ]), 'rule');

move($bug, $col{done});
my ($note) = grep { $_->{kind} eq 'rule' }
             @{ made(api($carl, GET => '/api/v1/notifications'),
                     'notifications')->{items} };
ok($note, 'moved to done: the assignee is notified');
is($note->{data}{message}, 'Done, and it was high.', '... with the message');
is($note->{task}{id}, $bug->{id}, '... about the task');
move($plain, $col{done});
is(scalar @{ runs_of($done_rule) }, 1,
   'a task of another priority moved: no run');

# --- label added -------------------------------------------------------------------------

made(rule(name => 'Escalate', trigger => { type => 'label_added',
                                            label => 'escalate' },
          actions => [ { type => 'set_priority', priority => 'urgent' } ]),
     'rule');
my $esc = task(title => 'Slow reports');
made(api($admin, PATCH => "/api/v1/tasks/$esc->{id}",
         json => { labels => ['escalate'] }), 'label');
is(task_now($esc)->{priority}, 'urgent', 'label added: priority set');

# --- all subtasks done ---------------------------------------------------------------------

made(rule(name => 'Review when the checklist is done',
          trigger => { type => 'subtasks_done' },
          actions => [ { type => 'move', column_id => $col{review}{id} } ]),
     'rule');
my $parent = task(title => 'Rotate certificates');
my @steps = map { task(title => "Step $_", parent_id => $parent->{id}) } 1, 2;
move($steps[0], $col{done});
is(task_now($parent)->{column_id}, $col{todo}{id},
   'one subtask of two done: the task stays');
move($steps[1], $col{done});
is(task_now($parent)->{column_id}, $col{review}{id},
   'the last subtask done: the task moves to review');

# --- time logged over the estimate ---------------------------------------------------------

made(rule(name => 'Over estimate', trigger => { type => 'time_over_estimate' },
          actions => [ { type => 'label', label => 'over-estimate' } ]),
     'rule');
my $est = task(title => 'Patch servers', estimate_minutes => 60);
made(api($carl, POST => '/api/v1/timesheets/entries',
         json => { date => '2026-11-16', minutes => 45,
                   task_id => $est->{id} }), 'time');
is_deeply(task_now($est)->{labels}, [], '45 of 60 minutes: nothing');
made(api($carl, POST => '/api/v1/timesheets/entries',
         json => { date => '2026-11-17', minutes => 30,
                   task_id => $est->{id} }), 'time');
is_deeply(task_now($est)->{labels}, ['over-estimate'],
          '75 of 60 minutes: labelled');

# --- a pull request merged (the GitHub link) -------------------------------------------------

my $link = made(api($admin, POST => "/api/v1/projects/$pid/integrations/github",
                    json => { repository => 'acme/ops',
                              rules => { move_on_merge_to_done => JSON::XS::false,
                                         move_on_open_to_review => JSON::XS::false } }),
                'link');
made(rule(name => 'Merged: comment',
          trigger => { type => 'pull_request_merged' },
          actions => [ { type => 'comment', body => 'Merged on GitHub.' } ]),
     'rule');
my $pr_task = task(title => 'Rate-limit the API');
my $pr = {
    action => 'closed', number => 7,
    pull_request => {
        html_url => 'https://github.com/acme/ops/pull/7', number => 7,
        state => 'closed', title => "$pr_task->{key}: rate limits",
        body => '', merged => JSON::XS::true, draft => JSON::XS::false,
        updated_at => '2026-12-06T11:30:00Z',
        head => { ref => 'rate-limits', sha => 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' },
        user => { login => 'octocat' } },
    repository => { full_name => 'acme/ops',
                    html_url => 'https://github.com/acme/ops' },
    sender => { login => 'octocat' },
};
my $body = $JSON->encode($pr);
$r = $t->req(POST => "/hooks/github/$link->{id}", host => $slug, body => $body,
             headers => { 'Content-Type' => 'application/json',
                          'X-GitHub-Event' => 'pull_request',
                          'X-GitHub-Delivery' => '72d3162e-cc78-11e3-81ab-4c9367dc0001',
                          'X-Hub-Signature-256' => 'sha256='
                              . hmac_sha256_hex($body, $link->{secret}) });
ok($r->{status} < 300, 'GitHub\'s delivery taken') or diag $r->{body};
is_deeply(comments_of($pr_task), ['Merged on GitHub.'],
          'a merged pull request: the rule commented');

# --- a webhook through the outbox -----------------------------------------------------------

my $hook = made(api($admin, POST => '/api/v1/webhooks',
                    json => { url => $rcv->url('/ok/rules'),
                              events => ['project.deleted'] }), 'webhook');
made(rule(name => 'Call the pager', trigger => { type => 'label_added',
                                                  label => 'page' },
          actions => [ { type => 'webhook', webhook_id => $hook->{id} } ]),
     'rule');
my $paged = task(title => 'Disk full');
made(api($admin, PATCH => "/api/v1/tasks/$paged->{id}",
         json => { labels => ['page'] }), 'label');
my ($call) = $rcv->wait_for(sub {
    grep { ($_->{headers}{'x-kanban-event'} // '') eq 'rule.fired' } @_ }, 15);
ok($call, 'the webhook was called through the outbox');
is($call->{json}{data}{task}{id}, $paged->{id}, '... with the task');
is($call->{json}{data}{rule}{name}, 'Call the pager', '... and the rule');

# --- a failing action is recorded, not lost -----------------------------------------------------

made(api($admin, PATCH => "/api/v1/columns/$col{in_progress}{id}",
         json => { wip_limit => 1 }), 'wip');
my $busy = task(title => 'Busy');
move($busy, $col{in_progress});
my $failing = made(rule(
    name => 'Start what is blocked',
    trigger => { type => 'label_added', label => 'start' },
    actions => [ { type => 'move', column_id => $col{in_progress}{id} },
                 { type => 'comment', body => 'Tried to start it.' } ]),
    'rule');
my $blocked = task(title => 'Second in line');
$r = api($admin, PATCH => "/api/v1/tasks/$blocked->{id}",
         json => { labels => ['start'] });
is($r->{status}, 200, 'the write that set off a failing action commits');
is_deeply(task_now($blocked)->{labels}, ['start'], '... its change kept');
is(task_now($blocked)->{column_id}, $col{todo}{id},
   'the move into a full column was not made');
is_deeply(comments_of($blocked), ['Tried to start it.'],
          'the next action still ran');
my ($run) = @{ runs_of($failing) };
is($run->{status}, 'failed', 'the run is recorded as failed');
is($run->{actions}[0]{ok}, JSON::XS::false, '... its move failed');
like($run->{actions}[0]{error}, qr/WIP limit/, '... and says why');
is($run->{actions}[1]{ok}, JSON::XS::true, '... its comment was made');

made(api($admin, PATCH => "/api/v1/webhooks/$hook->{id}",
         json => { enabled => JSON::XS::false }), 'webhook off');
my $paged2 = task(title => 'Disk full again');
made(api($admin, PATCH => "/api/v1/tasks/$paged2->{id}",
         json => { labels => ['page'] }), 'label');
my ($off) = grep { $_->{task_id} eq $paged2->{id} }
            @{ made(api($carl, GET => "/api/v1/projects/$pid/rule-runs"),
                    'runs')->{items} };
is($off->{status}, 'failed', 'a call to a webhook turned off: failed');
like($off->{actions}[0]{error}, qr/turned off/, '... and says why');

# --- loops ----------------------------------------------------------------------------------------

made(rule(name => 'Done means shipped',
          trigger => { type => 'task_moved', column_id => $col{done}{id} },
          actions => [ { type => 'label', label => 'shipped' } ]), 'rule');
$r = rule(name => 'Shipped means done',
          trigger => { type => 'label_added', label => 'shipped' },
          actions => [ { type => 'move', column_id => $col{done}{id} } ]);
problem_is($r, 422, 'validation_failed', 'a loop of two rules is refused');
like($r->{json}{detail},
     qr/Shipped means done → Done means shipped → Shipped means done/,
     '... naming the loop');
problem_is(rule(name => 'Review again',
                trigger => { type => 'task_moved', category => 'review' },
                actions => [ { type => 'move',
                               column_id => $col{review}{id} } ]),
           422, 'validation_failed', 'a rule that sets itself off is refused');
my $quiet = made(rule(name => 'Shipped means done', enabled => JSON::XS::false,
                      trigger => { type => 'label_added', label => 'shipped' },
                      actions => [ { type => 'move',
                                     column_id => $col{done}{id} } ]),
                 'a disabled rule');
problem_is(api($pam, PATCH => "/api/v1/rules/$quiet->{id}",
               json => { enabled => JSON::XS::true }),
           422, 'validation_failed', 'turning on a rule that closes a loop');

# rules that loop anyway (written behind the API's back) stop at the cap
my $lp = made(api($admin, POST => '/api/v1/projects',
                  json => { key => 'LOOP', name => 'Loop' }), 'project');
my %lc = map { $_->{category} => $_ }
         @{ api($admin, GET => "/api/v1/projects/$lp->{id}/columns")
            ->{json}{items} };
for my $pair ([ 'todo', 'in_progress' ], [ 'in_progress', 'todo' ]) {
    $dbh->do('INSERT INTO rules (project_id, name, trigger, actions)
              VALUES (?, ?, ?, ?)', undef, $lp->{id}, "Bounce $pair->[0]",
             $JSON->encode({ type => 'task_moved',
                             column_id => $lc{$pair->[0]}{id} }),
             $JSON->encode([ { type => 'move',
                               column_id => $lc{$pair->[1]}{id} } ]));
}
my $ball = made(api($admin, POST => "/api/v1/projects/$lp->{id}/tasks",
                    json => { title => 'Ball', column_id => $lc{backlog}{id} }),
                'task');
$r = move($ball, $lc{todo});
is($r->{status}, 200, 'a move into rules that loop still answers');
my $lruns = made(api($carl, GET => "/api/v1/projects/$lp->{id}/rule-runs"),
                 'runs')->{items};
is(scalar(grep { $_->{status} eq 'succeeded' } @$lruns), 5,
   'the loop ran five levels deep')
    or diag explain [ map { "$_->{rule_name} $_->{depth} $_->{status}" } @$lruns ];
my ($skip) = grep { $_->{status} eq 'skipped' } @$lruns;
ok($skip, '... then stopped, recorded as skipped');
is($skip->{depth}, 5, '... at depth 5');

# --- the runs log: pages --------------------------------------------------------------------------

my $page1 = made(api($carl, GET => "/api/v1/projects/$lp->{id}/rule-runs?limit=4"),
                 'page');
is(scalar @{ $page1->{items} }, 4, 'a page of four runs');
ok($page1->{next_cursor}, '... and a cursor');
my $page2 = made(api($carl, GET => "/api/v1/projects/$lp->{id}/rule-runs"
                                   . "?limit=4&cursor=$page1->{next_cursor}"),
                 'page');
is(scalar @{ $page2->{items} }, 2, 'the next page: the other two');
problem_is(api($carl, GET => "/api/v1/projects/$lp->{id}/rule-runs?limit=0"),
           422, 'validation_failed', 'limit 0');

# --- the due-date triggers: one function the reminder sweep calls ---------------------------------

my $soon = made(rule(name => 'Due soon', trigger => { type => 'due_soon',
                                                       days => 2 },
                     actions => [ { type => 'label', label => 'due-soon' } ]),
                'rule');
my $due = task(title => 'Renew the domain', due_date => '2026-12-31');
is($dbh->selectrow_array(q{SELECT rules_fire('due_soon', ?, '{"days_left": 5}')},
                         undef, $due->{id}), 0, 'due in 5 days: no run');
is($dbh->selectrow_array(q{SELECT rules_fire('due_soon', ?, '{"days_left": 2}')},
                         undef, $due->{id}), 1, 'due in 2 days: one run');
is_deeply(task_now($due)->{labels}, ['due-soon'], '... which labelled it');

# --- the due-date triggers fired by the planner, once each -----------------------------------------

# A write wakes the planner (the reminder sweep); it fires overdue the day
# after a task's due date and due_soon the days before it that a rule
# names, once per task and due date, however often it comes back.
my $late_p = made(api($admin, POST => '/api/v1/projects',
                      json => { key => 'LATE', name => 'Late work',
                                team_id => $alpha->{id} }), 'project');
my $flag = made(rule_in($late_p, name => 'Overdue: flag it',
                        trigger => { type => 'overdue' },
                        actions => [ { type => 'label', label => 'overdue' },
                                     { type => 'comment',
                                       body => 'The due date has passed.' } ]),
                'rule');
my $warn = made(rule_in($late_p, name => 'Due soon: warn',
                        trigger => { type => 'due_soon', days => 3 },
                        actions => [ { type => 'label', label => 'soon' } ]),
                'rule');
my $warn1 = made(rule_in($late_p, name => 'Due tomorrow: urgent',
                         trigger => { type => 'due_soon', days => 1 },
                         actions => [ { type => 'set_priority',
                                        priority => 'urgent' } ]),
                 'rule');

sub workspace_day {
    my ($offset) = @_;
    return scalar $dbh->selectrow_array(
        'SELECT (workspace_today() + ?::int)::text', undef, $offset);
}

sub late_task {
    my (%b) = @_;
    return made(api($admin, POST => "/api/v1/projects/$late_p->{id}/tasks",
                    json => \%b), 'task');
}

my $late = late_task(title => 'Send the invoice', due_date => workspace_day(-1));
my $near = late_task(title => 'Book the room', due_date => workspace_day(1));
my $later = late_task(title => 'Plan the party', due_date => workspace_day(10));

my $waited = 0;
until (grep({ $_ eq 'overdue' } @{ task_now($late)->{labels} })
       && grep({ $_ eq 'soon' } @{ task_now($near)->{labels} })
       || $waited++ > 75)
{
    sleep 0.2;
}
is_deeply(task_now($late)->{labels}, ['overdue'],
          'the planner fires overdue: the task due yesterday is labelled');
is_deeply(comments_of($late), ['The due date has passed.'], '... and commented');
is_deeply(task_now($near)->{labels}, ['soon'],
          'due tomorrow: the 3-day due_soon rule acted');
is(task_now($near)->{priority}, 'urgent', '... and the 1-day one');
is_deeply(task_now($later)->{labels}, [], 'due in 10 days: nothing yet');

# more writes, more planner steps: nothing runs twice
for my $i (1 .. 3) {
    made(api($admin, PATCH => "/api/v1/tasks/$late->{id}",
             json => { description => "Still to do ($i)" }), 'patch');
    sleep 0.7;
}
is(scalar @{ comments_of($late) }, 1, 'overdue acted exactly once');
is(scalar @{ runs_of($flag) }, 1, '... one run in its log');
is(scalar @{ runs_of($warn) }, 1, 'due_soon (3 days) ran once');
is(scalar @{ runs_of($warn1) }, 1, 'due_soon (1 day) ran once');
is($dbh->selectrow_array(
       q{SELECT count(*) FROM activity_log WHERE entity_id = ?
          AND action = 'rule_ran'}, undef, $late->{id}), 1,
   '... and in the task\'s audit trail as the rule\'s, once');

# --- change, turn off, remove -----------------------------------------------------------------------

my $got = api($carl, GET => "/api/v1/rules/$soon->{id}");
is($got->{status}, 200, 'a member reads a rule');
problem_is(api($carl, PATCH => "/api/v1/rules/$soon->{id}",
               json => { enabled => JSON::XS::false }), 403, 'forbidden',
           'a contributor changes no rule');
problem_is(api($pam, PATCH => "/api/v1/rules/$soon->{id}",
               json => { name => 'Soon', version => 9 }), 409,
           'version_conflict', 'a stale version');
$r = api($pam, PATCH => "/api/v1/rules/$soon->{id}",
         json => { enabled => JSON::XS::false, version => 1 });
is($r->{status}, 200, 'turned off');
is($r->{json}{version}, 2, '... a new version');
is($dbh->selectrow_array(q{SELECT rules_fire('due_soon', ?, '{"days_left": 1}')},
                         undef, $due->{id}), 0, 'a rule turned off never runs');
is(api($pam, DELETE => "/api/v1/rules/$soon->{id}")->{status}, 204, 'removed');
problem_is(api($pam, GET => "/api/v1/rules/$soon->{id}"), 404, 'not_found',
           '... and gone');
problem_is(api($pam, GET => '/api/v1/rules/00000000-0000-4000-8000-000000000000/runs'),
           404, 'not_found', 'the runs of no rule');

my $elsewhere = $t->workspace(prefix => 'ruleo');
problem_is($elsewhere->api($elsewhere->admin, GET => "/api/v1/rules/$triage->{id}"),
           404, 'not_found', "another workspace's rule is not there");
problem_is($elsewhere->api($elsewhere->admin, PATCH => "/api/v1/rules/$triage->{id}",
                       json => { enabled => JSON::XS::false }),
           404, 'not_found', '... nor can it be changed from there');
problem_is($elsewhere->api($elsewhere->admin, GET => "/api/v1/rules/$triage->{id}/runs"),
           404, 'not_found', '... nor its runs read');

my $list = made(api($carl, GET => "/api/v1/projects/$pid/rules"), 'rules');
ok(scalar(@{ $list->{items} }) >= 8, 'the project\'s rules listed');

$t->done_testing;
