#!/usr/bin/perl

# The tenant cache refreshed ahead of its end (issue 12): a workspace read
# in the last quarter of its entry's ttl is looked up again in the
# background, so that a workspace in use never waits for the catalog after
# its first request; a change in the catalog still reaches requests within
# the ttl (and the refresh's own time), the plan's limits reach the
# workspace's database by the background copy, and an idle workspace is
# not refreshed at all.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use IO::Socket::UNIX;
use Kanban::Test qw(problem_is);

my $TTL = 4;                    # refreshed in its last second
my $t = Kanban::Test->new(ttl => "${TTL}s")->run;

my $ws = $t->workspace(prefix => 'refresh');
my $slug = $ws->slug;
my $cat = $t->catalog;

sub misses { $t->metric('kanban_tenant_lookups_total', result => 'miss') }
sub refreshes {
    my ($result) = @_;
    return $t->metric('kanban_tenant_refreshes_total', result => $result);
}

sub max_users {
    return $ws->dbh->selectrow_array('SELECT max_users FROM quota_limits');
}

sub read_ws {
    my ($host) = @_;
    my $at = time;
    my $r = $t->req(GET => '/api/v1/workspace', host => $host // $slug);
    $r->{took} = time - $at;
    return $r;
}

# A new entry for the host: left idle past its ttl, the next read looks it
# up (a miss); returns when that lookup was put, give or take its time.
sub fresh_entry {
    my ($host) = @_;
    sleep $TTL + 0.3;
    my $m = misses();
    my $r = read_ws($host);
    die "no lookup of $host" unless $r->{status} == 200 && misses() == $m + 1;
    return time;
}

ok(defined refreshes('done'),
   'kanban_tenant_refreshes_total{result="done"} is there');

# --- reads across several ttls: one lookup, then none ----------------------

fresh_entry($slug);
my $misses = misses();
my $done = refreshes('done');
my ($slow, $failed) = (0, 0);
my $end = time + 3.5 * $TTL;

while (time < $end) {
    my $r = read_ws();
    $failed++ unless $r->{status} == 200;
    $slow++ if $r->{took} > 0.5;
    sleep 0.3;
}

is($failed, 0, 'reads across 3.5 ttls: every one 200');

is(misses(), $misses, '... no request looked it up');
cmp_ok(refreshes('done') - $done, '>=', 3,
       '... the entry was refreshed in the background, once a ttl');
is($slow, 0, '... and no read was slow');

# --- the catalog held: a read near the end answers at once ----------------

my $put = fresh_entry($slug);
sleep $put + $TTL - 0.7 - time;             # in the entry's last second
$done = refreshes('done');
$misses = misses();

my $lock = $t->stack->dbh('kanban_catalog');
$lock->begin_work;
$lock->do('LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE');

my $r = read_ws();
is($r->{status}, 200, 'the catalog locked, a read in the last second: 200');
cmp_ok($r->{took}, '<', 0.5, '... at once (the refresh waits, not the read)');
sleep 0.5;
is(refreshes('done'), $done, '... the refresh is still waiting for the lock');

$lock->rollback;

for (1 .. 20) { last if refreshes('done') > $done; sleep 0.1 }
is(refreshes('done'), $done + 1, 'the lock gone, the refresh is put');
$r = read_ws();
is($r->{status}, 200, 'the next read: 200');
is(misses(), $misses, '... from the refreshed entry, no lookup of its own');

# --- many workspaces' refreshes: one statement a worker -------------------

# five workspaces read together in their entries' last second, the catalog
# held: their refreshes wait as at most one statement in each of the two
# workers, not one each
my @five = map { $t->signup(prefix => "many$_") } 1 .. 5;
sleep $TTL + 0.3;
read_ws($_) for @five;                       # five lookups, put together
$put = time;
sleep $put + $TTL - 0.8 - time;
$done = refreshes('done');

$lock = $t->stack->dbh('kanban_catalog');
$lock->begin_work;
$lock->do('LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE');

my $took = 0;
for (@five) {
    $r = read_ws($_);
    $took = $r->{took} if $r->{took} > $took;
}
cmp_ok($took, '<', 0.5, 'five workspaces read in their last second, at once');
sleep 0.4;                                   # the batch's gathering, over

my ($waiting) = $cat->selectrow_array(
    q{SELECT count(*) FROM pg_stat_activity
       WHERE datname = 'kanban_catalog' AND wait_event_type = 'Lock'
         AND query LIKE '%FROM tenants%WHERE slug =%'});
cmp_ok($waiting, '>=', 1, 'their refreshes wait for the catalog ...');
cmp_ok($waiting, '<=', 2, "... as $waiting statement(s), one a worker at most");

$lock->rollback;
for (1 .. 30) { last if refreshes('done') >= $done + 5; sleep 0.1 }
is(refreshes('done'), $done + 5, 'the lock gone, all five are put');

# --- limits unchanged: the workspace's database is not asked --------------

# the limits' table held in the workspace's database: a refresh whose
# limits are the entry's sends nothing there (a copy would wait)
my $tdb = $ws->dbh;
fresh_entry($slug);
$put = time;
sleep $put + $TTL - 0.8 - time;
$done = refreshes('done');
$tdb->begin_work;
$tdb->do('LOCK TABLE quota_limits IN SHARE MODE');

is(read_ws()->{status}, 200, 'a read in the last second, the limits held');
for (1 .. 20) { last if refreshes('done') > $done; sleep 0.1 }
is(refreshes('done'), $done + 1, '... the entry is refreshed');
sleep 0.3;
my ($copying) = $cat->selectrow_array(
    q{SELECT count(*) FROM pg_stat_activity
       WHERE datname = ? AND query LIKE '%quota_limits_set%'
         AND wait_event_type = 'Lock'}, undef, $t->db_name($slug));
is($copying, 0, '... and its unchanged limits are not copied');
$tdb->rollback;

# --- a copy that fails forgets the entry ----------------------------------

# a new limit whose copy fails (the function away for a moment): the
# entry is forgotten, so that the next read looks it up and copies anew
fresh_entry($slug);
$put = time;
$tdb->do('ALTER FUNCTION quota_limits_set(text, int, bigint, int) '
         . 'RENAME TO quota_limits_set_away');
$cat->do(q{UPDATE tenants SET max_users = 11 WHERE slug = ?}, undef, $slug);
sleep $put + $TTL - 0.8 - time;
$done = refreshes('done');
$misses = misses();
is(read_ws()->{status}, 200, 'a new limit, its copy failing: the read 200');
for (1 .. 20) { last if refreshes('done') > $done; sleep 0.1 }
sleep 0.3;
$tdb->do('ALTER FUNCTION quota_limits_set_away(text, int, bigint, int) '
         . 'RENAME TO quota_limits_set');
is(read_ws()->{status}, 200, 'the next read: 200');
is(misses(), $misses + 1, '... looked up by the request, the entry forgotten');
is(max_users(), 11, '... which copied the new limit');
$cat->do(q{UPDATE tenants SET max_users = NULL WHERE slug = ?}, undef,
         $slug);

# --- a suspension reaches requests within the ttl -------------------------

$cat->do(q{UPDATE tenants SET status = 'suspended' WHERE slug = ?},
         undef, $slug);
my $at = time;
my $seen;

while (time < $at + 2 * $TTL) {
    $r = read_ws();
    if ($r->{status} == 403) {
        $seen = time - $at;
        last;
    }
    sleep 0.2;
}

ok(defined $seen, 'suspended: requests see it');
cmp_ok($seen // 99, '<=', $TTL + 0.5, '... within the ttl');
problem_is(read_ws(), 403, 'tenant_suspended', '... and keep seeing it');

$cat->do(q{UPDATE tenants SET status = 'active' WHERE slug = ?},
         undef, $slug);
sleep $TTL + 0.5;
is(read_ws()->{status}, 200, 'active again: 200');

# --- a plan's limit reaches the workspace's database in the background ----

# reads keep the entry in use; none of them looks it up itself
fresh_entry($slug);
$misses = misses();
$cat->do(q{UPDATE tenants SET max_users = 7 WHERE slug = ?}, undef, $slug);
$at = time;
$seen = undef;

while (time < $at + 2 * $TTL) {
    read_ws();
    if ((max_users() // 0) == 7) {
        $seen = time - $at;
        last;
    }
    sleep 0.2;
}

ok(defined $seen, 'a new max_users reaches the workspace\'s database');
cmp_ok($seen // 99, '<=', $TTL + 0.5, '... within the ttl');
is(misses(), $misses, '... copied by the background refresh, no request\'s');

$cat->do(q{UPDATE tenants SET max_users = NULL WHERE slug = ?}, undef,
         $slug);

# --- a forget while a request's lookup is out ----------------------------

# a read's own lookup held by a lock on the catalog; meanwhile the
# workspace changes (kanbanctl publishes the slug, as a move does, and
# every node forgets it): the lookup's answer may predate the change, and
# is not kept. The next read looks the workspace up again.
sub publish {
    my ($channel) = @_;
    my $s = IO::Socket::UNIX->new(Peer => $t->stack->run . '/redis.sock')
        or die "redis: $!";
    print $s sprintf("*3\r\n\$7\r\nPUBLISH\r\n\$%d\r\n%s\r\n\$1\r\n1\r\n",
                     length $channel, $channel);
    my $answer = <$s>;
    return $answer;
}

sleep $TTL + 0.3;                            # the entry gone
$misses = misses();
$lock = $t->stack->dbh('kanban_catalog');
$lock->begin_work;
$lock->do('LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE');
my $held = $t->send_req(GET => '/api/v1/workspace', host => $slug);
Kanban::Test::wait_until([$held], sub { 0 }, 0.5);
is(misses(), $misses + 1, 'a read looks the workspace up, held by the lock');
like(publish("kanban:tenant:$slug"), qr/^:\d+/,
     'meanwhile the workspace is published as changed');
sleep 0.3;
$lock->rollback;
Kanban::Test::wait_all([$held], 10);
is($held->response->{status}, 200, 'the lock gone, the held read: 200');
is(read_ws()->{status}, 200, 'the next read: 200');
is(misses(), $misses + 2,
   '... looked up again: the held lookup\'s answer, older than the '
   . 'change, was not kept');

# --- an idle workspace is not refreshed ----------------------------------

my $idle = $t->signup(prefix => 'idle');
fresh_entry($idle);
my %before = map { $_ => refreshes($_) } qw(done failed late);
$misses = misses();

sleep 3 * $TTL;

is_deeply({ map { $_ => refreshes($_) } qw(done failed late) }, \%before,
          'an idle workspace: no refresh in 3 ttls');
is(read_ws($idle)->{status}, 200, 'its next read: 200');
is(misses(), $misses + 1, '... looked up by the request, as before');

$t->done_testing;
