#!/usr/bin/perl

# The portal for people, over the real nginx, PostgreSQL and Redis, with
# a real SMTP server on loopback (t/lib/smtp_sink.py): "find my
# workspaces" mails one message listing each workspace of an address,
# with a single-use sign-in link where the workspace allows them, and
# answers the same (and mails nothing) for an address that is nobody's;
# the test follows the links: signed in, the address verified; a link
# used twice, expired, or on another workspace is refused with a page
# that says so. The switcher lists other workspaces only for a verified
# address; a handoff is single use, lives 60 seconds and is refused where
# the policy forbids links or the person is no longer a member. Rate
# limits per address and per client.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use JSON::XS;
use Digest::SHA qw(sha256_hex);
use Kanban::Test qw(problem_is);
use Kanban::SMTP;
use File::Temp qw(tempfile);

my $smtp = Kanban::SMTP->new(auth => 'kanban:s3cret-pw');
my ($cfh, $creds) = tempfile('portal-creds-XXXXXX', TMPDIR => 1,
                             UNLINK => 1);
print $cfh "kanban:s3cret-pw\n";
close $cfh;

my $port = $smtp->port;
my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_mail_server smtp://127.0.0.1:$port;
kanban_mail_credentials $creds;
kanban_mail_from noreply\@kanban.test;
kanban_mail_sweep 300ms;
kanban_mail_timeout 3s;
EOF

my $true = JSON::XS::true;
my $false = JSON::XS::false;
my $catalog = $t->catalog;
my $PASSWORD = 'correct horse battery staple';

# Three workspaces; Pat is a member of all three. Acme and Globex take
# sign-in links, Initech does not.
my %ws;
for my $name (qw(Acme Globex Initech)) {
    $ws{$name} = $t->workspace(prefix => lc $name, name => "$name Works");
}
my $pat = 'pat.portal.' . $$ . '@example.com';

my %pat;    # per workspace: Pat's id there
for my $name (qw(Acme Globex Initech)) {
    my $w = $ws{$name};
    my $r = $w->api($w->admin, POST => '/api/v1/users', json => {
        email => $pat, name => 'Pat', role => 'contributor',
        password => $PASSWORD });
    is($r->{status}, 201, "Pat joins $name");
    $pat{$name} = $r->{json}{id};
}

for my $name (qw(Acme Globex)) {
    my $w = $ws{$name};
    my $r = $w->api($w->admin, PUT => '/api/v1/auth/sign-in-policy',
                    json => { email_link => $true });
    is($r->{status}, 200, "$name takes sign-in links");
    is_deeply($r->{json}, { password => $true, email_link => $true },
              '... and says so');
}
is_deeply($ws{Initech}->api($ws{Initech}->admin,
                            GET => '/api/v1/auth/sign-in-policy')->{json},
          { password => $true, email_link => $false },
          'Initech: links off by default');

# the catalog's directory follows each workspace's changes
sub memberships {
    my ($address) = @_;
    return $catalog->selectrow_array(
        'SELECT count(*) FROM portal_members m JOIN tenants t'
        . ' ON t.id = m.tenant_id WHERE m.address_hash = $1'
        . ' AND t.slug = ANY($2)', undef, sha256_hex(lc $address),
        [map { $_->slug } values %ws]);
}

sub eventually {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout // 15);
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.2;
    }
    return 0;
}

ok(eventually(sub { memberships($pat) == 3
                    && $catalog->selectrow_array(
                        'SELECT count(*) FROM portal_policies p JOIN tenants t'
                        . ' ON t.id = p.tenant_id WHERE p.email_link'
                        . ' AND t.slug = ANY($1)', undef,
                        [map { $ws{$_}->slug } qw(Acme Globex)]) == 2 }),
   'the catalog knows Pat in three workspaces, two taking links');
is($catalog->selectrow_array(
       'SELECT count(*) FROM portal_members WHERE address_hash = $1',
       undef, $pat), 0, '... by the hash of the address, not the address');

# --- find my workspaces ----------------------------------------------------

sub find {
    my ($address) = @_;
    return $t->req(POST => '/api/v1/portal/find-workspaces',
                   json => { email => $address });
}

