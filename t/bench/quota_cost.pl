#!/usr/bin/perl

# What the storage quota costs an upload: p50 and p99 of 200 sequential
# 1 KB attachment uploads on one task, without a limit and with one
# (max_storage_bytes: the trigger takes the quota's lock and sums the
# stored sizes), on a workspace that stores no files and on one that
# stores 20,000 (1 KB each, made in SQL). Not part of the suite:
#
#     bash t/run t/bench/quota_cost.pl

use strict; use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Kanban::Test;

my $t = Kanban::Test->new(ttl => '1s')->run;
my $ws = $t->workspace(prefix => 'bq');
my $at = $ws->admin->{token};
my $N = $ENV{BENCH_UPLOADS} // 200;
my $STORED = $ENV{BENCH_STORED} // 20000;

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($p * $#v + 0.5)];
}

my $pid = $ws->api($at, POST => '/api/v1/projects',
                   json => { key => 'BQ', name => 'Bench' })->{json}{id};
my $tid = $ws->api($at, POST => "/api/v1/projects/$pid/tasks",
                   json => { title => 'Files' })->{json}{id};

sub limit {
    $t->catalog->do('UPDATE tenants SET max_storage_bytes = ? WHERE slug = ?',
                    undef, $_[0], $ws->slug);
    sleep 1.2;
}

sub run {
    my ($name) = @_;
    my @ms;
    for (1 .. $N) {
        my $t0 = time;
        my $r = $ws->api($at, POST => "/api/v1/tasks/$tid/attachments"
                                      . '?filename=b.bin',
                         body => 'x' x 1024,
                         headers => { 'Content-Type' => 'application/octet-stream' });
        die "upload: $r->{status} $r->{body}" unless $r->{status} == 201;
        push @ms, (time - $t0) * 1000;
    }
    diag sprintf '%-44s n %3d   p50 %6.1f ms   p99 %6.1f ms', $name,
                 scalar @ms, pct(0.5, @ms), pct(0.99, @ms);
}

run('no limit, none stored');
limit(1e12);
run('a limit, none stored');
limit(undef);
$ws->dbh->do(q{INSERT INTO attachments (task_id, filename, content_type,
                   size, sha256, data)
               SELECT $1, 'f.bin', 'application/octet-stream', 1024, '',
                      convert_to(repeat('y', 1024), 'UTF8')
                 FROM generate_series(1, $2)}, undef, $tid, $STORED);
$ws->dbh->do('VACUUM ANALYZE attachments');    # as autovacuum leaves it
# the check's sum, as PostgreSQL runs it
diag join "\n", map { "  $_->[0]" } @{ $ws->dbh->selectall_arrayref(
    'EXPLAIN (ANALYZE, COSTS OFF) SELECT coalesce(sum(size), 0) FROM attachments') };
run("no limit, $STORED stored");
limit(1e12);
run("a limit, $STORED stored");

ok(1, 'measured');
$t->done_testing;
