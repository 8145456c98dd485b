#!/usr/bin/perl

# CORS: a workspace lists the origins allowed to call its API (none by
# default); their preflights are answered by nginx from a cached list,
# their calls carry Access-Control-Allow-Origin (the origin itself) and
# Vary: Origin; cookies never cross (no Allow-Credentials); any other
# origin gets no CORS header. t/browser/cors.test.mjs does the same from
# a page of another origin in Chromium.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Kanban::Test qw(problem_is);
use Kanban::SSE;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'cors');
my $admin = $ws->admin;
my $carl = $ws->member('Carl Contributor');

my $app = 'https://app.example';
my $dev = 'http://localhost:5173';

sub preflight {
    my ($origin, %more) = @_;
    return $t->req(OPTIONS => '/api/v1/projects', host => $ws->slug,
        headers => { Origin => $origin,
                     'Access-Control-Request-Method' => 'GET',
                     'Access-Control-Request-Headers' => 'authorization',
                     %more });
}

sub cors_headers {
    my ($r) = @_;
    return join ' ', sort grep { /^access-control-/ } keys %{ $r->{headers} };
}

# --- none by default --------------------------------------------------------

my $r = $ws->api(undef, GET => '/api/v1/workspace');
is_deeply($r->{json}{cors_origins}, [], 'no origins by default');

$r = preflight($app);
is(cors_headers($r), '', 'a preflight from anywhere: no CORS header');
isnt($r->{status}, 204, '... and no 204');

$r = $ws->api($admin, GET => '/api/v1/projects',
              headers => { Origin => $app });
is($r->{status}, 200, 'a call with an Origin still answers');
is(cors_headers($r), '', '... without CORS headers');

# --- the setting ----------------------------------------------------------

$r = $ws->api($carl, PATCH => '/api/v1/workspace',
              json => { cors_origins => [ $app ] });
problem_is($r, 403, 'forbidden', 'a contributor cannot list origins');

for my $bad ('*', 'null', "$app/", 'ftp://app.example', 'https://App.example',
             'https://app.example/path', 'app.example', 'https://a b.example')
{
    $r = $ws->api($admin, PATCH => '/api/v1/workspace',
                  json => { cors_origins => [ $bad ] });
    problem_is($r, 422, 'validation_failed', "origin '$bad': 422");
}

$r = $ws->api($admin, PATCH => '/api/v1/workspace',
              json => { cors_origins => [ map { "https://o$_.example" }
                                          1 .. 21 ] });
problem_is($r, 422, 'validation_failed', '21 origins: 422');

$r = $ws->api($admin, PATCH => '/api/v1/workspace',
              json => { cors_origins => [ $app, $dev, $app ] });
is($r->{status}, 200, 'an admin lists two origins') or diag $r->{body};
is_deeply([ sort @{ $r->{json}{cors_origins} } ], [ sort $app, $dev ],
          '... each once');

# the event stream, first after the PATCH (the list read from the
# database, then the stream's handler runs again): the page reads it
my $stream = Kanban::SSE->open($t, $ws->slug, $admin->{token},
                               headers => { Origin => $app });
