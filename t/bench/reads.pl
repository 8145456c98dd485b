#!/usr/bin/perl

# The hot reads, each beside what bounds it, in one run (BENCH_ONLY=reads;
# t/bench/run starts PostgreSQL and Redis as for bench.pl):
#
#   GET /api/v1/workspace, /api/v1/projects   beside nginx returning the bytes
#                                             (the list: 22 projects, 20 of
#                                             them with budgets and time)
#   GET /api/v1/tasks/{id}                    beside nginx returning the bytes
#                                             and pgbench -S, same clients
#   the board of 50 and of 500 tasks          beside nginx serving the file
#   GET /s/{code}                             beside nginx's return 302,
#                                             and the visits counted
#
# The task read is a task with subtasks, assignees, labels, comments and
# custom field values. Every pair is measured BENCH_RUNS times (3) one
# after the other and the median kept, so that a neighbour's load falls on
# both sides of a ratio; the load average is printed beside the table,
# and under each read the share of its answers that were a copy of an
# identical read's rows ("joined": one statement answered them all).

use strict;
use warnings;

use Kanban::Test;
use List::Util qw(sum);
use POSIX ();
use Time::HiRes qw(sleep);

$Kanban::Test::QUIET = 1;

my $DURATION = $ENV{BENCH_DURATION} // '10s';
my $RUNS = $ENV{BENCH_RUNS} // 3;
my $CLIENTS = $ENV{BENCH_CLIENTS} // 50;
my @WRK = ('wrk', '-t2', "-c$CLIENTS", "-d$DURATION", '--latency');

my $setup = Kanban::Test->new(log_level => 'warn')->run;
my $slug = $setup->signup(prefix => 'reads', name => 'Reads Workspace');

sub api {
    my ($t, $method, $path, $token, %o) = @_;
    my $r = $t->req($method => $path, host => $slug,
                    headers => { Authorization => "Bearer $token" }, %o);
    die "$method $path: $r->{status} $r->{body}\n" unless $r->{status} =~ /^2/;
    return $r;
}

sub admin_token {
    my ($t) = @_;
    my $r = $t->req(POST => '/api/v1/auth/login', host => $slug,
                    json => { email => "admin\@$slug.example",
                              password => 'correct horse battery staple' });
    die "login: $r->{status} $r->{body}\n" unless $r->{status} == 200;
    return $r->{json};
}

my $login = admin_token($setup);
my $token = $login->{access_token};
my $me = api($setup, GET => '/api/v1/auth/me', $token)->{json};

sub board_of {
    my ($key, $n) = @_;
    my $p = api($setup, POST => '/api/v1/projects', $token,
                json => { key => $key, name => "Board of $n" })->{json};
    my @columns = map { $_->{id} } @{ api($setup, GET =>
        "/api/v1/projects/$p->{id}/kanban", $token)->{json}{columns} };
    my @tasks = map {
        api($setup, POST => "/api/v1/projects/$p->{id}/tasks", $token,
            json => { title => sprintf('Bench task %03d', $_),
                      column_id => $columns[$_ % @columns],
                      labels => ['bench'] })->{json}{id}
    } 0 .. $n - 1;
    return ($p, \@tasks);
}

my ($p50, $tasks50) = board_of('RDA', 50);
my ($p500) = board_of('RDB', 500);

# BENCH_BUDGETED=N (20) more projects in the list, each with a budget in
# hours and money and BENCH_BUDGET_ENTRIES (25) billable time entries at
# the default rate: what the list's budget figures would sum per project
api($setup, POST => '/api/v1/billing/rates', $token,
    json => { hourly_rate => 80, effective_from => '2026-01-01' });
for my $n (1 .. $ENV{BENCH_BUDGETED} // 20) {
    my $p = api($setup, POST => '/api/v1/projects', $token,
                json => { key => sprintf('BG%02d', $n),
                          name => "Budgeted $n" })->{json};
    api($setup, PUT => "/api/v1/projects/$p->{id}/budget", $token,
        json => { hours => 100, amount => 10000 });
    for my $d (1 .. $ENV{BENCH_BUDGET_ENTRIES} // 25) {
        api($setup, POST => '/api/v1/timesheets/entries', $token,
            json => { project_id => $p->{id}, minutes => 30,
                      date => sprintf('2026-01-%02d', $d), billable => \1 });
    }
}

