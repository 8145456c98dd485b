#!/usr/bin/perl

# Absences decided and half days (issue 25): the approval or rejection of
# an absence notifies the person who asked (a notification and an email
# through the outbox, as an approved timesheet does; the rejection with
# its reason); a half day's absence lowers that day's target by half.
#
# The fixture: Pat works 8 h Monday to Friday from 2026-11-02; Mia
# manages Pat's team. Week 2026-W47 (16 to 22 November): a half day of
# vacation on Monday 16th (approved), sick on 18th and 19th (rejected).

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'abd');
my $dbh = $ws->dbh;

my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $pat = $ws->member('Pat');
$ws->team('Crew', $mia, $pat);

sub api { $ws->api(@_) }

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}"
        unless $r->{status} == 201 || $r->{status} == 200;
    return $r->{json};
}

my $A = '/api/v1/absences';
my $WT = '/api/v1/timesheets/working-time';

made(api($admin, PUT => "/api/v1/users/$pat->{id}/work-pattern",
         json => { minutes => [480, 480, 480, 480, 480, 0, 0],
                   effective_from => '2026-11-02' }), 'pattern');

sub decided_of {
    my ($who) = @_;
    return grep { $_->{kind} eq 'absence_decided' }
        @{ made(api($who, GET => '/api/v1/notifications'), 'notes')->{items} };
}

sub mails_to {
    my ($who) = @_;
    return @{ $dbh->selectcol_arrayref(q{SELECT subject FROM mail_outbox
        WHERE kind = 'notification' AND to_addr = ? ORDER BY created_at},
        undef, $who->{email}) };
}

# --- half days ----------------------------------------------------------------

problem_is(api($pat, POST => $A, json => { kind => 'vacation',
               start_date => '2026-11-16', end_date => '2026-11-17',
               half_day => \1 }),
           422, 'validation_failed', 'a half day of two days is 422');
problem_is(api($pat, POST => $A, json => { kind => 'vacation',
               start_date => '2026-11-16', end_date => '2026-11-16',
               half_day => 'yes' }),
           422, 'validation_failed', 'half_day is true or false');
my $half = made(api($pat, POST => $A, json => { kind => 'vacation',
    start_date => '2026-11-16', end_date => '2026-11-16', half_day => \1 }),
    'half day');
ok($half->{half_day}, 'a half day is requested');
my $sick = made(api($pat, POST => $A, json => { kind => 'sick',
    start_date => '2026-11-18', end_date => '2026-11-19' }), 'sick');
ok(!$sick->{half_day}, 'an absence is of whole days by default');

is(scalar decided_of($pat), 0, 'a request notifies Pat of nothing');

# --- the decisions, told to Pat -------------------------------------------------

made(api($mia, POST => "$A/$half->{id}/approve"), 'approve');
my @n = decided_of($pat);
is(scalar @n, 1, 'the approval notifies Pat');
is($n[0]{actor}{name}, 'Mia', '... from Mia');
is($n[0]{data}{status}, 'approved', '... approved');
is($n[0]{data}{absence_id}, $half->{id}, '... which absence');
is($n[0]{data}{absence_kind}, 'vacation', '... of what kind');
ok($n[0]{data}{half_day}, '... a half day');
is_deeply([mails_to($pat)],
          ['Mia approved your absence (vacation, 2026-11-16, half a day)'],
          '... and mails Pat through the outbox');
is(scalar decided_of($mia), 0, 'Mia is not told of her own decision');

made(api($mia, POST => "$A/$sick->{id}/reject",
         json => { reason => 'Please call in sick by phone' }), 'reject');
@n = sort { $a->{data}{status} cmp $b->{data}{status} } decided_of($pat);
is(scalar @n, 2, 'the rejection notifies Pat too');
is($n[1]{data}{status}, 'rejected', '... rejected');
is($n[1]{data}{reason}, 'Please call in sick by phone', '... with the reason');
is((mails_to($pat))[1],
   'Mia rejected your absence (sick, 2026-11-18 to 2026-11-19): '
   . 'Please call in sick by phone',
   '... mailed with the days and the reason');

made(api($pat, POST => "$A/$half->{id}/cancel"), 'cancel own');
is(scalar decided_of($pat), 2, 'a cancellation notifies nobody');

# Pat's own choice: no mail for decisions
my $again = made(api($pat, POST => $A, json => { kind => 'other',
    start_date => '2026-11-27', end_date => '2026-11-27' }), 'other');
made(api($pat, PUT => '/api/v1/me/mail-preferences',
         json => { kinds => { absence_decided => 'never' } }), 'prefs');
made(api($mia, POST => "$A/$again->{id}/approve"), 'approve other');
is(scalar decided_of($pat), 3, 'notified in the app');
is(scalar(mails_to($pat)), 2, '... but not mailed: Pat said never');

# --- the target: half a day lowered by half ----------------------------------------

my $half2 = made(api($pat, POST => $A, json => { kind => 'vacation',
    start_date => '2026-11-16', end_date => '2026-11-16', half_day => \1 }),
    'half day again');
my $w = made(api($pat, GET => "$WT?from=2026-11-16&to=2026-11-22"), 'wt');
is($w->{weeks}[0]{target_minutes}, 2400, 'requested: the week owes 40 h');
made(api($mia, POST => "$A/$half2->{id}/approve"), 'approve again');
$w = made(api($pat, GET => "$WT?from=2026-11-16&to=2026-11-22"), 'wt');
my %day = map { ($_->{date} => $_) } @{ $w->{days} };
is($day{'2026-11-16'}{target_minutes}, 240, 'the half day owes 4 h of 8');
is($day{'2026-11-16'}{day_off}, 'vacation', '... and is named');
is($day{'2026-11-18'}{target_minutes}, 480, 'a rejected absence lowers nothing');
is($w->{weeks}[0]{target_minutes}, 2160, 'the week owes 36 h');

$t->done_testing;
