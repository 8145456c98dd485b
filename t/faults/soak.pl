#!/usr/bin/perl

# A soak (make soak; also the last of make faults, shorter): a steady rate
# of mixed requests against a board of a fixed size for SOAK_SECONDS (600
# by default): board and task reads, title edits, moves, a task created
# and one deleted in turn (so the board neither grows nor shrinks), share
# visits, now and then a sign-in (deletes have two slots to the creates'
# one, so they keep up). Every worker's resident memory and open
# descriptors are sampled every SOAK_EVERY seconds.
#
# What fails it: a sustained rise. After the first fifth (pools, caches,
# prepared statements and connections warm) the samples of each worker
# are cut in thirds; a rise is sustained when the median of each third is
# above the one before and the last is above the first by more than 4 MiB
# and 5 % (RSS) or 5 (descriptors). A spike that falls back, or a level
# that is reached and held, passes. The figures (and the load of the
# machine, which others share) go to STDERR and t/tmp/soak-*.txt.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Test::More;
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Faults;

my $seconds = $ENV{SOAK_SECONDS} // 600;
my $every = $ENV{SOAK_EVERY} // ($seconds >= 300 ? 15 : 3);
my $rate = $ENV{SOAK_RATE} // 200;          # requests a second, at most
my $size = $ENV{SOAK_TASKS} // 200;         # the board's tasks

# Hours of board reads would be gigabytes for the OpenAPI check of every
# response; the other files check these same endpoints.
Kanban::Test::OpenAPI::off();

my $t = Kanban::Test->new->run;
my $master = $t->pid;
my $ws = $t->workspace(prefix => 'soak');
my $admin = $ws->admin;
my $at = $admin->{token};

my $r = $ws->api($at, POST => '/api/v1/projects',
                 json => { key => 'SOAK', name => 'Soak' });
my $project = $r->{json}{id};
my @columns = @{ $ws->api($at, GET => "/api/v1/projects/$project/columns")
                 ->{json}{items} };
$r = $ws->api($at, POST => '/api/v1/share-links',
              json => { url => 'https://example.com/soak' });
my $code = $r->{json}{code};

# the fixed part of the board: read, edited and moved, never deleted
my @tasks;
for my $i (1 .. $size) {
    $r = $ws->api($at, POST => "/api/v1/projects/$project/tasks", json => {
        title => "soak $i", column_id => $columns[$i % @columns]{id} });
    die "seed task $i: $r->{status}" unless $r->{status} == 201;
    push @tasks, $r->{json}{id};
}

my $board_size = sub {
    return $ws->dbh->selectrow_array(
        'SELECT count(*) FROM tasks WHERE project_id = ?', undef, $project);
};
my $size_before = $board_size->();

# the tasks the soak made, deleted in turn once the database has them
my (@made, %gone);
my $refresh_made = sub {
    @made = grep { !$gone{$_} } map { $_->[0] } @{ $ws->dbh->selectall_arrayref(
        "SELECT id FROM tasks WHERE project_id = ? AND title LIKE 'new %'"
        . ' ORDER BY created_at LIMIT 50', undef, $project) };
};

my %samples;            # worker pid => [[elapsed, rss KiB, fds], ...]
my $last_sample = -1e9;
my $sample = sub {
    my $now = time - $^T;
    for my $pid (Faults::workers($master)) {
        my ($rss, $fds) = Faults::rss_fds($pid);
        push @{ $samples{$pid} }, [$now, $rss, $fds];
    }
    $last_sample = $now;
};

my $load_before = (split ' ', `cat /proc/loadavg`)[0];
my $start = time;
my $results = Faults::drive(
    n => 8, seconds => $seconds, timeout => 30,
    make => sub {
        my ($i) = @_;
        # a steady rate, not as fast as it goes
        my $due = $start + $i / $rate;
        sleep($due - time) if $due > time;
        $sample->() if time - $^T - $last_sample >= $every;
        my $k = $i % 20;
        my $task = $tasks[$i % @tasks];
        return ($ws->send_api($at, POST => "/api/v1/projects/$project/tasks",
                              json => { title => "new $i" }), 'create')
            if $k == 0;
        if (($k == 10 || $k == 15) && @made) {
            my $id = shift @made;
            $gone{$id} = 1;
            return ($ws->send_api($at, DELETE => "/api/v1/tasks/$id"),
                    'delete');
        }
        return ($ws->send_api($at, PATCH => "/api/v1/tasks/$task/move",
                              json => { column_id =>
                                        $columns[$i % @columns]{id} }),
                'move') if $k == 1 || $k == 11;
        return ($ws->send_api($at, PATCH => "/api/v1/tasks/$task",
                              json => { title => "soak edited $i" }), 'edit')
            if $k == 2 || $k == 12;
        return ($ws->send_api($at, GET => "/api/v1/tasks/$task"), 'task')
            if $k == 3 || $k == 13 || $k == 16;
        return ($ws->send_api(undef, GET => "/s/$code"), 'visit')
            if $k == 4 || $k == 14;
        return ($ws->send_api(undef, POST => '/api/v1/auth/login', json => {
                    email => $admin->{email},
                    password => $Kanban::Test::Workspace::PASSWORD }),
                'login') if $k == 5 && $i % 200 == 5;
        return ($ws->send_api($at, GET => "/api/v1/projects/$project/kanban"),
                'board');
    },
    at => [map { [$_, $refresh_made] } 1 .. $seconds]);
