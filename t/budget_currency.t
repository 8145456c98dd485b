#!/usr/bin/perl

# Rates with a currency (issue 25): a rate is in an ISO 4217 currency,
# the workspace's by default; a project bills in one currency (its
# budget's, else the workspace's) at the rates of that currency only, so
# no figure or report adds two currencies; a rate of one project in
# another currency is 422, as is a code not in use.
#
# The fixture: the workspace in USD; Dan with a USD rate of 100 and a CHF
# rate of 90 from 2026-01-01; project ZRH budgeted in CHF, project NYC
# without a budget (so in USD); one billable hour of Dan's on each.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'cur');

my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $dan = $ws->member('Dan');
my $team = $ws->team('Money', $mia, $dan);

sub api { $ws->api(@_) }

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}"
        unless $r->{status} == 201 || $r->{status} == 200;
    return $r->{json};
}

my $R = '/api/v1/billing/rates';

# --- the workspace's currency ----------------------------------------------

is(made(api($admin, GET => '/api/v1/workspace'), 'ws')->{currency}, 'EUR',
   'a workspace is in EUR until an admin says otherwise');
problem_is(api($admin, PATCH => '/api/v1/workspace',
               json => { currency => 'XYZ' }),
           422, 'validation_failed', 'a code not in ISO 4217 is 422');
problem_is(api($admin, PATCH => '/api/v1/workspace',
               json => { currency => 'usd' }),
           422, 'validation_failed', 'lower case is 422');
problem_is(api($admin, PATCH => '/api/v1/workspace',
               json => { currency => 'DOLLARS' }),
           422, 'validation_failed', 'more than three letters is 422');
is(made(api($admin, PATCH => '/api/v1/workspace',
            json => { currency => 'USD' }), 'USD')->{currency}, 'USD',
   'an admin sets it');
is(made(api($admin, GET => '/api/v1/workspace'), 'ws')->{currency}, 'USD',
   '... and it is read back');

# --- rates -----------------------------------------------------------------

problem_is(api($admin, POST => $R, json => { hourly_rate => 1,
               currency => 'ABC', effective_from => '2026-01-01' }),
           422, 'validation_failed', 'a rate in a currency that is none: 422');
my $usd = made(api($admin, POST => $R, json => { hourly_rate => 100,
                   user_id => $dan->{id}, effective_from => '2026-01-01' }),
               'usd rate');
is($usd->{currency}, 'USD', 'a rate without a currency: the workspace\'s');
my $chf = made(api($admin, POST => $R, json => { hourly_rate => 90,
                   user_id => $dan->{id}, currency => 'CHF',
                   effective_from => '2026-01-01' }), 'chf rate');
is($chf->{currency}, 'CHF', 'the same person and day in another currency');
problem_is(api($admin, POST => $R, json => { hourly_rate => 95,
               user_id => $dan->{id}, currency => 'CHF',
               effective_from => '2026-01-01' }),
           409, 'conflict', 'twice in one currency is 409');

my $zrh = made(api($mia, POST => '/api/v1/projects', json => {
    key => 'ZRH', name => 'Zurich', team_id => $team->{id} }), 'zrh');
my $nyc = made(api($mia, POST => '/api/v1/projects', json => {
    key => 'NYC', name => 'New York', team_id => $team->{id} }), 'nyc');

problem_is(api($mia, PUT => "/api/v1/projects/$zrh->{id}/budget",
               json => { amount => 500, currency => 'ZZZ' }),
           422, 'validation_failed', 'a budget in no currency is 422');
my $b = made(api($mia, PUT => "/api/v1/projects/$zrh->{id}/budget",
                 json => { amount => 500, currency => 'CHF' }), 'budget');
is($b->{currency}, 'CHF', 'ZRH is budgeted in CHF');

for my $p ($zrh, $nyc) {
    made(api($dan, POST => '/api/v1/timesheets/entries', json => {
        project_id => $p->{id}, date => '2026-11-02', minutes => 60,
        billable => \1 }), "entry on $p->{key}");
}

# --- each project in its own currency, never added together -----------------

$b = made(api($mia, GET => "/api/v1/projects/$zrh->{id}/budget"), 'zrh');
is($b->{billable_amount}, 90, 'ZRH bills Dan\'s hour at his CHF rate');
is($b->{remaining_amount}, 410, '... its remaining money in CHF');
is(made(api($mia, GET => "/api/v1/projects/$zrh->{id}"), 'p')->{budget}
       {currency}, 'CHF', 'the project carries its figures\' currency');

my $rep = made(api($mia, GET => "/api/v1/projects/$zrh->{id}/billable-report"
                               . '?from=2026-11-01&to=2026-11-30'), 'rep');
is($rep->{currency}, 'CHF', 'the report of ZRH is in CHF');
is($rep->{lines}[0]{hourly_rate}, 90, '... at the CHF rate');
is($rep->{total_amount}, 90, '... and its total is of CHF only');

$rep = made(api($mia, GET => "/api/v1/projects/$nyc->{id}/billable-report"
                            . '?from=2026-11-01&to=2026-11-30'), 'rep');
is($rep->{currency}, 'USD', 'NYC without a budget bills in the workspace\'s');
is($rep->{total_amount}, 100, '... at the USD rate');

my $r = api($mia, GET => "/api/v1/projects/$nyc->{id}/billable-report"
                         . '?from=2026-11-01&to=2026-11-30&format=csv');
like($r->{body}, qr/,Total,,,60,,100\.00,USD\r\n\z/,
     'the CSV\'s total names its one currency');

# --- a rate of one project must be in its currency --------------------------

$r = api($admin, POST => $R, json => { hourly_rate => 70,
         project_id => $zrh->{id}, currency => 'EUR',
         effective_from => '2026-01-01' });
problem_is($r, 422, 'validation_failed',
           'a EUR rate for a project billed in CHF is 422');
like($r->{json}{detail}, qr/bills in CHF/, '... saying which currency');
problem_is(api($admin, POST => $R, json => { hourly_rate => 70,
               project_id => $zrh->{id}, effective_from => '2026-01-01' }),
           422, 'validation_failed',
           '... the workspace\'s default (USD) included');

# --- a budget's currency changes which rates apply ---------------------------

made(api($mia, PUT => "/api/v1/projects/$zrh->{id}/budget",
         json => { amount => 500, currency => 'USD' }), 'to USD');
$b = made(api($mia, GET => "/api/v1/projects/$zrh->{id}"), 'zrh')->{budget};
is($b->{currency}, 'USD', 'ZRH moved to USD');
is($b->{billable_amount}, 100, '... bills at the USD rate from then on');

# a project with no rate in its currency bills nothing, counted as unrated
made(api($mia, PUT => "/api/v1/projects/$zrh->{id}/budget",
         json => { amount => 500, currency => 'GBP' }), 'to GBP');
$rep = made(api($mia, GET => "/api/v1/projects/$zrh->{id}/billable-report"
                               . '?from=2026-11-01&to=2026-11-30'), 'rep');
is($rep->{total_amount}, 0, 'no GBP rate: nothing billed, no other money added');
is($rep->{unrated_lines}, 1, '... and the entry is counted as unrated');

$t->done_testing;
