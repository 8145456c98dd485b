#!/usr/bin/perl

# The benchmark behind `make bench` (t/bench/run starts PostgreSQL and Redis
# and hands them over as t/run does): nginx with the module on its own port,
# measured with wrk.
#
#  (a) GET /api/v1/workspace, which asks the workspace's database, against a
#      location returning the same bytes from nginx's memory;
#  (b) the same workspace request while another workspace's settings table
#      is locked and 100 requests to that workspace are kept in flight:
#      a worker that blocked would show it in this request's p99;
#  (c) sign-ins per second with 50 clients, beside the bound the password
#      hash sets (cores / one sign-in's time), and the p99 of the workspace
#      request with and without 50 sign-ins in flight: argon2id runs in
#      the thread pool, so it must not hold the workers;
#  (d) the Kanban core: a board of 50 tasks in 5 columns and one task, each
#      beside nginx serving the same bytes itself (the board from a file:
#      it is longer than a configuration token may be), and task moves per
#      second with 20 clients beside pgbench's TPC-B-like rate on the same
#      PostgreSQL;
#  (e) the share-link redirect, GET /s/{code}, beside nginx's own return 302
#      to the same URL, and the visits PostgreSQL has counted afterwards
#      beside the redirects wrk saw.

use strict;
use warnings;

use Kanban::Test;
use POSIX ();
use Time::HiRes qw(sleep);

$Kanban::Test::QUIET = 1;

my $DURATION = $ENV{BENCH_DURATION} // '10s';
my @WRK = ('wrk', '-t2', '-c50', "-d$DURATION", '--latency');

# A first nginx to sign up the workspaces and learn the answer's bytes.
my $setup = Kanban::Test->new(log_level => 'warn')->run;
my $fast = $setup->signup(prefix => 'bench', name => 'Bench Workspace');
my $slow = $setup->signup(prefix => 'locked', name => 'Locked Workspace');
my $body = $setup->req(GET => '/api/v1/workspace', host => $fast)->{body};

# (d)'s data, through the API as the workspace's admin: a project, 50 tasks
# over its 5 columns; the board's and one task's bytes.
sub api {
    my ($t, $method, $path, $token, %o) = @_;
    my $r = $t->req($method => $path, host => $fast,
                    headers => { Authorization => "Bearer $token" }, %o);
    die "$method $path: $r->{status} $r->{body}\n" unless $r->{status} =~ /^2/;
    return $r;
}

sub admin_token {
    my ($t) = @_;
    my $r = $t->req(POST => '/api/v1/auth/login', host => $fast,
                    json => { email => "admin\@$fast.example",
                              password => 'correct horse battery staple' });
    die "login: $r->{status} $r->{body}\n" unless $r->{status} == 200;
    return $r->{json}{access_token};
}

my $token = admin_token($setup);
my $project = api($setup, POST => '/api/v1/projects', $token,
                  json => { key => 'BENCH', name => 'Bench Board' })->{json};
my @columns = map { $_->{id} } @{ api($setup, GET =>
    "/api/v1/projects/$project->{id}/kanban", $token)->{json}{columns} };
die "the board has @{[ scalar @columns ]} columns, not 5\n" unless @columns == 5;
my @tasks = map {
    api($setup, POST => "/api/v1/projects/$project->{id}/tasks", $token,
        json => { title => sprintf('Bench task %02d', $_),
                  column_id => $columns[$_ % 5] })->{json}{id}
} 0 .. 49;
my $board_path = "/api/v1/projects/$project->{id}/kanban";
my $task_path = "/api/v1/tasks/$tasks[0]";
my $board = api($setup, GET => $board_path, $token)->{body};
my $task = api($setup, GET => $task_path, $token)->{body};
my $target = 'https://example.com/bench/target?from=kanban';
my $link = api($setup, POST => '/api/v1/share-links', $token,
               json => { url => $target })->{json};
$setup->stop;

