#!/usr/bin/perl

# GET /health on the platform host: healthy with everything up, degraded
# without Redis, 503 without the catalog, healthy again once they are back
# (without reloading nginx).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;

sub health_ok {
    my ($r, $status, $state, $name) = @_;
    my $j = $r->{json} // {};
    is($r->{status}, $status, "$name: HTTP $status") or diag($r->{body});
    like($r->{headers}{'content-type'} // '', qr{^application/json\b},
         "$name: JSON");
    is($j->{status}, $state, "$name: status $state");
}

# Polls /health until $want->($r) holds or $secs pass; the last response.
sub poll {
    my ($t, $want, $secs) = @_;
    my $deadline = time + $secs;
    my $r;
    while (1) {
        $r = $t->req(GET => '/health', timeout => 15);
        return $r if $want->($r) || time > $deadline;
        sleep 0.2;
    }
}

# The shared stack: everything up.

my $t = Kanban::Test->new->run;

my $r = $t->req(GET => '/health');
health_ok($r, 200, 'healthy', 'all up');
my $j = $r->{json} // {};
ok(defined $j->{version} && !ref $j->{version} && length $j->{version},
   'a version');
is($j->{checks}{catalog}{status}, 'up', 'catalog up');
is($j->{checks}{redis}{status}, 'up', 'redis up');

$r = $t->req(POST => '/health', json => {});
isnt($r->{status}, 200, 'POST /health is not a health check');

# A private stack, so that Redis and PostgreSQL can be stopped.

my $stack = Kanban::Test::Stack->private;
my $p = Kanban::Test->new(stack => $stack)->run;

health_ok($p->req(GET => '/health'), 200, 'healthy', 'private stack');

$stack->stop_redis;
$r = poll($p, sub { ($_[0]{json}{status} // '') eq 'degraded' }, 10);
health_ok($r, 200, 'degraded', 'Redis down');
is($r->{json}{checks}{redis}{status}, 'down', 'Redis down: redis down');
is($r->{json}{checks}{catalog}{status}, 'up', 'Redis down: catalog up');
is($p->metric('kanban_redis_up'), 0, 'Redis down: kanban_redis_up 0');

$stack->stop;
my $start = time;
$r = $p->req(GET => '/health', timeout => 20);
my $took = time - $start;
is($r->{status}, 503, 'PostgreSQL down: 503') or diag($r->{body});
like($r->{headers}{'content-type'} // '', qr{^application/json\b},
     'PostgreSQL down: JSON');
isnt($r->{json}{status} // 'healthy', 'healthy', 'PostgreSQL down: not healthy');
is($r->{json}{checks}{catalog}{status}, 'down', 'PostgreSQL down: catalog down');
cmp_ok($took, '<', 10, 'PostgreSQL down: answered within 10 s');

$stack->start;
$r = poll($p, sub { ($_[0]{json}{status} // '') eq 'healthy' }, 20);
health_ok($r, 200, 'healthy', 'back up, same nginx');
is($r->{json}{checks}{redis}{status}, 'up', 'back up: redis up');

Kanban::Test->done_testing;
