#!/usr/bin/perl

# Sign-in and sessions: login, me, refresh rotation with reuse detection,
# the concurrent-refresh race, logout, password change, the browser cookie
# mode with its CSRF and Origin checks, and the route table's roles.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(problem_is);

use MIME::Base64 qw(decode_base64);

my $t = Kanban::Test->new->run;

sub b64url_json {
    my ($s) = @_;
    $s =~ tr{-_}{+/};
    $s .= '=' x ((4 - length($s) % 4) % 4);
    return JSON::XS->new->decode(decode_base64($s));
}

my $slug = $t->signup(prefix => 'auth');
my $other = $t->signup(prefix => 'auth');
my $email = "admin\@$slug.example";
my $password = 'correct horse battery staple';

sub login {
    my (%o) = @_;
    return $t->req(POST => '/api/v1/auth/login', host => $o{host} // $slug,
                   json => { email => $o{email} // $email,
                             password => $o{password} // $password,
                             %{ $o{extra} // {} } },
                   headers => $o{headers});
}

sub refresh {
    my ($token) = @_;
    return $t->req(POST => '/api/v1/auth/refresh', host => $slug,
                   json => { refresh_token => $token });
}

sub me {
    my ($access, $host) = @_;
    return $t->req(GET => '/api/v1/auth/me', host => $host // $slug,
                   headers => { Authorization => "Bearer $access" });
}

# --- login ----------------------------------------------------------------

my $r = login(email => uc $email);
is($r->{status}, 200, 'login: 200, the email in any case');
is($r->{json}{token_type}, 'Bearer', 'token_type Bearer');
is($r->{json}{expires_in}, 900, 'access tokens live 15 minutes');
like($r->{json}{refresh_token}, qr/^[A-Za-z0-9_-]{43}$/,
     'the refresh token: 256 bits, base64url');
is($r->{json}{user}{email}, $email, 'the user comes along');
is($r->{json}{user}{role}, 'admin', '... with the role');
is($r->{headers}{'cache-control'}, 'no-store', 'tokens are never cached');
my %session = %{ $r->{json} };

my ($h, $p) = split /\./, $session{access_token};
my $claims = b64url_json($p);
is($claims->{tid}, $slug, 'the token names the workspace');
is($claims->{role}, 'admin', '... the role');
is($claims->{exp} - $claims->{iat}, 900, '... and expires in 900 s');
ok($claims->{jti} && $claims->{sub}, '... with a subject and an id');

my $wrong = login(password => 'not the right password');
my $unknown = login(email => "nobody\@$slug.example");
problem_is($wrong, 401, 'invalid_credentials', 'a wrong password');
problem_is($unknown, 401, 'invalid_credentials', 'an unknown email');
is($wrong->{body}, $unknown->{body}, '... the same body for both');

problem_is(login(extra => { extra => 1 }), 422, 'validation_failed',
           'login with an unknown field');

# --- me and the route table ----------------------------------------------

$r = me($session{access_token});
is($r->{status}, 200, 'me: 200');
is($r->{json}{email}, $email, 'me: the email');
is_deeply($r->{json}{teams}, [], 'me: teams');
is_deeply($r->{json}{skills}, [], 'me: skills');

$r = $t->req(GET => '/api/v1/auth/me', host => $slug);
problem_is($r, 401, 'unauthorized', 'me without a token');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/,
     '... with a Bearer challenge');

problem_is(me($session{access_token}, $other), 401, 'unauthorized',
           "a token of one workspace on another's host");
problem_is(me($session{refresh_token}), 401, 'unauthorized',
           'a refresh token used as an access token');

# a contributor: the admin's row copied under another email
my $dbh = $t->tenant_dbh($slug);
$dbh->do(q{INSERT INTO users (email, name, role, password_hash)
           SELECT 'carl@x.example', 'Carl', 'contributor', password_hash
             FROM users WHERE email = ?}, undef, $email);
$r = login(email => 'carl@x.example');
is($r->{status}, 200, 'a contributor signs in');
is(me($r->{json}{access_token})->{json}{role}, 'contributor',
   '... and is a contributor');

# --- refresh rotation -------------------------------------------------------

$r = refresh($session{refresh_token});
is($r->{status}, 200, 'refresh: 200');
isnt($r->{json}{refresh_token}, $session{refresh_token},
     'refresh: a new refresh token');
ok($r->{json}{access_token}, 'refresh: a new access token');
my $second = $r->{json}{refresh_token};
is(me($r->{json}{access_token})->{status}, 200, 'the new access token works');

problem_is(refresh($session{refresh_token}), 401, 'token_reused',
           'the spent token again: token_reused');
problem_is(refresh($second), 401, 'invalid_token',
           "... and its successor died with the family");

problem_is(refresh('x' x 43), 401, 'invalid_token', 'an unknown token');
problem_is($t->req(POST => '/api/v1/auth/refresh', host => $slug,
                   json => {}), 401, 'invalid_token', 'no token at all');

# --- the race: two refreshes with one token never leave two families ------

my $races = 50;
my ($both, $live_families) = (0, 0);

for (1 .. $races) {
    my $token = login()->{json}{refresh_token};
    my @c = map {
        $t->send_req(POST => '/api/v1/auth/refresh', host => $slug,
                     json => { refresh_token => $token })
    } 1 .. 2;
    Kanban::Test::wait_all(\@c, 20);

    my @ok = grep { $_->response->{status} == 200 } @c;
    $both++ if @ok == 2;

    for my $c (@ok) {
        $live_families++ if refresh($c->response->{json}{refresh_token})
                            ->{status} == 200;
    }
}

is($both, 0, "$races races: never two successful refreshes of one token");
cmp_ok($live_families, '<=', $races,
       '... and never more than one live family per race');

# --- logout ----------------------------------------------------------------

%session = %{ login()->{json} };
$r = $t->req(POST => '/api/v1/auth/logout', host => $slug,
             json => { refresh_token => $session{refresh_token} });
is($r->{status}, 204, 'logout: 204');
problem_is(refresh($session{refresh_token}), 401, 'invalid_token',
           'after logout the refresh token is dead');

# --- password change ---------------------------------------------------------

%session = %{ login()->{json} };
my $auth = { Authorization => "Bearer $session{access_token}" };

$r = $t->req(POST => '/api/v1/auth/password', host => $slug, headers => $auth,
             json => { current_password => 'wrong one here',
                       new_password => 'a brand new passphrase' });
problem_is($r, 422, 'validation_failed', 'password: a wrong current one');
is($r->{json}{errors}[0]{field}, 'current_password', '... on that field');

$r = $t->req(POST => '/api/v1/auth/password', host => $slug, headers => $auth,
             json => { current_password => $password,
                       new_password => 'basketball' });
problem_is($r, 422, 'validation_failed', 'password: a common one');
is($r->{json}{errors}[0]{code}, 'too_common', '... too_common');

$r = $t->req(POST => '/api/v1/auth/password', host => $slug, headers => $auth,
             json => { current_password => $password,
                       new_password => 'short' });
is($r->{json}{errors}[0]{code}, 'too_short', 'password: too short');

$r = $t->req(POST => '/api/v1/auth/password', host => $slug, headers => $auth,
             json => { current_password => $password,
                       new_password => 'ünïcödé pässwörd ✓' });
is($r->{status}, 204, 'password changed: 204');
problem_is(refresh($session{refresh_token}), 401, 'invalid_token',
           '... every refresh token of the user ended');
problem_is(login(), 401, 'invalid_credentials', 'the old password fails');
is(login(password => 'ünïcödé pässwörd ✓')->{status}, 200,
   'the new one, Unicode as typed, works');

# --- the browser mode ---------------------------------------------------------

my $origin = "http://$slug.localhost:" . $t->port;
$r = login(password => 'ünïcödé pässwörd ✓', extra => { cookie => JSON::XS::true() });
is($r->{status}, 200, 'cookie login: 200');
ok(!exists $r->{json}{refresh_token}, '... no refresh token in the body');
my $set = $r->{headers}{'set-cookie'} // '';
like($set, qr/^__Host-kanban_refresh=[A-Za-z0-9_-]{43};/, '... a __Host- cookie');
like($set, qr/HttpOnly/, '... HttpOnly');
like($set, qr/Secure/, '... Secure');
like($set, qr/SameSite=Strict/, '... SameSite=Strict');
my ($cookie) = $set =~ /^([^;]+)/;

my %browser = (Cookie => $cookie, Origin => $origin, 'X-Kanban-CSRF' => 1);

$r = $t->req(POST => '/api/v1/auth/refresh', host => $slug,
             json => { cookie => JSON::XS::true() },
             headers => { %browser, 'X-Kanban-CSRF' => undef });
problem_is($r, 403, 'forbidden', 'cookie refresh without the CSRF header');

$r = $t->req(POST => '/api/v1/auth/refresh', host => $slug,
             json => { cookie => JSON::XS::true() },
             headers => { %browser, Origin => 'http://evil.example' });
problem_is($r, 403, 'forbidden', 'cookie refresh from another origin');

$r = $t->req(POST => '/api/v1/auth/refresh', host => $slug,
             json => { cookie => JSON::XS::true() }, headers => \%browser);
is($r->{status}, 200, 'cookie refresh with both: 200');
like($r->{headers}{'set-cookie'} // '', qr/^__Host-kanban_refresh=/,
     '... and a new cookie');

# --- sign-in throttling -------------------------------------------------------

my $guarded = $t->signup(prefix => 'auth');
my $admin = "admin\@$guarded.example";

for my $n (1 .. 5) {
    login(host => $guarded, email => $admin, password => "wrong guess $n");
}
$r = login(host => $guarded, email => $admin);
problem_is($r, 429, 'rate_limited',
           'after 5 failures the account is throttled, right password or not');
cmp_ok($r->{headers}{'retry-after'} // 0, '>=', 1, '... with Retry-After');
cmp_ok($r->{headers}{'retry-after'} // 0, '<=', 900, '... within 15 minutes');

$t->tenant_dbh($guarded)->do(q{UPDATE login_failures
                                 SET at = at - interval '16 minutes'});
is(login(host => $guarded, email => $admin)->{status}, 200,
   'failures older than 15 minutes no longer count');

for my $n (1 .. 20) {
    login(host => $guarded, email => "nobody$n\@$guarded.example");
}
problem_is(login(host => $guarded, email => $admin), 429, 'rate_limited',
           'after 20 failures from one address, that address is throttled');

Kanban::Test->done_testing;