die "the workspace answers nothing to copy\n" unless length $body;
for ($body, $task) {
    die "cannot quote this body for nginx: $_\n" if /['\$\\]/;
}
my $on_board = 0;
$on_board += @{ $_->{tasks} }
    for @{ $Kanban::Test::JSON->decode($board)->{columns} };
die "the board shows $on_board tasks, not 50\n" unless $on_board == 50;

# nginx's own count of the redirects it served, to hold the visits
# PostgreSQL counted against (wrk misses the answers in flight at its end)
my $t = Kanban::Test->new(log_level => 'warn', share_rate => '1000000r/s',
                          share_burst => 1000000, http => <<'EOF_HTTP',
map $uri $kanban_bench_share { ~^/s/ 1; default 0; }
EOF_HTTP
                          tenant => <<"EOF_CONF");
access_log \@VAR\@/log/share-visits.log combined buffer=256k flush=1s
           if=\$kanban_bench_share;
location = /bench/redirect {
    add_header Cache-Control "private, no-store";
    return 302 '$target';
}
location = /bench/static {
    default_type application/json;
    return 200 '$body';
}
location = /bench/task {
    default_type application/json;
    return 200 '$task';
}
location = /bench/board {
    default_type application/json;
    alias \@VAR\@/bench-board.json;
}
EOF_CONF
Kanban::Test::write_file($t->var . '/bench-board.json', $board);
$t->run;
$token = admin_token($t);

my $port = $t->port;
my $base = "http://127.0.0.1:$port";
my %host = map { $_ => "Host: $_.localhost:$port" } $fast, $slow;

for (['/api/v1/workspace', $body], ['/bench/static', $body],
     [$board_path, $board], ['/bench/board', $board],
     [$task_path, $task], ['/bench/task', $task])
{
    my ($path, $want) = @$_;
    my $r = $t->req(GET => $path, host => $fast,
                    headers => { Authorization => "Bearer $token" });
    die "GET $path: $r->{status} $r->{body}\n" unless $r->{status} == 200;
    die "GET $path answers other bytes: $r->{body}\n" unless $r->{body} eq $want;
}

sub wrk {
    my (@args) = @_;
    my $out = `@args 2>&1`;
    die "wrk: $out" if $?;
    return parse($out);
}

sub parse {
    my ($out) = @_;
    my %unit = (us => 1e-3, ms => 1, s => 1e3, m => 60e3);
    my %r = (out => $out, non2xx => 0, errors => 0);
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

sub quote { map { "'$_'" } @_ }

print "warming up\n";
wrk(quote('wrk', '-t2', '-c50', '-d3s', '-H', $host{$fast},
          "$base/api/v1/workspace"));

print "(a) workspace vs static, wrk -t2 -c50 -d$DURATION\n";
my $static = wrk(quote(@WRK, '-H', $host{$fast}, "$base/bench/static"));
my $api = wrk(quote(@WRK, '-H', $host{$fast}, "$base/api/v1/workspace"));

print "(b) workspace while another workspace's queries wait on a lock\n";
my $idle = wrk(quote(@WRK, '-H', $host{$fast}, "$base/api/v1/workspace"));

my $lock = $t->tenant_dbh($slow);
$lock->begin_work;
$lock->do('LOCK TABLE workspace_kept IN ACCESS EXCLUSIVE MODE');   # the workspace read's (098)

# 100 connections asking the locked workspace, for longer than the measure;
# a long timeout keeps them waiting rather than counted and dropped.
my $blocked_out = "$t->{var}/wrk-blocked.txt";
my ($secs) = $DURATION =~ /(\d+)/;
my $blocked_pid = fork // die "fork: $!";
if ($blocked_pid == 0) {
    my $cmd = join(' ', quote('wrk', '-t1', '-c100', '-d' . ($secs + 6) . 's',
                              '--timeout', '60s', '-H', $host{$slow},
                              "$base/api/v1/workspace"));
    { exec 'sh', '-c', "$cmd >'$blocked_out' 2>&1" };
    POSIX::_exit(127);      # no END blocks: they belong to the parent
}
sleep 3;

my ($waiting) = $t->stack->dbh('postgres')->selectrow_array(q{
    SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'});
my $busy = wrk(quote(@WRK, '-H', $host{$fast}, "$base/api/v1/workspace"));

waitpid $blocked_pid, 0;
$lock->commit;
my $blocked = parse(Kanban::Test::read_file($blocked_out));

print "(c) sign-ins, and the workspace request under sign-in load\n";

my $login_lua = "$t->{var}/login.lua";
Kanban::Test::write_file($login_lua, <<"EOF_LUA");
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"admin\@$fast.example","password":"correct horse battery staple"}'
EOF_LUA

my @one;
for (1 .. 10) {
    my $r = $t->req(POST => '/api/v1/auth/login', host => $fast,
                    json => { email => "admin\@$fast.example",
                              password => 'correct horse battery staple' });
    die "login: $r->{status} $r->{body}\n" unless $r->{status} == 200;
    push @one, $r->{elapsed};
}
@one = sort { $a <=> $b } @one;
my @get;
for (1 .. 10) {
    push @get, $t->req(GET => '/api/v1/workspace', host => $fast)->{elapsed};
}
@get = sort { $a <=> $b } @get;
# what a sign-in costs beyond an ordinary request: the hash, mostly
my $one_ms = ($one[@one / 2] - $get[@get / 2]) * 1000;
my $cores = `nproc` + 0 || 1;

my $logins = wrk(quote('wrk', '-t2', '-c50', "-d$DURATION", '--latency',
                       '--timeout', '10s', '-s', $login_lua, '-H', $host{$fast},
                       "$base/api/v1/auth/login"));

my @LIGHT = ('wrk', '-t1', '-c10', "-d$DURATION", '--latency');
my $quiet = wrk(quote(@LIGHT, '-H', $host{$fast}, "$base/api/v1/workspace"));

my $login_out = "$t->{var}/wrk-login.txt";
my $login_pid = fork // die "fork: $!";
if ($login_pid == 0) {
    my $cmd = join(' ', quote('wrk', '-t1', '-c50', '-d' . ($secs + 4) . 's',
                              '--timeout', '10s', '-s', $login_lua,
                              '-H', $host{$fast}, "$base/api/v1/auth/login"));
    { exec 'sh', '-c', "$cmd >'$login_out' 2>&1" };
    POSIX::_exit(127);
}
sleep 2;
my $loaded = wrk(quote(@LIGHT, '-H', $host{$fast}, "$base/api/v1/workspace"));
waitpid $login_pid, 0;

print "(d) the board, one task, and task moves beside pgbench\n";

my $auth = "Authorization: Bearer $token";
my $nginx_board = wrk(quote(@WRK, '-H', $host{$fast}, '-H', $auth,
                            "$base/bench/board"));
my $api_board = wrk(quote(@WRK, '-H', $host{$fast}, '-H', $auth,
                          "$base$board_path"));
my $nginx_task = wrk(quote(@WRK, '-H', $host{$fast}, '-H', $auth,
                           "$base/bench/task"));
my $api_task = wrk(quote(@WRK, '-H', $host{$fast}, '-H', $auth,
                         "$base$task_path"));

# Each thread moves its own half of the tasks, one after another, each time
# into the column after the one it went to last: every move changes the
# column; no version (no conflicts), and the columns have no WIP limits.
my $move_lua = "$t->{var}/move.lua";
my $lua_list = sub { '{' . join(',', map { "\"$_\"" } @_) . '}' };
Kanban::Test::write_file($move_lua, <<"EOF_LUA");
local tasks = @{[ $lua_list->(@tasks) ]}
local columns = @{[ $lua_list->(@columns) ]}
local threads = 0
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
    thread:set("first", threads)
    threads = threads + 1
end

function init(args)
    n = 0
    mine = {}
    for i = first + 1, #tasks, 2 do
        mine[#mine + 1] = i
    end
end

function request()
    local k = n % #mine + 1
    local round = math.floor(n / #mine)
    local i = mine[k]
    n = n + 1
    -- task i was created in column (i - 1) % 5 + 1
    local c = (i - 1 + round + 1) % #columns + 1
    -- nil headers: wrk.headers, with -H's Host and Authorization
    return wrk.format("PATCH", "/api/v1/tasks/" .. tasks[i] .. "/move", nil,
                      '{"column_id":"' .. columns[c] .. '"}')
end
EOF_LUA

# one move by hand first, as the script makes them (to the end of the
# column the task is in: the script's first move still changes its column)
api($t, PATCH => "/api/v1/tasks/$tasks[0]/move", $token,
    body => qq({"column_id":"$columns[0]"}),
    headers => { Authorization => "Bearer $token",
                 'Content-Type' => 'application/json' });

my $moves = wrk(quote('wrk', '-t2', '-c20', "-d$DURATION", '--latency',
                      '-s', $move_lua, '-H', $host{$fast}, '-H', $auth,
                      "$base/api/v1/tasks/move"));

# what the moves leave behind: each goes to a column's end, so its rank
# sorts after every other rank there
my ($rank_len) = $t->tenant_dbh($fast)->selectrow_array(
    'SELECT max(length(rank)) FROM tasks WHERE project_id = ?', undef,
    $project->{id});

sub seconds {
    my ($d) = @_;
    my ($n, $u) = $d =~ /^(\d+)(s|m|h)?$/ or die "BENCH_DURATION $d?\n";
    return $n * { s => 1, m => 60, h => 3600 }->{ $u // 's' };
}

my $scratch = "kanban_pgbench_$$";
my $pg = $t->stack->dbh('postgres');
$pg->{PrintWarn} = 0;
$pg->do(qq{DROP DATABASE IF EXISTS "$scratch"});
$pg->do(qq{CREATE DATABASE "$scratch"});
my @pgconn = ('-h', $t->stack->run, '-p', $t->stack->pg_port, '-U', 'postgres');
my $init = `@{[ join ' ', quote('pgbench', '-i', '-s', '1', @pgconn, $scratch) ]} 2>&1`;
die "pgbench -i: $init" if $?;
my $pgbench_out = `@{[ join ' ', quote('pgbench', '-c', '20', '-j', '2', '-T',
                                       seconds($DURATION), @pgconn, $scratch) ]} 2>&1`;
die "pgbench: $pgbench_out" if $?;
$pg->do(qq{DROP DATABASE "$scratch"});
my %pgbench;
($pgbench{rps}) = $pgbench_out =~
    /tps = ([\d.]+) \(without initial connection time\)/;
($pgbench{latency}) = $pgbench_out =~ /latency average = ([\d.]+) ms/;
($pgbench{failed}) = $pgbench_out =~ /number of failed transactions: (\d+)/;
die "no tps in pgbench's output: $pgbench_out" unless defined $pgbench{rps};

print "(e) the share-link redirect beside nginx's return 302\n";

my $visits_of = sub {
    my ($n) = $t->tenant_dbh($fast)->selectrow_array(
        'SELECT visits FROM share_links WHERE id = ?', undef, $link->{id});
    return $n;
};
my $nginx_302 = wrk(quote(@WRK, '-H', $host{$fast}, "$base/bench/redirect"));
my $visits_before = $visits_of->();
my $share_302 = wrk(quote(@WRK, '-H', $host{$fast}, "$base/s/$link->{code}"));
sleep 3;                # the workers' last batches reach PostgreSQL
my $visits_counted = $visits_of->() - $visits_before;
my $served = () = Kanban::Test::read_file($t->var . '/log/share-visits.log')
                  =~ m{"GET /s/\Q$link->{code}\E HTTP/1\.1" 302 }g;

# The table.

sub row {
    my ($name, $r) = @_;
    printf "  %-46s %10s %10s %9s\n", $name,
        defined $r->{rps} ? sprintf('%.0f', $r->{rps}) : '?',
        defined $r->{p99} ? sprintf('%.2fms', $r->{p99}) : '?',
        $r->{non2xx} + $r->{errors};
}

print "\n";
printf "  %-46s %10s %10s %9s\n", '', 'req/s', 'p99', 'non-2xx';
row('GET /bench/static (nginx return)', $static);
row('GET /api/v1/workspace (PostgreSQL)', $api);
printf "  %-46s %10.2f %9.2fx\n", 'workspace / static (req/s; p99)',
    ($api->{rps} // 0) / ($static->{rps} || 1),
    ($api->{p99} // 0) / ($static->{p99} || 1);
print "\n";
row('GET /api/v1/workspace, nothing else', $idle);
row('GET /api/v1/workspace, 100 in flight on a lock', $busy);
printf "  %-46s %10s %9.2fx\n", 'p99 with / without', '',
    ($busy->{p99} // 0) / ($idle->{p99} || 1);
printf "  %-46s %10s\n", 'queries waiting on the lock (pg_stat_activity)',
    $waiting;
printf "  %-46s %10s %10s %9s\n", 'the locked workspace (503 after the queue)',
    '', ($blocked->{requests} // '?') . ' answ.', $blocked->{non2xx} // 0;
print "\n";
row('POST /api/v1/auth/login, 50 clients', $logins);
printf "  %-46s %10.0f %9.1fms\n", 'hashing bound: cores / one hash',
    $cores * 1000 / ($one_ms || 1), $one_ms;
printf "  %-46s %10.2f\n", 'sign-ins / bound',
    ($logins->{rps} // 0) / ($cores * 1000 / ($one_ms || 1));
row('GET /api/v1/workspace (10 clients), quiet', $quiet);
row('GET /api/v1/workspace (10 clients), 50 sign-ins', $loaded);
printf "  %-46s %10s %9.2fms\n", 'p99 added by the sign-in load', '',
    ($loaded->{p99} // 0) - ($quiet->{p99} // 0);
print "\n";
row('GET /bench/board (nginx, the same file)', $nginx_board);
row('GET /api/v1/projects/{id}/kanban (50 tasks)', $api_board);
printf "  %-46s %10.2f %9.2fx\n", 'board / nginx (req/s; p99)',
    ($api_board->{rps} // 0) / ($nginx_board->{rps} || 1),
    ($api_board->{p99} // 0) / ($nginx_board->{p99} || 1);
printf "  %-46s %10s\n", 'board bytes', length $board;
row('GET /bench/task (nginx return)', $nginx_task);
row('GET /api/v1/tasks/{id}', $api_task);
printf "  %-46s %10.2f %9.2fx\n", 'task / nginx (req/s; p99)',
    ($api_task->{rps} // 0) / ($nginx_task->{rps} || 1),
    ($api_task->{p99} // 0) / ($nginx_task->{p99} || 1);
row('PATCH /api/v1/tasks/{id}/move, -t2 -c20', $moves);
printf "  %-46s %10s\n", 'longest rank after the moves (chars)',
    $rank_len // '?';
printf "  %-46s %10.0f %9.2fms %9s\n", 'pgbench TPC-B-like, -c20 -j2 (tps; avg)',
    $pgbench{rps}, $pgbench{latency} // 0, $pgbench{failed} // '?';
printf "  %-46s %10.2f\n", 'moves / pgbench tps',
    ($moves->{rps} // 0) / ($pgbench{rps} || 1);
print "\n";
row('GET /bench/redirect (nginx return 302)', $nginx_302);
row('GET /s/{code} (share link, cached)', $share_302);
printf "  %-46s %10.2f %9.2fx\n", 'redirect / nginx (req/s; p99)',
    ($share_302->{rps} // 0) / ($nginx_302->{rps} || 1),
    ($share_302->{p99} // 0) / ($nginx_302->{p99} || 1);
printf "  %-46s %10s\n", 'redirects wrk saw', $share_302->{requests} // '?';
printf "  %-46s %10s\n", 'redirects nginx served (its access log)', $served;
printf "  %-46s %10s\n", 'visits counted in PostgreSQL', $visits_counted;
print "\n";

my @bad = Kanban::Test::stop_all();
if (@bad) {
    print "the error log has:\n", map { "  $_\n" } @bad;
    exit 1;
}
