#!/usr/bin/perl

# The workspace's two-factor policy (PUT /api/v1/auth/mfa-policy): for
# admins or for everyone. The admin who turns it on must be enrolled
# (nobody locks the workspace out). A person it covers who has not
# enrolled gets, for a right password or a provider's sign-in, an
# enrolment session (kbe_...) instead of a session: it sets up the
# authenticator (secret, otpauth URI, QR code), confirms with a code and
# gets the full session and the recovery codes; anywhere else it is 403
# mfa_enrolment_required. People without a password (OIDC) enrol too.
# API tokens are unaffected.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use Kanban::Test qw(problem_is);
use Kanban::TOTP;
use Kanban::IdP;
use List::Util qw(max);

my $true = JSON::XS::true();

my $t = Kanban::Test->new(http => <<"EOF2")->run;
kanban_webhooks_allow_private on;
kanban_oauth_timeout 1500ms;
EOF2

my $idp = Kanban::IdP->new(client_id => 'kanban-client',
                           secret => 'the client secret');
my $ua = HTTP::Tiny->new(max_redirect => 0, timeout => 10);

my $ws = $t->workspace(prefix => 'mfapol');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $password = $Kanban::Test::Workspace::PASSWORD;

sub next_code {
    my ($secret, $last) = @_;
    my $step = max($$last + 1, Kanban::TOTP::step() - 1);
    sleep 1 while $step > Kanban::TOTP::step() + 1;
    $$last = $step;
    return Kanban::TOTP::code($secret, step => $step);
}

sub login {
    my ($email) = @_;
    return $t->req(POST => '/api/v1/auth/login', host => $slug,
                   json => { email => $email, password => $password });
}

sub policy {
    my ($who, $required) = @_;
    return $ws->api($who, PUT => '/api/v1/auth/mfa-policy',
                    json => { required => $required });
}

# the sign-in of someone who must enrol: the enrolment session
sub must_enrol {
    my ($email, $what) = @_;
    my $r = login($email);
    problem_is($r, 401, 'mfa_enrolment_required', "$what: must enrol first");
    ok(!exists $r->{json}{access_token}, '... no session');
    like($r->{json}{enrolment_token} // '', qr/^kbe_[A-Za-z0-9_-]{43}$/,
         '... an enrolment session instead');
    is($r->{json}{expires_in}, 900, '... for 15 minutes');
    return $r->{json}{enrolment_token};
}

# the enrolment at sign-in: (the response of the confirm, secret, last step)
sub enrol_at_sign_in {
    my ($kbe, $what) = @_;
    my $r = $ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol');
    is($r->{status}, 200, "$what: a secret for the authenticator")
        or diag $r->{body};
    like($r->{json}{secret} // '', qr/^[A-Z2-7]{32}$/, '... as text');
    like($r->{json}{otpauth_uri} // '', qr{^otpauth://totp/Kanban:},
         '... as an otpauth URI');
    like($r->{json}{qr_svg} // '', qr{^<svg xmlns="http://www.w3.org/2000/svg"},
         '... and as its QR code');
    my $secret = $r->{json}{secret};
    my $last = 0;
    $r = $ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol/confirm',
                  json => { code => next_code($secret, \$last) });
    is($r->{status}, 200, "$what: the first code finishes it") or diag $r->{body};
    return ($r, $secret, $last);
}

# --- the policy: off, only admins set it, the lockout guard --------------------

my $r = $ws->api($admin, GET => '/api/v1/auth/mfa-policy');
is($r->{status}, 200, 'policy: 200');
is($r->{json}{required}, 'off', '... off to begin with');

my $carl = $ws->member('Carl Contributor');
my $ada2 = $ws->member('Ada Second', 'admin');
my $pete = $ws->member('Pete Tokens', 'project_manager');

problem_is(policy($carl, 'everyone'), 403, 'forbidden',
           'a contributor may not set it');
problem_is(policy($admin, 'never'), 422, 'validation_failed',
           'an unknown value: 422');
is(Kanban::Test::error_for(policy($admin, 'never'), 'required')->{code},
   'invalid_value', '... naming the field');

$r = policy($admin, 'admins');
problem_is($r, 409, 'conflict', 'an admin not enrolled may not require it');
like($r->{json}{detail} // '', qr/two-factor sign-in for yourself first/,
     '... and is told to enrol first');
is($ws->api($admin, GET => '/api/v1/auth/mfa-policy')->{json}{required}, 'off',
   '... the policy stays off');

