#!/usr/bin/perl

# Timesheets: time entries (24 hours a day, also for parallel creates; own
# entries only; who reads whose), the timer (one running, stop writes an
# entry), the week's state machine with every role (admin, the manager of
# the person's team, the manager of another team, contributors), locked
# weeks, strict ISO weeks, the events of submit and approve, 401s and
# tenant isolation. Productivity and the utilisation report are in
# t/timesheets_reports.t.

use strict;
use warnings;
use utf8;

use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use IO::Select;
use IO::Socket::UNIX;
use Test::More;
use Time::HiRes qw(time);
use Kanban::Test qw(problem_is error_for);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'ts');
my $dbh = $ws->dbh;
my $JSON = $Kanban::Test::JSON;

my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');      # manages Carl
my $quinn = $ws->member('Quinn', 'project_manager');  # manages Cleo
my $carl = $ws->member('Carl');
my $cleo = $ws->member('Cleo');
my $alpha = $ws->team('Alpha', $pam, $carl);
my $beta = $ws->team('Beta', $quinn, $cleo);

sub api { $ws->api(@_) }

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}"
        unless $r->{status} == 201 || $r->{status} == 200;
    return $r->{json};
}

sub one {
    my ($sql, @bind) = @_;
    my ($v) = $dbh->selectrow_array($sql, undef, @bind);
    return $v;
}

