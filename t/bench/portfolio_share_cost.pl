#!/usr/bin/perl

# What an outsider's read of a shared week's report costs
# (032_portfolio_report_share.sql): 20 active projects of 30 tasks each;
# mean milliseconds of 50 reads one after another of GET
# /api/v1/shared/{code} for last week's (frozen: its snapshot) and this
# week's (live: built at each read) report, beside the member's own GET
# /api/v1/portfolio/report of the same weeks. Not part of the suite
# (prove -r picks .t files only):
#
#     bash t/run t/bench/portfolio_share_cost.pl

use strict; use warnings;
use Test::More;
use Time::HiRes qw(time);
use Kanban::Test;
use Kanban::Clock qw(today days_from iso_week monday);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'shcost');
my $admin = $ws->admin;
my $this = iso_week(today());
my $last = iso_week(days_from(monday(today()), -7));

for my $i (1 .. 20) {
    my $p = $ws->api($admin, POST => '/api/v1/projects',
                     json => { key => "P$i", name => "Project $i",
                               status => 'active' })->{json};
    $ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
             json => { title => "Task $_" }) for 1 .. 30;
}

sub link_for {
    $ws->api($admin, POST => '/api/v1/share-links',
             json => { report_week => $_[0] })->{json}{code};
}

# mean milliseconds of 50 reads
sub mean {
    my ($read) = @_;
    $read->() for 1 .. 3;                   # warm: prepared, cached, frozen
    my $t0 = time;
    $read->() for 1 .. 50;
    return (time - $t0) / 50 * 1000;
}

my %code = (frozen => link_for($last), live => link_for($this));
for my $kind (qw(frozen live)) {
    my $week = $kind eq 'frozen' ? $last : $this;
    my $shared = mean(sub {
        my $r = $t->req(GET => "/api/v1/shared/$code{$kind}",
                        host => $ws->slug);
        die "$r->{status}" unless $r->{status} == 200;
    });
    my $own = mean(sub {
        my $r = $ws->api($admin, GET => "/api/v1/portfolio/report?week=$week");
        die "$r->{status}" unless $r->{status} == 200;
    });
    diag sprintf '%s report (%s), 20 projects: shared %.1f ms a read, '
               . 'the member\'s own %.1f ms', $kind, $week, $shared, $own;
}
ok(1);
Kanban::Test->done_testing;
