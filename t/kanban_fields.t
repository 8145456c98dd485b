#!/usr/bin/perl

# Swimlanes and custom fields: made, listed, changed and removed by those
# who manage the project (workspace-wide fields by admins); task values of
# a custom field checked by type on every write, with a message naming the
# field; removing a field removes its values.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'fld');
my $admin = $ws->admin;

is($ws->api($admin, POST => '/api/v1/users', json => {
       email => 'carl@x.example', name => 'Carl', role => 'contributor',
       password => 'a contributor password' })->{status}, 201,
   'a contributor');
my $carl = $ws->login('carl@x.example', 'a contributor password');

my $project = $ws->api($admin, POST => '/api/v1/projects',
                       json => { key => 'FLD', name => 'Fields' })->{json};
my $pid = $project->{id};

# --- swimlanes ----------------------------------------------------------------

my $r = $ws->api($admin, POST => "/api/v1/projects/$pid/swimlanes",
                 json => { name => 'Expedite' });
is($r->{status}, 201, 'a swimlane: 201');
my $lane = $r->{json};
$ws->api($admin, POST => "/api/v1/projects/$pid/swimlanes",
         json => { name => 'Normal' });

$r = $ws->api($carl, GET => "/api/v1/projects/$pid/swimlanes");
is_deeply([map { $_->{name} } @{ $r->{json}{items} }], ['Expedite', 'Normal'],
          'everyone lists them, in order');

problem_is($ws->api($carl, POST => "/api/v1/projects/$pid/swimlanes",
                    json => { name => 'Mine' }), 403, 'forbidden',
           'a contributor adds none');

$r = $ws->api($admin, PATCH => "/api/v1/swimlanes/$lane->{id}",
              json => { name => 'Urgent', position => 5 });
is($r->{status}, 200, 'renamed: 200');
is($r->{json}{name}, 'Urgent', '... with the new name');

problem_is($ws->api($carl, PATCH => "/api/v1/swimlanes/$lane->{id}",
                    json => { name => 'x' }), 403, 'forbidden',
           'a contributor renames none');

my $task = $ws->api($carl, POST => "/api/v1/projects/$pid/tasks",
                    json => { title => 'In a lane',
                              swimlane_id => $lane->{id} })->{json};
is($task->{swimlane_id}, $lane->{id}, 'a task in the swimlane');

is($ws->api($admin, DELETE => "/api/v1/swimlanes/$lane->{id}")->{status}, 204,
   'swimlane removed: 204');
is($ws->api($admin, GET => "/api/v1/tasks/$task->{id}")->{json}{swimlane_id},
   undef, '... its task stays, in no swimlane');
problem_is($ws->api($admin, DELETE => "/api/v1/swimlanes/$lane->{id}"), 404,
           'not_found', '... and it is gone');

# --- custom fields ----------------------------------------------------------------

$r = $ws->api($admin, POST => '/api/v1/custom-fields',
              json => { name => 'Severity', type => 'select',
                        options => ['low', 'high'] });
is($r->{status}, 201, 'a workspace-wide select field: 201');
my $severity = $r->{json}{id};

my $points = $ws->api($admin, POST => '/api/v1/custom-fields',
                      json => { name => 'Points', type => 'number',
                                project_id => $pid })->{json}{id};
ok($points, 'a project field');

problem_is($ws->api($carl, POST => '/api/v1/custom-fields',
                    json => { name => 'X', type => 'text' }), 403, 'forbidden',
           'a contributor defines no field');
problem_is($ws->api($admin, POST => '/api/v1/custom-fields',
                    json => { name => 'Bad', type => 'select' }), 422,
           'validation_failed', 'a select field without options');

$r = $ws->api($carl, PATCH => "/api/v1/tasks/$task->{id}",
              json => { custom_fields => { $severity => 'high',
                                           $points => 3 } });
is($r->{status}, 200, 'valid values: 200');
is_deeply($r->{json}{custom_fields}, { $severity => 'high', $points => 3 },
          '... kept on the task');

$r = $ws->api($carl, PATCH => "/api/v1/tasks/$task->{id}",
              json => { custom_fields => { $severity => 'urgent' } });
problem_is($r, 422, 'validation_failed', 'a value not among the options');
like($r->{json}{detail} // '', qr/\Q$severity\E: not a select option/,
     '... the detail names the field');

problem_is($ws->api($carl, PATCH => "/api/v1/tasks/$task->{id}",
                    json => { custom_fields => { $points => 'three' } }),
           422, 'validation_failed', 'text for a number');

my $unknown = '00000000-0000-0000-0000-000000000000';
problem_is($ws->api($carl, PATCH => "/api/v1/tasks/$task->{id}",
                    json => { custom_fields => { $unknown => 'x' } }),
           422, 'validation_failed', 'a field that does not exist');

$r = $ws->api($carl, PATCH => "/api/v1/tasks/$task->{id}",
              json => { custom_fields => { $points => undef } });
is_deeply($r->{json}{custom_fields}, { $severity => 'high' },
          'null removes a value (merge patch)');

$r = $ws->api($admin, PATCH => "/api/v1/custom-fields/$severity",
              json => { name => 'Impact' });
is($r->{json}{name}, 'Impact', 'a field renamed');

is($ws->api($admin, DELETE => "/api/v1/custom-fields/$severity")->{status},
   204, 'a field removed: 204');
is_deeply($ws->api($admin, GET => "/api/v1/tasks/$task->{id}")
              ->{json}{custom_fields}, {},
          '... and its values from the tasks');

$r = $ws->api($carl, GET => "/api/v1/custom-fields?project_id=$pid");
is_deeply([map { $_->{name} } @{ $r->{json}{items} }], ['Points'],
          'the fields that remain, for everyone to read');

Kanban::Test->done_testing;
