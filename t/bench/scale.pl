#!/usr/bin/perl

# How cost grows with the work (BENCH_ONLY=scale; t/bench/run starts
# PostgreSQL and Redis as for bench.pl). Not in the timed suite: it loads
# 100,000 tasks and signs up many workspaces.
#
#   (a) the board at 50, 500 and 5,000 tasks: one read built from scratch
#       (nothing kept), and one of the kept board, medians of 5;
#   (b) the task list with 100,000 tasks in one project: pages of 100 at
#       the start, the middle and the end of the cursor's walk, medians
#       of 5 (they should stay flat);
#   (c) BENCH_WORKSPACES (1000) workspaces read at once, each its own
#       database on one PostgreSQL: GET /api/v1/workspace spread over all
#       of them beside the same load on one, the p99 of each, and the most
#       connections PostgreSQL saw (the pools' caps: 2 workers x
#       kanban_pg_max_connections; BENCH_CAP=N sets it, with
#       KANBAN_PG_MAX_CONNECTIONS for PostgreSQL's own, to see the caps
#       fit the workspaces).
#
# Bulk rows go in by SQL with triggers off (session_replication_role):
# the caches they would drop are empty for a new project anyway.

use strict;
use warnings;

use Kanban::Test;
use List::Util qw(max);
use POSIX ();
use Time::HiRes qw(time sleep);

$Kanban::Test::QUIET = 1;

my $WORKSPACES = $ENV{BENCH_WORKSPACES} // 1000;
my $DURATION = $ENV{BENCH_DURATION} // '10s';

my $CAP = $ENV{BENCH_CAP} // 32;
my $t = Kanban::Test->new(log_level => 'warn',
                          replace => +{ $ENV{BENCH_CAP}
                              ? (kanban_pg_max_connections => $CAP) : () })
                    ->run;
my $slug = $t->signup(prefix => 'scale', name => 'Scale Workspace');
my $port = $t->port;

my $r = $t->req(POST => '/api/v1/auth/login', host => $slug,
                json => { email => "admin\@$slug.example",
                          password => 'correct horse battery staple' });
die "login: $r->{status} $r->{body}\n" unless $r->{status} == 200;
my $token = $r->{json}{access_token};

sub api {
    my ($method, $path, %o) = @_;
    my $r = $t->req($method => $path, host => $slug,
                    headers => { Authorization => "Bearer $token" }, %o);
    die "$method $path: $r->{status} $r->{body}\n" unless $r->{status} =~ /^2/;
    return $r;
}

my $dbh = $t->tenant_dbh($slug);

# A project with n tasks over its columns, in one statement.
sub project_of {
    my ($key, $n) = @_;
    my $p = api(POST => '/api/v1/projects',
                json => { key => $key, name => "$n tasks" })->{json};
    $dbh->begin_work;
    $dbh->do("SET LOCAL session_replication_role = replica");
    $dbh->do(q{
        INSERT INTO tasks (project_id, number, title, column_id, rank)
        SELECT $1, i, 'Task ' || i, c.id, lpad(i::text, 8, '0')
          FROM generate_series(1, $2) i
          JOIN LATERAL (SELECT id FROM columns
                         WHERE project_id = $1
                         ORDER BY position OFFSET i % 5 LIMIT 1) c ON true
    }, undef, $p->{id}, $n);
    $dbh->do('UPDATE projects SET next_task_number = ? WHERE id = ?', undef,
             $n + 1, $p->{id});
    $dbh->commit;
    $dbh->do('ANALYZE tasks');
    return $p;
}

