#!/usr/bin/perl

# The built-in agents at work unasked (issue 23), over the real nginx,
# PostgreSQL and Redis, with a fake model on loopback: a project that
# opts in (admins and its managers only) gets each new task triaged,
# proposed or applied, never a task an agent, a rule or a subtask made;
# a model call cut off by nginx killed with -9 is claimed again once its
# lease lapses after the restart, and answered once; the daily digest
# comes at the workspace's hour in its time zone, exactly once a day with
# two nodes, more writes and a restart.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);
use Kanban::Test qw(made problem_is);
use Kanban::Receiver;
use JSON::XS;

my %conf = (http => <<"EOF");
kanban_ai_backoff 200ms;
kanban_ai_allow_private on;
kanban_agents_lease 3s;
kanban_agents_sweep 500ms;
EOF

my $t = Kanban::Test->new(%conf)->run;
my $rcv = Kanban::Receiver->new;

my $ws = $t->workspace(prefix => 'unask');
my $dbh = $ws->dbh;

sub api { $ws->api(@_) }

sub until_true {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (time < $deadline) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.1;
    }
    return;
}

# an API time ("2026-12-06T12:00:00.123+05:30") in seconds since the epoch
sub epoch {
    my ($at) = @_;
    my ($y, $mo, $d, $h, $mi, $sec, $sign, $oh, $om) = ($at // '') =~
        /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.\d+)?(?:([+-])(\d+):(\d+)|Z)$/
        or return -1;
    my $e = timegm($sec, $mi, $h, $d, $mo - 1, $y);
    $e -= ($sign eq '-' ? -1 : 1) * ($oh * 3600 + $om * 60) if $sign;
    return $e;
}

my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');
my $alpha = $ws->team('Alpha', $pam, $carl);

my $pid = made(api($admin, POST => '/api/v1/projects',
                   json => { key => 'UN', name => 'Unasked',
                             team_id => $alpha->{id} }), 'project')->{id};

made(api($admin, PUT => '/api/v1/ai/settings',
         json => { provider => 'openai', model => 'fake-model',
                   base_url => $rcv->url('/llm/v1'), api_key => 'sk-test' }),
     'ai settings');

my ($skill) = $dbh->selectrow_array(
    q{INSERT INTO skills (name) VALUES ('Testing') RETURNING id});
$dbh->do(q{INSERT INTO user_skills (user_id, skill_id, level)
           VALUES (?, ?, 4)}, undef, $pam->{id}, $skill);
made(api($admin, POST => "/api/v1/projects/$pid/tasks",
         json => { title => 'Labelled', labels => [ 'flaky', 'ci' ] }),
     'a task with the labels the workspace uses');

$rcv->mode('content:' . JSON::XS->new->encode({
    priority => 'high', labels => [ 'flaky', 'made-up' ],
    assignee_id => $pam->{id}, reason => 'A flaky test; Pam tests.' }));

# --- the project's settings -------------------------------------------------

my $path = "/api/v1/projects/$pid/agent-settings";

problem_is(api($carl, GET => $path), 403, 'forbidden',
           'a contributor does not see the project\'s agent settings');
problem_is(api($carl, PATCH => $path, json => { triage => 'propose' }), 403,
           'forbidden', '... nor change them');
my $s = made(api($pam, GET => $path), 'settings');
is($s->{triage}, 'off', 'triage is off by default');
ok(!$s->{digest}, '... and the digest');
problem_is(api($pam, PATCH => $path, json => { triage => 'propose' }), 422,
           'validation_failed', 'triage without a triage agent is refused');
problem_is(api($pam, PATCH => $path, json => { triage => 'always' }), 422,
           'validation_failed', 'triage is off, propose or apply');
problem_is(api($pam, PATCH => $path, json => { digest => 'yes' }), 422,
           'validation_failed', 'digest is a boolean');
problem_is(api($pam, PATCH => $path, json => { other => 1 }), 422,
           'validation_failed', 'an unknown setting is refused');
problem_is(api($pam, PATCH => '/api/v1/projects/'
                              . '00000000-0000-4000-8000-000000000000'
                              . '/agent-settings',
               json => { triage => 'off' }), 404, 'not_found',
           'another project: 404');

my $tri = made(api($admin, POST => '/api/v1/agents',
                   json => { name => 'Triage', kind => 'builtin',
                             builtin => 'triage' }), 'triage agent');

