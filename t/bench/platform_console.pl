#!/usr/bin/perl

# The console's workspace list with 10,000 workspaces in the catalog
# (issue 22): p50 and p99 of 200 sequential reads of GET
# /api/v1/platform/workspaces, 50 a page, for the default sort, by size,
# a search, a filter, and the 100th page (cursor); then the jobs (one
# provisioning each) and the schema versions. The workspaces are
# catalog rows with figures (suspended, no database: 10,000 databases would
# not fit the disk, as in t/scale/workspaces.pl). Not part of the suite:
#
#     BENCH_CONSOLE_WORKSPACES=10000 bash t/run t/bench/platform_console.pl

use strict; use warnings;
use Test::More;
use Time::HiRes qw(time);
use Kanban::Test;
use Kanban::Operator;

my $N = $ENV{BENCH_CONSOLE_WORKSPACES} // 10_000;
my $t = Kanban::Test->new->run;
my $op = Kanban::Operator->new($t);
my $catalog = $t->catalog;

my $mark = "bc$$";
$catalog->do(q{
    WITH t AS (
        INSERT INTO tenants (id, slug, name, status, db_name, created_at)
        SELECT gen_random_uuid(), ? || '-' || i, 'Bench workspace ' || i,
               'suspended', 'kanban_bench_' || ? || '_' || i,
               now() - make_interval(mins => i)
          FROM generate_series(1, ?) i
        RETURNING id)
    INSERT INTO tenant_figures (tenant_id, users, tasks, size_bytes,
                                last_active_at)
    SELECT id, (random() * 200)::int, (random() * 50000)::int,
           (random() * 1e10)::bigint, now() - random() * interval '90 days'
      FROM t}, undef, $mark, $$, $N);
$catalog->do('ANALYZE tenants');
$catalog->do('ANALYZE tenant_figures');
my ($total) = $catalog->selectrow_array('SELECT count(*) FROM tenants');

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($p * $#v + 0.5)];
}

sub measure {
    my ($name, $path) = @_;
    my @ms;
    for (1 .. 205) {
        my $t0 = time;
        my $r = $op->api(GET => $path);
        die "$path: $r->{status} $r->{body}" unless $r->{status} == 200;
        push @ms, (time - $t0) * 1000;
    }
    splice @ms, 0, 5;                       # warm: prepared statements
    diag sprintf '%-44s p50 %6.1f ms   p99 %6.1f ms', $name,
                 pct(0.5, @ms), pct(0.99, @ms);
}

diag "$total workspaces in the catalog";
measure('newest first (default), page 1', '/api/v1/platform/workspaces');
measure('largest first (sort=-size), page 1',
        '/api/v1/platform/workspaces?sort=-size');
measure('by last activity, page 1',
        '/api/v1/platform/workspaces?sort=-last_active_at');
measure('search q= (one match)', "/api/v1/platform/workspaces?q=$mark-777");
measure('status=active (a few)', '/api/v1/platform/workspaces?status=active');

# the 100th page of the default sort
my $cursor;
for (1 .. 99) {
    my $r = $op->api(GET => '/api/v1/platform/workspaces'
                            . ($cursor ? "?cursor=$cursor" : ''));
    $cursor = $r->{json}{next_cursor};
}
measure('page 100 (cursor)', "/api/v1/platform/workspaces?cursor=$cursor");

# the jobs: a provisioning for each of them, the Jobs tab's first page,
# one workspace's, and the schema versions (a count over every workspace)
$catalog->do(q{
    INSERT INTO jobs (kind, workspace, state, progress, requested_by,
                      started_at, finished_at, created_at)
    SELECT 'provision', ? || '-' || i, 'succeeded', 100, 'sign-up',
           now() - make_interval(mins => i), now() - make_interval(mins => i),
           now() - make_interval(mins => i)
      FROM generate_series(1, ?) i}, undef, $mark, $N);
$catalog->do('ANALYZE jobs');
measure('jobs, page 1', '/api/v1/platform/jobs');
measure('jobs of one workspace', "/api/v1/platform/jobs?workspace=$mark-777");
measure('jobs, state=failed (none)', '/api/v1/platform/jobs?state=failed');
measure('schema versions', '/api/v1/platform/schema-versions');

$catalog->do("DELETE FROM jobs WHERE workspace LIKE ? || '-%'", undef, $mark);
$catalog->do("DELETE FROM tenants WHERE slug LIKE ? || '-%'", undef, $mark);
ok(1, 'measured');
$t->done_testing;
