#!/usr/bin/perl

# A worker's PostgreSQL connections are capped (kanban_pg_max_connections);
# at the cap, a database that has a connection of its own waits for it
# rather than close another database's idle one (ngx_kanban_pg.c). One
# worker, at most 4 connections, 4 a database: workspace A's reads are
# stuck on a lock and more keep coming; workspace B's connection stays,
# and B's reads are answered at once, on the same backend. Before, A's
# reads closed B's idle connection (and the catalog's) to open their own,
# all stuck, and B's next read waited for a slot until it timed out.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use Kanban::Test;

my $t = Kanban::Test->new(replace => { worker_processes => 1,
                                       kanban_pg_pool_size => 4,
                                       kanban_pg_max_connections => 4,
                                       kanban_pg_queue_timeout => '10s' })
                    ->run;
my $a = $t->workspace(prefix => 'capa');
my $b = $t->workspace(prefix => 'capb');
my $admin = $a->admin;

my $project = Kanban::Test::made($a->api($admin, POST => '/api/v1/projects',
    json => { key => 'CAP', name => 'Capped' }), 'project');
my @paths = map {
    my $task = Kanban::Test::made($a->api($admin,
        POST => "/api/v1/projects/$project->{id}/tasks",
        json => { title => "Task $_" }), 'task');
    "/api/v1/tasks/$task->{id}";
} 1 .. 5;
Kanban::Test::made($a->api($admin, GET => $_), 'read') for @paths;

sub b_read {
    my $t0 = time;
    my $r = $b->api(undef, GET => '/api/v1/workspace');
    return ($r->{status}, time - $t0);
}
is((b_read())[0], 200, 'B reads its workspace');

my $watch = $t->tenant_dbh($a->slug);
my $b_db = $t->db_name($b->slug);

sub b_backends {
    return join ',', @{ $watch->selectcol_arrayref(
        q{SELECT pid FROM pg_stat_activity
           WHERE datname = ? AND application_name = 'kanban-nginx'
           ORDER BY pid}, undef, $b_db) };
}

my $before = b_backends();
ok(length $before, "B has its connection ($before)");

# A's kept tasks held: every read of them waits in PostgreSQL
my $lock = $t->tenant_dbh($a->slug);
$lock->begin_work;
$lock->do('LOCK TABLE task_cache IN ACCESS EXCLUSIVE MODE');

my @stuck = map { $t->send_req(GET => $_, host => $a->slug,
    headers => { Authorization => "Bearer $admin->{token}" }) } @paths;
ok(Kanban::Test::wait_until(\@stuck,
       sub { ($t->metric('kanban_pg_waiting') // 0) >= 1 }, 10),
   'five reads of A: some wait in PostgreSQL, the rest for A\'s own '
   . 'connections');

my ($status, $took) = b_read();
is($status, 200, 'meanwhile B\'s read is answered');
cmp_ok($took, '<', 5, '... at once, not after a wait for a slot');
is(b_backends(), $before, '... on the same backend: B kept its connection');

$lock->rollback;
Kanban::Test::wait_all(\@stuck, 30);
is_deeply([ map { $_->response->{status} } @stuck ], [ (200) x 5 ],
          'the lock released, A\'s five reads are answered');

$t->done_testing;
