#!/usr/bin/perl

# Working time (issue 25): target hours from a part-time pattern, lowered
# by a public holiday imported from an iCalendar file and by an approved
# absence (a requested one lowers nothing); the overtime balance carried
# week to week; breaks on entries and from a paused timer, each day
# checked against the break rules; the capacity of the utilisation report
# read from the same targets.
#
# Pat works part time from Monday 2 November 2026: Mon 8 h, Tue 8 h, Wed
# 4 h (20 h a week). Wednesday 4 November is a public holiday; Pat's
# vacation on Monday 9 and Tuesday 10 is approved.
#
#   week      target                    worked               overtime balance
#   2026-W45  480 + 480 + 0 (holiday)   Mon 600 (30 break),   +180     180
#             = 960                     Tue 480 (no break),
#                                       Thu 60 = 1140
#   2026-W46  0 + 0 (vacation) + 240    Wed 120              -120      60
#             = 240
#
# Tuesday's 8 hours without a break break the rule (30 minutes after 6 h).

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(made problem_is error_for);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'wkt');
my $dbh = $ws->dbh;

my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $pat = $ws->member('Pat');
my $cid = $ws->member('Cid');
my $other = $ws->member('Oz', 'project_manager');
$ws->team('Crew', $mia, $pat, $cid);
$ws->team('Other', $other);

sub api { $ws->api(@_) }

my $WT = '/api/v1/timesheets/working-time';
my $PAT = "/api/v1/users/$pat->{id}/work-pattern";

# --- the pattern ------------------------------------------------------------

problem_is(api($pat, PUT => $PAT, json => { minutes => [480, 480, 240, 0, 0, 0, 0],
                                            effective_from => '2026-11-02' }),
           403, 'forbidden', 'people do not set their own target');
my $r = api($admin, PUT => $PAT, json => { minutes => [480, 480, 240, 0, 0, 0],
                                           effective_from => '2026-11-02' });
problem_is($r, 422, 'validation_failed', 'six days are no week');
ok(error_for($r, 'minutes'), '... naming the field');
problem_is(api($admin, PUT => $PAT, json => { minutes => [480, 480, 240, 0, 0, 0, 1441],
                                              effective_from => '2026-11-02' }),
           422, 'validation_failed', 'a day has at most 1440 minutes');
my $p = made(api($admin, PUT => $PAT, json => {
    minutes => [480, 480, 240, 0, 0, 0, 0], effective_from => '2026-11-02' }),
    'pattern');
is($p->{patterns}[0]{weekly_minutes}, 1200, 'part time: 20 hours a week');
is_deeply(made(api($pat, GET => $PAT), 'own')->{current},
          [480, 480, 240, 0, 0, 0, 0], 'Pat reads their own week');
problem_is(api($other, GET => $PAT), 404, 'not_found',
           'a manager of another team does not see Pat');

# --- public holidays from an iCalendar file ----------------------------------

my $ics = join "\r\n", 'BEGIN:VCALENDAR', 'VERSION:2.0',
    'PRODID:-//Test//Holidays//EN',
    'BEGIN:VEVENT', 'UID:1@test', 'DTSTART;VALUE=DATE:20261104',
    'DTEND;VALUE=DATE:20261105', 'SUMMARY:Founders\, Day', 'END:VEVENT',
    'BEGIN:VEVENT', 'UID:2@test', 'DTSTART;VALUE=DATE:20261224',
    'DTEND;VALUE=DATE:20261227', 'SUMMARY:Christmas', '  holidays',
    'END:VEVENT', 'END:VCALENDAR', '';
my $bad = $ics =~ s/20261224/20261332/r;

sub import_ics {
    my ($who, $body) = @_;
    return api($who, POST => '/api/v1/holidays/import', body => $body,
               headers => { 'Content-Type' => 'text/calendar' });
}

problem_is(import_ics($mia, $ics), 403, 'forbidden', 'admins import holidays');
$r = import_ics($admin, $bad);
problem_is($r, 422, 'validation_failed', 'a date that is none: 422');
like($r->{json}{detail}, qr/^event 2: /, '... naming the event');
is_deeply(made(api($pat, GET => '/api/v1/holidays?from=2026-01-01&to=2026-12-31'),
               'none')->{items}, [], '... and nothing kept');
