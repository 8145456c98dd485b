#!/usr/bin/perl

# Templates, over the real nginx, PostgreSQL and Redis: a project saved as
# a template and a project started from it, compared part by part
# (columns and WIP limits, swimlanes, labels, custom fields, milestones,
# tasks with subtasks, dependencies, and dates moved to the new start);
# the built-in templates (Kanban, Scrum, IT project, incident follow-up)
# each start a project; task templates add their checklist to a task.
# Who may do what, and bad input, get their problem.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'tpl');
sub api { $ws->api(@_) }

my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');

# --- the project to save ------------------------------------------------------------

my $src = made(api($admin, POST => '/api/v1/projects',
                   json => { key => 'SRC', name => 'Office move',
                             start_date => '2026-03-02' }), 'project');
my $sid = $src->{id};
my %col = map { $_->{category} => $_ }
          @{ api($admin, GET => "/api/v1/projects/$sid/columns")
             ->{json}{items} };
made(api($admin, PATCH => "/api/v1/columns/$col{in_progress}{id}",
         json => { wip_limit => 4 }), 'wip');
my $lane_a = made(api($admin, POST => "/api/v1/projects/$sid/swimlanes",
                      json => { name => 'Facilities' }), 'lane');
my $lane_b = made(api($admin, POST => "/api/v1/projects/$sid/swimlanes",
                      json => { name => 'IT' }), 'lane');
my $field = made(api($admin, POST => '/api/v1/custom-fields',
                     json => { name => 'Cost', type => 'number',
                               project_id => $sid }), 'field');
my $stone = made(api($admin, POST => "/api/v1/projects/$sid/milestones",
                     json => { name => 'Keys handed over',
                               due_date => '2026-03-30' }), 'milestone');

sub task {
    my (%b) = @_;
    return made(api($admin, POST => "/api/v1/projects/$sid/tasks",
                    json => { column_id => $col{todo}{id}, %b }), 'task');
}

my $pack = task(title => 'Pack the boxes', priority => 'high',
                labels => ['move', 'people'], start_date => '2026-03-05',
                due_date => '2026-03-12', estimate_minutes => 600,
                swimlane_id => $lane_a->{id}, milestone_id => $stone->{id},
                custom_fields => { $field->{id} => 1200 });
my $net = task(title => 'Move the network', labels => ['it'],
               column_id => $col{backlog}{id}, due_date => '2026-03-20',
               swimlane_id => $lane_b->{id});
task(title => 'Label the boxes', parent_id => $pack->{id},
     due_date => '2026-03-04');
task(title => 'Order the tape', parent_id => $pack->{id});
made(api($admin, POST => "/api/v1/tasks/$net->{id}/dependencies",
         json => { depends_on_id => $pack->{id} }), 'dependency');

# --- save as template ----------------------------------------------------------------

problem_is(api($carl, POST => "/api/v1/projects/$sid/templates",
               json => { name => 'Mine' }), 403, 'forbidden',
           'a contributor may not save a project as a template');
problem_is(api($admin, POST => "/api/v1/projects/$sid/templates",
               json => { name => '' }), 422, 'validation_failed',
           'an empty name is refused');
problem_is(api($admin, POST => '/api/v1/projects/'
                              . '00000000-0000-4000-8000-000000000000'
                              . '/templates', json => {}),
           404, 'not_found', 'an unknown project has no template');

my $r = api($admin, POST => "/api/v1/projects/$sid/templates",
            json => { name => 'Office move', description => 'Our move' });
is($r->{status}, 201, 'a project saved as a template: 201');
my $tpl = $r->{json};
is($r->{headers}{location}, "/api/v1/templates/$tpl->{id}", 'its Location');
is($tpl->{kind}, 'project', 'a project template');
is_deeply($tpl->{columns}, ['Backlog', 'To Do', 'In Progress', 'Review',
                            'Done'], 'its columns, in order');
is($tpl->{task_count}, 2, 'two top-level tasks');
is_deeply($tpl->{body}{labels}, ['it', 'move', 'people'],
          'the labels its tasks use');
my ($tpl_pack) = grep { $_->{title} eq 'Pack the boxes' }
                  @{ $tpl->{body}{tasks} };
is($tpl_pack->{due_day}, 10, 'dates as days after the start');
is_deeply([ map { $_->{title} } @{ $tpl_pack->{subtasks} } ],
          ['Label the boxes', 'Order the tape'], '... its subtasks');

# --- start a project from it -----------------------------------------------------------

problem_is(api($carl, POST => "/api/v1/templates/$tpl->{id}/projects",
               json => { key => 'NOPE', name => 'No' }), 403, 'forbidden',
           'a contributor starts no project');
problem_is(api($admin, POST => "/api/v1/templates/$tpl->{id}/projects",
               json => { key => 'NEW', name => 'New',
                         start_date => 'soon' }),
           422, 'validation_failed', 'a start date that is no date');
