#!/usr/bin/perl

# Webhook deliveries on the core sweeper's due index (catalog 018, tenant
# 094), with two nginx nodes on one catalog: workspaces that have
# webhooks and nothing pending are never asked; a delivery a node claimed
# and had in flight when it was killed with kill -9 is sent by the other
# node, with its id, when its lease ends, though nobody writes to the
# workspace again; a retry's backoff is the workspace's due time in the
# catalog, so it goes at that time from whichever node is up, here one
# started after the node that failed the first attempt was killed.
# Real nginx, PostgreSQL, Redis and a receiver on loopback.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made);
use Kanban::Receiver;

# a lease is the timeout and 5 s: 7 s
my %conf = (http => <<'EOF');
kanban_webhooks_allow_private on;
kanban_webhooks_timeout 2s;
kanban_webhooks_backoff 3s;
kanban_webhooks_sweep 1s;
EOF
my @nodes = map { Kanban::Test->new(%conf)->run } 1 .. 2;
my ($n1, $n2) = @nodes;
my $catalog = $n1->catalog;
my $rcv = Kanban::Receiver->new;

sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + $timeout;
    until (my $got = $cond->()) {
        return if time > $deadline;
        sleep 0.05;
    }
    return 1;
}

sub due_row {
    my ($slug) = @_;
    return $catalog->selectrow_hashref(q{
        SELECT extract(epoch FROM due_at)::float8 AS at
          FROM sweep_due WHERE sweep = 'webhooks' AND slug = ?}, undef, $slug);
}

sub hooked {
    my ($n, $prefix, $path, $events) = @_;
    my $ws = $n->workspace(prefix => $prefix);
    my $hook = made($ws->api($ws->admin, POST => '/api/v1/webhooks',
                             json => { url => $rcv->url($path),
                                       events => $events }), 'webhook');
    return ($ws, $hook);
}

sub task_created {
    my ($ws, $key) = @_;
    my $p = made($ws->api($ws->admin, POST => '/api/v1/projects',
                          json => { key => $key, name => "Project $key" }),
                 'project');
    return made($ws->api($ws->admin, POST => "/api/v1/projects/$p->{id}/tasks",
                         json => { title => 'Fix the pump' }), 'task');
}

sub arrivals {
    my ($path) = @_;
    return grep { $_->{path} eq $path } $rcv->requests;
}

# master and workers at once, as a machine lost
sub kill_node {
    my ($n) = @_;
    my $pid = $n->pid;
    system("kill -KILL $pid \$(pgrep -P $pid) 2>/dev/null");
    wait_for(sub { !IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $n->port,
                                          Timeout => 1) }, 10);
    $n->{running} = 0;
    unlink $n->var . '/run/nginx.pid';
}

# --- workspaces with webhooks and nothing pending are never asked ---------------

my @idle = map { [ hooked($nodes[$_ % 2], 'whidle', "/ok/idle$_",
                          ['task.created']) ] } 1 .. 10;
my $in = join ',', map { $catalog->quote($n1->db_name($_->[0]->slug)) } @idle;
sleep 2;    # the sign-ups' and the webhooks' own statements settle
my ($since) = $catalog->selectrow_array('SELECT now()');
sleep 3;

my $asked = $catalog->selectall_arrayref(qq{
    SELECT datname, query FROM pg_stat_activity
     WHERE datname IN ($in) AND backend_type = 'client backend'
       AND state_change > ? AND query ~ 'webhook'}, undef, $since);
is(scalar @$asked, 0, '10 workspaces with webhooks, nothing pending: not '
   . 'one claim in 3 s (two nodes, sweep 1 s)') or diag explain $asked;
my ($rows) = $catalog->selectrow_array(qq{
    SELECT count(*) FROM sweep_due d JOIN tenants t ON t.slug = d.slug
     WHERE d.sweep = 'webhooks' AND t.db_name IN ($in)});
is($rows, 0, '... nor in the due index');

# --- a node killed with a delivery in flight: the other sends it ----------------

my ($ws, $hook) = hooked($n1, 'whkill', '/stall/30/kill', ['task.created']);
task_created($ws, 'KIL');

