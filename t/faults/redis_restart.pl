#!/usr/bin/perl

# Redis restarted while writes and share-link visits run: Redis holds
# nothing that cannot be lost, so no write and no visit fails while it is
# away; every visit is stored; a cluster-wide rate limit falls back to its
# local limit and is cluster-wide again afterwards; and an event stream
# opened before gets the events of writes made after Redis came back
# (what was published while it was away is in the event log, for
# Last-Event-ID).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Kanban::SSE;
use Faults;

my $seconds = $ENV{FAULTS_SECONDS} // 15;

my $stack = Kanban::Test::Stack->private;
my $t = Kanban::Test->new(stack => $stack,
    http => 'kanban_limit_zone zone=faults:1m rate=1000000r/m redis=on;',
    tenant => 'location /t-limited/ { kanban_limit zone=faults; '
              . 'kanban_api; }')->run;
my $ws = $t->workspace(prefix => 'faultredis');
my $at = $ws->admin->{token};

my $r = $ws->api($at, POST => '/api/v1/projects',
                 json => { key => 'RDS', name => 'Redis' });
my $project = $r->{json}{id};
$r = $ws->api($at, POST => '/api/v1/share-links',
              json => { url => 'https://example.com/redis' });
my $link = $r->{json};

my $sse = Kanban::SSE->open($t, $ws->slug, $at);
is($sse->status, 200, 'an event stream is open');

my $phase = 'before';
my %sent;
my $results = Faults::drive(
    n => 8, seconds => $seconds,
    make => sub {
        my ($i) = @_;
        $sent{$phase}++;
        return $i % 2
            ? ($ws->send_api($at, POST => "/api/v1/projects/$project/tasks",
                             json => { title => "redis $i" }), 'write')
            : ($ws->send_api(undef, GET => "/s/$link->{code}"), 'visit');
    },
    at => [
        [$seconds * 0.3, sub { $stack->stop_redis; $phase = 'down';
                               diag('Redis stopped') }],
        [$seconds * 0.6, sub { $phase = 'after'; diag('Redis starting') }],
        [$seconds * 0.6, Faults::background(sub { $stack->start })],
    ]);
diag("requests sent: before $sent{before}, Redis down $sent{down}, "
     . "after $sent{after}");

my @writes = grep { $_->[0] eq 'write' } @$results;
my @visits = grep { $_->[0] eq 'visit' } @$results;
is(scalar(grep { $_->[1]{status} != 201 } @writes), 0,
   scalar(@writes) . ' writes, all 201');
is(scalar(grep { $_->[1]{status} != 302 } @visits), 0,
   scalar(@visits) . ' visits, all 302');

my $stored = 0;
for (1 .. 50) {
    ($stored) = $ws->dbh->selectrow_array(
        'SELECT count(*) FROM share_link_visits WHERE link_id = ?', undef,
        $link->{id});
    last if $stored == @visits;
    sleep 0.2;
}
is($stored, scalar @visits, 'every visit stored');

# the stream: events of a write made now, with Redis back
sleep 1;
$sse->quiet(0.5);
$r = $ws->api($at, POST => "/api/v1/projects/$project/tasks",
              json => { title => 'after Redis' });
my @got = $sse->until(sub { ($_[0]{data}{title} // '') eq 'after Redis' }, 10);
ok(@got && ($got[-1]{data}{title} // '') eq 'after Redis',
   'the stream opened before gets the event of a write made after')
    or diag('stream ended: ' . ($sse->ended // 0));

my $limited = $ws->api($at, GET => '/t-limited/api/v1/workspace');
isnt($limited->{status}, 500, 'a cluster-wide limit answers');

printf STDERR "faults: redis_restart: %d writes, %d share visits in %d s "
    . "with Redis down a third of it: %s; %d visits stored\n",
    scalar @writes, scalar @visits, $seconds, Faults::tally($results),
    $stored;

Kanban::Test->done_testing;
