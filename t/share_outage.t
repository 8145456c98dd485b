#!/usr/bin/perl

# Share-link visits while PostgreSQL is away: cached codes still redirect;
# the visits wait in the worker and reach PostgreSQL once it is back; and
# a worker told to quit while it is still away gives them up after a few
# tries rather than staying forever.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;

my $stack = Kanban::Test::Stack->private;
my $t = Kanban::Test->new(stack => $stack)->run;
my $ws = $t->workspace(prefix => 'outage');

sub link_of {
    my ($url) = @_;
    my $r = $ws->api($ws->admin, POST => '/api/v1/share-links',
                     json => { url => $url });
    die "link: $r->{status} $r->{body}" unless $r->{status} == 201;
    return $r->{json};
}

sub visits {
    my ($link) = @_;
    my ($n) = $ws->dbh->selectrow_array(
        'SELECT count(*) FROM share_link_visits WHERE link_id = ?', undef,
        $link->{id});
    return $n;
}

# --- away, then back: nothing lost ---------------------------------------------

my $kept = link_of('https://example.com/kept');
is($ws->api(undef, GET => "/s/$kept->{code}")->{status}, 302,
   'a visit while PostgreSQL is up (the code is cached now)');
$ws->{dbh} = undef;
$stack->stop_pg;
my $served = 0;
for (1 .. 3) {
    $served++ if $ws->api(undef, GET => "/s/$kept->{code}")->{status} == 302;
}
is($served, 3, 'PostgreSQL away: the cached code still redirects');
sleep 2.5;                          # a few flushes fail meanwhile
$stack->start;

my $n = 0;
for (1 .. 50) {
    $n = eval { visits($kept) } // 0;
    last if $n == 4;
    sleep 0.2;
}
is($n, 4, 'back: every visit stored, the ones made while it was away too');

# --- away while the worker quits: it leaves within seconds ---------------------

my $lost = link_of('https://example.com/lost');
is($ws->api(undef, GET => "/s/$lost->{code}")->{status}, 302, 'a visit');
$ws->{dbh} = undef;
$stack->stop_pg;
$ws->api(undef, GET => "/s/$lost->{code}") for 1 .. 3;

my $pid = $t->pid;
my $start = time;
$t->stop;
my $took = time - $start;
ok(!kill(0, $pid), 'nginx -s quit with PostgreSQL away: nginx is gone');
cmp_ok($took, '<', 12, sprintf('... within seconds (%.1f s)', $took));
like(Kanban::Test::read_file($t->var . '/log/error.log'),
     qr/share visits of "\Q${\ $ws->slug }\E" lost after \d+ tries/,
     '... saying which visits it gave up');

$stack->start;
$t->done_testing;
