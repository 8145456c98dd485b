#!/usr/bin/perl

# Private calendar feeds (ICS). A person makes a URL for their tasks, a
# project's managers one for the project; a calendar app reads it without
# a session, and Debian's python3-icalendar parses what it gets: due
# tasks as to-dos (or all-day events), milestones, sprints and approved
# absences, with their dates. A revoked URL, a wrong secret and another
# workspace's secret are all refused.

use strict;
use warnings;
use utf8;

use Test::More;
use JSON::XS;
use File::Temp qw(tempfile);
use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'ics');
my $other = $t->workspace(prefix => 'icx');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');

sub day {
    my ($offset) = @_;
    my ($d) = $dbh->selectrow_array(
        'SELECT (workspace_today() + ?::int)::text', undef, $offset);
    return $d;
}

my $project = made($ws->api($pam, POST => '/api/v1/projects',
                            json => { key => 'CAL', name => 'Calendar' }),
                   'project');
my $pid = $project->{id};

sub task {
    my (%f) = @_;
    return made($ws->api($pam, POST => "/api/v1/projects/$pid/tasks",
                         json => { assignee_ids => [ $carl->{id} ], %f }),
                'task');
}

# a title that needs escaping and folding
my $long = 'Review; the budget, line by line \\ with "Ölçüm" ' . ('ü' x 40);
my $due = task(title => $long, due_date => day(3), priority => 'urgent');
my $low = task(title => 'Low one', due_date => day(10), priority => 'low');
my $old = task(title => 'Too old', due_date => day(-200));
my $far = task(title => 'Too far', due_date => day(400));
my $nodue = task(title => 'No date');
my $pams = task(title => 'Not Carl\'s', due_date => day(5),
                assignee_ids => [ $pam->{id} ]);
