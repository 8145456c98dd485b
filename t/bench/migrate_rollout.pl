#!/usr/bin/perl

# kanbanctl migrate over many workspaces (issue 22), BENCH_ONLY=migrate
# make bench: BENCH_MIGRATE_WORKSPACES (1,000) real databases, each
# CREATE DATABASE ... TEMPLATE of the tenant template (a copy of files, no
# migration run) with its catalog row, then a new tenant schema version
# rolled out to all of them by `kanbanctl migrate`, one workspace broken
# among them (a table of the new migration's name already there). Then
# mended and migrated again: the job resumes with only that one.
#
# The new version lives only in a copy of sql/ (kanbanctl and sql/ copied
# to a scratch root, with sql/tenant/900_bench_rollout.sql added), so
# nothing of the repository changes.
#
# Figures: the provisioning's time, the roll-out's total time and
# workspaces a second, the failing one recorded and skipped, the second
# run, and an unrelated GET's p50 and p99 (the project list of a real
# workspace, about 50 a second) alone and while the roll-out runs.

use strict;
use warnings;

use File::Copy qw(copy);
use File::Path qw(make_path);
use Kanban::Test;
use Time::HiRes qw(time sleep);

$Kanban::Test::QUIET = 1;

my $N = $ENV{BENCH_MIGRATE_WORKSPACES} // 1000;
my $GETS = $ENV{BENCH_MIGRATE_GETS} // 500;

my $t = Kanban::Test->new(log_level => 'warn')->run;
my $catalog = $t->catalog;
my $pg = $t->{stack}->dbh('postgres');

my $ws = $t->workspace(prefix => 'mrb');
my $admin = $ws->admin;
$ws->api($admin, POST => '/api/v1/projects',
         json => { key => 'MRB', name => 'Bench' });

