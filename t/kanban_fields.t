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
my $slug = $t->signup(prefix => 'fld');

sub login {
    my ($email, $password) = @_;
    my $r = $t->req(POST => '/api/v1/auth/login', host => $slug,
                    json => { email => $email, password => $password });
    die "login $email: $r->{status} $r->{body}" unless $r->{status} == 200;
    return { Authorization => "Bearer $r->{json}{access_token}" };
}

my $admin = login("admin\@$slug.example", 'correct horse battery staple');

sub call {
    my ($who, $method, $path, $json) = @_;
    return $t->req($method => $path, host => $slug, headers => $who,
                   defined $json ? (json => $json) : ());
}

is(call($admin, POST => '/api/v1/users',
        { email => 'carl@x.example', name => 'Carl', role => 'contributor',
          password => 'a contributor password' })->{status}, 201,
   'a contributor');
my $carl = login('carl@x.example', 'a contributor password');

my $project = call($admin, POST => '/api/v1/projects',
                   { key => 'FLD', name => 'Fields' })->{json};
my $pid = $project->{id};

# --- swimlanes ----------------------------------------------------------------

my $r = call($admin, POST => "/api/v1/projects/$pid/swimlanes",
             { name => 'Expedite' });
is($r->{status}, 201, 'a swimlane: 201');
my $lane = $r->{json};
call($admin, POST => "/api/v1/projects/$pid/swimlanes", { name => 'Normal' });

$r = call($carl, GET => "/api/v1/projects/$pid/swimlanes");
is_deeply([map { $_->{name} } @{ $r->{json}{items} }], ['Expedite', 'Normal'],
          'everyone lists them, in order');

problem_is(call($carl, POST => "/api/v1/projects/$pid/swimlanes",
                { name => 'Mine' }), 403, 'forbidden',
           'a contributor adds none');

$r = call($admin, PATCH => "/api/v1/swimlanes/$lane->{id}",
          { name => 'Urgent', position => 5 });
is($r->{status}, 200, 'renamed: 200');
is($r->{json}{name}, 'Urgent', '... with the new name');

problem_is(call($carl, PATCH => "/api/v1/swimlanes/$lane->{id}",
                { name => 'x' }), 403, 'forbidden', 'a contributor renames none');

my $task = call($carl, POST => "/api/v1/projects/$pid/tasks",
                { title => 'In a lane', swimlane_id => $lane->{id} })->{json};
is($task->{swimlane_id}, $lane->{id}, 'a task in the swimlane');

is(call($admin, DELETE => "/api/v1/swimlanes/$lane->{id}")->{status}, 204,
   'swimlane removed: 204');
is(call($admin, GET => "/api/v1/tasks/$task->{id}")->{json}{swimlane_id},
   undef, '... its task stays, in no swimlane');
problem_is(call($admin, DELETE => "/api/v1/swimlanes/$lane->{id}"), 404,
           'not_found', '... and it is gone');

# --- custom fields ----------------------------------------------------------------

$r = call($admin, POST => '/api/v1/custom-fields',
          { name => 'Severity', type => 'select',
            options => ['low', 'high'] });
is($r->{status}, 201, 'a workspace-wide select field: 201');
my $severity = $r->{json}{id};

my $points = call($admin, POST => '/api/v1/custom-fields',
                  { name => 'Points', type => 'number',
                    project_id => $pid })->{json}{id};
ok($points, 'a project field');

problem_is(call($carl, POST => '/api/v1/custom-fields',
                { name => 'X', type => 'text' }), 403, 'forbidden',
           'a contributor defines no field');
problem_is(call($admin, POST => '/api/v1/custom-fields',
                { name => 'Bad', type => 'select' }), 422,
           'validation_failed', 'a select field without options');

$r = call($carl, PATCH => "/api/v1/tasks/$task->{id}",
          { custom_fields => { $severity => 'high', $points => 3 } });
is($r->{status}, 200, 'valid values: 200');
is_deeply($r->{json}{custom_fields}, { $severity => 'high', $points => 3 },
          '... kept on the task');

$r = call($carl, PATCH => "/api/v1/tasks/$task->{id}",
          { custom_fields => { $severity => 'urgent' } });
problem_is($r, 422, 'validation_failed', 'a value not among the options');
like($r->{json}{detail} // '', qr/\Q$severity\E: not a select option/,
     '... the detail names the field');

problem_is(call($carl, PATCH => "/api/v1/tasks/$task->{id}",
                { custom_fields => { $points => 'three' } }),
           422, 'validation_failed', 'text for a number');

my $unknown = '00000000-0000-0000-0000-000000000000';
problem_is(call($carl, PATCH => "/api/v1/tasks/$task->{id}",
                { custom_fields => { $unknown => 'x' } }),
           422, 'validation_failed', 'a field that does not exist');

$r = call($carl, PATCH => "/api/v1/tasks/$task->{id}",
          { custom_fields => { $points => undef } });
is_deeply($r->{json}{custom_fields}, { $severity => 'high' },
          'null removes a value (merge patch)');

$r = call($admin, PATCH => "/api/v1/custom-fields/$severity",
          { name => 'Impact' });
is($r->{json}{name}, 'Impact', 'a field renamed');

is(call($admin, DELETE => "/api/v1/custom-fields/$severity")->{status}, 204,
   'a field removed: 204');
is_deeply(call($admin, GET => "/api/v1/tasks/$task->{id}")
              ->{json}{custom_fields}, {},
          '... and its values from the tasks');

$r = call($carl, GET => "/api/v1/custom-fields?project_id=$pid");
is_deeply([map { $_->{name} } @{ $r->{json}{items} }], ['Points'],
          'the fields that remain, for everyone to read');

Kanban::Test->done_testing;
