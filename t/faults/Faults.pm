package Faults;

# What the fault scripts of make faults share: a load that keeps a number
# of requests in flight for a while and runs each fault at its moment,
# nginx's processes and what they hold, and an error log cleaned of the
# lines a fault is expected to leave.

use strict;
use warnings;

use POSIX ();
use Time::HiRes qw(sleep time);
use Kanban::Test;

my @children;

# drive(n => in flight, seconds => how long, make => sub { ($conn, $meta) },
#       at => [[seconds, sub], ...], timeout => per request)
# Returns [[$meta, {status, elapsed}], ...] for every request sent.
sub drive {
    my (%o) = @_;

    my @at = sort { $a->[0] <=> $b->[0] } @{ $o{at} // [] };
    my $timeout = $o{timeout} // 30;
    my (@open, @results);
    my $i = 0;
    my $start = time;

    my $reap = sub {
        my ($all) = @_;
        my @still;
        for my $q (@open) {
            if ($q->[0]->done || $all || time - $q->[2] > $timeout) {
                # the status alone: a soak's bodies would fill the memory
                my $r = $q->[0]->response;
                push @results, [$q->[1], { status => $r->{status},
                                           elapsed => $r->{elapsed} }];
            } else {
                push @still, $q;
            }
        }
        @open = @still;
    };

    while (1) {
        my $elapsed = time - $start;
        (shift @at)->[1]->() while @at && $at[0][0] <= $elapsed;
        last if $elapsed >= $o{seconds} && !@at;

        while (@open < $o{n}) {
            my ($conn, $meta) = $o{make}->($i++);
            push @open, [$conn, $meta, time];
        }

        Kanban::Test::pump([map { $_->[0] } @open], 0.02);
        $reap->(0);
    }

    Kanban::Test::wait_all([map { $_->[0] } @open], $timeout);
    $reap->(1);
    waitpid $_, 0 for splice @children;

    return \@results;
}


# Waits for the faults still running in the background.
sub settle { waitpid $_, 0 for splice @children }


# A fault that takes a while (kanbanctl start migrates every database
# before it returns) in a child, so that the load goes on meanwhile; the
# child leaves without the parent's END blocks, which would stop nginx.
sub background {
    my ($code) = @_;
    return sub {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            eval { $code->() };
            print STDERR "background: $@" if $@;
            POSIX::_exit($@ ? 1 : 0);
        }
        push @children, $pid;
    };
}


# status => count, of a list of drive's results
sub tally {
    my ($results) = @_;
    my %n;
    $n{ $_->[1]{status} || 'none' }++ for @$results;
    return join ', ', map { "$_: $n{$_}" } sort keys %n;
}


# the worker processes of an nginx master
sub workers {
    my ($master) = @_;
    my @pids = split ' ', `ps -o pid= --ppid $master`;
    return grep { `cat /proc/$_/cmdline 2>/dev/null` =~ /worker process/ }
           @pids;
}


# resident set size (KiB) and open descriptors of a process
sub rss_fds {
    my ($pid) = @_;
    my ($rss) = (`cat /proc/$pid/status 2>/dev/null` =~ /^VmRSS:\s+(\d+)/m);
    my $fds = () = glob("/proc/$pid/fd/*");
    return ($rss // 0, $fds);
}


# Removes from nginx's error log the lines a fault was meant to cause
# (a worker killed is an [alert]), after counting them; the rest still
# fails the file. nginx appends (O_APPEND): rewriting in place is safe.
sub expect_log_lines {
    my ($t, $re) = @_;
    my $file = $t->var . '/log/error.log';
    open my $fh, '+<', $file or return 0;
    my @lines = <$fh>;
    my $n = grep { /$re/ } @lines;
    seek $fh, 0, 0;
    truncate $fh, 0;
    print $fh grep { !/$re/ } @lines;
    close $fh;
    return $n;
}

1;
