#!/usr/bin/perl

# A workspace moved to another PostgreSQL server while it is written to
# (make scale; alone: bash t/run t/scale/move.pl). Two nginx nodes, two
# clusters, one Redis: clients create tasks through both nodes, 8 at a
# time, while conf/kanbanctl move-workspace copies the database (logical
# replication, in step before the window; in the window only the last
# writes to arrive and the sequences) and switches the catalog. Every write answered
# 2xx is in the database on the new server, and none is there that was
# not answered 2xx; writes are refused (503 tenant_moving, Retry-After)
# only in the window kanbanctl reports, and reads go on throughout: the
# workspace, the project's board and a task, which writes keep dropping
# from what is kept, so that reads in the window build them on a
# read-only database (tenant 053: answered, not kept). The
# nodes' tenant caches live 10 s: they follow the switch at once because
# kanbanctl publishes it in Redis.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);

my $stack = Kanban::Test::Stack->private;
$stack->server_start('pg2');

my @nodes = map { Kanban::Test->new(stack => $stack, ttl => '10s')->run }
            1 .. 2;
my $ws = $nodes[0]->workspace(prefix => 'move');
my $slug = $ws->slug;
my $tok = $ws->admin->{token};
my @via = ($ws, Kanban::Test::Workspace->new($nodes[1], $slug));
my $catalog = $nodes[0]->catalog;

my ($from) = $catalog->selectrow_array(
    'SELECT server FROM tenants WHERE slug = ?', undef, $slug);
is($from, 'default', 'the workspace starts on the catalog\'s server');

my $r = $ws->api($tok, POST => '/api/v1/projects',
                 json => { key => 'MOVE', name => 'Moving' });
die "project: $r->{status} $r->{body}" unless $r->{status} == 201;
my $P = "/api/v1/projects/$r->{json}{id}/tasks";
my $board = "/api/v1/projects/$r->{json}{id}/kanban";

# some history to copy
my $task;
for my $i (1 .. 200) {
    my $made = $via[$i % 2]->api($tok, POST => $P,
                                 json => { title => "Before $i" });
    $made->{status} == 201 or die "task $i";
    $task //= $made->{json}{id};
}
# read as the window will read them: each one's document
my @read_paths = ('/api/v1/workspace', $board, "/api/v1/tasks/$task");

# --- writing through the move ------------------------------------------------------------

my $out = "$stack->{var}/move.out";
my $began;
my $pid;
my (@done, @inflight, @reads);
my $serial = 0;
my $t0 = time;

while (1) {
    my $now = time;
    if (!$began && $now - $t0 > 1) {
        $began = $now;
        $pid = fork // die "fork: $!";
        if (!$pid) {
            $ENV{KANBAN_VAR} = $stack->{var};
            $ENV{KANBAN_PG_PORT} = $stack->pg_port;
            $ENV{KANBAN_MOVE_KEEP} = 1;
            exec "sh", "-c", "'$Kanban::Test::ROOT/conf/kanbanctl' "
                 . "move-workspace $slug pg2 >'$out' 2>&1";
        }
    }
    my $moved = $pid && waitpid($pid, 1) == $pid;
    if ($moved) {
        is($?, 0, 'kanbanctl move-workspace succeeded');
        $pid = 0;
        $began = -$now;     # ended at
    }
    last if $began && $began < 0 && $now + $began > 2;   # 2 s after

    while (@inflight < 8) {
        my $n = ++$serial;
        push @inflight, { n => $n, at => time,
                          c => $via[$n % 2]->send_api($tok, POST => $P,
                                  json => { title => "Through $n" }) };
        push @reads, { at => time, path => $read_paths[($n / 8) % 3],
                       c => $via[$n % 2]->send_api($tok,
                                GET => $read_paths[($n / 8) % 3]) }
            if $n % 8 == 0;
    }
    Kanban::Test::pump([ map { $_->{c} } @inflight ], 0.01);
    for my $w (grep { $_->{c}->done } @inflight) {
        $w->{end} = time;
        $w->{r} = $w->{c}->response;
        push @done, $w;
    }
    @inflight = grep { !$_->{c}->done } @inflight;
}
Kanban::Test::wait_all([ map { $_->{c} } @inflight, @reads ], 30);
for my $w (@inflight) {
    $w->{end} = time;
    $w->{r} = $w->{c}->response;
    push @done, $w;
}

my $report = Kanban::Test::read_file($out);
my ($window, $copy) = $report =~ /window_ms=(\d+) copy_ms=(\d+)/;
ok(defined $window, "kanbanctl reports its window: $report");

my ($to) = $catalog->selectrow_array(
    'SELECT server FROM tenants WHERE slug = ?', undef, $slug);
is($to, 'pg2', 'the catalog names the new server');