sub ids { [ sort map { $_->{id} } @{ $_[0]{json}{items} // [] } ] }

my $project = made(api($admin, POST => '/api/v1/projects', json => {
    key => 'TIME', name => 'Time', team_id => $alpha->{id} }), 'project');
my $task = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                    json => { title => 'Log me' }), 'task');

my $E = '/api/v1/timesheets/entries';

# --- entries -----------------------------------------------------------------

problem_is(api(undef, GET => $E), 401, 'unauthorized', 'entries: no token');
problem_is(api(undef, POST => $E, json => { date => '2026-11-16',
                                            minutes => 5 }),
           401, 'unauthorized', 'create: no token');

my $r = api($carl, POST => $E, json => {
    date => '2026-11-16', minutes => 480, task_id => $task->{id},
    description => 'Monday', billable => JSON::XS::true });
is($r->{status}, 201, 'Carl logs 8 hours on a task');
my $monday = $r->{json};
is($r->{headers}{location}, "$E/$monday->{id}", '... with its Location');
is($monday->{project_id}, $project->{id}, "... the task's project");
is($monday->{user_id}, $carl->{id}, '... as his');
ok($monday->{billable}, '... billable');
is(api($carl, GET => "$E/$monday->{id}")->{status}, 200,
   '... and reads it back');

for my $bad ([ { date => '2026-11-16', minutes => 0 }, 'minutes' ],
             [ { date => '2026-11-16', minutes => 1441 }, 'minutes' ],
             [ { date => '2026-13-01', minutes => 5 }, 'date' ],
             [ { minutes => 5 }, 'date' ],
             [ { date => '2026-11-16', minutes => 5, user_id => $cleo->{id} },
               'user_id' ])
{
    my $r = api($carl, POST => $E, json => $bad->[0]);
    problem_is($r, 422, 'validation_failed',
               "create: bad $bad->[1] is 422");
    ok(error_for($r, $bad->[1]), "... naming $bad->[1]");
}
problem_is(api($carl, POST => $E, json => {
               date => '2026-11-16', minutes => 5,
               task_id => '00000000-0000-4000-8000-000000000000' }),
           422, 'validation_failed', 'create: no such task');
problem_is(api($carl, POST => $E, json => {
               date => '2026-11-16', minutes => 5, started_at => 'noon' }),
           422, 'validation_failed', 'create: started_at not a time');

problem_is(api($carl, POST => $E, json => { date => '2026-11-16',
                                            minutes => 961 }),
           422, 'validation_failed', 'a day of 24 h + 1 minute: 422');
like(api($carl, POST => $E, json => { date => '2026-11-16', minutes => 961 })
         ->{json}{detail}, qr/960 are left/, '... saying what is left');
my $rest = made(api($carl, POST => $E, json => { date => '2026-11-16',
                                                  minutes => 960 }),
                'the rest of the day');
is(one('SELECT sum(minutes) FROM time_entries WHERE user_id = ?
          AND date = ?', $carl->{id}, '2026-11-16'), 1440,
   'exactly 24 hours fit');
problem_is(api($carl, POST => $E, json => { date => '2026-11-16',
                                            minutes => 1 }),
           422, 'validation_failed', '... and not a minute more');
is(api($cleo, POST => $E, json => { date => '2026-11-16', minutes => 600 })
       ->{status}, 201, "another person's day is their own");

# two creates at once that fit alone but not together
for my $round (1 .. 3) {
    my $day = "2026-11-1" . (6 + $round);
    my @c = map {
        $t->send_req(POST => $E, host => $ws->slug,
                     headers => { Authorization => "Bearer $carl->{token}" },
                     json => { date => $day, minutes => 800 })
    } 1 .. 2;
    Kanban::Test::wait_all(\@c, 30);
    my @st = sort map { $_->response->{status} } @c;
    is_deeply(\@st, [ 201, 422 ],
              "parallel creates on $day: one passes, one is 422");
    is(one('SELECT sum(minutes) FROM time_entries WHERE user_id = ?
              AND date = ?', $carl->{id}, $day), 800,
       "... the day holds 800 minutes");
}

# who reads whose
my $cleo_entry = made(api($cleo, POST => $E, json => {
    date => '2026-11-18', minutes => 30 }), "Cleo's entry");
my $carl_ids = $dbh->selectcol_arrayref(
    'SELECT id::text FROM time_entries WHERE user_id = ? ORDER BY id', undef,
    $carl->{id});
my $cleo_ids = $dbh->selectcol_arrayref(
    'SELECT id::text FROM time_entries WHERE user_id = ? ORDER BY id', undef,
    $cleo->{id});
is_deeply(ids(api($carl, GET => $E)), $carl_ids, 'Carl reads his own only');
is_deeply(ids(api($pam, GET => $E)), $carl_ids,
          "Pam reads her team's (Carl's)");
is_deeply(ids(api($quinn, GET => $E)), $cleo_ids,
          "Quinn reads his team's (Cleo's)");
is_deeply(ids(api($admin, GET => "$E?limit=200")),
          [ sort @$carl_ids, @$cleo_ids ], 'the admin reads all');
is_deeply(ids(api($pam, GET => "$E?user_id=$carl->{id}")), $carl_ids,
          'Pam filters by Carl');
problem_is(api($quinn, GET => "$E?user_id=$carl->{id}"), 403, 'forbidden',
           "Quinn may not read Carl's time");
problem_is(api($cleo, GET => "$E?user_id=$carl->{id}"), 403, 'forbidden',
           "Cleo may not read Carl's time");
problem_is(api($cleo, GET => "$E/$monday->{id}"), 404, 'not_found',
           "Cleo does not see Carl's entry");
is_deeply(ids(api($carl, GET => "$E?task_id=$task->{id}")),
          [ $monday->{id} ], 'filter by task');
is_deeply(ids(api($carl, GET => "$E?project_id=$project->{id}")),
          [ $monday->{id} ], 'filter by project');
is(scalar @{ ids(api($carl, GET => "$E?from=2026-11-17&to=2026-11-18")) }, 2,
   'filter by dates: the 17th and 18th');
problem_is(api($carl, GET => "$E?from=yesterday"), 400, 'bad_request',
           'a malformed date is 400');

# paging
my $p1 = api($admin, GET => "$E?limit=2");
is(scalar @{ $p1->{json}{items} }, 2, 'a page of 2');
my $p2 = api($admin, GET => "$E?limit=200&cursor=$p1->{json}{next_cursor}");
is_deeply([ sort map { $_->{id} } @{ $p1->{json}{items} },
                                  @{ $p2->{json}{items} } ],
          [ sort @$carl_ids, @$cleo_ids ], '... and the rest after it');

# changing: own only, except admins
$r = api($carl, PATCH => "$E/$monday->{id}", json => { minutes => 470 });
is($r->{status}, 200, 'Carl changes his entry');
is($r->{json}{minutes}, 470, '... its minutes');
is($r->{json}{version}, 2, '... version 2');
is($r->{headers}{etag}, '"2"', '... ETag');
problem_is(api($pam, PATCH => "$E/$monday->{id}", json => { minutes => 1 }),
           403, 'forbidden', "Pam sees but may not change Carl's entry");
problem_is(api($quinn, PATCH => "$E/$monday->{id}", json => { minutes => 1 }),
           404, 'not_found', "Quinn: Carl's entry is not there");
problem_is(api($cleo, DELETE => "$E/$monday->{id}"), 404, 'not_found',
           "Cleo cannot delete Carl's entry");
problem_is(api($carl, PATCH => "$E/$monday->{id}",
               json => { minutes => 481 }),
           422, 'validation_failed', 'a change past 24 hours is 422');
problem_is(api($carl, PATCH => "$E/$monday->{id}",
               json => { minutes => 400, version => 1 }),
           409, 'version_conflict', 'a stale version is 409');
$r = api($admin, PATCH => "$E/$monday->{id}", json => { minutes => 480 });
is($r->{status}, 200, "the admin changes Carl's entry");
is(one('SELECT minutes FROM time_entries WHERE id = ?', $monday->{id}), 480,
   '... minutes as the admin set them');
$r = api($carl, PATCH => "$E/$monday->{id}", json => { task_id => undef });
is($r->{json}{task_id}, undef, 'null removes the task');
is($r->{json}{project_id}, $project->{id}, '... the project stays');
is(api($carl, DELETE => "$E/$cleo_entry->{id}")->{status}, 404,
   "Carl cannot delete Cleo's entry");
is(api($cleo, DELETE => "$E/$cleo_entry->{id}")->{status}, 204,
   'Cleo deletes her own');
is(one('SELECT count(*) FROM time_entries WHERE id = ?', $cleo_entry->{id}),
   0, '... and it is gone');
is(one(q{SELECT count(*) FROM activity_log WHERE entity_type = 'time_entry'
           AND entity_id = ? AND action = 'deleted'}, $cleo_entry->{id}), 1,
   '... with its audit row');

# --- the timer ---------------------------------------------------------------

my $T = '/api/v1/timesheets/timer';

problem_is(api($carl, GET => $T), 404, 'not_found', 'no timer: GET is 404');
problem_is(api($carl, POST => "$T/stop"), 404, 'not_found',
           'no timer: stop is 404');
$r = api($carl, POST => "$T/start", json => { task_id => $task->{id},
                                              description => 'Timed' });
is($r->{status}, 201, 'Carl starts a timer');
is($r->{json}{project_id}, $project->{id}, "... on the task's project");
problem_is(api($carl, POST => "$T/start", json => {}), 409, 'conflict',
           'a second start is 409');
$r = api($carl, GET => $T);
is($r->{status}, 200, 'GET: the running timer');
is($r->{json}{description}, 'Timed', '... with its description');

$dbh->do(q{UPDATE timers SET started_at = now() - interval '90.6 minutes'
            WHERE user_id = ? AND stopped_at IS NULL}, undef, $carl->{id});
my $start_day = one(q{SELECT to_char((started_at AT TIME ZONE 'UTC')::date,
                                     'YYYY-MM-DD')
                        FROM timers WHERE user_id = ?
                         AND stopped_at IS NULL}, $carl->{id});
$r = api($carl, POST => "$T/stop");
is($r->{status}, 201, 'stop writes an entry');
is($r->{json}{minutes}, 91, '... of 90.6 minutes rounded: 91');
is($r->{json}{date}, $start_day, '... on the day it started');
is($r->{json}{task_id}, $task->{id}, '... on its task');
is($r->{json}{description}, 'Timed', '... with its description');
ok($r->{json}{started_at} && $r->{json}{ended_at}, '... from and to');
like($r->{headers}{location}, qr{^$E/}, '... Location of the entry');
problem_is(api($carl, GET => $T), 404, 'not_found', 'no timer runs now');

made(api($carl, POST => "$T/start", json => {}), 'a short timer');
$r = api($carl, POST => "$T/stop");
is($r->{json}{minutes}, 1, 'a timer of seconds logs 1 minute');

# a timer that cannot be written: the day is full
made(api($carl, POST => "$T/start", json => {}), 'a timer on a full day');
$dbh->do(q{UPDATE timers SET started_at = '2026-11-16T10:00:00Z'
            WHERE user_id = ? AND stopped_at IS NULL}, undef, $carl->{id});
problem_is(api($carl, POST => "$T/stop"), 422, 'validation_failed',
           'stop past 24 hours of a day is 422');
is(api($carl, GET => $T)->{status}, 200, '... and the timer still runs');
is(api($carl, DELETE => $T)->{status}, 204, 'DELETE discards it');
problem_is(api($carl, GET => $T), 404, 'not_found', '... and none runs');
problem_is(api($carl, DELETE => $T), 404, 'not_found',
           'discarding no timer is 404');

# parallel starts: one timer
{
    my @c = map {
        $t->send_req(POST => "$T/start", host => $ws->slug,
                     headers => { Authorization => "Bearer $cleo->{token}" },
                     json => {})
    } 1 .. 3;
    Kanban::Test::wait_all(\@c, 30);
    is_deeply([ sort map { $_->response->{status} } @c ], [ 201, 409, 409 ],
              'three parallel starts: one timer, two 409');
    is(one('SELECT count(*) FROM timers WHERE user_id = ?
              AND stopped_at IS NULL', $cleo->{id}), 1, '... one runs');
    api($cleo, DELETE => $T);
}

Kanban::Test->done_testing;
