#!/usr/bin/perl

# The lenient spots of issue 18, settled: free text has bounds, lists'
# items too; a page size out of range or an unknown value of a query
# parameter is a 422 that names the parameter; a PATCH cannot set a field
# the resource cannot be without to null; If-Match: * matches any
# version; every error under /api/, nginx's own too, is problem+json; and
# the last active admin cannot demote or disable themself.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'bounds');
my $admin = $ws->admin;

sub fields_of {
    my ($r) = @_;
    return [ map { "$_->{field} $_->{code}" } @{ $r->{json}{errors} // [] } ];
}

my $r = $ws->api($admin, POST => '/api/v1/projects',
                 json => { key => 'BND', name => 'Bounds' });
is($r->{status}, 201, 'a project') or diag $r->{body};
my $pid = $r->{json}{id};

###########################################################################
# free text

$r = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
              json => { title => 'Long', description => 'x' x 20_000,
                        labels => [ 'l' x 100 ] });
is($r->{status}, 201, 'a description of 20,000 and a label of 100: 201')
    or diag substr($r->{body}, 0, 300);
my $task = $r->{json};

$r = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
              json => { title => 'Too long', description => 'x' x 20_001 });
problem_is($r, 422, 'validation_failed', 'a description of 20,001: 422');
is_deeply(fields_of($r), [ 'description too_long' ], '... naming it');

$r = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
              json => { title => 'Label', labels => [ 'ok', 'l' x 101 ] });
problem_is($r, 422, 'validation_failed', 'a label of 101: 422');
is_deeply(fields_of($r), [ 'labels[1] too_long' ], '... naming the item');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { labels => [ undef ] });
problem_is($r, 422, 'validation_failed', 'labels: [null]: 422');
is_deeply(fields_of($r), [ 'labels[0] invalid_type' ], '... naming the item');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { labels => [ '' ] });
problem_is($r, 422, 'validation_failed', 'an empty label: 422');

$r = $ws->api($admin, POST => '/api/v1/custom-fields',
              json => { name => 'Size', type => 'select',
                        options => [ 'S', 'o' x 201 ] });
problem_is($r, 422, 'validation_failed', 'an option of 201: 422');
is_deeply(fields_of($r), [ 'options[1] too_long' ], '... naming the item');

$r = $ws->api($admin, POST => "/api/v1/tasks/$task->{id}/comments",
              json => { body => 'c' x 20_001 });
problem_is($r, 422, 'validation_failed', 'a comment of 20,001: 422');

###########################################################################
# query parameters

for my $q ('limit=0', 'limit=201', 'limit=-5') {
    $r = $ws->api($admin, GET => "/api/v1/projects?$q");
    problem_is($r, 422, 'validation_failed', "?$q: 422");
    is_deeply(fields_of($r), [ 'limit out_of_range' ], '... naming limit');
}

$r = $ws->api($admin, GET => '/api/v1/projects?limit=200');
is($r->{status}, 200, '?limit=200: 200');
$r = $ws->api($admin, GET => '/api/v1/projects?limit=x');
problem_is($r, 400, 'bad_request', '?limit=x: malformed, 400');

$r = $ws->api($admin, GET => '/api/v1/projects?status=bogus');
problem_is($r, 422, 'validation_failed', '?status=bogus: 422');
is_deeply(fields_of($r), [ 'status invalid_value' ], '... naming status');

$r = $ws->api($admin, GET => '/api/v1/projects?status=active');
is($r->{status}, 200, '?status=active: 200');

$r = $ws->api($admin, GET => "/api/v1/projects/$pid/tasks?category=");
problem_is($r, 422, 'validation_failed', '?category= (empty): 422');
is_deeply(fields_of($r), [ 'category invalid_value' ], '... naming it');

$r = $ws->api($admin,
              GET => "/api/v1/projects/$pid/tasks?category=doing&limit=0");
is_deeply([ sort @{ fields_of($r) } ],
          [ 'category invalid_value', 'limit out_of_range' ],
          'two bad parameters: both named');

$r = $ws->api($admin, GET => "/api/v1/projects/$pid/tasks?category=todo");
is($r->{status}, 200, '?category=todo: 200');

###########################################################################
# PATCH: null where the resource cannot be without

