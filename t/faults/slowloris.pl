#!/usr/bin/perl

# Connection exhaustion: 2,000 clients open a connection and never send
# (half of them start a request line and stop). Meanwhile the API answers
# as before; once client_header_timeout passes (10 s here, nginx's 60 s by
# default) nginx has closed every one of them and its workers hold no more
# descriptors than before.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Faults;

my $idle = $ENV{FAULTS_SLOW_CLIENTS} // 2000;

my $t = Kanban::Test->new(http => 'client_header_timeout 10s;')->run;
my $master = $t->pid;
my $ws = $t->workspace(prefix => 'faultslow');
my $at = $ws->admin->{token};

my $fds = sub { my $n = 0; $n += (Faults::rss_fds($_))[1] for Faults::workers($master); $n };

# warm: both workers have their pooled connections
$ws->api($at, GET => '/api/v1/workspace') for 1 .. 20;
my $before = $fds->();

my @socks;
for my $i (1 .. $idle) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port,
                                  Blocking => 1) or last;
    syswrite $s, "GET /api/v1/workspace HTTP/1.1\r\nHost: x" if $i % 2;
    $s->blocking(0);
    push @socks, $s;
}
is(scalar @socks, $idle, "$idle idle connections open");
sleep 0.5;
my $during = $fds->();
cmp_ok($during, '>=', $before + $idle * 0.9, "nginx holds them ($during fds)");

my (@status, $slowest);
for (1 .. 50) {
    my $r = $ws->api($at, GET => '/api/v1/workspace', timeout => 10);
    push @status, $r->{status};
    $slowest = $r->{elapsed} if !$slowest || $r->{elapsed} > $slowest;
}
is(scalar(grep { $_ != 200 } @status), 0, '50 requests meanwhile: all 200');
cmp_ok($slowest, '<', 1, sprintf('... the slowest in %.0f ms', $slowest * 1000));

# nginx closes them when client_header_timeout passes
my $deadline = time + 30;
my $closed = 0;
while (time < $deadline) {
    sleep 1;
    next if $fds->() > $before + 5;
    # closed: EOF (or a 408 then EOF), or a reset; open: EAGAIN
    $closed = grep {
        my $n = sysread($_, my $buf, 4096);
        $n = sysread($_, $buf, 4096) if $n;
        defined $n ? $n == 0 : !$!{EAGAIN};
    } @socks;
    last if $closed == @socks;
}
my $after = $fds->();
is($closed, scalar @socks, 'nginx closed every idle connection');
cmp_ok($after, '<=', $before + 5, "its workers' descriptors back to "
       . "$after (from $before)");
close $_ for @socks;

# the timeout is a 408 in the access log, no alert in the error log
my $r = $ws->api($at, GET => '/api/v1/workspace');
is($r->{status}, 200, 'and the API still answers');

printf STDERR "faults: slowloris: %d idle connections; 50 requests meanwhile "
    . "all 200, slowest %.0f ms; worker fds %d -> %d -> %d after "
    . "client_header_timeout\n", scalar @socks, $slowest * 1000, $before,
    $during, $after;

Kanban::Test->done_testing;
