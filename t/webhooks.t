#!/usr/bin/perl

# Webhooks, over the real nginx, PostgreSQL and Redis, to a receiver that
# is a real HTTP server on loopback (allowed here by
# kanban_webhooks_allow_private): admins only; the secret shown once and
# stored sealed; every event type arrives, as the stream has it, signed
# with the secret; retries after 500s and after a timeout keep the
# delivery's id; a redirect is not followed; a slow receiver delays
# neither the write nor another receiver; nginx stopped with deliveries
# pending loses none, and sends one again only with its id.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made problem_is);
use Kanban::Clock qw(today days_from);
use Kanban::Receiver;

my $JSON = $Kanban::Test::JSON;

my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_webhooks_allow_private on;
kanban_webhooks_timeout 1500ms;
kanban_webhooks_backoff 300ms;
kanban_webhooks_sweep 1s;
kanban_webhooks_concurrency 2;
EOF

my $ws = $t->workspace(prefix => 'hook');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $rcv = Kanban::Receiver->new;

sub api { $ws->api(@_) }

# waits until $cond holds, or $timeout seconds
sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + $timeout;
    until ($cond->()) {
        return 0 if time > $deadline;
        sleep 0.1;
    }
    return 1;
}

my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');
my $alpha = $ws->team('Alpha', $pam, $carl);

# --- who may, and what is valid ----------------------------------------------

for my $who ([ $carl, 'a contributor' ], [ $pam, 'a project manager' ]) {
    my $r = api($who->[0], POST => '/api/v1/webhooks',
                json => { url => $rcv->url('/ok/x'), events => ['*'] });
    is($r->{status}, 403, "$who->[1] may not make a webhook");
    is(api($who->[0], GET => '/api/v1/webhooks')->{status}, 403,
       "$who->[1] may not list them");
}

problem_is(api($admin, POST => '/api/v1/webhooks',
               json => { events => ['*'] }), 422, 'validation_failed',
           'a URL is required');
problem_is(api($admin, POST => '/api/v1/webhooks',
               json => { url => 'ftp://example.com/x', events => ['*'] }),
           422, 'validation_failed', 'ftp is no webhook');
problem_is(api($admin, POST => '/api/v1/webhooks',
               json => { url => 'http://user:pw@example.com/', events => ['*'] }),
           422, 'validation_failed', 'no user or password in the URL');
problem_is(api($admin, POST => '/api/v1/webhooks',
               json => { url => $rcv->url('/ok/x'), events => ['task.exploded'] }),
           422, 'validation_failed', 'an unknown event type');
problem_is(api($admin, POST => '/api/v1/webhooks',
               json => { url => $rcv->url('/ok/x'), events => [] }),
           422, 'validation_failed', 'no events');
problem_is(api($admin, POST => '/api/v1/webhooks',
               json => { url => $rcv->url('/ok/x'), events => ['*'],
                         secret => 'short' }),
           422, 'validation_failed', 'a secret of 16 characters at least');

# --- CRUD ----------------------------------------------------------------------

my $r = api($admin, POST => '/api/v1/webhooks',
            json => { url => $rcv->url('/ok/all'), events => ['*'] });
is($r->{status}, 201, 'an admin makes a webhook');
my $all = $r->{json};
like($all->{secret}, qr/^whsec_[0-9a-f]{48}$/, 'its secret, drawn, shown once');
is($r->{headers}{location}, "/api/v1/webhooks/$all->{id}", 'its Location');
is_deeply($all->{events}, ['*'], 'its events');
ok($all->{enabled}, 'enabled');

my ($stored) = $dbh->selectrow_array(
    'SELECT secret FROM webhooks WHERE id = ?', undef, $all->{id});
like($stored, qr/^v1:/, 'the secret is stored sealed');
unlike($stored, qr/\Q$all->{secret}\E/, '... not as it is');

my $list = api($admin, GET => '/api/v1/webhooks')->{json}{items};
is(scalar @$list, 1, 'listed');
ok(!exists $list->[0]{secret}, 'no secret in the list');
ok(!exists api($admin, GET => "/api/v1/webhooks/$all->{id}")->{json}{secret},
   'nor in one');

