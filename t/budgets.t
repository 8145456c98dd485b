#!/usr/bin/perl

# Budgets and billable rates (issue 25): a project's budget in hours and
# money crossing 80 % and 100 %, each notified (and mailed through the
# outbox) to its manager once; rates per person, role and project with the
# dates they take effect, a rate changed mid-period billing the days
# before it at the old one; the billable report as JSON, CSV and a
# printable page; who may read and set them.
#
# The fixture, project BUD (manager Mia), November 2026:
#
#   rates   default 50 from 2026-01-01; contributors 60 from 2026-01-01;
#           Dan 100 from 2026-01-01, Dan 120 from 2026-11-16 (mid-period);
#           Eve on BUD 80 from 2026-01-01
#   time    Dan 2-11 120 min billable  -> 2 h x 100 = 200.00
#           Dan 2-11-18 60 min billable -> 1 h x 120 = 120.00
#           Eve 2026-11-10 90 min billable -> 1.5 h x 80 = 120.00
#           Eve 2026-11-11 30 min not billable
#   budget  hours 5, amount 1000

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(made problem_is error_for);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'bud');
my $dbh = $ws->dbh;

my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $pam = $ws->member('Pam', 'project_manager');
my $dan = $ws->member('Dan');
my $eve = $ws->member('Eve');
my $team = $ws->team('Builders', $mia, $dan, $eve);
$ws->team('Elsewhere', $pam);

sub api { $ws->api(@_) }

my $project = made(api($mia, POST => '/api/v1/projects', json => {
    key => 'BUD', name => 'Budgeted <b>work</b>', team_id => $team->{id},
    owner_id => $mia->{id} }), 'project');
my $B = "/api/v1/projects/$project->{id}/budget";
my $R = '/api/v1/billing/rates';
my $REP = "/api/v1/projects/$project->{id}/billable-report";

# --- rates: admins only, validated ----------------------------------------

problem_is(api($mia, POST => $R, json => { hourly_rate => 1,
               effective_from => '2026-01-01' }),
           403, 'forbidden', 'a manager does not set rates');
problem_is(api($admin, POST => $R, json => { hourly_rate => -1,
               effective_from => '2026-01-01' }),
           422, 'validation_failed', 'a negative rate is 422');
problem_is(api($admin, POST => $R, json => { hourly_rate => 1,
               effective_from => '2026-13-01' }),
           422, 'validation_failed', 'a date that is none is 422');
problem_is(api($admin, POST => $R, json => { hourly_rate => 1,
               role => 'wizard', effective_from => '2026-01-01' }),
           422, 'validation_failed', 'a role that is none is 422');
problem_is(api($admin, POST => $R, json => { hourly_rate => 1,
               role => 'contributor', user_id => $dan->{id},
               effective_from => '2026-01-01' }),
           422, 'validation_failed', 'a person and a role at once is 422');

sub rate { made(api($admin, POST => $R, json => { @_ }), "rate @_") }
rate(hourly_rate => 50, effective_from => '2026-01-01');
rate(hourly_rate => 60, role => 'contributor', effective_from => '2026-01-01');
rate(hourly_rate => 100, user_id => $dan->{id}, effective_from => '2026-01-01');
my $eve_rate = rate(hourly_rate => 80, user_id => $eve->{id},
                    project_id => $project->{id},
                    effective_from => '2026-01-01');
is($eve_rate->{hourly_rate}, 80, 'a rate is made with its amount');
problem_is(api($admin, POST => $R, json => { hourly_rate => 99,
               user_id => $dan->{id}, effective_from => '2026-01-01' }),
           409, 'conflict', 'a second rate of one scope and day is 409');

# --- time, then a rate changed mid-period ---------------------------------

sub entry {
    my ($who, $date, $minutes, $billable) = @_;
    made(api($who, POST => '/api/v1/timesheets/entries', json => {
        project_id => $project->{id}, date => $date, minutes => $minutes,
        billable => $billable ? \1 : \0, description => "work $date" }),
        "entry $date");
}

entry($dan, '2026-11-02', 120, 1);
entry($eve, '2026-11-10', 90, 1);
entry($eve, '2026-11-11', 30, 0);

my $before = made(api($mia, GET => "$REP?from=2026-11-01&to=2026-11-30"),
                  'report');
is($before->{total_amount}, 320, 'before the change: 2 h x 100 + 1.5 h x 80');

rate(hourly_rate => 120, user_id => $dan->{id}, effective_from => '2026-11-16');
entry($dan, '2026-11-18', 60, 1);

my $rep = made(api($mia, GET => "$REP?from=2026-11-01&to=2026-11-30"),
               'report');
