#!/usr/bin/perl

# CalDAV with a large calendar (alone: BENCH_ONLY=caldav make bench): a
# person with BENCH_CALDAV_TASKS to-dos (1,000), made in SQL; a to-do
# app's PROPFIND Depth 1 of the collection (ETags), its calendar-multiget
# of all of them (the iCalendar of each), and its PUT of one changed
# to-do (through task_update, its audit row and rules), each timed
# BENCH_CALDAV_RUNS times (10) one after another: p50 and max.

use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);
use Kanban::Test;

$Kanban::Test::QUIET = 1;

my $N = $ENV{BENCH_CALDAV_TASKS} // 1000;
my $RUNS = $ENV{BENCH_CALDAV_RUNS} // 10;

my $t = Kanban::Test->new(log_level => 'warn')->run;
my $ws = $t->workspace(prefix => 'bdav');
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');
my $pid = $ws->api($pam, POST => '/api/v1/projects',
                   json => { key => 'BEN', name => 'Bench' })->{json}{id};

$ws->dbh->do(q{
    SELECT task_create(?::uuid, 'project_manager', ?::uuid,
                       jsonb_build_object('title', 'Task ' || i,
                           'due_date', (current_date + i % 60)::text,
                           'assignee_ids', jsonb_build_array(?::text)))
      FROM generate_series(1, ?) i}, undef,
    $pam->{id}, $pid, $carl->{id}, $N);

my $token = $ws->api($carl, POST => '/api/v1/api-tokens',
                     json => { name => 'bench', scopes => ['read', 'write'] })
              ->{json}{token};
my %h = (Authorization => 'Basic '
                          . encode_base64("$carl->{email}:$token", ''));
my $coll = "/dav/calendars/$carl->{id}/tasks/";

sub dav {
    my ($method, $path, $body, %more) = @_;
    my $r = $t->req($method => $path, host => $ws->slug, body => $body,
                    headers => { %h, %more });
    die "$method $path: $r->{status}\n" unless $r->{status} =~ /^20[47]$|^200$/;
    return $r;
}

sub timed {
    my ($what, $code) = @_;
    my @ms;
    for (1 .. $RUNS) {
        my $t0 = time;
        $code->();
        push @ms, (time - $t0) * 1000;
    }
    @ms = sort { $a <=> $b } @ms;
    printf "caldav: %s: p50 %.1f ms, max %.1f ms (%d runs)\n", $what,
        $ms[$#ms / 2], $ms[-1], $RUNS;
}

my $r;
timed("PROPFIND Depth 1 of $N to-dos", sub {
    $r = dav(PROPFIND => $coll, '<?xml version="1.0"?><propfind xmlns="DAV:">'
             . '<prop><resourcetype/><getcontenttype/><getetag/></prop>'
             . '</propfind>', Depth => 1);
});
my @hrefs = $r->{body} =~ m{<d:href>([^<]+\.ics)</d:href>}g;

my $multiget = '<?xml version="1.0"?><C:calendar-multiget xmlns="DAV:" '
    . 'xmlns:C="urn:ietf:params:xml:ns:caldav"><prop><getetag/>'
    . '<C:calendar-data/></prop>'
    . join('', map { "<href>$_</href>" } @hrefs) . '</C:calendar-multiget>';
timed('calendar-multiget of ' . @hrefs . ' to-dos', sub {
    $r = dav(REPORT => $coll, $multiget, Depth => 1);
});

my $ics = dav(GET => $hrefs[0])->{body};
my $i = 0;
timed('PUT of one changed to-do', sub {
    (my $body = $ics) =~ s/SUMMARY:[^\r]*/'SUMMARY:Renamed ' . $i++/e;
    dav(PUT => $hrefs[0], $body, 'Content-Type' => 'text/calendar');
});

$t->stop;