my $tmp = made(api($admin, POST => '/api/v1/webhooks',
                   json => { url => $rcv->url('/ok/tmp'),
                             events => ['task.created', 'task.moved'],
                             secret => 'a secret of my own choosing' }),
               'webhook');
is($tmp->{secret}, 'a secret of my own choosing', 'a secret given is kept');
$r = api($admin, PATCH => "/api/v1/webhooks/$tmp->{id}",
         json => { events => ['task.updated'], enabled => JSON::XS::false });
is($r->{status}, 200, 'PATCH');
is_deeply($r->{json}{events}, ['task.updated'], '... new events');
ok(!$r->{json}{enabled}, '... disabled');
is($r->{json}{disabled_reason}, 'disabled by an admin', '... and why');
problem_is(api($admin, PATCH => "/api/v1/webhooks/$tmp->{id}",
               json => { events => ['nope'] }), 422, 'validation_failed',
           'PATCH validates the events');
is(api($carl, DELETE => "/api/v1/webhooks/$tmp->{id}")->{status}, 403,
   'a contributor may not delete one');
is(api($admin, DELETE => "/api/v1/webhooks/$tmp->{id}")->{status}, 204,
   'an admin deletes one');
is(api($admin, GET => "/api/v1/webhooks/$tmp->{id}")->{status}, 404,
   '... gone');
is(api($admin, PATCH => "/api/v1/webhooks/$tmp->{id}",
       json => { enabled => JSON::XS::true })->{status}, 404,
   'PATCH of a gone one: 404');

# --- a ping ----------------------------------------------------------------------------

$r = api($admin, POST => "/api/v1/webhooks/$all->{id}/test");
is($r->{status}, 202, 'a ping is queued');
my ($ping) = $rcv->wait_for(sub { grep { ($_->{headers}{'x-kanban-event'} // '')
                                         eq 'ping' } @_ }, 5);
ok($ping, 'the ping arrives');
is($ping && $ping->{headers}{'x-kanban-delivery'}, $r->{json}{id},
   '... with its delivery id');
ok($ping && Kanban::Receiver->signed($ping, $all->{secret}),
   '... signed with the secret');
like($ping && $ping->{headers}{'user-agent'}, qr{^kanban-webhooks/},
     '... by kanban-webhooks');
is($ping && $ping->{headers}{'content-type'}, 'application/json',
   '... as JSON');

# --- every type, with the stream's data -------------------------------------

my $project = made(api($admin, POST => '/api/v1/projects',
                       json => { key => 'HOOK', name => 'Hooks',
                                 team_id => $alpha->{id} }), 'project');
my %col = map { $_->{category} => $_ }
          @{ api($admin, GET => "/api/v1/projects/$project->{id}/columns")
             ->{json}{items} };
my $task = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                    json => { title => 'Hook me', column_id => $col{todo}{id},
                              assignee_ids => [ $carl->{id} ] }), 'task');
made(api($admin, PATCH => "/api/v1/tasks/$task->{id}",
         json => { priority => 'high' }), 'task.updated');
made(api($admin, PATCH => "/api/v1/tasks/$task->{id}/move",
         json => { column_id => $col{in_progress}{id} }), 'task.moved');
made(api($admin, POST => "/api/v1/tasks/$task->{id}/comments",
         json => { body => 'Have a look' }), 'comment.created');
made(api($admin, POST => "/api/v1/projects/$project->{id}/milestones",
         json => { name => 'Beta',
                   due_date => days_from(today(), 30) }), 'milestone');
made(api($admin, PATCH => "/api/v1/projects/$project->{id}",
         json => { status => 'active' }), 'project.updated');
my $gone = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                    json => { title => 'Short-lived' }), 'task');
is(api($admin, DELETE => "/api/v1/tasks/$gone->{id}")->{status}, 204,
   'task.deleted');
made(api($carl, POST => '/api/v1/timesheets/entries',
         json => { date => '2026-11-16', minutes => 60,
                   task_id => $task->{id} }), 'entry');
made(api($carl, POST => '/api/v1/timesheets/weekly/submit',
         json => { week => '2026-W47' }), 'timesheet.submitted');
made(api($pam, POST => '/api/v1/timesheets/weekly/approve',
         json => { week => '2026-W47', user_id => $carl->{id} }),
     'timesheet.approved');