# the task a card opens: subtasks, an assignee, labels, comments, a
# custom field's value
my $field = api($setup, POST => '/api/v1/custom-fields', $token,
                json => { name => 'Points', type => 'number',
                          project_id => $p50->{id} })->{json}{id};
my $tid = $tasks50->[0];
api($setup, PATCH => "/api/v1/tasks/$tid", $token,
    json => { assignee_ids => [$me->{id}], labels => ['api', 'perf'],
              custom_fields => { $field => 8 },
              description => 'The task every card opens.' });
for (1 .. 3) {
    api($setup, POST => "/api/v1/projects/$p50->{id}/tasks", $token,
        json => { title => "Subtask $_", parent_id => $tid });
    api($setup, POST => "/api/v1/tasks/$tid/comments", $token,
        json => { body => "Comment $_" });
}

my $target = 'https://example.com/bench/target?from=kanban';
my $link = api($setup, POST => '/api/v1/share-links', $token,
               json => { url => $target })->{json};

my %path = (
    workspace => '/api/v1/workspace',
    projects  => '/api/v1/projects',
    task      => "/api/v1/tasks/$tid",
    board50   => "/api/v1/projects/$p50->{id}/kanban",
    board500  => "/api/v1/projects/$p500->{id}/kanban",
);
my %body = map { $_ => api($setup, GET => $path{$_}, $token)->{body} }
           keys %path;
$setup->stop;

