#!/usr/bin/perl

# Two-factor sign-in of a workspace's people (TOTP, RFC 6238): enrolment
# with the password asked again, confirmation by a first code, recovery
# codes shown once; sign-in's second step with its challenge (single use,
# 5 wrong codes, 5 minutes), codes never good twice, recovery codes once;
# turning it off; an admin's reset; a half-done sign-in's challenge good
# for nothing else, and nowhere else.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);
use Kanban::TOTP;
use List::Util qw(max);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'mfa');
my $other = $t->workspace(prefix => 'mfa');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $password = $Kanban::Test::Workspace::PASSWORD;

# The next code an authenticator would show after the last step used:
# a step within the server's window (now - 1 .. now + 1), after $$last.
sub next_code {
    my ($secret, $last) = @_;
    my $step = max($$last + 1, Kanban::TOTP::step() - 1);
    sleep 1 while $step > Kanban::TOTP::step() + 1;
    $$last = $step;
    return Kanban::TOTP::code($secret, step => $step);
}

sub login {
    my ($email, %extra) = @_;
    return $t->req(POST => '/api/v1/auth/login', host => $slug,
                   json => { email => $email, password => $password,
                             %extra });
}

sub second {
    my ($json, %o) = @_;
    return $t->req(POST => '/api/v1/auth/login/mfa',
                   host => delete $o{host} // $slug, json => $json, %o);
}

sub challenge {
    my ($email) = @_;
    my $r = login($email);
    problem_is($r, 401, 'mfa_required', "$email: the password asks for a code");
    return $r->{json}{challenge};
}

# Enrols and confirms: (secret, last step, recovery codes)
sub enrol {
    my ($who) = @_;
    my $r = $ws->api($who, POST => '/api/v1/me/mfa/totp',
                     json => { password => $password });
    is($r->{status}, 200, "$who->{email}: enrolment started") or diag $r->{body};
    my $secret = $r->{json}{secret};
    my $last = 0;
    $r = $ws->api($who, POST => '/api/v1/me/mfa/totp/confirm',
                  json => { code => next_code($secret, \$last) });
    is($r->{status}, 200, "$who->{email}: confirmed") or diag $r->{body};
    return ($secret, $last, $r->{json}{recovery_codes});
}

# --- enrolment ------------------------------------------------------------

my $r = $ws->api($admin, GET => '/api/v1/me/mfa');
is($r->{status}, 200, 'status: 200');
is($r->{json}{totp}, 'off', 'off to begin with');

$r = $ws->api($admin, POST => '/api/v1/me/mfa/totp',
              json => { password => 'not my password' });
problem_is($r, 422, 'validation_failed', 'enrolment: the wrong password, 422');
is(Kanban::Test::error_for($r, 'password')->{code}, 'incorrect',
   '... naming the password');

$r = $ws->api(undef, POST => '/api/v1/me/mfa/totp',
              json => { password => $password });
problem_is($r, 401, 'unauthorized', 'enrolment: signed in only');

$r = $ws->api($admin, POST => '/api/v1/me/mfa/totp',
              json => { password => $password });
is($r->{status}, 200, 'enrolment: 200');
is($r->{json}{status}, 'pending', '... pending');
like($r->{json}{secret}, qr/^[A-Z2-7]{32}$/, '... a 160-bit base32 secret');
my $secret = $r->{json}{secret};
my $email = $admin->{email};
(my $label = $email) =~ s/\@/%40/;
is($r->{json}{otpauth_uri},
   "otpauth://totp/Kanban:$label?secret=$secret&issuer=Kanban"
   . '&algorithm=SHA1&digits=6&period=30', '... and the otpauth URI');
is($r->{headers}{'cache-control'}, 'no-store', '... never cached');

my $sealed = $ws->dbh->selectrow_array(
    'SELECT secret FROM user_mfa WHERE user_id = ?', undef, $admin->{id});
unlike($sealed, qr/\Q$secret\E/, 'the database keeps the secret sealed');

is($ws->api($admin, GET => '/api/v1/me/mfa')->{json}{totp}, 'pending',
   'status: pending');
is(login($email)->{status}, 200, 'a pending enrolment does not ask for codes');

$r = $ws->api($admin, POST => '/api/v1/me/mfa/totp/confirm',
              json => { code => 'abcdef' });
problem_is($r, 422, 'validation_failed', 'confirm: not digits, 422');

my $wrong = sprintf '%06d', (Kanban::TOTP::code($secret) + 1) % 1_000_000;
$r = $ws->api($admin, POST => '/api/v1/me/mfa/totp/confirm',
              json => { code => $wrong });
problem_is($r, 422, 'validation_failed', 'confirm: a wrong code, 422');
is(Kanban::Test::error_for($r, 'code')->{code}, 'incorrect',
   '... naming the code');

my $last = 0;
$r = $ws->api($admin, POST => '/api/v1/me/mfa/totp/confirm',
              json => { code => next_code($secret, \$last) });
is($r->{status}, 200, 'confirm: 200') or diag $r->{body};
ok($r->{json}{enabled}, '... on');
my @recovery = @{ $r->{json}{recovery_codes} // [] };
is(scalar @recovery, 10, '... with 10 recovery codes');
like($recovery[0], qr/^[A-Z2-7]{6}(-[A-Z2-7]{6}){3}$/,
     '... of 120 bits, in groups of six');
is($ws->dbh->selectrow_array(
       'SELECT count(*) FROM mfa_recovery_codes WHERE code_hash = ANY(?)',
       undef, \@recovery), 0, '... kept hashed only');

$r = $ws->api($admin, GET => '/api/v1/me/mfa');
is($r->{json}{totp}, 'on', 'status: on');
is($r->{json}{recovery_codes_left}, 10, '... 10 recovery codes left');

$r = $ws->api($admin, POST => '/api/v1/me/mfa/totp',
              json => { password => $password });
problem_is($r, 409, 'conflict', 'enrolling again while on: 409');

# --- sign-in --------------------------------------------------------------

$r = login($email);
problem_is($r, 401, 'mfa_required', 'sign-in: the password alone is 401 mfa_required');
my $challenge = $r->{json}{challenge};
like($challenge, qr/^[A-Za-z0-9_-]{43}$/, '... with a 256-bit challenge');
is($r->{json}{expires_in}, 300, '... for 5 minutes');
ok(!exists $r->{json}{access_token} && !exists $r->{json}{refresh_token},
   '... and no tokens');
ok(!$r->{headers}{'set-cookie'}, '... nor a cookie');

# a half-done sign-in's challenge is no token
problem_is($ws->api($challenge, GET => '/api/v1/auth/me'), 401, 'unauthorized',
           'the challenge as a bearer token: 401');
problem_is($t->req(POST => '/api/v1/auth/refresh', host => $slug,
                   json => { refresh_token => $challenge }),
           401, 'invalid_token', 'the challenge as a refresh token: 401');

# nor good in another workspace
problem_is(second({ challenge => $challenge,
                    code => Kanban::TOTP::code($secret) },
                  host => $other->slug),
           401, 'invalid_token', 'the challenge in another workspace: 401');

$r = second({ challenge => $challenge, code => $wrong });
problem_is($r, 401, 'invalid_credentials', 'a wrong code: 401');
$r = second({ challenge => $challenge,
              code => Kanban::TOTP::code($secret, step => $last) });
problem_is($r, 401, 'invalid_credentials',
           'the code confirmed with, again: 401 (a code is good once)');
$r = second({ challenge => $challenge });
problem_is($r, 422, 'validation_failed', 'neither code nor recovery code: 422');
$r = second({ challenge => $challenge, code => '1234567' });
problem_is($r, 422, 'validation_failed', 'a code of 7 digits: 422');

$r = second({ challenge => $challenge, code => next_code($secret, \$last) });
is($r->{status}, 200, 'the right code: 200') or diag $r->{body};
is($r->{json}{token_type}, 'Bearer', '... a session as a password sign-in has');
like($r->{json}{refresh_token}, qr/^[A-Za-z0-9_-]{43}$/, '... its refresh token');
is($r->{json}{user}{email}, $email, '... and the user');
is($r->{headers}{'cache-control'}, 'no-store', '... not cached');
is($ws->api($r->{json}{access_token}, GET => '/api/v1/auth/me')->{status},
   200, '... and the access token works');
is($t->req(POST => '/api/v1/auth/refresh', host => $slug,
           json => { refresh_token => $r->{json}{refresh_token} })->{status},
   200, '... and so does the refresh token');

problem_is(second({ challenge => $challenge,
                    code => Kanban::TOTP::code($secret, step => $last) }),
           401, 'invalid_token', 'the challenge again: 401 (single use)');

# the same code on a new challenge: still used
$challenge = challenge($email);
problem_is(second({ challenge => $challenge,
                    code => Kanban::TOTP::code($secret, step => $last) }),
           401, 'invalid_credentials', 'a used code on a new challenge: 401');

# the browser: the cookie, as with a password
$r = second({ challenge => $challenge, code => next_code($secret, \$last),
              cookie => JSON::XS::true });
is($r->{status}, 200, 'cookie mode: 200') or diag $r->{body};
like($r->{headers}{'set-cookie'} // '', qr/^__Host-kanban_refresh=/,
     '... the refresh cookie');
ok(!exists $r->{json}{refresh_token}, '... not in the body');

# recovery codes: each once
$challenge = challenge($email);
$r = second({ challenge => $challenge, recovery_code => lc $recovery[0] });
is($r->{status}, 200, 'a recovery code (any case): 200') or diag $r->{body};
$challenge = challenge($email);
problem_is(second({ challenge => $challenge, recovery_code => $recovery[0] }),
           401, 'invalid_credentials', 'the same recovery code again: 401');
$r = second({ challenge => $challenge, recovery_code => $recovery[1] });
is($r->{status}, 200, 'another recovery code: 200');
is($ws->api($admin, GET => '/api/v1/me/mfa')->{json}{recovery_codes_left}, 8,
   '8 recovery codes left');

# an expired challenge
$challenge = challenge($email);
$ws->dbh->do(q{UPDATE mfa_challenges SET expires_at = now() - interval '1s'});
problem_is(second({ challenge => $challenge, recovery_code => $recovery[2] }),
           401, 'invalid_token', 'an expired challenge: 401');

# --- wrong codes: 5 a challenge, then the person's sign-in throttle ------

my $pam = $ws->member('Pam', 'project_manager');
my ($pam_secret, $pam_last, $pam_recovery) = enrol($pam);

$challenge = challenge($pam->{email});
my $bad = sprintf '%06d',
    (Kanban::TOTP::code($pam_secret) + 500_000) % 1_000_000;
for my $i (1 .. 4) {
    problem_is(second({ challenge => $challenge, code => $bad }),
               401, 'invalid_credentials', "wrong code $i: 401");
}
problem_is(second({ challenge => $challenge, code => $bad }),
           401, 'invalid_token', 'the fifth wrong code kills the challenge');
problem_is(second({ challenge => $challenge,
                    code => next_code($pam_secret, \$pam_last) }),
           401, 'invalid_token', '... the right code comes too late');
$r = login($pam->{email});
problem_is($r, 429, 'rate_limited',
           'and the wrong codes count against the person: a new sign-in is 429');
ok($r->{headers}{'retry-after'}, '... with Retry-After');

# --- an admin's reset ------------------------------------------------------

problem_is($ws->api($pam, DELETE => "/api/v1/users/$pam->{id}/mfa"),
           403, 'forbidden', 'reset: not by a member');
is($ws->api($admin, DELETE => "/api/v1/users/$pam->{id}/mfa")->{status},
   204, 'reset: an admin, 204');
is($ws->api($pam, GET => '/api/v1/me/mfa')->{json}{totp}, 'off',
   '... the member is off');
is($ws->dbh->selectrow_array(
       q{SELECT count(*) FROM activity_log
          WHERE action = 'mfa_reset' AND entity_id = ? AND actor_id = ?},
       undef, $pam->{id}, $admin->{id}), 1, '... and it is audited');
is($ws->dbh->selectrow_array(
       'SELECT count(*) FROM mfa_recovery_codes WHERE user_id = ?',
       undef, $pam->{id}), 0, '... the recovery codes gone');
problem_is($ws->api($admin, DELETE => '/api/v1/users/'
                    . '00000000-0000-4000-8000-000000000000/mfa'),
           404, 'not_found', 'reset of nobody: 404');
problem_is($other->api($other->admin, DELETE => "/api/v1/users/$pam->{id}/mfa"),
           404, 'not_found', "reset from another workspace: 404");

# --- an erased person keeps no second factor -------------------------------

my $eve = $ws->member('Eve Erased');
enrol($eve);
is($ws->api($admin, DELETE => "/api/v1/users/$eve->{id}?erase=true")->{status},
   204, 'a member with two-factor sign-in erased');
is($ws->dbh->selectrow_array(
       q{SELECT (SELECT count(*) FROM user_mfa WHERE user_id = $1)
              + (SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1)},
       undef, $eve->{id}), 0, '... and the secret and recovery codes with them');

# --- turning it off --------------------------------------------------------

$r = $ws->api($admin, DELETE => '/api/v1/me/mfa/totp',
              json => { password => 'wrong', code => '123456' });
problem_is($r, 422, 'validation_failed', 'off: the wrong password, 422');
$r = $ws->api($admin, DELETE => '/api/v1/me/mfa/totp',
              json => { password => $password,
                        code => Kanban::TOTP::code($secret, step => $last) });
problem_is($r, 422, 'validation_failed', 'off: a used code, 422');
$r = $ws->api($admin, DELETE => '/api/v1/me/mfa/totp',
              json => { password => $password,
                        code => next_code($secret, \$last) });
is($r->{status}, 204, 'off: 204') or diag $r->{body};
is($ws->api($admin, GET => '/api/v1/me/mfa')->{json}{totp}, 'off',
   'status: off');
is(login($email)->{status}, 200, 'the password alone signs in again');
problem_is($ws->api($admin, DELETE => '/api/v1/me/mfa/totp',
                    json => { password => $password, code => '123456' }),
           409, 'conflict', 'off when off: 409');
is($ws->dbh->selectrow_array(
       q{SELECT count(*) FROM activity_log
          WHERE action IN ('mfa_enabled', 'mfa_disabled',
                           'mfa_recovery_code_used')
            AND entity_id = ?}, undef, $admin->{id}), 4,
   'on, off and the recovery codes used are audited');

$t->done_testing;
