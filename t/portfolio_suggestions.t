#!/usr/bin/perl

# Skills for assignment (issue 19): a task's required_skills are set when
# it is made or changed (validated: a known skill, once, level 1 to 5) and
# read with it; GET /api/v1/tasks/{id}/assignee-suggestions ranks the
# project's team by skill match, free capacity this week and work in
# progress, with the reasons in words. Fixture worked out by hand below.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(made problem_is error_for);
use Kanban::Clock qw(today);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'suggest');
my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $carl = $ws->member('Carl');
my $dora = $ws->member('Dora');
my $eve = $ws->member('Eve');
my $zed = $ws->member('Zed');                    # not of the team
my $team = $ws->team('Platform team', $mia, $carl, $dora, $eve);

sub api { $ws->api(@_) }

my $k8s = made(api($admin, POST => '/api/v1/skills',
                   json => { name => 'Kubernetes' }), 'skill');
my $go = made(api($admin, POST => '/api/v1/skills', json => { name => 'Go' }),
              'skill');
my %skills = (
    $carl->{id} => [ [ $k8s, 4 ], [ $go, 2 ] ],
    $dora->{id} => [ [ $k8s, 3 ], [ $go, 3 ] ],
    $eve->{id}  => [ [ $k8s, 1 ] ],
    $zed->{id}  => [ [ $k8s, 5 ], [ $go, 5 ] ],
);
for my $id (keys %skills) {
    made(api($admin, PUT => "/api/v1/users/$id/skills",
             json => [ map { { skill_id => $_->[0]{id}, level => $_->[1] } }
                       @{ $skills{$id} } ]), 'skills');
}

my $proj = made(api($mia, POST => '/api/v1/projects',
                    json => { key => 'PLAT', name => 'Platform',
                              team_id => $team->{id} }), 'project');
my %col = map { $_->{category} => $_ }
          @{ api($mia, GET => "/api/v1/projects/$proj->{id}/columns")
             ->{json}{items} };

# --- required skills on the task ------------------------------------------------

my $tasks = "/api/v1/projects/$proj->{id}/tasks";
my $r = api($mia, POST => $tasks,
            json => { title => 'Cluster upgrade',
                      required_skills => [
                          { skill_id => $k8s->{id}, level => 3 },
                          { skill_id => $go->{id}, level => 2 } ] });
is($r->{status}, 201, 'a task made with required skills');
my $task = $r->{json};
is_deeply([ map { "$_->{name} $_->{level}" } @{ $task->{required_skills} } ],
          [ 'Go 2', 'Kubernetes 3' ], '... answered with their names');
is_deeply([ map { "$_->{name} $_->{level}" }
            @{ api($carl, GET => "/api/v1/tasks/$task->{id}")
               ->{json}{required_skills} } ],
          [ 'Go 2', 'Kubernetes 3' ], '... and read with it');

my $nobody = '00000000-0000-4000-8000-000000000000';
problem_is(api($mia, POST => $tasks,
               json => { title => 'x', required_skills => [
                             { skill_id => $nobody, level => 3 } ] }),
           422, 'validation_failed', 'an unknown skill');
problem_is(api($mia, POST => $tasks,
               json => { title => 'x', required_skills => [
                             { skill_id => $go->{id}, level => 3 },
                             { skill_id => $go->{id}, level => 4 } ] }),
           422, 'validation_failed', 'a skill named twice');
$r = api($mia, POST => $tasks,
         json => { title => 'x', required_skills => [
                       { skill_id => $go->{id}, level => 6 } ] });
problem_is($r, 422, 'validation_failed', 'a level above 5');
ok(error_for($r, 'required_skills[0].level'), '... naming the field');
problem_is(api($mia, POST => $tasks,
               json => { title => 'x', required_skills => [
                             { skill_id => $go->{id} } ] }),
           422, 'validation_failed', 'no level');
problem_is(api($mia, PATCH => "/api/v1/tasks/$task->{id}",
               json => { required_skills => [ { skill_id => 'k8s',
                                                level => 2 } ] }),
           422, 'validation_failed', 'not a skill id');
