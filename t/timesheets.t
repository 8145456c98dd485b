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
use Kanban::Test qw(made problem_is error_for);

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

# --- the week ----------------------------------------------------------------

my $W = '/api/v1/timesheets/weekly';
my $week = '2026-W47';                 # Monday 16 to Sunday 22 November

# a subscriber to the workspace's events
my $redis = IO::Socket::UNIX->new(Peer => $t->stack->run . '/redis.sock')
    or die "redis: $!";
my $channel = 'kanban:events:' . $ws->slug;
print $redis "*2\r\n\$9\r\nSUBSCRIBE\r\n\$" . length($channel)
    . "\r\n$channel\r\n";
my $rbuf = '';
sub redis_read {
    my ($wait) = @_;
    my $deadline = time + $wait;
    while (time < $deadline) {
        last unless IO::Select->new($redis)->can_read($deadline - time);
        my $n = sysread $redis, my $data, 65536;
        last unless $n;
        $rbuf .= $data;
    }
}
redis_read(0.5);
like($rbuf, qr/subscribe/, 'subscribed to the events');
$rbuf = '';

sub events {
    my ($type, $n) = @_;
    my $deadline = time + 5;
    my @found;
    while (time < $deadline) {
        @found = grep { ($_->{type} // '') eq $type }
                 map { scalar eval { $JSON->decode($_) } // {} }
                 $rbuf =~ /^(\{.*\})\r?$/mg;
        last if @found >= $n;
        redis_read(0.1);
    }
    return @found;
}

$r = api($carl, GET => "$W?week=$week");
is($r->{status}, 200, "Carl's week");
is($r->{json}{status}, 'draft', '... a draft');
is($r->{json}{week}, $week, '... that week');
is_deeply([ map { $_->{date} } @{ $r->{json}{days} } ],
          [ map { "2026-11-$_" } 16 .. 22 ], '... Monday to Sunday');
is($r->{json}{days}[0]{minutes}, 1440, '... Monday full');
is($r->{json}{total_minutes},
   one('SELECT sum(minutes) FROM time_entries WHERE user_id = ?
          AND date BETWEEN ? AND ?', $carl->{id}, '2026-11-16',
       '2026-11-22'), '... the total of the week');
is(scalar @{ $r->{json}{entries} },
   one('SELECT count(*) FROM time_entries WHERE user_id = ?
          AND date BETWEEN ? AND ?', $carl->{id}, '2026-11-16',
       '2026-11-22'), '... with its entries');
is(api($carl, GET => $W)->{status}, 200, 'no week: this week');

for my $bad (qw(2026-W54 2025-W53 2026-W00 2026-W7 2026W47 2026-w47
                26-W47 2026-W47x)) {
    problem_is(api($carl, GET => "$W?week=$bad"), 400, 'bad_request',
               "week $bad is 400");
}
is(api($carl, GET => "$W?week=2026-W53")->{json}{week_start}, '2026-12-28',
   '2026 has a week 53');
is(api($carl, GET => "$W?week=2020-W53")->{status}, 200,
   '2020 has one too');
for my $bad (qw(2025-W53 2026-W54 2026-W7 2026/W47)) {
    my $r = api($carl, POST => "$W/submit", json => { week => $bad });
    problem_is($r, 422, 'validation_failed', "submit $bad: 422");
    ok(error_for($r, 'week'), '... naming week');
}

is(api($pam, GET => "$W?week=$week&user_id=$carl->{id}")->{status}, 200,
   "Pam reads Carl's week");
is(api($admin, GET => "$W?week=$week&user_id=$carl->{id}")->{status}, 200,
   "the admin reads Carl's week");
problem_is(api($quinn, GET => "$W?week=$week&user_id=$carl->{id}"), 403,
           'forbidden', "Quinn may not read Carl's week");
problem_is(api($cleo, GET => "$W?week=$week&user_id=$carl->{id}"), 403,
           'forbidden', "Cleo may not read Carl's week");

my $decide = { user_id => $carl->{id}, week => $week };

problem_is(api($pam, POST => "$W/approve", json => $decide), 409, 'conflict',
           'approving a draft is 409');
problem_is(api($pam, POST => "$W/reject", json => { %$decide,
                                                    reason => 'No' }),
           409, 'conflict', 'rejecting a draft is 409');

my $mark = one('SELECT max(id) FROM activity_log');
$r = api($carl, POST => "$W/submit", json => { week => $week });
is($r->{status}, 200, 'Carl submits');
is($r->{json}{status}, 'submitted', '... submitted');
ok($r->{json}{submitted_at}, '... with the time');
is(one(q{SELECT count(*) FROM activity_log WHERE id > ?
           AND entity_type = 'timesheet' AND action = 'submitted'
           AND entity_id = ?}, $mark, $carl->{id}), 1, '... audited');
my ($ev) = events('timesheet.submitted', 1);
is($ev->{data}{user_id}, $carl->{id}, '... event timesheet.submitted');
is($ev->{data}{week}, $week, '... of the week');
problem_is(api($carl, POST => "$W/submit", json => { week => $week }), 409,
           'conflict', 'submitting twice is 409');

# a submitted week is locked
my $before = one('SELECT count(*) FROM time_entries');
problem_is(api($carl, POST => $E, json => { date => '2026-11-20',
                                            minutes => 5 }),
           409, 'locked', 'no new entry in a submitted week');
problem_is(api($carl, PATCH => "$E/$monday->{id}",
               json => { description => 'x' }),
           409, 'locked', 'no change in a submitted week');
problem_is(api($admin, PATCH => "$E/$monday->{id}",
               json => { description => 'x' }),
           409, 'locked', '... not even by an admin');
problem_is(api($carl, DELETE => "$E/$monday->{id}"), 409, 'locked',
           'no delete in a submitted week');
my $later = made(api($carl, POST => $E, json => { date => '2026-11-23',
                                                  minutes => 60 }),
                 'an entry of the next week');
problem_is(api($carl, PATCH => "$E/$later->{id}",
               json => { date => '2026-11-20' }),
           409, 'locked', 'no moving an entry into a submitted week');
made(api($carl, POST => "$T/start", json => {}), 'a timer in W47');
$dbh->do(q{UPDATE timers SET started_at = '2026-11-20T10:00:00Z'
            WHERE user_id = ? AND stopped_at IS NULL}, undef, $carl->{id});
problem_is(api($carl, POST => "$T/stop"), 409, 'locked',
           'a timer of a submitted week does not stop into it');
api($carl, DELETE => $T);
is(one('SELECT count(*) FROM time_entries'), $before + 1,
   'nothing was written into the week');

# who decides
problem_is(api($carl, POST => "$W/approve", json => $decide), 403,
           'forbidden', 'a contributor cannot approve');
problem_is(api($cleo, POST => "$W/approve", json => $decide), 403,
           'forbidden', 'another contributor cannot either');
problem_is(api($quinn, POST => "$W/approve", json => $decide), 403,
           'forbidden', "the manager of another team cannot approve");
problem_is(api($quinn, POST => "$W/reject",
               json => { %$decide, reason => 'No' }),
           403, 'forbidden', '... nor reject');
$r = api($pam, POST => "$W/reject", json => $decide);
problem_is($r, 422, 'validation_failed', 'a rejection needs a reason');
ok(error_for($r, 'reason'), '... naming reason');
problem_is(api($pam, POST => "$W/reject", json => { %$decide,
                                                    reason => '   ' }),
           422, 'validation_failed', '... not blanks');
is(api($carl, GET => "$W?week=$week")->{json}{status}, 'submitted',
   'the refusals left it submitted');

$r = api($pam, POST => "$W/reject", json => { %$decide,
                                              reason => 'Friday is missing' });
is($r->{status}, 200, "Pam rejects Carl's week");
is($r->{json}{status}, 'rejected', '... rejected');
$r = api($carl, GET => "$W?week=$week");
is($r->{json}{reason}, 'Friday is missing', 'Carl sees the reason');
is($r->{json}{decided_by}, $pam->{id}, '... and who decided');
is(api($carl, PATCH => "$E/$monday->{id}", json => { description => 'ok' })
       ->{status}, 200, 'a rejected week is editable again');
my $friday = made(api($carl, POST => $E, json => { date => '2026-11-20',
                                                   minutes => 420 }),
                  'Friday');
is(scalar(events('timesheet.approved', 1)), 0, 'rejecting is no approval');

$r = api($carl, POST => "$W/submit", json => { week => $week });
is($r->{json}{status}, 'submitted', 'Carl resubmits: submitted');
is($r->{json}{reason}, undef, '... the reason is gone');

$mark = one('SELECT max(id) FROM activity_log');
$r = api($pam, POST => "$W/approve", json => $decide);
is($r->{status}, 200, 'Pam approves');
is($r->{json}{status}, 'approved', '... approved');
is(one(q{SELECT count(*) FROM activity_log WHERE id > ? AND actor_id = ?
           AND entity_type = 'timesheet' AND action = 'approved'},
       $mark, $pam->{id}), 1, '... audited');
($ev) = events('timesheet.approved', 1);
is($ev->{data}{status}, 'approved', '... event timesheet.approved');
is($ev->{data}{user_id}, $carl->{id}, "... of Carl's week");

problem_is(api($carl, PATCH => "$E/$friday->{id}", json => { minutes => 1 }),
           409, 'locked', 'an approved week is locked');
problem_is(api($carl, DELETE => "$E/$friday->{id}"), 409, 'locked',
           '... for deletes too');
problem_is(api($carl, POST => "$W/submit", json => { week => $week }), 409,
           'conflict', 'an approved week is not submitted again');
problem_is(api($pam, POST => "$W/reject", json => { %$decide,
                                                    reason => 'late' }),
           409, 'conflict', '... nor rejected');
problem_is(api($admin, POST => "$W/approve", json => $decide), 409,
           'conflict', '... nor approved twice');

# nobody decides on their own week; an admin decides on a manager's
made(api($pam, POST => "$W/submit", json => { week => $week }),
     "Pam's week");
problem_is(api($pam, POST => "$W/approve",
               json => { user_id => $pam->{id}, week => $week }),
           403, 'forbidden', 'a manager cannot approve their own week');
is(api($admin, POST => "$W/approve",
       json => { user_id => $pam->{id}, week => $week })->{json}{status},
   'approved', "the admin approves Pam's");
made(api($admin, POST => "$W/submit", json => { week => $week }),
     "the admin's week");
problem_is(api($admin, POST => "$W/approve",
               json => { user_id => $admin->{id}, week => $week }),
           403, 'forbidden', 'nor can an admin approve their own');
problem_is(api($admin, POST => "$W/approve",
               json => { user_id => '00000000-0000-4000-8000-000000000000',
                         week => $week }),
           404, 'not_found', 'approving nobody: 404');

# an admin decides on anyone's; a manager on any of their team's people
made(api($cleo, POST => "$W/submit", json => { week => '2026-W48' }),
     "Cleo's W48");
problem_is(api($pam, POST => "$W/approve",
               json => { user_id => $cleo->{id}, week => '2026-W48' }),
           403, 'forbidden', "Pam cannot approve Cleo's");
is(api($admin, POST => "$W/reject",
       json => { user_id => $cleo->{id}, week => '2026-W48',
                 reason => 'Wrong project' })->{json}{status},
   'rejected', "the admin rejects Cleo's");
made(api($cleo, POST => "$W/submit", json => { week => '2026-W48' }),
     "Cleo resubmits");
is(api($quinn, POST => "$W/approve",
       json => { user_id => $cleo->{id}, week => '2026-W48' })
       ->{json}{status}, 'approved', "Quinn approves Cleo's");

problem_is(api(undef, GET => "$W?week=$week"), 401, 'unauthorized',
           'weekly: no token');
problem_is(api(undef, POST => "$W/approve", json => $decide), 401,
           'unauthorized', 'approve: no token');

# --- another workspace -------------------------------------------------------

my $other = $t->workspace(prefix => 'ts');
my $stranger = $other->admin;

problem_is($t->req(GET => $E, host => $ws->slug,
                   headers => { Authorization => "Bearer $stranger->{token}" }),
           401, 'unauthorized', "B's token on A's host");
problem_is($other->api($stranger, PATCH => "$E/$later->{id}",
                       json => { minutes => 1 }),
           404, 'not_found', "B's admin, A's entry id: 404");
problem_is($other->api($stranger, DELETE => "$E/$later->{id}"),
           404, 'not_found', "... nor deletes it");
problem_is($other->api($stranger, GET => "$W?week=$week&user_id=$carl->{id}"),
           404, 'not_found', "B's admin, A's user: no week");
problem_is($other->api($stranger, POST => "$W/approve",
                       json => { user_id => $cleo->{id},
                                 week => '2026-W49' }),
           404, 'not_found', "... nor approves it");
is(scalar @{ $other->api($stranger, GET => $E)->{json}{items} }, 0,
   "B's admin lists no entry of A's");
is(one('SELECT minutes FROM time_entries WHERE id = ?', $later->{id}), 60,
   "A's entry is unchanged");

# --- one's time stays out of the project's activity ----------------------------

{
    my $r = api($cleo, GET => "/api/v1/projects/$project->{id}/activity");
    is($r->{status}, 200, "the project's activity, read by another "
                          . 'contributor');
    ok(!grep({ $_->{entity_type} =~ /^(time_entry|timer|timesheet)$/ }
             @{ $r->{json}{items} // [] }),
       '... shows no one\'s time entries or timers');
}

# --- the weeks waiting for a decision ------------------------------------------

{
    for my $who ($carl, $cleo) {
        made(api($who, POST => $E, json => { date => '2026-07-21',
                                             minutes => 120 }), 'entry');
        made(api($who, POST => '/api/v1/timesheets/weekly/submit',
                 json => { week => '2026-W30' }), 'submit');
    }
    my $W = '/api/v1/timesheets/weeks';
    my $queue = sub {
        my ($who, $query) = @_;
        my $r = api($who, GET => $W . ($query ? "?$query" : ''));
        die "weeks: $r->{status} $r->{body}" unless $r->{status} == 200;
        return [ map { "$_->{user}{name} $_->{week}" }
                 grep { $_->{week} eq '2026-W30' } @{ $r->{json}{items} } ];
    };
    is_deeply($queue->($pam), [ 'Carl 2026-W30' ],
              "a manager's queue: their team's submitted weeks");
    is_deeply($queue->($quinn), [ 'Cleo 2026-W30' ], '... and another\'s');
    is_deeply([ sort @{ $queue->($admin, 'limit=200') } ],
              [ 'Carl 2026-W30', 'Cleo 2026-W30' ], "an admin's: everyone's");
    is_deeply($queue->($admin, "team_id=$beta->{id}&limit=200"),
              [ 'Cleo 2026-W30' ], '... or one team\'s');
    is_deeply($queue->($cleo), [ 'Cleo 2026-W30' ],
              'a contributor: their own');
    my $r = api($admin, GET => "$W?limit=1");
    is(scalar @{ $r->{json}{items} }, 1, 'pages of ?limit=');
    my $next = $r->{json}{next_cursor};
    ok($next, '... with a next_cursor');
    my $r2 = api($admin, GET => "$W?limit=1&cursor=$next");
    ok($r2->{json}{items}[0]
       && "$r2->{json}{items}[0]{user}{id} $r2->{json}{items}[0]{week}" ne
          "$r->{json}{items}[0]{user}{id} $r->{json}{items}[0]{week}",
       '... the next page goes on');
    made(api($pam, POST => '/api/v1/timesheets/weekly/approve',
             json => { user_id => $carl->{id}, week => '2026-W30' }),
         'approve');
    is_deeply($queue->($pam), [], 'approved: out of the queue');
    is_deeply($queue->($pam, 'status=approved'), [ 'Carl 2026-W30' ],
              '... and among the approved');
    problem_is(api($pam, GET => "$W?status=lost"), 422,
               'validation_failed', 'an unknown status: 422');
    problem_is(api($pam, GET => "$W?cursor=nonsense"), 400, 'bad_request',
               'a cursor this list did not give: 400');
    problem_is(api(undef, GET => $W), 401, 'unauthorized', 'no token: 401');
}

Kanban::Test->done_testing;
