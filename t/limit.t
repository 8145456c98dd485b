#!/usr/bin/perl

# Rate limits (kanban_limit_zone, kanban_limit): a burst of the limit
# passes, the rest gets 429 rate_limited with Retry-After; every response
# of a limited location carries RateLimit-Limit, -Remaining and -Reset,
# nginx's own error pages too; keys (a variable, the verified user, the
# address) are counted apart; a request refused by one limit costs nothing
# in the others; refusals are counted in /metrics; bad directives are
# refused by nginx -t.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(hmac_sha256);
use File::Path ();
use MIME::Base64 qw(encode_base64url);
use Time::HiRes qw(sleep);
use Kanban::Test qw(problem_is);

my $SECRET = 'a secret for the rate limit test, long enough';

# The tokens of this file are HS256, signed with a secret of its own.
File::Path::make_path($Kanban::Test::TMP);
my $secret_file = "$Kanban::Test::TMP/limit-jwt-$$.secret";
Kanban::Test::write_file($secret_file, $SECRET);
END { unlink $secret_file if defined $secret_file }

my $t = Kanban::Test->new(replace => { kanban_jwt_key => $secret_file },
                          http => <<'HTTP', tenant => <<'TENANT');
kanban_limit_zone  zone=t:1m rate=10r/m burst=10;
kanban_limit_zone  zone=k:1m rate=5r/m;
kanban_limit_zone  zone=ip:1m rate=3r/m;
kanban_limit_zone  zone=e:1m rate=4r/m;
kanban_limit_zone  zone=fast:1m rate=2r/s;
kanban_limit_zone  zone=srv:1m rate=5r/m;
HTTP
kanban_limit zone=srv key=$http_x_server_limit;
location /t-srv/   { root @VAR@/www; try_files $uri /t-srv2/missing; }
location /t-srv2/  { root @VAR@/www; error_page 404 @problem; }
location = /api/v1/workspace { kanban_limit zone=t; kanban_api; }
location /t-key/   { kanban_limit zone=k key=$http_x_client; root @VAR@/www; }
location /t-multi/ { kanban_limit zone=k key=$http_x_client;
                     kanban_limit zone=ip; root @VAR@/www; }
location /t-err/   { kanban_limit zone=e key=$http_x_client; root @VAR@/www;
                     error_page 404 @problem; }
location /t-plain/ { kanban_limit zone=e key=$http_x_client; root @VAR@/www; }
location /t-fast/  { kanban_limit zone=fast key=$http_x_client burst=2;
                     root @VAR@/www; }
location /t-free/  { root @VAR@/www; }
TENANT

for my $dir (qw(t-key t-multi t-err t-plain t-fast t-free t-srv)) {
    mkdir $t->var . '/www';
    mkdir $t->var . "/www/$dir";
    Kanban::Test::write_file($t->var . "/www/$dir/f.txt", "ok\n");
}
$t->run;

my $slug = $t->signup(prefix => 'lim');
my $refused = 0;            # every 429 this file sees, for the metric
my $limited_before = $t->metric('kanban_rate_limited_total');
is($limited_before, 0, 'kanban_rate_limited_total starts at 0');

sub token {
    my ($sub, $tid) = @_;
    my $enc = sub { encode_base64url($Kanban::Test::JSON->encode($_[0])) };
    my $input = $enc->({ alg => 'HS256', typ => 'JWT' }) . '.'
        . $enc->({ sub => $sub, tid => $tid // $slug, iss => 'kanban',
                   aud => 'kanban-api', iat => time, exp => time + 600 });
    return "$input." . encode_base64url(hmac_sha256($input, $SECRET));
}

sub get {
    my ($path, %headers) = @_;
    my $r = $t->req(GET => $path, host => $slug, headers => \%headers);
    $refused++ if $r->{status} == 429;
    return $r;
}