problem_is(api($admin, POST => '/api/v1/templates/'
                              . '00000000-0000-4000-8000-000000000000'
                              . '/projects',
               json => { key => 'NEW', name => 'New' }),
           404, 'not_found', 'an unknown template');

$r = api($pam, POST => "/api/v1/templates/$tpl->{id}/projects",
         json => { key => 'DST', name => 'Second office move',
                   start_date => '2026-09-07' });
is($r->{status}, 201, 'a project manager starts a project from it: 201');
my $dst = $r->{json};
is($dst->{start_date}, '2026-09-07', 'the project starts on the day given');
like($r->{headers}{location}, qr{^/api/v1/projects/\Q$dst->{id}\E$},
     'its Location');

# --- the round trip, part by part --------------------------------------------------------

sub shape {
    my ($pid, $start) = @_;
    my @cols = @{ api($admin, GET => "/api/v1/projects/$pid/columns")
                  ->{json}{items} };
    my %col_i = map { $cols[$_]{id} => $_ } 0 .. $#cols;
    my @lanes = @{ api($admin, GET => "/api/v1/projects/$pid/swimlanes")
                   ->{json}{items} };
    my %lane_i = map { $lanes[$_]{id} => $_ } 0 .. $#lanes;
    my @stones = @{ api($admin, GET => "/api/v1/projects/$pid/milestones")
                    ->{json}{items} };
    my %stone_i = map { $stones[$_]{id} => $stones[$_]{name} } 0 .. $#stones;
    my @fields = @{ $ws->dbh->selectall_arrayref(
        'SELECT id, name, type FROM custom_fields WHERE project_id = ?',
        { Slice => {} }, $pid) };
    my %field_name = map { $_->{id} => $_->{name} } @fields;

    my $day = sub {
        my ($d) = @_;
        return undef unless defined $d;
        my ($y, $m, $dd) = split /-/, $d;
        my ($sy, $sm, $sd) = split /-/, $start;
        require Time::Local;
        return (Time::Local::timegm(0, 0, 12, $dd, $m - 1, $y)
                - Time::Local::timegm(0, 0, 12, $sd, $sm - 1, $sy)) / 86400;
    };

    my $dbh = $ws->dbh;
    my $tasks = $dbh->selectall_arrayref(
        'SELECT id, parent_id, title, description, priority, labels,
                column_id, swimlane_id, milestone_id, start_date::text s,
                due_date::text d, estimate_minutes, custom_fields::text cf
           FROM tasks WHERE project_id = ? ORDER BY title', { Slice => {} },
        $pid);
    my %title = map { $_->{id} => $_->{title} } @$tasks;
    my $deps = $dbh->selectall_arrayref(
        'SELECT d.task_id, d.depends_on_id FROM task_dependencies d
           JOIN tasks t ON t.id = d.task_id WHERE t.project_id = ?',
        undef, $pid);

    return {
        columns => [ map { [ $_->{name}, $_->{category},
                             $_->{wip_limit} ] } @cols ],
        swimlanes => [ map { $_->{name} } @lanes ],
        milestones => [ sort { $a->[1] <=> $b->[1] }
                        map { [ $_->{name}, $day->($_->{due_date}) ] }
                        @stones ],
        fields => [ sort map { "$_->{name}:$_->{type}" } @fields ],
        tasks => [ map { my $cf = $Kanban::Test::JSON->decode($_->{cf}); {
            title => $_->{title},
            parent => $_->{parent_id} ? $title{$_->{parent_id}} : undef,
            description => $_->{description}, priority => $_->{priority},
            labels => $_->{labels},
            column => $col_i{$_->{column_id}},
            swimlane => $_->{swimlane_id} ? $lane_i{$_->{swimlane_id}}
                                          : undef,
            milestone => $_->{milestone_id} ? $stone_i{$_->{milestone_id}}
                                            : undef,
            start => $day->($_->{s}), due => $day->($_->{d}),
            estimate => $_->{estimate_minutes},
            custom => { map { ($field_name{$_} // $_) => $cf->{$_} }
                        keys %$cf },
        } } @$tasks ],
        dependencies => [ sort map { "$title{$_->[0]} after $title{$_->[1]}" }
                          @$deps ],
    };
}

my $before = shape($sid, '2026-03-02');
my $after = shape($dst->{id}, '2026-09-07');

is(scalar @{ $after->{tasks} }, 4, 'four tasks made (two with subtasks)');
for my $part (qw(columns swimlanes milestones fields tasks dependencies)) {
    is_deeply($after->{$part}, $before->{$part},
              "round trip: the $part are the same")
        or diag explain { before => $before->{$part},
                          after => $after->{$part} };
}
my ($new_pack) = grep { $_->{title} eq 'Pack the boxes' }
                 @{ $ws->dbh->selectall_arrayref(
                     'SELECT title, due_date::text d FROM tasks
                       WHERE project_id = ?', { Slice => {} }, $dst->{id}) };
is($new_pack->{d}, '2026-09-17', 'a due date moved with the start');

# --- built-ins --------------------------------------------------------------------------

my $list = api($carl, GET => '/api/v1/templates?kind=project');
is($list->{status}, 200, 'a contributor lists templates');
my %builtin = map { $_->{name} => $_ } grep { $_->{builtin} }
              @{ $list->{json}{items} };
ok($builtin{$_}, "built-in: $_")
    for 'Kanban', 'Scrum', 'IT project', 'Incident follow-up';
ok(!grep({ $_->{kind} ne 'project' } @{ $list->{json}{items} }),
   '?kind=project lists project templates only');
problem_is(api($carl, GET => '/api/v1/templates?kind=board'), 422,
           'validation_failed', 'an unknown kind');

my $key = 'B0';
for my $name (sort keys %builtin) {
    $key++;
    my $r = api($admin, POST => "/api/v1/templates/$builtin{$name}{id}/projects",
                json => { key => "B$key", name => "$name project",
                          start_date => '2026-01-05' });
    is($r->{status}, 201, "a project from the built-in $name");
    my $s = shape($r->{json}{id}, '2026-01-05');
    is_deeply([ map { $_->[0] } @{ $s->{columns} } ],
              $builtin{$name}{columns}, "... with its columns");
}
my ($it) = grep { $_->{name} eq 'IT project project' }
           @{ api($admin, GET => '/api/v1/projects')->{json}{items} };
my $it_shape = shape($it->{id}, '2026-01-05');
is_deeply($it_shape->{swimlanes},
          ['Initiation', 'Planning', 'Execution', 'Closure'],
          'the IT project: its phases as swimlanes');
is(scalar @{ $it_shape->{milestones} }, 4, '... four milestones');
is(scalar @{ $it_shape->{dependencies} }, 4, '... tasks that follow one another');

problem_is(api($admin, DELETE => "/api/v1/templates/$builtin{Kanban}{id}"),
           403, 'forbidden', 'a built-in template cannot be removed');

# --- task templates ------------------------------------------------------------------------

problem_is(api($carl, POST => '/api/v1/templates',
               json => { name => 'X', body => { checklist => ['a'] } }),
           403, 'forbidden', 'a contributor makes no task template');
problem_is(api($admin, POST => '/api/v1/templates',
               json => { name => 'X', body => { checklist => [] } }),
           422, 'validation_failed', 'an empty checklist');
problem_is(api($admin, POST => '/api/v1/templates',
               json => { name => 'X', body => { checklist => ['a'],
                                                 priority => 'huge' } }),
           422, 'validation_failed', 'a priority that is none');

$r = api($pam, POST => '/api/v1/templates',
         json => { name => 'Desk setup', description => 'Each desk',
                   body => { checklist => ['Chair', 'Monitor', 'Dock'],
                             labels => ['desk'], priority => 'high' } });
is($r->{status}, 201, 'a task template: 201');
my $desk = $r->{json};
is($desk->{kind}, 'task', '... of kind task');
is($desk->{task_count}, 3, '... its checklist of three');

my $task = task(title => 'Desk 14', labels => ['move']);
problem_is(api($admin, POST => "/api/v1/tasks/$task->{id}/apply-template",
               json => { template_id => $tpl->{id} }), 422,
           'validation_failed', 'a project template is no checklist');
$r = api($admin, POST => "/api/v1/tasks/$task->{id}/apply-template",
         json => { template_id => $desk->{id} });
is($r->{status}, 200, 'a task template applied: 200');
is_deeply($r->{json}{labels}, ['desk', 'move'], '... its labels added');
is($r->{json}{priority}, 'high', '... its priority set');
my $subs = api($admin, GET => "/api/v1/tasks/$task->{id}/subtasks")
           ->{json}{items};
is_deeply([ sort map { $_->{title} } @$subs ], ['Chair', 'Dock', 'Monitor'],
          '... its checklist as subtasks');

problem_is(api($carl, DELETE => "/api/v1/templates/$desk->{id}"), 403,
           'forbidden', 'a contributor removes no template');
is(api($pam, DELETE => "/api/v1/templates/$desk->{id}")->{status}, 204,
   'its maker removes it');
problem_is(api($pam, GET => "/api/v1/templates/$desk->{id}"), 404,
           'not_found', '... and it is gone');

# --- another workspace ------------------------------------------------------------------

my $other = $t->workspace(prefix => 'tplo');
problem_is($other->api($other->admin, GET => "/api/v1/templates/$tpl->{id}"),
           404, 'not_found', "another workspace's template is not there");
problem_is($other->api($other->admin,
                       POST => "/api/v1/templates/$tpl->{id}/projects",
                       json => { key => 'STEAL', name => 'Stolen' }),
           404, 'not_found', '... nor can a project start from it');
ok(!grep({ $_->{name} eq 'Office move' }
         @{ $other->api($other->admin, GET => '/api/v1/templates')
            ->{json}{items} }),
   "... nor is it in the other's gallery");

$t->done_testing;
