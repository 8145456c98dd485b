#!/usr/bin/perl

# Many workspaces (make scale; alone: bash t/run t/scale/workspaces.pl).
#
# A private stack with two PostgreSQL clusters and one nginx (the shipped
# configuration: 2 workers, kanban_pg_pool_size 4, kanban_pg_max_connections
# 32 a worker). The catalog is filled to SCALE_CATALOG workspaces (10,000):
# SCALE_WORKSPACES (1,000) signed up through the API, SCALE_PARALLEL at a
# time, each timed (the client's view: claim, CREATE DATABASE from the
# template, argon2id, the admin, activation); the rest are catalog rows
# only (suspended, no database: 10,000 databases of some 8 MB would not fit
# this machine's disk), there so that placement and lookups run against a
# catalog of that size. Then all the real ones are active at once:
# SCALE_INFLIGHT (50) requests in flight, each for a workspace picked at
# random, for SCALE_SECONDS (10), while PostgreSQL's connections from nginx
# are counted every 100 ms on both servers. Memory: the workers' RSS
# before the workspaces were touched and after, per workspace.
#
# Before the sign-ups, kanbanctl spares makes SCALE_SPARES (100) spare
# databases a server: the first sign-ups take one, the rest create their
# database; the two are timed apart. nginx keeps SCALE_REFILL (4) a
# server meanwhile (kanban_spare_databases), making them in the
# background as they are taken.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;

my $CATALOG = $ENV{SCALE_CATALOG} // 10_000;
my $N = $ENV{SCALE_WORKSPACES} // 1_000;
my $PARALLEL = $ENV{SCALE_PARALLEL} // 4;
my $INFLIGHT = $ENV{SCALE_INFLIGHT} // 50;
my $SECONDS = $ENV{SCALE_SECONDS} // 10;
my $SPARES = $ENV{SCALE_SPARES} // 100;
my $REFILL = $ENV{SCALE_REFILL} // 4;   # kanban_spare_databases
my $WORKERS = 2;
my $CAP = 32;           # kanban_pg_max_connections, a worker

my $stack = Kanban::Test::Stack->private;
$stack->server_start('pg2');

# notice: each sign-up's steps are in the log (below)
my $t = Kanban::Test->new(stack => $stack, ttl => '10s', log_level => 'notice',
                          spares => $REFILL)
    ->run;
