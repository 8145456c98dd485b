#!/usr/bin/perl

# Clients that go away while their query runs: the pooled connection must
# not hand that query's late result to the next request.  Queries are held
# on a lock, their clients leave, the lock goes, the workspace is renamed;
# from then on every request must see its own workspace with the new name
# (a leftover result would carry the old name or another slug).

use strict;
use warnings;

use Test::More;
use Kanban::Test;

my $t = Kanban::Test->new->run;

my @ws = map { $t->signup(prefix => 'gone') } 1 .. 3;
for (1 .. 8) {
    $t->req(GET => '/api/v1/workspace', host => $_) for @ws;
}

my $monitor = $t->stack->dbh('postgres');
sub lock_waiters {
    my (@slugs) = @_;
    my @db = map { $t->db_name($_) } @slugs;
    my ($n) = $monitor->selectrow_array(q{
        SELECT count(*) FROM pg_stat_activity
         WHERE datname = ANY(?) AND wait_event_type = 'Lock'}, undef, \@db);
    return $n;
}

sub rename_ws {
    my ($dbh, $name) = @_;
    $dbh->do(q{UPDATE settings SET value = to_jsonb(?::text)
                WHERE key = 'name'}, undef, $name);
}

# Holds a lock on each workspace's settings (renaming it under the lock),
# sends $n requests to each and closes them while they wait, then lets go.
my $round = 0;
sub abandon {
    my ($n, @slugs) = @_;
    $round++;

    my %lock;
    for my $slug (@slugs) {
        $lock{$slug} = $t->tenant_dbh($slug);
        $lock{$slug}->begin_work;
        $lock{$slug}->do('LOCK TABLE settings IN ACCESS EXCLUSIVE MODE');
        # what GET /api/v1/workspace reads (tenant 098)
        $lock{$slug}->do('LOCK TABLE workspace_kept IN ACCESS EXCLUSIVE MODE');
        rename_ws($lock{$slug}, "$slug while locked $round");
    }

    my @c = map { my $s = $_;
                  map { $t->send_req(GET => '/api/v1/workspace', host => $s) }
                  1 .. $n } @slugs;

    ok(Kanban::Test::wait_until(\@c, sub { lock_waiters(@slugs) >= @slugs },
                                10),
       "round $round: queries wait on the lock");
    ok(!grep({ $_->done } @c), "round $round: no answer yet");

    $_->close for @c;
    Kanban::Test::pump([], 0.3);

    $_->commit for values %lock;

    my $left = Kanban::Test::wait_until([], sub { !lock_waiters(@slugs) }, 15);
    ok($left, "round $round: the abandoned queries have run");

    for my $slug (@slugs) {
        rename_ws($lock{$slug}, "$slug after $round");
        $lock{$slug}->disconnect;
    }
}

# Sequential requests, more than the pools hold; each must be its own.
sub all_right {
    my ($count, @slugs) = @_;
    my @wrong;
    for my $i (0 .. $count - 1) {
        my $slug = $slugs[$i % @slugs];
        my $r = $t->req(GET => '/api/v1/workspace', host => $slug);
        push @wrong, "$slug: $r->{status} $r->{body}"
            unless $r->{status} == 200
                && ($r->{json}{slug} // '') eq $slug
                && ($r->{json}{name} // '') eq "$slug after $round";
    }
    is(scalar @wrong, 0,
       "round $round: $count requests each got their own, current answer")
        or diag(join "\n", @wrong[0 .. ($#wrong > 9 ? 9 : $#wrong)]);
}

abandon(1, $ws[0]);
all_right(20, $ws[0]);

# More than a worker's pool (4): some wait for a connection when they leave.
abandon(6, $ws[0]);
all_right(20, $ws[0]);

# Two workspaces at once, then both in turn.
abandon(3, @ws[0, 1]);
all_right(40, @ws[0, 1]);

# The untouched third is fine throughout.
my $r = $t->req(GET => '/api/v1/workspace', host => $ws[2]);
is($r->{json}{slug}, $ws[2], 'an untouched workspace is itself');

Kanban::Test->done_testing;
