#!/usr/bin/perl

# Writes that trigger a webhook, to a receiver that answers in 2 s, beside
# the same writes with no webhook (make bench; alone: BENCH_ONLY=webhooks
# make bench). The machine is shared and its load comes and goes, so the
# two are measured at the same time: two workspaces, the same writes to
# each (a change of one of its 40 tasks: PATCH, task.updated), one wrk
# each (-t1 -c10) side by side; one workspace has a webhook for
# task.updated, the other none; then again with the roles swapped. The
# figure is the mean p99 with the webhook against the mean without. A
# delivery must never delay its write: the write only adds its delivery
# to the outbox in its transaction, and a worker sends it later, at most
# kanban_webhooks_concurrency at a time.

use strict;
use warnings;

use JSON::XS ();
use Kanban::Receiver;
use Kanban::Test;
use Time::HiRes qw(sleep);

$Kanban::Test::QUIET = 1;

my $DURATION = $ENV{BENCH_DURATION} // '10s';

my $t = Kanban::Test->new(log_level => 'warn', http => <<'EOF')->run;
kanban_webhooks_allow_private on;
kanban_webhooks_timeout 5s;
EOF
my $rcv = Kanban::Receiver->new;
my $port = $t->port;

# a workspace, its 40 tasks, its webhook (disabled for now), its wrk
sub setup {
    my ($prefix) = @_;
    my $slug = $t->signup(prefix => $prefix, name => "Bench $prefix");
    my $ws = Kanban::Test::Workspace->new($t, $slug);
    my %w = (ws => $ws, slug => $slug);
    $w{api} = sub {
        my ($method, $path, %o) = @_;
        my $r = $ws->api($ws->admin, $method => $path, %o);
        die "$method $path: $r->{status} $r->{body}\n"
            unless $r->{status} =~ /^2/;
        return $r->{json};
    };
    my $project = $w{api}->(POST => '/api/v1/projects',
                            json => { key => 'HOOKS', name => 'Hooks' });
    my $ids = join ', ', map {
        '"' . $w{api}->(POST => "/api/v1/projects/$project->{id}/tasks",
                        json => { title => "Bench task $_" })->{id} . '"'
    } 1 .. 40;
    my $lua = $t->var . "/patch-$prefix.lua";
    Kanban::Test::write_file($lua, <<"EOF");
local tasks = { $ids }
local n = 0
wrk.headers["Content-Type"] = "application/json"
request = function()
    n = n + 1
    -- nil headers: wrk.headers, with -H's Host and Authorization
    return wrk.format("PATCH", "/api/v1/tasks/" .. tasks[n % #tasks + 1],
                      nil, '{"description":"change ' .. n .. '"}')
end
EOF
    $w{cmd} = join ' ', map { "'$_'" }
        'wrk', '-t1', '-c10', "-d$DURATION", '--latency', '-s', $lua,
        '-H', "Host: $slug.localhost:$port",
        '-H', "Authorization: Bearer " . $ws->admin->{token},
        "http://127.0.0.1:$port/api/v1/tasks";
    $w{hook} = $w{api}->(POST => '/api/v1/webhooks',
                         json => { url => $rcv->url("/slow/2/$prefix"),
                                   events => ['task.updated'] });
    return \%w;
}

sub hook {
    my ($w, $on) = @_;
    $w->{api}->(PATCH => "/api/v1/webhooks/$w->{hook}{id}",
                json => { enabled => $on ? JSON::XS::true()
                                         : JSON::XS::false() });
}

sub parse {
    my ($out) = @_;
    my %unit = (us => 1e-3, ms => 1, s => 1e3, m => 60e3);
    my %r;
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $u) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m;
    die "wrk: $out" unless defined $p99;
    $r{p99} = $p99 * $unit{$u};
    ($r{non2xx}) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/
        or $r{non2xx} = 0;
    return \%r;
}

# both at once; the results in the order given
sub both {
    my (@w) = @_;
    my @fh = map { open my $fh, '-|', "$_->{cmd} 2>&1" or die; $fh } @w;
    return map { local $/; my $out = readline $_; close $_; parse($out) } @fh;
}

my $a = setup('hooka');
my $b = setup('hookb');

print "webhooks: task changes in two workspaces at once, wrk -t1 -c10 "
      . "-d$DURATION each\n";
hook($a, 0);
hook($b, 0);
both(map { { %$_, cmd => $_->{cmd} =~ s/'-d[^']+'/'-d3s'/r } } $a, $b);

my (@with, @without);
hook($a, 1);
sleep 1;
my ($aw, $bn) = both($a, $b);
hook($a, 0);
hook($b, 1);
sleep 1;
my ($an, $bw) = both($a, $b);
hook($b, 0);
push @with, $aw, $bw;
push @without, $bn, $an;

my ($queued, $sent) = $a->{ws}->dbh->selectrow_array(
    "SELECT count(*), count(*) FILTER (WHERE attempts > 0)
       FROM webhook_deliveries");
my ($q2, $s2) = $b->{ws}->dbh->selectrow_array(
    "SELECT count(*), count(*) FILTER (WHERE attempts > 0)
       FROM webhook_deliveries");
$queued += $q2;
$sent += $s2;
my $received = grep { $_->{path} =~ m{^/slow/2/} } $rcv->requests;
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
row('run 1: workspace A, a webhook answering in 2 s', $aw);
row('run 1: workspace B, no webhook', $bn);
row('run 2: workspace A, no webhook', $an);
row('run 2: workspace B, a webhook answering in 2 s', $bw);
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
