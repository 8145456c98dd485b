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
#       of them beside the same load on one, two ways:
#         paced: BENCH_RATE (2000) reads a second in all, from
#           BENCH_PACED_CONNS (100) connections that each wait about
#           conns / rate (50 ms) between reads: at 1,000 workspaces, two
#           reads a second each, a tenth or less of what a quiet box
#           serves one workspace, so the p99 is a read's own rather than
#           a queue's; BENCH_PACED_DURATION (20s); BENCH_PACED_RUNS (1) pairs of
#           runs, one then spread, and the ratio of their medians (on a
#           box shared with other work one run's p99 is noisy);
#         saturated: wrk -t2 -c50 for BENCH_DURATION (10s), the p99 mostly
#           queueing (it tracks 1 / throughput);
#       each with p50, p99, non-2xx, the most connections PostgreSQL held,
#       the backends it started for the workspaces during the run
#       ("opened"), the most memory in use and the load average.
#       Before measuring, every workspace is read until a 3-second spread
#       run opens no more than 1 % of the workspaces' count of backends
#       and adds no more than 1 % to the connections (at most
#       BENCH_WARM_ROUNDS, 20; 3 when the caps cannot hold them all):
#       every pool opened.
#       BENCH_CAP=N[,N...] sets kanban_pg_max_connections (2 workers x N;
#       shipped 32), each in turn on the same workspaces (a new nginx for
#       each), with KANBAN_PG_MAX_CONNECTIONS for PostgreSQL's own to fit
#       the largest. BENCH_CURVE=100,300 measures the first 100 and 300
#       workspaces too (before all of them, on the same warm PostgreSQL).
#       BENCH_PERF=FILE records perf -a -g for 8 s of one more paced spread
#       run (not measured) at the largest count and the first cap. "read"
#       is blocks the workspaces' reads found outside shared buffers,
#       "catalog" the catalog's transactions, "miss" the reads that looked
#       their workspace up themselves (its tenant cache entry expired),
#       "ahead" the entries refreshed in the background. Each spread run
#       follows an unmeasured 3 s spread pass: the run of one workspace
#       before it outlasts the ttl, and would leave the spread run's first
#       read of every workspace waiting for the catalog.
#
# BENCH_TENANT_TTL (10s, the shipped) is the tenant cache's ttl.
# BENCH_SCALE_PARTS (abc) picks the parts: BENCH_SCALE_PARTS=c skips the
# boards and the 100,000-task list. Bulk rows go in by SQL with triggers off
# (session_replication_role): the caches they would drop are empty for a
# new project anyway.

use strict;
use warnings;

use Kanban::Test;
use List::Util qw(max min);
use POSIX ();
use Time::HiRes qw(time sleep);

$Kanban::Test::QUIET = 1;

my $WORKSPACES = $ENV{BENCH_WORKSPACES} // 1000;
my $DURATION = $ENV{BENCH_DURATION} // '10s';
my $PARTS = $ENV{BENCH_SCALE_PARTS} // 'abc';
my $RATE = $ENV{BENCH_RATE} // 2000;
my $PACED_CONNS = $ENV{BENCH_PACED_CONNS} // 100;
my $PACED_DURATION = $ENV{BENCH_PACED_DURATION} // '20s';
my $PACED_RUNS = $ENV{BENCH_PACED_RUNS} // 1;
my $WARM_ROUNDS = $ENV{BENCH_WARM_ROUNDS} // 20;
my @CURVE = grep { $_ < $WORKSPACES } split /,/, $ENV{BENCH_CURVE} // '';

# the shipped cap unless BENCH_CAP is given
my @CAPS = split /,/, $ENV{BENCH_CAP} || 32;

# The shipped tenant cache ttl (10s), not the tests' 1s: a workspace's
# first read after its entry expires looks it up in the catalog and copies
# its plan's limits into its database, which at two reads a second was
# every other read of a workspace and one in 2,000 of the one workspace's.
my $TTL = $ENV{BENCH_TENANT_TTL} // '10s';

# no 429s from the rate limit: every read comes from one address
sub node {
    my ($cap) = @_;
    return Kanban::Test->new(log_level => 'warn', api_rate => '1000000r/s',
                             ttl => $TTL,
                             replace => +{ $ENV{BENCH_CAP}
                                 ? (kanban_pg_max_connections => $cap) : () })
                       ->run;
}

