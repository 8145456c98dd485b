#!/usr/bin/perl

# Writes that trigger a webhook, to a receiver that answers in 2 s, beside
# the same writes with no webhook (make bench, after bench.pl; alone:
# BENCH_ONLY=webhooks bash t/bench/run). The write is a change of one of 40 tasks
# (PATCH, task.updated goes to the webhook), wrk -t2 -c20; the runs
# alternate without and with the webhook, twice, and the figure is the
# mean p99 with it against the mean without. A delivery must never delay
# its write: the write only adds its delivery to the outbox in its
# transaction, and the worker sends it later, at most
# kanban_webhooks_concurrency at a time.

use strict;
use warnings;

use Kanban::Receiver;
use Kanban::Test;
use Time::HiRes qw(sleep);

$Kanban::Test::QUIET = 1;

my $DURATION = $ENV{BENCH_DURATION} // '10s';

my $t = Kanban::Test->new(log_level => 'warn', http => <<'EOF')->run;
kanban_webhooks_allow_private on;
kanban_webhooks_timeout 5s;
EOF
my $slug = $t->signup(prefix => 'hooks', name => 'Hooks Bench');
my $ws = Kanban::Test::Workspace->new($t, $slug);
my $admin = $ws->admin;
my $rcv = Kanban::Receiver->new;

sub api {
    my ($method, $path, %o) = @_;
    my $r = $ws->api($admin, $method => $path, %o);
    die "$method $path: $r->{status} $r->{body}\n" unless $r->{status} =~ /^2/;
    return $r->{json};
}

my $project = api(POST => '/api/v1/projects',
                  json => { key => 'HOOKS', name => 'Hooks' });
my @tasks = map { api(POST => "/api/v1/projects/$project->{id}/tasks",
                      json => { title => "Bench task $_" })->{id} } 1 .. 40;
my $ids = join ', ', map { "\"$_\"" } @tasks;

# each request changes the next task's description
my $lua = $t->var . '/patch.lua';
Kanban::Test::write_file($lua, <<"EOF");
local tasks = { $ids }
local n = 0
wrk.headers["Content-Type"] = "application/json"
request = function()
    n = n + 1
    local id = tasks[n % #tasks + 1]
    -- nil headers: wrk.headers, with -H's Host and Authorization
    return wrk.format("PATCH", "/api/v1/tasks/" .. id, nil,
                      '{"description":"change ' .. n .. '"}')
end
EOF

my $port = $t->port;
my @cmd = ('wrk', '-t2', '-c20', "-d$DURATION", '--latency', '-s', $lua,
           '-H', "Host: $slug.localhost:$port",
           '-H', "Authorization: Bearer $admin->{token}",
           "http://127.0.0.1:$port/api/v1/tasks");

sub wrk {
    my $out = `@{[ map { "'$_'" } @cmd ]} 2>&1`;
    die "wrk: $out" if $?;
    my %unit = (us => 1e-3, ms => 1, s => 1e3, m => 60e3);
    my %r;
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $u) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m;
    $r{p99} = $p99 * $unit{$u};
    ($r{non2xx}) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/
        or $r{non2xx} = 0;
    return \%r;
}

print "webhooks: task changes, wrk -t2 -c20 -d$DURATION\n";
{
    local $cmd[3] = '-d3s';
    wrk();                                          # warm up
}

my $dbh = $ws->dbh;
my (@without, @with);
my ($queued, $sent) = (0, 0);
for my $round (1, 2) {
    push @without, wrk();

    my $hook = api(POST => '/api/v1/webhooks',
                   json => { url => $rcv->url('/slow/2/bench'),
                             events => ['task.updated'] });
    sleep 1;
    push @with, wrk();
    my ($q, $s) = $dbh->selectrow_array(
        "SELECT count(*), count(*) FILTER (WHERE attempts > 0)
           FROM webhook_deliveries WHERE webhook_id = ?", undef, $hook->{id});
    $queued += $q;
    $sent += $s;
    api(DELETE => "/api/v1/webhooks/$hook->{id}");
}
my $received = grep { $_->{path} eq '/slow/2/bench' } $rcv->requests;
$rcv->stop;

sub mean {
    my (@r) = @_;
    my %m;
    for my $k (qw(rps p99 non2xx)) {
        $m{$k} = 0;
        $m{$k} += $_->{$k} / @r for @r;
    }
    return \%m;
}

my $without = mean(@without);
my $with = mean(@with);

sub row {
    my ($what, $r) = @_;
    printf "  %-52s %9.0f %9.2f ms%s\n", $what, $r->{rps}, $r->{p99},
        $r->{non2xx} ? " ($r->{non2xx} not 2xx)" : '';
}

printf "  %-52s %9s %12s\n", '', 'req/s', 'p99';
row("PATCH /api/v1/tasks/{id}, no webhook (run $_)", $without[$_ - 1])
    for 1, 2;
row("the same, a webhook answering in 2 s (run $_)", $with[$_ - 1])
    for 1, 2;
row('no webhook, mean', $without);
row('a webhook answering in 2 s, mean', $with);
printf "  %-52s %+21.2f ms\n", 'p99 with the webhook - without',
    $with->{p99} - $without->{p99};
printf "  %-52s %21s\n", 'deliveries queued / attempted in the runs',
    "$queued / $sent";
printf "  %-52s %21s\n", 'requests the receiver had', $received;
printf "  %-52s %21s\n", 'within +5 ms',
    $with->{p99} - $without->{p99} <= 5 ? 'yes' : 'NO';

$t->stop;
