#!/usr/bin/perl

# nginx -s reload under load, five times: reads and writes on 16
# connections at once, a new connection each (as browsers and proxies
# open them), and not one request fails; the old workers finish what they
# had and leave.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Faults;

my $seconds = $ENV{FAULTS_SECONDS} // 20;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'faultreload');
my $at = $ws->admin->{token};
my $r = $ws->api($at, POST => '/api/v1/projects',
                 json => { key => 'RLD', name => 'Reloads' });
my $project = $r->{json}{id};

my $reloads = 0;
my $reload = sub {
    my ($rc, $out) = $t->_nginx('-s', 'reload');
    $reloads++ unless $rc;
    diag("reload: $rc $out") if $rc;
};

my $results = Faults::drive(
    n => 16, seconds => $seconds,
    make => sub {
        my ($i) = @_;
        return $i % 4 == 0
            ? ($ws->send_api($at, POST => "/api/v1/projects/$project/tasks",
                             json => { title => "reload $i" }), 'write')
            : ($ws->send_api($at, GET => "/api/v1/projects/$project/kanban"),
               'read');
    },
    at => [map { [$seconds * $_ / 6, $reload] } 1 .. 5]);

is($reloads, 5, 'nginx reloaded five times');
my @bad = grep { $_->[1]{status} !~ /^2/ } @$results;
is(scalar @bad, 0, scalar(@$results) . ' requests, none failed')
    or diag(Faults::tally($results));

sleep 1;
my @workers = Faults::workers($t->pid);
is(scalar @workers, 2, 'two workers left: the old ones are gone')
    or diag("@workers");

printf STDERR "faults: reload: %d requests in %d s with %d reloads: %s\n",
    scalar @$results, $seconds, $reloads, Faults::tally($results);

Kanban::Test->done_testing;
