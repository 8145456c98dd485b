#!/usr/bin/perl

# A workspace's calendar: its time zone, an admin's setting, decides which
# day "today" is and where days and ISO weeks begin, for every report, rule
# and timesheet. Fixed instants check the days across a daylight-saving
# change (Berlin, 29 March 2026) and the ISO week across a year's end
# (2026-W53); "today" is checked in a zone chosen, at the time the test
# runs, to be on another date than UTC, so that a report that still asked
# UTC (or current_date) would fail at any hour.

use strict;
use warnings;

use Test::More;
use Kanban::Clock qw(days_from monday);
use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'cal');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $carl = $ws->member('Carl');

sub zone {
    my ($zone) = @_;
    made($ws->api($admin, PATCH => '/api/v1/workspace',
                  json => { time_zone => $zone }), "time zone $zone");
}

# --- the setting ----------------------------------------------------------------

my $r = $ws->api(undef, GET => '/api/v1/workspace');
is($r->{json}{time_zone}, 'UTC', 'a new workspace keeps UTC');

$r = $ws->api($admin, PATCH => '/api/v1/workspace',
              json => { time_zone => 'Europe/Berlin' });
is($r->{status}, 200, 'an admin sets the time zone');
is($r->{json}{time_zone}, 'Europe/Berlin', '... and gets the workspace');
is($r->{json}{slug}, $ws->slug, '... whole');
is($ws->api(undef, GET => '/api/v1/workspace')->{json}{time_zone},
   'Europe/Berlin', '... which everyone reads');

problem_is($ws->api($admin, PATCH => '/api/v1/workspace',
                    json => { time_zone => 'Mars/Olympus_Mons' }),
           422, 'validation_failed', 'a zone that does not exist: 422');
problem_is($ws->api($admin, PATCH => '/api/v1/workspace',
                    json => { time_zone => '' }),
           422, 'validation_failed', 'an empty zone: 422');
problem_is($ws->api($admin, PATCH => '/api/v1/workspace',
                    json => { time_zone => 'UTC', theme => 'dark' }),
           422, 'validation_failed', 'an unknown field: 422');
problem_is($ws->api($carl, PATCH => '/api/v1/workspace',
                    json => { time_zone => 'UTC' }),
           403, 'forbidden', 'a contributor may not change it');
problem_is($ws->api(undef, PATCH => '/api/v1/workspace',
                    json => { time_zone => 'UTC' }),
           401, 'unauthorized', 'nobody signed in may not either');
is($ws->api(undef, GET => '/api/v1/workspace')->{json}{time_zone},
   'Europe/Berlin', 'refusals changed nothing');

$r = $ws->api($admin, PATCH => '/api/v1/workspace',
              json => { open_registration => JSON::XS::true });
is($r->{json}{open_registration}, JSON::XS::true,
   'open registration is a setting of the same call');
is($r->{json}{time_zone}, 'Europe/Berlin', '... which leaves the zone');

my ($audit) = $dbh->selectrow_array(
    q{SELECT count(*) FROM activity_log
       WHERE entity_type = 'workspace' AND action = 'updated'});
is($audit, 2, 'each change has its audit row');

# --- days across a daylight-saving change ---------------------------------------

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'CAL', name => 'Calendar' }),
                   'project');
my %column = map { $_->{category} => $_->{id} }
    @{ made($ws->api($admin, GET => "/api/v1/projects/$project->{id}/columns"),
            'columns')->{items} };

sub task_at {
    my ($title, $created, $completed) = @_;
    my $task = made($ws->api($admin,
                             POST => "/api/v1/projects/$project->{id}/tasks",
                             json => { title => $title }), $title);
    if ($completed) {
        made($ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}/move",
                      json => { column_id => $column{done} }), "$title done");
    }
    $dbh->do(q{UPDATE tasks SET created_at = ?::timestamptz,
                                completed_at = ?::timestamptz
                WHERE id = ?}, undef, $created, $completed, $task->{id});
    return $task;
}

# Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 29 March 2026.
task_at('before midnight UTC, after it in Berlin', '2026-03-28T23:30:00Z');
task_at('an evening in Berlin, summer time',       '2026-03-29T21:30:00Z');
task_at('after midnight in Berlin, summer time',   '2026-03-29T22:30:00Z');

# Around the year's end: 3 January 2027 is the Sunday of 2026-W53.
task_at('done on W53 in Berlin', '2026-12-20T10:00:00Z',
        '2027-01-03T22:30:00Z');
task_at('done on 2027-W01 in Berlin', '2026-12-20T10:00:00Z',
        '2027-01-03T23:30:00Z');

