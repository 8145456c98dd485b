#!/usr/bin/perl

# Shared reads (ngx_kanban_module/ngx_kanban_pg_share.c): identical reads
# of a hot statement (a task, a board, the projects, the workspace) that
# wait for a connection are answered by one statement. One worker with
# one connection to the workspace's database, so that reads wait while a
# test's lock holds it. Each read gets the whole answer; a read already
# sent is never joined; a read whose client leaves hands its place to the
# next (waiting, or on its connection); reads racing writes always show
# every write answered before them.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use Kanban::Test;
use Kanban::ReadRace;
use DBD::Pg qw(:async);

my $t = Kanban::Test->new(replace => { worker_processes => 1,
                                       kanban_pg_pool_size => 1 })->run;
my $ws = $t->workspace(prefix => 'shrd');
my $admin = $ws->admin;
my $auth = { Authorization => "Bearer $admin->{token}" };

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}" unless $r->{status} =~ /^20[014]$/;
    return $r->{json};
}

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'SHR', name => 'Shared' }),
                   'project');
my $task = made($ws->api($admin,
                         POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'Before' }), 'task');
my $path = "/api/v1/tasks/$task->{id}";
made($ws->api($admin, GET => $path), 'read');     # kept, prepared

sub get { $t->send_req(GET => $_[0], host => $ws->slug, headers => $auth) }
sub shared { $t->metric('kanban_pg_shared_reads_total') // 0 }

# the test's connection holds task_cache until released: statements that
# read it wait in PostgreSQL, holding the worker's one connection
my $lock = $t->tenant_dbh($ws->slug);
my $lock2 = $t->tenant_dbh($ws->slug);
my $watch = $t->tenant_dbh($ws->slug);

sub hold {
    my ($dbh) = @_;
    $dbh->begin_work;
    $dbh->do('LOCK TABLE task_cache IN ACCESS EXCLUSIVE MODE');
}

# statements of the worker waiting on a lock
sub lock_waits {
    my ($n) = $watch->selectrow_array(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND pid <> pg_backend_pid()");
    return $n;
}

# --- one statement for reads that wait together --------------------------

my $before = shared();
hold($lock);
my $sent = get($path);                              # on the connection
ok(Kanban::Test::wait_until([$sent], sub { lock_waits() == 1 }, 10),
   'a read holds the one connection, waiting on the lock');
my @waiting = map { get($path) } 1 .. 6;            # one waits, 5 join it
ok(Kanban::Test::wait_until([$sent, @waiting],
       sub { ($t->metric('kanban_pg_waiting') // 0) == 1 }, 10),
   'six identical reads: one waits for the connection');
$lock->rollback;
Kanban::Test::wait_all([$sent, @waiting], 30);
is_deeply([ map { $_->response->{status} } $sent, @waiting ], [ (200) x 7 ],
          'all seven answered 200');
is(scalar(grep { $_->response->{body} ne $sent->response->{body} } @waiting),
   0, '... with the same task');
is($waiting[-1]->response->{headers}{etag}, $sent->response->{headers}{etag},
   '... and ETag');
is(shared() - $before, 5,
   'five were answered with the waiting one\'s result, none with the one '
   . 'already sent');

# --- a read that leaves --------------------------------------------------

# the waiting one leaves: the next takes its place in the queue
$before = shared();
hold($lock);
$sent = get($path);
Kanban::Test::wait_until([$sent], sub { lock_waits() == 1 }, 10);
@waiting = map { get($path) } 1 .. 4;
Kanban::Test::wait_until([$sent, @waiting],
    sub { ($t->metric('kanban_pg_waiting') // 0) == 1 }, 10);
$waiting[0]->close;
Kanban::Test::wait_until([$sent, @waiting[1 .. 3]],
    sub { 0 }, 0.3);
$lock->rollback;
Kanban::Test::wait_all([$sent, @waiting[1 .. 3]], 30);
is_deeply([ map { $_->response->{status} } $sent, @waiting[1 .. 3] ],
          [ (200) x 4 ], 'the waiting read left: the three that joined it '
                         . 'are answered');
is(shared() - $before, 2, '... two of them by the one that took its place');

# the one on the connection leaves: the next answer is its follower's.
# $lock holds the table; $lock2 queues behind the first read, so that the
# second, once sent, waits in PostgreSQL with its followers.
$before = shared();
hold($lock);
$sent = get($path);
Kanban::Test::wait_until([$sent], sub { lock_waits() == 1 }, 10);
@waiting = map { get($path) } 1 .. 4;
Kanban::Test::wait_until([$sent, @waiting],
    sub { ($t->metric('kanban_pg_waiting') // 0) == 1 }, 10);
my $queued_lock = $lock2->begin_work && $lock2->do(
    'LOCK TABLE task_cache IN ACCESS EXCLUSIVE MODE', { pg_async => PG_ASYNC });
ok(Kanban::Test::wait_until([$sent, @waiting], sub { lock_waits() == 2 }, 10),
   'a second lock waits behind the read');
$lock->rollback;
$lock2->pg_result;
ok(Kanban::Test::wait_until([$sent, @waiting],
       sub { $sent->done && lock_waits() == 1 }, 10),
   'the first read answered, the next is sent and waits');
$waiting[0]->close;
Kanban::Test::wait_until([$sent, @waiting[1 .. 3]], sub { 0 }, 0.3);
$lock2->rollback;
Kanban::Test::wait_all([@waiting[1 .. 3]], 30);
is_deeply([ map { $_->response->{status} } @waiting[1 .. 3] ], [ (200) x 3 ],
          'the read on the connection left: its followers are answered');
is(shared() - $before, 2, '... the first with its statement\'s result');

# --- reads racing writes -------------------------------------------------

$before = shared();
my @all = Kanban::ReadRace::run(t => $t, ws => $ws, auth => $auth,
    project => $project, tasks => 4, around => 4, after => 3);
is(scalar(grep { $_->response->{status} != 200 } @all), 0,
   '20 writes and 220 reads at once: all 200');
cmp_ok(shared() - $before, '>', 0, '... and reads were shared');

# --- the other shared reads ----------------------------------------------

for my $read ("/api/v1/projects/$project->{id}/kanban", '/api/v1/projects',
              "/api/v1/projects/$project->{id}", '/api/v1/workspace')
{
    my $alone = made($ws->api($admin, GET => $read), $read);
    # the writes above woke the workspace's background steps (the
    # console's figures among them): on a pool of one they would queue
    # beside the three reads, so they finish first
    sleep 2.5;
    Kanban::Test::wait_until([], sub {
        !$t->catalog->selectrow_array(
            'SELECT count(*) FROM sweep_due WHERE slug = ?', undef, $ws->slug)
        && ($t->metric('kanban_pg_waiting') // 0) == 0 }, 10);
    $before = shared();
    hold($lock);
    $sent = get($path);
    Kanban::Test::wait_until([$sent], sub { lock_waits() == 1 }, 10);
    @waiting = map { get($read) } 1 .. 3;
    Kanban::Test::wait_until([$sent, @waiting],
        sub { ($t->metric('kanban_pg_waiting') // 0) == 1 }, 10);
    $lock->rollback;
    Kanban::Test::wait_all([$sent, @waiting], 30);
    is_deeply([ map { $_->response->{json} } @waiting ], [ ($alone) x 3 ],
              "GET $read: three waiting together get what one alone gets");
    is(shared() - $before, 2, '... from one statement');
}

$t->done_testing;
