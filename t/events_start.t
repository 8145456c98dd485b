#!/usr/bin/perl

# An event stream's head comes once the stream knows where the workspace's
# log stands: a client that has the head (a browser's "Live") may write at
# once and hears of its write. While the log cannot be read, no head comes;
# a stream that cannot start answers 503 with a problem, not an empty 200.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made);
use Kanban::SSE;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'ssestart');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $token = $admin->{token};
my $dbh = $ws->dbh;

# the stream has the event of what was just made
sub heard {
    my ($stream, $made) = @_;
    my @got = $stream->until(sub { ($_[0]{data}{id} // '') eq $made->{id} }, 5);
    return @got && ($got[-1]{data}{id} // '') eq $made->{id};
}

my $n = 0;
sub project {
    $n++;
    return made($ws->api($admin, POST => '/api/v1/projects',
                         json => { key => "ST$n", name => "Start $n" }),
                'project');
}

# --- the log locked: no head until it can be read --------------------------------

$dbh->begin_work;
$dbh->do('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');

my $s = Kanban::SSE->open($t, $slug, $token);
is($s->status(1.5), 0, 'while the log cannot be read, the stream sends no head');

$dbh->commit;
is($s->status(5), 200, 'the log free: the head comes');

my $p = project();
my ($e) = $s->next(1, 5);
is($e && $e->{event}, 'project.created',
   'a write made the moment the head came reaches the stream');
is($e && $e->{data}{id}, $p->{id}, '... the project just made');

# --- a head, then a write at once: never missed -----------------------------------

# the first stream of a workspace in a worker asks where the log stands;
# later ones of the same worker know it from the feed: both ways, twenty
# times each, the write made the moment the head arrives is heard
my $missed = 0;
for my $i (1 .. 20) {
    my $fresh = Kanban::SSE->open($t, $slug, $token);
    $fresh->status(5) == 200 or do { $missed++; next };
    my $made = project();
    $missed++ unless heard($fresh, $made);
    $fresh->close;
}
is($missed, 0, 'twenty streams, each told of the write made as its head came');

# --- a stream that cannot start ---------------------------------------------------

$dbh->begin_work;
$dbh->do('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');

# a new workspace's feed must ask (no other stream follows it)
$s->close;
sleep 0.2;
my $blocked = Kanban::SSE->open($t, $slug, $token);
my ($pid, $db) = (undef, $t->db_name($slug));
for (1 .. 100) {
    ($pid) = $t->catalog->selectrow_array(
        q{SELECT pid FROM pg_stat_activity
           WHERE datname = ? AND query LIKE '%events_span%'
             AND wait_event_type = 'Lock'}, undef, $db);
    last if $pid;
    sleep 0.05;
}
ok($pid, 'the stream\'s query is seen waiting for the log');
$t->catalog->do('SELECT pg_cancel_backend(?)', undef, $pid) if $pid;

my $r = $blocked->response(5);
is($r->{status}, 503, 'its query cancelled: 503, not an empty stream');
is($r->{json} && $r->{json}{code}, 'unavailable', '... unavailable');
like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
     '... as a problem');

$dbh->commit;

my $again = Kanban::SSE->open($t, $slug, $token);
is($again->status(5), 200, 'its client tries again: in');
my $last = project();
ok(heard($again, $last), '... and live');

$t->done_testing;
