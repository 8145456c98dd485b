#!/usr/bin/perl

# The module loads into Debian's nginx with the project's configuration,
# and a configuration with a bad directive value is refused with a message
# that names the directive.

use strict;
use warnings;

use Test::More;
use Kanban::Test;

my $t = Kanban::Test->new;

my ($rc, $out) = $t->test_config;
is($rc, 0, 'nginx -t accepts conf/nginx.conf.in') or diag($out);
like($out, qr/test is successful/, 'nginx -t says so');
unlike($out, qr/\[(alert|crit|emerg|error)\]/, 'nginx -t complains of nothing')
    or diag($out);

$t->run;
my $r = $t->req(GET => '/health');
ok($r->{status} == 200 || $r->{status} == 503, 'the running nginx answers')
    or diag("$r->{status} $r->{body}");

# Each bad value in place of the good one (not next to it, or "is
# duplicate" would be the message).
my @bad = (
    [kanban_pg_pool_size       => '0'],
    [kanban_pg_pool_size       => 'many'],
    [kanban_pg_max_connections => '-1'],
    [kanban_pg_connect_timeout => 'soon'],
    [kanban_pg_queue_timeout   => '3 seconds'],
    [kanban_pg_query_timeout   => '-5s'],
    [kanban_tenant_url         => 'not a url'],
    [kanban_tenant_cache       => 'zone=x ttl=abc'],
    [kanban_tenant_cache       => 'zone=tenants:1m ttl=0 bogus=1'],
    [kanban_headers            => 'maybe'],
);

for my $case (@bad) {
    my ($directive, $value) = @$case;
    my $bad = Kanban::Test->new(replace => { $directive => $value });
    my ($rc, $out) = $bad->test_config;

    isnt($rc, 0, "nginx -t refuses $directive $value");
    my ($word) = $value =~ /(abc|bogus|\S+)/;
    like($out, qr/\[emerg\].*(\Q$directive\E|\Q$word\E).*nginx\.conf:\d+/,
         "... with a message naming it and the line") or diag($out);
    unlike($out, qr/duplicate|unknown directive/, '... for its value')
        or diag($out);
}

Kanban::Test->done_testing;
