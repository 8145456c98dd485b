#!/usr/bin/perl

# The operators' live event stream (GET /api/v1/platform/events), read as
# a browser's EventSource reads it: a sign-up's provisioning job and the
# workspace it creates, a suspend and resume, a delete and restore, a job
# written by another process (kanbanctl's way: straight into the
# catalog), two streams at once, a job's progress on two nodes within a
# fraction of a second (LISTEN/NOTIFY), Last-Event-ID resuming with
# nothing lost or repeated, a reset for an id the log does not have, heartbeats, the
# stream's end with its session, and who may not open it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);
use Kanban::Operator;
use Kanban::SSE;

my $t = Kanban::Test->new(http => 'kanban_platform_events heartbeat=1s;')
                    ->run;
my $catalog = $t->catalog;
my $op = Kanban::Operator->new($t);
my $port = $t->port;

sub stream {
    my (%o) = @_;
    my $token = exists $o{token} ? delete $o{token} : $op->token;
    return Kanban::SSE->open($t, 'localhost', $token,
                             path => '/api/v1/platform/events',
                             host_header => "localhost:$port", %o);
}

# events of this file's workspaces only: other files share the catalog
sub about {
    my ($slug, $type) = @_;
    return sub {
        my ($e) = @_;
        return ($e->{event} // '') eq $type
            && ref $e->{data} eq 'HASH'
            && (($e->{data}{workspace} // $e->{data}{slug} // '') eq $slug);
    };
}

# The first event of a stream that satisfies $cond, whether it came
# already (while the test waited for another: one transaction's events
# come in commit order, not in the test's) or comes within 10 s.
my %kept;
sub wait_event {
    my ($s, $cond, $what) = @_;
    my $kept = $kept{$s} //= [];
    my ($i) = grep { $cond->($kept->[$_]) } 0 .. $#$kept;
    my $e;
    if (defined $i) {
        $e = splice @$kept, $i, 1;
    } else {
        my @got = $s->until($cond, 10);
        $e = pop @got if @got && $cond->($got[-1]);
        push @$kept, @got;
    }
    ok($e, $what) or diag(explain([map { "$_->{id} $_->{event}" } @$kept]));
    return $e // {};
}

# --- the stream opens -----------------------------------------------------------

my $s = stream();
is($s->status, 200, 'an operator opens the stream');
like($s->headers->{'content-type'}, qr{^text/event-stream}, '... events');
is($s->headers->{'cache-control'}, 'no-store', '... never cached');
is($s->headers->{'x-accel-buffering'}, 'no', '... nor buffered by a proxy');
my $second = stream();
is($second->status, 200, 'a second stream beside it');

# --- a sign-up: its job and the workspace -------------------------------------

my $ws = $t->workspace(prefix => 'opev');
my $slug = $ws->slug;

my $job = wait_event($s, sub {
    about($slug, 'job.updated')->($_[0])
        && $_[0]{data}{state} eq 'succeeded'
}, "a sign-up's provisioning job reaches the stream, succeeded");
is($job->{data}{kind}, 'provision', '... a provision job');
is($job->{data}{progress}, 100, '... all the way');
ok($job->{id} > 0, '... with its id');

my $created = wait_event($s, about($slug, 'workspace.created'),
                         'the workspace created');
is($created->{data}{status}, 'active', '... active');
ok($created->{id} > $job->{id} || $created->{id} < $job->{id},
   '... an event of its own');

my $two = wait_event($second, about($slug, 'workspace.created'),
                     'the second stream gets it too');
is($two->{id}, $created->{id}, '... the same event');

# --- suspend, resume -----------------------------------------------------------

my $t0 = time;
my $r = $op->api(PATCH => "/api/v1/platform/workspaces/$slug",
                 json => { status => 'suspended' });
is($r->{status}, 200, 'an operator suspends it') or diag($r->{body});
my $e = wait_event($s, about($slug, 'workspace.updated'),
                   'the suspension reaches the stream');
is($e->{data}{status}, 'suspended', '... suspended');
cmp_ok(time - $t0, '<', 3, '... within a poll');
my $suspended_id = $e->{id};

$r = $op->api(PATCH => "/api/v1/platform/workspaces/$slug",
              json => { status => 'active',
                        limits => { max_users => 7 } });
is($r->{status}, 200, 'resumed, with a limit') or diag($r->{body});
$e = wait_event($s, about($slug, 'workspace.updated'), 'the resume');
is($e->{data}{status}, 'active', '... active');
is($e->{data}{limits}{max_users}, 7, '... with its limit');
my $resumed_id = $e->{id};
cmp_ok($resumed_id, '>', $suspended_id, 'ids rise');

# --- delete, restore: the workspace and its job ---------------------------------

$r = $op->api(DELETE => "/api/v1/platform/workspaces/$slug");
is($r->{status}, 200, 'deleted') or diag($r->{body});
$e = wait_event($s, about($slug, 'workspace.updated'), 'the deletion');
is($e->{data}{status}, 'deleting', '... deleting');
$e = wait_event($second, sub {
    about($slug, 'job.updated')->($_[0]) && $_[0]{data}{kind} eq 'delete'
}, '... and its job, on the other stream');
is($e->{data}{state}, 'running', '... running through the grace period');

$r = $op->api(POST => "/api/v1/platform/workspaces/$slug/restore");
is($r->{status}, 200, 'restored') or diag($r->{body});
$e = wait_event($s, about($slug, 'workspace.updated'), 'the restore');
is($e->{data}{status}, 'active', '... active again');
$e = wait_event($s, sub {
    about($slug, 'job.updated')->($_[0]) && $_[0]{data}{kind} eq 'delete'
        && $_[0]{data}{finished_at}
}, "the deletion's job ends");
is($e->{data}{state}, 'failed', '... failed: the contract has no cancelled');
like($e->{data}{error}, qr/restor/i, '... saying it was restored');
is($e->{data}{result}{cancelled_by}, 'restore', '... cancelled by the restore');

# --- a job written by another process --------------------------------------------

my ($id) = $catalog->selectrow_array(
    "INSERT INTO jobs (kind, workspace, requested_by)
     VALUES ('export', ?, 'kanbanctl') RETURNING id", undef, $slug);
$e = wait_event($s, sub {
    ($_[0]{event} // '') eq 'job.updated' && $_[0]{data}{id} eq $id
}, "a job kanbanctl queued reaches the stream");
is($e->{data}{state}, 'queued', '... queued');
$catalog->do("UPDATE jobs SET state = 'running', progress = 40,
                     started_at = now() WHERE id = ?", undef, $id);
$e = wait_event($s, sub {
    ($_[0]{event} // '') eq 'job.updated' && $_[0]{data}{id} eq $id
}, '... and its progress');
is($e->{data}{progress}, 40, '... 40 %');
my $progress_id = $e->{id};

# --- resuming ---------------------------------------------------------------------

$s->close;
$catalog->do("UPDATE jobs SET state = 'succeeded', progress = 100,
                     finished_at = now() WHERE id = ?", undef, $id);
$catalog->do("UPDATE tenants SET name = 'Renamed while away' WHERE slug = ?",
             undef, $slug);

my $back = stream(last_event_id => $progress_id);
is($back->status, 200, 'a stream resumes with Last-Event-ID');
my @missed = $back->until(about($slug, 'workspace.updated'), 10);
my @mine = grep { about($slug, 'job.updated')->($_) && $_->{data}{id} eq $id
                  || about($slug, 'workspace.updated')->($_) } @missed;
is_deeply([map { $_->{event} } @mine], ['job.updated', 'workspace.updated'],
          '... with what it missed, in order') or diag(explain(\@missed));
is($mine[0]{data}{state}, 'succeeded', '... the job done');
is($mine[1]{data}{name}, 'Renamed while away', '... the new name');
ok(!grep({ $_->{id} <= $progress_id } @missed), '... and nothing it had');
my @ids = map { $_->{id} } @missed;
is_deeply(\@ids, [sort { $a <=> $b } @ids], '... in the order of the ids');

my $q = stream(query => "last_event_id=$progress_id");
my @again = $q->until(about($slug, 'workspace.updated'), 10);
is(scalar(grep { about($slug, 'workspace.updated')->($_) } @again), 1,
   '?last_event_id= resumes too (EventSource cannot set headers)');
$q->close;

my $future = stream(last_event_id => 999_999_999);
my ($reset) = $future->next(1, 5);
is($reset->{event}, 'reset', 'an id the log never had: reset');
ok(defined $reset->{data}{last_event_id}, '... with where to go on from');
is($reset->{id}, $reset->{data}{last_event_id}, '... as its own id');
$future->close;

# --- heartbeats -----------------------------------------------------------------------

# (other files' workspaces may make events meanwhile: a heartbeat comes
# after a second without any)
my $beat = stream();
my $until = time + 8;
$beat->quiet(0.5) while $beat->comments < 1 && time < $until;
cmp_ok($beat->comments, '>=', 1, 'a quiet stream gets heartbeats');
$beat->close;

# --- the end with the session -----------------------------------------------------

my $brief = Kanban::Operator->new($t);
$catalog->do("UPDATE operator_sessions SET expires_at = now() + interval '2 s'
               WHERE operator_id = (SELECT id FROM operators WHERE email = ?)",
             undef, $brief->email);
my $ending = stream(token => $brief->token);
is($ending->status, 200, "a stream on a session about to expire");
ok($ending->wait_closed(6), '... ends when the session does');
ok($ending->ended, '... cleanly (the last chunk)');
problem_is(stream(token => $brief->token)->response, 401, 'unauthorized',
           '... and the expired session opens none');

# --- the end with its operator's sign-out ------------------------------------------------

my $leaving = Kanban::Operator->new($t);
my $open = stream(token => $leaving->token);
is($open->status, 200, 'a stream of an operator who is about to sign out');
is($leaving->api(POST => '/api/v1/platform/auth/logout')->{status}, 204,
   '... signs out');
ok($open->wait_closed(5), '... and the stream ends with the session');
ok($open->ended, '... cleanly (the last chunk)');

# --- a job's progress on every node at once --------------------------------------------

# A second node; a stream on each. A job's progress written straight into
# the catalog (kanbanctl's way) reaches both as the catalog notifies its
# commit, not at the streams' next read of the log (once a second before).
my $t2 = Kanban::Test->new(http => 'kanban_platform_events heartbeat=1s;')
                     ->run;
my $port2 = $t2->port;
my @on = (stream(),
          Kanban::SSE->open($t2, 'localhost', $op->token,
                            path => '/api/v1/platform/events',
                            host_header => "localhost:$port2"));
is($on[1]->status, 200, 'a stream on a second node');
sleep 0.5;      # each worker's LISTEN taken

my ($watched) = $catalog->selectrow_array(
    "INSERT INTO jobs (kind, workspace, requested_by, state, started_at)
     VALUES ('export', ?, 'kanbanctl', 'running', now()) RETURNING id",
    undef, $slug);
my @lag;
for my $progress (map { $_ * 20 } 1 .. 5) {
    sleep 0.2 + rand 0.6;   # anywhere within a second of the last
    my $t0 = time;
    $catalog->do('UPDATE jobs SET progress = ? WHERE id = ?', undef,
                 $progress, $watched);
    my %at;
    my $mine = sub { ($_[0]{event} // '') eq 'job.updated'
                     && $_[0]{data}{id} eq $watched
                     && $_[0]{data}{progress} == $progress };
    while (keys %at < 2 && time - $t0 < 5) {
        for my $i (0, 1) {
            next if $at{$i};
            my @got = $on[$i]->until($mine, 0.01);
            $at{$i} = time - $t0 if @got && $mine->($got[-1]);
        }
    }
    is(scalar keys %at, 2, "progress $progress % on both nodes");
    push @lag, values %at;
}
@lag = sort { $a <=> $b } @lag;
my $median = $lag[ int(@lag / 2) ];
diag(sprintf 'a job\'s progress on the streams of two nodes, from the '
     . 'UPDATE sent: median %.0f ms, at most %.0f ms (10 arrivals)', $median * 1000,
     $lag[-1] * 1000);
cmp_ok($median, '<', 0.3, '... at once: the median under 300 ms (a read '
       . 'a second gave some 500)');
cmp_ok($lag[-1], '<', 1, '... every one within a second');
$_->close for @on;
$t2->stop;

# --- who may not ------------------------------------------------------------------------

problem_is(stream(token => undef)->response, 401, 'unauthorized',
           'no session: 401');
my $admin = $ws->admin;
problem_is(stream(token => $admin->{token})->response, 401, 'unauthorized',
           "a workspace's token is no operator's: 401");
problem_is(Kanban::SSE->open($t, $slug, $op->token,
                             path => '/api/v1/platform/events')->response,
           401, 'unauthorized',
           "an operator's token is no token on a workspace's host");
problem_is(stream(last_event_id => 'yesterday')->response, 400,
           'bad_request', 'a Last-Event-ID that is no id: 400');

$second->close;

done_testing;
