#!/usr/bin/perl

# A read identical to one already sent waits for that one's answer and
# then goes, with every identical read that arrived meanwhile, as one
# statement (ngx_kanban_pg_asked in ngx_kanban_module/ngx_kanban_pg.c),
# even with idle connections beside it. One worker with three connections
# to the workspace's database: before, the second read took the second
# connection. Reads of anything else still take the idle ones; a read
# waiting so is not stranded when the one it waits for is cut; and reads
# racing writes show every write answered before them.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Kanban::ReadRace;

my $t = Kanban::Test->new(replace => { worker_processes => 1,
                                       kanban_pg_pool_size => 3 })->run;
my $ws = $t->workspace(prefix => 'askd');
my $admin = $ws->admin;
my $auth = { Authorization => "Bearer $admin->{token}" };

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}" unless $r->{status} =~ /^20[014]$/;
    return $r->{json};
}

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'ASK', name => 'Asked' }),
                   'project');
my $task = made($ws->api($admin,
                         POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'Asked once' }), 'task');
my $path = "/api/v1/tasks/$task->{id}";
made($ws->api($admin, GET => $path), 'read');     # kept, prepared

sub get { $t->send_req(GET => $_[0], host => $ws->slug, headers => $auth) }
sub shared { $t->metric('kanban_pg_shared_reads_total') // 0 }
sub waiting { $t->metric('kanban_pg_waiting') // 0 }

my $lock = $t->tenant_dbh($ws->slug);
my $watch = $t->tenant_dbh($ws->slug);

sub hold {
    $lock->begin_work;
    $lock->do('LOCK TABLE task_cache IN ACCESS EXCLUSIVE MODE');
}

# the worker's statements waiting on the lock, by backend
sub lock_waiters {
    return @{ $watch->selectcol_arrayref(
        "SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND pid <> pg_backend_pid()") };
}

# the pool's three connections opened and idle
my @warm = map { get('/api/v1/workspace') } 1 .. 3;
Kanban::Test::wait_all(\@warm, 10);

# --- a second identical read waits for the first's answer ----------------

my $before = shared();
hold();
my $sent = get($path);
ok(Kanban::Test::wait_until([$sent], sub { lock_waiters() == 1 }, 10),
   'a read is sent and waits on the lock');
my @asked = map { get($path) } 1 .. 4;
ok(Kanban::Test::wait_until([$sent, @asked], sub { waiting() == 1 }, 10),
   'four identical reads: one waits in the queue, three joined it');
Kanban::Test::wait_until([$sent, @asked], sub { 0 }, 0.5);
is(scalar(lock_waiters()), 1,
   '... none sent beside the first, with two connections idle');

my $other = made($ws->api($admin, GET => '/api/v1/workspace'), 'workspace');
ok($other->{slug}, 'another read takes an idle connection meanwhile');

$lock->commit;
Kanban::Test::wait_all([$sent, @asked], 30);
is_deeply([ map { $_->response->{status} } $sent, @asked ], [ (200) x 5 ],
          'all five answered 200');
is(scalar(grep { $_->response->{body} ne $sent->response->{body} } @asked),
   0, '... with the same task');
is(shared() - $before, 3,
   '... the waiting one by a statement of its own, sent after the first '
   . 'answered; the three that joined it by its result');

# --- the read waited for is cut ------------------------------------------

hold();
$sent = get($path);
ok(Kanban::Test::wait_until([$sent], sub { lock_waiters() == 1 }, 10),
   'a read waits on the lock');
my ($pid) = lock_waiters();
@asked = map { get($path) } 1 .. 2;
Kanban::Test::wait_until([$sent, @asked], sub { waiting() == 1 }, 10);
$watch->do('SELECT pg_terminate_backend(?)', undef, $pid);
Kanban::Test::wait_all([$sent], 10);
is($sent->response->{status}, 503, 'its backend terminated: 503');
ok(Kanban::Test::wait_until([@asked], sub { lock_waiters() == 1 }, 5),
   'the read waiting for it is sent at once on an idle connection');
my $t0 = time;
$lock->commit;
Kanban::Test::wait_all(\@asked, 30);
is_deeply([ map { $_->response->{status} } @asked ], [ 200, 200 ],
          '... and answered, with the one that joined it');
cmp_ok(time - $t0, '<', 2, '... as the lock goes, not at the queue timeout');

# --- reads racing writes -------------------------------------------------

$before = shared();
my @all = Kanban::ReadRace::run(t => $t, ws => $ws, auth => $auth,
    project => $project, tasks => 3, around => 5, after => 4);
is(scalar(grep { $_->response->{status} != 200 } @all), 0,
   '15 writes and 210 reads at once: all 200');
cmp_ok(shared() - $before, '>', 0,
       '... identical reads went together though connections were free');

$t->done_testing;
