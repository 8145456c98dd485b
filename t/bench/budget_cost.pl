#!/usr/bin/perl

# What a project's budget costs a write of time, and what the billable
# report and an import cost (issue 25). p50 and p99 of BENCH_WRITES
# sequential time entries on a project without a budget and with one in
# hours and money (the trigger takes the project's lock and reads its
# spending at each entry's rate), on a project of no entries and on one of
# BENCH_STORED (made in SQL, over a year, four people, two rates each);
# the billable report (JSON, CSV) of that year; a Toggl export of
# BENCH_ROWS rows imported. Not part of the suite:
#
#     bash t/run t/bench/budget_cost.pl

use strict; use warnings;
use Test::More;
use Time::HiRes qw(time);
use Kanban::Test;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'bb');
my $admin = $ws->admin;
my $dbh = $ws->dbh;
my $N = $ENV{BENCH_WRITES} // 200;
my $STORED = $ENV{BENCH_STORED} // 20000;
my $ROWS = $ENV{BENCH_ROWS} // 5000;

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($p * $#v + 0.5)];
}

my @people = map { $ws->member("Person $_") } 1 .. 4;
for my $p (@people) {
    for my $r ([80, '2025-01-01'], [95, '2025-07-01']) {
        $ws->api($admin, POST => '/api/v1/billing/rates', json => {
            user_id => $p->{id}, hourly_rate => $r->[0],
            effective_from => $r->[1] })->{status} == 201 or die 'rate';
    }
}

sub project {
    my ($key) = @_;
    return $ws->api($admin, POST => '/api/v1/projects',
                    json => { key => $key, name => "Bench $key" })->{json}{id};
}

sub fill {
    my ($pid) = @_;
    $dbh->do(q{INSERT INTO time_entries (user_id, project_id, date, minutes,
                                         billable)
               SELECT (ARRAY[?, ?, ?, ?]::uuid[])[1 + i % 4], ?,
                      date '2025-01-01' + (i % 365), 1 + i % 60, i % 3 > 0
                 FROM generate_series(1, ?) i},
             undef, (map { $_->{id} } @people), $pid, $STORED);
}

# one admin writes $N entries, one a day from 2027 on (no 24-hour limit)
sub writes {
    my ($pid) = @_;
    my @ms;
    for my $i (1 .. $N) {
        my $date = $dbh->selectrow_array(q{SELECT (date '2027-01-01' + ?::int)::text},
                                         undef, $i);
        my $t0 = time;
        my $r = $ws->api($admin, POST => '/api/v1/timesheets/entries', json => {
            project_id => $pid, date => $date, minutes => 5, billable => \1 });
        push @ms, (time - $t0) * 1000;
        die "entry: $r->{status} $r->{body}" unless $r->{status} == 201;
    }
    return sprintf('p50 %.1f ms, p99 %.1f ms', pct(0.5, @ms), pct(0.99, @ms));
}

my %fig;
my $empty = project('BBA');
sub fig { my ($k, $v) = @_; $fig{$k} = $v; diag "$k: $v"; }
fig('no budget, 0 stored', writes($empty));
$ws->api($admin, PUT => "/api/v1/projects/$empty/budget",
         json => { hours => 1e6, amount => 1e9 });
fig('budget, 0 stored', writes($empty));

my $full = project('BBB');
fill($full);
fig("no budget, $STORED stored", writes($full));
$ws->api($admin, PUT => "/api/v1/projects/$full/budget",
         json => { hours => 1e6, amount => 1e9 });
fig("budget, $STORED stored", writes($full));

for my $format (qw(json csv)) {
    my @ms;
    for (1 .. 20) {
        my $t0 = time;
        my $r = $ws->api($admin, GET => "/api/v1/projects/$full/billable-report"
                         . "?from=2025-01-01&to=2025-12-31&format=$format");
        push @ms, (time - $t0) * 1000;
        die "report: $r->{status}" unless $r->{status} == 200;
    }
    fig("billable report ($format), a year of $STORED",
        sprintf('p50 %.0f ms', pct(0.5, @ms)));
}

my $csv = join "\r\n", 'User,Email,Client,Project,Task,Description,Billable,'
    . 'Start date,Start time,End date,End time,Duration,Tags,Amount (USD)',
    map({ my $p = $people[$_ % 4];
          my $d = $dbh->selectrow_array(q{SELECT (date '2028-01-01' + ?::int)::text},
                                        undef, int($_ / 4));
          "$p->{name},$p->{email},,Bench BBA,,Row $_,Yes,$d,,,,00:30:00,," }
        1 .. $ROWS), '';
my $t0 = time;
my $r = $ws->api($admin, POST => '/api/v1/timesheets/import?source=toggl',
                 body => $csv, headers => { 'Content-Type' => 'text/csv' });
die "import: $r->{status} $r->{body}" unless $r->{status} == 200;
fig("Toggl import of $ROWS rows (" . length($csv) . ' bytes), to a budgeted project',
    sprintf('%.0f ms', (time - $t0) * 1000));
pass('measured');
$t->done_testing;
