#!/usr/bin/perl

# Occurrences are made exactly once whatever the number of nginx nodes,
# restarts or clock jumps. Two nodes plan from the same catalog; thirty
# series find themselves 150 days behind at once (the clock jumped: their
# pointers are set back in the database, as after a long stop), so both
# nodes make the 4,500 dates at the same time, and one node is killed with
# kill -9 in the middle and started again. Afterwards every series has
# each of its 150 dates exactly once, each with its own task, and nothing
# else: no date doubled, none lost.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made);

my %conf = (http => 'kanban_planner_sweep 500ms; kanban_planner_batch 50;');
my @nodes = map { Kanban::Test->new(%conf)->run } 1 .. 2;
my ($n1, $n2) = @nodes;

my $ws = $n1->workspace(prefix => 'rcl');
my $dbh = $ws->dbh;
my $admin = $ws->admin;

my $SERIES = 30;
my $DAYS = 150;

made($ws->api($admin, PATCH => '/api/v1/workspace',
              json => { time_zone => 'Europe/Berlin' }), 'time zone');
my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'RUN', name => 'Runbook' }),
                   'project');

my ($tomorrow, $yesterday, $first) = $dbh->selectrow_array(
    q{SELECT (workspace_today() + 1)::text, (workspace_today() - 1)::text,
             (workspace_today() - ?::int)::text}, undef, $DAYS);

for my $i (1 .. $SERIES) {
    my $task = made($ws->api($admin,
                             POST => "/api/v1/projects/$project->{id}/tasks",
                             json => { title => "Check $i" }), 'task');
    made($ws->api($admin, PUT => "/api/v1/tasks/$task->{id}/recurrence",
                  json => { rule => 'FREQ=DAILY;UNTIL='
                                    . ($yesterday =~ s/-//gr),
                            start_date => $tomorrow, at => '00:00' }),
         "series $i");
}

my ($ahead) = $dbh->selectrow_array(
    'SELECT count(*) FROM recurrences WHERE next_date IS NULL');
is($ahead, $SERIES, "$SERIES series whose UNTIL is before their start: "
   . 'nothing to make');

# the jump: every series starts $DAYS days back, its pointer at its first
# date, as if nginx had not run since
$dbh->do(q{UPDATE recurrences x
              SET start_date = ?::date, next_date = ?::date,
                  next_at = recurrence_instant(x, ?::date)},
         undef, $first, $first, $first);
# ... and told the catalog's due index, as a write would
$n1->catalog->do(q{INSERT INTO sweep_due (sweep, slug, due_at)
                   VALUES ('planner', ?, now())
                   ON CONFLICT (sweep, slug) DO UPDATE SET due_at = now()},
                 undef, $ws->slug);

my $t0 = time;

sub made_count {
    my ($n) = $dbh->selectrow_array(
        q{SELECT count(*) FROM recurrence_occurrences WHERE state = 'made'});
    return $n;
}

# kill -9 node 1 (master and workers) once some are made, start it again
my $killed_at_count;
while (time - $t0 < 30) {
    my $n = made_count();
    if ($n > 200) {
        $killed_at_count = $n;
        last;
    }
    sleep 0.02;
}
ok($killed_at_count && $killed_at_count < $SERIES * $DAYS,
   'node 1 is killed mid-run (' . ($killed_at_count // 0) . ' of '
   . $SERIES * $DAYS . ' made)');

my $pid = $n1->pid;
system("kill -KILL $pid \$(pgrep -P $pid) 2>/dev/null");
my $gone = time + 10;
while (time < $gone && IO::Socket::INET->new(PeerAddr => '127.0.0.1:'
                                                       . $n1->port,
                                             Timeout => 1)) {
    sleep 0.01;
}
$n1->{running} = 0;
unlink $n1->var . '/run/nginx.pid';
sleep 0.5;
$n1->run;

my $deadline = time + 120;
while (time < $deadline) {
    my ($due) = $dbh->selectrow_array(
        'SELECT count(*) FROM recurrences WHERE next_at IS NOT NULL');
    last if $due == 0;
    sleep 0.2;
}
my $took = time - $t0;

my ($rows, $distinct, $with_task, $tasks, $series_ok) = $dbh->selectrow_array(
    q{SELECT count(*), count(DISTINCT (recurrence_id, on_date)),
             count(DISTINCT task_id),
             (SELECT count(*) FROM activity_log
               WHERE action = 'created' AND entity_type = 'task'
                 AND new_values->>'recurrence_id' IS NOT NULL),
             (SELECT count(*) FROM (
                 SELECT recurrence_id FROM recurrence_occurrences
                  GROUP BY recurrence_id
                 HAVING count(*) = ? AND min(on_date) = ?::date
                        AND max(on_date) = ?::date) s)
        FROM recurrence_occurrences WHERE state = 'made'},
    undef, $DAYS, $first, $yesterday);

is($rows, $SERIES * $DAYS, "every date made: $SERIES series x $DAYS days");
is($distinct, $rows, '... each once');
is($with_task, $rows, '... each with a task of its own');
is($tasks, $rows, '... and no task made that has no date (the audit rows)');
is($series_ok, $SERIES, "every series has its $DAYS days, $first to "
   . "$yesterday");
my ($copies) = $dbh->selectrow_array(
    q{SELECT count(*) FROM tasks WHERE title LIKE 'Check %'});
is($copies, $SERIES + $rows, 'the tasks of the project: the patterns and '
   . 'one copy a date');
my ($made) = $dbh->selectrow_array('SELECT sum(made) FROM recurrences');
is($made, $rows, 'each series counts what it made');

diag(sprintf '%d occurrences made by two nodes, one killed at %d and '
     . 'restarted: %.1f s (%.0f a second)', $rows, $killed_at_count // 0,
     $took, $rows / $took);

$_->stop for @nodes;
$n1->done_testing;