for my $case (["/api/v1/tasks/$task->{id}", 'title'],
              ["/api/v1/tasks/$task->{id}", 'priority'],
              ["/api/v1/projects/$pid", 'name'],
              ["/api/v1/projects/$pid", 'status'],
              ['/api/v1/workspace', 'time_zone'])
{
    my ($path, $field) = @$case;
    $r = $ws->api($admin, PATCH => $path, json => { $field => undef });
    problem_is($r, 422, 'validation_failed', "$field: null on $path: 422");
    is_deeply(fields_of($r), [ "$field required" ], '... naming it');
}

$r = $ws->api($admin, GET => "/api/v1/tasks/$task->{id}");
is($r->{json}{title}, 'Long', 'the title is as it was');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { description => undef, due_date => undef });
is($r->{status}, 200, 'null where none is a value: 200')
    or diag substr($r->{body}, 0, 300);

###########################################################################
# If-Match: *

my $version = $r->{json}{version};
$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { title => 'Any' }, headers => { 'If-Match' => '*' });
is($r->{status}, 200, 'If-Match: * is any current version') or diag $r->{body};
is($r->{json}{version}, $version + 1, '... and the change is made');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { title => 'Old' },
              headers => { 'If-Match' => "\"$version\"" });
problem_is($r, 409, 'version_conflict', 'a stale If-Match still 409');

$r = $ws->api($admin, PATCH => '/api/v1/tasks/00000000-0000-4000-8000-000000000000',
              json => { title => 'None' }, headers => { 'If-Match' => '*' });
problem_is($r, 404, 'not_found', 'If-Match: * on nothing: 404');

###########################################################################
# nginx's own errors under /api/

$r = $ws->api($admin, GET => '/api/v1/projects/%00');
problem_is($r, 400, 'bad_request', '%00 in an /api/ path: problem+json');

$r = $t->req(GET => '/api/v1/tenants/%00');
problem_is($r, 400, 'bad_request', '... on the platform host too');

$r = $ws->api(undef, GET => '/assets/%00');
is($r->{status}, 400, '%00 outside /api/: 400');
like($r->{headers}{'content-type'}, qr{^text/html}, "... nginx's own page");

$r = $ws->api($admin, TRACE => '/api/v1/projects');
problem_is($r, 405, 'method_not_allowed', 'TRACE: 405 problem+json');

$r = $ws->api($admin, GET => '/api/v1/projects?q=' . ('a' x 9000));
problem_is($r, 414, 'uri_too_long', 'a request line too long: 414');

$r = $ws->api($admin, GET => '/api/v1/projects',
              headers => { 'X-Large' => 'h' x 9000 });
problem_is($r, 431, 'headers_too_large', 'a header too large: 431');

$r = $ws->api(undef, GET => '/', headers => { 'X-Large' => 'h' x 9000 });
is($r->{status}, 400, 'the same outside /api/: nginx answers');
like($r->{headers}{'content-type'}, qr{^text/html}, "... with its own page");

$r = $ws->api($admin, POST => '/api/v1/projects',
              body => '{"key":"BIG","name":"' . ('n' x (1024 * 1024)) . '"}',
              headers => { 'Content-Type' => 'application/json' });
problem_is($r, 413, 'payload_too_large', 'a body over the limit: 413');

###########################################################################
# the last active admin

my $me = $ws->api($admin, GET => '/api/v1/auth/me')->{json};
for my $change ({ role => 'contributor' }, { status => 'disabled' }) {
    my ($k) = keys %$change;
    $r = $ws->api($admin, PATCH => "/api/v1/users/$me->{id}", json => $change);
    problem_is($r, 409, 'conflict', "the last admin sets $k: 409");
}

my $other = $ws->member('Second Admin', 'admin');
$r = $ws->api($admin, PATCH => "/api/v1/users/$me->{id}",
              json => { role => 'project_manager' });
is($r->{status}, 200, 'with another active admin: 200') or diag $r->{body};

$r = $ws->api($other, PATCH => "/api/v1/users/$other->{id}",
              json => { status => 'disabled' });
problem_is($r, 409, 'conflict', 'now the other is the last: 409');

$r = $ws->api($other, PATCH => "/api/v1/users/$other->{id}",
              json => { name => 'Still Admin' });
is($r->{status}, 200, '... who may still change their name');

$t->done_testing;
