#!/usr/bin/perl

# The absolute lifetime of a sign-in: a refresh-token family ends
# kanban_session_lifetime (30 days by default) after the sign-in, however
# often it is refreshed, with the same 401 as an expired token.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $slug = $t->signup(prefix => 'life');
my $email = "admin\@$slug.example";
my $dbh = $t->tenant_dbh($slug);

sub login {
    my ($t, $slug) = @_;
    my $r = $t->req(POST => '/api/v1/auth/login', host => $slug,
                    json => { email => "admin\@$slug.example",
                              password => 'correct horse battery staple' });
    is($r->{status}, 200, 'signed in') or diag $r->{body};
    return $r->{json}{refresh_token};
}

sub refresh {
    my ($t, $slug, $token) = @_;
    return $t->req(POST => '/api/v1/auth/refresh', host => $slug,
                   json => { refresh_token => $token });
}

# the family's sign-in moved into the past, as if time had gone by
sub signed_in_ago {
    my ($interval) = @_;
    $dbh->do(q{UPDATE refresh_tokens SET signed_in_at = now() - ?::interval
                WHERE user_id = (SELECT id FROM users WHERE email = ?)},
             undef, $interval, $email);
}

# --- a family used every day still ends 30 days after its sign-in -----------

my $token = login($t, $slug);
for my $n (1 .. 3) {
    my $r = refresh($t, $slug, $token);
    is($r->{status}, 200, "refresh $n of a fresh sign-in: 200");
    $token = $r->{json}{refresh_token};
}

signed_in_ago('29 days 23 hours');
my $r = refresh($t, $slug, $token);
is($r->{status}, 200, 'a sign-in 29 days 23 hours ago still refreshes');
$token = $r->{json}{refresh_token};

my ($left) = $dbh->selectrow_array(q{
    SELECT extract(epoch FROM expires_at - now())
      FROM refresh_tokens WHERE spent_at IS NULL AND revoked_at IS NULL
       AND user_id = (SELECT id FROM users WHERE email = ?)}, undef, $email);
cmp_ok($left, '<=', 3600 + 60,
       "... but its successor expires with the sign-in, in an hour, "
       . "not 30 days on");

signed_in_ago('30 days 1 minute');
my $ended = refresh($t, $slug, $token);
problem_is($ended, 401, 'invalid_token',
           'a sign-in older than 30 days: 401 however fresh its token');

# the same answer as a token that expired on its own
my $other = login($t, $slug);
$dbh->do(q{UPDATE refresh_tokens SET expires_at = now() - interval '1 s'
            WHERE spent_at IS NULL AND revoked_at IS NULL
              AND signed_in_at > now() - interval '1 hour'});
my $expired = refresh($t, $slug, $other);
problem_is($expired, 401, 'invalid_token', 'an expired token: 401');
is($ended->{json}{detail}, $expired->{json}{detail},
   '... the same problem as an ended sign-in');

# a new sign-in starts a new 30 days
$r = refresh($t, $slug, login($t, $slug));
is($r->{status}, 200, 'signing in again starts anew');

# --- kanban_session_lifetime sets it ----------------------------------------

my $short = Kanban::Test->new(
    replace => { kanban_session_lifetime => '3s' })->run;
my $s2 = $short->signup(prefix => 'life');

$token = login($short, $s2);
$r = refresh($short, $s2, $token);
is($r->{status}, 200, 'kanban_session_lifetime 3s: refreshed at once');
$token = $r->{json}{refresh_token};
sleep 4;
problem_is(refresh($short, $s2, $token), 401, 'invalid_token',
           '... and refused 4 s after the sign-in');

$short->stop;
$t->done_testing;