# a task made before the project opts in is left alone
my $early = made(api($carl, POST => "/api/v1/projects/$pid/tasks",
                     json => { title => 'Before opting in' }), 'task');

$s = made(api($pam, PATCH => $path, json => { triage => 'propose' }),
          'opt in');
is($s->{triage}, 'propose', 'the project\'s manager opts in to triage');
is($s->{triage_agent_id}, $tri->{id}, '... with the workspace\'s agent');

sub sessions_of {
    my ($tid) = @_;
    return $dbh->selectall_arrayref(q{
        SELECT id, opened_by, state FROM agent_sessions WHERE task_id = ?
         ORDER BY created_at}, { Slice => {} }, $tid);
}

sub session_done {
    my ($tid, $timeout) = @_;
    my $sid = until_true(sub {
        my ($id) = $dbh->selectrow_array(q{
            SELECT id FROM agent_sessions WHERE task_id = ?
               AND state NOT IN ('pending', 'active')
             ORDER BY created_at DESC LIMIT 1}, undef, $tid);
        return $id;
    }, $timeout);
    return $sid && made(api($carl, GET => "/api/v1/agent-sessions/$sid"),
                        'session');
}

# --- proposed --------------------------------------------------------------

my $new = made(api($carl, POST => "/api/v1/projects/$pid/tasks",
                   json => { title => 'Login test fails at midnight' }),
               'new task');
my $ses = session_done($new->{id});
ok($ses, 'a new task gets its triage session unasked');
is($ses && $ses->{opened_by}, 'new_task', '... opened by the new task');
is($ses && $ses->{state}, 'awaiting_input', '... which asks');
like($ses ? $ses->{activities}[-1]{body} : '',
     qr/priority high; labels flaky; assignee Pam\./,
     '... proposing the labels the workspace uses and a skilled person');
my $task = made(api($carl, GET => "/api/v1/tasks/$new->{id}"), 'task');
is($task->{priority}, 'medium', '... applying nothing');
is_deeply(made(api($carl, GET => "/api/v1/tasks/$new->{id}/agent-sessions"),
               'sessions')->{items}[0]{id}, $ses && $ses->{id},
          '... and every member sees it on the task');
my $r = api($carl, POST => "/api/v1/agent-sessions/$ses->{id}/prompts",
            json => { body => 'yes' });
is($r->{status}, 200, 'a person accepts');
is(made(api($carl, GET => "/api/v1/tasks/$new->{id}"), 't')->{priority},
   'high', '... and it is applied');

my $sub = made(api($carl, POST => "/api/v1/projects/$pid/tasks",
                   json => { title => 'A step of it',
                             parent_id => $new->{id} }), 'subtask');
sleep 1.5;
is(scalar @{ sessions_of($sub->{id}) }, 0, 'a subtask is not triaged');
is(scalar @{ sessions_of($early->{id}) }, 0,
   'nor a task made before the project opted in');

my $coder = made(api($admin, POST => '/api/v1/agents',
                     json => { name => 'Coder', kind => 'external',
                               scopes => [ 'read', 'write' ] }), 'coder');
my $by_agent = made(api($coder->{token}, POST => "/api/v1/projects/$pid/tasks",
                        json => { title => 'Made by the coder' }),
                    'a task an agent made, with its token');
sleep 1.5;
is(scalar @{ sessions_of($by_agent->{id}) }, 0, 'nor a task an agent made');

# --- applied ---------------------------------------------------------------

made(api($admin, PATCH => $path, json => { triage => 'apply' }), 'apply');
my $auto = made(api($carl, POST => "/api/v1/projects/$pid/tasks",
                    json => { title => 'Checkout test flaps' }), 'task');
$ses = session_done($auto->{id});
is($ses && $ses->{state}, 'complete',
   'a project that says apply: the session completes');
like($ses ? $ses->{activities}[-1]{body} : '',
     qr/^Applied: priority high; labels flaky; assignee Pam\./,
     '... saying what it applied');
unlike(join(' ', map { $_->{body} } @{ $ses ? $ses->{activities} : [] }),
       qr/made-up/, '... the made-up label dropped');
