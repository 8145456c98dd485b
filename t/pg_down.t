#!/usr/bin/perl

# PostgreSQL goes away: workspace requests get 503 unavailable within the
# pool's timeouts instead of hanging; once it is back they succeed again,
# with the same nginx (no reload).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);

my $stack = Kanban::Test::Stack->private;
my $t = Kanban::Test->new(stack => $stack)->run;
my $master = $t->pid;

my @slugs = map { $t->signup(prefix => 'down') } 1 .. 2;

# Both workers have open connections to both databases.
for (1 .. 10) {
    $t->req(GET => '/api/v1/workspace', host => $_) for @slugs;
}
my $r = $t->req(GET => '/api/v1/workspace', host => $slugs[0]);
is($r->{status}, 200, 'up: 200');

$stack->stop_pg;

my $start = time;
$r = $t->req(GET => '/api/v1/workspace', host => $slugs[0], timeout => 20);
my $took = time - $start;
problem_is($r, 503, 'unavailable', 'PostgreSQL down: 503 unavailable');
cmp_ok($took, '<', 10, sprintf('... within 10 s (%.1f s)', $took));

# Many at once: each is answered, none hangs.
my @c = map { $t->send_req(GET => '/api/v1/workspace',
                           host => $slugs[$_ % 2]) } 1 .. 20;
$start = time;
Kanban::Test::wait_all(\@c, 20);
$took = time - $start;
my @status = map { $_->response->{status} } @c;
is(scalar(grep { $_ == 503 } @status), 20, '20 at once: all 503')
    or diag("@status");
cmp_ok($took, '<', 10, sprintf('... within 10 s (%.1f s)', $took));

# A workspace whose cache entry has expired needs the catalog, down too.
sleep 1.5;
$r = $t->req(GET => '/api/v1/workspace', host => $slugs[1], timeout => 20);
problem_is($r, 503, 'unavailable', 'the catalog down: 503 unavailable');

$r = $t->req(GET => '/api/v1/workspace', host => 'never-heard-of-it',
             timeout => 20);
problem_is($r, 503, 'unavailable',
           'an unknown workspace while the catalog is down: 503, not 404');

$stack->start;

my $deadline = time + 20;
do {
    sleep 0.5;
    $r = $t->req(GET => '/api/v1/workspace', host => $slugs[0]);
} until $r->{status} == 200 || time > $deadline;
is($r->{status}, 200, 'PostgreSQL back: 200') or diag($r->{body});

# Every pooled connection of both workers was broken: none may fail now.
@status = ();
for (1 .. 20) {
    for my $slug (@slugs) {
        $r = $t->req(GET => '/api/v1/workspace', host => $slug);
        push @status, $r->{status} == 200
            && ($r->{json}{slug} // '') eq $slug ? 'ok' : $r->{status};
    }
}
is(scalar(grep { $_ ne 'ok' } @status), 0,
   'after that, 40 requests to both workspaces all succeed')
    or diag("@status");

is($t->pid, $master, 'the same nginx master');

$r = $t->req(GET => '/health');
is($r->{status}, 200, 'healthy again');

Kanban::Test->done_testing;
