#!/usr/bin/perl

# Cluster-wide rate limits (kanban_limit_zone ... redis=on): two nginx on
# one Redis hold a client that alternates between them to the limit
# (within 10%), where each alone would let it have the limit twice. With
# Redis gone mid-run each nginx keeps its local limit (fail open), or the
# stricter fallback rate of a zone that has one (fail closed), without
# waiting on Redis; with Redis back the limit is cluster-wide again.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);

my $N = 30;

# Rates per hour: the buckets do not refill while the test runs.
my $http = <<'HTTP';
kanban_limit_zone  zone=c:1m rate=30r/h redis=on;
kanban_limit_zone  zone=l:1m rate=30r/h;
kanban_limit_zone  zone=f:1m rate=30r/h redis=on fallback=5r/h;
HTTP
my $tenant = <<'TENANT';
location /t-c/ { kanban_limit zone=c key=$http_x_client; root @VAR@/www; }
location /t-l/ { kanban_limit zone=l key=$http_x_client; root @VAR@/www; }
location /t-f/ { kanban_limit zone=f key=$http_x_client; root @VAR@/www; }
TENANT

# A stack of this file's own: Redis is stopped and started again.
my $stack = Kanban::Test::Stack->private;
my @nginx = map { Kanban::Test->new(stack => $stack, http => $http,
                                    tenant => $tenant) } 1 .. 2;
for my $t (@nginx) {
    for my $dir (qw(t-c t-l t-f)) {
        mkdir $t->var . '/www';
        mkdir $t->var . "/www/$dir";
        Kanban::Test::write_file($t->var . "/www/$dir/f.txt", "ok\n");
    }
    $t->run;
}

my $slug = $nginx[0]->signup(prefix => 'rlc');
my $slowest = 0;

