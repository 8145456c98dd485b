#!/usr/bin/perl

# What the health check at commit costs a write (023_portfolio_health.sql):
# task creations in a project of 250 tasks, in a burst (the check runs at
# most once a second a project) and one by one 1.1 s apart (each checked),
# with the check's trigger disabled and enabled, two rounds. Not part of
# the suite (prove -r picks .t files only):
#
#     bash t/run t/bench/portfolio_health_cost.pl

use strict; use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Kanban::Test;
my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'cost');
my $admin = $ws->admin;
my $dbh = $ws->dbh;
my $carl = $ws->member('Carl');
my $team = $ws->team('T', $carl);
my $p = $ws->api($admin, POST => '/api/v1/projects',
                 json => { key => 'CO', name => 'Cost', status => 'active',
                           team_id => $team->{id},
                           start_date => '2026-10-01',
                           due_date => '2027-03-01' })->{json};

sub create {
    my ($title) = @_;
    $ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
             json => { title => $title, estimate_minutes => 60,
                       assignee_ids => [ $carl->{id} ] });
}

create("warm $_") for 1 .. 250;

# mean milliseconds of $n creations, $gap seconds apart
sub run {
    my ($n, $gap) = @_;
    my $sum = 0;
    for (1 .. $n) {
        sleep $gap if $gap;
        my $t0 = time;
        create("t $_");
        $sum += time - $t0;
    }
    return $sum / $n * 1000;
}

for my $round (1 .. 2) {
    $dbh->do('ALTER TABLE activity_log DISABLE TRIGGER zzz_activity_log_health');
    my ($off_burst, $off_lone) = (run(50, 0), run(8, 1.1));
    $dbh->do('ALTER TABLE activity_log ENABLE TRIGGER zzz_activity_log_health');
    my ($on_burst, $on_lone) = (run(50, 0), run(8, 1.1));
    diag sprintf 'round %d: a burst of 50 creations %.1f ms each without '
               . 'the check, %.1f ms with; lone ones (1.1 s apart) %.1f ms '
               . 'without, %.1f ms with', $round, $off_burst, $on_burst,
                 $off_lone, $on_lone;
}
ok(1);
Kanban::Test->done_testing;
