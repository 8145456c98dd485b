#!/usr/bin/perl

# The event stream across nodes and outages: two nginx on one PostgreSQL
# and one Redis deliver each other's writes; writes sent to both nodes at
# once reach every stream once each, in the order of the log; a client
# that reads from one node and resumes on the other misses and repeats
# nothing; an API token opens a stream too. With Redis stopped (a private
# stack) streams stay open and events keep coming from PostgreSQL; when
# Redis is back they flow as before, none lost or repeated.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made);
use Kanban::SSE;

my $JSON = $Kanban::Test::JSON;

sub log_ids {
    my ($dbh, $after) = @_;
    return [ map { $_->[0] } @{ $dbh->selectall_arrayref(
        'SELECT id FROM events WHERE id > ? AND readers IS NULL ORDER BY id',
        undef, $after) } ];
}

sub newest {
    my ($dbh) = @_;
    my ($id) = $dbh->selectrow_array('SELECT coalesce(max(id), 0) FROM events');
    return $id;
}

my $n1 = Kanban::Test->new->run;
my $n2 = Kanban::Test->new->run;
my $ws = $n1->workspace(prefix => 'ssen');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $at = $ws->admin->{token};

# the same workspace through the second node
my $ws2 = Kanban::Test::Workspace->new($n2, $slug);
my $at2 = $ws2->admin->{token};

my $project = made($ws->api($at, POST => '/api/v1/projects',
                            json => { key => 'NODE', name => 'Nodes' }),
                   'project');
my $P = "/api/v1/projects/$project->{id}/tasks";

# --- each node delivers the other's writes ----------------------------------------------

{
    my $s1 = Kanban::SSE->open($n1, $slug, $at);
    my $s2 = Kanban::SSE->open($n2, $slug, $at2);
    is_deeply([ $s1->status, $s2->status ], [ 200, 200 ],
              'a stream on each node');
    sleep 0.3;      # both have joined their feeds

    my $a = made($ws->api($at, POST => $P, json => { title => 'On node 1' }),
                 'task 1');
    my $b = made($ws2->api($at2, POST => $P, json => { title => 'On node 2' }),
                 'task 2');

    for ([ $s1, 'node 1' ], [ $s2, 'node 2' ]) {
        my ($s, $name) = @$_;
        my @got = $s->next(2, 5);
        is_deeply([ map { $_->{data}{title} } @got ],
                  [ 'On node 1', 'On node 2' ],
                  "$name: both writes, its own node's and the other's");
    }

    # --- a burst on both nodes at once ---------------------------------------------------

    my $mark = newest($dbh);
    my @conns = map {
        ($_ % 2 ? $ws : $ws2)->send_api($_ % 2 ? $at : $at2, POST => $P,
                                        json => { title => "Burst $_" })
    } 1 .. 40;
    Kanban::Test::wait_all(\@conns, 30);
    is(scalar(grep { $_->response->{status} == 201 } @conns), 40,
       '40 tasks made at once, half on each node');
    my $want = log_ids($dbh, $mark);
    is(scalar @$want, 40, '... 40 events in the log');
    for ([ $s1, 'node 1' ], [ $s2, 'node 2' ]) {
        my ($s, $name) = @$_;
        my @got = $s->next(40, 10);
        push @got, $s->quiet(0.3);
        is_deeply([ map { $_->{id} } @got ], $want,
                  "$name: each once, in the log's order");
    }

    # --- resuming on the other node ---------------------------------------------------------

    my $last = $want->[-1];
    $s1->close;
    my @made = map {
        made($ws->api($at, POST => $P, json => { title => "Meanwhile $_" }),
             "task $_")
    } 1 .. 4;
    my $r2 = Kanban::SSE->open($n2, $slug, $at2, last_event_id => $last);
    my @got = $r2->next(4, 5);
    push @got, $r2->quiet(0.3);
    is_deeply([ map { $_->{id} } @got ], log_ids($dbh, $last),
              'read on node 1, resumed on node 2: exactly what was missed');
    is_deeply([ map { $_->{data}{title} } @got ],
              [ map { $_->{title} } @made ], '... the four tasks');
    my @more = $s2->next(4, 5);
    is_deeply([ map { $_->{raw} } @more ], [ map { $_->{raw} } @got ],
              '... the same bytes a live stream on node 2 had');

    # --- an API token -------------------------------------------------------------------------

    my $key = made($ws->api($at, POST => '/api/v1/api-tokens',
                            json => { name => 'feed', scopes => ['read'] }),
                   'api token')->{token};
    my $sk = Kanban::SSE->open($n1, $slug, $key);
    is($sk->status, 200, 'an API token (kbt_) opens a stream');
    sleep 0.3;
    my $c = made($ws2->api($at2, POST => $P, json => { title => 'For the key' }),
                 'task');
    my ($e) = $sk->next(1, 5);
    is($e && $e->{data}{id}, $c->{id}, '... and gets the events');
}