my @ok = grep { $_->{r}{status} == 201 } @done;
my @moving = grep { $_->{r}{status} == 503
                    && ($_->{r}{json}{code} // '') eq 'tenant_moving' } @done;
my @other = grep { my $w = $_; $w->{r}{status} != 201
                && !grep { $_ == $w } @moving } @done;

my $dbh = $ws->dbh;     # the catalog says pg2 now
my ($port) = $dbh->selectrow_array("SELECT current_setting('port')");
is($port, $stack->{servers}{pg2}, '... and the test reads it there');
my %stored = map { $_->[0] => 1 } @{ $dbh->selectall_arrayref(
    "SELECT title FROM tasks WHERE title LIKE 'Through %'") };
my @lost = grep { !$stored{"Through $_->{n}"} } @ok;
my %answered = map { ("Through $_->{n}" => 1) } @ok;
my @ghost = grep { !$answered{$_} } keys %stored;

is(scalar @lost, 0, sprintf('%d writes answered 201, every one on the new '
                            . 'server', scalar @ok));
is(scalar @ghost, 0, '... and no write there that was not answered 201');
my ($before) = $dbh->selectrow_array(
    "SELECT count(*) FROM tasks WHERE title LIKE 'Before %'");
is($before, 200, '... with the 200 tasks made before the move');

ok(scalar @moving, sprintf('%d writes refused with 503 tenant_moving',
                           scalar @moving));
my @retry = grep { ($_->{r}{headers}{'retry-after'} // '') =~ /^\d+$/ }
            @moving;
is(scalar @retry, scalar @moving, '... each with Retry-After');
my @cut_writes = grep { $_->{r}{status} == 503
                        && ($_->{r}{json}{code} // '') eq 'unavailable' }
                 @other;
cmp_ok(scalar @cut_writes, '<=', 16, scalar(@cut_writes) . ' writes cut off '
       . 'with their session as the move began (503 unavailable, not stored)');
@other = grep { my $w = $_; !grep { $_ == $w } @cut_writes } @other;
is(scalar @other, 0, 'no other answer')
    or diag(join "\n", map { "$_->{r}{status} $_->{r}{body}" }
                       @other[0 .. ($#other > 4 ? 4 : $#other)]);

# a read on a session the move ended (the old database's, at the moment
# it turns read-only) fails once with 503 unavailable; the others are 200
my @cut = grep { $_->{c}->response->{status} == 503
                 && ($_->{c}->response->{json}{code} // '') eq 'unavailable' }
          @reads;
my @bad = grep { my $r = $_->{c}->response;
                 $r->{status} != 200 && !grep { $_ == $r } map { $_->{c}->response } @cut }
          @reads;
is(scalar @bad, 0, sprintf('%d reads during the test: 200, but %d cut off '
                           . 'with their session (503 unavailable)',
                           scalar @reads, scalar @cut))
    or diag(join "\n", map { $_->{c}->response->{status} . ' '
                             . $_->{c}->response->{body} } @bad);
cmp_ok(scalar @cut, '<=', 4, '... at most one per worker of each node');
my @boards = grep { $_->{path} eq $board } @reads;
my @in_window = grep { @moving && $_->{at} >= (sort { $a <=> $b }
                                               map { $_->{at} } @moving)[0]
                       && $_->{at} <= (sort { $b <=> $a }
                                       map { $_->{end} } @moving)[0] }
                @boards;
is(scalar(grep { $_->{c}->response->{status} >= 500
                 && ($_->{c}->response->{json}{code} // '') ne 'unavailable' }
          @boards), 0,
   sprintf('%d board reads (%d while writes were refused): no 5xx but a '
           . 'cut session', scalar @boards, scalar @in_window));

if (@moving) {
    my ($first) = sort { $a <=> $b } map { $_->{at} } @moving;
    my ($last) = sort { $b <=> $a } map { $_->{end} } @moving;
    my $seen = ($last - $first) * 1000;
    cmp_ok($seen, '<=', ($window // 0) + 250,
           sprintf('writes were refused for %.0f ms as clients saw it, '
                   . 'within the window of %d ms (copy %d ms) and its '
                   . 'announcement', $seen, $window // 0, $copy // 0));
    diag(sprintf 'move window %d ms (copy %d ms); clients: %d writes 201, '
         . '%d refused over %.0f ms', $window // 0, $copy // 0, scalar @ok,
         scalar @moving, $seen);
    open my $fh, '>>', "$Kanban::Test::TMP/scale-move.txt";
    printf $fh "window_ms=%d copy_ms=%d ok=%d refused=%d client_ms=%.0f\n",
        $window // 0, $copy // 0, scalar @ok, scalar @moving, $seen;
}

Kanban::Test->done_testing;