for (qw(workspace task)) {
    die "cannot quote the $_ body for nginx\n" if $body{$_} =~ /['\$\\]/;
}

# The redirects are counted in an access log; nginx's return 302 writes
# its line to it too, as it would in any server that logs (the visits
# count only /s/ lines). BENCH_REDIRECT_LOG=api: the redirect's alone, as
# before 2026-12-06 21:40.
my $nginx_302_logged = ($ENV{BENCH_REDIRECT_LOG} // '') eq 'api'
                       ? '' : '/bench/redirect 1;';

# BENCH_POOL=N: kanban_pg_pool_size N instead of the shipped one
my $t = Kanban::Test->new(log_level => 'warn', share_rate => '1000000r/s',
                          share_burst => 1000000,
                          replace => +{ $ENV{BENCH_POOL}
                              ? (kanban_pg_pool_size => $ENV{BENCH_POOL})
                              : () },
                          http => <<"EOF_HTTP",
map \$uri \$kanban_bench_share { ~^/s/ 1; $nginx_302_logged default 0; }
EOF_HTTP
                          tenant => <<"EOF_CONF");
access_log \@VAR\@/log/share-visits.log combined buffer=256k flush=1s
           if=\$kanban_bench_share;
location = /bench/redirect {
    add_header Cache-Control "private, no-store";
    return 302 '$target';
}
location = /bench/workspace {
    default_type application/json;
    return 200 '$body{workspace}';
}
location = /bench/projects {
    default_type application/json;
    alias \@VAR\@/projects.json;
}
location = /bench/task {
    default_type application/json;
    return 200 '$body{task}';
}
location = /bench/board50 {
    default_type application/json;
    alias \@VAR\@/board50.json;
}
location = /bench/board500 {
    default_type application/json;
    alias \@VAR\@/board500.json;
}
EOF_CONF
Kanban::Test::write_file($t->var . "/$_.json", $body{$_})
    for qw(board50 board500 projects);
$t->run;
$token = admin_token($t)->{access_token};

my $port = $t->port;
my $base = "http://127.0.0.1:$port";
my @host = ('-H', "Host: $slug.localhost:$port");
my @auth = ('-H', "Authorization: Bearer $token");

for my $name (keys %path) {
    for my $path ($path{$name}, "/bench/$name") {
        my $r = $t->req(GET => $path, host => $slug,
                        headers => { Authorization => "Bearer $token" });
        die "GET $path: $r->{status} $r->{body}\n" unless $r->{status} == 200;
        die "GET $path answers other bytes than the API did\n"
            unless $r->{body} eq $body{$name};
    }
}

sub quote { map { "'$_'" } @_ }

sub wrk {
    my $out = `@{[ join ' ', quote(@_) ]} 2>&1`;
    die "wrk: $out" if $?;
    my %unit = (us => 1e-3, ms => 1, s => 1e3, m => 60e3);
    my %r = (non2xx => 0, errors => 0);
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $u) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m;
    $r{p99} = defined $p99 ? $p99 * $unit{$u} : undef;
    ($r{requests}) = $out =~ /(\d+) requests in/;
    ($r{non2xx}) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/ or $r{non2xx} = 0;
    if ($out =~ /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/) {
        $r{errors} = $1 + $2 + $3 + $4;
    }
    return \%r;
}

sub seconds {
    my ($d) = @_;
    my ($n, $u) = $d =~ /^(\d+)(s|m|h)?$/ or die "BENCH_DURATION $d?\n";
    return $n * { s => 1, m => 60, h => 3600 }->{ $u // 's' };
}

# pgbench -S (one primary-key SELECT a transaction) with the clients wrk
# uses, on a scratch database of the same PostgreSQL
my $scratch = "kanban_pgbench_$$";
my $pg = $t->stack->dbh('postgres');
$pg->{PrintWarn} = 0;
$pg->do(qq{DROP DATABASE IF EXISTS "$scratch"});
$pg->do(qq{CREATE DATABASE "$scratch"});
my @pgconn = ('-h', $t->stack->run, '-p', $t->stack->pg_port, '-U', 'postgres');
my $init = `@{[ join ' ', quote('pgbench', '-i', '-s', '1', @pgconn, $scratch) ]} 2>&1`;
die "pgbench -i: $init" if $?;

sub pgbench_select {
    my $out = `@{[ join ' ', quote('pgbench', '-S', '-M', 'prepared',
                                   '-c', $CLIENTS, '-j', '2',
                                   '-T', seconds($DURATION), @pgconn,
                                   $scratch) ]} 2>&1`;
    die "pgbench: $out" if $?;
    my ($tps) = $out =~ /tps = ([\d.]+) \(without initial connection time\)/;
    my ($lat) = $out =~ /latency average = ([\d.]+) ms/;
    die "no tps in pgbench's output: $out" unless defined $tps;
    return { rps => $tps, p99 => undef, avg => $lat, non2xx => 0, errors => 0 };
}

# a statement alone, as the handler sends it, with the clients wrk uses:
# what PostgreSQL itself can answer, without HTTP, JWT or JSON in nginx
my $tenant_db = $t->db_name($slug);

sub pgbench_sql {
    my ($sql) = @_;
    $sql =~ s/\@TASK\@/$tid/g;            # in BENCH_SQL_TASK and the like
    $sql =~ s/\@PROJECT\@/$p50->{id}/g;
    my $file = $t->var . '/statement.sql';
    Kanban::Test::write_file($file, "$sql;\n");
    my $out = `@{[ join ' ', quote('pgbench', '-n', '-M', 'prepared',
                                   '-f', $file, '-c', $CLIENTS, '-j', '2',
                                   '-T', seconds($DURATION), @pgconn,
                                   $tenant_db) ]} 2>&1`;
    die "pgbench: $out" if $?;
    my ($tps) = $out =~ /tps = ([\d.]+) \(without initial connection time\)/;
    die "no tps in pgbench's output: $out" unless defined $tps;
    return { rps => $tps, p99 => undef, non2xx => 0, errors => 0 };
}

# The statement a handler sends, read from its C source (so that the bench
# measures what the API runs, not a copy that drifted from it: the
# projects' was a from-scratch build of every document, 8 times slower
# than the handler's read of the kept ones), its parameters $1... given as
# literals (NULL for a query parameter not sent). pgbench's -D has no
# NULL, so the values are in the text: like the handler's first five
# executions, custom plans with the values folded in.
sub handler_sql {
    my ($file, $name, @values) = @_;
    my $src = Kanban::Test::read_file("$Kanban::Test::ROOT/$file");
    my ($literals) = $src =~ /_stmt\(\s*"\Q$name\E",\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)/
        or die "no statement \"$name\" in $file\n";
    my $sql = join '', $literals =~ /"((?:[^"\\]|\\.)*)"/g;
    $sql =~ s/\$(\d+)/$1 <= @values ? $values[$1 - 1] : die "\$$1 of $name?\n"/ge;
    return $sql;
}