# Pete's API token, made before the policy
$r = $ws->api($pete, POST => '/api/v1/api-tokens',
              json => { name => 'ci', scopes => ['read', 'write'] });
is($r->{status}, 201, 'an API token') or diag $r->{body};
my $kbt = $r->{json}{token};

# the admin enrols, then may require it
$r = $ws->api($admin, POST => '/api/v1/me/mfa/totp',
              json => { password => $password });
my $admin_secret = $r->{json}{secret};
my $admin_last = 0;
like($r->{json}{qr_svg} // '', qr/^<svg /, 'enrolment in the profile: a QR code too');
is($ws->api($admin, POST => '/api/v1/me/mfa/totp/confirm',
            json => { code => next_code($admin_secret, \$admin_last) })->{status},
   200, 'the admin enrols');

$r = policy($admin, 'admins');
is($r->{status}, 200, 'then requires it for admins');
is($r->{json}{required}, 'admins', '... admins');
is($ws->api($admin, GET => '/api/v1/auth/mfa-policy')->{json}{required},
   'admins', '... as read back');

# --- admins only ---------------------------------------------------------------

is(login($carl->{email})->{status}, 200, 'admins only: a contributor signs in as before');
problem_is(login($admin->{email}), 401, 'mfa_required',
           'the enrolled admin: the usual second step');

my $kbe = must_enrol($ada2->{email}, 'a second admin, not enrolled');

# --- the limited session is good for nothing else ------------------------------

for my $req (['GET', '/api/v1/projects'], ['GET', '/api/v1/auth/me'],
             ['GET', '/api/v1/users'], ['POST', '/api/v1/me/mfa/totp'],
             ['PUT', '/api/v1/auth/mfa-policy']) {
    my ($m, $p) = @$req;
    $r = $ws->api($kbe, $m => $p, json => { required => 'off', password => $password });
    problem_is($r, 403, 'mfa_enrolment_required',
               "the enrolment session on $m $p: 403");
}
like($r->{json}{detail} // '', qr{/api/v1/auth/login/mfa/enrol}, '... which says where to go');
is($ws->api($admin, GET => '/api/v1/auth/mfa-policy')->{json}{required},
   'admins', '... and changed nothing');

problem_is($ws->api(undef, POST => '/api/v1/auth/login/mfa/enrol'), 401,
           'unauthorized', 'the enrolment routes want the enrolment session');
problem_is($ws->api($carl, POST => '/api/v1/auth/login/mfa/enrol'), 401,
           'unauthorized', '... not a full session');

# the confirm before the secret, and a wrong code
problem_is($ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol/confirm',
                    json => { code => '123456' }),
           409, 'conflict', 'a code before the secret: 409');

# --- enrolment at sign-in --------------------------------------------------------

$r = $ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol');
my $secret = $r->{json}{secret};
$r = $ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol/confirm',
              json => { code => '000000' });
problem_is($r, 422, 'validation_failed', 'a wrong code: 422');

