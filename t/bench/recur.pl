#!/usr/bin/perl

# Occurrences of recurring tasks made a second (alone: BENCH_ONLY=recur
# make bench). BENCH_RECUR_WORKSPACES workspaces (2) of BENCH_RECUR_SERIES
# daily series each (50) find themselves BENCH_RECUR_DAYS days (100)
# behind at once, as after a clock jump or a long stop: their pointers are
# set back in the database and the catalog's due index told. The planner (one nginx,
# two workers) makes every date, each a task with its audit row, event
# and notifications, one planner at a time per workspace; the figure is
# the dates made a second from the catalog's word to the last one.

use strict;
use warnings;

use Kanban::Test;
use Time::HiRes qw(sleep time);

$Kanban::Test::QUIET = 1;

my $W = $ENV{BENCH_RECUR_WORKSPACES} // 2;
my $S = $ENV{BENCH_RECUR_SERIES} // 50;
my $D = $ENV{BENCH_RECUR_DAYS} // 100;

my $t = Kanban::Test->new(log_level => 'warn',
                          http => 'kanban_planner_sweep 1s;')->run;

my @ws;
for my $i (1 .. $W) {
    my $ws = $t->workspace(prefix => "brec$i");
    my $api = sub {
        my ($method, $path, %o) = @_;
        my $r = $ws->api($ws->admin, $method => $path, %o);
        die "$method $path: $r->{status} $r->{body}\n"
            unless $r->{status} =~ /^2/;
        return $r->{json};
    };
    my $project = $api->(POST => '/api/v1/projects',
                         json => { key => 'REC', name => 'Recurring' });
    my ($tomorrow, $yesterday) = $ws->dbh->selectrow_array(
        q{SELECT (workspace_today() + 1)::text,
                 to_char(workspace_today() - 1, 'YYYYMMDD')});
    for my $s (1 .. $S) {
        my $task = $api->(POST => "/api/v1/projects/$project->{id}/tasks",
                          json => { title => "Series $s",
                                    assignee_ids => [ $ws->admin->{id} ] });
        $api->(PUT => "/api/v1/tasks/$task->{id}/recurrence",
               json => { rule => "FREQ=DAILY;UNTIL=$yesterday",
                         start_date => $tomorrow, at => '00:00' });
    }
    push @ws, $ws;
}

my $catalog = $t->catalog;
my $start = time;

for my $ws (@ws) {
    $ws->dbh->do(q{UPDATE recurrences x
                      SET start_date = workspace_today() - ?::int,
                          next_date = workspace_today() - ?::int,
                          next_at = recurrence_instant(x,
                                        workspace_today() - ?::int)},
                 undef, $D, $D, $D);
    $catalog->do(q{INSERT INTO sweep_due (sweep, slug, due_at)
                   VALUES ('planner', ?, now())
                   ON CONFLICT (sweep, slug) DO UPDATE SET due_at = now()},
                 undef, $ws->slug);
}

my $N = $W * $S * $D;
my $made = 0;
my $deadline = time + 600;
while (time < $deadline) {
    $made = 0;
    for my $ws (@ws) {
        my ($n) = $ws->dbh->selectrow_array(
            q{SELECT count(*) FROM recurrence_occurrences
               WHERE state = 'made'});
        $made += $n;
    }
    last if $made >= $N;
    sleep 0.1;
}
my $took = time - $start;

printf "recur: %d occurrences (%d workspaces x %d series x %d days) made "
     . "in %.1f s: %.0f occurrences/s%s\n", $made, $W, $S, $D, $took,
     $made / $took, $made < $N ? " (only $made of $N in time)" : '';

$t->stop;