my $visits_of = sub {
    my ($n) = $t->tenant_dbh($slug)->selectrow_array(
        'SELECT visits FROM share_links WHERE id = ?', undef, $link->{id});
    return $n;
};

print "warming up\n";
wrk('wrk', '-t2', "-c$CLIENTS", '-d3s', @host, @auth, "$base$path{task}");

# name => a measurement; each pair runs back to back, RUNS times
my @pairs = (
    [workspace => ['nginx', "$base/bench/workspace"],
                  ['api', "$base$path{workspace}", @auth],
                  ['sql', handler_sql('modules/tenant/ngx_kanban_workspace.c',
                                      'workspace_get', "'$slug'")]],
    [projects  => ['nginx', "$base/bench/projects"],
                  ['api', "$base$path{projects}", @auth],
                  ['sql', $ENV{BENCH_SQL_PROJECTS}
                          // handler_sql('modules/kanban/ngx_kanban_projects.c',
                                         'projects_list', ('NULL') x 4,
                                         "'$me->{id}'", "'admin'")]],
    [task      => ['nginx', "$base/bench/task"],
                  ['api', "$base$path{task}", @auth],
                  ['pgbench'],
                  ['sql', $ENV{BENCH_SQL_TASK}
                          // handler_sql('modules/kanban/ngx_kanban_tasks.c',
                                         'tasks_get', "'$tid'")]],
    [board50   => ['nginx', "$base/bench/board50"],
                  ['api', "$base$path{board50}", @auth],
                  ['sql', handler_sql('modules/kanban/ngx_kanban_projects.c',
                                      'projects_kanban', "'$p50->{id}'")]],
    [board500  => ['nginx', "$base/bench/board500"],
                  ['api', "$base$path{board500}", @auth]],
    [redirect  => ['nginx', "$base/bench/redirect"],
                  ['api', "$base/s/$link->{code}"]],
);

my (%runs, @load, $visits_before);
$visits_before = $visits_of->();
my $only = $ENV{BENCH_READS} ? qr/^(?:$ENV{BENCH_READS})$/ : qr/./;

# BENCH_PROFILE=DIR: perf (cpu-clock) samples nginx's workers during the
# first run of each API side; DIR gets each report, symbols by self time
my $profile = $ENV{BENCH_PROFILE};

sub workers {
    my $master = $t->pid;
    return grep { (Kanban::Test::read_file("/proc/$_/stat") =~ /\) \S+ (\d+)/)[0]
                  == $master } map { m{/proc/(\d+)/} } glob '/proc/[0-9]*/stat';
}

sub profiled {
    my ($name, @cmd) = @_;
    my $data = "$profile/$name.data";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        { exec 'perf', 'record', '-q', '-F', '999', '-g', '-o', $data,
             $ENV{BENCH_PROFILE_ALL} ? '-a' : ('-p', join(',', workers())) };
        POSIX::_exit(127);
    }
    sleep 0.5;
    my $r = wrk(@cmd);
    kill 'INT', $pid;
    waitpid $pid, 0;
    system("perf report -i '$data' --no-children -g none --sort comm,dso "
           . "--stdio 2>/dev/null | grep '%' | head -30 > '$profile/$name.comm'");
    system("perf report -i '$data' --no-children -g none --sort dso,symbol "
           . "--stdio 2>/dev/null | grep -v '^\$' | grep '%' "
           . "| head -60 > '$profile/$name.txt'");
    return $r;
}