my $link = made(api($admin, POST => '/api/v1/share-links',
                    json => { task_id => $task->{id} }), 'share link');
is($t->req(GET => "/s/$link->{code}", host => $slug)->{status}, 302,
   'a visit of a share link');
my $other = made(api($admin, POST => '/api/v1/projects',
                     json => { key => 'GONE', name => 'Gone' }), 'project');
is(api($admin, DELETE => "/api/v1/projects/$other->{id}")->{status}, 204,
   'project.deleted');

# the visit is stored within a second (kanban_share_flush)
wait_for(sub { $dbh->selectrow_array(
    "SELECT count(*) FROM events WHERE type = 'share_link.visited'") }, 5);

# what the stream has for an admin: every event but the notifications
my $events = $dbh->selectall_arrayref(
    "SELECT id, type, data::text FROM events
      WHERE readers IS NULL OR admins ORDER BY id", { Slice => {} });
my %want = map { $_->{id} => $_ } @$events;
my @got = $rcv->wait_for(sub {
    my @r = grep { $_->{path} eq '/ok/all' && $_->{json}{event_id} } @_;
    my %seen = map { $_->{json}{event_id} => 1 } @r;
    return (grep { !$seen{$_} } keys %want) ? () : @r;
}, 15);
ok(@got, 'every event of the log reached the receiver')
    or diag explain [ map { $_->{json}{type} } $rcv->requests ];

my %types = map { $_->{headers}{'x-kanban-event'} => 1 } @got;
is_deeply([ sort keys %types ],
          [ sort qw(project.created project.updated project.deleted
                    task.created task.updated task.moved task.deleted
                    comment.created milestone.updated timesheet.submitted
                    timesheet.approved share_link.visited) ],
          'every type arrived');

my ($bad_sig, $bad_data, $bad_head) = (0, 0, 0);
for my $g (@got) {
    my $e = $want{ $g->{json}{event_id} } or next;
    $bad_sig++ unless Kanban::Receiver->signed($g, $all->{secret});
    $bad_data++ unless $JSON->canonical->encode($g->{json}{data})
        eq $JSON->canonical->encode($JSON->decode($e->{data}));
    $bad_head++ unless $g->{headers}{'x-kanban-event'} eq $e->{type}
        && $g->{json}{type} eq $e->{type}
        && $g->{headers}{'x-kanban-delivery'} eq $g->{json}{id};
}
is($bad_sig, 0, 'every signature verifies with the secret');
is($bad_data, 0, 'every body carries the event\'s data, as the stream has it');
is($bad_head, 0, 'X-Kanban-Event and X-Kanban-Delivery match the body');
ok(!grep({ ($_->{json}{type} // '') eq 'notification.created' } @got),
   'no one\'s notifications leave by webhook');
ok(!Kanban::Receiver->signed($got[0], 'another secret'),
   'another secret does not verify');

my $deliveries = api($admin, GET => "/api/v1/webhooks/$all->{id}/deliveries");
is($deliveries->{status}, 200, 'the deliveries list');
my ($d0) = grep { $_->{status} eq 'delivered' } @{ $deliveries->{json}{items} };
ok($d0 && $d0->{response_code} == 200 && defined $d0->{response_ms}
   && $d0->{attempts} == 1 && !defined $d0->{next_attempt_at},
   '... status, response code, timing, attempts') or diag explain $d0;

api($admin, DELETE => "/api/v1/webhooks/$all->{id}");

# --- retries after 500s, after a timeout, and no redirects ----------------------

my $flaky = made(api($admin, POST => '/api/v1/webhooks',
                     json => { url => $rcv->url('/flaky/2/a'),
                               events => ['task.created'] }), 'flaky');
my $stall = made(api($admin, POST => '/api/v1/webhooks',
                     json => { url => $rcv->url('/stall/3/a'),
                               events => ['task.created'] }), 'stall');
my $redir = made(api($admin, POST => '/api/v1/webhooks',
                     json => { url => $rcv->url('/redirect/a'),
                               events => ['task.created'] }), 'redirect');
my $t1 = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                  json => { title => 'Retry me' }), 'task');

my @flaky = $rcv->wait_for(sub {
    my @r = grep { $_->{path} eq '/flaky/2/a' } @_;
    @r >= 3 ? @r : () }, 10);
is(scalar @flaky, 3, 'after two 500s, a third attempt');
is(scalar(keys %{{ map { $_->{headers}{'x-kanban-delivery'} => 1 } @flaky }}),
   1, '... the same delivery id each time');
is_deeply([ map { $_->{headers}{'x-kanban-attempt'} } @flaky ], [1, 2, 3],
          '... numbered');
ok(@flaky == 3 && $flaky[2]{body} eq $flaky[0]{body}, '... the same body');
note(join " ", map { sprintf "%.3f", $_->{at} - $flaky[0]{at} } @flaky);
# the waits: 300 ms, then 600 ms, each give or take a quarter
ok(@flaky == 3 && $flaky[1]{at} - $flaky[0]{at} >= 0.22
   && $flaky[2]{at} - $flaky[1]{at} >= 0.44, '... backing off');

my @stall = $rcv->wait_for(sub {
    my @r = grep { $_->{path} eq '/stall/3/a' } @_;
    @r >= 2 ? @r : () }, 10);
is(scalar @stall, 2, 'a timed-out attempt is tried again');
is($stall[0]{headers}{'x-kanban-delivery'},
   $stall[1] && $stall[1]{headers}{'x-kanban-delivery'}, '... same id');

sub deliveries {
    my ($hook) = @_;
    return api($admin, GET => "/api/v1/webhooks/$hook->{id}/deliveries")
        ->{json}{items};
}

sub settled {
    my ($hook, $n) = @_;
    my $deadline = time + 10;
    my $items;
    while (time < $deadline) {
        $items = deliveries($hook);
        last if @$items >= $n && !grep { $_->{status} eq 'pending'
                                          && $_->{attempts} > 0 } @$items;
        sleep 0.2;
    }
    return $items;
}

my ($fd) = @{ settled($flaky, 1) };
is($fd->{status}, 'delivered', 'the flaky one: delivered');
is($fd->{attempts}, 3, '... in 3 attempts');
is($fd->{response_code}, 200, '... 200 at last');
my ($sd) = @{ settled($stall, 1) };
is($sd->{status}, 'delivered', 'the stalled one: delivered');
is($sd->{attempts}, 2, '... in 2 attempts');

my $rd;
wait_for(sub { ($rd) = @{ deliveries($redir) };
                     $rd && $rd->{response_code} }, 5);
is($rd && $rd->{response_code}, 302, 'a redirect is an answer, not followed');
is($rd && $rd->{status}, 'pending', '... and no success: tried again');
ok(!grep({ $_->{path} eq '/ok/redirected' } $rcv->requests),
   '... its Location never visited');

api($admin, DELETE => "/api/v1/webhooks/$_->{id}") for $flaky, $stall, $redir;

for (['delivered', 'a 2xx'], ['rejected', 'another answer'],
     ['unreachable', 'no answer in time'])
{
    cmp_ok($t->metric('kanban_webhook_attempts_total', result => $_->[0]) // 0,
           '>', 0, "/metrics counts attempts answered by $_->[1]");
}

# --- a slow receiver holds up no write and no other receiver ----------------------

my $slow = made(api($admin, POST => '/api/v1/webhooks',
                    json => { url => $rcv->url('/slow/2/a'),
                              events => ['task.created'] }), 'slow');
my $fast = made(api($admin, POST => '/api/v1/webhooks',
                    json => { url => $rcv->url('/ok/fast'),
                              events => ['task.created'] }), 'fast');
sleep 0.5;

my ($worst, @ids) = (0);
my $start = time;
for my $i (1 .. 6) {
    my $t0 = time;
    my $task = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                        json => { title => "Slow $i" }), 'task');
    $worst = time - $t0 if time - $t0 > $worst;
    push @ids, $task->{id};
}
cmp_ok($worst, '<', 0.5, 'no write waits for a slow receiver');