problem_is(import_ics($admin, 'no calendar'), 422, 'validation_failed',
           'text that is no calendar: 422');

my $imp = made(import_ics($admin, $ics), 'import');
is($imp->{imported}, 4, 'one day and three days');
is_deeply([map { "$_->{date} $_->{name}" }
           @{ made(api($pat, GET => '/api/v1/holidays?from=2026-11-01&to=2026-12-31'),
                   'list')->{items} }],
          ['2026-11-04 Founders, Day', '2026-12-24 Christmas holidays',
           '2026-12-25 Christmas holidays', '2026-12-26 Christmas holidays'],
          'named from SUMMARY (unfolded, unescaped), DTEND exclusive');
is(api($admin, DELETE => '/api/v1/holidays/2026-12-26')->{status}, 204,
   'an admin removes one');
problem_is(api($admin, DELETE => '/api/v1/holidays/2026-12-26'), 404,
           'not_found', '... once');

# --- absences: requested, decided like timesheets ---------------------------

my $A = '/api/v1/absences';
$r = api($pat, POST => $A, json => { kind => 'holiday', start_date => '2026-11-09',
                                     end_date => '2026-11-10' });
problem_is($r, 422, 'validation_failed', 'an unknown kind is 422');
problem_is(api($pat, POST => $A, json => { kind => 'vacation',
               start_date => '2026-11-10', end_date => '2026-11-09' }),
           422, 'validation_failed', 'backwards is 422');
my $vac = made(api($pat, POST => $A, json => { kind => 'vacation',
    start_date => '2026-11-09', end_date => '2026-11-10', note => 'Trip' }),
    'absence');
is($vac->{status}, 'requested', 'requested');
is($vac->{working_days}, 2, 'two of Pat\'s working days');
problem_is(api($pat, POST => $A, json => { kind => 'sick',
               start_date => '2026-11-10', end_date => '2026-11-12' }),
           409, 'conflict', 'an overlapping absence is 409');

# before the decision, the target is not lowered
my $w = made(api($pat, GET => "$WT?from=2026-11-09&to=2026-11-15"), 'wt');
is($w->{target_minutes}, 1200, 'a requested absence lowers nothing');

is_deeply([map { $_->{id} } @{ made(api($mia, GET => "$A?status=requested"),
                                    'queue')->{items} }],
          [$vac->{id}], 'the manager\'s queue');
problem_is(api($cid, POST => "$A/$vac->{id}/approve"), 403, 'forbidden',
           'a colleague does not approve');
problem_is(api($other, POST => "$A/$vac->{id}/approve"), 404, 'not_found',
           'a manager of another team does not see it');
problem_is(api($mia, POST => "$A/$vac->{id}/reject", json => { reason => '' }),
           422, 'validation_failed', 'a rejection says why');
my $ok = made(api($mia, POST => "$A/$vac->{id}/approve"), 'approve');
is($ok->{status}, 'approved', 'the manager approves');
is($ok->{decided_by}, $mia->{id}, '... and is recorded');
problem_is(api($mia, POST => "$A/$vac->{id}/approve"), 409, 'conflict',
           'decided once');

my $mine = made(api($mia, POST => $A, json => { kind => 'other',
    start_date => '2026-11-20', end_date => '2026-11-20' }), 'Mia');
problem_is(api($mia, POST => "$A/$mine->{id}/approve"), 403, 'forbidden',
           'nobody approves their own');
my $sick = made(api($cid, POST => $A, json => { kind => 'sick',
    start_date => '2026-11-02', end_date => '2026-11-03' }), 'Cid');
is(made(api($mia, POST => "$A/$sick->{id}/reject",
            json => { reason => 'Logged as work' }), 'reject')->{status},
   'rejected', 'a rejection with its reason');
problem_is(api($cid, POST => "$A/$sick->{id}/cancel"), 409, 'conflict',
           'a rejected absence is not cancelled');
is(made(api($mia, POST => "$A/$mine->{id}/cancel"), 'cancel')->{status},
   'cancelled', 'the person cancels their own');

# --- time and breaks --------------------------------------------------------

sub entry {
    my ($date, $minutes, $break) = @_;
    made(api($pat, POST => '/api/v1/timesheets/entries', json => {
        date => $date, minutes => $minutes,
        defined $break ? (break_minutes => $break) : () }), "entry $date");
}

