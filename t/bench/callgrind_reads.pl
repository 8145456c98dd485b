#!/usr/bin/perl

# Where a hot read's instructions go in nginx's worker: one worker under
# valgrind's callgrind, one client at a time (wrk -t1 -c1, so no read is
# shared with another), counters zeroed after a warm-up, then each read:
#
#   nginx's own return 200 of the task's bytes      (what HTTP costs alone)
#   GET /api/v1/tasks/{id}, /api/v1/workspace, /api/v1/projects
#   nginx's own return 302 of a share link's target (Cache-Control as the
#   redirect's), and GET /s/{code} of that link: as wrk asks (no
#   User-Agent), and with a browser's User-Agent and Referer
#
# Instructions a request, in all and by part (the entry points' inclusive
# counts: tenant, JWT, rate limit, routing, the statement's answer; and
# self counts by library). Counted instructions do not depend on what the
# neighbours run, unlike req/s on a shared machine; the kernel's share
# (system calls, wake-ups) is not in them: perf sees it (BENCH_PROFILE of
# t/bench/reads.pl). Not part of the suite:
#
#     bash t/run -v t/bench/callgrind_reads.pl
#     CALLGRIND_SECONDS=20 ... (each read's run; 10 by default)
#     CALLGRIND_READS=redirect ... (only the reads whose name matches)
#
# The figures go to t/tmp/callgrind-reads.txt as well.

use strict;
use warnings;

use Test::More;
use Kanban::Test;
use POSIX ();
use Time::HiRes qw(sleep);

my $SECONDS = $ENV{CALLGRIND_SECONDS} // 10;
my $ONLY = $ENV{CALLGRIND_READS} ? qr/$ENV{CALLGRIND_READS}/ : qr/./;

plan skip_all => 'valgrind, callgrind_control or wrk is missing'
    if grep { system("command -v $_ >/dev/null 2>&1") != 0 }
       qw(valgrind callgrind_control callgrind_annotate wrk);

# the data: a task with subtasks, an assignee, labels, comments and a
# custom field's value, as t/bench/reads.pl reads it
my $setup = Kanban::Test->new(log_level => 'warn')->run;
my $slug = $setup->signup(prefix => 'cg', name => 'Callgrind Workspace');

sub api {
    my ($t, $method, $path, $token, %o) = @_;
    my $r = $t->req($method => $path, host => $slug,
                    headers => { Authorization => "Bearer $token" }, %o);
    die "$method $path: $r->{status} $r->{body}\n" unless $r->{status} =~ /^2/;
    return $r;
}

sub token {
    my ($t) = @_;
    my $r = $t->req(POST => '/api/v1/auth/login', host => $slug,
                    json => { email => "admin\@$slug.example",
                              password => 'correct horse battery staple' });
    die "login: $r->{status} $r->{body}\n" unless $r->{status} == 200;
    return $r->{json}{access_token};
}

my $token = token($setup);
my $me = api($setup, GET => '/api/v1/auth/me', $token)->{json};
my $p = api($setup, POST => '/api/v1/projects', $token,
            json => { key => 'CGR', name => 'Callgrind' })->{json};
my $tid = api($setup, POST => "/api/v1/projects/$p->{id}/tasks", $token,
              json => { title => 'The task every card opens',
                        labels => ['bench'] })->{json}{id};
my $field = api($setup, POST => '/api/v1/custom-fields', $token,
                json => { name => 'Points', type => 'number',
                          project_id => $p->{id} })->{json}{id};
api($setup, PATCH => "/api/v1/tasks/$tid", $token,
    json => { assignee_ids => [$me->{id}], labels => ['api', 'perf'],
              custom_fields => { $field => 8 } });
for (1 .. 3) {
    api($setup, POST => "/api/v1/projects/$p->{id}/tasks", $token,
        json => { title => "Subtask $_", parent_id => $tid });
    api($setup, POST => "/api/v1/tasks/$tid/comments", $token,
        json => { body => "Comment $_" });
}
my $task_body = api($setup, GET => "/api/v1/tasks/$tid", $token)->{body};
# a share link to a URL, as t/bench/reads.pl's redirect
my $target = 'https://example.com/bench/target?from=kanban';
my $code = api($setup, POST => '/api/v1/share-links', $token,
               json => { url => $target })->{json}{code};