my @fast = $rcv->wait_for(sub {
    my @r = grep { $_->{path} eq '/ok/fast' } @_;
    @r >= 6 ? @r : () }, 10);
is(scalar @fast, 6, 'the fast receiver has every event');
cmp_ok(($fast[-1]{at} // 99) - $start, '<', 1.9,
       '... before the slow one has answered even one');
# by delivery: on a loaded box an attempt the worker gave up on (a
# connect that timed out) may still reach the receiver beside its retry
sub delivery_of { $_[0]{headers}{'x-kanban-delivery'} // '' }
my @slow = $rcv->wait_for(sub {
    my @r = grep { $_->{path} eq '/slow/2/a' } @_;
    my %d = map { delivery_of($_) => 1 } @r;
    keys %d >= 6 ? @r : () }, 30);         # 2 s each: a loaded box is slow
my %slow = map { delivery_of($_) => 1 } @slow;
is(scalar keys %slow, 6, 'the slow one gets them all too');

# 2 a worker at once (kanban_webhooks_concurrency, two workers): the 5th
# and 6th deliveries are sent only once one of the first four is over,
# answered (2 s) or given up (kanban_webhooks_timeout, 1.5 s). Arrival
# times at the receiver say so from below: a loaded box delays arrivals,
# and an attempt given up may still arrive, but nothing arrives before it
# is sent.
my %first;
for (@slow) {
    my $d = delivery_of($_);
    $first{$d} = $_->{at} if !defined $first{$d} || $_->{at} < $first{$d};
}
my @first = sort { $a <=> $b } values %first;
cmp_ok($first[4] - $first[0], '>=', 1.0,
       '... at most 4 at once (2 a worker): the 5th waits for a slot ('
       . sprintf('%.2f s', $first[4] - $first[0]) . ')');

api($admin, DELETE => "/api/v1/webhooks/$_->{id}") for $slow, $fast;

# --- nginx stopped with deliveries pending: none lost, none twice but by id ----------

my $stop = made(api($admin, POST => '/api/v1/webhooks',
                    json => { url => $rcv->url('/slow/0.5/stop'),
                              events => ['task.created'] }), 'stop');
my @made;
for my $i (1 .. 12) {
    push @made, made(api($admin, POST =>
        "/api/v1/projects/$project->{id}/tasks",
        json => { title => "Restart $i" }), 'task')->{id};
}
sleep 0.3;                       # some in flight, most queued
$t->stop;
my $pending = $dbh->selectrow_array(
    "SELECT count(*) FROM webhook_deliveries
      WHERE webhook_id = ? AND status = 'pending'", undef, $stop->{id});
cmp_ok($pending, '>', 0, "nginx stopped with $pending deliveries pending");
$t->run;

my $stop_ids;
wait_for(sub {
    $stop_ids = $dbh->selectall_arrayref(
        "SELECT id, status FROM webhook_deliveries WHERE webhook_id = ?",
        { Slice => {} }, $stop->{id});
    !grep { $_->{status} ne 'delivered' } @$stop_ids }, 25);
is(scalar(grep { $_->{status} eq 'delivered' } @$stop_ids), 12,
   'after the restart every delivery is delivered');

my %by_id;
$by_id{ $_->{headers}{'x-kanban-delivery'} }++
    for grep { $_->{path} eq '/slow/0.5/stop' } $rcv->requests;
is_deeply([ sort keys %by_id ], [ sort map { $_->{id} } @$stop_ids ],
          'the receiver has each of them, by its delivery id');
my %tasks = map { $_->{json}{data}{id} => 1 }
            grep { $_->{path} eq '/slow/0.5/stop' } $rcv->requests;
is_deeply([ sort keys %tasks ], [ sort @made ], '... one for each task');
my $twice = grep { $_ > 1 } values %by_id;
note("$twice sent again after the restart (at least once, same id)");

# a reload with deliveries in flight
@made = ();
for my $i (1 .. 6) {
    push @made, made(api($admin, POST =>
        "/api/v1/projects/$project->{id}/tasks",
        json => { title => "Reload $i" }), 'task')->{id};
}
kill 'HUP', $t->pid;
wait_for(sub {
    my %seen = map { $_->{json}{data}{id} => 1 }
               grep { $_->{path} eq '/slow/0.5/stop' } $rcv->requests;
    !grep { !$seen{$_} } @made }, 25);
my %seen = map { $_->{json}{data}{id} => 1 }
           grep { $_->{path} eq '/slow/0.5/stop' } $rcv->requests;
is(scalar(grep { $seen{$_} } @made), 6, 'a reload loses none either');

$rcv->stop;

$t->done_testing;
