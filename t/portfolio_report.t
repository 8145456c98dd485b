#!/usr/bin/perl

# The weekly status report (issue 19): GET /api/v1/portfolio/report?week=
# for every active project, as JSON and CSV; last week's is frozen at its
# first reading and unchanged by any later write, this week's is live.
# Fixture worked out by hand, dated from Kanban::Clock.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(made problem_is);
use Kanban::Clock qw(today days_from iso_week monday);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'report');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $carl = $ws->member('Carl');
my $team = $ws->team('Payments team', $mia, $carl);

sub api { $ws->api(@_) }

my $today = today();
my $mon = days_from(monday($today), -7);          # last week's Monday
my $last = iso_week($mon);
my $this = iso_week($today);
sub at { "$_[0] 12:00:00+00" }

my $pay = made(api($mia, POST => '/api/v1/projects',
                   json => { key => 'PAY', name => 'Payments',
                             status => 'active', team_id => $team->{id},
                             owner_id => $mia->{id},
                             start_date => days_from($today, -30),
                             due_date => days_from($today, 30) }), 'project');
made(api($mia, POST => '/api/v1/projects',
         json => { key => 'IDEA', name => 'Someday', status => 'planning' }),
     'project');
my %col = map { $_->{category} => $_ }
          @{ api($mia, GET => "/api/v1/projects/$pay->{id}/columns")
             ->{json}{items} };
my @tasks = map { made(api($mia, POST => "/api/v1/projects/$pay->{id}/tasks",
                           json => { title => "Pay $_" }), 'task') } 1 .. 4;

# two tasks done last Wednesday: half of the work
sub done_last_week {
    my ($k) = @_;
    made(api($mia, PATCH => "/api/v1/tasks/$k->{id}/move",
             json => { column_id => $col{done}{id} }), 'done');
    $dbh->do('UPDATE tasks SET completed_at = ? WHERE id = ?', undef,
             at(days_from($mon, 2)), $k->{id});
}
done_last_week($_) for @tasks[0, 1];

# Design achieved last Tuesday; Beta due last Thursday, missed; Go-live next
my $design = made(api($mia, POST => "/api/v1/projects/$pay->{id}/milestones",
                      json => { name => 'Design',
                                due_date => days_from($mon, 1) }), 'ms');
made(api($mia, PATCH => "/api/v1/milestones/$design->{id}",
         json => { status => 'achieved' }), 'achieved');
made(api($mia, POST => "/api/v1/projects/$pay->{id}/milestones",
         json => { name => 'Beta', due_date => days_from($mon, 3) }), 'ms');
made(api($mia, POST => "/api/v1/projects/$pay->{id}/milestones",
         json => { name => 'Go-live', due_date => days_from($today, 10) }),
     'ms');

# last Friday's update
my $upd = made(api($mia, POST => "/api/v1/projects/$pay->{id}/updates",
                   json => { health => 'at_risk',
                             text => '=Beta slipped; the bank answers Monday.' }),
               'update');
$dbh->do('UPDATE project_updates SET created_at = ?, week = ? WHERE id = ?',
         undef, at(days_from($mon, 4)), $last, $upd->{id});

# Carl logged 4 h last Monday: 240 of the team's 2 x 2400 minutes
made(api($carl, POST => '/api/v1/timesheets/entries',
         json => { date => $mon, minutes => 240,
                   task_id => $tasks[2]{id} }), 'time');

# --- last week's report --------------------------------------------------------------

my $r = api($carl, GET => "/api/v1/portfolio/report?week=$last");
is($r->{status}, 200, 'a contributor reads last week\'s report');
my $rep = $r->{json};
is($rep->{week}, $last, '... of that week');
is($rep->{from}, $mon, '... from its Monday');
ok($rep->{frozen}, '... frozen, the week having ended');
is_deeply([ map { $_->{key} } @{ $rep->{projects} } ], ['PAY'],
          'the active projects only');
