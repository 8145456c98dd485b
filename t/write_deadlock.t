#!/usr/bin/perl

# Writes of every kind to one project at once (creates, edits, moves,
# deletes, 8 in flight) never deadlock: each takes the workspace's events
# lock before the rows of the kept board and task documents
# (sql/tenant/040_write_lock_order.sql). Before, about one in a hundred
# was a 500 "deadlock detected" (found by make soak).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/faults";
use Test::More;
use Kanban::Test;
use Faults;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'dl');
my $at = $ws->admin->{token};

my $r = $ws->api($at, POST => '/api/v1/projects',
                 json => { key => 'DL', name => 'Deadlocks' });
my $project = $r->{json}{id};
my @columns = @{ $ws->api($at, GET => "/api/v1/projects/$project/columns")
                 ->{json}{items} };
my @tasks = map {
    $ws->api($at, POST => "/api/v1/projects/$project/tasks",
             json => { title => "t $_" })->{json}{id}
} 1 .. 40;
my @doomed = map {
    $ws->api($at, POST => "/api/v1/projects/$project/tasks",
             json => { title => "d $_" })->{json}{id}
} 1 .. 60;

my $results = Faults::drive(
    n => 8, seconds => $ENV{DEADLOCK_SECONDS} // 12, timeout => 30,
    make => sub {
        my ($i) = @_;
        my $k = $i % 4;
        my $task = $tasks[$i % @tasks];
        return ($ws->send_api($at, POST => "/api/v1/projects/$project/tasks",
                              json => { title => "n $i" }), 'create')
            if $k == 0;
        return ($ws->send_api($at, DELETE => '/api/v1/tasks/'
                              . shift @doomed), 'delete')
            if $k == 1 && @doomed;
        return ($ws->send_api($at, PATCH => "/api/v1/tasks/$task",
                              json => { title => "e $i" }), 'edit')
            if $k == 2;
        return ($ws->send_api($at, PATCH => "/api/v1/tasks/$task/move",
                              json => { column_id =>
                                        $columns[$i % @columns]{id} }),
                'move');
    });

my @bad = grep { $_->[1]{status} !~ /^2/ } @$results;
cmp_ok(scalar @$results, '>', 100, scalar(@$results) . ' writes sent');
is(scalar @bad, 0, 'none failed') or diag(Faults::tally($results));
is(Faults::expect_log_lines($t, qr/deadlock detected/), 0,
   'no deadlock in the error log');

$t->done_testing;