my ($first) = $rcv->wait_for(sub { arrivals('/stall/30/kill') }, 10);
ok($first, 'node 1 claimed the delivery and sent it (the receiver stalls)')
    or BAIL_OUT('no delivery');
my $id = $first->{headers}{'x-kanban-delivery'};

# the claim's due time (its lease's end) kept before the kill
ok(wait_for(sub { my $d = due_row($ws->slug);
                  $d && $d->{at} > $first->{at} + 5 }, 5),
   'the lease\'s end is the workspace\'s due time in the catalog');
my $due = due_row($ws->slug)->{at};
cmp_ok($due - $first->{at}, '<', 8, '... 7 s after the claim');

kill_node($n1);
note(sprintf 'node 1 killed %.2f s after the delivery reached the receiver',
     time - $first->{at});

my ($again) = $rcv->wait_for(sub {
    grep { ($_->{headers}{'x-kanban-delivery'} // '') eq $id }
        (grep { $_->{path} eq '/stall/30/kill' } @_)[1] // () }, 15);
ok($again, 'node 2 sent it again with the same id, nobody writing to the '
   . 'workspace');
SKIP: {
    skip 'not sent again', 3 unless $again;
    my $after = $again->{at} - $first->{at};
    note(sprintf 'sent again %.2f s after the first attempt (lease 7 s, '
         . 'due %.2f s)', $after, $due - $first->{at});
    cmp_ok($again->{at}, '>=', $due - 0.3, '... not before its lease ended');
    cmp_ok($again->{at}, '<', $due + 3, '... within the sweep of its due time');
    is($again->{headers}{'x-kanban-attempt'}, 2, '... as its second attempt');
}
ok(wait_for(sub { my ($s) = $ws->dbh->selectrow_array(
                      'SELECT status FROM webhook_deliveries WHERE id = ?',
                      undef, $id);
                  ($s // '') eq 'delivered' }, 5),
   'and it is delivered');
is(scalar(arrivals('/stall/30/kill')), 2, 'two attempts in all');
# (within a lease: another worker that stepped it meanwhile may have
# written the in-flight lease's end, which then finds nothing)
ok(wait_for(sub { !due_row($ws->slug) }, 12),
   'nothing pending: the workspace leaves the due index');

# --- a retry's backoff is a due time: kept across the loss of its node ----------

my ($ws2) = hooked($n2, 'whretry', '/flaky/1/retry', ['task.created']);
task_created($ws2, 'RET');

my ($failed) = $rcv->wait_for(sub { arrivals('/flaky/1/retry') }, 10);
ok($failed, 'node 2 sent it; the receiver answered 500');
ok(wait_for(sub { my $d = due_row($ws2->slug);
                  $d && $d->{at} > $failed->{at} + 1.5
                     && $d->{at} < $failed->{at} + 5 }, 3),
   'the retry\'s time is the workspace\'s due time in the catalog');
my $retry_at = due_row($ws2->slug)->{at};
note(sprintf 'retry due %.2f s after the failed attempt (backoff 3 s, '
     . '+-25 %%)', $retry_at - $failed->{at});
cmp_ok($retry_at - $failed->{at}, '<', 4.5, '... the backoff\'s, not the '
       . 'lease\'s (7 s)');

kill_node($n2);
$n1->run;       # the node killed before, started again: no write reaches it

my ($retried) = $rcv->wait_for(sub {
    (grep { $_->{path} eq '/flaky/1/retry' } @_)[1] // () }, 15);
ok($retried, 'node 1, started after node 2 died, sent the retry');
SKIP: {
    skip 'not retried', 3 unless $retried;
    cmp_ok($retried->{at}, '>=', $retry_at - 0.3, '... not before its time');
    cmp_ok($retried->{at}, '<', $retry_at + 3, '... at its time');
    is($retried->{headers}{'x-kanban-delivery'},
       $failed->{headers}{'x-kanban-delivery'}, '... with the same id');
}
ok(wait_for(sub { my ($s) = $ws2->dbh->selectrow_array(
                      q{SELECT status FROM webhook_deliveries
                         WHERE type = 'task.created'});
                  ($s // '') eq 'delivered' }, 5),
   'and it is delivered');

$rcv->stop;
done_testing;