my $catalog = $t->catalog;

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[ int($p / 100 * $#v + 0.5) ];
}

sub workers_rss_kb {
    my $master = $t->pid;
    my $kb = 0;
    for my $status (glob '/proc/[0-9]*/status') {
        open my $fh, '<', $status or next;
        my %f = map { /^(\w+):\s*(.*)$/ ? ($1, $2) : () } <$fh>;
        next unless ($f{PPid} // '') eq $master;
        $kb += ($f{VmRSS} // '0') =~ /(\d+)/ ? $1 : 0;
    }
    return $kb;
}

sub pg_connections {
    my $n = 0;
    for my $dbh (@_) {
        $n += $dbh->selectrow_array(
            "SELECT count(*) FROM pg_stat_activity"
            . " WHERE application_name = 'kanban-nginx'");
    }
    return $n;
}

my @servers = ($stack->dbh('postgres'),
               $stack->dbh('postgres', "host=$stack->{run} "
                                       . "port=$stack->{servers}{pg2}"));

# --- the catalog's rows without databases -------------------------------------------------

my $rows = $CATALOG - $N;
if ($rows > 0) {
    $catalog->do(q{
        INSERT INTO tenants (id, slug, name, status, db_name, server)
        SELECT gen_random_uuid(), 'idle-' || i, 'Idle ' || i, 'suspended',
               'kanban_t_idle_' || i,
               CASE WHEN i % 2 = 0 THEN 'default' ELSE 'pg2' END
          FROM generate_series(1, ?) i}, undef, $rows);
}

# --- spare databases, then sign-ups ------------------------------------------------------

my $spares_t0 = time;
$stack->ctl("spares $SPARES") if $SPARES;
my $spares_s = time - $spares_t0;

my (@slugs, @took, %took, @failed, @inflight);
my $sent = 0;
my $t0 = time;
while (@slugs + @failed < $N) {
    while (@inflight < $PARALLEL && $sent < $N) {
        my $slug = sprintf 'scale-%05d', ++$sent;
        push @inflight, [ $slug, $t->send_req(POST => '/api/v1/tenants',
            json => { slug => $slug, name => "Scale $sent",
                      admin => { email => "admin\@$slug.example",
                                 password => 'correct horse battery staple',
                                 name => 'Ada Admin' } }) ];
    }
    Kanban::Test::pump([ map { $_->[1] } @inflight ], 0.05);
    for (grep { $_->[1]->done } @inflight) {
        my $r = $_->[1]->response;
        if ($r->{status} == 201) {
            push @slugs, $_->[0];
            push @took, $r->{elapsed} * 1000;
            $took{ $_->[0] } = $r->{elapsed} * 1000;
        } else {
            push @failed, "$r->{status} $r->{body}";
        }
    }
    @inflight = grep { !$_->[1]->done } @inflight;
}
my $signup_s = time - $t0;

is(scalar @failed, 0, "$N workspaces signed up, $PARALLEL at a time, in "
                      . sprintf('%.0f s', $signup_s))
    or diag($failed[0]);
my ($total) = $catalog->selectrow_array('SELECT count(*) FROM tenants');
is($total, $CATALOG, "$CATALOG workspaces in the catalog");
my $placed = $catalog->selectall_arrayref(
    "SELECT server, count(*) FROM tenants WHERE slug LIKE 'scale-%'"
    . ' GROUP BY server ORDER BY server');
my %placed = map { @$_ } @$placed;
ok(abs(($placed{default} // 0) - ($placed{pg2} // 0)) <= $PARALLEL,
   "... placed evenly: $placed{default} on default, $placed{pg2} on pg2");

my %spare = map { $_->[0] => 1 } @{ $catalog->selectall_arrayref(
    "SELECT slug FROM tenants WHERE slug LIKE 'scale-%'"
    . " AND db_name LIKE 'kanban_s_%'") };
my @with = map { $took{$_} } grep { $spare{$_} } @slugs;
my @without = map { $took{$_} } grep { !$spare{$_} } @slugs;
cmp_ok(scalar @with, '>=', 2 * $SPARES,
       'every spare made ahead was taken by a sign-up, and '
       . (@with - 2 * $SPARES) . ' that nginx made meanwhile');

my %fig = (
    signup_p50 => pct(50, @took), signup_p99 => pct(99, @took),
    signup_rate => $N / $signup_s,
    spare_p50 => @with ? pct(50, @with) : 0,
    spare_p99 => @with ? pct(99, @with) : 0,
    create_p50 => @without ? pct(50, @without) : 0,
    create_p99 => @without ? pct(99, @without) : 0,
    spares_each => $SPARES ? $spares_s * 1000 / (2 * $SPARES) : 0,
);

# where a sign-up's time goes, from nginx's account of each (the step's
# end from the request's start; the hash runs beside the claim)
my (%step);
for (split /\n/, Kanban::Test::read_file($t->var . '/log/error.log')) {
    next unless /workspace "scale-\d+" created in (\d+) ms \(claimed at (\d+), password hashed at (\d+), database (\w+) at (\d+), admin made at (\d+)\)/;
    my $k = $4 eq 'spare' ? 'spare' : 'create';
    push @{ $step{$k}{total} }, $1;
    push @{ $step{$k}{claim} }, $2;
    push @{ $step{$k}{hash} }, $3;
    push @{ $step{$k}{database} }, $5;
    push @{ $step{$k}{admin} }, $6;
}
for my $k (sort keys %step) {
    my $s = $step{$k};
    my $line = sprintf "sign-ups with a %s database (%d), nginx's account, "
        . "p50 (p99) ms from the start: claimed %d (%d), hashed %d (%d), "
        . "database %d (%d), admin made %d (%d), activated %d (%d)",
        $k, scalar @{ $s->{total} },
        map { (pct(50, @{ $s->{$_} }), pct(99, @{ $s->{$_} })) }
            qw(claim hash database admin total);
    diag($line);
    $fig{"steps_$k"} = $line;
}

# --- all of them active at once ------------------------------------------------------------

my $rss0 = workers_rss_kb();

my %token;
@inflight = ();
my @queue = @slugs;
while (@queue || @inflight) {
    while (@inflight < 8 && @queue) {
        my $slug = shift @queue;
        push @inflight, [ $slug, $t->send_req(POST => '/api/v1/auth/login',
            host => $slug, json => { email => "admin\@$slug.example",
                                     password => 'correct horse battery staple' }) ];
    }
    Kanban::Test::pump([ map { $_->[1] } @inflight ], 0.05);
    for (grep { $_->[1]->done } @inflight) {
        my $r = $_->[1]->response;
        $token{ $_->[0] } = $r->{json}{access_token} if $r->{status} == 200;
    }
    @inflight = grep { !$_->[1]->done } @inflight;
}
is(scalar keys %token, scalar @slugs, 'an admin of each signed in');

my (%status, @lat, %seen);
my $max_conns = 0;
my $next_count = 0;
@inflight = ();
$t0 = time;
while (time - $t0 < $SECONDS || @inflight) {
    while (time - $t0 < $SECONDS && @inflight < $INFLIGHT) {
        my $slug = $slugs[ int rand @slugs ];
        $seen{$slug} = 1;
        push @inflight, $t->send_req(GET => '/api/v1/workspace', host => $slug,
            headers => { Authorization => "Bearer $token{$slug}" });
    }
    Kanban::Test::pump(\@inflight, 0.01);
    for (grep { $_->done } @inflight) {
        my $r = $_->response;
        $status{ $r->{status} }++;
        push @lat, $r->{elapsed} * 1000;
    }
    @inflight = grep { !$_->done } @inflight;
    if (time >= $next_count) {
        my $c = pg_connections(@servers);
        $max_conns = $c if $c > $max_conns;
        $next_count = time + 0.1;
    }
}
my $active_s = time - $t0;
my $requests = 0;
$requests += $_ for values %status;

is(join(',', keys %status), '200',
   sprintf('%d requests over %d workspaces, %d in flight: all 200',
           $requests, scalar keys %seen, $INFLIGHT))
    or diag(join ', ', map { "$_: $status{$_}" } sort keys %status);
cmp_ok($max_conns, '<=', $WORKERS * $CAP,
       "PostgreSQL connections from nginx at most $max_conns, within the "
       . "caps ($WORKERS workers x $CAP)");

sleep 1;
my $rss1 = workers_rss_kb();
my $idle_conns = pg_connections(@servers);

%fig = (%fig,
    active_rps => $requests / $active_s, active_p50 => pct(50, @lat),
    active_p99 => pct(99, @lat), active_workspaces => scalar keys %seen,
    max_conns => $max_conns, idle_conns => $idle_conns,
    rss0_kb => $rss0, rss1_kb => $rss1,
    kb_per_ws => ($rss1 - $rss0) / @slugs,
);

my $line = sprintf
    'catalog %d, signed up %d (%d at a time): p50 %.0f ms, p99 %.0f ms, '
    . '%.1f/s; %d with a spare database: p50 %.0f ms, p99 %.0f ms; %d '
    . 'creating theirs: p50 %.0f ms, p99 %.0f ms (spares made ahead: %.0f '
    . 'ms each); '
    . 'active %d workspaces, %d in flight: %.0f req/s, p50 %.1f ms, '
    . 'p99 %.1f ms; PostgreSQL connections max %d (cap %d), %d idle after; '
    . 'workers RSS %d -> %d KB, %.2f KB a workspace',
    $CATALOG, $N, $PARALLEL, @fig{qw(signup_p50 signup_p99 signup_rate)},
    scalar @with, @fig{qw(spare_p50 spare_p99)}, scalar @without,
    @fig{qw(create_p50 create_p99 spares_each)},
    $fig{active_workspaces}, $INFLIGHT,
    @fig{qw(active_rps active_p50 active_p99 max_conns)}, $WORKERS * $CAP,
    @fig{qw(idle_conns rss0_kb rss1_kb kb_per_ws)};
diag($line);
open my $fh, '>>', "$Kanban::Test::TMP/scale-workspaces.txt";
print $fh scalar(gmtime), " $line\n";
print $fh "  $fig{$_}\n" for grep { /^steps_/ } sort keys %fig;
close $fh;

cmp_ok($fig{spare_p50}, '<', 100,
       'provisioning with a spare database: p50 under 100 ms (the goal)')
    if $ENV{SCALE_GOAL} && @with;

Kanban::Test->done_testing;