sub mail_to {
    my ($addr, $n, $timeout) = @_;
    return $smtp->wait_for(sub { my @x = grep { $_->{to} eq lc $addr } @_;
                                 @x >= ($n // 1) ? @x : () },
                           $timeout // 10);
}

my $nobody = 'nobody.portal.' . $$ . '@example.com';
my (@known, @unknown);
my $r = find($pat);
is($r->{status}, 202, 'find: 202 for a member');
is_deeply($r->{json}, { status => 'accepted' }, '... accepted');
push @known, $r->{elapsed};
my $r2 = find($nobody);
is($r2->{status}, 202, '... 202 for an address that is nobody\'s');
is($r2->{body}, $r->{body}, '... the same body');
push @unknown, $r2->{elapsed};

problem_is(find('x' x 300), 422, 'validation_failed', 'an address too long');
problem_is(find('no address'), 422, 'validation_failed', 'no address at all');
problem_is(find('a@b@c'), 422, 'validation_failed', 'two "@"');
problem_is($t->req(POST => '/api/v1/portal/find-workspaces', json => {}),
           422, 'validation_failed', 'no address');
problem_is($ws{Acme}->api(undef, POST => '/api/v1/portal/find-workspaces',
                          json => { email => $pat }),
           404, 'not_found', 'not on a workspace\'s host');

my @m = mail_to($pat);
is(scalar @m, 1, 'one message to Pat');
my $msg = $m[0];
is($msg->{headers}{subject}, 'Your workspaces', '... "Your workspaces"');
for my $name (qw(Acme Globex Initech)) {
    like($msg->{text}, qr/\Q$name Works\E/, "... lists $name");
}
my %link;
for my $name (qw(Acme Globex)) {
    my $host = $ws{$name}->slug;
    ($link{$name}) = $msg->{text}
        =~ m{(http://\Q$host\E\.localhost:\d+/auth/magic\?token=[0-9a-f]{64})};
    ok($link{$name}, "... with a sign-in link into $name");
    like($msg->{html}, qr/\Q$link{$name}\E/, '... in the HTML part too');
}
my $init = $ws{Initech}->slug;
unlike($msg->{text}, qr{\Q$init\E\.localhost:\d+/auth/magic},
       '... none into Initech, which takes no links');
like($msg->{text}, qr{http://\Q$init\E\.localhost:\d+}, '... only its address');

sleep 1;
is(scalar(grep { $_->{to} eq lc $nobody } $smtp->messages), 0,
   'nothing mailed to the unknown address');

# --- following the links ----------------------------------------------------

sub follow {
    my ($link, $host) = @_;
    my ($path) = $link =~ m{^http://[^/]+(/.*)$};
    return $ws{$host}->api(undef, GET => $path);
}

sub cookie_of {
    my ($r, $name) = @_;
    for (@{ $r->{header_list}{'set-cookie'} // [] }) {
        return $1 if /^\Q$name\E=([^;]*)/;
    }
    return undef;
}

# the session a link made: its refresh cookie refreshed, an access token
sub session_of {
    my ($r, $name) = @_;
    my $refresh = cookie_of($r, '__Host-kanban_refresh') or return undef;
    my $slug = $ws{$name}->slug;
    my $ref = $t->req(POST => '/api/v1/auth/refresh', host => $slug,
                      json => { cookie => $true },
                      headers => { Cookie => "__Host-kanban_refresh=$refresh",
                                   Origin => "http://$slug.localhost:"
                                             . $t->port,
                                   'X-Kanban-CSRF' => 1 });
    return undef unless $ref->{status} == 200;
    return $ref->{json}{access_token};
}

# Globex's link on Acme's host: refused, and left good for Globex
$r = follow($link{Globex}, 'Acme');
is($r->{status}, 403, 'a Globex link on Acme: 403');
like($r->{headers}{'content-type'}, qr{^text/html}, '... a page');
like($r->{body}, qr/another workspace/, '... that says so');
like($r->{body}, qr{href="/signin"}, '... with the sign-in form\'s link');

$r = follow($link{Acme}, 'Acme');
is($r->{status}, 302, 'Acme\'s link: 302');
like($r->{headers}{location} // '',
     qr{^http://\Q${\$ws{Acme}->slug}\E\.localhost:\d+/$}, '... into the app');
my $acme_token = session_of($r, 'Acme');
ok($acme_token, '... with a session as a password sign-in has');
my $me = $ws{Acme}->api($acme_token, GET => '/api/v1/auth/me');
is($me->{json}{email}, lc $pat, '... as Pat');
ok($ws{Acme}->dbh->selectrow_array(
       'SELECT email_verified_at IS NOT NULL FROM users WHERE id = $1',
       undef, $pat{Acme}), '... whose address is now verified there');

$r = follow($link{Acme}, 'Acme');
is($r->{status}, 410, 'the same link again: 410');
like($r->{body}, qr/used already/, '... "used already"');
ok(!cookie_of($r, '__Host-kanban_refresh'), '... and no session');

$r = follow($link{Globex}, 'Globex');
is($r->{status}, 302, 'the Globex link, tried on Acme before, works on Globex');

$r = $ws{Acme}->api(undef, GET => '/auth/magic?token=' . ('0' x 64));
is($r->{status}, 403, 'a made-up token: 403');
like($r->{body}, qr/not valid/, '... "not valid"');
is($ws{Acme}->api(undef, GET => '/auth/magic?token=%3Cscript%3E')->{status},
   403, 'a token that is no token: 403');

# expired: a second message, its link's time run out
$r = find($pat);
push @known, $r->{elapsed};
push @unknown, find($nobody)->{elapsed};
@m = mail_to($pat, 2);
my ($late) = $m[-1]{text}
    =~ m{(http://\Q${\$ws{Acme}->slug}\E\.localhost:\d+/auth/magic\?token=[0-9a-f]{64})};
ok($late, 'a second message with a new Acme link');
my ($token) = ($late // '') =~ /token=(\w+)/;
is($catalog->selectrow_array(
       q{SELECT round(extract(epoch FROM expires_at - created_at))
           FROM portal_links WHERE token_hash = $1}, undef,
       sha256_hex($token // '')), 900, '... good for 15 minutes');
$catalog->do(q{UPDATE portal_links SET expires_at = now() - interval '1s'
                WHERE token_hash = $1}, undef, sha256_hex($token // ''));
$r = follow($late // '', 'Acme');
is($r->{status}, 410, 'an expired link: 410');
like($r->{body}, qr/expired/, '... "expired"');

# --- the switcher -----------------------------------------------------------

$r = $ws{Acme}->api($acme_token, GET => '/api/v1/me/workspaces');
is($r->{status}, 200, 'Acme: Pat\'s other workspaces');
is_deeply([map { $_->{slug} } @{ $r->{json}{items} }],
          [map { $ws{$_}->slug } qw(Globex Initech)],
          '... Globex and Initech, by name, not Acme');
is_deeply([map { $_->{email_link} ? 1 : 0 } @{ $r->{json}{items} }], [1, 0],
          '... which of them take links');

# Initech: Pat signs in with a password; the address is not verified there
my $initech_pat = $ws{Initech}->login($pat, $PASSWORD);
$r = $ws{Initech}->api($initech_pat, GET => '/api/v1/me/workspaces');
is($r->{status}, 200, 'an unverified address: 200');
is_deeply($r->{json}{items}, [], '... and no other workspace');
problem_is($ws{Initech}->api($initech_pat,
                             POST => '/api/v1/me/workspaces/'
                                     . $ws{Acme}->slug . '/handoff'),
           403, 'forbidden', '... nor a handoff');

problem_is($ws{Acme}->api(undef, GET => '/api/v1/me/workspaces'), 401,
           'unauthorized', 'nobody signed in: 401');

# a handoff from Acme into Globex
my $gslug = $ws{Globex}->slug;
$r = $ws{Acme}->api($acme_token,
                    POST => "/api/v1/me/workspaces/$gslug/handoff");
is($r->{status}, 200, 'a handoff into Globex');
my $hand = $r->{json}{url} // '';
like($hand,
     qr{^http://\Q$gslug\E\.localhost:\d+/auth/magic\?token=[0-9a-f]{64}$},
     '... a sign-in link on Globex\'s host');
($token) = $hand =~ /token=(\w+)/;
is($catalog->selectrow_array(
       q{SELECT round(extract(epoch FROM expires_at - created_at))
           FROM portal_links WHERE token_hash = $1}, undef,
       sha256_hex($token // '')), 60, '... good for 60 seconds');
is(follow($hand, 'Acme')->{status}, 403, '... useless on Acme');
$r = follow($hand, 'Globex');
is($r->{status}, 302, '... signs Pat in on Globex');
my $globex_token = session_of($r, 'Globex');
is($ws{Globex}->api($globex_token, GET => '/api/v1/auth/me')->{json}{email},
   lc $pat, '... as Pat');
is(follow($hand, 'Globex')->{status}, 410, '... once');

# one past its minute
$r = $ws{Acme}->api($acme_token,
                    POST => "/api/v1/me/workspaces/$gslug/handoff");
($token) = ($r->{json}{url} // '') =~ /token=(\w+)/;
$catalog->do(q{UPDATE portal_links SET expires_at = created_at
                WHERE token_hash = $1}, undef, sha256_hex($token // ''));
is(follow($r->{json}{url} // '', 'Globex')->{status}, 410,
   'a handoff past its 60 seconds: 410');

problem_is($ws{Acme}->api($acme_token,
                          POST => "/api/v1/me/workspaces/$init/handoff"),
           403, 'forbidden', 'a handoff into Initech (no links): 403');
problem_is($ws{Acme}->api($acme_token,
                          POST => '/api/v1/me/workspaces/no-such-ws/handoff'),
           403, 'forbidden', 'into a workspace that is none: 403');
problem_is($ws{Acme}->api($acme_token, POST => '/api/v1/me/workspaces/'
                                              . $ws{Acme}->slug . '/handoff'),
           403, 'forbidden', 'into the same workspace: 403');

# Globex turns links off: a handoff made before is refused there too
$r = $ws{Acme}->api($acme_token,
                    POST => "/api/v1/me/workspaces/$gslug/handoff");
my $before = $r->{json}{url} // '';
$ws{Globex}->api($ws{Globex}->admin, PUT => '/api/v1/auth/sign-in-policy',
                 json => { email_link => $false });
$r = follow($before, 'Globex');
is($r->{status}, 403, 'Globex turned links off: a link made before, 403');
like($r->{body}, qr/does not take sign-in links/, '... "does not take"');
ok(eventually(sub {
       my $x = $ws{Acme}->api($acme_token,
                              POST => "/api/v1/me/workspaces/$gslug/handoff");
       $x->{status} == 403 }), '... and no more handoffs into it');

# Pat leaves Initech: the switcher forgets it
$r = $ws{Initech}->api($ws{Initech}->admin,
                       PATCH => "/api/v1/users/$pat{Initech}",
                       json => { status => 'disabled' });
ok($r->{status} == 200, 'Initech disables Pat') or diag $r->{body};
ok(eventually(sub {
       my $x = $ws{Acme}->api($acme_token, GET => '/api/v1/me/workspaces');
       !grep { $_->{slug} eq $init } @{ $x->{json}{items} } }),
   '... and Acme\'s switcher no longer lists Initech');

# a batch read again (another node, a retry) changes nothing
my $islug = $ws{Initech}->slug;
$catalog->do(q{SELECT portal_directory_apply($1, jsonb_build_array(
                   jsonb_build_object('id', 1, 'kind', 'member', 'old', NULL,
                                      'new', $2::text, 'verified', false)))},
             undef, $islug, sha256_hex(lc $pat));
is($catalog->selectrow_array(
       'SELECT count(*) FROM portal_members m JOIN tenants t'
       . ' ON t.id = m.tenant_id WHERE t.slug = $1 AND m.address_hash = $2',
       undef, $islug, sha256_hex(lc $pat)), 0,
   'an old change applied again: Pat stays out of Initech\'s directory');

# --- about the same time, known or not ---------------------------------------

for (1 .. 2) {
    push @known, find($pat)->{elapsed};
    push @unknown, find($nobody)->{elapsed};
}
my $median = sub { my @x = sort { $a <=> $b } @_; $x[int(@x / 2)] };
my ($mk, $mu) = ($median->(@known), $median->(@unknown));
diag(sprintf('find: median %.1f ms known, %.1f ms unknown',
             $mk * 1000, $mu * 1000));
cmp_ok(abs($mk - $mu), '<', 0.1, 'about the same time, known or not');

# --- rate limits ----------------------------------------------------------

# Pat has asked 4 times this hour; the fifth is mailed, a sixth is not
$r = find($pat);
my $mails = () = mail_to($pat, 5);
is($mails, 5, 'five messages for five asks');
$r = find($pat);
is($r->{status}, 202, 'a sixth ask: the same 202');
sleep 1.5;
is(scalar(grep { $_->{to} eq lc $pat } $smtp->messages), 5,
   '... and no sixth message');

# this client may ask 20 times an hour: its asks so far are in the
# catalog (this file's, and any other of the suite's from this address
# within the hour; the invalid asks never reached it)
my ($asked) = $catalog->selectrow_array(
    q{SELECT count(*) FROM portal_requests
       WHERE client = '127.0.0.1' AND created_at > now() - interval '1 hour'});
cmp_ok($asked, '>=', 10, "this client's asks so far are counted ($asked)");
my $asks = 0;
my $last;
while ($asks < 30) {
    $last = find("someone.$asks\@example.com");
    last if $last->{status} == 429;
    $asks++;
}
problem_is($last, 429, 'rate_limited', 'too many asks from one client: 429');
is($asks, 20 - $asked, '... after its twentieth ask of the hour');

$t->done_testing;
