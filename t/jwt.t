#!/usr/bin/perl

# Bearer tokens (kanban_jwt): a valid token of the host's workspace lets a
# request through with its claims in $jwt_*; anything else is the same 401
# whatever was wrong with it.  The catalogue of attacks of the issue: alg
# "none" and algorithm confusion, stripped, truncated, swapped and forged
# signatures, extra segments, hostile kids, oversized tokens, malformed
# Authorization headers, times at the edges of the leeway, tokens of another
# workspace, issuer or audience.  HS256, ES256, RS256 and EdDSA each; key
# rotation with kanban_jwt_verify_key and the JWKS; weak keys refused.
#
# Tokens are made here: HS256 with Digest::SHA, the others with openssl(1).

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(hmac_sha256 hmac_sha512 sha256);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON::XS;
use MIME::Base64 qw(encode_base64url);
use Kanban::Test qw(problem_is);

my $JSON = JSON::XS->new->utf8->canonical;

make_path($Kanban::Test::TMP);
my $dir = tempdir('jwt-keys-XXXXXX', DIR => $Kanban::Test::TMP,
                  CLEANUP => 1);


###########################################################################
# keys and tokens

sub openssl {
    my @args = @_;
    my $out = `openssl @args 2>&1`;
    die "openssl @args: $out" if $?;
    return $out;
}

sub slurp { Kanban::Test::read_file(@_) }

sub b64u { encode_base64url($_[0]) }     # unpadded

my $serial = 0;

# A key as the tests use it: {alg, file (what nginx reads), kid, and
# secret or pem (what we sign with)}.
sub secret_key {
    my ($name, $secret) = @_;
    my $file = "$dir/$name";
    Kanban::Test::write_file($file, "$secret\n");
    return { alg => 'HS256', secret => $secret, file => $file,
             kid => substr(b64u(sha256($secret)), 0, 16) };
}

sub pem_key {
    my ($name, $alg) = @_;
    my $pem = "$dir/$name.pem";
    my $pub = "$dir/$name.pub.pem";
    openssl({
        ES256 => "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256",
        RS256 => "genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
        EdDSA => "genpkey -algorithm ED25519",
    }->{$alg} . " -out $pem");
    openssl("pkey -in $pem -pubout -out $pub");
    openssl("pkey -in $pem -pubout -outform DER -out $dir/$name.pub.der");
    my $der = slurp("$dir/$name.pub.der");
    return { alg => $alg, pem => $pem, pub => $pub, file => $pem,
             der => $der, kid => substr(b64u(sha256($der)), 0, 16) };
}

# ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } to r || s.
sub der_to_raw {
    my ($der) = @_;
    my @b = unpack 'C*', $der;
    my $i = 0;
    my $len = sub {
        my $n = $b[$i++];
        return $n if $n < 0x80;
        my $v = 0;
        $v = ($v << 8) | $b[$i++] for 1 .. ($n & 0x7f);
        return $v;
    };
    die 'not a SEQUENCE' unless $b[$i++] == 0x30;
    $len->();
    my $raw = '';
    for (1 .. 2) {
        die 'not an INTEGER' unless $b[$i++] == 0x02;
        my $n = $len->();
        my $int = pack 'C*', @b[$i .. $i + $n - 1];
        $i += $n;
        $int =~ s/^\x00+//;
        $raw .= ("\x00" x (32 - length $int)) . $int;
    }
    return $raw;
}

# The signature of $input by $key; for ES256 {der => 1} leaves it DER.
sub sign {
    my ($key, $input, %o) = @_;

    return hmac_sha256($input, $key->{secret}) if $key->{alg} eq 'HS256';

    my $n = ++$serial;
    Kanban::Test::write_file("$dir/in.$n", $input);
    if ($key->{alg} eq 'EdDSA') {
        openssl("pkeyutl -sign -rawin -inkey $key->{pem}"
                . " -in $dir/in.$n -out $dir/sig.$n");
    } else {
        openssl("dgst -sha256 -sign $key->{pem} -out $dir/sig.$n $dir/in.$n");
    }
    my $sig = slurp("$dir/sig.$n");
    unlink "$dir/in.$n", "$dir/sig.$n";

    return $key->{alg} eq 'ES256' && !$o{der} ? der_to_raw($sig) : $sig;
}

