#!/usr/bin/perl

# API tokens: made once and shown once, stored hashed, bounded by their
# scopes, revocable, expiring, and valid only in their own workspace.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'tok');
my $slug = $ws->slug;
my $other = $t->signup(prefix => 'tok');
my $session = $ws->admin;

sub make_token {
    my (%body) = @_;
    return $ws->api($session, POST => '/api/v1/api-tokens', json => \%body);
}

my $r = make_token(name => 'reporting', scopes => ['read']);
is($r->{status}, 201, 'a read token: 201');
like($r->{json}{token}, qr/^kbt_[0-9a-f]{64}$/, '... kbt_ and 64 hex digits');
like($r->{headers}{location} // '', qr{^/api/v1/api-tokens/$r->{json}{id}$},
     '... with its Location');
my $read = $r->{json}{token};

my ($stored) = $ws->dbh->selectrow_array(
    'SELECT token_hash FROM api_tokens WHERE id = ?', undef, $r->{json}{id});
isnt($stored, $read, 'the database keeps only a hash');
unlike($stored, qr/\Q$read\E/, '... which does not contain the token');

$r = $ws->api($session, GET => '/api/v1/api-tokens');
is(scalar @{ $r->{json}{items} }, 1, 'listed');
ok(!exists $r->{json}{items}[0]{token}, '... without the token itself');

$r = $ws->api($read, GET => '/api/v1/auth/me');
is($r->{status}, 200, 'the read token reads');
is($r->{json}{email}, "admin\@$slug.example", '... as its user');

problem_is($ws->api($read, POST => '/api/v1/skills',
                    json => { name => 'Perl' }),
           403, 'forbidden', 'the read token cannot write');

my $write = make_token(name => 'bot', scopes => ['read', 'write'])
    ->{json}{token};
is($ws->api($write, PATCH => '/api/v1/users/'
                . $ws->api($write, GET => '/api/v1/auth/me')->{json}{id},
            json => { name => 'Ada B. Admin' })->{status},
   200, 'a write token changes things');
problem_is($ws->api($write, POST => '/api/v1/skills',
                    json => { name => 'Perl' }),
           403, 'forbidden', '... but not on admin-only routes');

my $admin = make_token(name => 'ops', scopes => ['admin'])->{json}{token};
is($ws->api($admin, POST => '/api/v1/skills',
            json => { name => 'Perl' })->{status},
   201, 'an admin-scoped token of an admin reaches admin routes');

problem_is($ws->api($read, GET => '/api/v1/auth/me', host => $other),
           401, 'unauthorized', "a token on another workspace's host");
problem_is($ws->api('kbt_' . ('0' x 64), GET => '/api/v1/auth/me'),
           401, 'unauthorized', 'an unknown token');

problem_is(make_token(name => 'x', scopes => ['root']), 422,
           'validation_failed', 'an unknown scope');
problem_is(make_token(name => 'x', scopes => []), 422,
           'validation_failed', 'no scope');
problem_is(make_token(name => 'x', scopes => ['read'],
                      expires_at => '2001-01-01T00:00:00Z'),
           422, 'validation_failed', 'an expiry in the past');

my $brief = make_token(name => 'brief', scopes => ['read'],
                       expires_at => '2099-01-01T00:00:00Z')->{json};
is($ws->api($brief->{token}, GET => '/api/v1/auth/me')->{status}, 200,
   'a token with an expiry works before it');
$ws->dbh->do(q{UPDATE api_tokens
                  SET expires_at = now() - interval '1 second'
                WHERE id = ?}, undef, $brief->{id});
problem_is($ws->api($brief->{token}, GET => '/api/v1/auth/me'),
           401, 'unauthorized', '... and not after it');

my $id = $ws->api($session, GET => '/api/v1/api-tokens')
    ->{json}{items}[0]{id};
is($ws->api($session, DELETE => "/api/v1/api-tokens/$id")->{status}, 204,
   'revoked: 204');
problem_is($ws->api($read, GET => '/api/v1/auth/me'), 401, 'unauthorized',
           'a revoked token is refused at once');

Kanban::Test->done_testing;
