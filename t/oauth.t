#!/usr/bin/perl

# Sign-in with OIDC and GitHub, over the real nginx, PostgreSQL and Redis,
# against a fake identity provider that is a real HTTP server on loopback
# (Kanban::IdP; reachable because kanban_webhooks_allow_private is on):
# admins configure providers (secrets never answered), the sign-in page
# lists the enabled ones, and a sign-in goes start → provider → callback
# as a browser's would. The callback accepts only a fresh, single-use
# state bound to the browser's cookie, a code the provider takes with the
# PKCE verifier, and an ID token signed by the issuer's key for this
# client, issuer and nonce, in time; the person comes in by a linked
# identity, a verified address, or an invitation. Every failure is a
# redirect to the sign-in page with a code, never a 500.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use HTTP::Tiny;
use Kanban::Test qw(problem_is);
use Kanban::IdP;

my $JSON = $Kanban::Test::JSON;
my $true = JSON::XS::true();
my $false = JSON::XS::false();

my $t = Kanban::Test->new(http => <<"EOF2")->run;
kanban_webhooks_allow_private on;
kanban_oauth_timeout 1500ms;
kanban_oauth_secret_dir \@VAR\@/oauth-secrets;
EOF2

my $idp = Kanban::IdP->new(client_id => 'kanban-client',
                           secret => 'the client secret');

my $ws = $t->workspace(prefix => 'oauth');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $origin = "http://$slug.localhost:" . $t->port;

sub api { $ws->api(@_) }

# --- admin CRUD ---------------------------------------------------------------

my %oidc = (slug => 'acme-sso', kind => 'oidc', name => 'Acme SSO',
            issuer => $idp->issuer, client_id => 'kanban-client',
            client_secret => 'the client secret');

my $r = api($pam, POST => '/api/v1/auth/providers', json => \%oidc);
problem_is($r, 403, 'forbidden', 'a project manager may not add a provider');
problem_is(api(undef, GET => '/api/v1/auth/providers'), 401, 'unauthorized',
           'nor may anyone unsigned list them');

$r = api($admin, POST => '/api/v1/auth/providers',
         json => { %oidc, issuer => undef });
