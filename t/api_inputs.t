#!/usr/bin/perl

# Inputs that used to end in a 500: nulls where a task's list or object
# is expected, and a chunked body whose framing is broken sent without a
# token or with a bad one.  Each is answered now, and what is answered
# matches html/openapi.yaml (as every response of every file does).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'inputs');
my $admin = $ws->admin;

my $r = $ws->api($admin, POST => '/api/v1/projects',
                 json => { key => 'NUL', name => 'Nulls' });
is($r->{status}, 201, 'a project') or diag $r->{body};
my $pid = $r->{json}{id};

$r = $ws->api($admin, POST => '/api/v1/custom-fields',
              json => { name => 'Points', type => 'number',
                        project_id => $pid });
is($r->{status}, 201, 'a custom field') or diag $r->{body};
my $field = $r->{json}{id};

# labels: null

$r = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
              json => { title => 'No labels', labels => undef });
is($r->{status}, 201, 'create with labels: null') or diag $r->{body};
is_deeply($r->{json}{labels}, [], '... is a task without labels');
my $task = $r->{json};

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { labels => ['a', 'b'] });
is_deeply($r->{json}{labels}, ['a', 'b'], 'labels set');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { labels => undef });
is($r->{status}, 200, 'patch with labels: null') or diag $r->{body};
is_deeply($r->{json}{labels}, [], '... removes the labels (merge patch)');

# custom_fields: null

$r = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
              json => { title => 'No fields', custom_fields => undef });
is($r->{status}, 201, 'create with custom_fields: null') or diag $r->{body};
is_deeply($r->{json}{custom_fields}, {}, '... is a task without values');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { custom_fields => { $field => 5 } });
is($r->{status}, 200, 'a value set') or diag $r->{body};
is_deeply($r->{json}{custom_fields}, { $field => 5 }, '... is there');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { custom_fields => undef });
is($r->{status}, 200, 'patch with custom_fields: null') or diag $r->{body};
is_deeply($r->{json}{custom_fields}, {}, '... removes every value');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { custom_fields => undef, labels => undef });
is($r->{status}, 200, 'both null on a task that has neither')
    or diag $r->{body};

# description: null clears it (022_task_description_null.sql); leaving it
# out keeps it

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { description => 'Something to say.' });
is($r->{json}{description}, 'Something to say.', 'a description set');
$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { title => 'Still said' });
is($r->{json}{description}, 'Something to say.', '... kept by a PATCH without it');
$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { description => undef });
is($r->{status}, 200, 'patch with description: null') or diag $r->{body};
is($r->{json}{description}, '', '... clears it (merge patch)');
is($ws->api($admin, GET => "/api/v1/tasks/$task->{id}")->{json}{description},
   '', '... and it stays cleared');
$r = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
              json => { title => 'Null description', description => undef });
is($r->{status}, 201, 'create with description: null') or diag $r->{body};
is($r->{json}{description}, '', '... has none');

# the same for a project's and a milestone's description and a sprint's
# goal (056_patch_null_clears_text.sql): null clears, leaving it out keeps

my @texts = (
    [ project   => "/api/v1/projects/$pid", description => undef ],
    [ milestone => "/api/v1/projects/$pid/milestones", description =>
      { name => 'Beta', due_date => '2027-03-01' } ],
    [ sprint    => "/api/v1/projects/$pid/sprints", goal =>
      { name => 'Sprint 1' } ],
);
for my $case (@texts) {
    my ($what, $path, $field, $create) = @$case;
    if ($create) {
        $r = $ws->api($admin, POST => $path, json => $create);
        is($r->{status}, 201, "a $what") or diag $r->{body};
        $path = $r->{headers}{location};
    }
    $r = $ws->api($admin, PATCH => $path,
                  json => { $field => 'Something to say.' });
    is($r->{json}{$field}, 'Something to say.', "a ${what}'s $field set");
    $r = $ws->api($admin, PATCH => $path, json => { name => 'Renamed' });
    is($r->{json}{$field}, 'Something to say.',
       '... kept by a PATCH without it');
    $r = $ws->api($admin, PATCH => $path, json => { $field => undef });
    is($r->{status}, 200, "... PATCH with $field: null") or diag $r->{body};
    is($r->{json}{$field}, '', '... clears it');
    $r = $ws->api($admin, PATCH => $path, json => { name => 'Again' });
    is($r->{json}{$field}, '', '... and it stays cleared');
}

# a chunked body whose framing is broken

my %broken = (
    body    => "zz\r\n{\"key\": \"BRK\"}\r\n0\r\n\r\n",
    headers => { 'Content-Length' => undef,
                 'Transfer-Encoding' => 'chunked',
                 'Content-Type' => 'application/json' },
);

for my $case (['no token', undef], ['an invalid token', 'not-a-token'],
              ['a valid token', $admin->{token}])
{
    my ($name, $token) = @$case;
    my %o = %broken;
    $o{headers} = { %{ $broken{headers} },
                    $token ? (Authorization => "Bearer $token") : () };
    $r = $t->req(POST => '/api/v1/projects', host => $ws->slug, %o);
    problem_is($r, 400, 'bad_request',
               "broken chunked framing with $name: 400, not 500");
}

# and the connection is not taken for another request after it
$r = $ws->api($admin, GET => "/api/v1/projects/$pid");
is($r->{status}, 200, 'the workspace answers as before');

$t->done_testing;