$setup->stop;
die "cannot quote the task for nginx\n" if $task_body =~ /['\$\\]/;

my $t = Kanban::Test->new(log_level => 'warn', tenant => <<"EOF_CONF");
location = /bench/task {
    default_type application/json;
    return 200 '$task_body';
}
location = /bench/redirect {
    add_header Cache-Control "private, no-store";
    return 302 '$target';
}
EOF_CONF

# the worker under callgrind: nginx in one process (master_process off,
# so that callgrind_control reaches it: a forked worker has no vgdb
# channel); nginx -s and -t run as they are. valgrind logs to a file and
# runs in the background, so that the harness's backticks return
my $out = $t->var . '/callgrind';
mkdir $out or die "$out: $!";
my $wrapper = $t->var . '/nginx-callgrind';
my $pidfile = $t->var . '/run/nginx.pid';
Kanban::Test::write_file($wrapper, <<"EOF_SH");
#!/bin/sh
case " \$* " in
*" -s "*|*" -t "*) exec $Kanban::Test::NGINX "\$@" ;;
esac
valgrind --tool=callgrind --dump-instr=no --log-file=$out/valgrind.%p \\
    --callgrind-out-file=$out/callgrind.out.%p $Kanban::Test::NGINX "\$@" \\
    -g 'daemon off; master_process off;' </dev/null >/dev/null 2>&1 &
echo \$! > $pidfile
EOF_SH
chmod 0755, $wrapper;
{
    local $Kanban::Test::NGINX = $wrapper;
    # valgrind starts slowly: the harness's 10 s may not be enough
    eval { $t->run };
    for (1 .. 600) {
        last if IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port,
                                      Timeout => 1);
        sleep 0.2;
    }
    $t->{running} = 1;
}
$token = token($t);

my $worker = $t->pid;
ok($worker && kill(0, $worker), "nginx under callgrind: $worker");

my $base = 'http://127.0.0.1:' . $t->port;
my @host = ('-H', "Host: $slug.localhost:" . $t->port);
my @auth = ('-H', "Authorization: Bearer $token");
my @reads = (
    ['nginx return 200 (the task)', "$base/bench/task"],
    ['GET /api/v1/tasks/{id}', "$base/api/v1/tasks/$tid", @auth],
    ['GET /api/v1/workspace', "$base/api/v1/workspace", @auth],
    ['GET /api/v1/projects', "$base/api/v1/projects", @auth],
    ['nginx return 302 (the redirect)', "$base/bench/redirect"],
    ['GET /s/{code} (the redirect)', "$base/s/$code"],
    ['GET /s/{code} (the redirect, a browser)', "$base/s/$code",
     '-H', 'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) '
           . 'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 '
           . 'Safari/537.36',
     '-H', 'Referer: https://chat.example.com/channel/general'],
);
@reads = grep { $_->[0] =~ $ONLY } @reads;