# --- Redis away and back (a private stack) ---------------------------------------------------

{
    my $stack = Kanban::Test::Stack->private;
    my $pt = Kanban::Test->new(stack => $stack)->run;
    my $pws = $pt->workspace(prefix => 'ssen');
    my $ptok = $pws->admin->{token};
    my $pdb = $pws->dbh;
    my $proj = made($pws->api($ptok, POST => '/api/v1/projects',
                              json => { key => 'AWAY', name => 'Away' }),
                    'project');
    my $PP = "/api/v1/projects/$proj->{id}/tasks";

    my $s = Kanban::SSE->open($pt, $pws->slug, $ptok);
    is($s->status, 200, 'a private stack: a stream');
    sleep 0.3;
    my $mark = newest($pdb);

    my $t0 = made($pws->api($ptok, POST => $PP, json => { title => 'Before' }),
                  'task');
    my ($first) = $s->next(1, 5);
    is($first && $first->{data}{id}, $t0->{id}, '... live through Redis');

    $stack->stop_redis;
    my @away = map {
        made($pws->api($ptok, POST => $PP, json => { title => "Away $_" }),
             "task $_")
    } 1 .. 3;
    my @got = $s->next(3, 5);
    is_deeply([ map { $_->{data}{title} } @got ], [ map { "Away $_" } 1 .. 3 ],
              'Redis stopped: the stream stays open, its events come from '
              . 'PostgreSQL');
    ok(!$s->eof, '... not closed');

    $stack->start;
    # the worker subscribes again within a second or two
    my $deadline = time + 10;
    my $up = 0;
    while (time < $deadline && !$up) {
        sleep 0.5;
        $up = grep { /subscribed to the events in Redis/ }
              split /\n/, Kanban::Test::read_file($pt->var . '/log/error.log');
        $up = 0 if $up < 3;     # each worker at start, and once again
    }
    my @back = map {
        made($pws->api($ptok, POST => $PP, json => { title => "Back $_" }),
             "task $_")
    } 1 .. 3;
    push @got, $s->next(3, 5);
    push @got, $s->quiet(0.5);
    unshift @got, $first;
    is_deeply([ map { $_->{id} } @got ], log_ids($pdb, $mark),
              'Redis back: every event once, none lost or repeated');
    is($got[-1]{data}{title}, 'Back 3', '... the last written last');
    ok(!$s->eof, '... on the stream that never closed');

    # one that resumes across the outage
    my $r = Kanban::SSE->open($pt, $pws->slug, $ptok,
                              last_event_id => $first->{id});
    my @rgot = $r->next(6, 5);
    is_deeply([ map { $_->{raw} } @rgot ], [ map { $_->{raw} } @got[1 .. 6] ],
              '... and a client resuming gets the same events');
    $s->close;
    $r->close;
    $pt->stop;
}

Kanban::Test->done_testing;