my $p = $rep->{projects}[0];
is($p->{progress}{work_done_pct}, 50, 'progress: 2 of 4 tasks done');
is($p->{changes}{tasks_done}, 2, '... both in that week');
is_deeply([ map { $_->{name} } @{ $p->{milestones}{done} } ], ['Design'],
          'the milestone done');
is_deeply([ map { $_->{name} } @{ $p->{milestones}{missed} } ], ['Beta'],
          'the milestone missed');
is_deeply([ map { $_->{name} } @{ $p->{milestones}{next} } ], ['Go-live'],
          'the milestone next');
is($p->{latest_update}{text}, '=Beta slipped; the bank answers Monday.',
   "the week's latest update");
is_deeply($p->{utilisation},
          { logged_minutes => 240, capacity_minutes => 4800, rate => 0.05 },
          "the team's utilisation that week");
is($p->{health}, 'at_risk', 'the health: a milestone overdue');
is_deeply($p->{top_risks}, ['1 milestones are overdue'], '... its top risk');

# --- later writes change nothing of it ------------------------------------------------

done_last_week($tasks[2]);
made(api($carl, POST => '/api/v1/timesheets/entries',
         json => { date => days_from($mon, 1), minutes => 480,
                   task_id => $tasks[3]{id} }), 'time');
my $later = made(api($mia, POST => "/api/v1/projects/$pay->{id}/updates",
                     json => { health => 'on_track', text => 'Rewritten.' }),
                 'update');
$dbh->do('UPDATE project_updates SET created_at = ?, week = ? WHERE id = ?',
         undef, at(days_from($mon, 5)), $last, $later->{id});
is_deeply(made(api($admin, GET => "/api/v1/portfolio/report?week=$last"),
               'again'), $rep, 'last week\'s report never changes');

# --- this week's is live --------------------------------------------------------------

my $now = made(api($carl, GET => '/api/v1/portfolio/report'), 'this week');
is($now->{week}, $this, 'this week by default');
ok(!$now->{frozen}, '... not frozen');
is($now->{projects}[0]{progress}{work_done_pct}, 75, '... with the later '
   . 'writes: 3 of 4 done');
is($now->{projects}[0]{latest_update}{text}, 'Rewritten.',
   '... and the latest update');

# --- CSV ------------------------------------------------------------------------------

$r = api($carl, GET => "/api/v1/portfolio/report?week=$last",
         headers => { Accept => 'text/csv' });
is($r->{status}, 200, 'CSV by Accept');
like($r->{headers}{'content-type'}, qr{^text/csv}, '... as text/csv');
my @lines = split /\r\n/, $r->{body};
is($lines[0], 'week,key,name,health,work_done_pct,time_elapsed_pct,'
              . 'milestones_done,milestones_missed,next_milestone,top_risks,'
              . 'tasks_done,utilisation,latest_update', '... its header');
like($lines[1], qr/^\Q$last\E,PAY,Payments,at_risk,50,\d+,1,1,Go-live,1 milestones are overdue,2,0.0500,'=Beta slipped; the bank answers Monday\.$/,
     '... a row a project, the formula defused');
is(scalar @lines, 2, '... and no other');
is(api($carl, GET => "/api/v1/portfolio/report?week=$last&format=csv")
   ->{body}, $r->{body}, 'format=csv: the same');

# --- refusals -------------------------------------------------------------------------

problem_is(api($carl, GET => '/api/v1/portfolio/report?week=banana'),
           422, 'validation_failed', 'not a week');
problem_is(api($carl, GET => '/api/v1/portfolio/report?week=2026-W60'),
           422, 'validation_failed', 'no such week');
problem_is(api($carl, GET => '/api/v1/portfolio/report?week='
                             . iso_week(days_from($today, 14))),
           422, 'validation_failed', 'a week to come');
problem_is(api($carl, GET => '/api/v1/portfolio/report?format=xml'),
           422, 'validation_failed', 'an unknown format');

Kanban::Test->done_testing;