my $t = node($CAPS[0]);
my $slug = $t->signup(prefix => 'scale', name => 'Scale Workspace');

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

my @boards;
print "(a) the board at 50, 500 and 5,000 tasks\n" if $PARTS =~ /a/;
for my $n ($PARTS =~ /a/ ? (50, 500, 5000) : ()) {
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

my @pages;
if ($PARTS =~ /b/) {
    print "(b) the task list with 100,000 tasks in one project\n";
    my $big = project_of('LIST', 100_000);
    my $ids = $dbh->selectcol_arrayref(
        'SELECT id FROM tasks WHERE project_id = ? ORDER BY id', undef,
        $big->{id});
    my $list = "/api/v1/projects/$big->{id}/tasks?limit=100";
    for (['first', undef], ['middle', $ids->[50_000]], ['last', $ids->[-101]]) {
        my ($where, $cursor) = @$_;
        my $path = $list . ($cursor ? "&cursor=$cursor" : '');
        my $items = @{ api(GET => $path)->{json}{items} };
        push @pages, [$where, $items, timed($path)];
    }
    if ($ENV{BENCH_EXPLAIN}) {
        my $plan = $dbh->selectcol_arrayref(
            'EXPLAIN (ANALYZE, BUFFERS) ' . ($ENV{BENCH_EXPLAIN_SQL}
                // 'SELECT t.id FROM tasks t'
                 . ' JOIN columns c ON c.id = t.column_id'
                 . ' WHERE t.project_id = $1 AND t.id > $2'
                 . ' ORDER BY t.id LIMIT 100'),
            undef, $big->{id}, $ids->[-101]);
        print map { "  | $_\n" } @$plan;
    }
}

print "(c) $WORKSPACES workspaces at once\n";
my @slugs = ($slug);
my $t0 = time;
while (@slugs < $WORKSPACES) {
    # four at a time: each is mostly a database copied from the template
    my @batch = map { Kanban::Test::unique_slug('sc') }
                1 .. min(4, $WORKSPACES - @slugs);
    my @conns = map {
        $t->send_req(POST => '/api/v1/tenants', json => {
            slug  => $_,
            name  => "Workspace $_",
            admin => { email => "admin\@$_.example", name => 'Ada Admin',
                       password => 'correct horse battery staple' },
        })
    } @batch;
    Kanban::Test::wait_all(\@conns, 120);
    for my $c (@conns) {
        my $r = $c->response;
        die "sign-up: $r->{status} $r->{body}\n" unless $r->{status} == 201;
    }
    push @slugs, @batch;
}
my $signup_s = time - $t0;

my $pg = $t->stack->dbh('postgres');

# A wrk script reading GET /api/v1/workspace of each host in turn; with
# $delay (ms), each connection waits 0.5-1.5 times that before its next.
sub lua {
    my ($name, $port, $hosts, $delay) = @_;
    my $file = $t->var . "/$name.lua";
    my $text = 'local hosts = {'
        . join(',', map { "\"$_.localhost:$port\"" } @$hosts) . "}\n"
        . <<'EOF';
local i = 0
function request()
    i = i + 1
    wrk.headers["Host"] = hosts[i % #hosts + 1]
    return wrk.format("GET", "/api/v1/workspace")
end
EOF
    $text .= <<"EOF" if $delay;
function delay()
    return math.random(math.floor($delay / 2), math.floor($delay * 3 / 2))
end
EOF
    Kanban::Test::write_file($file, $text);
    return $file;
}

sub wrk {
    my $out = `@{[ join ' ', map { "'$_'" } @_ ]} 2>&1`;
    die "wrk: $out" if $?;
    my %unit = (us => 1e-3, ms => 1, s => 1e3, m => 60e3);
    my %res;
    ($res{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    for my $p (50, 99) {
        my ($v, $u) = $out =~ /^\s+$p%\s+([\d.]+)(us|ms|s|m)\b/m;
        $res{"p$p"} = defined $v ? $v * $unit{$u} : undef;
    }
    ($res{non2xx}) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    $res{non2xx} //= 0;
    my ($errors) = $out =~ /Socket errors:\s+(.*)/;
    $res{errors} = 0;
    $res{errors} += $_ for ($errors // '') =~ /(\d+)/g;
    return \%res;
}

sub loadavg {
    return join ' ', (split ' ', Kanban::Test::read_file('/proc/loadavg'))
                     [0 .. 2];
}

sub mem_used_mb {
    my %m = Kanban::Test::read_file('/proc/meminfo') =~ /^(\w+):\s+(\d+)/mg;
    return ($m{MemTotal} - $m{MemAvailable}) / 1024;
}

# nginx's connections to the workspaces' databases (not ours)
my $NGINX_BACKENDS = q{
    FROM pg_stat_activity
   WHERE backend_type = 'client backend' AND datname LIKE 'kanban\_t\_%'
     AND application_name IS DISTINCT FROM 'kanban-test'};

# the most connections PostgreSQL holds while the load runs, and the most
# memory in use, sampled every 200 ms
my $peak_file = $t->var . '/peak';
sub sampled {
    my (@cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $pg = $t->stack->dbh('postgres');
        my ($peak, $mem) = (0, 0);
        local $SIG{TERM} = sub {
            Kanban::Test::write_file($peak_file, "$peak $mem");
            POSIX::_exit(0);
        };
        while (1) {
            my ($n) = $pg->selectrow_array("SELECT count(*) $NGINX_BACKENDS");
            $peak = $n if $n > $peak;
            $mem = max($mem, mem_used_mb());
            sleep 0.2;
        }
    }
    my @s0 = db_stats();
    my %m0 = tenant_counts();
    my $res = wrk(@cmd);
    sleep 0.5;                          # the sessions counted are flushed
    my @s1 = db_stats();
    my %m1 = tenant_counts();
    $res->{$_} = $m1{$_} - $m0{$_} for keys %m1;
    $res->{opened} = $s1[0] - $s0[0];
    $res->{read} = $s1[1] - $s0[1];
    $res->{hit} = $s1[2] - $s0[2];
    $res->{catalog} = $s1[3] - $s0[3];
    kill 'TERM', $pid;
    waitpid $pid, 0;
    @$res{qw(peak mem)} = split ' ', Kanban::Test::read_file($peak_file);
    $res->{load} = loadavg();
    return $res;
}

# backends PostgreSQL started for the workspaces' databases so far, the
# blocks their reads found outside and inside shared buffers, and the
# catalog's transactions (a workspace looked up afresh: its tenant cache
# entry had expired)
sub db_stats {
    return map { $_ // 0 } $pg->selectrow_array(q{
        SELECT sum(sessions) FILTER (WHERE datname LIKE 'kanban\_t\_%'),
               sum(blks_read) FILTER (WHERE datname LIKE 'kanban\_t\_%'),
               sum(blks_hit) FILTER (WHERE datname LIKE 'kanban\_t\_%'),
               sum(xact_commit) FILTER (WHERE datname = 'kanban_catalog')
          FROM pg_stat_database});
}


# the tenant cache's work: reads that waited for a lookup of their own
# (miss), and entries refreshed ahead of their end in the background
sub tenant_counts {
    return (miss => $t->metric('kanban_tenant_lookups_total',
                               result => 'miss') // 0,
            ahead => $t->metric('kanban_tenant_refreshes_total',
                                result => 'done') // 0);
}

sub sessions { return (db_stats())[0] }

# The workspaces' backends' memory: the sum of their proportional set
# sizes (shared buffers split among the processes that touch them) over
# their count, and their RSS.
sub backend_memory {
    my $pids = $pg->selectcol_arrayref("SELECT pid $NGINX_BACKENDS");
    my ($n, $pss, $rss) = (0, 0, 0);
    for my $pid (@$pids) {
        open my $f, '<', "/proc/$pid/smaps_rollup" or next;
        while (<$f>) {
            $pss += $1 if /^Pss:\s+(\d+)/;
            $rss += $1 if /^Rss:\s+(\d+)/;
        }
        $n++;
    }
    return { n => $n, pss => $pss / 1024, rss => $rss / 1024 };
}

# perf record -a -g of the whole box for 8 s once perf has read every
# process's maps (many seconds with 2,000 backends); FILE.pids
# names this stack's processes (PostgreSQL's, nginx's), for the box may
# run other stacks: perf report --sort pid, then sum by FILE.pids.
sub perf_during {
    my ($file) = @_;
    my ($backend) = $pg->selectrow_array('SELECT pg_backend_pid()');
    my ($pm) = Kanban::Test::read_file("/proc/$backend/status")
        =~ /^PPid:\s+(\d+)/m;
    my @pids = map { "$_ postgres\n" } $pm, split ' ', `ps -o pid= --ppid $pm`;
    push @pids, map { "$_ nginx\n" } $t->pid,
        split ' ', `ps -o pid= --ppid @{[ $t->pid ]}`;
    Kanban::Test::write_file("$file.pids", join '', @pids);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        exec 'perf', 'record', '-a', '-g', '-q', '-o', $file, '--', 'sleep', '8'
            or POSIX::_exit(1);
    }
    return $pid;
}

# Reads every workspace until a round opens few backends and leaves few
# more connections than it found (with caps below n, at most 3 rounds:
# the pools cannot all stay open); returns the rounds, their seconds and
# the backends they opened.
sub warm {
    my ($lua, $url, $n, $cap) = @_;
    my $limit = 2 * $cap < $n ? min(3, $WARM_ROUNDS) : $WARM_ROUNDS;
    my ($rounds, $t0, $s0) = (0, time, sessions());
    while ($rounds < $limit) {
        my ($s, $c) = (sessions(), backends());
        wrk('wrk', '-t2', '-c50', '-d3s', '-s', $lua, $url);
        $rounds++;
        sleep 0.5;                      # the sessions counted are flushed
        last if sessions() - $s <= $n / 100 && backends() - $c <= $n / 100;
    }
    return { rounds => $rounds, s => time - $t0, opened => sessions() - $s0,
             backends => backends() };
}


sub backends {
    my ($n) = $pg->selectrow_array("SELECT count(*) $NGINX_BACKENDS");
    return $n;
}


my (@rows, @ratios, @warms, %mem);


sub ratio {
    my ($cap, $n, $how, $one, $many) = @_;
    return [$cap, $n, $how,
            map { $many->{$_} / ($one->{$_} || 1) } qw(p50 p99)];
}

my $delay = int($PACED_CONNS * 1000 / $RATE);

sub row {
    my ($cap, $n, $how, $who, $res) = @_;
    push @rows, [$cap, $n, $how, $who, $res];
    printf "  %-5s %5d %-9s %-6s %8.0f %8.2f %8.2f %6d %6d %6d %7d %7d"
        . " %7d %6d %6d %6.1f  %s\n", $cap, $n, $how, $who,
        @$res{qw(rps p50 p99 non2xx errors peak opened read catalog miss
                 ahead)},
        $res->{mem} / 1024, $res->{load};
}

print "  cap       n how       who       req/s   p50 ms   p99 ms non2xx"
    . "    err   peak  opened    read catalog   miss  ahead used GB load\n";
for my $cap (@CAPS) {
    $t = node($cap) unless $cap eq $CAPS[0];
    my $port = $t->port;
    my $url = "http://127.0.0.1:$port/api/v1/workspace";
    my $one_paced = lua('one-paced', $port, [$slug], $delay);
    for my $n (@CURVE, $WORKSPACES) {
        my @hosts = @slugs[0 .. $n - 1];
        my $all = lua("all-$n", $port, \@hosts);
        my $all_paced = lua("all-$n-paced", $port, \@hosts, $delay);

        my $w = warm($all, $url, $n, $cap);
        push @warms, [$cap, $n, $w];
        printf "  %-5s %5d warm-up: %d rounds, %.0f s, %d backends opened,"
            . " %d open\n", $cap, $n, @$w{qw(rounds s opened backends)};

        my @paced = ('wrk', '-t2', "-c$PACED_CONNS", "-d$PACED_DURATION",
                     '--latency', '-s');
        # the run of one workspace before a spread run outlasts the
        # tenant cache's ttl: the others' entries have expired, and the
        # spread run's first read of each would wait for the catalog (a
        # workspace coming back, not one in use). Read them all again
        # first, unmeasured, as workspaces active at once are.
        my @again = ('wrk', '-t2', "-c$PACED_CONNS", '-d3s', '-s', $all_paced,
                     $url);
        my (@one, @many);
        for my $run (1 .. $PACED_RUNS) {
            push @one, sampled(@paced, $one_paced, $url);
            row($cap, $n, 'paced', 'one', $one[-1]);
            wrk(@again);
            push @many, sampled(@paced, $all_paced, $url);
            row($cap, $n, 'paced', 'spread', $many[-1]);
            push @ratios, ratio($cap, $n, "paced $run", $one[-1], $many[-1]);
        }
        $mem{"$cap $n"} = backend_memory();
        if ($PACED_RUNS > 1) {
            my %median = map {
                my $k = $_;
                ($k => { one => median(map { $_->{$k} } @one),
                         many => median(map { $_->{$k} } @many) })
            } qw(p50 p99);
            my %one = map { $_ => $median{$_}{one} } qw(p50 p99);
            my %many = map { $_ => $median{$_}{many} } qw(p50 p99);
            push @ratios, ratio($cap, $n, 'paced, medians', \%one, \%many);
        }
        if ($ENV{BENCH_PERF} && $n == $WORKSPACES && $cap eq $CAPS[0]) {
            # the paced spread run again, not measured, under the profiler
            my $perf = perf_during($ENV{BENCH_PERF});
            wrk(@paced[0 .. 1], "-c$PACED_CONNS", '-d40s', '-s', $all_paced,
                $url);
            waitpid $perf, 0;
        }

        my $one = sampled('wrk', '-t2', '-c50', "-d$DURATION", '--latency',
                          '-H', "Host: $slug.localhost:$port", $url);
        row($cap, $n, 'saturated', 'one', $one);
        wrk(@again);
        my $many = sampled('wrk', '-t2', '-c50', "-d$DURATION", '--latency',
                           '-s', $all, $url);
        row($cap, $n, 'saturated', 'spread', $many);
        push @ratios, ratio($cap, $n, 'saturated', $one, $many);
    }
    $t->stop unless $cap eq $CAPS[-1];
}

my ($max_conn) = $pg->selectrow_array('SHOW max_connections');
my ($buffers) = $pg->selectrow_array('SHOW shared_buffers');
my ($db_like) = $dbh->selectrow_array('SELECT current_database()');

printf "\nload average %s\n", loadavg();
if (@boards) {
    print "\n  board        tasks      bytes   built ms    kept ms\n";
    printf "  %-8s %9d %10d %10.1f %10.1f\n", '', @$_ for @boards;
}
if (@pages) {
    print "\n  task list (100,000 tasks, limit=100)   items    ms\n";
    printf "  %-38s %5d %7.1f\n", "page at the $_->[0]", $_->[1], $_->[2]
        for @pages;
}
printf "\n  workspaces: %d (signed up in %.0f s, tenant databases like %s)\n",
    scalar @slugs, $signup_s, $db_like;
printf "  PostgreSQL: max_connections %s, shared_buffers %s; tenant cache"
    . " ttl %s; paced: %d reads a second asked, %d connections, %d ms"
    . " between reads\n", $max_conn, $buffers, $TTL, $RATE, $PACED_CONNS,
    $delay;
print "\n  GET /api/v1/workspace  (cap: kanban_pg_max_connections a worker,"
    . " 2 workers)\n";
print "  cap       n how       who       req/s   p50 ms   p99 ms non2xx"
    . "    err   peak  opened    read catalog   miss  ahead used GB load\n";
for my $row (@rows) {
    my ($cap, $n, $how, $who, $res) = @$row;
    printf "  %-5s %5d %-9s %-6s %8.0f %8.2f %8.2f %6d %6d %6d %7d %7d"
        . " %7d %6d %6d %6.1f  %s\n", $cap, $n, $how, $who,
        @$res{qw(rps p50 p99 non2xx errors peak opened read catalog miss
                 ahead)},
        $res->{mem} / 1024, $res->{load};
}
print "\n  spread / one        p50      p99\n";
printf "  %-5s %5d %-15s %6.2fx %7.2fx\n", @$_ for @ratios;
print "\n  warm-up (3-second spread runs until one opens <= 1 % of n)\n";
printf "  %-5s %5d %3d rounds %5.0f s %7d opened %6d open\n", $_->[0],
    $_->[1], @{ $_->[2] }{qw(rounds s opened backends)} for @warms;
print "\n  workspaces' backends after the paced spread run\n";
for my $k (sort keys %mem) {
    my $m = $mem{$k};
    printf "  %-11s %5d backends, PSS %7.0f MB (%.2f MB each), RSS %.2f MB"
        . " each\n", $k, $m->{n}, $m->{pss}, $m->{pss} / ($m->{n} || 1),
        $m->{rss} / ($m->{n} || 1);
}
print "\n";

my @bad = Kanban::Test::stop_all();
if (@bad) {
    print "the error log has:\n", map { "  $_\n" } @bad;
    exit 1;
}