sub pct {
    my ($q, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($q * $#v + 0.5)];
}

# one GET, then a pause: a steady 50 or so a second, not a client that
# takes a core from the roll-out it measures
sub one_get {
    my $t0 = time;
    my $r = $ws->api($admin, GET => '/api/v1/projects');
    if ($r->{status} == 401) {              # the access token ran out
        $admin = $ws->login('admin@' . $ws->slug . '.example');
        $t0 = time;
        $r = $ws->api($admin, GET => '/api/v1/projects');
    }
    die "GET: $r->{status}\n" unless $r->{status} == 200;
    my $ms = 1000 * (time - $t0);
    sleep 0.02;
    return $ms;
}

# --- a scratch root whose sql/ has one tenant migration more ----------------

my $root = "$ENV{KANBAN_VAR}/rollout-root";
make_path("$root/conf");
system('cp', '-r', "$Kanban::Test::ROOT/sql", "$root/sql") == 0
    or die "cannot copy sql/\n";
copy("$Kanban::Test::ROOT/conf/kanbanctl", "$root/conf/kanbanctl")
    or die "cannot copy kanbanctl\n";
chmod 0755, "$root/conf/kanbanctl";
open my $m, '>', "$root/sql/tenant/900_bench_rollout.sql" or die "$!\n";
print $m <<'SQL';
-- the bench's new version: a column, an index and a table, as a real
-- migration would have
ALTER TABLE tasks ADD COLUMN bench_rollout text;
CREATE INDEX tasks_bench_rollout ON tasks (bench_rollout);
CREATE TABLE bench_rollout (id bigint PRIMARY KEY, note text);
SQL
close $m;
my $ctl = "$root/conf/kanbanctl";

# --- N workspaces, real databases ------------------------------------------

my ($server, $version) = $catalog->selectrow_array(
    'SELECT server, schema_version FROM tenants WHERE slug = ?', undef,
    $ws->slug);
my $mark = "mr$$";
my $t0 = time;
for my $i (1 .. $N) {
    my $db = "kanban_${mark}_$i";
    $pg->do(qq{CREATE DATABASE "$db" TEMPLATE kanban_tenant_template});
    $catalog->do(q{INSERT INTO tenants (id, slug, name, status, db_name,
                                        server, schema_version)
                   VALUES (gen_random_uuid(), ?, ?, 'active', ?, ?, ?)},
                 undef, "$mark-$i", "Rollout $i", $db, $server, $version);
}
my $made = time - $t0;
printf "migrate: %d workspaces made in %.1f s (%.0f a second), "
       . "CREATE DATABASE ... TEMPLATE\n", $N, $made, $N / $made;

my $broken = "$mark-" . int(($N + 1) / 2);
$t->tenant_dbh($broken)->do('CREATE TABLE bench_rollout (x int)');
my ($total) = $catalog->selectrow_array(
    q{SELECT count(*) FROM tenants WHERE status = 'active'});

# --- the unrelated GET alone ------------------------------------------------

one_get() for 1 .. 20;                      # warm
my @alone = map { one_get() } 1 .. $GETS;
printf "migrate: an unrelated GET alone: p50 %.1f ms, p99 %.1f ms "
       . "(%d GETs)\n", pct(0.5, @alone), pct(0.99, @alone), $GETS;

# --- the roll-out, with GETs one after another while it runs ----------------

sub rollout {
    my ($label) = @_;
    my $log = "$ENV{KANBAN_VAR}/rollout-$label.log";
    my $start = time;
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open STDOUT, '>', $log;
        open STDERR, '>&', \*STDOUT;
        exec $ctl, 'migrate';
        exit 127;
    }
    my @ms;
    my $status;
    while (1) {
        if (waitpid($pid, 1) == $pid) {     # WNOHANG
            $status = $? >> 8;
            last;
        }
        push @ms, one_get();
    }
    my $took = time - $start;
    open my $fh, '<', $log;
    my @lines = <$fh>;
    return ($status, $took, \@ms, join('', @lines));
}

my ($status, $took, $ms, $out) = rollout('first');
my $job = $catalog->selectrow_hashref(
    q{SELECT id, state, error, result::text AS result, attempts FROM jobs
       WHERE kind = 'migrate' ORDER BY created_at DESC LIMIT 1});
my $failures = $catalog->selectall_arrayref(
    'SELECT workspace, left(error, 120) FROM job_failures WHERE job_id = ?',
    undef, $job->{id});
printf "migrate: first run over %d workspaces: %.1f s, %.1f workspaces a "
       . "second; kanbanctl exit %d, job %s (%s), result %s\n",
       $total, $took, $total / $took, $status, $job->{state},
       $job->{error} // '', $job->{result};
printf "migrate: failures recorded: %s\n",
       join('; ', map { "$_->[0]: $_->[1]" } @$failures) || 'none';
printf "migrate: an unrelated GET during the roll-out: p50 %.1f ms, "
       . "p99 %.1f ms (%d GETs)\n", pct(0.5, @$ms), pct(0.99, @$ms),
       scalar @$ms;
my ($behind) = $catalog->selectrow_array(
    q{SELECT count(*) FROM tenants WHERE status = 'active'
        AND schema_version < 900});
printf "migrate: behind after the first run: %d (%s expected)\n",
       $behind, $broken;

# mended, run again: the job resumes with the one left
$t->tenant_dbh($broken)->do('DROP TABLE bench_rollout');
($status, $took, $ms, $out) = rollout('second');
$job = $catalog->selectrow_hashref(
    q{SELECT id, state, result::text AS result, attempts FROM jobs
       WHERE kind = 'migrate' ORDER BY created_at DESC LIMIT 1});
printf "migrate: second run (mended): %.1f s; kanbanctl exit %d, job %s at "
       . "attempt %d, result %s\n", $took, $status, $job->{state},
       $job->{attempts}, $job->{result};
($behind) = $catalog->selectrow_array(
    q{SELECT count(*) FROM tenants WHERE status = 'active'
        AND schema_version < 900});
printf "migrate: behind after the second run: %d\n", $behind;

# the databases go with the stack (t/bench/run removes the cluster); the
# catalog rows go now, so that nothing else in this stack walks them
$catalog->do("DELETE FROM tenants WHERE slug LIKE ? || '-%'", undef, $mark);
