#!/usr/bin/perl

# The worker's memo of verified access tokens (ngx_kanban_jwt_memo.c): a
# token verified once is not verified again, yet nothing it refused
# before passes now, on the same keep-alive connection or another
# worker's:
#
#   - a forged token in the same slot of the memo (its signature or its
#     payload changed) is refused, and leaves the real one's claims as
#     they were;
#   - a remembered token on another workspace's host is refused;
#   - a remembered token is refused once its exp (and the leeway) passed;
#   - a key rotation (the configuration reloaded) refuses the old key's
#     tokens at once;
#   - an API token (looked up, never remembered) is refused on the next
#     request once revoked, or once its owner is disabled.
#
# An access token itself is never revoked before its exp (SECURITY.md,
# 7.4.1 and 7.4.2): sign-out and a disabled member end refresh tokens.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(hmac_sha256);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::XS;
use MIME::Base64 qw(encode_base64url);
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);

my $JSON = JSON::XS->new->utf8->canonical;
my $SLOTS = 1024;           # NGX_KANBAN_JWT_MEMO_SLOTS

make_path($Kanban::Test::TMP);
my $dir = tempdir('jwt-memo-XXXXXX', DIR => $Kanban::Test::TMP,
                  CLEANUP => 1);

sub b64u { encode_base64url($_[0]) }

sub secret_key {
    my ($name) = @_;
    my $secret = b64u(join '', map { chr rand 256 } 1 .. 48);
    my $file = "$dir/$name.secret";
    Kanban::Test::write_file($file, "$secret\n");
    return { secret => $secret, file => $file };
}

my $serial = 0;

sub token {
    my ($key, $tid, %claims) = @_;
    my $now = time;
    my $header = b64u($JSON->encode({ alg => 'HS256', typ => 'JWT' }));
    my $payload = b64u($JSON->encode({
        iss => 'kanban', aud => 'kanban-api', sub => 'user-' . ++$serial,
        tid => $tid, role => 'contributor', email => 'ada@example.com',
        iat => int $now, nbf => int $now, exp => int($now) + 600,
        jti => "memo-$$-$serial", %claims }));
    my $input = "$header.$payload";
    return "$input." . b64u(hmac_sha256($input, $key->{secret}));
}

# nginx's ngx_murmur_hash2, to find the memo's slot of a token
sub mul32 {
    my ($a, $b) = @_;
    return (($a * ($b & 0xffff))
            + ((($a * ($b >> 16)) & 0xffff) << 16)) & 0xffffffff;
}

sub murmur2 {
    my ($s) = @_;
    my $m = 0x5bd1e995;
    my @b = unpack 'C*', $s;
    my $len = @b;
    my $h = $len & 0xffffffff;
    my $i = 0;
    while ($len - $i >= 4) {
        my $k = $b[$i] | $b[$i + 1] << 8 | $b[$i + 2] << 16
                | $b[$i + 3] << 24;
        $k = mul32($k, $m);
        $k ^= $k >> 24;
        $k = mul32($k, $m);
        $h = mul32($h, $m) ^ $k;
        $i += 4;
    }
    my $rest = $len - $i;
    $h ^= $b[$i + 2] << 16 if $rest >= 3;
    $h ^= $b[$i + 1] << 8 if $rest >= 2;
    if ($rest >= 1) {
        $h ^= $b[$i];
        $h = mul32($h, $m);
    }
    $h ^= $h >> 13;
    $h = mul32($h, $m);
    $h ^= $h >> 15;
    return $h;
}

sub slot { murmur2($_[0]) & ($SLOTS - 1) }



###########################################################################
# nginx: /whoami (a file behind kanban_jwt) answers the claims, the worker and the connection

my $WHOAMI = <<'EOF';
location = /whoami {
    kanban_jwt on;
    default_type text/plain;
    alias @VAR@/whoami.txt;
    add_header X-Sub $jwt_sub always;
    add_header X-Role $jwt_role always;
    add_header X-Email $jwt_claim_email always;
    add_header X-Pid $pid always;
    add_header X-Conn $connection always;
}
EOF

my $key = secret_key('one');
my $t = Kanban::Test->new(replace => { kanban_jwt_key => $key->{file} },
                          http => "kanban_jwt_leeway 1s;\n",
                          tenant => $WHOAMI);
Kanban::Test::write_file($t->var . '/whoami.txt', "hello\n");
$t->run;
my $ws = $t->workspace(prefix => 'jwtmemo');
my $A = $ws->slug;
my $B = $t->signup(prefix => 'jwtmemob');

