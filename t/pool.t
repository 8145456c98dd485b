#!/usr/bin/perl

# The PostgreSQL pool under load: 200 concurrent requests spread over 20
# workspaces all succeed, each with its own workspace's answer, while no
# database ever sees more than 2 workers x 4 connections from nginx and
# nginx never holds more than 2 x 32 in its pools.

use strict;
use warnings;

use Test::More;
use Kanban::Test;

my $PER_DB = 2 * 4;
# the pools' cap, and each worker's LISTEN to the catalog (the console's
# live figures, ngx_kanban_pg_listen.c), a connection outside the pools
my $TOTAL = 2 * 32 + 2;

my $t = Kanban::Test->new->run;

my @slugs = map { $t->signup(prefix => 'pool') } 1 .. 20;
my %db = map { $_ => $t->db_name($_) } @slugs;
my %slug_of = reverse %db;

my $monitor = $t->stack->dbh('postgres');
my $sample = $monitor->prepare(q{
    SELECT datname, count(*) FROM pg_stat_activity
     WHERE backend_type = 'client backend'
       AND application_name <> 'kanban-test'
     GROUP BY datname});

my ($max_db, $max_db_name, $max_total, $samples) = (0, '', 0, 0);

sub sample {
    $sample->execute;
    my $total = 0;
    while (my ($datname, $n) = $sample->fetchrow_array) {
        $total += $n;
        if ($slug_of{ $datname // '' } && $n > $max_db) {
            ($max_db, $max_db_name) = ($n, $datname);
        }
    }
    $max_total = $total if $total > $max_total;
    $samples++;
}

for my $round (1, 2) {
    my @c = map {
        $t->send_req(GET => '/api/v1/workspace', host => $slugs[$_ % 20])
    } 0 .. 199;

    my $all = Kanban::Test::wait_until(\@c, sub { !grep { !$_->done } @c },
                                       60, \&sample);
    ok($all, "round $round: 200 concurrent requests are all answered");

    my (%status, @wrong);
    for my $i (0 .. $#c) {
        my $r = $c[$i]->response;
        $status{ $r->{status} }++;
        push @wrong, "$i: $r->{status} " . substr($r->{body}, 0, 200)
            unless $r->{status} == 200
                && ($r->{json}{slug} // '') eq $slugs[$i % 20];
    }
    is(scalar @wrong, 0, "round $round: each got 200 and its own workspace")
        or diag(join "\n", 'statuses: '
                . join(', ', map { "$_ x $status{$_}" } sort keys %status),
                @wrong[0 .. ($#wrong > 9 ? 9 : $#wrong)]);
}

sample() for 1 .. 3;

diag("$samples samples of pg_stat_activity; at most $max_db connections "
     . "to one workspace database, $max_total in all") if $ENV{TEST_VERBOSE};
cmp_ok($samples, '>=', 5, 'pg_stat_activity was watched during the load');
cmp_ok($max_db, '<=', $PER_DB,
       "never more than $PER_DB connections to one workspace database")
    or diag("$max_db to $max_db_name ($slug_of{$max_db_name})");
cmp_ok($max_total, '<=', $TOTAL,
       "never more than $TOTAL backends in all (nginx's and no one else's)");
cmp_ok($max_total, '>', 0, 'nginx was seen connected');

# The pool keeps working after the crowd: every workspace, one by one.
my @bad = grep {
    my $r = $t->req(GET => '/api/v1/workspace', host => $_);
    !($r->{status} == 200 && ($r->{json}{slug} // '') eq $_);
} @slugs;
is(scalar @bad, 0, 'afterwards each workspace answers on its own')
    or diag("@bad");

Kanban::Test->done_testing;