problem_is(api($pat, POST => '/api/v1/timesheets/entries', json => {
               date => '2026-11-02', minutes => 60, break_minutes => 1441 }),
           422, 'validation_failed', 'a break longer than a day is 422');
my $mon = entry('2026-11-02', 600, 30);
is($mon->{break_minutes}, 30, 'an entry carries its break');
my $tue = entry('2026-11-03', 480);
is($tue->{break_minutes}, 0, 'no break by default');
entry('2026-11-05', 60);
entry('2026-11-11', 120);

$w = made(api($pat, GET => "$WT?from=2026-11-02&to=2026-11-15"), 'wt');
is($w->{balance_from}, '2026-11-02', 'the balance counts from the pattern');
is($w->{opening_balance_minutes}, 0, 'nothing before');
is_deeply([map { [@$_{qw(week target_minutes worked_minutes overtime_minutes
                         balance_minutes)}] } @{ $w->{weeks} }],
          [['2026-W45', 960, 1140, 180, 180], ['2026-W46', 240, 120, -120, 60]],
          'targets lowered by the holiday and the vacation; the balance carried');
is($w->{closing_balance_minutes}, 60, 'the balance at the end');
my %day = map { ($_->{date} => $_) } @{ $w->{days} };
is($day{'2026-11-04'}{day_off}, 'holiday', 'the holiday named');
is($day{'2026-11-09'}{day_off}, 'vacation', 'the vacation named');
ok($day{'2026-11-02'}{break_ok}, 'Monday: 10 h with 30 minutes of break');
ok(!$day{'2026-11-03'}{break_ok}, 'Tuesday: 8 h without a break breaks the rule');
is($day{'2026-11-03'}{required_break_minutes}, 30, '... which asks 30 minutes');
ok($day{'2026-11-05'}{break_ok}, 'an hour needs no break');
is($w->{break_violations}, 1, 'one day breaks the rule');

my $w2 = made(api($pat, GET => "$WT?from=2026-11-09&to=2026-11-15"), 'wt2');
is($w2->{opening_balance_minutes}, 180, 'the next week opens with the last\'s balance');
is($w2->{weeks}[0]{balance_minutes}, 60, '... and carries it on');

# patching a break puts Tuesday right
made(api($pat, PATCH => "/api/v1/timesheets/entries/$tue->{id}",
         json => { break_minutes => 30 }), 'patch break');
$w = made(api($pat, GET => "$WT?from=2026-11-02&to=2026-11-08"), 'wt');
is($w->{break_violations}, 0, 'a break added: the day keeps the rule');

# a stricter rule set: 45 minutes after 9 hours
problem_is(api($mia, PUT => '/api/v1/timesheets/break-rules',
               json => { rules => [] }), 403, 'forbidden', 'admins set the rules');
problem_is(api($admin, PUT => '/api/v1/timesheets/break-rules',
               json => { rules => [{ after_minutes => 360, break_minutes => 0 }] }),
           422, 'validation_failed', 'a break of nothing is 422');
problem_is(api($admin, PUT => '/api/v1/timesheets/break-rules',
               json => { rules => [{ after_minutes => 360, break_minutes => 30 },
                                   { after_minutes => 360, break_minutes => 45 }] }),
           422, 'validation_failed', 'two rules for one length are 422');
made(api($admin, PUT => '/api/v1/timesheets/break-rules', json => { rules => [
    { after_minutes => 540, break_minutes => 45 },
    { after_minutes => 360, break_minutes => 30 } ] }), 'rules');
is_deeply(made(api($pat, GET => '/api/v1/timesheets/break-rules'), 'get')->{rules},
          [{ after_minutes => 360, break_minutes => 30 },
           { after_minutes => 540, break_minutes => 45 }], 'the rules, shortest first');
$w = made(api($pat, GET => "$WT?from=2026-11-02&to=2026-11-08"), 'wt');
my ($monday) = grep { $_->{date} eq '2026-11-02' } @{ $w->{days} };
is($monday->{required_break_minutes}, 45, 'Monday\'s 10 hours now need 45 minutes');
ok(!$monday->{break_ok}, '... and 30 are not enough');

# who reads
problem_is(api($cid, GET => "$WT?user_id=$pat->{id}"), 403, 'forbidden',
           'a colleague does not read Pat\'s working time');