$task = made(api($carl, GET => "/api/v1/tasks/$auto->{id}"), 'task');
is($task->{priority}, 'high', '... the priority set');
is_deeply($task->{labels}, [ 'flaky' ], '... the label');
is_deeply($task->{assignee_ids}, [ $pam->{id} ], '... Pam assigned');
is($dbh->selectrow_array(q{
       SELECT actor_id FROM activity_log
        WHERE entity_type = 'task' AND entity_id = ? AND action = 'updated'
        ORDER BY id DESC LIMIT 1}, undef, $auto->{id}), $tri->{id},
   '... as the agent, in the activity log');
sleep 1.5;
is(scalar @{ sessions_of($auto->{id}) }, 1,
   'the agent\'s own change opens no other session (no loop)');

# --- a call cut off by kill -9 ---------------------------------------------

my $asked = grep { $_->{path} =~ m{^/llm/} } $rcv->requests;
$rcv->mode('hang');
my $cut = made(api($carl, POST => "/api/v1/projects/$pid/tasks",
                   json => { title => 'Cut off mid-call' }), 'task');
ok($rcv->wait_for(sub { (grep { $_->{path} =~ m{^/llm/} } @_) > $asked }, 10),
   'the model is asked, and hangs');

my $npid = $t->pid;
sleep 0.3;              # the claim's due time reaches the catalog
system("kill -KILL $npid \$(pgrep -P $npid) 2>/dev/null");
until_true(sub { !IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port,
                                         Timeout => 1) }, 10);
$t->{running} = 0;
unlink $t->var . '/run/nginx.pid';
is($dbh->selectrow_array(q{SELECT state FROM agent_sessions
                            WHERE task_id = ?}, undef, $cut->{id}),
   'pending', 'nginx killed with -9 mid-call: the session is left pending');

$rcv->mode('content:' . JSON::XS->new->encode({
    priority => 'urgent', labels => [], assignee_id => undef,
    reason => 'It blocks the release.' }));
my $restarted = time;
$t->run;
$ses = session_done($cut->{id}, 20);
ok($ses && $ses->{state} eq 'complete',
   'after the restart, its lease lapsed, the call is made again');
cmp_ok(time - $restarted, '<', 15, '... within the lease and a sweep');
is(scalar(grep { $_->{type} eq 'response' } @{ $ses ? $ses->{activities}
                                                    : [] }), 1,
   '... and answered once');
is(made(api($carl, GET => "/api/v1/tasks/$cut->{id}"), 't')->{priority},
   'urgent', '... its answer applied');
is($dbh->selectrow_array(q{SELECT claims FROM agent_sessions
                            WHERE task_id = ?}, undef, $cut->{id}), 2,
   '... claimed twice in all');

# a session claimed three times with no answer ends clearly
my $dead = made(api($carl, POST => "/api/v1/projects/$pid/tasks",
                    json => { title => 'Never answered' }), 'task');
ok(session_done($dead->{id}), 'another session, answered');
$dbh->do(q{UPDATE agent_sessions SET state = 'pending', proposal = NULL,
                  claims = 3, claimed_at = now() - interval '1 hour'
            WHERE task_id = ?}, undef, $dead->{id});
$dbh->do(q{DELETE FROM agent_activities WHERE session_id IN (
               SELECT id FROM agent_sessions WHERE task_id = ?)},
         undef, $dead->{id});
made(api($carl, POST => "/api/v1/projects/$pid/tasks",
         json => { title => 'A write that steps the sweep' }), 'task');
$ses = session_done($dead->{id});
is($ses && $ses->{state}, 'error',
   'a session interrupted three times ends in error');
like($ses ? $ses->{activities}[-1]{body} : '', qr/interrupted three times/,
     '... which says so');

made(api($admin, PATCH => $path, json => { triage => 'off' }), 'triage off');

# --- the daily digest --------------------------------------------------------

problem_is(api($pam, PATCH => $path, json => { digest => JSON::XS::true }),
           422, 'validation_failed', 'a digest needs a digest agent');
my $dg = made(api($admin, POST => '/api/v1/agents',
                  json => { name => 'Digest', kind => 'builtin',
                            builtin => 'digest' }), 'digest agent');

problem_is(api($pam, GET => '/api/v1/agent-settings'), 403, 'forbidden',
           'the workspace\'s digest hour is the admins\'');
problem_is(api($admin, PATCH => '/api/v1/agent-settings',
               json => { digest_hour => 24 }), 422, 'validation_failed',
           'digest_hour is 0 to 23');
