#!/usr/bin/perl

# A plan's own API rate (api_rate, set by an operator) holds across the
# cluster, as the zone's rate does: two nginx nodes on one Redis, a
# person's requests alternating them, get the plan's rate between them,
# not the plan's rate on each node.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep);
use Kanban::Test;

my $stack = Kanban::Test::Stack->private;
my @nodes = map { Kanban::Test->new(stack => $stack, ttl => '1s')->run } 1 .. 2;
my $ws = $nodes[0]->workspace(prefix => 'prc');
my $slug = $ws->slug;
my $admin = $ws->admin;

$nodes[0]->catalog->do('UPDATE tenants SET api_rate = 4 WHERE slug = ?',
                       undef, $slug);
sleep 1.5;    # every node's tenant cache

my $pam = $ws->member('Pam', 'contributor');
my @got = map {
    my $r = $nodes[$_ % 2]->req(GET => '/api/v1/projects', host => $slug,
                                headers => { Authorization =>
                                             "Bearer $pam->{token}" });
    sleep 0.05;   # a count's round trip to Redis
    $r->{status};
} 0 .. 11;

my $passed = grep { $_ == 200 } @got;
cmp_ok($passed, '>=', 4, "the plan's 4 a minute pass ($passed of 12)");
cmp_ok($passed, '<=', 5, '... across both nodes, not 4 on each')
    or diag("@got");
is($got[-1], 429, '... then 429 on either node');

done_testing;
