#!/usr/bin/perl

# The API router: unknown paths are 404 not_found, known paths with the
# wrong method 405 method_not_allowed with an Allow header, both as
# problem+json, on the platform host and on a workspace.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $slug = $t->signup(prefix => 'route');

sub allow_has {
    my ($r, $method, $name) = @_;
    my %allow = map { uc($_) => 1 } split /\s*,\s*/,
                $r->{headers}{allow} // '';
    ok($allow{$method}, "$name: Allow lists $method")
        or diag('Allow: ' . ($r->{headers}{allow} // '(none)'));
}

# A workspace.

my $r = $t->req(GET => '/api/v1/workspace', host => $slug);
is($r->{status}, 200, 'GET /api/v1/workspace: 200');

$r = $t->req(GET => '/api/v1/workspace?fields=all&x=1', host => $slug);
is($r->{status}, 200, 'a query string does not change the route');
is($r->{json}{slug}, $slug, '... nor the answer');

for my $path ('/api/v1/nope', '/api/v1/workspace/extra', '/api/v1/',
              '/api/v1/workspaces', '/api/v1/Workspace',
              '/api/v1/tenants/' . ('x' x 3000))
{
    $r = $t->req(GET => $path, host => $slug);
    my $name = length $path > 40 ? substr($path, 0, 40) . '...' : $path;
    problem_is($r, 404, 'not_found', "GET $name: 404 not_found");
}

for my $method (qw(DELETE POST PUT)) {
    $r = $t->req($method => '/api/v1/workspace', host => $slug,
                 json => { name => 'x' });
    problem_is($r, 405, 'method_not_allowed', "$method /api/v1/workspace: 405");
    allow_has($r, 'GET', "$method /api/v1/workspace");
    allow_has($r, 'PATCH', "$method /api/v1/workspace");
    ok(!grep({ uc eq $method } split /\s*,\s*/, $r->{headers}{allow} // ''),
       "$method /api/v1/workspace: Allow does not list $method");
}

$r = $t->req(GET => '/api/v1/workspace', host => $slug);
is($r->{json}{name}, "Workspace $slug", 'the workspace is unchanged');

# Each worker looks a path up by its first three segments: neighbours of a
# key, a key's own prefix and a trailing slash find nothing; a route with a
# parameter among its first three segments (a feature module's) is found;
# the routes under one key are told apart by method.

my $uuid = '00000000-0000-4000-8000-000000000001';
for my $path ('/api/v1/project', '/api/v1/projectsx', '/api/v1/projects/',
              "/api/v1/projects/$uuid/", "/api/v1/projects/$uuid/nope",
              '/api/v1/workspace/', '/hooks/github/')
{
    $r = $t->req(GET => $path, host => $slug);
    problem_is($r, 404, 'not_found', "GET $path: 404 not_found");
}

$r = $t->req(PUT => "/api/v1/projects/$uuid", host => $slug,
             json => { name => 'x' });
problem_is($r, 405, 'method_not_allowed', 'PUT /api/v1/projects/{id}: 405');
allow_has($r, $_, 'PUT /api/v1/projects/{id}') for qw(GET PATCH DELETE);

$r = $t->req(GET => '/hooks/github/some-id', host => $slug);
problem_is($r, 405, 'method_not_allowed', 'GET /hooks/github/{id}: 405');
allow_has($r, 'POST', 'GET /hooks/github/{id}');

$r = $t->req(GET => "/api/v1/projects/$uuid", host => $slug);
problem_is($r, 401, 'unauthorized',
           'GET /api/v1/projects/{id} is found: the route asks for a token');

# the route found is the one counted: its own row of the metrics
my $before = $t->metric('kanban_http_requests_total',
                        route => 'GET /api/v1/workspace', status => '200') // 0;
$t->req(GET => '/api/v1/workspace', host => $slug) for 1 .. 3;
is($t->metric('kanban_http_requests_total',
              route => 'GET /api/v1/workspace', status => '200'),
   $before + 3, 'three workspace reads count on the route\'s own row');

# The platform host.

$r = $t->req(GET => '/api/v1/tenants');
problem_is($r, 405, 'method_not_allowed', 'GET /api/v1/tenants: 405');
allow_has($r, 'POST', 'GET /api/v1/tenants');

$r = $t->req(DELETE => '/api/v1/tenants');
problem_is($r, 405, 'method_not_allowed', 'DELETE /api/v1/tenants: 405');

$r = $t->req(GET => '/api/v1/nope');
problem_is($r, 404, 'not_found', 'an unknown platform path: 404');

# Workspace routes are not on the platform host, nor sign-up on a workspace.

$r = $t->req(GET => '/api/v1/workspace');
ok($r->{status} == 404 || $r->{status} == 400,
   'GET /api/v1/workspace on the platform host is no workspace')
    or diag("$r->{status} $r->{body}");

$r = $t->req(POST => '/api/v1/tenants', host => $slug, json => {
    slug => Kanban::Test::unique_slug('inner'), name => 'x',
    admin => { email => 'a@b.example', password => 'long enough pw',
               name => 'A' } });
isnt($r->{status}, 201, 'sign-up is not on a workspace host');
like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
     '... and says so as a problem');

Kanban::Test->done_testing;