# token(key => $key, tid => $slug, claims => {...}, header => {...})
# A claim or header member given as undef is left out.
sub claims_for {
    my (%o) = @_;
    my $now = time;
    my %c = (
        iss   => 'kanban',
        aud   => 'kanban-api',
        sub   => 'user-' . ++$serial,
        tid   => $o{tid},
        role  => 'contributor',
        email => 'ada@example.com',
        level => 7,
        teams => ['red', 'blue'],
        iat   => $now,
        nbf   => $now,
        exp   => $now + 600,
        jti   => "jti-$$-$serial",
        %{ $o{claims} // {} },
    );
    delete @c{ grep { !defined $c{$_} } keys %c };
    return \%c;
}

sub parts {
    my (%o) = @_;
    my %h = (alg => $o{key}{alg}, typ => 'JWT', %{ $o{header} // {} });
    delete @h{ grep { !defined $h{$_} } keys %h };
    my $header = $o{header_json} // $JSON->encode(\%h);
    my $payload = $o{payload_json} // $JSON->encode(claims_for(%o));
    return (b64u($header), b64u($payload));
}

sub token {
    my (%o) = @_;
    my $input = join '.', parts(%o);
    return "$input." . b64u(sign($o{key}, $input, %o));
}

# A token of exactly $len characters, validly signed, made so by a claim
# "pad" (and a header member "p" for the lengths base64 cannot hit).
sub token_of_length {
    my ($len, %o) = @_;
    my $sized = sub {
        my ($hp, $n) = @_;
        return token(%o, header => { p => 'p' x $hp },
                     claims => { %{ $o{claims} // {} }, pad => 'x' x $n });
    };
    my $base = length $sized->(0, 0);
    my $guess = int(($len - $base) * 3 / 4);
    for my $hp (0 .. 3) {
        for my $n ($guess - 6 .. $guess + 6) {
            next if $n < 0;
            my $t = $sized->($hp, $n);
            return $t if length $t == $len;
        }
    }
    die "no token of $len characters";
}


###########################################################################
# nginx

my $WHOAMI = <<'EOF';
    default_type text/plain;
    alias @VAR@/whoami.txt;
    add_header X-Sub $jwt_sub;
    add_header X-Role $jwt_role;
    add_header X-Tid $jwt_tid;
    add_header X-Email $jwt_claim_email;
    add_header X-Level $jwt_claim_level;
    add_header X-Teams $jwt_claim_teams;
EOF

my $TENANT = <<"EOF";
location = /whoami {
    kanban_jwt on;
$WHOAMI
}
location = /maybe {
    kanban_jwt optional;
$WHOAMI
}
location = /open {
$WHOAMI
}
location = /t-jwks {
    kanban_jwks;
}
EOF

# The signing key takes the place of conf/nginx.conf.in's, when it has one
# (kanban_jwt_key may be given once); the rest goes to conf.d.
my $BASE_KEY = Kanban::Test::read_file("$Kanban::Test::ROOT/conf/nginx.conf.in")
               =~ /^\s*kanban_jwt_key\s/m;

sub key_conf {
    my ($key_file, $http, %o) = @_;
    return (%o, replace => { kanban_jwt_key => $key_file },
            http => $http // '') if $BASE_KEY;
    return (%o, http => "kanban_jwt_key $key_file;\n" . ($http // ''));
}

sub nginx {
    my ($key_file, $http) = @_;
    my $t = Kanban::Test->new(key_conf($key_file, $http, tenant => $TENANT));
    Kanban::Test::write_file($t->var . '/whoami.txt', "hello\n");
    return $t;
}

my $hs = secret_key('hs.secret', b64u(join '', map { chr rand 256 } 1 .. 48));
my $ec = pem_key('ec', 'ES256');
my $rsa = pem_key('rsa', 'RS256');
my $ed = pem_key('ed', 'EdDSA');

# HS256, the leeway of the issue, and header buffers large enough for a
# token of just over 8 KB to reach the module.
my $t = nginx($hs->{file}, <<"EOF")->run;
kanban_jwt_leeway 5s;
large_client_header_buffers 4 16k;
EOF

my $A = $t->signup(prefix => 'jwta');
my $B = $t->signup(prefix => 'jwtb');

my %bodies;     # every "invalid token" body: they must all be the same

sub get {
    my ($n, $path, $slug, $auth, %o) = @_;
    return $n->req(GET => $path, host => $slug, %o,
                   headers => { defined $auth ? (Authorization => $auth) : () });
}

sub whoami {
    my ($n, $slug, $token) = @_;
    return get($n, '/whoami', $slug, "Bearer $token");
}

sub accepted {
    my ($r, $sub, $name) = @_;
    my $ok = is($r->{status}, 200, "$name: 200");
    $ok &&= is($r->{headers}{'x-sub'}, $sub, "$name: \$jwt_sub is the sub");
    diag("$r->{status} $r->{body}") unless $ok;
    return $ok;
}

sub rejected {
    my ($r, $name) = @_;
    problem_is($r, 401, 'unauthorized', "$name: 401 unauthorized");
    is($r->{headers}{'www-authenticate'}, 'Bearer error="invalid_token"',
       "$name: WWW-Authenticate: Bearer error=\"invalid_token\"");
    ok(!defined $r->{headers}{'x-sub'}, "$name: no claims")
        or diag("X-Sub: $r->{headers}{'x-sub'}");
    $bodies{$r->{body}} //= $name if $r->{status} == 401;
}


###########################################################################
# HS256: the way through

my $sub = 'user-42';
my $r = whoami($t, $A, token(key => $hs, tid => $A, claims => {
    sub => $sub, role => 'project_manager', email => 'pm@example.com',
    level => 3 }));
accepted($r, $sub, 'HS256 token of the workspace');
is($r->{headers}{'x-role'}, 'project_manager', '$jwt_role');
is($r->{headers}{'x-tid'}, $A, '$jwt_tid');
is($r->{headers}{'x-email'}, 'pm@example.com', '$jwt_claim_email (a string)');
is($r->{headers}{'x-level'}, '3', '$jwt_claim_level (a number)');
ok(!defined $r->{headers}{'x-teams'}, '$jwt_claim_teams (an array): not set');
is($r->{body}, "hello\n", 'the file behind it');

accepted(whoami($t, $A, token(key => $hs, tid => $A,
                              claims => { sub => $sub },
                              header => { kid => $hs->{kid} })),
         $sub, 'with the kid of the secret');

accepted(get($t, '/whoami', $A,
             'bearer ' . token(key => $hs, tid => $A, claims => { sub => $sub })),
         $sub, 'scheme "bearer" in lower case');
accepted(get($t, '/whoami', $A,
             'BEARER ' . token(key => $hs, tid => $A, claims => { sub => $sub })),
         $sub, 'scheme "BEARER"');

# Claims in the forms the issue names.
accepted(whoami($t, $A, token(key => $hs, tid => $A, claims => {
             sub => $sub, aud => ['other-api', 'kanban-api'] })),
         $sub, 'aud an array holding the audience');
accepted(whoami($t, $A, token(key => $hs, tid => $A, claims => {
             sub => $sub, nbf => undef, iat => undef })),
         $sub, 'without nbf and iat');


###########################################################################
# no token, or no Bearer token

$r = get($t, '/whoami', $A, undef);
problem_is($r, 401, 'unauthorized', 'no Authorization: 401 unauthorized');
is($r->{headers}{'www-authenticate'}, 'Bearer realm="kanban"',
   'no Authorization: WWW-Authenticate: Bearer realm="kanban"');
unlike($r->{body}, qr/hello/, '... and not the file');

$r = get($t, '/maybe', $A, undef);
is($r->{status}, 200, 'kanban_jwt optional, no Authorization: 200');
ok(!defined $r->{headers}{'x-sub'}, '... without claims');

accepted(get($t, '/maybe', $A,
             'Bearer ' . token(key => $hs, tid => $A, claims => { sub => $sub })),
         $sub, 'kanban_jwt optional with a valid token');
rejected(get($t, '/maybe', $A, 'Bearer ' . token(key => $hs, tid => $B)),
         'kanban_jwt optional with an invalid token');

$r = get($t, '/open', $A, 'Bearer nonsense');
is($r->{status}, 200, 'a location without kanban_jwt ignores the header');

for my $case (
    ['Authorization: X'                => 'X'],
    ['Authorization: Basic'            => 'Basic ' . b64u('ada:secret')],
    ['Authorization: Bearer'           => 'Bearer'],
    ['Authorization: "Bearer " spaces' => 'Bearer      '],
    ['Authorization: Bearer + spaces + junk' => 'Bearer    x y'],
    ['Authorization: Bearertoken'      =>
         'Bearer' . token(key => $hs, tid => $A)],
    ['two tokens'                      =>
         'Bearer ' . token(key => $hs, tid => $A) . ' '
                   . token(key => $hs, tid => $A)],
) {
    my ($name, $value) = @$case;
    $r = get($t, '/whoami', $A, $value);
    problem_is($r, 401, 'unauthorized', "$name: 401 unauthorized");
    like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/,
         "$name: a Bearer challenge");
    ok(!defined $r->{headers}{'x-sub'}, "$name: no claims");
}


###########################################################################
# alg none and other algorithms

my ($h_none, $p_ok) = parts(key => $hs, tid => $A);
my $hs_sig = b64u(hmac_sha256("$h_none.$p_ok", $hs->{secret}));

for my $none (qw(none None NONE nOnE)) {
    my $h = b64u($JSON->encode({ alg => $none, typ => 'JWT' }));
    rejected(whoami($t, $A, "$h.$p_ok."), "alg \"$none\", empty signature");
    rejected(whoami($t, $A, "$h.$p_ok.$hs_sig"),
             "alg \"$none\", a signature");
    rejected(whoami($t, $A, "$h.$p_ok.AAAA"), "alg \"$none\", signature AAAA");
}

# The right HMAC under another name: the algorithm is the key's.
for my $alg ('hs256', 'Hs256', 'HS256 ', 'HS384', 'ES256', 'RS256', 'EdDSA') {
    my ($h, $p) = parts(key => $hs, tid => $A, header => { alg => $alg });
    rejected(whoami($t, $A, "$h.$p." . b64u(hmac_sha256("$h.$p", $hs->{secret}))),
             "alg \"$alg\" with the HS256 MAC");
}
{
    my ($h, $p) = parts(key => $hs, tid => $A, header => { alg => 'HS512' });
    rejected(whoami($t, $A, "$h.$p." . b64u(hmac_sha512("$h.$p", $hs->{secret}))),
             'alg HS512 with an HS512 MAC of the secret');
    ($h, $p) = parts(key => $hs, tid => $A, header => { alg => undef });
    rejected(whoami($t, $A, "$h.$p." . b64u(hmac_sha256("$h.$p", $hs->{secret}))),
             'no alg');
}
rejected(whoami($t, $A, token(key => $ec, tid => $A)),
         'an ES256 token where the key is an HS256 secret');


###########################################################################
# signatures and segments

my $good = token(key => $hs, tid => $A, claims => { sub => 'alice' });
my $evil = token(key => $hs, tid => $A, claims => { sub => 'mallory',
                                                    role => 'admin' });
accepted(whoami($t, $A, $good), 'alice', 'the token the next ones spoil');

my ($gh, $gp, $gs) = split /\./, $good;
my (undef, $ep) = split /\./, $evil;

rejected(whoami($t, $A, "$gh.$gp."), 'signature stripped, dot kept');
rejected(whoami($t, $A, "$gh.$gp"), 'signature stripped with its dot');
rejected(whoami($t, $A, "$gh.$gp." . substr($gs, 0, -1)),
         'signature truncated by one character');
rejected(whoami($t, $A, "$gh.$gp." . substr($gs, 0, -4)),
         'signature truncated by four characters');
rejected(whoami($t, $A, "$gh.$gp." . substr($gs, 0, 22)),
         'signature cut in half');
rejected(whoami($t, $A, "$gh.$gp.${gs}AA"), 'signature with bytes appended');
rejected(whoami($t, $A, "$gh.$ep.$gs"),
         'payload swapped (header and signature of another token)');
rejected(whoami($t, $A, "$gh.$gp." . b64u("\0" x 32)), 'all-zero MAC');
{
    my $flip = $gs;
    substr($flip, 5, 1) = substr($flip, 5, 1) eq 'A' ? 'B' : 'A';
    rejected(whoami($t, $A, "$gh.$gp.$flip"), 'one character of the MAC changed');
}
rejected(whoami($t, $A, "$good.$gs"), 'four segments');
rejected(whoami($t, $A, "$good.$gp.$gs"), 'five segments');
rejected(whoami($t, $A, "$good."), 'a trailing dot');
rejected(whoami($t, $A, ".$good"), 'a leading dot');
rejected(whoami($t, $A, "$gh..$gs"), 'an empty payload');
rejected(whoami($t, $A, "$gh"), 'one segment');

# Base64url strictly: no padding, no "+" or "/" of plain base64.
{
    my $pad = sub { my $s = shift; $s . ('=' x ((4 - length($s) % 4) % 4)) };
    my $padded = join '.', map { $pad->($_) } $gh, $gp, $gs;
    isnt($padded, $good, 'the token needs padding somewhere');
    rejected(whoami($t, $A, $padded), 'padded with "="');
    rejected(whoami($t, $A, "$gh.$gp.$gs="), 'an "=" after the signature');

    # a token whose base64url has "-" or "_", written as plain base64
    my $tok;
    for (1 .. 200) {
        $tok = token(key => $hs, tid => $A);
        last if $tok =~ /[-_]/;
    }
    (my $plain = $tok) =~ tr{-_}{+/};
    isnt($plain, $tok, 'a token with "-" or "_"');
    rejected(whoami($t, $A, $plain), 'the same token in plain base64');
}

# The header and the payload must be JSON objects.
for my $case (['header not JSON'  => 'alg=HS256', undef],
              ['header an array'  => '["HS256"]', undef],
              ['payload not JSON' => undef, 'sub=alice'],
              ['payload an array' => undef, '[1,2]'],
              ['payload a string' => undef, '"alice"']) {
    my ($name, $hj, $pj) = @$case;
    rejected(whoami($t, $A, token(key => $hs, tid => $A,
                                  (defined $hj ? (header_json => $hj) : ()),
                                  (defined $pj ? (payload_json => $pj) : ()))),
             "$name, signed");
}


###########################################################################
# kid

my $other_case = lc $hs->{kid} eq $hs->{kid} ? uc $hs->{kid} : lc $hs->{kid};
for my $kid ('../../etc/passwd', "' OR 1=1 --", '', 'x' x 16,
             substr($hs->{kid}, 0, 15), "$hs->{kid}x", $other_case,
             $ec->{kid}) {
    rejected(whoami($t, $A, token(key => $hs, tid => $A,
                                  header => { kid => $kid })),
             "kid \"$kid\" (no such key)");
}
rejected(whoami($t, $A, token(key => $hs, tid => $A, header => { kid => 1 })),
         'kid a number');
rejected(whoami($t, $A, token(key => $hs, tid => $A,
                              header => { kid => [$hs->{kid}] })),
         'kid an array');


###########################################################################
# size

{
    my $max = token_of_length(8192, key => $hs, tid => $A,
                              claims => { sub => 'big' });
    accepted(whoami($t, $A, $max), 'big',
             'a valid token of 8192 characters (a long claim)');

    my $over = token_of_length(8193, key => $hs, tid => $A,
                               claims => { sub => 'big' });
    rejected(whoami($t, $A, $over), 'a validly signed token of 8193 characters');

    for my $size (64 * 1024, 1024 * 1024) {
        my $huge = token_of_length($size, key => $hs, tid => $A,
                                   claims => { sub => 'huge' });
        $r = whoami($t, $A, $huge);
        ok($r->{status} == 401 || $r->{status} == 400 || $r->{status} == 494,
           "a token of $size bytes: 401, 400 or 494 (got $r->{status})")
            or diag(substr($r->{raw}, 0, 300));
        isnt($r->{status}, 200, "a token of $size bytes: never 200");
    }

    accepted(whoami($t, $A, $good), 'alice', 'after them, a valid token still passes');
    my $log = slurp($t->var . '/log/error.log');
    unlike($log, qr/exited on signal|segmentation|core dumped/i,
           'no worker crashed');
}

# A refresh token is no access token.
rejected(whoami($t, $A, b64u(join '', map { chr rand 256 } 1 .. 32)),
         'a refresh-token-like opaque string (43 base64url characters)');
rejected(whoami($t, $A, 'kbt_' . b64u(join '', map { chr rand 256 } 1 .. 32)),
         'an API-token-like string');


###########################################################################
# times (leeway 5s)

my $now = time;
my %time_case = (
    'exp now-3 (inside the leeway)'  => [1, { exp => $now - 3 }],
    'exp now-10 (outside)'           => [0, { exp => $now - 10 }],
    'exp an hour ago'                => [0, { exp => $now - 3600 }],
    'nbf now+3 (inside the leeway)'  => [1, { nbf => $now + 3 }],
    'nbf now+10 (outside)'           => [0, { nbf => $now + 10 }],
    'iat now+3 (inside the leeway)'  => [1, { iat => $now + 3 }],
    'iat now+10 (in the future)'     => [0, { iat => $now + 10 }],
    'no exp'                         => [0, { exp => undef }],
    'exp a string'                   => [0, { exp => '' . ($now + 600) }],
    'exp a fraction'                 => [0, { exp => $now + 600.5 }],
    'exp null'                       => [0, {}, qq("exp":null)],
    'exp negative'                   => [0, { exp => -1 }],
    'nbf a string'                   => [0, { nbf => "$now" }],
);
for my $name (sort keys %time_case) {
    my ($ok, $claims, $raw) = @{ $time_case{$name} };
    my $tok;
    if ($raw) {
        my $c = claims_for(tid => $A, claims => { sub => 'timer', exp => undef });
        (my $json = $JSON->encode($c)) =~ s/^\{/{$raw,/;
        $tok = token(key => $hs, payload_json => $json);
    } else {
        $tok = token(key => $hs, tid => $A,
                     claims => { sub => 'timer', %$claims });
    }
    $r = whoami($t, $A, $tok);
    $ok ? accepted($r, 'timer', $name) : rejected($r, $name);
}


###########################################################################
# whose token: workspace, issuer, audience, subject

my $of_a = token(key => $hs, tid => $A, claims => { sub => 'ann' });
accepted(whoami($t, $A, $of_a), 'ann', "A's token on A's host");
rejected(whoami($t, $B, $of_a), "A's token on B's host");
accepted(whoami($t, $B, token(key => $hs, tid => $B, claims => { sub => 'bob' })),
         'bob', "B's token on B's host");
rejected(whoami($t, $A, token(key => $hs, tid => undef)), 'no tid');
rejected(whoami($t, $A, token(key => $hs, tid => uc $A)), 'tid in upper case');
rejected(whoami($t, $A, token(key => $hs, tid => "$A.localhost")),
         'tid the host name');
rejected(whoami($t, $A, token(key => $hs, tid => substr($A, 0, -1))),
         'tid a prefix of the slug');

for my $case (
    ['wrong iss'                  => { iss => 'evil' }],
    ['iss "kanban " (a space)'    => { iss => 'kanban ' }],
    ['no iss'                     => { iss => undef }],
    ['iss an array'               => { iss => ['kanban'] }],
    ['wrong aud'                  => { aud => 'other-api' }],
    ['no aud'                     => { aud => undef }],
    ['aud an array without it'    => { aud => ['other-api', 'kanban'] }],
    ['aud an empty array'         => { aud => [] }],
    ['aud a prefix'               => { aud => 'kanban-ap' }],
    ['no sub'                     => { sub => undef }],
    ['sub empty'                  => { sub => '' }],
    ['sub a number'               => { sub => 42 }],
) {
    my ($name, $claims) = @$case;
    rejected(whoami($t, $A, token(key => $hs, tid => $A, claims => $claims)),
             $name);
}

$r = get($t, '/t-jwks', $A, undef);
is($r->{status}, 200, 'JWKS with an HS256 secret only: 200');
is_deeply($r->{json}, { keys => [] }, '... and no keys: a secret is not public');


###########################################################################
# ES256, RS256, EdDSA

my %asym = (ES256 => $ec, RS256 => $rsa, EdDSA => $ed);
my %server;

for my $alg (sort keys %asym) {
    my $key = $asym{$alg};
    my $n = $server{$alg} = nginx($key->{file})->run;

    my $tok = token(key => $key, tid => $A, claims => {
        sub => "$alg-user", role => 'admin', email => "\L$alg\E\@example.com" });
    $r = whoami($n, $A, $tok);
    accepted($r, "$alg-user", "$alg token");
    is($r->{headers}{'x-role'}, 'admin', "$alg: \$jwt_role");
    is($r->{headers}{'x-tid'}, $A, "$alg: \$jwt_tid");
    is($r->{headers}{'x-email'}, "\L$alg\E\@example.com",
       "$alg: \$jwt_claim_email");
    accepted(whoami($n, $A, token(key => $key, tid => $A, claims => {
                 sub => "$alg-user" }, header => { kid => $key->{kid} })),
             "$alg-user", "$alg token with the key's kid");
    # the worker remembers the signature it verified; the claims are
    # still checked each time
    accepted(whoami($n, $A, $tok), "$alg-user", "$alg token, again");
    rejected(whoami($n, $B, $tok), "$alg: A's token on B's host");

    my ($h, $p, $s) = split /\./, $tok;
    my (undef, $p2) = split /\./, token(key => $key, tid => $A,
                                        claims => { sub => 'mallory' });
    rejected(whoami($n, $A, "$h.$p2.$s"), "$alg: payload swapped");
    rejected(whoami($n, $A, "$h.$p."), "$alg: signature stripped");
    rejected(whoami($n, $A, "$h.$p." . substr($s, 0, -2)),
             "$alg: signature truncated");
    rejected(whoami($n, $A, "$h.$p." . b64u(sign($key, "$h.$p") . "\0")),
             "$alg: signature with a byte appended");
    rejected(whoami($n, $A, "$tok.$s"), "$alg: four segments");
    rejected(whoami($n, $A, "$tok.$p.$s"), "$alg: five segments");

    for my $none (qw(none None NONE nOnE)) {
        my $hn = b64u($JSON->encode({ alg => $none, typ => 'JWT' }));
        rejected(whoami($n, $A, "$hn.$p."), "$alg: alg \"$none\", no signature");
        rejected(whoami($n, $A, "$hn.$p.$s"), "$alg: alg \"$none\", a signature");
    }

    rejected(whoami($n, $A, token(key => $key, tid => $A,
                                  header => { kid => '../../etc/passwd' })),
             "$alg: kid a path");
    rejected(whoami($n, $A, token(key => $key, tid => $A,
                                  header => { kid => "' OR 1=1 --" })),
             "$alg: kid SQL");

    # Algorithm confusion: the public key, which anyone may have, as an
    # HMAC secret.
    my $pub = slurp($key->{pub});
    (my $pub_trim = $pub) =~ s/\n+\z//;
    for my $secret ([$pub, 'the public PEM'],
                    [$pub_trim, 'the public PEM without its newline'],
                    [$key->{der}, 'the public key DER']) {
        my $fake = { alg => 'HS256', secret => $secret->[0] };
        rejected(whoami($n, $A, token(key => $fake, tid => $A)),
                 "$alg key: HS256 token with $secret->[1] as secret");
        rejected(whoami($n, $A, token(key => $fake, tid => $A,
                                      header => { kid => $key->{kid} })),
                 "$alg key: the same with the key's kid");
    }

    # A token of the right algorithm by a key nobody configured.
    my $other = pem_key("other-$alg", $alg);
    rejected(whoami($n, $A, token(key => $other, tid => $A)),
             "$alg: signed by an unknown key");
    rejected(whoami($n, $A, token(key => $other, tid => $A,
                                  header => { kid => $key->{kid} })),
             "$alg: signed by an unknown key, claiming the kid of ours");

    # Another algorithm's key.
    for my $o (grep { $_ ne $alg } sort keys %asym) {
        rejected(whoami($n, $A, token(key => $asym{$o}, tid => $A)),
                 "$alg key: an $o token");
    }
    rejected(whoami($n, $A, token(key => $hs, tid => $A)),
             "$alg key: an HS256 token of a secret");

    $r = get($n, '/t-jwks', $A, undef);
    is($r->{status}, 200, "$alg: JWKS 200");
    my $jwk = $r->{json}{keys}[0] // {};
    is(scalar @{ $r->{json}{keys} // [] }, 1, "$alg: JWKS of one key");
    is($jwk->{kid}, $key->{kid}, "$alg: its kid (SHA-256 of the public key)");
    is($jwk->{alg}, $alg, "$alg: alg");
    is($jwk->{use}, 'sig', "$alg: use sig");
    ok(!grep({ exists $jwk->{$_} } qw(d p q dp dq qi k)),
       "$alg: nothing private in the JWK");
}

# ES256 particulars.
{
    my $n = $server{ES256};
    my ($h, $p) = parts(key => $ec, tid => $A, claims => { sub => 'es' });
    rejected(whoami($n, $A, "$h.$p." . b64u("\0" x 64)),
             'ES256: all-zero signature (64 zero bytes)');
    rejected(whoami($n, $A, "$h.$p." . b64u(sign($ec, "$h.$p", der => 1))),
             'ES256: a DER signature instead of r || s');
    my $raw = sign($ec, "$h.$p");
    accepted(whoami($n, $A, "$h.$p." . b64u($raw)), 'es',
             'ES256: the same signature as r || s');
    rejected(whoami($n, $A, "$h.$p." . b64u(substr($raw, 32) . substr($raw, 0, 32))),
             'ES256: s || r');
    rejected(whoami($n, $A, "$h.$p." . b64u("\0" x 32 . substr($raw, 32))),
             'ES256: r zero');

    my $jwk = get($n, '/t-jwks', $A, undef)->{json}{keys}[0];
    my $point = substr($ec->{der}, -65);
    is($jwk->{kty}, 'EC', 'ES256 JWK: kty EC');
    is($jwk->{crv}, 'P-256', 'ES256 JWK: crv P-256');
    is($jwk->{x}, b64u(substr($point, 1, 32)), 'ES256 JWK: x of the key');
    is($jwk->{y}, b64u(substr($point, 33, 32)), 'ES256 JWK: y of the key');
}
{
    my $jwk = get($server{EdDSA}, '/t-jwks', $A, undef)
              ->{json}{keys}[0];
    is($jwk->{kty}, 'OKP', 'EdDSA JWK: kty OKP');
    is($jwk->{crv}, 'Ed25519', 'EdDSA JWK: crv Ed25519');
    is($jwk->{x}, b64u(substr($ed->{der}, -32)), 'EdDSA JWK: x of the key');

    $jwk = get($server{RS256}, '/t-jwks', $A, undef)
           ->{json}{keys}[0];
    is($jwk->{kty}, 'RSA', 'RS256 JWK: kty RSA');
    is($jwk->{e}, 'AQAB', 'RS256 JWK: e 65537');
    my ($modulus) = openssl("rsa -in $rsa->{pem} -noout -modulus")
                    =~ /Modulus=([0-9A-F]+)/;
    is($jwk->{n}, b64u(pack 'H*', $modulus), 'RS256 JWK: n of the key');
}


###########################################################################
# rotation: a new signing key, the old one (public only) still verifies

my $ec_old = pem_key('ec-old', 'ES256');
my $ec_new = pem_key('ec-new', 'ES256');
my $ec_gone = pem_key('ec-unknown', 'ES256');

my $rot = nginx($ec_new->{pem}, <<"EOF")->run;
kanban_jwt_verify_key $ec_old->{pub};
kanban_jwt_verify_key $hs->{file};
EOF

accepted(whoami($rot, $A, token(key => $ec_new, tid => $A, claims => {
             sub => 'new' })), 'new', 'rotation: a token of the new key');
accepted(whoami($rot, $A, token(key => $ec_old, tid => $A, claims => {
             sub => 'old' })), 'old',
         'rotation: a token of the old key (kanban_jwt_verify_key)');
accepted(whoami($rot, $A, token(key => $ec_old, tid => $A, claims => {
             sub => 'old' }, header => { kid => $ec_old->{kid} })), 'old',
         "rotation: a token of the old key with the old key's kid");
rejected(whoami($rot, $A, token(key => $ec_old, tid => $A,
                                header => { kid => $ec_new->{kid} })),
         "rotation: a token of the old key with the new key's kid");
rejected(whoami($rot, $A, token(key => $ec_gone, tid => $A)),
         'rotation: a token of an unknown key');
rejected(whoami($rot, $A, token(key => $ec_gone, tid => $A,
                                header => { kid => $ec_old->{kid} })),
         "rotation: a token of an unknown key with the old key's kid");
accepted(whoami($rot, $A, token(key => $hs, tid => $A, claims => {
             sub => 'hs' })), 'hs',
         'rotation: a token of the verification secret');
rejected(whoami($rot, $A, token(key => { alg => 'HS256',
                                         secret => slurp($ec_old->{pub}) },
                                tid => $A)),
         "rotation: HS256 with the old key's public PEM as secret");

$r = get($rot, '/t-jwks', $A, undef);
is($r->{status}, 200, 'rotation: JWKS 200');
like($r->{headers}{'content-type'} // '', qr{^application/(jwk-set\+)?json},
     'rotation: JWKS is JSON');
my @kids = sort map { $_->{kid} } @{ $r->{json}{keys} // [] };
is_deeply(\@kids, [sort $ec_new->{kid}, $ec_old->{kid}],
          'rotation: the JWKS lists the new and the old key');
unlike($r->{body}, qr/\Q$hs->{kid}\E|"oct"|"k"\s*:/,
       'rotation: ... and never the HS256 secret');
my $secret_b64 = b64u($hs->{secret});
unlike($r->{body}, qr/\Q$hs->{secret}\E|\Q$secret_b64\E/,
       'rotation: ... nor its bytes');


# Claims reach headers through the variables: a line break must not.
rejected(whoami($t, $A, token(key => $hs, tid => $A, claims => {
             email => "a\r\nSet-Cookie: evil=1" })),
         'a claim with CR LF in it');
rejected(whoami($t, $A, token(key => $hs, tid => $A, claims => {
             sub => "x\nX-Injected: 1" })),
         'a subject with a line feed in it');
rejected(whoami($t, $A, token(key => $hs, tid => $A,
                              header => { crit => ['exp'] })),
         'a header with crit extensions we do not understand');


# Whatever was wrong, the client learns nothing more than that.
my $n_rejected = keys %bodies;
is($n_rejected, 1, 'one and the same 401 body for every invalid token')
    or diag(join "\n", map { "$bodies{$_}: $_" } sort keys %bodies);


###########################################################################
# keys nginx refuses

sub config_ok {
    my ($key_file, $http, $want, $name, $like) = @_;
    my $n = Kanban::Test->new(key_conf($key_file, $http));
    my ($rc, $out) = $n->test_config;
    if ($want) {
        is($rc, 0, "nginx -t accepts $name") or diag($out);
    } else {
        isnt($rc, 0, "nginx -t refuses $name");
        like($out, $like, "... saying why") or diag($out) if $like;
    }
}

for my $len (16, 31) {
    my $k = secret_key("short-$len", 'k' x $len);
    config_ok($k->{file}, undef, 0,
              "kanban_jwt_key with a $len-byte secret",
              qr/\[emerg\].*short-$len.*shorter than 32/);
}
{
    my $k = secret_key('ok-32', 'k' x 32);
    config_ok($k->{file}, undef, 1,
              'kanban_jwt_key with a 32-byte secret and a newline');
    my $short = secret_key('short-verify', 'v' x 16);
    config_ok($hs->{file}, "kanban_jwt_verify_key $short->{file};\n", 0,
              'kanban_jwt_verify_key with a 16-byte secret');

    openssl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out $dir/rsa1024.pem");
    config_ok("$dir/rsa1024.pem", undef, 0,
              'an RSA key of 1024 bits', qr/2048/);
    openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out $dir/p384.pem");
    config_ok("$dir/p384.pem", undef, 0, 'an EC key on P-384',
              qr/P-256/);
    config_ok($ec->{pub}, undef, 0,
              'a public key to sign with', qr/private/);
    config_ok("$dir/no-such-file", undef, 0, 'a missing key file',
              qr/no-such-file/);
}

Kanban::Test->done_testing;
