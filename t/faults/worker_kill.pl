#!/usr/bin/perl

# A worker killed -9 mid-request, three times, under load: the master
# starts another at once; only the requests that worker held fail (their
# connection closes without an answer), the other worker's go on, and no
# write is half-applied. Each kill is an [alert] in the error log, which
# this file expects and counts; any other alert still fails it.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Faults;

my $seconds = $ENV{FAULTS_SECONDS} // 15;

my $t = Kanban::Test->new->run;
my $master = $t->pid;
my $ws = $t->workspace(prefix => 'faultworker');
my $at = $ws->admin->{token};
my $r = $ws->api($at, POST => '/api/v1/projects',
                 json => { key => 'WRK', name => 'Workers' });
my $project = $r->{json}{id};

# So that the victim surely holds requests, creates are held on a lock
# of the tasks table for a moment: both workers have some waiting on
# PostgreSQL when one is killed. Its backends see their client gone and
# roll back.
my $lock = $ws->dbh;
my $kills = 0;
my $kill = sub {
    $lock->begin_work;
    $lock->do('LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE');
    my $until = time + 0.3;
    Kanban::Test::pump([], 0.01) while time < $until;
    my ($victim) = Faults::workers($master);
    $kills++ if $victim && kill 'KILL', $victim;
    sleep 0.1;
    $lock->commit;
};

my $results = Faults::drive(
    n => 16, seconds => $seconds,
    make => sub {
        my ($i) = @_;
        return ($ws->send_api($at, POST => "/api/v1/projects/$project/tasks",
                              json => { title => "worker $i" }), "worker $i");
    },
    at => [map { [$seconds * $_ / 4, $kill] } 1 .. 3]);

is($kills, 3, 'three workers killed');
my @ok = grep { $_->[1]{status} =~ /^2/ } @$results;
my @dropped = grep { !$_->[1]{status} } @$results;
my @other = grep { $_->[1]{status} && $_->[1]{status} !~ /^2/ } @$results;
ok(@dropped > 0 && @dropped <= 3 * 16, 'the killed workers were mid-request, '
   . 'and only what they held was dropped (' . scalar(@dropped) . ')');
is(scalar @other, 0, 'no error status') or diag(Faults::tally($results));

my $rows = $ws->dbh->selectall_hashref(
    q{SELECT t.title, count(a.id) AS audits
        FROM tasks t LEFT JOIN activity_log a
          ON a.entity_type = 'task' AND a.entity_id = t.id
         AND a.action = 'created'
       WHERE t.project_id = ? GROUP BY t.title}, 'title', undef, $project);
is(scalar(grep { !$rows->{ $_->[0] } } @ok), 0,
   'every 201 is in the database');
is(scalar(grep { $rows->{$_}{audits} != 1 } keys %$rows), 0,
   'every task there has its audit row');

sleep 0.5;
is(scalar(Faults::workers($master)), 2, 'two workers again');
is($t->pid, $master, 'the same master');
my @after = map { $ws->api($at, GET => "/api/v1/projects/$project")->{status} }
            1 .. 20;
is(scalar(grep { $_ != 200 } @after), 0, 'after: 20 reads all 200');

my $alerts = Faults::expect_log_lines($t, qr/exited on signal 9/);
is($alerts, 3, 'the error log tells of the three kills');

printf STDERR "faults: worker_kill: %d creates in %d s, 3 workers killed: "
    . "%s (%d dropped with their worker)\n",
    scalar @$results, $seconds, Faults::tally($results), scalar @dropped;

Kanban::Test->done_testing;
