#!/usr/bin/perl

# A worker never blocks: while workspace A's queries wait on a lock in A's
# database, requests for workspace B, /health and a plain nginx location are
# answered; once the lock goes, A's requests complete too.  Ordering is
# asserted, not time.

use strict;
use warnings;

use Test::More;
use Kanban::Test;

my $t = Kanban::Test->new(tenant => <<'EOF_CONF')->run;
location = /t-plain { return 200 'plain'; }
EOF_CONF

my ($A, $B) = map { $t->signup(prefix => 'nb') } 1 .. 2;

# Warm: both workspaces cached, both pools with connections.
for (1 .. 8) {
    $t->req(GET => '/api/v1/workspace', host => $_) for $A, $B;
}

my $monitor = $t->stack->dbh('postgres');
sub lock_waiters {
    my ($db) = @_;
    my ($n) = $monitor->selectrow_array(q{
        SELECT count(*) FROM pg_stat_activity
         WHERE datname = ? AND wait_event_type = 'Lock'}, undef, $db);
    return $n;
}

my $lock = $t->tenant_dbh($A);
$lock->begin_work;
$lock->do('LOCK TABLE workspace_kept IN ACCESS EXCLUSIVE MODE');   # what GET /api/v1/workspace reads (098)

# Four, so that with a worker that blocks both workers would be stuck on
# one each; not more, so that none waits in the pool's queue (3 s) and
# times out while we look.
my @blocked = map { $t->send_req(GET => '/api/v1/workspace', host => $A) }
              1 .. 4;

my $db_a = $t->db_name($A);
ok(Kanban::Test::wait_until(\@blocked, sub { lock_waiters($db_a) >= 1 }, 10),
   "A's queries reached PostgreSQL and wait on the lock");
Kanban::Test::wait_until(\@blocked, sub { lock_waiters($db_a) >= 2 }, 2);
ok(!grep({ $_->done } @blocked), "A's requests are pending");

my @free = (
    $t->send_req(GET => '/api/v1/workspace', host => $B),
    $t->send_req(GET => '/health'),
    $t->send_req(GET => '/t-plain', host => $B),
    $t->send_req(GET => '/api/v1/workspace', host => $B),
);
my $answered = Kanban::Test::wait_until([@free, @blocked],
                                        sub { !grep { !$_->done } @free }, 10);
my $a_done = grep { $_->done } @blocked;

ok($answered, 'B, /health and a plain location are answered meanwhile');
is($a_done, 0, "... before any of A's");

my $r = $free[0]->response;
is($r->{status}, 200, "B's workspace: 200") or diag($r->{body});
is($r->{json}{slug}, $B, "B's workspace: B");
is($free[1]->response->{status}, 200, '/health: 200');
is($free[2]->response->{body}, 'plain', 'the plain location');

# One after another, still while A waits.
my @statuses;
for (1 .. 10) {
    my $c = $t->send_req(GET => '/api/v1/workspace', host => $B);
    Kanban::Test::wait_until([$c, @blocked], sub { $c->done }, 10);
    push @statuses, $c->response->{status};
}
is("@statuses", join(' ', (200) x 10), '10 more requests for B meanwhile');
is(scalar(grep { $_->done } @blocked), 0, "A's still pending");
is(lock_waiters($db_a) >= 1, 1, '... and its queries still waiting');

$lock->commit;

ok(Kanban::Test::wait_all(\@blocked, 15),
   "the lock released, A's requests complete");
for my $c (@blocked) {
    my $r = $c->response;
    ok($r->{status} == 200 && ($r->{json}{slug} // '') eq $A,
       "A's request: 200, workspace A") or diag("$r->{status} $r->{body}");
}

Kanban::Test->done_testing;