$sample->();
my $load_after = (split ' ', `cat /proc/loadavg`)[0];
my $size_after = $board_size->();

my @bad = grep { $_->[1]{status} !~ /^(2|3)/ } @$results;
is(scalar @bad, 0, scalar(@$results) . ' requests, none failed')
    or diag(Faults::tally($results) . '; failed: '
            . join(', ', map { "$_->[0] $_->[1]{status}" } @bad[0 .. ($#bad > 9 ? 9 : $#bad)]));
cmp_ok(abs($size_after - $size_before), '<=', 20,
       "the board stayed at its size: $size_before tasks, then $size_after");

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v ? $v[$#v / 2] : 0;
}

# KiB (or descriptors) a minute, least squares over the samples
sub slope {
    my ($xs, $ys) = @_;
    my $n = @$xs or return 0;
    my ($mx, $my) = (0, 0);
    $mx += $_ / $n for @$xs;
    $my += $_ / $n for @$ys;
    my ($sxy, $sxx) = (0, 0);
    for my $i (0 .. $n - 1) {
        $sxy += ($xs->[$i] - $mx) * ($ys->[$i] - $my);
        $sxx += ($xs->[$i] - $mx) ** 2;
    }
    return $sxx ? 60 * $sxy / $sxx : 0;
}

# [medians of the thirds], sustained?, slope a minute
sub trend {
    my ($warm, $col, $abs, $rel) = @_;
    my $third = int(@$warm / 3) || 1;
    my @m = map { median(map { $_->[$col] }
                         @$warm[$_ * $third .. ($_ == 2 ? $#$warm
                                                        : $_ * $third
                                                          + $third - 1)]) }
            0 .. 2;
    my $rise = $m[2] - $m[0];
    my $sustained = $m[0] < $m[1] && $m[1] < $m[2]
                    && $rise > $abs && $rise > $m[0] * $rel;
    return (\@m, $sustained,
            slope([map { $_->[0] } @$warm], [map { $_->[$col] } @$warm]));
}

my @report = (sprintf('%s: %d s, %d requests (%.0f/s: %s); board %d -> %d '
                      . 'tasks; load average %.1f -> %.1f',
                      strftime('%Y-%m-%d %H:%M', gmtime), $seconds,
                      scalar @$results, @$results / $seconds,
                      Faults::tally($results), $size_before, $size_after,
                      $load_before, $load_after));
for my $pid (sort { $a <=> $b } keys %samples) {
    my $s = $samples{$pid};
    my @warm = grep { $_->[0] >= $s->[0][0] + $seconds / 5 } @$s;
    if (@warm < 6) {
        ok(0, "worker $pid: too few samples after warm-up (" . @warm . ')');
        next;
    }
    my ($rss_m, $rss_up, $rss_slope) = trend(\@warm, 1, 4096, 0.05);
    my ($fds_m, $fds_up, $fds_slope) = trend(\@warm, 2, 5, 0);
    ok(!$rss_up, "worker $pid: no sustained rise of RSS "
       . "(thirds' medians @$rss_m KiB)");
    ok(!$fds_up, "worker $pid: no sustained rise of descriptors "
       . "(thirds' medians @$fds_m)");
    push @report, sprintf('worker %d: RSS %d KiB at the start, %d after '
                          . 'warm-up, %d at the end; thirds %s KiB; '
                          . '%+.0f KiB/min; fds %d / %d / %d, %+.2f/min',
                          $pid, $s->[0][1], $warm[0][1], $s->[-1][1],
                          join('/', @$rss_m), $rss_slope, $s->[0][2],
                          $warm[0][2], $s->[-1][2], $fds_slope);
    push @report, "  samples (s:KiB:fds): "
        . join(' ', map { sprintf '%d:%d:%d', $_->[0] - $s->[0][0], $_->[1],
                          $_->[2] } @$s);
}

print STDERR "soak: $_\n" for @report;
mkdir $Kanban::Test::TMP;
if (open my $fh, '>>', "$Kanban::Test::TMP/soak-" . time . '.txt') {
    print $fh "$_\n" for @report;
}

Kanban::Test->done_testing;