# One keep-alive connection, HTTP/1.1 requests one after another.
sub conn {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port,
                                  Timeout => 10)
        or die "connect: $!";
    return $s;
}

sub ask {
    my ($s, $slug, $auth, $path) = @_;
    $path //= '/whoami';
    my $port = $t->port;
    print $s "GET $path HTTP/1.1\r\nHost: $slug.localhost:$port\r\n"
             . (defined $auth ? "Authorization: $auth\r\n" : '') . "\r\n";
    my $line = <$s>;
    return { status => 0 } unless defined $line;
    my ($status) = $line =~ m{^HTTP/1\.1 (\d+)} or die "bad line: $line";
    my %h;
    while (defined(my $l = <$s>)) {
        $l =~ s/\r?\n$//;
        last if $l eq '';
        my ($n, $v) = split /:\s*/, $l, 2;
        $h{lc $n} = $v;
    }
    my $body = '';
    read($s, $body, $h{'content-length'}) if $h{'content-length'};
    return { status => $status, headers => \%h, body => $body };
}

sub bearer { "Bearer $_[0]" }

# Each worker's answer to a token on /whoami, on connections of their
# own: until both workers answered (or 200 connections were tried).
sub every_worker {
    my ($slug, $auth) = @_;
    my %by_pid;
    for (1 .. 200) {
        my $r = ask(conn(), $slug, $auth);
        $by_pid{ $r->{headers}{'x-pid'} // '?' } = $r->{status};
        last if keys %by_pid >= 2;
    }
    diag('one worker answered: ' . join ', ', keys %by_pid)
        if keys %by_pid < 2;
    return \%by_pid;
}


###########################################################################
# remembered: the same claims on every request of a connection

my $real = token($key, $A, sub => 'user-real', role => 'project_manager',
                 email => 'pm@example.com');
my $c = conn();
my @seen = map { ask($c, $A, bearer($real)) } 1 .. 3;
is_deeply([ map { $_->{status} } @seen ], [200, 200, 200],
          'a token: three requests on one connection');
is_deeply([ map { $_->{headers}{'x-role'} } @seen ],
          [('project_manager') x 3], '... its role each time');
is_deeply([ map { $_->{headers}{'x-email'} } @seen ],
          [('pm@example.com') x 3], '... and a claim of its payload');
my $conn_id = $seen[0]{headers}{'x-conn'};
my $pid = $seen[0]{headers}{'x-pid'};
ok(!grep({ $_->{headers}{'x-conn'} ne $conn_id } @seen),
   '... one connection throughout');


###########################################################################
# forged tokens in the real one's slot

my ($input, $sig) = $real =~ /^(.*)\.([^.]+)$/;
my $want = slot($real);
my @alphabet = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_');

# the signature changed in its last characters
my $forged_sig;
for my $n (0 .. 200_000) {
    my $tail = join '', map { $alphabet[($n >> (6 * $_)) & 63] } 0 .. 3;
    my $f = "$input." . substr($sig, 0, -5) . $tail . substr($sig, -1);
    next if $f eq $real;
    if (slot($f) == $want) { $forged_sig = $f; last }
}
ok($forged_sig, 'a forged signature in the real token\'s slot');
is(length $forged_sig, length $real, '... of the same length');

# the payload made admin, the real signature kept
my ($h64) = split /\./, $real;
my $forged_claims;
for my $n (1 .. 200_000) {
    my $payload = b64u($JSON->encode({
        iss => 'kanban', aud => 'kanban-api', sub => 'user-real',
        tid => $A, role => 'admin', email => 'pm@example.com',
        iat => int time, nbf => int time, exp => int(time) + 600,
        jti => "forged-$n" }));
    my $f = "$h64.$payload.$sig";
    if (slot($f) == $want) { $forged_claims = $f; last }
}
ok($forged_claims, 'a token made admin, with the real signature, in its slot');

for ([ $forged_sig, 'the forged signature' ],
     [ $forged_claims, 'the admin payload' ])
{
    my ($f, $what) = @$_;
    my $r = ask($c, $A, bearer($f));
    is($r->{status}, 401, "$what: 401 on the same connection");
    ok(!$r->{headers}{'x-sub'}, '... and no claims');
    my $w = every_worker($A, bearer($f));
    ok(!grep({ $_ != 401 } values %$w), '... 401 on each worker too: '
                                        . join(', ', values %$w));
}

my $r = ask($c, $A, bearer($real));
is($r->{status}, 200, 'the real token still passes after the forgeries');
is($r->{headers}{'x-role'}, 'project_manager', '... with its own role');
is($r->{headers}{'x-pid'}, $pid, '... on the same worker');


###########################################################################
# another workspace's host

$r = ask($c, $B, bearer($real));
is($r->{status}, 401, 'a remembered token on another workspace: 401');
is(ask($c, $A, bearer($real))->{status}, 200, '... and on its own still 200');


###########################################################################
# expiry: remembered no longer than exp and the leeway (1 s here)

my $exp = int(time) + 2;
my $short = token($key, $A, exp => $exp);
$c = conn();
is(ask($c, $A, bearer($short))->{status}, 200, 'a token about to expire: 200');
is(ask($c, $A, bearer($short))->{status}, 200, '... again (remembered)');
my $w = every_worker($A, bearer($short));
ok(!grep({ $_ != 200 } values %$w), '... on each worker: '
                                    . join(', ', values %$w));
sleep 0.1 while time <= $exp + 1 + 1;      # past exp + leeway, whole seconds
$r = ask($c, $A, bearer($short));
is($r->{status}, 401, 'past its exp and the leeway: 401 on the same connection');
$w = every_worker($A, bearer($short));
ok(!grep({ $_ != 401 } values %$w), '... and on every worker: '
                                    . join(', ', values %$w));


###########################################################################
# API tokens are looked up each time: revoked, or their owner disabled

my $carl = $ws->member('Carl');
my $api_token = $ws->api($carl, POST => '/api/v1/api-tokens',
                         json => { name => 'memo', scopes => ['read'] })->{json};
my $second = $ws->api($carl, POST => '/api/v1/api-tokens',
                      json => { name => 'memo 2', scopes => ['read'] })->{json};
$c = conn();
is(ask($c, $A, bearer($api_token->{token}), '/api/v1/auth/me')->{status}, 200,
   'an API token: 200');
is(ask($c, $A, bearer($api_token->{token}), '/api/v1/auth/me')->{status}, 200,
   '... 200 again');
is($ws->api($carl, DELETE => "/api/v1/api-tokens/$api_token->{id}")->{status},
   204, 'Carl revokes it');
is(ask($c, $A, bearer($api_token->{token}), '/api/v1/auth/me')->{status}, 401,
   '... the next request on the same connection: 401');
problem_is($ws->api($api_token->{token}, GET => '/api/v1/auth/me'), 401,
           'unauthorized', '... and on a new one');

is(ask($c, $A, bearer($second->{token}), '/api/v1/auth/me')->{status}, 200,
   'his second token: 200');
is($ws->api($ws->admin, DELETE => "/api/v1/users/$carl->{id}")->{status}, 204,
   'Carl is disabled');
is(ask($c, $A, bearer($second->{token}), '/api/v1/auth/me')->{status}, 401,
   '... the next request with his token on the same connection: 401');


###########################################################################
# key rotation: the configuration reloaded with another key

my $session = $ws->admin->{token};
is(ask(conn(), $A, bearer($session), '/api/v1/auth/me')->{status}, 200,
   "the admin's session token: 200");
is(ask(conn(), $A, bearer($real))->{status}, 200, 'the real token: 200');

my $key2 = secret_key('two');
my $fresh = token($key2, $A, sub => 'user-new');
my %old_pids = map { $_ => 1 } keys %{ every_worker($A, bearer($real)) };
$t->{replace}{kanban_jwt_key} = $key2->{file};
$t->write_config;
my ($rc, $out) = $t->_nginx('-s', 'reload');
is($rc, 0, 'nginx reloaded with a new key') or diag($out);

# the new workers answer the new key's tokens; the old ones are gone
my $deadline = time + 20;
my $settled = 0;
while (time < $deadline) {
    my $ok = 0;
    for (1 .. 10) {
        my $r = ask(conn(), $A, bearer($fresh));
        $ok++ if $r->{status} == 200 && !$old_pids{ $r->{headers}{'x-pid'} };
    }
    if ($ok == 10) { $settled = 1; last }
    sleep 0.2;
}
ok($settled, "the new workers take the new key's tokens");

$c = conn();
is(ask($c, $A, bearer($real))->{status}, 401,
   "the old key's token, remembered before: 401");
is(ask($c, $A, bearer($fresh))->{status}, 200,
   "... the new key's on the same connection: 200");
problem_is($ws->api($session, GET => '/api/v1/auth/me'), 401, 'unauthorized',
           "the session signed with the old key: 401");
$w = every_worker($A, bearer($real));
ok(!grep({ $_ != 401 } values %$w), "the old key's token on every worker: "
                                    . join(', ', values %$w));

$t->done_testing;