my ($done, $ada2_secret, $ada2_last) = enrol_at_sign_in($kbe, 'the second admin');
ok($done->{json}{access_token}, '... a full session');
ok($done->{json}{refresh_token}, '... with its refresh token');
is($done->{json}{user}{email}, $ada2->{email}, '... of that admin');
is(scalar @{ $done->{json}{recovery_codes} // [] }, 10, '... and ten recovery codes, once');
$r = $ws->api($done->{json}{access_token}, GET => '/api/v1/users');
is($r->{status}, 200, 'the full session works');

problem_is($ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol'), 401,
           'unauthorized', 'the enrolment session is spent');

$r = $ws->api($done->{json}{access_token}, GET => '/api/v1/me/mfa');
is($r->{json}{totp}, 'on', "the admin's two-factor sign-in is on");
problem_is(login($ada2->{email}), 401, 'mfa_required',
           'and the next sign-in asks for a code');

# five wrong codes end an enrolment session
my $ann = "ann\@$slug.example";
is($ws->api($admin, POST => '/api/v1/users', json => {
       email => $ann, name => 'Ann Admin', role => 'admin',
       password => $password })->{status}, 201, 'a new admin');
$kbe = must_enrol($ann, 'the new admin');
$ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol');
for (1 .. 5) {
    $ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol/confirm',
             json => { code => '000000' });
}
problem_is($ws->api($kbe, POST => '/api/v1/auth/login/mfa/enrol'), 401,
           'unauthorized', 'five wrong codes: the enrolment session is dead');

# --- everyone ----------------------------------------------------------------

is(policy($admin, 'everyone')->{status}, 200, 'now for everyone');
$kbe = must_enrol($carl->{email}, 'everyone: a contributor');

$r = $ws->api($kbt, GET => '/api/v1/projects');
is($r->{status}, 200, "API tokens are unaffected: Pete's token still reads");
$r = $ws->api($kbt, POST => '/api/v1/projects',
              json => { name => 'By token', key => 'TOK' });
is($r->{status}, 201, '... and writes') or diag $r->{body};

($done) = enrol_at_sign_in($kbe, 'the contributor');
ok($done->{json}{access_token}, '... signed in');

# --- an OIDC person (no password) -------------------------------------------

is($ws->api($admin, PATCH => '/api/v1/workspace',
            json => { open_registration => $true })->{status}, 200,
   'open registration on');
is($ws->api($admin, POST => '/api/v1/auth/providers', json => {
       slug => 'sso', kind => 'oidc', name => 'SSO', issuer => $idp->issuer,
       client_id => 'kanban-client', client_secret => 'the client secret' })->{status},
   201, 'an OIDC provider');

sub cookie_of {
    my ($r, $name) = @_;
    for (@{ $r->{header_list}{'set-cookie'} // [] }) {
        return $1 if /^\Q$name\E=([^;]*)/;
    }
    return undef;
}

sub oidc_sign_in {
    my $start = $t->req(GET => '/api/v1/auth/oauth/sso/start', host => $slug);
    my $handle = cookie_of($start, '__Host-kanban_oauth');
    my $at = $ua->get($start->{headers}{location});
    my ($query) = ($at->{headers}{location} // '') =~ /\?(.*)$/;
    return $t->req(GET => "/api/v1/auth/oauth/sso/callback?$query",
                   host => $slug,
                   headers => { Cookie => "__Host-kanban_oauth=$handle" });
}

$idp->set(sub => 'olga-sub', email => "olga\@$slug.example",
          email_verified => $true, name => 'Olga Oidc');
my $cb = oidc_sign_in();
is($cb->{status}, 302, 'an OIDC person covered by the policy: 302');
my ($kbe_oidc) = ($cb->{headers}{location} // '')
    =~ m{^http://[^/]+/signin#mfa_enrolment=(kbe_[A-Za-z0-9_-]+)$};
ok($kbe_oidc, '... to the sign-in page with an enrolment session')
    or diag $cb->{headers}{location};
ok(!cookie_of($cb, '__Host-kanban_refresh'), '... and no session cookie');
my ($sessions) = $ws->dbh->selectrow_array(
    q{SELECT count(*) FROM refresh_tokens t JOIN users u ON u.id = t.user_id
       WHERE u.email = ?}, undef, "olga\@$slug.example");
is($sessions, 0, '... nor a session stored');
problem_is($ws->api($kbe_oidc, GET => '/api/v1/projects'), 403,
           'mfa_enrolment_required', '... good for nothing but enrolment');
($done) = enrol_at_sign_in($kbe_oidc, 'the OIDC person');
is($done->{json}{user}{email}, "olga\@$slug.example", '... signed in as Olga');

# and from now on her provider's sign-in is a session
$cb = oidc_sign_in();
ok(cookie_of($cb, '__Host-kanban_refresh'), 'her next OIDC sign-in: a session');

# an OIDC person enrols from the profile without a password
is(policy($admin, 'off')->{status}, 200, 'the policy off again');
$idp->set(sub => 'otto-sub', email => "otto\@$slug.example",
          email_verified => $true, name => 'Otto Oidc');
$cb = oidc_sign_in();
my $refresh = cookie_of($cb, '__Host-kanban_refresh');
ok($refresh, 'policy off: an OIDC person gets a session at once');
$r = $t->req(POST => '/api/v1/auth/refresh', host => $slug,
             json => { cookie => $true },
             headers => { Cookie => "__Host-kanban_refresh=$refresh",
                          Origin => "http://$slug.localhost:" . $t->port,
                          'X-Kanban-CSRF' => 1 });
my $otto = $r->{json}{access_token};
$r = $ws->api($otto, POST => '/api/v1/me/mfa/totp', json => {});
is($r->{status}, 200, '... and enrols with no password to give') or diag $r->{body};
my $otto_last = 0;
is($ws->api($otto, POST => '/api/v1/me/mfa/totp/confirm',
            json => { code => next_code($r->{json}{secret}, \$otto_last) })->{status},
   200, '... confirmed');
problem_is($ws->api($pete, POST => '/api/v1/me/mfa/totp', json => {}), 422,
           'validation_failed', 'one with a password must still give it');

$t->done_testing;
