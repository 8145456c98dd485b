#!/usr/bin/perl

# A burst of sign-ups against the spares nginx keeps (alone: bash t/run
# t/scale/burst.pl; make scale runs it too). A private stack with two
# PostgreSQL clusters; nginx keeps SCALE_KEEP (8) spare databases a server
# (kanban_spare_databases), made SCALE_AT_ONCE (4) at a time a server
# (kanban_spare_databases_at_once; 1 is the refill before catalog 017).
# Once they are all made, SCALE_BURST (40) sign-ups are sent at once, in
# SCALE_WAVES (2) waves SCALE_GAP (3) seconds apart: how many found a
# spare, each one's time, and how long the refill took to make the
# spares whole again. Printed and appended to t/tmp/scale-burst.txt.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;

my $KEEP = $ENV{SCALE_KEEP} // 8;
my $AT_ONCE = $ENV{SCALE_AT_ONCE} // 4;
my $BURST = $ENV{SCALE_BURST} // 40;
my $WAVES = $ENV{SCALE_WAVES} // 2;
my $GAP = $ENV{SCALE_GAP} // 3;

my $stack = Kanban::Test::Stack->private;
$stack->server_start('pg2');

my $t = Kanban::Test->new(stack => $stack, spares => $KEEP,
                          replace => { kanban_spare_databases_at_once
                                           => $AT_ONCE })
    ->run;
my $catalog = $t->catalog;

sub pct {
    my ($p, @v) = @_;
    return 0 unless @v;
    @v = sort { $a <=> $b } @v;
    return $v[ int($p / 100 * $#v + 0.5) ];
}

sub ready {
    return scalar $catalog->selectrow_array(
        'SELECT count(*) FROM spare_databases WHERE ready');
}

sub wait_full {
    my ($seconds) = @_;
    my $t0 = time;
    until (ready() >= 2 * $KEEP) {
        return undef if time - $t0 > $seconds;
        sleep 0.05;
    }
    return time - $t0;
}

my $fill = wait_full(300);
ok(defined $fill, sprintf('nginx made %d spares from none in %.1f s',
                          2 * $KEEP, $fill // -1));

my (%took, @failed, %wave_of);
my $n = 0;
my $t0 = time;
for my $wave (1 .. $WAVES) {
    my @inflight;
    for (1 .. $BURST / $WAVES) {
        my $slug = sprintf 'burst-%04d', ++$n;
        $wave_of{$slug} = $wave;
        push @inflight, [ $slug, $t->send_req(POST => '/api/v1/tenants',
            json => { slug => $slug, name => "Burst $n",
                      admin => { email => "admin\@$slug.example",
                                 password => 'correct horse battery staple',
                                 name => 'Ada Admin' } }) ];
    }
    Kanban::Test::wait_all([ map { $_->[1] } @inflight ], 120);
    for (@inflight) {
        my $r = $_->[1]->response;
        if ($r->{status} == 201) {
            $took{ $_->[0] } = $r->{elapsed} * 1000;
        } else {
            push @failed, "$r->{status} $r->{body}";
        }
    }
    sleep $GAP if $wave < $WAVES;
}
my $burst_s = time - $t0;

is(scalar @failed, 0, "$BURST sign-ups in $WAVES waves, all 201")
    or diag($failed[0]);

my %spare = map { $_->[0] => 1 } @{ $catalog->selectall_arrayref(
    "SELECT slug FROM tenants WHERE slug LIKE 'burst-%'"
    . " AND db_name LIKE 'kanban_s_%'") };
my @with = map { $took{$_} } grep { $spare{$_} } keys %took;
my @without = map { $took{$_} } grep { !$spare{$_} } keys %took;
my @later = grep { $wave_of{$_} > 1 } keys %took;
my $later_spare = grep { $spare{$_} } @later;

my $refill = wait_full(300);
ok(defined $refill, sprintf('the spares were whole again %.1f s after the '
                            . 'last wave', $refill // -1));

my $line = sprintf
    'keep %d a server, %d at once; burst of %d in %d waves %d s apart: '
    . '%d found a spare (%d of the %d after the first wave), p50 %.0f ms, '
    . 'p99 %.0f ms; %d created theirs, p50 %.0f ms, p99 %.0f ms; all: '
    . 'p50 %.0f ms, p99 %.0f ms; spares made from none in %.1f s, whole '
    . 'again %.1f s after the last wave; load %s',
    $KEEP, $AT_ONCE, $BURST, $WAVES, $GAP, scalar @with, $later_spare,
    scalar @later, pct(50, @with), pct(99, @with), scalar @without,
    pct(50, @without), pct(99, @without), pct(50, values %took),
    pct(99, values %took), $fill // -1, $refill // -1,
    join(' ', (split ' ', Kanban::Test::read_file('/proc/loadavg'))[0 .. 2]);
diag($line);
open my $fh, '>>', "$Kanban::Test::TMP/scale-burst.txt";
print $fh scalar(gmtime), " $line\n";
close $fh;

Kanban::Test->done_testing;