sub median { my @v = sort { $a <=> $b } @_; $v[$#v / 2] }

sub timed {
    my ($path, $before) = @_;
    my @ms;
    for (1 .. 5) {
        $before->() if $before;
        my $t0 = time;
        my $r = api(GET => $path);
        push @ms, (time - $t0) * 1000;
    }
    return median(@ms);
}

print "(a) the board at 50, 500 and 5,000 tasks\n";
my @boards;
for my $n (50, 500, 5000) {
    my $p = project_of("B$n", $n);
    my $path = "/api/v1/projects/$p->{id}/kanban";
    my $bytes = length api(GET => $path)->{body};
    my $built = timed($path, sub {
        $dbh->do('DELETE FROM board_cache WHERE project_id = ?', undef,
                 $p->{id});
    });
    api(GET => $path);
    my $kept = timed($path);
    push @boards, [$n, $bytes, $built, $kept];
}

print "(b) the task list with 100,000 tasks in one project\n";
my $big = project_of('LIST', 100_000);
my $ids = $dbh->selectcol_arrayref(
    'SELECT id FROM tasks WHERE project_id = ? ORDER BY id', undef, $big->{id});
my $list = "/api/v1/projects/$big->{id}/tasks?limit=100";
my @pages;
for (['first', undef], ['middle', $ids->[50_000]], ['last', $ids->[-101]]) {
    my ($where, $cursor) = @$_;
    my $path = $list . ($cursor ? "&cursor=$cursor" : '');
    my $items = @{ api(GET => $path)->{json}{items} };
    push @pages, [$where, $items, timed($path)];
}
if ($ENV{BENCH_EXPLAIN}) {
    my $plan = $dbh->selectcol_arrayref(
        'EXPLAIN (ANALYZE, BUFFERS) ' . ($ENV{BENCH_EXPLAIN_SQL}
            // 'SELECT t.id FROM tasks t JOIN columns c ON c.id = t.column_id'
             . ' WHERE t.project_id = $1 AND t.id > $2 ORDER BY t.id LIMIT 100'),
        undef, $big->{id}, $ids->[-101]);
    print map { "  | $_\n" } @$plan;
}

print "(c) $WORKSPACES workspaces at once\n";
my @slugs = ($slug);
my $t0 = time;
push @slugs, $t->signup(prefix => 'sc') while @slugs < $WORKSPACES;
my $signup_s = time - $t0;

my $lua = $t->var . '/hosts.lua';
Kanban::Test::write_file($lua, 'local hosts = {'
    . join(',', map { "\"$_.localhost:$port\"" } @slugs) . "}\n" . <<'EOF');
local i = 0
function request()
    i = i + 1
    wrk.headers["Host"] = hosts[i % #hosts + 1]
    return wrk.format("GET", "/api/v1/workspace")
end
EOF

sub wrk {
    my $out = `@{[ join ' ', map { "'$_'" } @_ ]} 2>&1`;
    die "wrk: $out" if $?;
    my %unit = (us => 1e-3, ms => 1, s => 1e3, m => 60e3);
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $u) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m;
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    return { rps => $rps, p99 => defined $p99 ? $p99 * $unit{$u} : undef,
             non2xx => $non2xx // 0 };
}

# the most connections PostgreSQL holds while the load runs, sampled
my $peak_file = $t->var . '/peak';
sub sampled {
    my (@cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $pg = $t->stack->dbh('postgres');
        my $peak = 0;
        local $SIG{TERM} = sub {
            Kanban::Test::write_file($peak_file, $peak);
            POSIX::_exit(0);
        };
        while (1) {
            my ($n) = $pg->selectrow_array(q{
                SELECT count(*) FROM pg_stat_activity
                 WHERE backend_type = 'client backend'
                   AND datname LIKE 'kanban\_t\_%'});
            $peak = $n if $n > $peak;
            sleep 0.2;
        }
    }
    my $res = wrk(@cmd);
    kill 'TERM', $pid;
    waitpid $pid, 0;
    $res->{peak} = Kanban::Test::read_file($peak_file);
    return $res;
}

my @one = ('wrk', '-t2', '-c50', "-d$DURATION", '--latency',
           '-H', "Host: $slug.localhost:$port",
           "http://127.0.0.1:$port/api/v1/workspace");
my @all = ('wrk', '-t2', '-c50', "-d$DURATION", '--latency', '-s', $lua,
           "http://127.0.0.1:$port/api/v1/workspace");
# backends PostgreSQL started for the workspaces' databases so far
sub sessions {
    my ($n) = $t->stack->dbh('postgres')->selectrow_array(q{
        SELECT sum(sessions) FROM pg_stat_database
         WHERE datname LIKE 'kanban\_t\_%'});
    return $n // 0;
}

wrk(@all[0 .. 3], '-d3s', @all[5 .. $#all]);       # every pool opened once
my $s0 = sessions();
my $one = sampled(@one);
my $s1 = sessions();
my $many = sampled(@all);
$one->{opened} = $s1 - $s0;
$many->{opened} = sessions() - $s1;

my ($max_conn) = $t->stack->dbh('postgres')->selectrow_array(
    'SHOW max_connections');
my ($db_like) = $dbh->selectrow_array('SELECT current_database()');

printf "\nload average %s\n",
    join ' ', (split ' ', Kanban::Test::read_file('/proc/loadavg'))[0 .. 2];
print "\n  board        tasks      bytes   built ms    kept ms\n";
printf "  %-8s %9d %10d %10.1f %10.1f\n", '', @$_ for @boards;
print "\n  task list (100,000 tasks, limit=100)   items    ms\n";
printf "  %-38s %5d %7.1f\n", "page at the $_->[0]", $_->[1], $_->[2]
    for @pages;
printf "\n  workspaces: %d (signed up in %.0f s, tenant databases like %s)\n",
    scalar @slugs, $signup_s, $db_like;
printf "  %-34s %8s %9s %7s %12s %8s\n", 'GET /api/v1/workspace, -c50', 'req/s',
    'p99 ms', 'non2xx', 'peak conns', 'opened';
printf "  %-34s %8.0f %9.2f %7d %12d %8d\n", 'one workspace',
    @$one{qw(rps p99 non2xx peak opened)};
printf "  %-34s %8.0f %9.2f %7d %12d %8d\n", "spread over $WORKSPACES",
    @$many{qw(rps p99 non2xx peak opened)};
printf "  %-34s %8s %9.2fx\n", 'p99 spread / one', '',
    $many->{p99} / ($one->{p99} || 1);
printf "  %-34s %8s %9s %7s %12s\n", "the caps (2 workers x $CAP; PostgreSQL)",
    '', '', '', 2 * $CAP . "; $max_conn";
print "\n";

my @bad = Kanban::Test::stop_all();
if (@bad) {
    print "the error log has:\n", map { "  $_\n" } @bad;
    exit 1;
}