problem_is(api($mia, POST => $tasks,
               json => { title => 'x',
                         required_skills => [ (map { {
                             skill_id => $go->{id}, level => 1 } } 1 .. 21) ]
                       }),
           422, 'validation_failed', 'more than 20');
is(scalar @{ api($mia, GET => "$tasks?limit=200")->{json}{items} }, 1,
   'nothing refused was made');

my $spare = made(api($mia, POST => $tasks,
                     json => { title => 'Spare',
                               required_skills => [
                                   { skill_id => $go->{id}, level => 1 } ] }),
                 'task');
$r = api($mia, PATCH => "/api/v1/tasks/$spare->{id}",
         json => { required_skills => undef });
is($r->{status}, 200, 'null clears them');
is_deeply($r->{json}{required_skills}, [], '... none left');

# --- the suggestions ------------------------------------------------------------

# Carl: 600 minutes of open work in progress and 2 h logged this week, so
# 2400 - 120 - 600 = 1680 minutes (28 h) free; Dora: nothing, 40 h free
my $busy = made(api($mia, POST => $tasks,
                    json => { title => 'Busy', estimate_minutes => 600,
                              column_id => $col{in_progress}{id},
                              assignee_ids => [ $carl->{id} ] }), 'task');
made(api($carl, POST => '/api/v1/timesheets/entries',
         json => { date => today(), minutes => 120,
                   task_id => $busy->{id} }), 'time');

$r = api($carl, GET => "/api/v1/tasks/$task->{id}/assignee-suggestions");
is($r->{status}, 200, 'a contributor reads the suggestions');
my @items = @{ $r->{json}{items} };
is_deeply([ map { $_->{user}{name} } @items ], [qw(Dora Carl Eve Mia)],
          'the team ranked: both skills met, then the free time, then '
          . 'the closest levels; Zed is of no team of the project');
is($items[0]{summary},
   'Go 3 of 2 needed; Kubernetes 3 of 3 needed; 40 h free this week; '
   . '0 tasks in progress', 'Dora: why');
is($items[1]{summary},
   'Go 2 of 2 needed; Kubernetes 4 of 3 needed; 28 h free this week; '
   . '1 task in progress', 'Carl: why');
is($items[1]{free_minutes}, 1680, '... his free minutes');
is($items[1]{in_progress}, 1, '... his work in progress');
is($items[2]{summary},
   'no Go, 2 needed; Kubernetes 1 of 3 needed; 40 h free this week; '
   . '0 tasks in progress', 'Eve: why');
is($items[2]{skills_met}, 0, '... no skill met');
is($items[3]{summary},
   'no Go, 2 needed; no Kubernetes, 3 needed; 40 h free this week; '
   . '0 tasks in progress', 'Mia: why');

# Carl over capacity: 40 h more estimated on his open tasks
made(api($mia, POST => $tasks,
         json => { title => 'More', estimate_minutes => 2400,
                   assignee_ids => [ $carl->{id} ] }), 'task');
@items = @{ api($carl, GET => "/api/v1/tasks/$task->{id}/assignee-suggestions")
            ->{json}{items} };
my ($c) = grep { $_->{user}{id} eq $carl->{id} } @items;
is($c->{free_minutes}, -720, 'Carl is 12 h over');
like($c->{summary}, qr/; 12 h over capacity this week;/, '... said so');

problem_is(api($carl, GET => "/api/v1/tasks/$nobody/assignee-suggestions"),
           404, 'not_found', 'an unknown task');

# --- the people risks, from the task's required skills ------------------------------

# Kubernetes 3: Carl and Dora have it, Go 2: Carl and Dora; Go 4 only Zed,
# who is of no team of the project
made(api($mia, PATCH => "/api/v1/tasks/$spare->{id}",
         json => { required_skills => [ { skill_id => $go->{id},
                                          level => 4 } ] }), 'patch');
my $h = made(api($carl, GET => "/api/v1/projects/$proj->{id}/health"),
             'health');
my ($gap) = grep { $_->{rule} eq 'skills_gap' } @{ $h->{reasons} };
is($gap && $gap->{text}, 'nobody in the team has Go at level 4',
   'a skills gap from the required skills');

Kanban::Test->done_testing;
