#!/usr/bin/perl

# make bench, the event stream: N streams of GET /api/v1/events held on one
# node by t/bench/sse_load.c (one epoll), tasks written at a steady rate
# through the API, each delivery timed from its write's request to the
# client; nginx's workers' RSS before and after the streams open; and the
# p99 of an unrelated GET /api/v1/workspace (wrk, 10 clients) quiet and
# during the load.
#
#   BENCH_SSE_STREAMS=10000 BENCH_SSE_RATE=1000 BENCH_SSE_SECONDS=10

use strict;
use warnings;

use Kanban::Test;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use Time::HiRes qw(sleep);

$Kanban::Test::QUIET = 1;

my @RUNS = map { [ split /x/ ] }
           split /,/, $ENV{BENCH_SSE_RUNS} // '10000x1000,10000x10,1000x1000';
my $SECONDS = $ENV{BENCH_SSE_SECONDS} // 10;

my $root = $Kanban::Test::ROOT;
my $t = Kanban::Test->new(log_level => 'warn',
                          replace => { worker_connections => '16384' },
                          $ENV{BENCH_SSE_TENANT_CONF}
                              ? (tenant => $ENV{BENCH_SSE_TENANT_CONF}) : ())
    ->run;
my $slug = $t->signup(prefix => 'ssebench', name => 'SSE Bench');
my $port = $t->port;
my $host = "$slug.localhost:$port";

my $r = $t->req(POST => '/api/v1/auth/login', host => $slug,
                json => { email => "admin\@$slug.example",
                          password => 'correct horse battery staple' });
die "login: $r->{status} $r->{body}\n" unless $r->{status} == 200;
my $token = $r->{json}{access_token};
$r = $t->req(POST => '/api/v1/projects', host => $slug,
             headers => { Authorization => "Bearer $token" },
             json => { key => 'SSE', name => 'SSE bench' });
die "project: $r->{status} $r->{body}\n" unless $r->{status} == 201;
my $project = $r->{json}{id};

my $client = $t->var . '/sse_load';
system('cc', '-O2', '-o', $client, "$root/t/bench/sse_load.c") == 0
    or die "cannot build t/bench/sse_load.c\n";

my $master = $t->pid;
my @workers = grep {
    (eval { Kanban::Test::read_file("/proc/$_/stat") } // '') =~ /^\d+ \(.*?\) \S (\d+)/
        && $1 == $master
} map { m{/proc/(\d+)$} ? $1 : () } glob '/proc/[0-9]*';
die "no workers of nginx $master\n" unless @workers;

sub wrk_p99 {
    my ($seconds) = @_;
    my $out = `wrk -t1 -c10 -d${seconds}s --latency -H 'Host: $host' http://127.0.0.1:$port/api/v1/workspace 2>&1`;
    my %unit = (us => 1e-3, ms => 1, s => 1e3);
    my ($p99, $u) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s)\b/m;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    return (defined $p99 ? $p99 * $unit{$u} : undef, $rps);
}

my ($quiet_p99, $quiet_rps) = wrk_p99(int($SECONDS / 2) - 1);

my @rows;
for my $run (@RUNS) {
    my ($n, $rate) = @$run;
    print "  $n streams, $rate writes/s ...\n";

    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $client, '-p', $port, '-H', $host,
                    '-t', $token, '-P', $project, '-n', $n, '-r', $rate,
                    '-d', $SECONDS, '-w', $rate >= 100 ? 32 : 4,
                    '-m', join(',', @workers));
    close $in;
    while (my $line = <$err>) {
        last if $line =~ /streams open/;
    }
    # the client settles (2 s), writes alone for half the time, then
    # beside wrk
    sleep 2 + $SECONDS / 2 + 0.3;
    my ($busy_p99, $busy_rps) = wrk_p99(int($SECONDS / 2) - 1);
    my $res = <$out> // '';
    waitpid $pid, 0;
    my %k = $res =~ /(\w+)=([\d.]+)/g;
    $k{dropped} = $t->metric('kanban_events_dropped_total');
    print "    $res";
    push @rows, { n => $n, rate => $rate, %k, busy_p99 => $busy_p99,
                  busy_rps => $busy_rps };
    sleep 2;                            # the streams close
}

print "\nThe event stream (one node, 2 workers; $SECONDS s of writes a run):\n";
printf "  %-24s %10s %6s %9s %9s %9s %11s %11s %8s\n", 'streams x writes/s',
       'deliveries', 'lost', 'p50', 'p99', 'last p50', 'p50 (wrk)',
       'p99 (wrk)', 'KB/str';
for my $x (@rows) {
    printf "  %-24s %10d %6d %7.1fms %7.1fms %7.1fms %9.1fms %9.1fms %8.2f\n",
        sprintf('%d x %d (%.0f)', $x->{n}, $x->{rate},
                ($x->{written} // 0) / $SECONDS),
        $x->{deliveries} // 0,
        ($x->{expected} // 0) - ($x->{deliveries} // 0),
        $x->{p50_ms} // -1, $x->{p99_ms} // -1, $x->{last_p50_ms} // -1,
        $x->{p50b_ms} // -1,
        $x->{p99b_ms} // -1, $x->{kb_per_stream} // -1;
}
print "  (delivery: from the write's request to the client; the first half\n"
    . "  of the writes alone, the second beside wrk's unrelated GETs)\n";
printf "\n  unrelated GET /api/v1/workspace (wrk -c10): quiet p99 %.2f ms (%d/s)\n",
       $quiet_p99 // -1, $quiet_rps // 0;
for my $x (@rows) {
    printf "    during %d x %d: p99 %.2f ms (%d/s), %+.2f ms\n",
        $x->{n}, $x->{rate}, $x->{busy_p99} // -1, $x->{busy_rps} // 0,
        ($x->{busy_p99} // 0) - ($quiet_p99 // 0);
}
for my $x (@rows) {
    printf "  %d x %d: %d writes sent (%d answered 201), %d ms behind schedule "
           . "skipped, streams %d (closed by nginx meanwhile %d; slow "
           . "clients dropped so far %d)\n", $x->{n}, $x->{rate},
           $x->{writes} // 0, $x->{written} // 0, $x->{behind} // 0,
           $x->{streams} // 0, $x->{closed} // 0, $x->{dropped} // 0;
}

$t->stop;
