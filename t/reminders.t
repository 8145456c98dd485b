#!/usr/bin/perl

# Reminders. The assignees of an open task are told the day before it is
# due and the day after it was, at the hour each chose, in the app and by
# email, once per task and due date (a due date moved is told again), not
# at all when they turned it off; and anyone may ask to be reminded of a
# task at a time of their choosing. The notices are made by the planner,
# woken by the writes that may make one due.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new(http => 'kanban_planner_sweep 1s;')->run;

my $ws = $t->workspace(prefix => 'rem');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $carl = $ws->member('Carl');
my $dora = $ws->member('Dora');

# The workspace's zone is one where it is now the middle of the day, so
# that midnight has passed and 23:00 has not, whenever this runs (zones
# without summer time, three hours apart at most).
my ($zone) = $dbh->selectrow_array(q{
    SELECT name FROM unnest(ARRAY[
        'Pacific/Honolulu', 'America/Phoenix', 'America/Bogota',
        'America/Sao_Paulo', 'Atlantic/Cape_Verde', 'Africa/Abidjan',
        'Africa/Lagos', 'Africa/Johannesburg', 'Europe/Moscow', 'Asia/Dubai',
        'Asia/Karachi', 'Asia/Dhaka', 'Asia/Bangkok', 'Asia/Shanghai',
        'Asia/Tokyo', 'Australia/Brisbane']) AS name
     WHERE extract(hour FROM now() AT TIME ZONE name) BETWEEN 9 AND 16
     LIMIT 1});
made($ws->api($admin, PATCH => '/api/v1/workspace',
              json => { time_zone => $zone }), "time zone $zone");
my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'REM', name => 'Reminded' }),
                   'project');

sub day {
    my ($offset) = @_;
    my ($d) = $dbh->selectrow_array(
        'SELECT (workspace_today() + ?::int)::text', undef, $offset);
    return $d;
}

sub task {
    my (%f) = @_;
    return made($ws->api($admin,
                         POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'A task', %f }), 'task');
}

# the person's notifications of these kinds: "kind KEY" each
sub notices {
    my ($who) = @_;
    my $r = $ws->api($who, GET => '/api/v1/notifications?limit=100');
    die "notifications: $r->{status}" unless $r->{status} == 200;
    return [ sort map { "$_->{kind} $_->{task}{title}" }
             grep { $_->{kind} =~ /^(due_soon|overdue|reminder)$/ }
             @{ $r->{json}{items} } ];
}

sub wait_for {
    my ($who, $n) = @_;
    my $t0 = time;
    my $got;
    while (time - $t0 < 15) {
        $got = notices($who);
        return $got if @$got >= $n;
        sleep 0.2;
    }
    return $got;
}

# --- the setting --------------------------------------------------------------------

my $r = $ws->api($carl, GET => '/api/v1/me/reminder-settings');
is($r->{status}, 200, 'a person reads their reminder setting');
is_deeply($r->{json}, { hour => 9, enabled => JSON::XS::true,
                        time_zone => $zone },
          '... 9 o\'clock in the workspace\'s zone by default');

problem_is($ws->api($carl, PUT => '/api/v1/me/reminder-settings',
                    json => { hour => 24 }),
           422, 'validation_failed', 'hour 24: 422');
problem_is($ws->api($carl, PUT => '/api/v1/me/reminder-settings',
                    json => { hour => 7.5 }),
           422, 'validation_failed', 'half an hour: 422');
problem_is($ws->api($carl, PUT => '/api/v1/me/reminder-settings',
                    json => { minute => 5 }),
           422, 'validation_failed', 'an unknown field: 422');
problem_is($ws->api(undef, GET => '/api/v1/me/reminder-settings'),
           401, 'unauthorized', 'nobody signed in: 401');

# --- due soon and overdue, at each one's hour -----------------------------------

# Carl at midnight: today's notices are due; Dora at 23:00, not yet.
# Each write steps
# the planner: the tasks' own too.
$r = $ws->api($carl, PUT => '/api/v1/me/reminder-settings',
              json => { hour => 0 });
is_deeply($r->{json}, { hour => 0, enabled => JSON::XS::true,
                        time_zone => $zone }, 'Carl: midnight');
made($ws->api($dora, PUT => '/api/v1/me/reminder-settings',
              json => { hour => 23 }), 'Dora');

my $soon = task(title => 'Renew the certificate', due_date => day(1),
                assignee_ids => [ $carl->{id}, $dora->{id} ]);
my $late = task(title => 'File the report', due_date => day(-1),
                assignee_ids => [ $carl->{id}, $dora->{id} ]);
my $far = task(title => 'Plan the offsite', due_date => day(20),
               assignee_ids => [ $carl->{id} ]);
my $gone = task(title => 'Old news', due_date => day(-30),
                assignee_ids => [ $carl->{id} ]);
my ($done_col) = $dbh->selectrow_array(
    q{SELECT id FROM columns WHERE project_id = ? AND category = 'done'},
    undef, $project->{id});
