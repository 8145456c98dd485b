#!/usr/bin/perl

# A budget's figures wherever its project is shown (issue 25): the
# project (GET /projects/{id} and the list) and the portfolio report
# carry spent, billable and remaining for the project's managers and
# admins, kept up to date by every write of time (an entry added,
# changed, deleted) and of rates; a rate dated in the past checks the
# budget's thresholds at once, not at the next entry.
#
# The fixture: project FIG (manager Mia, team with Dan), budget 10 h and
# 200 EUR; project NOB without a budget. Default rate 50.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'fig');

my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $pam = $ws->member('Pam', 'project_manager');
my $dan = $ws->member('Dan');
my $team = $ws->team('Figures', $mia, $dan);
$ws->team('Elsewhere', $pam);

sub api { $ws->api(@_) }

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}"
        unless $r->{status} == 201 || $r->{status} == 200
            || $r->{status} == 204;
    return $r->{json};
}

my $fig = made(api($mia, POST => '/api/v1/projects', json => {
    key => 'FIG', name => 'Figures', team_id => $team->{id},
    owner_id => $mia->{id}, status => 'active' }), 'project');
my $nob = made(api($mia, POST => '/api/v1/projects', json => {
    key => 'NOB', name => 'No budget', team_id => $team->{id},
    status => 'active' }), 'project');
my $P = "/api/v1/projects/$fig->{id}";

sub entry {
    my ($who, $pid, $date, $minutes, $billable) = @_;
    made(api($who, POST => '/api/v1/timesheets/entries', json => {
        project_id => $pid, date => $date, minutes => $minutes,
        billable => $billable ? \1 : \0 }), "entry $date");
}

sub listed {
    my ($who, $pid) = @_;
    my ($p) = grep { $_->{id} eq $pid }
        @{ made(api($who, GET => '/api/v1/projects?limit=200'),
                'list')->{items} };
    return $p;
}

# --- in the project and the list ------------------------------------------

made(api($mia, PUT => "$P/budget", json => { hours => 10, amount => 200 }),
     'budget');
my $p = made(api($mia, GET => $P), 'project');
is_deeply($p->{budget}, {
    hours => 10, amount => 200, currency => 'EUR', spent_minutes => 0,
    billable_minutes => 0, billable_amount => 0, remaining_minutes => 600,
    remaining_amount => 200, hours_used => 0, amount_used => 0 },
    'a new budget: nothing spent, all of it remaining');

entry($dan, $fig->{id}, '2026-11-02', 120, 1);
entry($dan, $fig->{id}, '2026-11-03', 60, 0);
my $gone = entry($dan, $fig->{id}, '2026-11-04', 30, 1);
entry($dan, $nob->{id}, '2026-11-04', 45, 1);

$p = made(api($mia, GET => $P), 'project');
is($p->{budget}{spent_minutes}, 210, 'spent: every minute logged on it');
is($p->{budget}{billable_minutes}, 150, 'billable minutes');
is($p->{budget}{billable_amount}, 0, 'no rate yet: nothing billed');
is($p->{budget}{remaining_minutes}, 390, 'remaining minutes');

my $b = made(api($mia, GET => "$P/budget"), 'budget');
is($p->{budget}{$_}, $b->{$_}, "the project's $_ is the budget's")
    for qw(spent_minutes billable_minutes billable_amount remaining_minutes
           remaining_amount hours_used);

my $l = listed($mia, $fig->{id});
is_deeply($l->{budget}, $p->{budget}, 'the list carries the same figures');
ok(!exists listed($mia, $nob->{id})->{budget},
   'a project without a budget has none in the list');
ok(!exists made(api($mia, GET => "/api/v1/projects/$nob->{id}"),
                'nob')->{budget}, '... nor on its own');
is(listed($admin, $fig->{id})->{budget}{spent_minutes}, 210,
   'an admin reads them');
ok(!exists listed($dan, $fig->{id})->{budget},
   'a contributor reads the project without its money');
ok(!exists made(api($dan, GET => $P), 'dan')->{budget},
   '... on its own too');
ok(defined api($dan, GET => $P)->{headers}{etag},
   'without figures the project has its ETag (its version)');
ok(!defined api($mia, GET => $P)->{headers}{etag},
   'with them none: a time entry moves them, not the version');
ok(!exists made(api($pam, GET => $P), 'pam')->{budget},
   'nor does the manager of another team');

# --- kept by every write of time ------------------------------------------

made(api($dan, DELETE => "/api/v1/timesheets/entries/$gone->{id}"),
     'delete');
is(listed($mia, $fig->{id})->{budget}{spent_minutes}, 180,
   'a deleted entry leaves the figures');

# --- a rate dated in the past: billed and checked at once ------------------

made(api($admin, POST => '/api/v1/billing/rates', json => {
    hourly_rate => 50, effective_from => '2026-01-01' }), 'rate');
$p = made(api($mia, GET => $P), 'project');
is($p->{budget}{billable_amount}, 100, 'a new rate bills the past entries');
is($p->{budget}{remaining_amount}, 100, '... and the remaining money drops');

my @alerts = grep { $_->{kind} eq 'budget_alert' }
    @{ made(api($mia, GET => '/api/v1/notifications'), 'notes')->{items} };
is(scalar @alerts, 0, 'half of the money: no alert');

made(api($admin, POST => '/api/v1/billing/rates', json => {
    hourly_rate => 90, project_id => $fig->{id},
    effective_from => '2026-10-01' }), 'project rate');
$b = made(api($mia, GET => "$P/budget"), 'budget');
is($b->{billable_amount}, 180, 'a project rate from October rebills November');
is_deeply([map { "$_->{measure} $_->{threshold}" } @{ $b->{alerts} }],
          ['amount 80'],
          'the rate crossed 80 % of the money: recorded at once');
@alerts = grep { $_->{kind} eq 'budget_alert' }
    @{ made(api($mia, GET => '/api/v1/notifications'), 'notes')->{items} };
is(scalar @alerts, 1, 'the manager is notified when the rate is made');
is($alerts[0]{data}{measure}, 'amount', '... of the money');

my ($rate) = @{ made(api($admin, GET => "/api/v1/billing/rates"
                                       . "?project_id=$fig->{id}"),
                     'rates')->{items} };
made(api($admin, DELETE => "/api/v1/billing/rates/$rate->{id}"), 'unrate');
is(listed($mia, $fig->{id})->{budget}{billable_amount}, 100,
   'a removed rate: the figures fall back to the default');

# --- the portfolio report ---------------------------------------------------

my $rep = made(api($mia, GET => '/api/v1/portfolio/report'), 'report');
my %by = map { ($_->{key} => $_) } @{ $rep->{projects} };
is($by{FIG}{budget}{spent_minutes}, 180, 'the portfolio: spent per project');
is($by{FIG}{budget}{remaining_amount}, 100, '... and remaining money');
ok(!exists $by{NOB}{budget}, '... none for a project without a budget');
$rep = made(api($dan, GET => '/api/v1/portfolio/report'), 'report');
%by = map { ($_->{key} => $_) } @{ $rep->{projects} };
ok($by{FIG} && !exists $by{FIG}{budget},
   'a contributor reads the portfolio without budgets');

$t->done_testing;
