#!/usr/bin/perl

# A week's portfolio report shared with people without an account (issue
# 19): a manager or admin makes the link (a contributor cannot); the
# outsider reads the report read-only, as JSON and as the /shared/ page,
# without ids or evidence; last week's is frozen, this week's live; the
# password, max visits, expiry and revoke refuse as for any link; the
# visits are counted for the link's analytics.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made problem_is);
use Kanban::Clock qw(today days_from iso_week monday);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'repshare');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $carl = $ws->member('Carl');
my $team = $ws->team('Payments team', $mia, $carl);

sub api { $ws->api(@_) }

sub create {
    my ($who, %body) = @_;
    return api($who, POST => '/api/v1/share-links', json => \%body);
}

sub visit {
    my ($code, %o) = @_;
    my $method = delete $o{method} // 'GET';
    return $t->req($method => "/s/$code", host => $slug, %o);
}

sub shared {
    my ($code, $cookie) = @_;
    return $t->req(GET => "/api/v1/shared/$code", host => $slug,
                   headers => { Accept => 'application/json',
                                $cookie ? (Cookie => $cookie) : () });
}

my $today = today();
my $this = iso_week($today);
my $last = iso_week(days_from(monday($today), -7));
my $next = iso_week(days_from(monday($today), 7));

my $pay = made(api($mia, POST => '/api/v1/projects',
                   json => { key => 'PAY', name => 'Payments',
                             status => 'active', team_id => $team->{id},
                             owner_id => $mia->{id} }), 'project');
made(api($mia, POST => "/api/v1/projects/$pay->{id}/updates",
         json => { health => 'at_risk',
                   text => 'The bank answers Monday.' }), 'update');

###########################################################################
# making one

problem_is(create($carl, report_week => $this), 403, 'forbidden',
           'a contributor cannot share the report');
problem_is(create($mia, report_week => $next), 422, 'validation_failed',
           'a week not yet started: 422');
problem_is(create($mia, report_week => '2026-W60'), 422, 'validation_failed',
           'no such week: 422');
problem_is(create($mia, report_week => 'last week'), 422,
           'validation_failed', 'not an ISO week: 422');
problem_is(create($mia, report_week => $this, project_id => $pay->{id}), 422,
           'validation_failed', 'a week and a project: 422');

my $live = made(create($mia, report_week => $this), 'this week');
is($live->{target_type}, 'report', 'target_type report');
is($live->{report_week}, $this, 'report_week this week');
is($live->{target_id}, undef, 'no target_id');
my $mine = made(api($mia, GET => "/api/v1/share-links/$live->{id}"), 'one');
is($mine->{report_week}, $this, 'the link reads back');
is_deeply([ map { $_->{id} } @{ api($mia, GET =>
              "/api/v1/share-links?report_week=$this")->{json}{items} } ],
          [ $live->{id} ], "listed among this week's report links");
is_deeply(api($mia, GET => "/api/v1/share-links?report_week=$last")
          ->{json}{items}, [], "not among last week's");

###########################################################################
# an outsider reads this week's report, live

my $r = visit($live->{code});
is($r->{status}, 302, 'the short link: 302');
like($r->{headers}{location} // '', qr{/shared/\Q$live->{code}\E$},
     'to the shared page');

$r = shared($live->{code});
is($r->{status}, 200, 'the report as JSON: 200');
my $rep = $r->{json}{report};
is($r->{json}{type}, 'report', 'type report');
is($rep->{week}, $this, 'of this week');
ok(!$rep->{frozen}, 'live, not frozen');
is_deeply([ map { $_->{key} } @{ $rep->{projects} } ], ['PAY'],
          'the active project');
is($rep->{projects}[0]{latest_update}{text}, 'The bank answers Monday.',
   'with its latest update');
is($rep->{projects}[0]{latest_update}{author}, 'Mia', 'by name');
unlike($r->{body}, qr/"id"|"evidence"|@/, 'no ids, no evidence, no emails');
unlike($r->{body}, qr/\Q$pay->{id}\E|\Q$mia->{id}\E/, 'not even inside');

made(api($mia, PATCH => "/api/v1/projects/$pay->{id}",
         json => { name => 'Payments 2' }), 'rename');
is(shared($live->{code})->{json}{report}{projects}[0]{name}, 'Payments 2',
   "this week's report follows the writes");

$r = $t->req(GET => "/shared/$live->{code}", host => $slug);
is($r->{status}, 200, 'the shared page: 200');
like($r->{headers}{'content-type'}, qr{^text/html}, 'HTML');
$r = $t->req(GET => '/shared.js', host => $slug);
like($r->{body}, qr/Portfolio report/, 'whose script shows a report');

###########################################################################
# last week's, frozen, behind a password

my $locked = made(create($mia, report_week => $last,
                         password => 'steering'), 'last week');
ok($locked->{has_password}, 'has_password');
problem_is(shared($locked->{code}), 401, 'unauthorized',
           'without the password: 401');
$r = visit($locked->{code}, method => 'POST',
           json => { password => 'nope nope' },
           headers => { Accept => 'application/json' });
is($r->{status}, 401, 'a wrong password: 401');
$r = visit($locked->{code}, method => 'POST',
           json => { password => 'steering' });
is($r->{status}, 302, 'the right password: 302');
my ($grant) = map { /^([^;]+)/ }
              grep { /^kanban_grant_\Q$locked->{code}\E=/ }
              @{ $r->{header_list}{'set-cookie'} // [] };
ok($grant, 'with a grant cookie');

$r = shared($locked->{code}, $grant);
is($r->{status}, 200, 'with the grant: 200');
is($r->{json}{report}{week}, $last, "last week's report");
ok($r->{json}{report}{frozen}, 'frozen');
my $before = $r->{body};
made(api($mia, PATCH => "/api/v1/projects/$pay->{id}",
         json => { name => 'Payments 3' }), 'rename again');
is(shared($locked->{code}, $grant)->{body}, $before,
   'and unchanged by later writes');

###########################################################################
# max visits, expiry, revoke, analytics

my $once = made(create($admin, report_week => $this, max_visits => 1),
                'once');
is(visit($once->{code})->{status}, 302, 'an admin makes one too; visit 1');
is(visit($once->{code})->{status}, 410, 'max_visits 1: the second is 410');

my $soon = made(create($mia, report_week => $this, expires_in_seconds => 1),
                'soon');
is(shared($soon->{code})->{status}, 200, 'open before its expiry');
sleep 2.2;
is(visit($soon->{code})->{status}, 410, 'expired: the short link 410');
problem_is(shared($soon->{code}), 410, 'gone', 'and the report 410');

is(api($mia, DELETE => "/api/v1/share-links/$live->{id}")->{status}, 204,
   'revoked');
is(visit($live->{code})->{status}, 410, 'revoked: the short link 410');
problem_is(shared($live->{code}), 410, 'gone', 'and the report 410');

my $visits = 0;
for (1 .. 30) {
    $visits = api($mia, GET => "/api/v1/share-links/$live->{id}/analytics")
              ->{json}{visits};
    last if $visits;
    sleep 0.2;
}
is($visits, 1, "the live link's visit is in its analytics");

done_testing;