problem_is($r, 422, 'validation_failed', 'OIDC without an issuer: 422');
like($r->{json}{detail} // '', qr/issuer/, '... which says so');
$r = api($admin, POST => '/api/v1/auth/providers',
         json => { %oidc, kind => 'saml' });
problem_is($r, 422, 'validation_failed', 'an unknown kind: 422');
$r = api($admin, POST => '/api/v1/auth/providers',
         json => { %oidc, slug => 'Not A Slug' });
problem_is($r, 422, 'validation_failed', 'a bad slug: 422');
$r = api($admin, POST => '/api/v1/auth/providers',
         json => { %oidc, client_secret => undef });
problem_is($r, 422, 'validation_failed', 'no secret at all: 422');
$r = api($admin, POST => '/api/v1/auth/providers',
         json => { %oidc, client_secret => undef,
                   secret_file => '../etc/passwd' });
problem_is($r, 422, 'validation_failed', 'a secret file with a path: 422');
$r = api($admin, POST => '/api/v1/auth/providers',
         json => { %oidc, scopes => 'email profile' });
problem_is($r, 422, 'validation_failed', 'OIDC scopes without openid: 422');

$r = api($admin, POST => '/api/v1/auth/providers', json => \%oidc);
is($r->{status}, 201, 'an admin adds an OIDC provider: 201');
my $provider = $r->{json};
ok(!exists $provider->{client_secret}, '... the secret is not answered');
is($provider->{client_secret_set}, $true, '... only that there is one');
is($provider->{scopes}, 'openid email profile', '... default scopes');
my ($stored) = $dbh->selectrow_array(
    'SELECT client_secret FROM auth_providers WHERE id = ?', undef,
    $provider->{id});
like($stored, qr/^v1:/, '... and it is stored sealed');
unlike($stored, qr/the client secret/, '... not as given');

problem_is(api($admin, POST => '/api/v1/auth/providers', json => \%oidc),
           409, 'already_exists', 'the same slug again: 409');

$r = api($admin, POST => '/api/v1/auth/providers', json => {
    slug => 'github', kind => 'github', name => 'GitHub',
    issuer => $idp->issuer, client_id => 'kanban-client',
    client_secret => 'the client secret' });
is($r->{status}, 201, 'a GitHub (Enterprise) provider: 201');
my $github = $r->{json};
is($github->{scopes}, 'read:user user:email', '... with GitHub\'s scopes');

$r = api($admin, GET => '/api/v1/auth/providers');
is($r->{status}, 200, 'the admin lists them');
is(scalar @{ $r->{json}{items} }, 2, '... both');
ok(!grep({ exists $_->{client_secret} } @{ $r->{json}{items} }),
   '... without secrets');
unlike($r->{body}, qr/the client secret/, '... anywhere in the answer');

$r = api($admin, PATCH => "/api/v1/auth/providers/$github->{id}",
         json => { name => 'GitHub Enterprise', client_secret => 'rotated' });
is($r->{status}, 200, 'an admin renames it and rotates its secret');
is($r->{json}{name}, 'GitHub Enterprise', '... renamed');
unlike($r->{body}, qr/rotated/, '... the new secret not answered');
$r = api($admin, PATCH => "/api/v1/auth/providers/$github->{id}",
         json => { client_secret => 'the client secret' });
problem_is(api($pam, PATCH => "/api/v1/auth/providers/$github->{id}",
               json => { enabled => $false }),
           403, 'forbidden', 'a project manager may not change one');
problem_is(api($admin, PATCH => "/api/v1/auth/providers/$github->{id}",
               json => { kind => 'oidc' }),
           422, 'validation_failed', 'the kind cannot change');

# --- the sign-in page's list ----------------------------------------------------

$r = $t->req(GET => '/api/v1/auth/oauth/providers', host => $slug);
is($r->{status}, 200, 'the public list: 200, no token');
is_deeply([ map { "$_->{slug}:$_->{kind}:$_->{name}" } @{ $r->{json}{items} } ],
          [ 'acme-sso:oidc:Acme SSO', 'github:github:GitHub Enterprise' ],
          '... slug, kind and name of each');
ok(!grep({ exists $_->{client_id} || exists $_->{issuer} }
         @{ $r->{json}{items} }), '... and nothing more');

# --- the flow -------------------------------------------------------------------

my $ua = HTTP::Tiny->new(max_redirect => 0, timeout => 10);

sub cookie_of {
    my ($r, $name) = @_;
    for (@{ $r->{header_list}{'set-cookie'} // [] }) {
        return $1 if /^\Q$name\E=([^;]*)/;
    }
    return undef;
}

# start → the provider (the fake agrees at once) → the callback.
# %o: host (where the callback goes), cookie (instead of the one start
# set), return_to, query (the callback's, instead of the provider's).
# Returns (start, callback) responses and the callback's query.
sub flow {
    my ($provider, %o) = @_;
    my $host = $o{start_host} // $slug;
    my $start = $t->req(GET => "/api/v1/auth/oauth/$provider/start"
                               . ($o{return_to} ? "?return_to=$o{return_to}" : ''),
                        host => $host);
    return ($start) unless $start->{status} == 302
        && ($start->{headers}{location} // '') =~ /^\Q${\$idp->issuer}\E/;
    my $handle = cookie_of($start, '__Host-kanban_oauth');
    my $at = $ua->get($start->{headers}{location});
    my ($query) = ($at->{headers}{location} // '') =~ /\?(.*)$/;
    $query = $o{query} if defined $o{query};
    $query =~ s/(^|&)code=[^&]*/$1code=$o{code}/ if defined $o{code};
    my $cookie = exists $o{cookie} ? $o{cookie}
                                   : "__Host-kanban_oauth=$handle";
    my $cb = $t->req(GET => "/api/v1/auth/oauth/$provider/callback?$query",
                     host => $o{host} // $host,
                     headers => { $cookie ? (Cookie => $cookie) : (),
                                  $o{agent} ? ('User-Agent' => $o{agent})
                                            : () });
    return ($start, $cb, $query, $cookie);
}

sub oauth_error {
    my ($r) = @_;
    return '(no redirect)' unless $r && $r->{status} == 302;
    return ($r->{headers}{location} // '') =~ m{^http://[^/]+/signin\?oauth_error=(\w+)$}
           ? $1 : "(to $r->{headers}{location})";
}

# the session the callback made: its refresh cookie, refreshed, /auth/me
sub me_by_cookie {
    my ($r) = @_;
    my $refresh = cookie_of($r, '__Host-kanban_refresh') or return undef;
    my $ref = $t->req(POST => '/api/v1/auth/refresh', host => $slug,
                      json => { cookie => $true },
                      headers => { Cookie => "__Host-kanban_refresh=$refresh",
                                   Origin => $origin, 'X-Kanban-CSRF' => 1 });
    return undef unless $ref->{status} == 200;
    my $me = $ws->api($ref->{json}{access_token}, GET => '/api/v1/auth/me');
    return $me->{status} == 200 ? $me->{json} : undef;
}

# Pam signs in with OIDC: her address is verified there.
$idp->set(sub => 'pam-at-acme', email => $pam->{email},
          email_verified => $true, name => 'Pam');
my ($start, $cb) = flow('acme-sso', return_to => '/projects',
                        agent => "Firefox on Pam's laptop");
is($start->{status}, 302, 'start: 302');
my $to = $start->{headers}{location} // '';
like($to, qr/^\Q${\$idp->issuer}\E\/authorize\?/, '... to the authorization endpoint');
like($to, qr/[?&]code_challenge_method=S256(&|$)/, '... PKCE S256');
like($to, qr/[?&]code_challenge=[A-Za-z0-9_-]{43}(&|$)/, '... with a challenge');
like($to, qr/[?&]state=[A-Za-z0-9_-]{43}(&|$)/, '... a state');
like($to, qr/[?&]nonce=[A-Za-z0-9_-]{32}(&|$)/, '... a nonce');
like($to, qr/[?&]redirect_uri=\Qhttp%3A%2F%2F$slug.localhost%3A${\$t->port}%2Fapi%2Fv1%2Fauth%2Foauth%2Facme-sso%2Fcallback\E(&|$)/,
     '... the callback of this workspace and provider');
unlike($to, qr/verifier|secret/, '... neither the verifier nor the secret');
my ($flow_cookie) = grep { /^__Host-kanban_oauth=/ }
                    @{ $start->{header_list}{'set-cookie'} // [] };
like($flow_cookie // '', qr/HttpOnly/, '... an HttpOnly cookie');
like($flow_cookie // '', qr/Secure/, '... Secure');
like($flow_cookie // '', qr/SameSite=Lax/, '... SameSite=Lax');
like($flow_cookie // '', qr/Max-Age=600/, '... for ten minutes');

is($cb->{status}, 302, 'callback: 302');
is($cb->{headers}{location}, "$origin/projects", '... to return_to, on this origin');
# the session records its browser and address, as a password sign-in's
my ($agent, $address) = $dbh->selectrow_array(
    q{SELECT user_agent, host(address) FROM refresh_tokens
       WHERE user_id = ? ORDER BY created_at DESC LIMIT 1}, undef, $pam->{id});
is($agent, "Firefox on Pam's laptop", "... the session has the browser's User-Agent");
is($address, '127.0.0.1', '... and its address');
my $me = me_by_cookie($cb);
is($me && $me->{email}, $pam->{email},
   'the refresh cookie is a session: /auth/me is Pam');
my ($linked) = $dbh->selectrow_array(
    'SELECT count(*) FROM user_identities WHERE subject = ? AND user_id = ?',
    undef, 'pam-at-acme', $pam->{id});
is($linked, 1, '... her identity is linked to her account');

my ($token_call) = grep { $_->{path} eq '/token' } $idp->requests;
like($token_call->{headers}{authorization} // '', qr/^Basic /,
     'the code was traded with HTTP Basic client authentication');

# later: matched by subject, even with another address at the provider
$idp->set(sub => 'pam-at-acme', email => 'pam@new.example',
          email_verified => $true);
(undef, $cb) = flow('acme-sso');
$me = me_by_cookie($cb);
is($me && $me->{email}, $pam->{email},
   'a later sign-in is matched by subject, not address');
is($cb->{headers}{location}, "$origin/", '... and without return_to goes to /');

# return_to is a path of this origin, nothing else
for my $evil ('https://evil.example/', '//evil.example/x', '/\\evil.example') {
    my $q = $evil =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ger;
    (undef, $cb) = flow('acme-sso', return_to => $q);
    is($cb->{headers}{location}, "$origin/", "return_to $evil: back to / instead");
}

# --- what the callback refuses ----------------------------------------------------

my $sessions = sub {
    ($dbh->selectrow_array('SELECT count(*) FROM refresh_tokens'))[0];
};

(undef, $cb) = flow('acme-sso', query => 'code=x&state=not-a-state');
is(oauth_error($cb), 'state_invalid', 'a wrong state: state_invalid');

(undef, $cb) = flow('acme-sso', cookie => undef);
is(oauth_error($cb), 'state_missing', 'no flow cookie: state_missing');

(undef, $cb) = flow('acme-sso',
                    cookie => '__Host-kanban_oauth=another-browsers-handle');
is(oauth_error($cb), 'state_invalid',
   "another browser's cookie: state_invalid");

# a forged callback (the real state, another cookie) must not spend the
# state: the real browser's callback still signs in
{
    my $s = $t->req(GET => '/api/v1/auth/oauth/acme-sso/start', host => $slug);
    my $h = cookie_of($s, '__Host-kanban_oauth');
    my $at = $ua->get($s->{headers}{location});
    my ($q) = $at->{headers}{location} =~ /\?(.*)$/;
    $r = $t->req(GET => "/api/v1/auth/oauth/acme-sso/callback?$q", host => $slug,
                 headers => { Cookie => '__Host-kanban_oauth=forged' });
    is(oauth_error($r), 'state_invalid', 'a forged callback: state_invalid');
    $r = $t->req(GET => "/api/v1/auth/oauth/acme-sso/callback?$q", host => $slug,
                 headers => { Cookie => "__Host-kanban_oauth=$h" });
    ok(cookie_of($r, '__Host-kanban_refresh'),
       '... and the real browser still signs in with that state')
        or diag(oauth_error($r));
}

my ($query, $cookie);
(undef, $cb, $query, $cookie) = flow('acme-sso');
is($cb->{status}, 302, 'a good sign-in ...');
$r = $t->req(GET => "/api/v1/auth/oauth/acme-sso/callback?$query",
             host => $slug, headers => { Cookie => $cookie });
is(oauth_error($r), 'state_invalid', '... replayed: state_invalid (single use)');

my ($used_code) = $query =~ /(?:^|&)code=([^&]+)/;
(undef, $cb) = flow('acme-sso', code => $used_code);
is(oauth_error($cb), 'code_rejected',
   'a used code with a fresh state: the provider refuses it, code_rejected');

(undef, $cb) = flow('acme-sso', query => 'error=access_denied&state=x');
is(oauth_error($cb), 'access_denied', 'the person said no: access_denied');

# a state of ten minutes ago
{
    my $s = $t->req(GET => '/api/v1/auth/oauth/acme-sso/start', host => $slug);
    my $h = cookie_of($s, '__Host-kanban_oauth');
    my $at = $ua->get($s->{headers}{location});
    my ($q) = $at->{headers}{location} =~ /\?(.*)$/;
    $dbh->do("UPDATE oauth_states SET expires_at = now() - interval '1 s'");
    $r = $t->req(GET => "/api/v1/auth/oauth/acme-sso/callback?$q",
                 host => $slug, headers => { Cookie => "__Host-kanban_oauth=$h" });
    is(oauth_error($r), 'state_expired', 'a state past ten minutes: state_expired');
}

my $before = $sessions->();

my %bad = (
    'a bad signature'     => { sign => 'other' },
    'the wrong audience'  => { aud => 'someone-else' },
    'the wrong issuer'    => { iss => 'http://evil.example' },
    'an expired token'    => { exp => -120 },
    'a token from the future' => { iat => 600 },
    'the wrong nonce'     => { nonce => 'not-the-nonce' },
    'several audiences, no azp' => { aud => [ 'kanban-client', 'other' ] },
    'another azp'         => { azp => 'other' },
);
for my $case (sort keys %bad) {
    $idp->set(sub => 'pam-at-acme', email => $pam->{email},
              email_verified => $true, %{ $bad{$case} });
    (undef, $cb) = flow('acme-sso');
    is(oauth_error($cb), 'id_token_invalid', "$case: id_token_invalid");
}
is($sessions->(), $before, 'none of those made a session');
like(join('', $t->log_tail(400)), qr/wrong audience/,
     'the error log says why a token was refused');

$idp->set(sub => 'pam-at-acme', email => $pam->{email},
          email_verified => $true, aud => [ 'kanban-client', 'other' ],
          azp => 'kanban-client');
(undef, $cb) = flow('acme-sso');
ok(me_by_cookie($cb), 'several audiences with azp = client: signed in');

$idp->set(sub => 'es-user', email => $pam->{email}, email_verified => $true,
          alg => 'ES256');
(undef, $cb) = flow('acme-sso');
ok(me_by_cookie($cb), 'an ES256 ID token: signed in (a new subject, linked by address)');

$idp->set(sub => 'pam-at-acme', rotate => 1);
(undef, $cb) = flow('acme-sso');
ok(me_by_cookie($cb), 'the issuer rotated its key: the JWKS is fetched again once');

# nginx runs two workers, each with its cache
my @asked = $idp->requests;
my $discovered = grep { $_->{path} eq '/.well-known/openid-configuration' } @asked;
my $keys = grep { $_->{path} eq '/jwks' } @asked;
my $signins = grep { $_->{path} eq '/token' } @asked;
cmp_ok($discovered, '<=', 2, "$signins sign-ins read the discovery document"
                             . " $discovered times: cached per worker");
cmp_ok($keys, '<=', 4, "... and the keys $keys times: cached, and fetched"
                       . ' again once on the new kid');

# --- who may come in --------------------------------------------------------------

$idp->set(sub => 'new-1', email => "carl\@$slug.example", email_verified => $false);
$ws->member('Carl');
(undef, $cb) = flow('acme-sso');
is(oauth_error($cb), 'email_unverified', 'an unverified address: email_unverified');

$idp->set(sub => 'stranger', email => 'stranger@else.example',
          email_verified => $true);
(undef, $cb) = flow('acme-sso');
is(oauth_error($cb), 'not_invited', 'an unknown address, invite only: not_invited');

$r = api($admin, POST => '/api/v1/users', json => {
    email => "ivy\@$slug.example", name => 'Ivy Invited' });
is($r->{status}, 201, 'Ivy is invited');
$idp->set(sub => 'ivy', email => "IVY\@$slug.example", email_verified => $true);

# the plan allows no one more: her first sign-in is refused, nothing made
my ($active) = $dbh->selectrow_array(
    "SELECT count(*) FROM users WHERE status = 'active'");
$t->catalog->do('UPDATE tenants SET max_users = ? WHERE slug = ?', undef,
                $active, $slug);
sleep 1.2;                                          # the tenant cache's ttl
(undef, $cb) = flow('acme-sso');
is(oauth_error($cb), 'quota_exceeded',
   'at the plan\'s max_users, her first sign-in: quota_exceeded');
is(scalar $dbh->selectrow_array("SELECT status FROM users WHERE email = ?",
                                undef, "ivy\@$slug.example"),
   'invited', '... she is still only invited');
$t->catalog->do('UPDATE tenants SET max_users = NULL WHERE slug = ?', undef,
                $slug);
sleep 1.2;

(undef, $cb) = flow('acme-sso');
$me = me_by_cookie($cb);
is($me && $me->{email}, "ivy\@$slug.example",
   '... and signs in with OIDC: the invitation accepted');
my ($status) = $dbh->selectrow_array(
    "SELECT status FROM users WHERE email = ?", undef, "ivy\@$slug.example");
is($status, 'active', '... her account is active');

is(api($admin, PATCH => '/api/v1/workspace',
       json => { open_registration => $true })->{status}, 200,
   'open registration on');
$idp->set(sub => 'stranger', email => 'stranger@else.example',
          email_verified => $true, name => 'Stan Stranger');
(undef, $cb) = flow('acme-sso');
$me = me_by_cookie($cb);
is($me && $me->{name}, 'Stan Stranger', '... an unknown address gets an account');
is($me && $me->{role}, 'contributor', '... as a contributor');

# --- GitHub -------------------------------------------------------------------------

$idp->set(email => $admin->{email}, email_verified => $true, gh_id => 777);
(undef, $cb) = flow('github');
$me = me_by_cookie($cb);
is($me && $me->{email}, $admin->{email},
   'GitHub: the primary verified address signs the admin in');
my ($gh_sub) = $dbh->selectrow_array(
    'SELECT subject FROM user_identities i JOIN auth_providers p'
    . ' ON p.id = i.provider_id WHERE p.slug = ?', undef, 'github');
is($gh_sub, '777', '... linked by GitHub\'s numeric id');
my @gh = grep { $_->{path} =~ m{^/login/oauth/access_token$} } $idp->requests;
like($gh[-1]{body} // '', qr/client_secret=the\+client\+secret|client_secret=the%20client%20secret/,
     '... the secret in the form, as GitHub wants');
like($gh[-1]{body} // '', qr/code_verifier=/, '... with the PKCE verifier');

$idp->set(gh_id => 778, emails => [
    { email => "carl\@$slug.example", primary => $true, verified => $false },
    { email => 'carl@other.example', primary => $false, verified => $true } ]);
(undef, $cb) = flow('github');
is(oauth_error($cb), 'email_unverified',
   'GitHub: a primary address not verified: email_unverified');

# --- a secret the operator keeps in a file ------------------------------------------

mkdir $t->var . '/oauth-secrets';
Kanban::Test::write_file($t->var . '/oauth-secrets/acme', "the client secret\n");
$r = api($admin, POST => '/api/v1/auth/providers', json => {
    %oidc, slug => 'from-file', client_secret => undef,
    secret_file => 'acme' });
is($r->{status}, 201, 'a provider whose secret is a file');
is($r->{json}{client_secret_set}, $false, '... no secret stored');
$idp->set(sub => 'pam-at-acme', email => $pam->{email}, email_verified => $true);
(undef, $cb) = flow('from-file');
ok(me_by_cookie($cb), '... signs in with the secret read from it');
unlink $t->var . '/oauth-secrets/acme';
(undef, $cb) = flow('from-file');
is(oauth_error($cb), 'provider_misconfigured',
   '... the file gone: provider_misconfigured');

# --- the provider down or slow ---------------------------------------------------------

$idp->set(sub => 'pam-at-acme', slow => 3);
my $t0 = time;
(undef, $cb) = flow('acme-sso');
is(oauth_error($cb), 'provider_timeout', 'a slow token endpoint: provider_timeout');
cmp_ok(time - $t0, '<', 3, '... after kanban_oauth_timeout, not its answer');

# the workers wait for no provider: while four sign-ins wait on a slow
# token endpoint (0.6 s each, both workers), other requests are answered
{
    $idp->set(sub => 'pam-at-acme', slow => 0.6);
    my @waiting;
    for (1 .. 4) {
        my $s = $t->req(GET => '/api/v1/auth/oauth/acme-sso/start', host => $slug);
        my $h = cookie_of($s, '__Host-kanban_oauth');
        my ($q) = ($ua->get($s->{headers}{location})->{headers}{location} // '')
                  =~ /\?(.*)$/;
        push @waiting, $t->send_req(GET => "/api/v1/auth/oauth/acme-sso/callback?$q",
                                    host => $slug,
                                    headers => { Cookie => "__Host-kanban_oauth=$h" });
    }
    my @took;
    for (1 .. 10) {
        my $t1 = time;
        my $w = $t->req(GET => '/api/v1/workspace', host => $slug);
        push @took, time - $t1 if $w->{status} == 200;
    }
    my ($slowest) = sort { $b <=> $a } @took;
    is(scalar @took, 10, 'ten requests answered while four sign-ins wait on the provider');
    cmp_ok($slowest, '<', 0.45, sprintf('... the slowest in %.0f ms, not after the provider',
                                       1000 * ($slowest // 9)));
    Kanban::Test::wait_all(\@waiting, 10);
    is(scalar(grep { $_->response->{status} == 302
                     && ($_->response->{headers}{location} // '') !~ /oauth_error/ }
              @waiting), 4, '... and then the four are signed in');
}

# how long a whole sign-in takes here (start, the provider, callback)
{
    $idp->set(sub => 'pam-at-acme');
    my @ms;
    for (1 .. 20) {
        my $t1 = time;
        (undef, $cb) = flow('acme-sso');
        push @ms, 1000 * (time - $t1) if $cb && $cb->{status} == 302;
    }
    @ms = sort { $a <=> $b } @ms;
    is(scalar @ms, 20, 'twenty sign-ins in a row');
    note(sprintf('an OIDC sign-in (start, authorize, callback with token and'
                 . ' ID token): median %.1f ms, slowest %.1f ms of 20',
                 $ms[9], $ms[-1]));
}

$r = api($admin, POST => '/api/v1/auth/providers', json => {
    %oidc, slug => 'gone', issuer => 'http://127.0.0.1:9' });
is($r->{status}, 201, 'a provider whose issuer is not listening');
$r = $t->req(GET => '/api/v1/auth/oauth/gone/start', host => $slug);
is(oauth_error($r), 'provider_unavailable', '... start: provider_unavailable');

$r = $t->req(GET => '/api/v1/auth/oauth/nobody/start', host => $slug);
is(oauth_error($r), 'unknown_provider', 'an unknown provider: unknown_provider');

is(api($admin, PATCH => "/api/v1/auth/providers/$github->{id}",
       json => { enabled => $false })->{status}, 200, 'GitHub disabled');
$r = $t->req(GET => '/api/v1/auth/oauth/github/start', host => $slug);
is(oauth_error($r), 'unknown_provider', '... its start: unknown_provider');
$r = $t->req(GET => '/api/v1/auth/oauth/providers', host => $slug);
ok(!grep({ $_->{slug} eq 'github' } @{ $r->{json}{items} }),
   '... and it is off the sign-in page');

# --- the sign-in policy: passwords off while a provider signs people in -----------

problem_is(api($pam, PUT => '/api/v1/auth/sign-in-policy',
               json => { password => $false }),
           403, 'forbidden', 'a project manager may not change the sign-in policy');
is(api($admin, GET => '/api/v1/auth/sign-in-policy')->{json}{password}, $true,
   'passwords sign in by default');
$r = api($admin, PUT => '/api/v1/auth/sign-in-policy',
         json => { password => $false });
is($r->{status}, 200, 'an admin turns password sign-in off');
is($r->{json}{password}, $false, '... and it is off');
problem_is($ws->try_login($pam->{email}), 403, 'forbidden',
           '... a password sign-in is refused');
is($t->req(GET => '/api/v1/auth/oauth/providers', host => $slug)
       ->{json}{password}, $false, '... and the sign-in page shows no form');
$idp->set(sub => 'pam-at-acme', email => $pam->{email}, email_verified => $true);
(undef, $cb) = flow('acme-sso');
ok(me_by_cookie($cb), '... while the provider still signs Pam in');
is(api($admin, PUT => '/api/v1/auth/sign-in-policy',
       json => { password => $true })->{status}, 200, 'passwords back on');
is($ws->try_login($pam->{email})->{status}, 200, '... and they sign in again');

# --- tenant isolation ---------------------------------------------------------------------

my $other = $t->workspace(prefix => 'oauth2');
$r = $t->req(GET => '/api/v1/auth/oauth/acme-sso/start', host => $other->slug);
is(oauth_error($r), 'unknown_provider',
   "workspace A's provider does not exist on B");
$idp->set(sub => 'pam-at-acme', email => $pam->{email}, email_verified => $true);
(undef, $cb) = flow('acme-sso', host => $other->slug);
is(oauth_error($cb), 'state_invalid',
   "A's sign-in finished on B's host: state_invalid");
is($other->api($other->admin, GET => '/api/v1/auth/providers')->{json}{items}
       ->@*, 0, "B's admin sees none of A's providers");
problem_is($other->api($other->admin, GET => "/api/v1/auth/providers/$provider->{id}"),
           404, 'not_found', "... nor one by its id");
$r = $other->api($other->admin, PUT => '/api/v1/auth/sign-in-policy',
                 json => { password => $false });
problem_is($r, 422, 'validation_failed',
           'B, with no provider, cannot turn passwords off');
is($t->req(GET => '/api/v1/auth/oauth/providers', host => $other->slug)
       ->{json}{password}, $true, "... its sign-in page keeps the form");

# --- deleted ------------------------------------------------------------------------------

is(api($admin, DELETE => "/api/v1/auth/providers/$provider->{id}")->{status},
   204, 'an admin deletes the OIDC provider');
($linked) = $dbh->selectrow_array(
    'SELECT count(*) FROM user_identities WHERE provider_id = ?', undef,
    $provider->{id});
is($linked, 0, '... and its linked identities');

# the last provider going never locks a workspace out
is(api($admin, PUT => '/api/v1/auth/sign-in-policy',
       json => { password => $false })->{status}, 200,
   'passwords off again, with providers enabled');
for my $p (@{ api($admin, GET => '/api/v1/auth/providers')->{json}{items} }) {
    api($admin, PATCH => "/api/v1/auth/providers/$p->{id}",
        json => { enabled => $false });
}
is($ws->try_login($pam->{email})->{status}, 200,
   'every provider disabled: passwords sign in again');

$idp->stop;
$t->done_testing;