sub hit {
    my ($i, $zone, $client) = @_;
    my $r = $nginx[$i]->req(GET => "/t-$zone/f.txt", host => $slug,
                            headers => { 'X-Client' => $client });
    $slowest = $r->{elapsed} if ($r->{elapsed} // 0) > $slowest;
    return $r;
}

# n requests, one to each nginx in turn: (passed at each, statuses).
sub alternate {
    my ($zone, $client, $n) = @_;
    my (@passed, %status) = (0, 0);
    for my $k (0 .. $n - 1) {
        my $r = hit($k % 2, $zone, $client);
        $status{ $r->{status} }++;
        $passed[$k % 2]++ if $r->{status} == 200;
    }
    return (\@passed, \%status);
}

sub total { my $s = 0; $s += $_ for @{ $_[0] }; $s }

sub statuses { join ' ', map { "$_ x$_[0]{$_}" } sort keys %{ $_[0] } }

sub redis_cli {
    my @args = map { "'$_'" } @_;
    my $out = `env -u LD_PRELOAD redis-cli -s '${\ $stack->run}/redis.sock' --raw @args 2>&1`;
    return split /\n/, $out;
}

# Both nginx, both workers: Redis up (1) or down (0) as they see it.
sub redis_seen {
    my ($up) = @_;
    my $deadline = time + 15;
    while (time < $deadline) {
        return 1 unless grep { ($_->metric('kanban_redis_up') // -1) != $up }
                        @nginx;
        sleep 0.2;
    }
    return 0;
}

# Each nginx alone: the limit at each, twice the limit in all.

my ($passed, $status) = alternate('l', 'local', 2 * $N + 20);
is("@$passed", "$N $N", "a local zone: $N at each nginx")
    or diag(statuses($status));

# Cluster-wide: the limit in all, within 10%.

($passed, $status) = alternate('c', 'alt', 2 * $N + 20);
my $total = total($passed);
cmp_ok($total, '>=', $N, "cluster-wide: at least the limit ($total)");
cmp_ok($total, '<=', $N * 1.1, "... and at most 10% over, of 80 requests "
                                . "alternating between two nginx");
is(join(' ', sort keys %$status), '200 429', '... the others refused')
    or diag(statuses($status));

my $r = hit(0, 'c', 'alt');
problem_is($r, 429, 'rate_limited', 'a refusal of the cluster-wide limit');
like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/, '... Retry-After');
is($r->{headers}{'ratelimit-limit'}, $N, '... RateLimit-Limit');
is($r->{headers}{'ratelimit-remaining'}, 0, '... none remaining');
like($r->{headers}{'ratelimit-reset'} // '', qr/^\d+$/, '... RateLimit-Reset');

# Redis holds what passed, per fixed window, to expire.
my @keys = redis_cli('KEYS', 'kanban:rl:{c:alt}:*');
ok(@keys >= 1 && @keys <= 2, 'Redis counts the key per window')
    or diag("@keys");
my $counted = 0;
$counted += (redis_cli('GET', $_))[0] // 0 for @keys;
is($counted, $total, "... every request that passed, once ($counted)");
my @ttl = map { (redis_cli('PTTL', $_))[0] // -2 } @keys;
is(scalar(grep { $_ <= 0 || $_ > 2 * 3600_000 + 1000 } @ttl), 0,
   '... to expire after the window after it') or diag("@ttl");

# Batched: a key has one count in flight from a node at a time; the hits
# that pass meanwhile go as one INCRBY when its reply comes. Redis held
# still for a moment: the first hit's count waits in it, the next nine
# pass without waiting and are sent together after it, and Redis ends
# with all ten.

redis_cli('CONFIG', 'RESETSTAT');
redis_cli('CLIENT', 'PAUSE', 700, 'ALL');
my $batch_start = time;
my $batched = 0;
for (1 .. 10) {
    $batched++ if hit(0, 'c', 'batch')->{status} == 200;
}
my $batch_took = time - $batch_start;
is($batched, 10, 'Redis held still: ten hits of one key pass');
cmp_ok($batch_took, '<', 0.6, sprintf('... without waiting for it '
                                      . '(%.3f s)', $batch_took));
my $in_redis = 0;
my $deadline = time + 5;
while (time < $deadline) {
    $in_redis = (redis_cli('GET', (redis_cli('KEYS', 'kanban:rl:{c:batch}:*'))[0]
                                  // 'none'))[0] // 0;
    last if $in_redis == 10;
    sleep 0.1;
}
is($in_redis, 10, '... and Redis counts all ten once it answers');
my ($evals) = map { /calls=(\d+)/ ? $1 : () }
              grep { /^cmdstat_eval:/ } redis_cli('INFO', 'commandstats');
cmp_ok($evals // 0, '<=', 3, '... in two or three counts, not ten ('
                             . ($evals // 0) . ')');

# A fallback rate does not apply while Redis is up.

my @s = map { hit(0, 'f', 'f-up')->{status} } 1 .. $N + 10;
is(scalar(grep { $_ == 200 } @s), $N,
   "a zone with a fallback: $N while Redis is up");

# Mid-run, Redis goes.

($passed) = alternate('c', 'mid', 20);
is("@$passed", '10 10', 'mid-run: 20 pass with Redis up');
my ($fpassed) = alternate('f', 'fmid', 10);
is("@$fpassed", '5 5', '... and 10 on the zone with a fallback');

$stack->stop_redis;
ok(redis_seen(0), 'Redis stopped: both nginx see it');
$slowest = 0;

my ($more, $st) = alternate('c', 'mid', 2 * $N + 20);
is(join(' ', map { $passed->[$_] + $more->[$_] } 0, 1), "$N $N",
   "Redis down: the local limit holds at each nginx ($N at each, "
   . "@$passed of them before)") or diag(statuses($st));

($more) = alternate('f', 'fmid', 4);
is("@$more", '0 0', 'a fallback zone knows what came just before: '
                    . '5 in the hour already, none now');

($more) = alternate('c', 'down-c', 2 * $N + 20);
is("@$more", "$N $N", 'a new client: the local limit, fail open');

($more, $st) = alternate('f', 'down-f', 2 * $N);
is("@$more", '5 5', 'on a fallback zone: the fallback rate, fail closed')
    or diag(statuses($st));

cmp_ok($slowest, '<', 1, sprintf('no request waited on Redis '
                                 . '(slowest %.3f s)', $slowest));

# Redis comes back: cluster-wide again.

$stack->start;
ok(redis_seen(1), 'Redis back: both nginx see it');
sleep 1.5;      # every worker reconnects within its heartbeat

($passed, $status) = alternate('c', 'back', 2 * $N + 20);
$total = total($passed);
ok($total >= $N && $total <= $N * 1.1,
   "Redis back: the limit is cluster-wide again ($total)")
    or diag(statuses($status));

Kanban::Test->done_testing;