my $done = task(title => 'Done already', due_date => day(1),
                column_id => $done_col, assignee_ids => [ $carl->{id} ]);


my $got = wait_for($carl, 2);
is_deeply($got, [ 'due_soon Renew the certificate',
                  'overdue File the report' ],
          'Carl is told of the task due tomorrow and of the one due '
          . 'yesterday; not of one due in 20 days, one a month overdue, '
          . 'or one done');

my $items = $ws->api($carl, GET => '/api/v1/notifications?limit=100')
    ->{json}{items};
my ($n) = grep { $_->{kind} eq 'overdue' } @$items;
is($n->{data}{due_date}, day(-1), 'the notice names the due date');
is($n->{actor}, undef, '... and no one as its actor');

is_deeply(notices($dora), [], 'Dora, at 23:00, not yet');

my ($mails) = $dbh->selectall_arrayref(
    q{SELECT subject FROM mail_outbox
       WHERE to_addr = ? AND kind = 'notification'
         AND (subject LIKE 'Due %' OR subject LIKE 'Overdue %')
       ORDER BY subject},
    undef, $carl->{email});
is_deeply([ map { $_->[0] =~ s/REM-\d+ //r } @$mails ],
          [ 'Due on ' . day(1) . ': Renew the certificate',
            'Overdue since ' . day(-1) . ': File the report' ],
          '... and by email, by his mail preferences');

# once: more writes wake the planner, nothing is told twice
made($ws->api($carl, PUT => '/api/v1/me/reminder-settings',
              json => { hour => 0 }), 'again');
sleep 2;
is(scalar @{ notices($carl) }, 2, 'woken again: nothing is told twice');

# turned off
made($ws->api($dora, PUT => '/api/v1/me/reminder-settings',
              json => { hour => 0, enabled => JSON::XS::false }), 'off');

# a due date moved is news again (the task's write wakes the planner
# through the event stream)
made($ws->api($admin, PATCH => "/api/v1/tasks/$late->{id}",
              json => { due_date => day(0) }), 'moved');
$got = wait_for($carl, 3);
is_deeply($got, [ 'due_soon File the report', 'due_soon Renew the certificate',
                  'overdue File the report' ],
          'the overdue task moved to today: told it is due');
is_deeply(notices($dora), [], 'Dora turned them off: not her');


# --- remind me ----------------------------------------------------------------------

my $path = "/api/v1/tasks/$far->{id}/reminders";
$r = $ws->api($dora, POST => $path,
              json => { in_minutes => 0, note => 'call the venue' });
is($r->{status}, 201, 'remind me now: 201');
like($r->{headers}{location}, qr{^/api/v1/reminders/}, '... Location');
my $mine = $r->{json};
is($mine->{note}, 'call the venue', '... with its note');

$got = wait_for($dora, 1);
is_deeply($got, [ 'reminder Plan the offsite' ],
          'Dora is reminded (though her due-date notices are off)');
($n) = grep { $_->{kind} eq 'reminder' }
       @{ $ws->api($dora, GET => '/api/v1/notifications')->{json}{items} };
is($n->{data}{note}, 'call the venue', '... with her note');
$r = made($ws->api($dora, GET => $path), 'list');
ok($r->{items}[0]{sent_at}, '... and her reminder says when it was sent');

$r = made($ws->api($carl, POST => $path,
                   json => { at => '2031-01-02T08:00:00Z' }), 'later');
is($r->{remind_at}, '2031-01-02T08:00:00+00:00', 'remind me later: at');
is(scalar @{ made($ws->api($dora, GET => $path), 'list')->{items} }, 1,
   'each lists their own');
problem_is($ws->api($dora, DELETE => "/api/v1/reminders/$r->{id}"),
           404, 'not_found', 'another\'s reminder: 404');
is($ws->api($carl, DELETE => "/api/v1/reminders/$r->{id}")->{status}, 204,
   'one\'s own is cancelled: 204');

for my $bad ([ { at => 'tomorrow' }, 'a time that is none' ],
             [ { at => '2020-01-01T00:00:00Z' }, 'a time past' ],
             [ { at => '2099-01-01T00:00:00Z' }, 'past five years' ],
             [ { at => '2031-01-02T08:00:00' }, 'a time without offset' ],
             [ { at => '2031-01-02T08:00:00Z', in_minutes => 5 }, 'both' ],
             [ { note => 'neither' }, 'neither' ],
             [ { in_minutes => -1 }, 'minutes below 0' ],
             [ { in_minutes => 5, note => 'x' x 501 }, 'a long note' ],
             [ { in_minutes => 5, colour => 'red' }, 'an unknown field' ])
{
    problem_is($ws->api($carl, POST => $path, json => $bad->[0]),
               422, 'validation_failed', "$bad->[1]: 422");
}
problem_is($ws->api($carl, POST => '/api/v1/tasks/'
                    . '00000000-0000-4000-8000-000000000000/reminders',
                    json => { in_minutes => 5 }),
           404, 'not_found', 'no such task: 404');

$t->done_testing;