$dbh->do("UPDATE tasks SET completed_at = now() - interval '1 hour'
           WHERE id = ?", undef, $low->{id});

made($ws->api($pam, POST => "/api/v1/projects/$pid/milestones",
              json => { name => 'Go live', due_date => day(20) }),
     'milestone');
made($ws->api($pam, POST => "/api/v1/projects/$pid/sprints",
              json => { name => 'Sprint 1', start_date => day(1),
                        end_date => day(14) }), 'sprint');

# approved time off shows; a request still waiting does not
$dbh->do("INSERT INTO absences (user_id, kind, start_date, end_date, status)
          VALUES (?, 'vacation', ?::date, ?::date, 'approved'),
                 (?, 'other', ?::date, ?::date, 'requested')", undef,
         $carl->{id}, day(30), day(34), $carl->{id}, day(40), day(41));

# --- making, listing ----------------------------------------------------------

my $r = $ws->api($carl, POST => '/api/v1/me/calendar-feeds', json => {});
is($r->{status}, 201, 'a person makes a feed of their tasks');
my $mine = $r->{json};
like($mine->{url}, qr{^http://[^/]+/api/v1/ical/$mine->{id}/[0-9a-f]{64}$},
     '... its URL, with the secret, is in the answer');
is($mine->{style}, 'todo', '... tasks as to-dos by default');

$r = $ws->api($carl, GET => '/api/v1/me/calendar-feeds');
is($r->{status}, 200, 'a person lists their feeds');
is(scalar @{ $r->{json}{items} }, 1, '... the one');
ok(!exists $r->{json}{items}[0]{url}, '... the secret never shown again');
my ($stored) = $dbh->selectrow_array(
    'SELECT secret_hash FROM calendar_feeds WHERE id = ?', undef, $mine->{id});
my ($secret) = $mine->{url} =~ m{/([0-9a-f]{64})$};
isnt($stored, $secret, '... and kept only hashed');

$r = $ws->api($carl, POST => "/api/v1/projects/$pid/calendar-feeds",
              json => {});
problem_is($r, 403, 'forbidden', 'a contributor makes no project feed');
$r = $ws->api($carl, POST => '/api/v1/me/calendar-feeds',
              json => { style => 'movie' });
is($r->{status}, 422, 'a style of no kind is refused');

$r = $ws->api($pam, POST => "/api/v1/projects/$pid/calendar-feeds",
              json => { style => 'event' });
is($r->{status}, 201, 'a project manager makes the project\'s feed');
my $proj = $r->{json};
is($proj->{project_id}, $pid, '... the project\'s');
$r = $ws->api($pam, GET => "/api/v1/projects/$pid/calendar-feeds");
is(scalar @{ $r->{json}{items} }, 1, '... and lists it');

# --- reading, parsing ---------------------------------------------------------

sub path_of { my ($u) = @_; $u =~ s{^http://[^/]+}{}; return $u }

# the feed as python3-icalendar reads it: [{kind, uid, summary, ...}]
sub parsed {
    my ($body) = @_;
    my ($fh, $file) = tempfile(UNLINK => 1);
    binmode $fh;
    print $fh $body;
    close $fh;
    my $json = `/usr/bin/python3 - '$file' <<'PY'
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(open(sys.argv[1], 'rb').read())
out = []
for c in cal.walk():
    if c.name not in ('VTODO', 'VEVENT'):
        continue
    d = {'kind': c.name, 'uid': str(c.get('uid')),
         'summary': str(c.get('summary'))}
    for k in ('dtstart', 'dtend', 'due', 'completed'):
        if c.get(k) is not None:
            d[k] = c.decoded(k).isoformat()[:10]
    for k in ('status', 'priority'):
        if c.get(k) is not None:
            d[k] = str(c.get(k))
    out.append(d)
print(json.dumps({'name': str(cal.get('x-wr-calname')), 'items': out}))
PY`;
    die "python3-icalendar: $?" if $?;
    return decode_json($json);
}

$r = $ws->api(undef, GET => path_of($mine->{url}));
is($r->{status}, 200, 'the feed is read without a session');
like($r->{headers}{'content-type'}, qr{^text/calendar}, '... as text/calendar');
my $body = $r->{body};
like($body, qr/^BEGIN:VCALENDAR\r\n/, '... lines end in CRLF');
unlike($body, qr/(?<!\r)\n/, '... every one');
my @long = grep { length($_) > 75 } split /\r\n/, $body;
is(scalar @long, 0, '... none longer than 75 octets');
like($body, qr/\r\n /, '... the long ones folded');
like($body, qr/\r\nDTSTAMP:\d{8}T\d{6}Z\r\n/, '... with a DTSTAMP in UTC');

my $cal = parsed($body);
is($cal->{name}, 'Carl: my tasks', 'python3-icalendar reads it');
my %by = map { $_->{summary} => $_ } @{ $cal->{items} };
my $d = $by{"$due->{key} $long"};
ok($d, 'the title comes back whole: , ; \\ and folding undone')
    or diag explain [ keys %by ];
is($d->{kind}, 'VTODO', '... a to-do');
is($d->{due}, day(3), '... due on its date');
is($d->{priority}, '1', '... urgent is priority 1');
is($d->{status}, 'NEEDS-ACTION', '... not done');
is($d->{uid}, "task-$due->{id}\@" . $ws->slug . '.localhost',
   '... its UID the task\'s')
    or diag $d->{uid};
my $l = $by{"$low->{key} Low one"};
is($l->{status}, 'COMPLETED', 'a done task is COMPLETED');
ok($l->{completed}, '... with when');
is($l->{priority}, '9', '... low is 9');
ok(!$by{"$old->{key} Too old"}, 'nothing due 90 days back');
ok(!$by{"$far->{key} Too far"}, '... nor a year ahead');
ok(!$by{"$nodue->{key} No date"}, '... nor without a due date');
ok(!$by{"$pams->{key} Not Carl's"}, '... nor another\'s task');
is($by{'Milestone: Go live'}{dtstart}, day(20), 'the milestone, all day');
is($by{'Milestone: Go live'}{dtend}, day(21), '... one day');
is($by{'Sprint: Sprint 1'}{dtstart}, day(1), 'the sprint from its start');
is($by{'Sprint: Sprint 1'}{dtend}, day(15), '... to its end, inclusive');
my $away = $by{'Carl: away (vacation)'};
is($away->{dtstart}, day(30), 'the approved absence');
is($away->{dtend}, day(35), '... its five days');
ok(!$by{'Carl: away (other)'}, '... a requested one is not there');

my $again = parsed($ws->api(undef, GET => path_of($mine->{url}))->{body});
is_deeply([ sort map { $_->{uid} } @{ $again->{items} } ],
          [ sort map { $_->{uid} } @{ $cal->{items} } ],
          'the UIDs are the same on the next read');

$r = $ws->api(undef, GET => path_of($mine->{url}) . '?as=event');
my %ev = map { $_->{summary} => $_ } @{ parsed($r->{body})->{items} };
is($ev{"$due->{key} $long"}{kind}, 'VEVENT',
   '?as=event: tasks as all-day events');
is($ev{"$due->{key} $long"}{dtstart}, day(3), '... on the due date');
$r = $ws->api(undef, GET => path_of($mine->{url}) . '?as=film');
problem_is($r, 400, 'bad_request', '?as of another kind is refused');

$r = $ws->api(undef, GET => path_of($proj->{url}));
$cal = parsed($r->{body});
is($cal->{name}, 'CAL Calendar', 'the project\'s feed');
%by = map { $_->{summary} => $_ } @{ $cal->{items} };
is($by{"$pams->{key} Not Carl's"}{kind}, 'VEVENT',
   '... every task of the project, as events (its style)');
ok($by{'Carl: away (vacation)'}, '... and its people\'s time off');

# --- refused ------------------------------------------------------------------

(my $wrong = path_of($mine->{url})) =~ s/[0-9a-f](?=[0-9a-f]{63}$)/
    substr($secret, 0, 1) eq 'a' ? 'b' : 'a'/e;
problem_is($ws->api(undef, GET => $wrong), 404, 'not_found', 'a wrong secret is refused');
problem_is($ws->api(undef, GET => path_of($mine->{url}) . 'x'), 404, 'not_found',
           '... and a long one');
problem_is($other->api(undef, GET => path_of($mine->{url})), 404, 'not_found',
           'another workspace\'s secret is refused');

$r = $ws->api($carl, DELETE => "/api/v1/calendar-feeds/$proj->{id}");
problem_is($r, 404, 'not_found', 'a contributor revokes no project feed');
$r = $ws->api($carl, DELETE => "/api/v1/calendar-feeds/$mine->{id}");
is($r->{status}, 204, 'the person revokes their feed');
problem_is($ws->api(undef, GET => path_of($mine->{url})), 404, 'not_found',
           '... and its URL is refused at once');
$r = $ws->api($pam, DELETE => "/api/v1/calendar-feeds/$proj->{id}");
is($r->{status}, 204, 'a manager revokes the project\'s');
my ($n) = $dbh->selectrow_array(
    "SELECT count(*) FROM activity_log WHERE entity_type = 'calendar_feed'");
is($n, 4, 'each made and revoked in the activity log');

$t->done_testing;