is($stream->status, 200, 'the event stream from a listed origin');
is($stream->headers->{'access-control-allow-origin'}, $app, '... allowed');
like($stream->headers->{vary} // '', qr/\bOrigin\b/, '... Vary: Origin');
$stream->close;
$stream = Kanban::SSE->open($t, $ws->slug, $admin->{token},
                            headers => { Origin => 'https://evil.example' });
is($stream->status, 200, '... from another origin it opens');
ok(!exists $stream->headers->{'access-control-allow-origin'},
   '... without CORS headers');
$stream->close;

# --- listed origins ---------------------------------------------------------

for my $origin ($app, $dev) {
    $r = preflight($origin);
    is($r->{status}, 204, "a preflight from $origin: 204");
    is($r->{headers}{'access-control-allow-origin'}, $origin,
       '... allowing that origin');
    like($r->{headers}{vary} // '', qr/\bOrigin\b/, '... Vary: Origin');
    like($r->{headers}{'access-control-allow-methods'} // '',
         qr/\bPATCH\b/, '... the methods');
    like($r->{headers}{'access-control-allow-headers'} // '',
         qr/\bAuthorization\b.*\bContent-Type\b.*\bIf-Match\b/,
         '... the headers');
    like($r->{headers}{'access-control-max-age'} // '', qr/^\d+$/,
         '... a max-age');
    ok(!exists $r->{headers}{'access-control-allow-credentials'},
       '... never credentials');
}

$r = $ws->api($admin, GET => '/api/v1/projects',
              headers => { Origin => $app });
is($r->{status}, 200, 'a call from a listed origin');
is($r->{headers}{'access-control-allow-origin'}, $app, '... allowed');
like($r->{headers}{vary} // '', qr/\bOrigin\b/, '... Vary: Origin');
like($r->{headers}{'access-control-expose-headers'} // '', qr/\bETag\b/,
     '... ETag exposed');
ok(!exists $r->{headers}{'access-control-allow-credentials'},
   '... never credentials');

$r = $ws->api(undef, GET => '/api/v1/projects',
              headers => { Origin => $app });
problem_is($r, 401, 'unauthorized', 'no token from a listed origin: 401');
is($r->{headers}{'access-control-allow-origin'}, $app,
   '... which the page may read');

# a body over the limit (refused by nginx before any route, or while the
# API reads it in chunks): the page reads the 413, allowed once
for my $how ([ 'announced' ], [ 'chunked', chunked => 64 * 1024 ]) {
    my ($what, %req) = @$how;
    $r = $ws->api($admin, POST => '/api/v1/projects',
                  body => '{"key":"BIG","name":"' . ('n' x (1024 * 1024)) . '"}',
                  headers => { 'Content-Type' => 'application/json',
                               Origin => $app }, %req);
    problem_is($r, 413, 'payload_too_large', "a body over the limit, $what: 413");
    is($r->{headers}{'access-control-allow-origin'}, $app,
       '... which the page may read');
    is(scalar @{ $r->{header_list}{'access-control-allow-origin'} // [] }, 1,
       '... once');
}

# --- other origins ----------------------------------------------------------

for my $origin ('https://evil.example', 'null', "$app.evil.example",
                "$app:8443", 'http://app.example', "\"$app\"")
{
    $r = preflight($origin);
    is(cors_headers($r), '', "a preflight from $origin: no CORS header");
    $r = $ws->api($admin, GET => '/api/v1/projects',
                  headers => { Origin => $origin });
    is(cors_headers($r), '', "... nor a call");
}

# another workspace's list is its own
my $other = $t->workspace(prefix => 'cors2');
$r = $t->req(OPTIONS => '/api/v1/projects', host => $other->slug,
             headers => { Origin => $app,
                          'Access-Control-Request-Method' => 'GET' });
is(cors_headers($r), '', "another workspace does not list $app");

# --- the list is cached; a PATCH renews it ----------------------------------

# Behind the API's back the list is emptied in the database: for the
# cache's few seconds preflights are still answered from memory, without
# PostgreSQL; then the change shows.
$ws->dbh->do(q{UPDATE settings SET value = '[]' WHERE key = 'cors_origins'});
$r = preflight($app);
is($r->{headers}{'access-control-allow-origin'}, $app,
   'a preflight is answered from the cached list');
sleep 6;
$r = preflight($app);
is(cors_headers($r), '', '... which is read again after its ttl');

$r = $ws->api($admin, PATCH => '/api/v1/workspace',
              json => { cors_origins => [ $dev ] });
is($r->{status}, 200, 'the list set again') or diag $r->{body};
is(preflight($dev)->{headers}{'access-control-allow-origin'}, $dev,
   '... and used at once');

$r = $ws->api($admin, PATCH => '/api/v1/workspace',
              json => { cors_origins => undef });
is_deeply($r->{json}{cors_origins}, [], 'null empties the list');
is(cors_headers(preflight($dev)), '', '... at once');

$t->done_testing;
