#!/usr/bin/perl

# What 1,000 share links made in one request cost
# (081_share_links_bulk.sql): the time of POST /api/v1/share-links/bulk
# with 1,000 URL rows as JSON and as CSV, and with 1,000 task rows (each
# target looked up), each the median of 5 requests on a fresh workspace's
# growing table. Not part of the suite (prove -r picks .t files only):
#
#     bash t/run t/bench/share_bulk_cost.pl

use strict; use warnings;
use Test::More;
use Time::HiRes qw(time);
use Kanban::Test;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'bulkcost');
my $admin = $ws->admin;

my $p = $ws->api($admin, POST => '/api/v1/projects',
                 json => { key => 'BLK', name => 'Bulk' })->{json};
my $task = $ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
                    json => { title => 'Shared' })->{json};

my $n = 0;
my %body = (
    json => sub { (json => [map { { url => 'https://example.com/' . $n++,
                                    tags => ['bench'], folder => 'Bench',
                                    expires_in_seconds => 86400 } }
                            1 .. 1000]) },
    csv => sub { (body => join("\n", 'url,expires_in_seconds,tags,folder',
                                map { 'https://example.com/' . $n++
                                      . ',86400,bench;csv,Bench' } 1 .. 1000),
                  headers => { 'Content-Type' => 'text/csv' }) },
    tasks => sub { (json => [map { { task_id => $task->{id} } } 1 .. 1000]) },
);

for my $kind (qw(json csv tasks)) {
    my @took;
    for (1 .. 5) {
        my @o = $body{$kind}->();
        my $t0 = time;
        my $r = $ws->api($admin, POST => '/api/v1/share-links/bulk', @o);
        push @took, time - $t0;
        die "$r->{status} $r->{body}"
            unless $r->{status} == 200 && $r->{json}{created} == 1000;
    }
    @took = sort { $a <=> $b } @took;
    diag sprintf '1,000 links in one request (%s): median %.0f ms '
               . '(min %.0f, max %.0f)', $kind, $took[2] * 1000,
               $took[0] * 1000, $took[4] * 1000;
}

pass('measured');
$t->done_testing;