is($rep->{total_minutes}, 270, 'billable minutes: the not billable left out');
is($rep->{total_amount}, 440, 'the new rate bills only the days from its date');
my %by = map { ($_->{date} => $_) } @{ $rep->{lines} };
is($by{'2026-11-02'}{hourly_rate}, 100, 'Dan before the 16th: 100');
is($by{'2026-11-18'}{hourly_rate}, 120, 'Dan from the 16th: 120');
is($by{'2026-11-10'}{hourly_rate}, 80, 'Eve on BUD: her project rate');
my %people = map { ($_->{person} => $_) } @{ $rep->{people} };
is($people{Dan}{amount}, 320, 'Dan in total');
is($people{Eve}{amount}, 120, 'Eve in total');
is($rep->{currency}, 'EUR', 'EUR without a budget');

my $nov = made(api($mia, GET => "$REP?from=2026-11-16&to=2026-11-30"),
               'second half');
is($nov->{total_amount}, 120, 'a narrower period: only its days');

# a person without any own rate falls to the role, then the default
my $ann = $ws->member('Ann', 'project_manager');
entry($ann, '2026-11-20', 60, 1);
$rep = made(api($admin, GET => "$REP?from=2026-11-20&to=2026-11-20"), 'Ann');
is($rep->{lines}[0]{hourly_rate}, 50, 'a manager: the default rate');

# --- CSV and the printable page -------------------------------------------

my $r = api($mia, GET => "$REP?from=2026-11-01&to=2026-11-19&format=csv");
is($r->{status}, 200, 'CSV');
like($r->{headers}{'content-type'}, qr{^text/csv}, '... as text/csv');
like($r->{headers}{'content-disposition'},
     qr/attachment; filename="billable-BUD-2026-11-01-2026-11-19\.csv"/,
     '... a download named after the project and period');
my @rows = split /\r\n/, $r->{body};
is($rows[0], 'date,person,task,description,minutes,hourly_rate,amount,currency',
   'the header row');
is($rows[1], '2026-11-02,Dan,,work 2026-11-02,120,100.00,200.00,EUR',
   'a line at its rate');
is($rows[-1], ',Total,,,270,,440.00,EUR', 'the total row');

$r = api($mia, GET => "$REP?from=2026-11-01&to=2026-11-19",
         headers => { Accept => 'text/csv' });
like($r->{headers}{'content-type'}, qr{^text/csv}, 'Accept: text/csv too');

$r = api($mia, GET => "$REP?from=2026-11-01&to=2026-11-19&format=html");
is($r->{status}, 200, 'the printable page');
like($r->{headers}{'content-type'}, qr{^text/html}, '... is HTML');
like($r->{body}, qr/Budgeted &lt;b&gt;work&lt;\/b&gt;/,
     '... with the project\'s name escaped');
like($r->{body}, qr/440\.00 EUR/, '... and the total');
problem_is(api($mia, GET => "$REP?format=pdf"), 400, 'bad_request',
           'another format is 400');
problem_is(api($mia, GET => "$REP?from=2026-11-30&to=2026-11-01"), 400,
           'bad_request', 'a backwards period is 400');
problem_is(api($pam, GET => $REP), 403, 'forbidden',
           'the manager of another team does not read it');
problem_is(api($dan, GET => $REP), 403, 'forbidden',
           'nor does a contributor (the route is for managers)');

# --- the budget: 80 % and 100 %, once each --------------------------------

problem_is(api($dan, PUT => $B, json => { hours => 5 }), 403, 'forbidden',
           'a contributor does not set a budget');
problem_is(api($pam, PUT => $B, json => { hours => 5 }), 403, 'forbidden',
           'nor the manager of another team');
problem_is(api($mia, PUT => $B, json => { hours => 0 }), 422,
           'validation_failed', 'a budget of nothing is 422');
problem_is(api($mia, PUT => $B, json => { hours => 5, currency => 'eu' }),
           422, 'validation_failed', 'a currency that is none is 422');
problem_is(api($mia, PUT => $B, json => { hours => 5, tip => 1 }),
           422, 'validation_failed', 'an unknown field is 422');

sub alerts_of {
    my ($who) = @_;
    return grep { $_->{kind} eq 'budget_alert' }
        @{ made(api($who, GET => '/api/v1/notifications'), 'notes')->{items} };
}
sub mails { $dbh->selectrow_array(q{SELECT count(*) FROM mail_outbox
    WHERE kind = 'notification' AND subject LIKE 'Budget: BUD%'}) }

# spent so far: 120 + 90 + 30 + 60 + 60 = 360 minutes = 6 h
my $b = made(api($mia, PUT => $B, json => { hours => 10, amount => 1000 }),
             'budget');