# a zone where it is about 10 in the morning now, so that the hour of
# noon is still ahead today whenever the test runs
my $utc_hour = (gmtime)[2];
my $off = 10 - $utc_hour;
$off += 24 if $off < -12;
$off -= 24 if $off > 14;
my $zone = $off == 0 ? 'Etc/GMT'                 # POSIX: the sign inverted
         : $off > 0 ? "Etc/GMT-$off" : 'Etc/GMT+' . -$off;
made(api($admin, PATCH => '/api/v1/workspace',
         json => { time_zone => $zone }), 'time zone');

my $local = int(time) + $off * 3600;
my $midnight = $local - $local % 86400 - $off * 3600;    # today's, in UTC

my $hour = made(api($admin, PATCH => '/api/v1/agent-settings',
                 json => { digest_hour => 12 }), 'hour');
is($hour->{time_zone}, $zone, 'the digest hour is in the workspace\'s zone');
$s = made(api($pam, PATCH => $path, json => { digest => JSON::XS::true }),
          'digest on');
ok($s->{digest} && $s->{digest_task_id},
   'opting in makes the task that carries the digests');
is(epoch($s->{next_digest_at}), $midnight + 12 * 3600,
   '... and the next digest is today at noon, local time')
    or diag($s->{next_digest_at});
sleep 2;
is($dbh->selectrow_array(q{SELECT count(*) FROM agent_sessions
                            WHERE opened_by = 'daily'}), 0,
   '... not before it');

$rcv->mode('content:' . JSON::XS->new->encode({
    summary => 'Five tasks were opened, one is urgent.',
    highlights => [ 'UN-6 blocks the release' ] }));
$s = made(api($pam, PATCH => $path, json => { digest => JSON::XS::true }),
          'digest on');
my $dtask = $s->{digest_task_id};
is(made(api($carl, GET => "/api/v1/tasks/$dtask"), 't')->{title},
   'Daily digest', 'the digests\' task');

# a second node reads the same due times
my $t2 = Kanban::Test->new(%conf)->run;

made(api($admin, PATCH => '/api/v1/agent-settings',
         json => { digest_hour => 0 }), 'the hour passed today');
$ses = session_done($dtask, 15);
is($ses && $ses->{opened_by}, 'daily', 'once the hour has passed, it comes');
is($ses && $ses->{state}, 'complete', '... complete');
my @comments = grep { $_->{author_id} eq $dg->{id} }
    @{ made(api($carl, GET => "/api/v1/tasks/$dtask/comments"),
            'comments')->{items} };
like($comments[0] && $comments[0]{body},
     qr/^Digest of the last day: Five tasks were opened/,
     '... as a comment by the digest agent');
$s = made(api($pam, GET => $path), 'settings');
my $today = $dbh->selectrow_array(q{SELECT workspace_today()::text});
is($s->{last_digest_on}, $today, '... for the workspace\'s today');
is(epoch($s->{next_digest_at}), $midnight + 86400,
   '... the next one tomorrow at local midnight');

# more writes, both nodes, a restart: still one a day
for (1 .. 5) {
    made(api($carl, POST => "/api/v1/projects/$pid/tasks",
             json => { title => "More work $_" }), 'task');
}
made(api($admin, PATCH => '/api/v1/agent-settings',
         json => { digest_hour => 0 }), 'the hour again');
$t->stop->run;
sleep 2;
is($dbh->selectrow_array(q{SELECT count(*) FROM agent_sessions
                            WHERE opened_by = 'daily'}), 1,
   'one digest session a day, whatever the nodes, writes and restarts');
is($dbh->selectrow_array(q{SELECT count(*) FROM agent_digest_days}), 1,
   '... keyed by project and day');

# tomorrow: the day's key is free again (the day before is as if past)
$dbh->do(q{UPDATE agent_digest_days SET local_day = local_day - 1});
made(api($carl, POST => "/api/v1/projects/$pid/tasks",
         json => { title => 'Next day' }), 'task');
ok(until_true(sub {
       $dbh->selectrow_array(q{SELECT count(*) FROM agent_sessions
                                WHERE opened_by = 'daily'}) == 2 }, 10),
   'the next day has its own digest');

$t2->stop;

$t->done_testing;