sub wrk {
    my ($seconds, @args) = @_;
    my $cmd = join ' ', map { "'$_'" } 'wrk', '-t1', '-c1', "-d${seconds}s",
                                       @args;
    my $o = `$cmd 2>&1`;
    die "wrk: $o" if $?;
    my ($n) = $o =~ /(\d+) requests in/;
    my ($bad) = $o =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    return ($n, $bad // 0);
}

# the worker's functions: [inclusive, self, name, object]
sub annotate {
    my ($file) = @_;
    my (%f, $total);
    for my $inclusive (0, 1) {
        my $o = `callgrind_annotate --auto=no --inclusive=@{[ $inclusive ? 'yes' : 'no' ]} --threshold=100 '$file' 2>/dev/null`;
        for (split /\n/, $o) {
            if (/^\s*([\d,]+)\s.*PROGRAM TOTALS/) {
                ($total = $1) =~ tr/,//d;
                next;
            }
            next if /=>|^\s*-/;
            my ($ir, $name, $obj) =
                /^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(?:\S*?:)?(\S+)(?:\s+\[([^\]]*)\])?/
                or next;
            $obj //= '?';
            $ir =~ tr/,//d;
            # a function may be listed twice (its cycle's entry): keep one
            my $e = $f{$name} //= [];
            $e->[$inclusive ? 0 : 1] = $ir
                if $ir > ($e->[$inclusive ? 0 : 1] // 0);
            $e->[2] = $name;
            $e->[3] = $obj;
        }
    }
    return ($total, values %f);
}

# entry points whose inclusive count is one part of the request's work
my @parts = (
    [tenant        => qr/^ngx_kanban_tenant_handler$/],
    ['JWT'         => qr/^ngx_kanban_jwt_handler$/],
    ['rate limit'  => qr/^ngx_kanban_limit_handler$/],
    [routing       => qr/^ngx_kanban_route_find$/],
    ['send the statement (libpq)' => qr/^PQsendQueryPrepared$/],
    ['read the answer (libpq)' => qr/^(?:PQconsumeInput|PQgetResult|PQisBusy)$/],
    ['answer: status, ETag, body' => qr/^ngx_kanban_sql_answer$/],
    ['response headers (module filter)' => qr/^ngx_kanban_headers_filter$/],
    ['share: the handler, all of it' => qr/^ngx_kanban_share_handler$/],
    ['share: the link (cache key, shared memory)' => qr/^ngx_kanban_share_resolve$/],
    ['share: the rules and the country' => qr/^ngx_kanban_share_choose$/],
    ['share: the country (geoip)' => qr/^ngx_kanban_share_country$/],
    ['share: the visit recorded' => qr/^ngx_kanban_share_visit$/],
    ['share: a crawler? (the bots regex)' => qr/^ngx_kanban_share_is_bot$/],
    ['access log' => qr/^ngx_http_log_handler$/],
);

my $report = sprintf "callgrind, one worker, wrk -t1 -c1 -d%ds a read, "
                     . "instructions a request\n", $SECONDS;

for my $read (@reads) {
    my ($name, $url, @h) = @$read;
    wrk(3, @host, @h, $url);                       # warm: memo, prepare
    `callgrind_control -z $worker 2>&1` =~ /OK/ or die "callgrind_control -z\n";
    my ($n, $bad) = wrk($SECONDS, @host, @h, $url);
    is($bad, 0, "$name: $n requests, all 2xx");
    my @before = glob "$out/callgrind.out.$worker*";
    `callgrind_control -d $worker 2>&1` =~ /OK/ or die "callgrind_control -d\n";
    sleep 1;
    my ($file) = grep { my $f = $_; !grep { $_ eq $f } @before }
                 glob "$out/callgrind.out.$worker*";
    ($file) = sort { -M $a <=> -M $b } glob "$out/callgrind.out.$worker*"
        unless $file;

    my ($total, @f) = annotate($file);
    # what the start-up frames carry is everything, not their own
    @f = grep { $_->[2] !~ /^(?:\(below|main$|__libc_start_main|0x)/ } @f;
    $report .= sprintf "\n%s: %d requests, %.0f instructions a request\n",
                       $name, $n, $total / ($n || 1);
    for my $part (@parts) {
        my ($label, $re) = @$part;
        my $ir = 0;
        $ir += $_->[0] // 0 for grep { $_->[2] =~ $re } @f;
        next unless $ir;
        $report .= sprintf "  %-36s %8.0f  %5.1f %%\n", $label, $ir / $n,
                           100 * $ir / ($total || 1);
    }
    my %by;
    for (@f) {
        my $obj = $_->[3] =~ m{([^/]+?)(?:\.so[.\d]*)?$} ? $1 : $_->[3];
        $by{$obj} += $_->[1] // 0;
    }
    $report .= "  self, by object:\n";
    for my $obj (sort { $by{$b} <=> $by{$a} } keys %by) {
        last if $by{$obj} < $total / 100;
        $report .= sprintf "    %-34s %8.0f  %5.1f %%\n", $obj, $by{$obj} / $n,
                           100 * $by{$obj} / ($total || 1);
    }
    $report .= "  self, the top functions:\n";
    for (grep { defined $_->[1] } (sort { ($b->[1] // 0) <=> ($a->[1] // 0) } @f)[0 .. 11]) {
        $report .= sprintf "    %-44s %7.0f  %5.1f %%\n",
                           substr("$_->[2]", 0, 44), $_->[1] / $n,
                           100 * $_->[1] / ($total || 1);
    }
    $report .= "  the module's functions, inclusive:\n";
    for (grep { defined $_ && $_->[2] =~ /^ngx_kanban_/ }
         (sort { ($b->[0] // 0) <=> ($a->[0] // 0) }
          grep { $_->[2] =~ /^ngx_kanban_/ } @f)[0 .. 14])
    {
        $report .= sprintf "    %-44s %7.0f  %5.1f %%\n",
                           substr("$_->[2]", 0, 44), ($_->[0] // 0) / $n,
                           100 * ($_->[0] // 0) / ($total || 1);
    }
}

diag($report);
Kanban::Test::write_file("$Kanban::Test::ROOT/t/tmp/callgrind-reads.txt",
                         $report);

Kanban::Test->done_testing;
