#!/usr/bin/perl

# The operators' event stream (issue 22): how soon a change reaches an
# open stream (an operator's PATCH answered, to its workspace.updated
# read), with N streams open at once on the node, p50 and p99 of 40
# changes; and the catalog's cost of a suspend with the commit-time
# trigger (the PATCH's own p50). Not part of the suite:
#
#     BENCH_PLATFORM_STREAMS=20 bash t/run t/bench/platform_events.pl

use strict; use warnings;
use Test::More;
use Time::HiRes qw(time);
use Kanban::Test;
use Kanban::Operator;
use Kanban::SSE;

my $N = $ENV{BENCH_PLATFORM_STREAMS} // 20;
my $t = Kanban::Test->new->run;
my $op = Kanban::Operator->new($t);
my $ws = $t->workspace(prefix => 'bpe');
my $slug = $ws->slug;

my @streams = map {
    Kanban::SSE->open($t, 'localhost', $op->token,
                      path => '/api/v1/platform/events',
                      host_header => 'localhost:' . $t->port)
} 1 .. $N;
is($_->status, 200, 'a stream') for $streams[0];

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($p / 100 * $#v + 0.5)];
}

my (@lag, @patch, @last);
for my $i (1 .. 40) {
    my $status = $i % 2 ? 'suspended' : 'active';
    my $t0 = time;
    my $r = $op->api(PATCH => "/api/v1/platform/workspaces/$slug",
                     json => { status => $status });
    my $t1 = time;
    push @patch, ($t1 - $t0) * 1000;
    my $want = sub { ($_[0]{event} // '') eq 'workspace.updated'
                     && $_[0]{data}{slug} eq $slug
                     && $_[0]{data}{status} eq $status };
    my @got = $streams[0]->until($want, 5);
    push @lag, (@got && $want->($got[-1]) ? $got[-1]{at} - $t1 : 5) * 1000;
    # the last of the streams too: one encoding, shared
    @got = $streams[-1]->until($want, 5);
    push @last, (@got && $want->($got[-1]) ? $got[-1]{at} - $t1 : 5) * 1000;
}

diag(sprintf "%d streams open: change to event p50 %.0f ms, p99 %.0f ms "
             . "(the last stream: p50 %.0f, p99 %.0f); PATCH p50 %.1f ms, "
             . "p99 %.1f ms",
     $N, pct(50, @lag), pct(99, @lag), pct(50, @last), pct(99, @last),
     pct(50, @patch), pct(99, @patch));
ok(pct(99, @lag) < 2500, 'every change within a poll and a half');

done_testing;
