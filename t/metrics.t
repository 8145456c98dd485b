#!/usr/bin/perl

# GET /metrics on the platform host: Prometheus text whose counters move
# with the requests nginx serves.

use strict;
use warnings;

use Test::More;
use Kanban::Test;

my $t = Kanban::Test->new->run;
my $slug = $t->signup(prefix => 'met');

my $r = $t->req(GET => '/metrics');
is($r->{status}, 200, 'GET /metrics: 200');
like($r->{headers}{'content-type'} // '', qr{^text/plain;\s*version=0\.0\.4},
     'Prometheus text format 0.0.4');

# Every line is a comment or a sample.
my @odd = grep { !/^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?\s+[-+0-9.eEInfa]+(\s+\d+)?)$/ }
          grep { length } split /\n/, $r->{body};
is(scalar @odd, 0, 'every line is a comment or a sample') or diag("@odd[0..2]");
like($r->{body}, qr/^# TYPE kanban_http_requests_total counter$/m,
     'kanban_http_requests_total is a counter');
like($r->{body}, qr/^# TYPE kanban_http_request_duration_seconds histogram$/m,
     'kanban_http_request_duration_seconds is a histogram');

for my $name (qw(kanban_pg_waiting kanban_pg_shared_reads_total
                 kanban_redis_up)) {
    ok(defined $t->metric($name), "$name is there");
}
for my $state (qw(idle busy connecting)) {
    ok(defined $t->metric('kanban_pg_connections', state => $state),
       "kanban_pg_connections{state=\"$state\"} is there");
}
for my $result (qw(hit miss)) {
    ok(defined $t->metric('kanban_tenant_lookups_total', result => $result),
       "kanban_tenant_lookups_total{result=\"$result\"} is there");
}
is($t->metric('kanban_redis_up'), 1, 'kanban_redis_up 1');

# Requests are counted by status, under some route.

my $ok = $t->metric('kanban_http_requests_total', status => '200') // 0;
my $nf = $t->metric('kanban_http_requests_total', status => '404') // 0;
my $count = $t->metric('kanban_http_request_duration_seconds_count') // 0;

$t->req(GET => '/api/v1/workspace', host => $slug) for 1 .. 5;
$t->req(GET => '/api/v1/nope', host => $slug) for 1 .. 3;

cmp_ok(($t->metric('kanban_http_requests_total', status => '200') // 0) - $ok,
       '>=', 5, '5 more with status 200');
cmp_ok(($t->metric('kanban_http_requests_total', status => '404') // 0) - $nf,
       '>=', 3, '3 more with status 404');
cmp_ok(($t->metric('kanban_http_request_duration_seconds_count') // 0) - $count,
       '>=', 8, 'the histogram counted them');

my ($route) = grep { $_->[0] eq 'kanban_http_requests_total' } $t->metrics;
ok($route && length($route->[1]{route} // ''), 'samples carry a route label');

# Routes are patterns, not raw paths: ids and junk do not grow the series.
my $series = grep { $_->[0] eq 'kanban_http_requests_total' } $t->metrics;
$t->req(GET => "/api/v1/nope-$_", host => $slug) for 1 .. 10;
my $after = grep { $_->[0] eq 'kanban_http_requests_total' } $t->metrics;
cmp_ok($after - $series, '<=', 1, '10 distinct unknown paths add at most one series');

# The histogram is a histogram.

my @scrape = $t->metrics;
my ($count_now) = map { $_->[2] }
    grep { $_->[0] eq 'kanban_http_request_duration_seconds_count' } @scrape;
my @buckets = sort { $a->[0] <=> $b->[0] }
    map { [$_->[1]{le} eq '+Inf' ? 9**9**9 : $_->[1]{le}, $_->[2]] }
    grep { $_->[0] eq 'kanban_http_request_duration_seconds_bucket'
           && keys %{ $_->[1] } == 1 }
    @scrape;
cmp_ok(scalar @buckets, '>=', 5, 'at least 5 buckets');
is($buckets[-1][0], 9**9**9, 'the last is le="+Inf"');
ok(!grep({ $buckets[$_][1] < $buckets[$_ - 1][1] } 1 .. $#buckets),
   'bucket counts never decrease');
is($buckets[-1][1], $count_now, '+Inf equals _count (in one scrape)')
    if @buckets;
ok(defined $t->metric('kanban_http_request_duration_seconds_sum'), '_sum');

# Workers share the numbers: many scrapes agree with each other.

my @seen = map { $t->metric('kanban_http_requests_total', status => '404') }
           1 .. 10;
ok(!grep({ $seen[$_] < $seen[$_ - 1] } 1 .. $#seen),
   'counters never go back between scrapes (both workers report the same)')
    or diag("@seen");

Kanban::Test->done_testing;
