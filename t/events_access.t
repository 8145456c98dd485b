#!/usr/bin/perl

# An event stream opened with an API token ends when the token is revoked,
# and when its person is disabled or given another role, on every node at
# once (the access.revoked event); its client's reconnect then meets a
# 401, or opens with the new role. The event itself reaches no stream.
# Other streams go on: the person's other token, their session's stream.
# A token's stream also ends when the token expires.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use POSIX qw(strftime);
use Kanban::Test qw(made);
use Kanban::SSE;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'sseacc');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $carl = $ws->member('Carl');

sub token_of {
    my ($who, %o) = @_;
    return made($ws->api($who, POST => '/api/v1/api-tokens',
                         json => { name => 'feed', scopes => ['read'], %o }),
                'api token');
}

sub open_ok {
    my ($token, $what) = @_;
    my $s = Kanban::SSE->open($t, $slug, $token);
    is($s->status, 200, "$what: open");
    return $s;
}

my $k1 = token_of($carl);
my $k2 = token_of($carl);
my $s1 = open_ok($k1->{token}, "Carl's first token");
my $s2 = open_ok($k2->{token}, "Carl's second token");
my $session = open_ok($carl->{token}, "Carl's session");
sleep 0.3;

my $revoked = time;
is($ws->api($carl, DELETE => "/api/v1/api-tokens/$k1->{id}")->{status}, 204,
   'Carl revokes his first token');
ok($s1->wait_closed(5), 'its stream ends');
cmp_ok(time - $revoked, '<', 3, '... at once (' . sprintf('%.2f s', time - $revoked)
                                 . ')');
is(Kanban::SSE->open($t, $slug, $k1->{token})->status, 401,
   '... and its reconnect is refused');

my $p = made($ws->api($admin, POST => '/api/v1/projects',
                      json => { key => 'ACC', name => 'Access' }), 'project');
for ([ $s2, 'the other token' ], [ $session, 'the session' ]) {
    my ($s, $what) = @$_;
    my ($e) = $s->next(1, 5);
    is($e && $e->{event}, 'project.created', "$what goes on");
}

# a new role: the token's stream ends, and reopens with what the role sees
$ws->api($admin, PATCH => "/api/v1/users/$carl->{id}",
         json => { role => 'project_manager' })->{status} == 200
    or die 'role change failed';
ok($s2->wait_closed(5), 'a new role ends the token stream');
my $again = open_ok($k2->{token}, '... which reopens');
ok(!$session->ended, "the session's stream keeps to its access token");

# disabled: ended and refused
is($ws->api($admin, DELETE => "/api/v1/users/$carl->{id}")->{status}, 204,
   'Carl is disabled');
ok($again->wait_closed(5), '... his token stream ends');
is(Kanban::SSE->open($t, $slug, $k2->{token})->status, 401,
   '... and cannot reopen');

# nobody saw the access.revoked events: the admin's stream from the start
my $watch = Kanban::SSE->open($t, $slug, $admin->{token}, last_event_id => 0);
is($watch->status, 200, "the admin's stream, replayed from the start");
my @all;
while (my ($e) = $watch->next(1, 1)) { push @all, $e }
ok(@all, 'it has the events');
is(scalar(grep { $_->{event} eq 'access.revoked' } @all), 0,
   '... and none of them is access.revoked');
my ($n) = $ws->dbh->selectrow_array(
    "SELECT count(*) FROM events WHERE type = 'access.revoked'");
is($n, 3, 'three were logged: a revoke, a role, a disable');

# a token that expires: its stream ends then
my $dana = $ws->member('Dana');
my $soon = token_of($dana);
$ws->dbh->do("UPDATE api_tokens SET expires_at = now() + interval '2 seconds'
              WHERE id = ?", undef, $soon->{id});
my $short = open_ok($soon->{token}, 'a token about to expire');
ok($short->wait_closed(6), '... ends when it expires');

$t->done_testing;