is($b->{spent_minutes}, 360, 'spent: every minute logged on the project');
is($b->{billable_minutes}, 330, 'billable minutes');
is($b->{billable_amount}, 490, 'billable money at each day\'s rate');
is($b->{remaining_minutes}, 240, 'remaining hours');
is($b->{remaining_amount}, 510, 'remaining money');
is_deeply($b->{alerts}, [], '60 %: no alert');
is(scalar alerts_of($mia), 0, 'nobody notified');

entry($dan, '2026-11-24', 120, 0);               # 480 min: 80 %
$b = made(api($mia, GET => $B), 'budget');
is($b->{hours_used}, 0.8, '80 % of the hours used');
is_deeply([map { "$_->{measure} $_->{threshold}" } @{ $b->{alerts} }],
          ['hours 80'], 'the 80 % threshold recorded');
my @n = alerts_of($mia);
is(scalar @n, 1, 'the manager is notified once');
is($n[0]{data}{threshold}, 80, '... of 80 %');
is($n[0]{data}{measure}, 'hours', '... of the hours');
is(mails(), 1, '... and mailed through the outbox');

entry($eve, '2026-11-24', 30, 0);                # 85 %: no second alert
is(scalar alerts_of($mia), 1, 'more time under 100 %: no second alert');

entry($dan, '2026-11-25', 90, 0);                # 600 min: 100 %
entry($dan, '2026-11-26', 30, 0);                # past 100 %
@n = alerts_of($mia);
is(scalar @n, 2, '100 % notified, and once only');
is(mails(), 2, 'two mails in all');
$b = made(api($mia, GET => $B), 'budget');
is($b->{remaining_minutes}, -30, 'remaining goes below zero: overspent');
is_deeply([sort map { "$_->{measure} $_->{threshold}" } @{ $b->{alerts} }],
          ['hours 100', 'hours 80'], 'both thresholds recorded');

# money: 490 of 1000; a lower budget crosses 80 % at once
$b = made(api($mia, PUT => $B, json => { hours => 10, amount => 600 }),
          'lower money');
is_deeply([sort map { "$_->{measure} $_->{threshold}" } @{ $b->{alerts} }],
          ['amount 80', 'hours 100', 'hours 80'],
          'a lowered money budget crosses 80 % when it is set');
is(scalar alerts_of($mia), 3, '... and notifies it');

# a raised budget forgets what it no longer reaches, and warns again
$b = made(api($mia, PUT => $B, json => { hours => 20, amount => 600 }),
          'raise');
is_deeply([sort map { "$_->{measure} $_->{threshold}" } @{ $b->{alerts} }],
          ['amount 80'], 'raised hours: their thresholds are forgotten');
is(scalar alerts_of($mia), 3, 'no notification for a raise');

# parallel writes crossing together: still one alert
made(api($mia, PUT => $B, json => { hours => 12, amount => 600 }), 'set 12');
# 660 of 720 min; each of these two passes 100 % (720)
my @c = map { $ws->send_api($_, POST => '/api/v1/timesheets/entries',
                  json => { project_id => $project->{id},
                            date => '2026-11-27', minutes => 60 }) }
        ($dan, $eve);
Kanban::Test::wait_all(\@c, 30);
is(join(',', sort map { $_->response->{status} } @c), '201,201',
   'two entries in parallel');
my $hours100 = $dbh->selectrow_array(q{SELECT count(*) FROM notifications
    WHERE kind = 'budget_alert' AND data->>'measure' = 'hours'
      AND data->>'threshold' = '100'});
is($hours100, 2, 'crossing 100 % in parallel: one more alert, not two');

# --- reading ---------------------------------------------------------------

problem_is(api($dan, GET => $B), 403, 'forbidden',
           'a contributor does not read the budget');
problem_is(api($pam, GET => $B), 403, 'forbidden',
           'nor the manager of another team');
problem_is(api($mia, GET => '/api/v1/projects/00000000-0000-0000-0000-'
                            . '000000000000/budget'),
           404, 'not_found', 'no such project');

my $list = made(api($admin, GET => "$R?user_id=$dan->{id}"), 'rates');
is_deeply([map { $_->{hourly_rate} } @{ $list->{items} }], [120, 100],
          'a person\'s rates, newest first');
problem_is(api($mia, GET => $R), 403, 'forbidden', 'rates are for admins');
is(api($admin, DELETE => "$R/$eve_rate->{id}")->{status}, 204,
   'a rate is removed');
$rep = made(api($mia, GET => "$REP?from=2026-11-10&to=2026-11-10"), 'Eve');
is($rep->{lines}[0]{hourly_rate}, 60, '... Eve falls back to her role\'s');
problem_is(api($admin, DELETE => "$R/$eve_rate->{id}"), 404, 'not_found',
           'removed once');

$t->done_testing;