my $path = "/api/v1/analytics/projects/$project->{id}/overview";

sub per_day {
    my ($series) = @_;
    return { map { $_->{date} => $_->{count} } @$series };
}

$r = $ws->api($admin, GET => "$path?from=2026-03-28&to=2026-03-30");
is_deeply(per_day($r->{json}{created_per_day}),
          { '2026-03-28' => 0, '2026-03-29' => 2, '2026-03-30' => 1 },
          'created per day: days of Berlin, across the change to summer time');
is($r->{json}{time_zone}, 'Europe/Berlin', '... and the report says whose');

$r = $ws->api($admin, GET => "$path?from=2026-12-28&to=2027-01-10");
is_deeply($r->{json}{throughput_per_week},
          [ { week => '2026-W53', completed => 1 },
            { week => '2027-W01', completed => 1 } ],
          'throughput per ISO week of Berlin: 2026-W53, then 2027-W01');
is_deeply({ map { $_->{date} => $_->{count} }
            grep { $_->{count} } @{ $r->{json}{completed_per_day} } },
          { '2027-01-03' => 1, '2027-01-04' => 1 },
          '... and per day');

zone('UTC');
$r = $ws->api($admin, GET => "$path?from=2026-03-28&to=2026-03-30");
is_deeply(per_day($r->{json}{created_per_day}),
          { '2026-03-28' => 1, '2026-03-29' => 2, '2026-03-30' => 0 },
          'the same tasks on the days of UTC');
$r = $ws->api($admin, GET => "$path?from=2026-12-28&to=2027-01-10");
is_deeply($r->{json}{throughput_per_week},
          [ { week => '2026-W53', completed => 2 } ],
          '... and both in 2026-W53');

zone('Europe/Berlin');
$r = $ws->api($admin,
              GET => '/api/v1/analytics/tenant?from=2026-03-29&to=2026-03-29');
is($r->{json}{tasks_created}, 2,
   'the workspace figures count the days of Berlin too');

# --- today, in a zone on another date than UTC's --------------------------------

# +14 h is tomorrow from 10:00 UTC on; -12 h is yesterday until 12:00 UTC.
my $hour = (gmtime)[2];
my ($far, $offset) = $hour >= 10 ? ('Pacific/Kiritimati', 14)
                                 : ('Etc/GMT+12', -12);
zone($far);

sub local_today {
    my @g = gmtime(time + $offset * 3600);
    return sprintf '%04d-%02d-%02d', $g[5] + 1900, $g[4] + 1, $g[3];
}
my $today = local_today();
note("the workspace is in $far, where today is $today");

my $late = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'due yesterday',
                                   due_date => days_from($today, -1) }),
                'late task');
made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
              json => { title => 'due today', due_date => $today }),
     'task due today');

$r = $ws->api($admin, GET => $path);
is($r->{json}{to}, $today, 'the default period ends today in the workspace');
is($r->{json}{from}, days_from($today, -29), '... and is 30 of its days');
is_deeply([ map { $_->{title} } @{ $r->{json}{overdue}{tasks} } ],
          [ 'due yesterday' ],
          'overdue: due before today there, not the task due today');

my ($row) = grep { $_->{id} eq $project->{id} }
    @{ made($ws->api($admin, GET => '/api/v1/portfolio/overview'),
            'portfolio')->{projects} };
is($row->{overdue_tasks}, $r->{json}{overdue}{count},
   'the portfolio counts the same overdue tasks as the analytics');

$r = $ws->api($admin, GET => '/api/v1/timesheets/productivity/me');
is($r->{json}{to}, $today, 'reports end today in the workspace too');

$r = $ws->api($carl, GET => '/api/v1/timesheets/weekly');
is($r->{json}{week_start}, monday($today),
   'the timesheet without a week is the workspace\'s week');

# a timer started two hours ago logs on the workspace's day of its start
made($ws->api($carl, POST => '/api/v1/timesheets/timer/start', json => {}),
     'timer');
$dbh->do(q{UPDATE timers SET started_at = now() - interval '2 hours'
            WHERE user_id = ? AND stopped_at IS NULL}, undef, $carl->{id});
my @started = gmtime(time - 7200 + $offset * 3600);
$r = $ws->api($carl, POST => '/api/v1/timesheets/timer/stop');
is($r->{status}, 201, 'the timer stops into an entry');
is($r->{json}{date}, sprintf('%04d-%02d-%02d', $started[5] + 1900,
                             $started[4] + 1, $started[3]),
   '... on the day it started in the workspace');

$t->done_testing;
