#!/usr/bin/perl

# Headers every response carries: X-Request-Id (the client's when sane, a
# new one otherwise), X-Content-Type-Options and Referrer-Policy, and on
# HTML a Content-Security-Policy forbidding framing; on JSON, problem and
# static responses alike.

use strict;
use warnings;

use Test::More;
use Kanban::Test;

# Static files of our own, whether or not html/dist is built.
my $t = Kanban::Test->new(http => "log_format ids '\$request_id';\n",
                          tenant => <<'EOF_CONF');
location = /t-static/page.html { root @VAR@/www; }
location = /t-static/data.json { root @VAR@/www; }
location = /t-static/logged.json {
    alias @VAR@/www/t-static/data.json;
    access_log @VAR@/log/ids.log ids;
}
EOF_CONF

mkdir $t->var . '/www';
mkdir $t->var . '/www/t-static';
Kanban::Test::write_file($t->var . '/www/t-static/page.html',
                         "<!doctype html><title>t</title><p>static</p>\n");
Kanban::Test::write_file($t->var . '/www/t-static/data.json',
                         qq({"static": true}\n));
$t->run;

my $slug = $t->signup(prefix => 'hdr');

sub security_ok {
    my ($r, $name, $html) = @_;
    my $h = $r->{headers};
    ok($r->{status}, "$name: answered ($r->{status})");
    like($h->{'x-request-id'} // '', qr/^[\x21-\x7e]{8,200}$/,
         "$name: X-Request-Id");
    is($h->{'x-content-type-options'}, 'nosniff', "$name: nosniff");
    is($h->{'referrer-policy'}, 'same-origin', "$name: Referrer-Policy");
    is(scalar @{ $r->{header_list}{'x-request-id'} // [] }, 1,
       "$name: one X-Request-Id");
    if ($html) {
        like($h->{'content-security-policy'} // '',
             qr/frame-ancestors\s+'none'/, "$name: CSP frame-ancestors 'none'");
    }
}

my %responses = (
    'JSON (workspace)'  => [GET => '/api/v1/workspace', host => $slug],
    'JSON (health)'     => [GET => '/health'],
    'problem 404'       => [GET => '/api/v1/nope', host => $slug],
    'problem 405'       => [DELETE => '/api/v1/workspace', host => $slug],
    'problem 415'       => [POST => '/api/v1/tenants', body => '{}',
                            headers => { 'Content-Type' => 'text/plain' }],
    'problem tenant_not_found'
                        => [GET => '/api/v1/workspace', host => 'no-such-ws'],
    'metrics'           => [GET => '/metrics'],
    'static JSON'       => [GET => '/t-static/data.json', host => $slug],
    'static missing'    => [GET => '/t-static/missing.png', host => $slug],
);

for my $name (sort keys %responses) {
    my ($method, $path, %o) = @{ $responses{$name} };
    security_ok($t->req($method, $path, %o), $name);
}

my $r = $t->req(GET => '/t-static/page.html', host => $slug);
is($r->{status}, 200, 'static HTML: 200');
like($r->{headers}{'content-type'} // '', qr{^text/html}, 'static HTML: text/html');
security_ok($r, 'static HTML', 1);

# The request id.

$r = $t->req(GET => '/api/v1/workspace', host => $slug,
             headers => { 'X-Request-Id' => 'client-id_0123.ABC' });
is($r->{headers}{'x-request-id'}, 'client-id_0123.ABC',
   'a sane X-Request-Id is echoed');

$r = $t->req(GET => '/api/v1/nope', host => $slug,
             headers => { 'X-Request-Id' => 'problem-id-42' });
is($r->{headers}{'x-request-id'}, 'problem-id-42', '... on a problem too');

$r = $t->req(POST => '/api/v1/tenants', body => '{',
             headers => { 'X-Request-Id' => 'bad-json-id-7',
                          'Content-Type' => 'application/json' });
is($r->{headers}{'x-request-id'}, 'bad-json-id-7', '... and on a 400');

my %ids;
for my $bad ('has space', 'x' x 1000, '<script>', "quote\"d", '', 'a;b=c') {
    $r = $t->req(GET => '/api/v1/workspace', host => $slug,
                 headers => { 'X-Request-Id' => $bad });
    my $id = $r->{headers}{'x-request-id'} // '';
    my $show = length $bad > 20 ? substr($bad, 0, 20) . '...' : $bad;
    isnt($id, $bad, "an insane X-Request-Id '$show' is replaced");
    like($id, qr/^[\x21-\x7e]{8,200}$/, '... by a generated one');
    unlike($id, qr/[<>"';]/, '... that is safe to log and to show');
    $ids{$id}++;
}

for (1 .. 20) {
    $r = $t->req(GET => '/api/v1/workspace', host => $slug);
    $ids{ $r->{headers}{'x-request-id'} // '' }++;
}
is(scalar(grep { $ids{$_} > 1 } keys %ids), 0,
   'generated request ids are all different');

# Each worker draws its ids 256 at a time: more than a draw's worth, each
# new, 32 hex digits, and $request_id in the access log the same id.
my @sent;
for (1 .. 600) {
    $r = $t->req(GET => '/t-static/logged.json', host => $slug);
    push @sent, $r->{headers}{'x-request-id'} // '';
}
my %seen;
$seen{$_}++ for @sent;
is(scalar keys %seen, 600, '600 requests: 600 different ids');
is(scalar(grep { !/^[0-9a-f]{32}$/ } @sent), 0, '... each 32 hex digits');
my @logged = split /\n/, Kanban::Test::read_file($t->var . '/log/ids.log');
is_deeply([ sort @logged ], [ sort @sent ],
          '... and $request_id in the log is the id each response carried');

# No server version is given away.

$r = $t->req(GET => '/api/v1/workspace', host => $slug);
unlike($r->{headers}{server} // '', qr{/\d}, 'Server has no version');

Kanban::Test->done_testing;
