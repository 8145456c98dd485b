#!/usr/bin/perl

# Operators on the platform host: the setup link kanbanctl prints (single
# use, expiring), TOTP enrolment and sign-in (wrong, replayed within its
# window, right), sessions that are the platform host's only (an
# operator's refused on a workspace's host, a workspace's token refused
# here), the cookie mode's CSRF rule, and the audit of each of it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Kanban::Test qw(problem_is);
use Kanban::TOTP;

my $t = Kanban::Test->new->run;
my $catalog = $t->catalog;
my $PASSWORD = 'an operator keeps many plates spinning';

# kanbanctl operator add EMAIL [HOURS] on the test's stack: the link's token
sub operator_add {
    my ($email, @more) = @_;
    my $out = `$Kanban::Test::ROOT/conf/kanbanctl operator add '$email' @more 2>&1`;
    return ($?, $out) unless $? == 0;
    my ($token) = $out =~ m{/operators/setup#token=([A-Za-z0-9_-]+)}
        or return (1, $out);
    return (0, $out, $token);
}

sub api {
    my ($method, $path, %o) = @_;
    my $token = delete $o{token};
    my %headers = %{ delete $o{headers} // {} };
    $headers{Authorization} = "Bearer $token" if $token;
    return $t->req($method => $path, headers => \%headers, %o);
}

my $email = "ops-$$\@ops.example";
my ($rc, $out, $token) = operator_add($email);
is($rc, 0, 'kanbanctl operator add prints a setup link') or diag($out);
like($out, qr{^http://localhost:\d+/operators/setup#token=}m,
     'the link is the platform host\'s, the token in its fragment');

my ($again_rc, $again) = operator_add($email, 0);
isnt($again_rc, 0, 'HOURS 0 is refused');

# --- the setup link ----------------------------------------------------

problem_is(api(POST => '/api/v1/platform/auth/setup',
               json => { token => 'x' x 43 }), 410, 'gone',
           'an unknown setup token is gone');
problem_is(api(POST => '/api/v1/platform/auth/setup', json => {}), 422,
           'validation_failed', 'the token is required');

my $r = api(POST => '/api/v1/platform/auth/setup', json => { token => $token });
is($r->{status}, 200, 'the setup link opens') or diag($r->{body});
my $secret = $r->{json}{totp_secret};
is($r->{json}{email}, $email, 'for the operator it was made for');
like($secret, qr/^[A-Z2-7]{32}$/, 'with a base32 secret of 160 bits');
like($r->{json}{otpauth_uri},
     qr{^otpauth://totp/Kanban%20operators:ops-\d+%40ops\.example\?secret=\Q$secret\E&issuer=Kanban%20operators&algorithm=SHA1&digits=6&period=30$},
     'and its otpauth:// URI');

my ($sealed) = $catalog->selectrow_array(
    'SELECT totp_secret FROM operator_setups WHERE operator_id =
        (SELECT id FROM operators WHERE email = ?)', undef, $email);
like($sealed, qr/^v1:/, 'the secret is stored sealed');
unlike($sealed, qr/\Q$secret\E/, 'not as it is');

$r = api(POST => '/api/v1/platform/auth/setup', json => { token => $token });
is($r->{json}{totp_secret}, $secret, 'opened again: the same secret');

my $now = Kanban::TOTP::step();
my $wrong = sprintf '%06d', (Kanban::TOTP::code($secret) + 1) % 1_000_000;
$wrong = sprintf '%06d', ($wrong + 1) % 1_000_000
    while grep { $_ eq $wrong } map { Kanban::TOTP::code($secret, step => $_) }
                                    $now - 1 .. $now + 1;

problem_is(api(POST => '/api/v1/platform/auth/setup/finish',
               json => { token => $token, password => $PASSWORD,
                         totp => $wrong }), 422, 'validation_failed',
           'a wrong first code does not finish the setup');
problem_is(api(POST => '/api/v1/platform/auth/setup/finish',
               json => { token => $token, password => 'short',
                         totp => Kanban::TOTP::code($secret) }), 422,
           'validation_failed', 'a short password is refused');
problem_is(api(POST => '/api/v1/platform/auth/setup/finish',
               json => { token => $token, password => 'basketball',
                         totp => Kanban::TOTP::code($secret) }), 422,
           'validation_failed', 'a common password is refused');
problem_is(api(POST => '/api/v1/platform/auth/setup/finish',
               json => { token => $token, password => $PASSWORD,
                         totp => 'abcdef' }), 422, 'validation_failed',
           'a code is six digits');

my $first = Kanban::TOTP::code($secret, step => $now);
$r = api(POST => '/api/v1/platform/auth/setup/finish',
         json => { token => $token, password => $PASSWORD, totp => $first });
is($r->{status}, 200, 'the first right code finishes the setup')
    or diag($r->{body});
is($r->{json}{email}, $email, '... of this operator');

problem_is(api(POST => '/api/v1/platform/auth/setup/finish',
               json => { token => $token, password => $PASSWORD,
                         totp => $first }), 410, 'gone',
           'the link is single use: finished once');
problem_is(api(POST => '/api/v1/platform/auth/setup',
               json => { token => $token }), 410, 'gone',
           'and no longer shows the secret');

($rc, $out) = operator_add($email);
isnt($rc, 0, 'an operator set up already gets no new link');

# an expired link
my $late = "late-$$\@ops.example";
my (undef, undef, $late_token) = operator_add($late, 1);
$catalog->do("UPDATE operator_setups SET expires_at = now() - interval '1 second'
               WHERE operator_id = (SELECT id FROM operators WHERE email = ?)",
             undef, $late);
problem_is(api(POST => '/api/v1/platform/auth/setup',
               json => { token => $late_token }), 410, 'gone',
           'an expired setup link is gone');

# a new link replaces the older one
my (undef, undef, $older) = operator_add("twice-$$\@ops.example");
my (undef, undef, $newer) = operator_add("twice-$$\@ops.example");
problem_is(api(POST => '/api/v1/platform/auth/setup',
               json => { token => $older }), 410, 'gone',
           'a newer link ends the older one');
is(api(POST => '/api/v1/platform/auth/setup',
       json => { token => $newer })->{status}, 200, 'the newer one opens');

# --- sign-in: password and TOTP ------------------------------------------

sub login {
    my (%o) = @_;
    return api(POST => '/api/v1/platform/auth/login',
               json => { email => $email, password => $PASSWORD, %o });
}

problem_is(login(totp => $first), 401, 'invalid_credentials',
           'the code the setup used is not accepted again (replay)');
problem_is(login(totp => $wrong), 401, 'invalid_credentials',
           'a wrong code is refused');
problem_is(login(password => 'not the password at all',
                 totp => Kanban::TOTP::code($secret, step => $now + 1)),
           401, 'invalid_credentials', 'a wrong password with a right code');

my $next = Kanban::TOTP::code($secret, step => $now + 1);
$r = login(totp => $next);
is($r->{status}, 200, 'password and the next step\'s code sign in')
    or diag($r->{body});
my $op = $r->{json}{token};
like($op, qr/^kbo_/, 'a session token of the platform');
is($r->{json}{operator}{email}, $email, '... for the operator');
like($r->{headers}{'cache-control'} // '', qr/no-store/, 'not cached');

problem_is(login(totp => $next), 401, 'invalid_credentials',
           'the same code within its window is refused (replay)');

is(api(GET => '/api/v1/platform/me', token => $op)->{json}{email}, $email,
   'the session is the operator\'s');

# --- one host's session is useless on the other's -------------------------

my $ws = $t->workspace(prefix => 'opsess');
$r = $t->req(GET => '/api/v1/workspace', host => $ws->slug,
             headers => { Authorization => "Bearer $op" });
is($r->{status}, 401,
   'an operator\'s token is refused on a workspace\'s host');
$r = $t->req(GET => '/api/v1/users', host => $ws->slug,
             headers => { Cookie => "__Host-kanban_operator=$op" });
is($r->{status}, 401, '... and so is its cookie');

problem_is(api(GET => '/api/v1/platform/workspaces',
               token => $ws->admin->{token}), 401, 'unauthorized',
           'a workspace admin\'s token is refused on the platform API');
problem_is(api(GET => '/api/v1/platform/workspaces'), 401, 'unauthorized',
           'no token: 401');
problem_is(api(GET => '/api/v1/platform/workspaces', token => 'kbo_' . 'A' x 43),
           401, 'unauthorized', 'a made-up operator token: 401');
is($t->req(GET => '/api/v1/platform/workspaces', host => $ws->slug,
           headers => { Authorization => 'Bearer ' . $ws->admin->{token} })
       ->{status}, 404,
   'the console\'s routes do not exist on a workspace\'s host');

# --- the cookie mode --------------------------------------------------------

$catalog->do('UPDATE operators SET totp_last_step = totp_last_step - 2
               WHERE email = ?', undef, $email);   # a second sign-in now
$r = login(totp => Kanban::TOTP::code($secret, step => $now), cookie => JSON::XS::true);
is($r->{status}, 200, 'a sign-in for the browser') or diag($r->{body});
ok(!exists $r->{json}{token}, 'its token is not in the body');
my ($cookie) = ($r->{headers}{'set-cookie'} // '') =~ /^(__Host-kanban_operator=kbo_[^;]+)/;
ok($cookie, 'but in the cookie');
like($r->{headers}{'set-cookie'} // '', qr/HttpOnly; Secure; SameSite=Strict/,
     'HttpOnly, Secure, SameSite=Strict');
unlike($r->{headers}{'set-cookie'} // '', qr/Domain=/i,
       'host-only: never sent to a workspace\'s host');

is(api(GET => '/api/v1/platform/me', headers => { Cookie => $cookie })->{status},
   200, 'the cookie reads');
my $origin = 'http://localhost:' . $t->port;
problem_is(api(PATCH => "/api/v1/platform/workspaces/" . $ws->slug,
               headers => { Cookie => $cookie }, json => { plan => 'team' }),
           403, 'forbidden', 'a change by the cookie without the CSRF header');
problem_is(api(PATCH => "/api/v1/platform/workspaces/" . $ws->slug,
               headers => { Cookie => $cookie, 'X-Kanban-CSRF' => '1',
                            Origin => "http://evil.example" },
               json => { plan => 'team' }),
           403, 'forbidden', '... or from another origin');
$r = api(PATCH => "/api/v1/platform/workspaces/" . $ws->slug,
         headers => { Cookie => $cookie, 'X-Kanban-CSRF' => '1',
                      Origin => $origin },
         json => { plan => 'team' });
is($r->{status}, 200, 'with both it changes') or diag($r->{body});
is($r->{json}{plan}, 'team', '... the plan');

$r = api(POST => '/api/v1/platform/auth/logout',
         headers => { Cookie => $cookie, 'X-Kanban-CSRF' => '1',
                      Origin => $origin });
is($r->{status}, 204, 'sign-out');
like($r->{headers}{'set-cookie'} // '', qr/Max-Age=0/, 'clears the cookie');
is(api(GET => '/api/v1/platform/me', headers => { Cookie => $cookie })->{status},
   401, 'the session is gone');
is(api(GET => '/api/v1/platform/me', token => $op)->{status}, 200,
   'the other session lives on');

# --- throttling ---------------------------------------------------------------

my $victim = "victim-$$\@ops.example";
for (1 .. 5) {
    login(email => $victim, totp => '000000');
}
$r = login(email => $victim, totp => '000000');
problem_is($r, 429, 'rate_limited', 'the sixth failure in 15 minutes: 429');
ok($r->{headers}{'retry-after'}, 'with Retry-After');

# --- the audit --------------------------------------------------------------

$r = api(GET => '/api/v1/platform/audit?limit=200', token => $op);
is($r->{status}, 200, 'the audit log reads') or diag($r->{body});
my %seen;
for my $e (@{ $r->{json}{items} }) {
    next unless ($e->{operator}{email} // '') eq $email;
    $seen{$e->{action}}++;
    is($e->{address}, "127.0.0.1", "$e->{action}: from where")
        if $seen{$e->{action}} == 1 && $e->{action} ne "operator.added";
    ok($e->{at}, "$e->{action}: when") if $seen{$e->{action}} == 1;
}
ok($seen{$_}, "audited: $_") for qw(operator.added operator.set_up
    operator.signed_in operator.sign_in_failed operator.signed_out
    workspace.updated);
my ($failed) = grep { $_->{action} eq 'operator.sign_in_failed'
                      && $_->{operator}{email} eq $email } @{ $r->{json}{items} };
ok($failed->{details}{reason}, 'a failure says which check refused it');

$t->done_testing;
