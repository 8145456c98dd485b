#!/usr/bin/perl

# A soak: a steady rate of mixed requests (reads of a board, task creates
# and moves, share-link visits, sign-ins) for SOAK_SECONDS (600 by
# default), each worker's resident memory and open descriptors sampled
# every SOAK_EVERY seconds. After the first fifth (pools, caches and
# connections warm), neither may keep growing: the last samples' RSS is
# within 10% (and 8 MiB) of the level after warm-up, the descriptors within 10.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Faults;

my $seconds = $ENV{SOAK_SECONDS} // 600;
my $every = $ENV{SOAK_EVERY} // ($seconds >= 300 ? 30 : 5);
my $rate = $ENV{SOAK_RATE} // 200;          # requests a second

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

my @tasks;
my @samples;            # [elapsed, rss KiB total, fds total]
my $sample = sub {
    my ($rss, $fds) = (0, 0);
    for my $pid (Faults::workers($master)) {
        my ($r, $f) = Faults::rss_fds($pid);
        $rss += $r;
        $fds += $f;
    }
    push @samples, [time - $^T, $rss, $fds];
};

my $start = time;
my $sent = 0;
my $results = Faults::drive(
    n => 8, seconds => $seconds, timeout => 30,
    make => sub {
        my ($i) = @_;
        # a steady rate, not as fast as it goes
        my $due = $start + $i / $rate;
        sleep($due - time) if $due > time;
        $sample->() if !@samples || time - $^T - $samples[-1][0] >= $every;
        my $k = $i % 10;
        return ($ws->send_api($at, POST => "/api/v1/projects/$project/tasks",
                              json => { title => "soak $i" }), 'create')
            if $k == 0;
        return ($ws->send_api($at, PATCH => '/api/v1/tasks/' . $tasks[-1]
                              . '/move', json => { column_id =>
                              $columns[$i % @columns]{id} }), 'move')
            if $k == 1 && @tasks;
        return ($ws->send_api(undef, GET => "/s/$code"), 'visit') if $k == 2;
        return ($ws->send_api(undef, POST => '/api/v1/auth/login', json => {
                    email => $admin->{email},
                    password => $Kanban::Test::Workspace::PASSWORD }),
                'login') if $k == 3 && $i % 100 == 3;
        return ($ws->send_api($at, GET => "/api/v1/projects/$project/kanban"),
                'board');
    },
    at => [map { [$_, sub {
        # the tasks made so far, to move
        @tasks = map { $_->[0] } @{ $ws->dbh->selectall_arrayref(
            'SELECT id FROM tasks WHERE project_id = ? ORDER BY created_at '
            . 'DESC LIMIT 20', undef, $project) };
    }] } grep { $_ % 5 == 1 } 1 .. $seconds]);
$sample->();

my @bad = grep { $_->[1]{status} !~ /^(2|3)/ } @$results;
is(scalar @bad, 0, scalar(@$results) . ' requests, none failed')
    or diag(Faults::tally($results));

my @warm = grep { $_->[0] >= $seconds / 5 } @samples;
my ($base) = @warm;
my @last = @warm[-3 .. -1];
my $max_rss = (sort { $b <=> $a } map { $_->[1] } @last)[0];
my $max_fds = (sort { $b <=> $a } map { $_->[2] } @last)[0];
cmp_ok($max_rss, '<=', $base->[1] * 1.10 + 8192,
       "RSS after warm-up $base->[1] KiB, at the end $max_rss KiB");
cmp_ok($max_fds, '<=', $base->[2] + 10,
       "descriptors after warm-up $base->[2], at the end $max_fds");

my $rps = @$results / $seconds;
printf STDERR "faults: soak: %d s at %.0f requests/s (%s); both workers: "
    . "RSS %s KiB; fds %s\n", $seconds, $rps, Faults::tally($results),
    join(' ', map { $_->[1] } @samples), join(' ', map { $_->[2] } @samples);

Kanban::Test->done_testing;
