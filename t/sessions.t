#!/usr/bin/perl

# A person's sessions: GET /api/v1/auth/sessions lists one's own sign-ins
# (user agent, address, last use, the browser's own marked current);
# DELETE /api/v1/auth/sessions/{id} ends one, DELETE /api/v1/auth/sessions
# all of one's own, DELETE /api/v1/users/{id}/sessions (admins) all of
# another person's. An ended session's refresh token is refused; others
# keep working; nobody sees or ends another's session by its id.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);
use Kanban::Audit qw(last_activity_id activity_since);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'sess');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $nobody = '00000000-0000-4000-8000-000000000000';
Kanban::Audit::watch($ws->dbh);

my $carl = $ws->member('Carl');

# sign Carl in from a browser or client of its own; the login's response
sub sign_in {
    my ($agent, %o) = @_;
    return $t->req(POST => '/api/v1/auth/login', host => $slug,
                   headers => { 'User-Agent' => $agent },
                   json => { email => $carl->{email},
                             password => 'correct horse battery staple',
                             %o });
}

# a refresh from that browser or client (what the list shows is its
# latest use's)
sub refresh {
    my ($token, $agent) = @_;
    return $ws->api(undef, POST => '/api/v1/auth/refresh',
                    headers => { 'User-Agent' => $agent // 'a client' },
                    json => { refresh_token => $token });
}

sub sessions {
    my ($who, %o) = @_;
    my $r = $ws->api($who, GET => '/api/v1/auth/sessions', %o);
    is($r->{status}, 200, 'list sessions: 200') or diag $r->{body};
    return $r->{json}{items} // [];
}

# --- the list ---------------------------------------------------------------

my $laptop = sign_in('Firefox on the laptop')->{json};
my $phone = sign_in('Kanban on the phone')->{json};

my $list = sessions($carl);
is(scalar @$list, 3, "Carl's three sign-ins are listed");
my ($on_phone) = grep { ($_->{user_agent} // '') eq 'Kanban on the phone' }
                 @$list;
ok($on_phone, '... with the user agent of each');
is($on_phone->{address}, '127.0.0.1', '... and its address');
ok($on_phone->{created_at} && $on_phone->{last_used_at}
   && $on_phone->{expires_at}, '... when it began, was last used, ends');
is($list->[0]{user_agent}, 'Kanban on the phone', '... newest use first');
ok(!grep({ $_->{current} } @$list), 'no cookie came: none is current');

my $r = refresh($laptop->{refresh_token}, 'Firefox on the laptop');
is($r->{status}, 200, 'the laptop refreshes');
$laptop->{refresh_token} = $r->{json}{refresh_token};
$list = sessions($carl);
is(scalar @$list, 3, '... and is still one session, not two');

is(scalar @{ sessions($admin) }, 1, "the admin sees only their own");

# a browser's own session is marked
my $browser = sign_in('Chromium', cookie => JSON::XS::true());
my ($cookie) = ($browser->{headers}{'set-cookie'} // '') =~ /^([^;]+)/;
$list = sessions($browser->{json}{access_token},
                 headers => { Cookie => $cookie });
my @current = grep { $_->{current} } @$list;
is(scalar @current, 1, 'with the refresh cookie: one session is current');
is($current[0]{user_agent}, 'Chromium', '... the browser that asks');

# --- ending one --------------------------------------------------------------

my ($laptop_session) = grep { ($_->{user_agent} // '') =~ /laptop/ }
                       @{ sessions($carl) };

problem_is($ws->api($admin, DELETE => "/api/v1/auth/sessions/"
                                      . $laptop_session->{id}),
           404, 'not_found', "the admin cannot end Carl's by its id here");
$r = refresh($laptop->{refresh_token}, 'Firefox on the laptop');
is($r->{status}, 200, '... and the laptop goes on');
$laptop->{refresh_token} = $r->{json}{refresh_token};

my $mark = last_activity_id();
$r = $ws->api($carl, DELETE => "/api/v1/auth/sessions/$laptop_session->{id}");
is($r->{status}, 204, 'Carl ends the laptop session: 204');
my $rows = activity_since($mark);
is(scalar @$rows, 1, '... one audit row');
is($rows->[0]{action}, 'sessions_revoked', '... sessions_revoked');

problem_is(refresh($laptop->{refresh_token}), 401,
           'invalid_token', "the laptop's refresh token is refused");
$r = refresh($phone->{refresh_token}, 'Kanban on the phone');
is($r->{status}, 200, 'the phone goes on');
$phone->{refresh_token} = $r->{json}{refresh_token};
ok(!grep({ $_->{id} eq $laptop_session->{id} } @{ sessions($carl) }),
   'the laptop is no longer listed');

problem_is($ws->api($carl, DELETE => "/api/v1/auth/sessions/"
                                     . $laptop_session->{id}),
           404, 'not_found', 'an ended session again: 404');
problem_is($ws->api($carl, DELETE => "/api/v1/auth/sessions/$nobody"),
           404, 'not_found', 'no such session: 404');
problem_is($ws->api($carl, DELETE => '/api/v1/auth/sessions/not-a-uuid'),
           404, 'not_found', 'not a UUID: 404');
problem_is($ws->api(undef, GET => '/api/v1/auth/sessions'),
           401, 'unauthorized', 'the list needs a token');

# --- everywhere ---------------------------------------------------------------

problem_is($ws->api($carl, DELETE => "/api/v1/users/$admin->{id}/sessions"),
           403, 'forbidden', "a contributor cannot sign the admin out");
problem_is($ws->api($admin, DELETE => "/api/v1/users/$nobody/sessions"),
           404, 'not_found', 'no such user: 404');

my $before = scalar @{ sessions($carl) };
cmp_ok($before, '>=', 2, 'Carl has sessions left');
$r = $ws->api($admin, DELETE => "/api/v1/users/$carl->{id}/sessions");
is($r->{status}, 204, 'the admin signs Carl out everywhere: 204');
is(scalar @{ sessions($carl) }, 0, '... none of his is left');
problem_is(refresh($phone->{refresh_token}), 401, 'invalid_token',
           '... the phone is signed out');
is(scalar @{ sessions($admin) }, 1, "... the admin's own untouched");

my $again = sign_in('Firefox again')->{json};
$r = refresh($again->{refresh_token}, 'Firefox again');
is($r->{status}, 200, 'Carl can sign in again');
$again->{refresh_token} = $r->{json}{refresh_token};
sign_in('and another');
$r = $ws->api($carl, DELETE => '/api/v1/auth/sessions');
is($r->{status}, 204, 'Carl signs himself out everywhere: 204');
is(scalar @{ sessions($carl) }, 0, '... nothing is left');
problem_is(refresh($again->{refresh_token}), 401, 'invalid_token',
           '... and his refresh tokens are refused');

# --- tenant isolation ----------------------------------------------------------

my $other = $t->workspace(prefix => 'sess');
problem_is($other->api($other->admin,
                       DELETE => "/api/v1/users/$carl->{id}/sessions"),
           404, 'not_found', "another workspace's admin: no such user");

$t->done_testing;
