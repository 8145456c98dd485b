#!/usr/bin/perl

# Caching of answers that carry a person's data: every answer to an
# authenticated API request is Cache-Control: no-store, but one with an
# ETag is "private, no-cache" (kept by no shared cache, revalidated every
# time by the browser: If-None-Match still gets its 304). Public answers
# and the UI's assets keep their own caching.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'cc');
my $admin = $ws->admin;

sub cache { $_[0]{headers}{'cache-control'} // '(none)' }

# --- authenticated: no-store ---------------------------------------------------

my $r = $ws->api($admin, GET => '/api/v1/auth/me');
is($r->{status}, 200, 'me: 200');
is(cache($r), 'no-store', '... no-store');

$r = $ws->api($admin, POST => '/api/v1/projects',
              json => { key => 'CC', name => 'Cached or not' });
is($r->{status}, 201, 'a write: 201');
is(cache($r), 'no-store', '... no-store');
my $project = $r->{json};

$r = $ws->api($admin, GET => '/api/v1/projects');
is(cache($r), 'no-store', 'a list: no-store');

$r = $ws->api($admin, GET => '/api/v1/users');
is(cache($r), 'no-store', 'the people: no-store');

$r = $ws->api($admin, GET => '/api/v1/tasks/00000000-0000-4000-8000-000000000000');
problem_is($r, 404, 'not_found', 'a problem for a signed-in person');
is(cache($r), 'no-store', '... no-store too');

my $api_token = $ws->api($admin, POST => '/api/v1/api-tokens',
                         json => { name => 'cc', scopes => ['read'] });
SKIP: {
    skip "no API token: $api_token->{status}", 1
        unless $api_token->{status} == 201;
    $r = $ws->api($api_token->{json}{token}, GET => '/api/v1/projects');
    is(cache($r), 'no-store', 'with an API token: no-store');
}

# --- an ETag: private, no-cache, and 304 still -----------------------------------

$r = $ws->api($admin, GET => "/api/v1/projects/$project->{id}");
is($r->{status}, 200, 'a project: 200');
my $etag = $r->{headers}{etag};
ok($etag, '... with an ETag');
is(cache($r), 'private, no-cache', '... private, no-cache');

# an attachment: its hash is its ETag, If-None-Match is 304
my ($column) = @{ $ws->api($admin,
    GET => "/api/v1/projects/$project->{id}/columns")->{json}{items} };
my $task = $ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                    json => { title => 'Has a file',
                              column_id => $column->{id} })->{json};
my $att = $ws->api($admin,
                   POST => "/api/v1/tasks/$task->{id}/attachments?filename=a.txt",
                   body => 'some bytes',
                   headers => { 'Content-Type' => 'text/plain' })->{json};

$r = $ws->api($admin, GET => "/api/v1/attachments/$att->{id}");
is($r->{status}, 200, 'an attachment: 200');
is(cache($r), 'private, no-cache', '... private, no-cache');

$r = $ws->api($admin, GET => "/api/v1/attachments/$att->{id}",
              headers => { 'If-None-Match' => $r->{headers}{etag} });
is($r->{status}, 304, 'If-None-Match: 304');
is(cache($r), 'private, no-cache', '... private, no-cache');

# --- public: left alone -------------------------------------------------------------

$r = $ws->api(undef, GET => '/api/v1/workspace');
is($r->{status}, 200, 'the workspace, public: 200');
isnt(cache($r), 'no-store', '... not made no-store');

$r = $ws->api(undef, POST => '/api/v1/auth/login',
              json => { email => $admin->{email},
                        password => 'correct horse battery staple' });
is(cache($r), 'no-store', 'sign-in: no-store as before');

my $index = $t->req(GET => '/', host => $ws->slug);
is(cache($index), 'no-cache', 'the UI page: no-cache as before');
my ($asset) = ($index->{body} // '') =~ m{(/assets/[^"]+\.js)};
SKIP: {
    skip 'no built UI', 1 unless $asset;
    like(cache($t->req(GET => $asset, host => $ws->slug)),
         qr/public, max-age=\d+, immutable/, 'its assets: cached for a year');
}

$t->done_testing;
