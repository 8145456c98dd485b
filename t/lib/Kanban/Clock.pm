package Kanban::Clock;

# Dates for fixtures, relative to today (UTC), so that a test means the same
# on any day: "the last 30 days", "this week" and "a week in the past" move
# with the calendar instead of turning false on some morning.  make
# test-clock runs the suite a year ahead and a year back to prove it.
#
#     use Kanban::Clock qw(today days_from iso_week monday);
#     my $base = monday(days_from(today(), -21));   # a Monday 3-4 weeks ago
#     my $week = iso_week($base);                   # e.g. 2026-W45

use strict;
use warnings;

use Exporter ();
our @ISA = qw(Exporter);          # export_to_level, for import below
use Time::Local qw(timegm);

our @EXPORT_OK = qw(today days_from iso_week monday week_monday);

my $DAY = 86400;

# A file takes today's date when it starts and compares it with the
# server's answers until it ends, so it assumes that the day (and with it
# the week, the month, the year) does not end meanwhile.  Begun in a UTC
# day's last minutes, it waits for the next day first: once in a run of
# the suite at most, as the files after it start after midnight.  Two
# minutes: longer than any file using this takes on a loaded machine.
our $WHOLE_DAY_MARGIN = 120;

sub wait_for_a_whole_day {
    my $left = $DAY - time % $DAY;
    return if $left > $WHOLE_DAY_MARGIN;
    print STDERR "# Kanban::Clock: ${left}s to midnight UTC; "
               . "waiting for the next day\n";
    sleep $left + 1;
}

sub import {
    wait_for_a_whole_day();
    __PACKAGE__->export_to_level(1, @_);    # @_: the package, the names
}


# 'YYYY-MM-DD' of a time (default: now), in UTC
sub date_of {
    my ($t) = @_;
    my @g = gmtime($t // time);
    return sprintf '%04d-%02d-%02d', $g[5] + 1900, $g[4] + 1, $g[3];
}

# seconds at noon UTC of a date, far from any edge of the day
sub noon_of {
    my ($date) = @_;
    my ($y, $m, $d) = $date =~ /^(\d{4})-(\d\d)-(\d\d)$/
        or die "not a date: $date";
    return timegm(0, 0, 12, $d, $m - 1, $y);
}

sub today { date_of(time) }

sub days_from {
    my ($date, $days) = @_;
    return date_of(noon_of($date) + $days * $DAY);
}

# the Monday of a date's ISO week
sub monday {
    my ($date) = @_;
    my $wday = (gmtime noon_of($date))[6];        # 0 is Sunday
    return days_from($date, -(($wday + 6) % 7));
}

# 'YYYY-Www' of a date: the ISO year is the year of the week's Thursday
sub iso_week {
    my ($date) = @_;
    my $thursday = days_from(monday($date), 3);
    my ($year) = $thursday =~ /^(\d{4})/;
    my $first = monday(days_from("$year-01-04", 0));
    my $n = 1 + int((noon_of(monday($date)) - noon_of($first)) / (7 * $DAY));
    return sprintf '%04d-W%02d', $year, $n;
}

# the Monday of an ISO week 'YYYY-Www'
sub week_monday {
    my ($week) = @_;
    my ($y, $w) = $week =~ /^(\d{4})-W(\d\d)$/ or die "not a week: $week";
    return days_from(monday("$y-01-04"), 7 * ($w - 1));
}

1;