# reads answered with another identical read's rows (ngx_kanban_pg_share.c)
sub shared_reads { $t->metric('kanban_pg_shared_reads_total') // 0 }

for my $run (1 .. $RUNS) {
    for my $pair (@pairs) {
        my ($name, @sides) = @$pair;
        next unless $name =~ $only;
        for my $side (@sides) {
            my ($what, $url, @h) = @$side;
            my $shared = $what eq 'api' ? shared_reads() : undef;
            push @{ $runs{$name}{$what} }, $what eq 'pgbench'
                ? pgbench_select()
                : $what eq 'sql' ? pgbench_sql($url)
                : $profile && $run == 1 && $what eq 'api'
                ? profiled($name, @WRK, @host, @h, $url)
                : wrk(@WRK, @host, @h, $url);
            $runs{$name}{$what}[-1]{shared} = shared_reads() - $shared
                if defined $shared;
        }
    }
    push @load, (split ' ', Kanban::Test::read_file('/proc/loadavg'))[0];
    print "run $run done, load average $load[-1]\n";
}

sleep 3;                # the workers' last batches of visits
my $visits_counted = $visits_of->() - $visits_before;
my $served = () = Kanban::Test::read_file($t->var . '/log/share-visits.log')
                  =~ m{"GET /s/\Q$link->{code}\E HTTP/1\.1" 302 }g;
$pg->do(qq{DROP DATABASE "$scratch"});

sub median {
    my @v = sort { $a <=> $b } grep { defined } @_;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# a side's median req/s and p99, and its failures over all runs
sub summary {
    my ($list) = @_;
    return { rps => median(map { $_->{rps} } @$list),
             p99 => median(map { $_->{p99} } @$list),
             bad => sum(map { $_->{non2xx} + $_->{errors} } @$list) };
}

printf "\nwrk -t2 -c%d -d%s, pgbench -S -c%d -j2; median of %d runs; "
       . "load average %s\n\n", $CLIENTS, $DURATION, $CLIENTS, $RUNS,
       join(' ', @load);
printf "  %-12s %10s %10s %10s %10s %8s %8s %6s %10s\n", '', 'api req/s',
       'nginx', 'api / ng', 'pgbench', 'api / pg', 'p99 ms', 'bad',
       'sql alone';
for my $pair (@pairs) {
    my $name = $pair->[0];
    next unless $runs{$name};
    my $api = summary($runs{$name}{api});
    my $ng = summary($runs{$name}{nginx});
    my $pgb = $runs{$name}{pgbench} ? summary($runs{$name}{pgbench}) : undef;
    my $sql = $runs{$name}{sql} ? summary($runs{$name}{sql}) : undef;
    printf "  %-12s %10.0f %10.0f %10.2f %10s %8s %8.2f %6d %10s\n", $name,
        $api->{rps}, $ng->{rps}, $api->{rps} / ($ng->{rps} || 1),
        $pgb ? sprintf('%.0f', $pgb->{rps}) : '',
        $pgb ? sprintf('%.2f', $api->{rps} / ($pgb->{rps} || 1)) : '',
        $api->{p99} // 0, $api->{bad} + $ng->{bad},
        $sql ? sprintf('%.0f', $sql->{rps}) : '';
    printf "  %-12s %s\n", '  joined',
        join(' ', map { sprintf '%.0f%%', 100 * ($_->{shared} // 0)
                                          / ($_->{requests} || 1) }
                  @{ $runs{$name}{api} });
    printf "  %-12s %s\n", '  each run',
        join(' ', map { sprintf '%.2f', $runs{$name}{api}[$_]{rps}
                                        / ($runs{$name}{nginx}[$_]{rps} || 1) }
                  0 .. $#{ $runs{$name}{api} });
}
if ($runs{redirect}) {
    printf "\n  redirects served (nginx's log) %d, visits counted %d\n",
        $served, $visits_counted;
}
printf "  bytes: %s\n", join ', ', map { "$_ " . length $body{$_} }
                                   sort keys %body;
print "\n";

my @bad = Kanban::Test::stop_all();
if (@bad) {
    print "the error log has:\n", map { "  $_\n" } @bad;
    exit 1;
}
if ($runs{redirect} && $served != $visits_counted) {
    print "visits counted ($visits_counted) differ from redirects served "
          . "($served)\n";
    exit 1;
}