# The three headers, whole numbers, the limit as configured.
sub headers_ok {
    my ($r, $limit, $name) = @_;
    my $h = $r->{headers};
    my $ok = ($h->{'ratelimit-limit'} // '') eq $limit
        && ($h->{'ratelimit-remaining'} // '') =~ /^\d+$/
        && $h->{'ratelimit-remaining'} < $limit
        && ($h->{'ratelimit-reset'} // '') =~ /^\d+$/
        && !grep { @{ $r->{header_list}{$_} // [] } != 1 }
                qw(ratelimit-limit ratelimit-remaining ratelimit-reset);
    ok($ok, "$name: RateLimit-Limit $limit, -Remaining, -Reset, once each")
        or diag(join ', ', map { "$_: " . ($h->{$_} // 'none') }
                qw(ratelimit-limit ratelimit-remaining ratelimit-reset));
    return $ok;
}

sub refused_ok {
    my ($r, $limit, $name) = @_;
    problem_is($r, 429, 'rate_limited', "$name: 429 rate_limited");
    like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/,
         "$name: Retry-After in whole seconds, at least 1");
    headers_ok($r, $limit, $name);
    is($r->{headers}{'ratelimit-remaining'}, 0, "$name: none remaining");
}

# A burst of N + 20 by address (no token): N pass, in order, each with
# one less remaining; the other 20 are refused.

my (@status, @remaining, @reset, @retry);
for (1 .. 30) {
    my $r = get('/api/v1/workspace');
    push @status, $r->{status};
    push @remaining, $r->{headers}{'ratelimit-remaining'} // 'none';
    push @reset, $r->{headers}{'ratelimit-reset'} // 'none';
    push @retry, $r->{headers}{'retry-after'} // 'none' if $r->{status} == 429;
    if ($_ == 1) {
        is($r->{status}, 200, 'the first request passes');
        is($r->{json}{slug}, $slug, '... and is answered by the API');
        headers_ok($r, 10, 'a 200 of kanban_api');
    }
    if ($_ == 11) {
        refused_ok($r, 10, 'the 11th');
    }
}
is(join(' ', @status), join(' ', ('200') x 10, ('429') x 20),
   'a burst of 30 at 10r/m burst=10: exactly the first 10 pass');
is(join(' ', @remaining[0 .. 9]), '9 8 7 6 5 4 3 2 1 0',
   'RateLimit-Remaining counts down');
is(scalar(grep { $_ ne '0' } @remaining[10 .. 29]), 0,
   '... and stays 0 while refused');
is(scalar(grep { !/^\d+$/ || $_ > 60 } @reset), 0,
   'RateLimit-Reset: whole seconds, at most the 60 s the burst takes');
cmp_ok($reset[9], '>=', 54, 'the bucket is empty: full again in ~60 s')
    or diag("@reset");
is(scalar(grep { !/^\d+$/ || $_ < 1 || $_ > 6 } @retry), 0,
   'Retry-After: 1 to 6 s (one request every 6 s)') or diag("@retry");

# The same location for a user (a verified token): counted apart from the
# address, and apart from another user.

my $r = get('/api/v1/workspace', Authorization => 'Bearer ' . token('alice'));
is($r->{status}, 200, 'a user behind the refused address passes');
is($r->{headers}{'ratelimit-remaining'}, 9, '... with a bucket of its own');

my @alice = map { get('/api/v1/workspace',
                      Authorization => 'Bearer ' . token('alice'))->{status} }
            1 .. 11;
is(join(' ', @alice), join(' ', ('200') x 9, ('429') x 2),
   'the user gets 10 in all');

$r = get('/api/v1/workspace', Authorization => 'Bearer ' . token('bob'));
is($r->{status}, 200, 'another user still passes');
is($r->{headers}{'ratelimit-remaining'}, 9, '... with a full bucket');

$r = get('/api/v1/workspace',
         Authorization => 'Bearer ' . token('carol', 'another-workspace'));
refused_ok($r, 10, "a token of another workspace counts as the address");

$r = get('/api/v1/workspace', Authorization => 'Bearer not.a.token');
refused_ok($r, 10, 'so does a token that is no token');

# Many at once, across both workers: still exactly the limit.

my @c = map { $t->send_req(GET => '/t-key/f.txt', host => $slug,
                           headers => { 'X-Client' => 'crowd' }) } 1 .. 25;
Kanban::Test::wait_all(\@c, 20);
@status = sort map { $_->response->{status} } @c;
$refused += grep { $_ == 429 } @status;
is(join(' ', @status), join(' ', ('200') x 5, ('429') x 20),
   '25 at once at 5r/m: exactly 5 pass');

# key=$http_x_client: two clients apart; no value, no limit.

for my $client (qw(anna ben)) {
    my @s = map { get('/t-key/f.txt', 'X-Client' => $client)->{status} }
            1 .. 7;
    is(join(' ', @s), join(' ', ('200') x 5, ('429') x 2),
       "client $client: its own 5");
}

@status = map { get('/t-key/f.txt')->{status} } 1 .. 10;
is(join(' ', @status), join(' ', ('200') x 10),
   'an empty key is not limited');
$r = get('/t-key/f.txt');
ok(!exists $r->{headers}{'ratelimit-limit'}, '... and gets no headers');

$r = get('/t-free/f.txt');
ok(!exists $r->{headers}{'ratelimit-limit'},
   'a location without a limit gets no headers');

# Error responses: nginx's own 404 page, and a 404 through error_page to
# a named location (counted once, the headers once).

$r = get('/t-plain/missing', 'X-Client' => 'errs');
is($r->{status}, 404, "nginx's own 404");
headers_ok($r, 4, "nginx's own 404");
is($r->{headers}{'ratelimit-remaining'}, 3, '... counted');

@remaining = ();
for (1 .. 3) {
    $r = get('/t-err/missing', 'X-Client' => 'errs');
    problem_is($r, 404, 'not_found', "404 via error_page \@problem ($_)")
        if $_ == 1;
    headers_ok($r, 4, "404 via error_page ($_)") if $_ == 1;
    push @remaining, $r->{headers}{'ratelimit-remaining'} // 'none';
}
is("@remaining", '2 1 0', 'an error page is counted once');

$r = get('/t-err/f.txt', 'X-Client' => 'errs');
refused_ok($r, 4, 'then refused, whatever the URI');

# A limit of the server: its locations and error pages inherit it, and
# a request that goes through try_files and error_page is counted once.

@remaining = ();
for my $path (qw(/t-srv/f.txt /t-srv/nothing /t-srv/f.txt)) {
    $r = get($path, 'X-Server-Limit' => 'srv');
    push @remaining, $r->{status} . '/'
        . ($r->{headers}{'ratelimit-remaining'} // 'none');
}
is("@remaining", '200/4 404/3 200/2',
   'a server-level limit, through try_files and error_page: once each');

# Two limits in one location: the stricter tells the headers; a request
# one refuses costs nothing in the other.

@remaining = ();
for (1 .. 3) {
    $r = get('/t-multi/f.txt', 'X-Client' => 'multi');
    is($r->{status}, 200, "two limits: request $_ passes");
    push @remaining, $r->{headers}{'ratelimit-remaining'} // 'none';
}
is("@remaining", '2 1 0', 'the headers follow the stricter limit (3r/m)');
is($r->{headers}{'ratelimit-limit'}, 3, '... and its limit');

@status = map { get('/t-multi/f.txt', 'X-Client' => 'multi')->{status} }
          1 .. 4;
is("@status", '429 429 429 429', 'then the address limit refuses');

@status = map { get('/t-key/f.txt', 'X-Client' => 'multi')->{status} }
          1 .. 3;
is("@status", '200 200 429',
   'the client limit lost only the 3 that passed both');

# The bucket refills at the rate.

@status = map { get('/t-fast/f.txt', 'X-Client' => 'fast')->{status} }
          1 .. 3;
is("@status", '200 200 429', '2r/s: 2 at once, the third refused');
sleep 0.6;
$r = get('/t-fast/f.txt', 'X-Client' => 'fast');
is($r->{status}, 200, '... half a second later one more passes');
$r = get('/t-fast/f.txt', 'X-Client' => 'fast');
is($r->{status}, 429, '... but only one');
is($r->{headers}{'retry-after'}, 1, '... Retry-After 1');

# Refusals are counted.

is($t->metric('kanban_rate_limited_total'), $refused,
   "kanban_rate_limited_total counts every refusal ($refused)");

# Bad directives: nginx -t refuses them at their line.

my @bad = (
    ['kanban_limit_zone zone=x:1m rate=abc;', 'rate=abc'],
    ['kanban_limit_zone zone=x:1m rate=10r/d;', 'rate=10r/d'],
    ['kanban_limit_zone zone=x:1m rate=0r/s;', 'rate=0r/s'],
    ['kanban_limit_zone zone=x:1m rate=10r/m burst=0;', 'burst=0'],
    ['kanban_limit_zone zone=x:1m rate=10r/m burst=many;', 'burst=many'],
    ['kanban_limit_zone zone=x rate=10r/m;', 'zone=x'],
    ['kanban_limit_zone zone=x:1m rate=10r/m bogus=1;', 'bogus=1'],
    ['kanban_limit_zone rate=10r/m;', '"zone"'],
    ['kanban_limit_zone zone=x:1m;', '"rate"'],
    ["kanban_limit_zone zone=x:1m rate=1r/s;\n"
     . 'kanban_limit_zone zone=x:1m rate=2r/s;', 'already declared'],
    ["kanban_limit_zone zone=x:1m rate=1r/s;\n"
     . 'kanban_limit key=$remote_addr;', '"zone"'],
    ['kanban_limit zone=nope;', 'unknown kanban_limit_zone "nope"'],
    ["kanban_limit_zone zone=x:1m rate=1r/s;\n"
     . 'kanban_limit zone=x burst=-1;', 'burst=-1'],
    ["kanban_limit_zone zone=x:1m rate=1r/s;\n"
     . 'kanban_limit zone=x key=;', 'key='],
    ['kanban_limit_zone zone=x:1m rate=1r/s redis=maybe;', 'redis=maybe'],
    ['kanban_limit_zone zone=x:1m rate=1r/s fallback=5r/m;',
     '"fallback" needs "redis=on"'],
    ['kanban_limit_zone zone=x:1m rate=1r/s redis=on fallback=abc;',
     'fallback=abc'],
    ['kanban_limit_zone zone=x:1m rate=1r/s redis=on fallback_burst=2;',
     '"fallback_burst" needs "fallback"'],
    ['kanban_limit_zone zone=x:1m rate=100r/s burst=10 redis=on;',
     'must be 1s to 24h'],
);

for my $case (@bad) {
    my ($conf, $word) = @$case;
    my ($rc, $out) = Kanban::Test->new(http => "$conf\n")->test_config;
    (my $show = $conf) =~ s/\n/ /g;
    isnt($rc, 0, "nginx -t refuses: $show");
    like($out, qr/\[emerg\].*\Q$word\E.*test\.conf:\d+/,
         '... naming what and where') or diag($out);
}

my ($rc, $out) = Kanban::Test->new(http => <<'EOF')->test_config;
kanban_limit_zone zone=x:1m rate=100r/h;
kanban_limit zone=x key=$remote_addr$http_x_client burst=7;
kanban_limit zone=x;
EOF
is($rc, 0, 'nginx -t accepts r/h, a key of variables, several limits')
    or diag($out);

($rc, $out) = Kanban::Test->new(http => <<'EOF')->test_config;
kanban_limit_zone zone=x:1m rate=100r/m redis=on fallback=10r/m
                  fallback_burst=3;
EOF
is($rc, 0, 'nginx -t accepts redis=on with a fallback') or diag($out);

($rc, $out) = Kanban::Test->new(http => <<'EOF', replace => {
kanban_limit_zone zone=x:1m rate=100r/m redis=on;
EOF
    kanban_redis => '""' })->test_config;
isnt($rc, 0, 'nginx -t refuses redis=on without kanban_redis');
like($out, qr/\[emerg\].*"(x|api)" is redis=on, but no "kanban_redis"/,
     '... saying so') or diag($out);

Kanban::Test->done_testing;
