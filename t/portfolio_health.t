#!/usr/bin/perl

# Project health (issue 19): GET /api/v1/projects/{id}/health derives it
# from the risk rules, with the reasons; one or two rules make a project
# at_risk, three off_track. The people risks (bus factor by open work and
# by skill, skills gap) are in the same list, also in the portfolio
# overview's flags. A project manager of the project overrides the health
# with a note (a contributor and the manager of another team cannot),
# and deletes the override. A change of health, made by a write or only
# by time passing, is kept, is a project.health_changed event and a
# notification to the project's owner.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use Kanban::Test qw(made problem_is);
use Kanban::Clock qw(today days_from);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'health');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $otto = $ws->member('Otto', 'project_manager');
my $carl = $ws->member('Carl');
my $dora = $ws->member('Dora');
my $team = $ws->team('Payments team', $mia, $carl, $dora);
$ws->team('Other team', $otto);

sub api { $ws->api(@_) }

my $today = today();

my $pay = made(api($mia, POST => '/api/v1/projects',
                   json => { key => 'PAY', name => 'Payments',
                             team_id => $team->{id}, status => 'active',
                             owner_id => $mia->{id} }), 'project');
my $path = "/api/v1/projects/$pay->{id}/health";

sub health { made(api($_[0] // $carl, GET => $path), 'health') }
sub rules { [ sort map { $_->{rule} } @{ $_[0]{reasons} } ] }

sub changes {
    my $items = made(api($mia, GET => '/api/v1/notifications'),
                     'inbox')->{items};
    return [ map { "$_->{data}{from}>$_->{data}{to}" }
             grep { $_->{kind} eq 'health_changed' } reverse @$items ];
}

# --- on track, then blocked tasks --------------------------------------------

my $h = health();
is($h->{health}, 'on_track', 'a new project is on track');
is_deeply($h->{reasons}, [], '... for no reason');
ok(!exists $h->{override}, '... and nobody overrode it');

my @tasks = map { made(api($mia, POST => "/api/v1/projects/$pay->{id}/tasks",
                           json => { title => "Pay $_" }), 'task') } 1 .. 5;
# the writes that change the health are the admin's: nobody is told of a
# change their own write made. A write checks a project at most once a
# second: the one that makes the change comes a second after the others.
for my $k (@tasks[0 .. 2]) {
    sleep 1.1 if $k == $tasks[2];
    made(api($admin, PATCH => "/api/v1/tasks/$k->{id}",
             json => { blocked => JSON::XS::true(),
                       blocked_reason => 'waiting for the bank' }), 'block');
}
is_deeply(changes(), ['on_track>at_risk'],
          'the owner is notified as the write commits');

$h = health($carl);
is($h->{health}, 'at_risk', 'three blocked tasks: at risk (a contributor reads)');
is_deeply(rules($h), ['blocked_tasks'], '... for that rule');
is($h->{reasons}[0]{text}, '3 tasks are blocked', '... said in words');
is_deeply([ sort map { $_->{key} } @{ $h->{reasons}[0]{evidence}{tasks} } ],
          [ sort map { $_->{key} } @tasks[0 .. 2] ], '... with the tasks');
my ($events) = $dbh->selectrow_array(
    "SELECT count(*) FROM events WHERE type = 'project.health_changed'
        AND data->>'health' = 'at_risk' AND data->>'previous' = 'on_track'");
is($events, 1, '... and the change is an event');
my ($kept) = $dbh->selectrow_array(
    "SELECT count(*) FROM project_health_changes WHERE project_id = ?
        AND previous = 'on_track' AND health = 'at_risk'
        AND rules = '[\"blocked_tasks\"]'", undef, $pay->{id});
is($kept, 1, '... kept with the rule that made it');
my ($audit) = $dbh->selectrow_array(
    "SELECT count(*) FROM activity_log WHERE entity_id = ?
        AND action NOT IN ('created', 'updated')", undef, $tasks[2]{id});
is($audit, 0, '... and the write that made it has its one audit row');

# --- a milestone overdue by time alone; a bus factor by open work -----------------

made(api($mia, POST => "/api/v1/projects/$pay->{id}/milestones",
         json => { name => 'Go-live', due_date => days_from($today, 5) }),
     'milestone');
# time passes: the milestone's day goes by with no write to the project
$dbh->do("UPDATE milestones SET due_date = ? WHERE project_id = ?", undef,
         days_from($today, -1), $pay->{id});
is_deeply(rules(health()), [qw(blocked_tasks overdue_milestones)],
          'a milestone overdue since yesterday: two rules');
is(health()->{health}, 'at_risk', '... still at risk');
is_deeply(changes(), ['on_track>at_risk'], '... and no new notification');

# Carl holds 600 of the 720 open estimated minutes (83 %); Dora 60, and
# half of a shared 120-minute task each
sleep 1.1;
made(api($admin, PATCH => "/api/v1/tasks/$tasks[3]{id}",
         json => { estimate_minutes => 600, assignee_ids => [ $carl->{id} ] }),
     'estimate');
made(api($admin, PATCH => "/api/v1/tasks/$tasks[4]{id}",
         json => { estimate_minutes => 120,
                   assignee_ids => [ $carl->{id}, $dora->{id} ] }),
     'estimate');
is_deeply(changes(), ['on_track>at_risk', 'at_risk>off_track'],
          'the owner is told of the second change');
$h = health();
is($h->{health}, 'off_track', 'three rules: off track');
my ($bus) = grep { $_->{rule} eq 'bus_factor' } @{ $h->{reasons} };
is($bus->{text}, 'Carl holds 92% of the open estimated work',
   'bus factor: Carl holds (600 + 60) of 720 minutes');
is($bus->{evidence}{figures}{held_minutes}, 660, '... his minutes');
is($bus->{evidence}{figures}{open_estimate_minutes}, 720, '... of all open');
is($bus->{evidence}{people}[0]{id}, $carl->{id}, '... who');

# Mia's own write that changes the health is no news to her (a second
# after the last write checked the project: else the read below would
# be the first to see the change, and it is nobody's)
sleep 1.1;
made(api($mia, PATCH => "/api/v1/tasks/$tasks[0]{id}",
         json => { blocked => JSON::XS::false() }), 'unblock');
is(health()->{health}, 'at_risk', 'two blocked tasks left: at risk');
sleep 1.1;
made(api($mia, PATCH => "/api/v1/tasks/$tasks[0]{id}",
         json => { blocked => JSON::XS::true() }), 'block');
is(health()->{health}, 'off_track', '... blocked again: off track');
is_deeply(changes(), ['on_track>at_risk', 'at_risk>off_track'],
          '... and she, who made both changes, is told of neither');

# --- people risks by skill --------------------------------------------------------

my $k8s = made(api($admin, POST => '/api/v1/skills',
                   json => { name => 'Kubernetes' }), 'skill');
my $tf = made(api($admin, POST => '/api/v1/skills',
                  json => { name => 'Terraform' }), 'skill');
is(api($admin, PUT => "/api/v1/users/$carl->{id}/skills",
       json => [ { skill_id => $k8s->{id}, level => 4 },
                 { skill_id => $tf->{id}, level => 1 } ])->{status},
   200, 'Carl: Kubernetes 4, Terraform 1');
is(api($admin, PUT => "/api/v1/users/$dora->{id}/skills",
       json => [ { skill_id => $k8s->{id}, level => 2 } ])->{status},
   200, 'Dora: Kubernetes 2');
# Otto (another team) has Terraform 5: not the team's
is(api($admin, PUT => "/api/v1/users/$otto->{id}/skills",
       json => [ { skill_id => $tf->{id}, level => 5 } ])->{status},
   200, 'Otto: Terraform 5');
made(api($mia, PATCH => "/api/v1/tasks/$tasks[3]{id}",
         json => { required_skills => [ { skill_id => $k8s->{id},
                                          level => 3 } ] }), 'needs');
made(api($mia, PATCH => "/api/v1/tasks/$tasks[4]{id}",
         json => { required_skills => [ { skill_id => $tf->{id},
                                          level => 2 } ] }), 'needs');

$h = health();
my @bus = grep { $_->{rule} eq 'bus_factor' } @{ $h->{reasons} };
my ($only) = grep { $_->{evidence}{skills} } @bus;
is($only->{text}, 'only Carl in the team has Kubernetes at level 3',
   'bus factor by skill: Kubernetes 3 needed, Dora has 2');
is_deeply($only->{evidence}{tasks}, [ $tasks[3]{key} ], '... for which task');
my ($gap) = grep { $_->{rule} eq 'skills_gap' } @{ $h->{reasons} };
is($gap->{text}, 'nobody in the team has Terraform at level 2',
   'skills gap: Carl has Terraform 1, Otto is of another team');

my $ov = made(api($carl, GET => '/api/v1/portfolio/overview'), 'overview');
my ($row) = grep { $_->{id} eq $pay->{id} } @{ $ov->{projects} };
is($row->{health}, 'off_track', 'the overview has the health');
is_deeply([ sort map { $_->{rule} } @{ $row->{risk_flags} } ],
          [ qw(blocked_tasks bus_factor bus_factor overdue_milestones
               skills_gap) ], '... and the people risks among its flags');

# --- the override ---------------------------------------------------------------

my $over = "$path/override";
problem_is(api($carl, PUT => $over,
               json => { health => 'on_track', note => 'fine' }),
           403, 'forbidden', 'a contributor cannot override');
problem_is(api($otto, PUT => $over,
               json => { health => 'on_track', note => 'fine' }),
           403, 'forbidden', 'nor a manager of another team');
problem_is(api($mia, PUT => $over,
               json => { health => 'splendid', note => 'fine' }),
           422, 'validation_failed', 'an unknown health');
problem_is(api($mia, PUT => $over, json => { health => 'on_track' }),
           422, 'validation_failed', 'no note');
problem_is(api($mia, PUT => $over,
               json => { health => 'on_track', note => 'x' x 2001 }),
           422, 'validation_failed', 'a note too long');
problem_is(api($mia, PUT => '/api/v1/projects/'
                            . '00000000-0000-4000-8000-000000000000'
                            . '/health/override',
               json => { health => 'on_track', note => 'fine' }),
           404, 'not_found', 'an unknown project');
problem_is(api($carl, GET => '/api/v1/projects/not-a-uuid/health'),
           404, 'not_found', 'not a project id');

my $r = api($mia, PUT => $over,
            json => { health => 'at_risk',
                      note => 'The bank unblocks them on Monday.' });
is($r->{status}, 200, 'the manager overrides');
is($r->{json}{health}, 'at_risk', '... the health is hers');
is($r->{json}{derived_health}, 'off_track', "... the rules' stays visible");
is($r->{json}{override}{note}, 'The bank unblocks them on Monday.',
   '... with her note');
is($r->{json}{override}{set_by}{id}, $mia->{id}, '... and her name');
is(health($carl)->{health}, 'at_risk', 'everyone reads the override');
is_deeply(changes(), ['on_track>at_risk', 'at_risk>off_track'],
          'her own override is no news to her');
$ov = made(api($carl, GET => '/api/v1/portfolio/overview'), 'overview');
($row) = grep { $_->{id} eq $pay->{id} } @{ $ov->{projects} };
is($row->{health}, 'at_risk', '... the overview too');

$r = api($admin, DELETE => $over);
is($r->{status}, 200, 'an admin removes the override');
is($r->{json}{health}, 'off_track', "... back to the rules' health");
ok(!exists $r->{json}{override}, '... none left');
is_deeply(changes(),
          ['on_track>at_risk', 'at_risk>off_track', 'at_risk>off_track'],
          "the owner hears of the admin's change");
problem_is(api($carl, DELETE => $over), 403, 'forbidden',
           'a contributor cannot remove one');

Kanban::Test->done_testing;
