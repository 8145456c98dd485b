#!/usr/bin/perl

# The tenant host: a workspace answers from its own database; an unknown
# one is 404 and the answer is cached (at most one catalog lookup per TTL);
# a suspended one is 403; the cache follows the catalog within its TTL.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);

my $TTL = 2;
# No webhooks sent from this nginx: its dispatcher would look at the
# workspaces that have webhooks (other files' too), and this file counts
# the connections to workspace databases that requests make.
my $t = Kanban::Test->new(ttl => "${TTL}s",
                          http => 'kanban_webhooks off;')->run;

# Backends of nginx (all but our DBI handles) on a database other than the
# catalog.
sub tenant_backends {
    my ($n) = $t->catalog->selectrow_array(q{
        SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend'
           AND application_name <> 'kanban-test'
           AND datname NOT IN ('kanban_catalog', 'postgres')});
    return $n;
}

# Work that earlier files left due (a put-off figures measure, a reminder)
# is stepped by any node, this fresh one too, and connects to those
# workspaces: let it pass before counting what requests connect.
sub settle_due_work {
    for (1 .. 100) {
        my ($due) = $t->catalog->selectrow_array(q{
            SELECT count(*) FROM sweep_due
             WHERE due_at < now() + interval '10 seconds'});
        last if $due == 0;
        sleep 0.2;
    }
    sleep 0.5;                  # the last step's connections are counted
}

# Unknown workspaces, on a fresh nginx that has not served any workspace.

settle_due_work();
my $before = tenant_backends();
my $unknown = Kanban::Test::unique_slug('nobody');

my $r = $t->req(GET => '/api/v1/workspace', host => $unknown);
problem_is($r, 404, 'tenant_not_found', 'an unknown workspace: 404');
ok(defined $r->{headers}{'x-request-id'}, '... with a request id');

$r = $t->req(GET => '/', host => $unknown);
is($r->{status}, 404, 'its web page too');

my $misses = $t->metric('kanban_tenant_lookups_total', result => 'miss');
ok(defined $misses, 'kanban_tenant_lookups_total{result="miss"} is there');
$misses //= 0;

$unknown = Kanban::Test::unique_slug('nobody');
my $start = time;
my $n = 0;
while (time - $start < 1.5 * $TTL) {
    $r = $t->req(GET => '/api/v1/workspace', host => $unknown);
    $n++;
    last unless $r->{status} == 404;
}
my $windows = 1 + int((time - $start) / $TTL);
is($r->{status}, 404, "$n requests for another unknown workspace: 404");

my $grew = ($t->metric('kanban_tenant_lookups_total', result => 'miss') // 0)
    - $misses;
cmp_ok($grew, '>=', 1, 'the first of them looked it up in the catalog');
cmp_ok($grew, '<=', $windows,
       "at most one catalog lookup per TTL ($n requests, $grew lookups)");

cmp_ok(tenant_backends() - $before, '<=', 0,
       'no workspace database was connected');

# A real workspace, and what hit means.

my $slug = $t->signup(prefix => 'acme', name => 'Acme Inc');

my $hits = $t->metric('kanban_tenant_lookups_total', result => 'hit') // 0;
for (1 .. 5) {
    $r = $t->req(GET => '/api/v1/workspace', host => $slug);
}
is($r->{status}, 200, 'a workspace: 200') or diag($r->{body});
is($r->{json}{slug}, $slug, 'its slug');
is($r->{json}{name}, 'Acme Inc', 'its name');
cmp_ok(($t->metric('kanban_tenant_lookups_total', result => 'hit') // 0)
       - $hits, '>=', 3, 'repeated requests are served from the cache');

# The name comes from the workspace's own database.

my $dbh = $t->tenant_dbh($slug);
$dbh->do(q{UPDATE settings SET value = to_jsonb('Renamed'::text)
            WHERE key = 'name'});
$r = $t->req(GET => '/api/v1/workspace', host => $slug);
is($r->{json}{name}, 'Renamed', 'the name is read from the workspace database');

# Hosts that do not name a workspace the way users type them.

$r = $t->req(GET => '/api/v1/workspace', host_header => "\U$slug\E.localhost:"
                                                      . $t->port);
ok($r->{status} == 200 && ($r->{json}{slug} // '') eq $slug
   || $r->{status} == 404, 'an upper-case host is the workspace or nothing')
    or diag("$r->{status} $r->{body}");

$r = $t->req(GET => '/api/v1/workspace', host => 'www');
problem_is($r, 404, 'tenant_not_found', 'a reserved word is no workspace');

# Suspended, then active again: the cache follows within the TTL.

my $cat = $t->catalog;
$cat->do(q{UPDATE tenants SET status = 'suspended' WHERE slug = ?},
         undef, $slug);
sleep $TTL + 0.5;

$r = $t->req(GET => '/api/v1/workspace', host => $slug);
problem_is($r, 403, 'tenant_suspended', 'suspended: 403');
$r = $t->req(GET => '/', host => $slug);
is($r->{status}, 403, 'suspended: its web page too');

$cat->do(q{UPDATE tenants SET status = 'active' WHERE slug = ?},
         undef, $slug);
sleep $TTL + 0.5;

$r = $t->req(GET => '/api/v1/workspace', host => $slug);
is($r->{status}, 200, 'active again: 200') or diag($r->{body});

# Gone from the catalog.

$cat->do('DELETE FROM tenants WHERE slug = ?', undef, $slug);
sleep $TTL + 0.5;
$r = $t->req(GET => '/api/v1/workspace', host => $slug);
problem_is($r, 404, 'tenant_not_found', 'deleted: 404');

# A workspace is not another's.

my $other = $t->signup(prefix => 'other');
$r = $t->req(GET => '/api/v1/workspace', host => $other);
is($r->{json}{slug}, $other, 'another workspace is itself');

Kanban::Test->done_testing;