is(made(api($mia, GET => "$WT?user_id=$pat->{id}&from=2026-11-02&to=2026-11-08"),
        'manager')->{worked_minutes}, 1140, 'Pat\'s manager does');
problem_is(api($pat, GET => "$WT?from=2026-11-09&to=2026-11-01"), 400,
           'bad_request', 'a backwards period is 400');

# --- capacity in the utilisation report -------------------------------------

my $u = made(api($admin, GET => '/api/v1/timesheets/reports/utilization'
                                . '?from=2026-11-02&to=2026-11-15'), 'util');
my ($pu) = grep { $_->{user_id} eq $pat->{id} } @{ $u->{items} };
is($pu->{capacity_minutes}, 1200, 'capacity: the targets, holiday and vacation out');
my ($cu) = grep { $_->{user_id} eq $cid->{id} } @{ $u->{items} };
is($cu->{capacity_minutes}, 9 * 480, 'full time: 40 h over nine working days (a holiday)');

# --- capacity in the assignment suggestions ---------------------------------

# Pat away the whole of this week (approved): no free time this week;
# Cid, full time with nothing logged this week, has the week's targets
my $week_mon = $dbh->selectrow_array(
    q{SELECT date_trunc('week', workspace_today())::date::text});
my $week_sun = $dbh->selectrow_array(q{SELECT (?::date + 6)::text}, undef, $week_mon);
my $away = made(api($pat, POST => $A, json => { kind => 'vacation',
    start_date => $week_mon, end_date => $week_sun }), 'away');
made(api($mia, POST => "$A/$away->{id}/approve"), 'approve away');
my $proj = made(api($mia, POST => '/api/v1/projects', json => {
    key => 'CAP', name => 'Capacity' }), 'project');
my $task = made(api($mia, POST => "/api/v1/projects/$proj->{id}/tasks",
                    json => { title => 'Who takes it?' }), 'task');
my %free = map { ($_->{user}{name} => $_->{free_minutes}) } @{ made(api($mia,
    GET => "/api/v1/tasks/$task->{id}/assignee-suggestions"), 'sugg')->{items} };
is($free{Pat}, 0, 'suggestions: Pat away all week has no free time');
my $holidays = $dbh->selectrow_array(q{SELECT count(*) FROM public_holidays
    WHERE day BETWEEN ?::date AND ?::date AND extract(isodow FROM day) < 6},
    undef, $week_mon, $week_sun);
my $cid_logged = $dbh->selectrow_array(q{SELECT coalesce(sum(minutes), 0)
    FROM time_entries WHERE user_id = ? AND date BETWEEN ?::date AND ?::date},
    undef, $cid->{id}, $week_mon, $week_sun);
is($free{Cid}, 480 * (5 - $holidays) - $cid_logged,
   'Cid: this week\'s targets less what is logged');

# --- the timer pauses --------------------------------------------------------

my $T = '/api/v1/timesheets/timer';
made(api($cid, POST => "$T/start", json => { description => 'Paused work' }), 'start');
problem_is(api($cid, POST => "$T/resume"), 409, 'conflict', 'not paused: resume is 409');
my $timer = made(api($cid, POST => "$T/pause"), 'pause');
ok($timer->{paused}, 'paused');
problem_is(api($cid, POST => "$T/pause"), 409, 'conflict', 'paused twice: 409');
# as if it had started 90 minutes ago and been paused for the last 30
$dbh->do(q{UPDATE timers SET started_at = now() - interval '90 minutes',
                             paused_at = now() - interval '30 minutes'
            WHERE user_id = ? AND stopped_at IS NULL}, undef, $cid->{id});
$timer = made(api($cid, POST => "$T/resume"), 'resume');
ok(!$timer->{paused}, 'running again');
is($timer->{break_minutes}, 30, 'its pause counted');
is($timer->{elapsed_minutes}, 60, 'and left out of its time');
my $e = made(api($cid, POST => "$T/stop"), 'stop');
is($e->{minutes}, 60, 'the entry: the time it ran less its pause');
is($e->{break_minutes}, 30, '... with the pause as its break');
problem_is(api($cid, POST => "$T/pause"), 404, 'not_found', 'no timer: 404');

$t->done_testing;
