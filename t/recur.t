#!/usr/bin/perl

# Recurring tasks: a task repeats by an RFC 5545 rule. The dates of each
# rule are checked against dates worked out by hand, in Europe/Berlin:
# the instant a date's task is made moves an hour in UTC across the
# daylight-saving changes (28 March and 31 October 2027), a monthly rule
# on the 31st skips the months without one and -1 is every month's last
# day (29 February in 2028), "2TU" is the second Tuesday, an every-other-
# week rule runs through 2026-W53, COUNT and UNTIL end a series. The
# planner then makes the dates that are due, once each: a skipped date
# makes nothing, a changed one makes its change, the series is not
# touched; after_done waits for the last task to be done.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'rec');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $carl = $ws->member('Carl');
my $dora = $ws->member('Dora');

made($ws->api($admin, PATCH => '/api/v1/workspace',
              json => { time_zone => 'Europe/Berlin' }), 'time zone');

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'OPS', name => 'Operations' }),
                   'project');
my $pid = $project->{id};

sub task {
    my (%b) = @_;
    return made($ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
                         json => { title => 'Patch the servers', %b }),
                'task');
}

sub repeat {
    my ($task, %b) = @_;
    return $ws->api($admin, PUT => "/api/v1/tasks/$task->{id}/recurrence",
                    json => \%b);
}

sub dates {
    my ($task, $from, $n) = @_;
    my $r = $ws->api($admin, GET => "/api/v1/tasks/$task->{id}/recurrence"
                                    . "/occurrences?from=$from&limit=$n");
    die "occurrences: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r->{json}{items};
}

sub day_list {
    my ($task, $from, $n) = @_;
    return join ' ', map { $_->{date} } @{ dates($task, $from, $n) };
}

# the workspace's today and days around it, from the workspace's clock
sub day {
    my ($offset) = @_;
    my ($d) = $dbh->selectrow_array(
        'SELECT (workspace_today() + ?::int)::text', undef, $offset);
    return $d;
}

# --- dates worked out by hand ----------------------------------------------------

my $daily = task();
my $r = repeat($daily, rule => 'FREQ=DAILY;COUNT=5', start_date => '2027-03-26');
is($r->{status}, 201, 'a task made to repeat: 201');
is($r->{json}{summary}, 'Daily, 5 times', '... with its summary');
is($r->{json}{time_zone}, 'Europe/Berlin', '... in the workspace\'s zone');
is($r->{json}{next_date}, '2027-03-26', '... its first date next');
like($r->{headers}{location}, qr{/api/v1/tasks/$daily->{id}/recurrence$},
     '... and its Location');

is_deeply([ map { "$_->{date} $_->{starts_at}" }
            @{ dates($daily, '2027-03-01', 10) } ],
          [ '2027-03-26 2027-03-26T08:00:00+00:00',
            '2027-03-27 2027-03-27T08:00:00+00:00',
            '2027-03-28 2027-03-28T07:00:00+00:00',
            '2027-03-29 2027-03-29T07:00:00+00:00',
            '2027-03-30 2027-03-30T07:00:00+00:00' ],
          'daily at 09:00 Berlin across 28 March 2027: 08:00 UTC, then '
          . '07:00 UTC; COUNT=5 ends it');

$r = repeat($daily, rule => 'FREQ=DAILY;UNTIL=20271101', at => '09:30',
            start_date => '2027-10-29');
is($r->{status}, 200, 'the rule changed: 200');
is_deeply([ map { "$_->{date} $_->{starts_at}" }
            @{ dates($daily, '2027-10-29', 10) } ],
          [ '2027-10-29 2027-10-29T07:30:00+00:00',
            '2027-10-30 2027-10-30T07:30:00+00:00',
            '2027-10-31 2027-10-31T08:30:00+00:00',
            '2027-11-01 2027-11-01T08:30:00+00:00' ],
          'at 09:30 across 31 October 2027: 07:30 UTC, then 08:30 UTC; '
          . 'UNTIL is the last day');

my $monthly = task();
made(repeat($monthly, rule => 'FREQ=MONTHLY;BYMONTHDAY=31',
            start_date => '2027-01-01'), 'the 31st');
is(day_list($monthly, '2027-01-01', 7),
   '2027-01-31 2027-03-31 2027-05-31 2027-07-31 2027-08-31 2027-10-31 '
   . '2027-12-31',
   'monthly on the 31st: the months without one have no date');

made(repeat($monthly, rule => 'FREQ=MONTHLY;BYMONTHDAY=-1',
            start_date => '2027-11-01'), 'the last');
is(day_list($monthly, '2027-11-01', 6),
   '2027-11-30 2027-12-31 2028-01-31 2028-02-29 2028-03-31 2028-04-30',
   'BYMONTHDAY=-1: each month\'s last day, 29 February in 2028');
is(made($ws->api($admin, GET => "/api/v1/tasks/$monthly->{id}/recurrence"),
        'get')->{summary},
   'Monthly on the last day', '... said so');

made(repeat($monthly, rule => 'FREQ=MONTHLY;BYDAY=2TU;COUNT=4',
            start_date => '2027-01-01'), 'the 2nd Tuesday');
is(day_list($monthly, '2027-01-01', 10),
   '2027-01-12 2027-02-09 2027-03-09 2027-04-13',
   'monthly on the 2nd Tuesday, 4 times');

made(repeat($monthly, rule => 'FREQ=MONTHLY;BYDAY=-1FR',
            start_date => '2027-01-01'), 'the last Friday');
is(day_list($monthly, '2027-01-01', 3), '2027-01-29 2027-02-26 2027-03-26',
   'monthly on the last Friday');

my $weekly = task();
$r = made(repeat($weekly, rule => 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE',
                 start_date => '2026-12-14'), 'every other week');
is($r->{summary}, 'Every 2 weeks on Mon, Wed', 'the panel\'s summary');
is(day_list($weekly, '2026-12-14', 6),
   '2026-12-14 2026-12-16 2026-12-28 2026-12-30 2027-01-11 2027-01-13',
   'every other week on Monday and Wednesday: 2026-W51, 2026-W53, '
   . '2027-W02');

made(repeat($weekly, rule => 'FREQ=WEEKLY', start_date => '2026-12-24'),
     'Thursdays');
is(day_list($weekly, '2026-12-24', 3), '2026-12-24 2026-12-31 2027-01-07',
   'weekly on the start\'s day, through week 53');

made(repeat($weekly, rule => 'FREQ=YEARLY;COUNT=3',
            start_date => '2028-02-29'), 'leap day');
is(day_list($weekly, '2028-01-01', 5), '2028-02-29 2032-02-29 2036-02-29',
   'yearly on 29 February: the leap years only, COUNT=3');

for my $bad ([ 'FREQ=HOURLY', 'FREQ' ], [ 'FREQ=DAILY;COUNT=2;UNTIL=20270101',
             'UNTIL or COUNT' ], [ 'FREQ=WEEKLY;BYDAY=2TU', 'ordinal' ],
             [ 'FREQ=DAILY;BYSETPOS=1', 'BYSETPOS' ],
             [ 'FREQ=DAILY;INTERVAL=0', 'INTERVAL' ],
             [ 'FREQ=MONTHLY;BYMONTHDAY=32', 'BYMONTHDAY' ],
             [ 'INTERVAL=2', 'FREQ' ])
{
    $r = repeat($weekly, rule => $bad->[0]);
    problem_is($r, 422, 'validation_failed', "$bad->[0]: 422");
    like($r->{json}{detail}, qr/\Q$bad->[1]\E/, '... saying why');
}

problem_is(repeat($weekly, rule => 'FREQ=DAILY', at => '25:00'), 422,
           'validation_failed', 'a time of day that is none: 422');
problem_is(repeat($weekly, rule => 'FREQ=DAILY', colour => 'red'), 422,
           'validation_failed', 'an unknown field: 422');
problem_is(repeat($weekly, rule => 'FREQ=WEEKLY;BYDAY=MO',
                  mode => 'after_done'),
           422, 'validation_failed', 'after_done with days: 422');
problem_is(repeat($weekly, rule => 'FREQ=DAILY', start_date => '2020-01-01'),
           422, 'validation_failed', 'more than a year back: 422');
problem_is($ws->api($dora, PUT => "/api/v1/tasks/$weekly->{id}/recurrence",
                    json => { rule => 'FREQ=DAILY' }),
           403, 'forbidden', 'a contributor who is not on the task: 403');
problem_is($ws->api($admin, PUT => '/api/v1/tasks/'
                    . '00000000-0000-4000-8000-000000000000/recurrence',
                    json => { rule => 'FREQ=DAILY' }),
           404, 'not_found', 'no such task: 404');

# --- made when due, once ------------------------------------------------------------

sub copies {
    my ($task) = @_;
    return $dbh->selectall_arrayref(
        q{SELECT t.title, t.due_date::text AS due, o.on_date::text AS on
            FROM recurrence_occurrences o
            JOIN recurrences x ON x.id = o.recurrence_id
            JOIN tasks t ON t.id = o.task_id
           WHERE x.task_id = ? AND t.id <> x.task_id
           ORDER BY o.on_date}, { Slice => {} }, $task->{id});
}

sub settle {
    my ($what) = @_;
    my $t0 = time;
    while (time - $t0 < 20) {
        my ($due) = $dbh->selectrow_array(
            'SELECT count(*) FROM recurrences WHERE next_at <= now()');
        return 1 if $due == 0;
        sleep 0.2;
    }
    fail("$what: the planner made what is due within 20 s");
    return 0;
}

my $past = task(title => 'Check the backups', due_date => day(-6),
                assignee_ids => [ $carl->{id} ]);
$r = made(repeat($past, rule => 'FREQ=DAILY;UNTIL=' . (day(-1) =~ s/-//gr),
                 at => '00:00'), 'a week back');
settle('a week back');
my $c = copies($past);
is_deeply([ map { $_->{due} } @$c ], [ map { day($_) } -5 .. -1 ],
          'a series started six days back: the task is the first date, and '
          . 'each of the five since has its copy, due that day');
is_deeply([ map { $_->{title} } @$c ], [ ('Check the backups') x 5 ],
          '... with the pattern\'s title');
my ($assigned) = $dbh->selectrow_array(
    q{SELECT count(*) FROM task_assignees a JOIN recurrence_occurrences o
         ON o.task_id = a.task_id WHERE a.user_id = ?}, undef,
    $carl->{id});
is($assigned, 6, '... and its assignee');
$r = made($ws->api($admin, GET => "/api/v1/tasks/$past->{id}/recurrence"),
          'after');
is($r->{made}, 6, 'the series counts six dates');
is($r->{next_date}, undef, '... and has ended (UNTIL)');

my ($audit) = $dbh->selectrow_array(
    q{SELECT count(*) FROM activity_log WHERE entity_type = 'task'
         AND action = 'created' AND new_values->>'recurrence_id' IS NOT NULL
         AND actor_id IS NULL});
is($audit, 5, 'each copy has its audit row, the series\'');

# skip one, change one, ahead of time; then made all at once (lead_days)
my $ahead = task(title => 'Rotate the keys', due_date => day(10));
made(repeat($ahead, rule => 'FREQ=DAILY;COUNT=5'), 'ten days ahead');
is(scalar @{ copies($ahead) }, 0, 'dates ahead: nothing made yet');

my $occ = "/api/v1/tasks/$ahead->{id}/recurrence/occurrences";
$r = $ws->api($admin, PUT => "$occ/" . day(11), json => { skip => \1 });
is($r->{status}, 200, 'one date skipped');
is($r->{json}{state}, 'skipped', '... says so');
$r = $ws->api($admin, PUT => "$occ/" . day(12),
              json => { title => 'Rotate the keys (and the certificates)',
                        priority => 'high',
                        assignee_ids => [ $dora->{id} ] });
is($r->{status}, 200, 'one date changed');
is($r->{json}{state}, 'planned', '... planned with its change');
is($r->{json}{changes}{priority}, 'high', '... which it lists');
problem_is($ws->api($admin, PUT => "$occ/" . day(10), json => { skip => \1 }),
           409, 'conflict', 'the task\'s own date is made: 409');
problem_is($ws->api($admin, PUT => "$occ/" . day(20), json => { skip => \1 }),
           404, 'not_found', 'a date the rule does not have: 404');
problem_is($ws->api($admin, PUT => "$occ/2027-02-30", json => { skip => \1 }),
           404, 'not_found', 'a date of no calendar: 404');
problem_is($ws->api($admin, PUT => "$occ/" . day(13),
                    json => { skip => \1, title => 'x' }),
           422, 'validation_failed', 'skip and a change at once: 422');
problem_is($ws->api($admin, PUT => "$occ/" . day(13),
                    json => { priority => 'whenever' }),
           422, 'validation_failed', 'a priority that is none: 422');
problem_is($ws->api($dora, PUT => "$occ/" . day(13), json => { skip => \1 }),
           403, 'forbidden', 'a contributor not on the task: 403');

my $states = join ' ', map { $_->{state} } @{ dates($ahead, day(10), 10) };
is($states, 'made skipped planned upcoming upcoming',
   'the series\' dates: made, skipped, changed, and two to come');

made(repeat($ahead, rule => 'FREQ=DAILY;COUNT=5', lead_days => 30),
     'thirty days ahead');
settle('lead_days');
$c = copies($ahead);
is_deeply([ map { $_->{on} } @$c ], [ day(12), day(13), day(14) ],
          'made thirty days ahead: the skipped date has no task');
is($c->[0]{title}, 'Rotate the keys (and the certificates)',
   'the changed date\'s task has its title');
is($c->[1]{title}, 'Rotate the keys', '... the others the pattern\'s');
my ($prio, $who) = $dbh->selectrow_array(
    q{SELECT t.priority, (SELECT string_agg(user_id::text, ',')
                            FROM task_assignees WHERE task_id = t.id)
        FROM recurrence_occurrences o JOIN tasks t ON t.id = o.task_id
       WHERE o.on_date = ?::date AND t.title LIKE '%certificates%'},
    undef, day(12));
is("$prio $who", "high $dora->{id}",
   '... its priority and its assignee');
is(made($ws->api($admin, GET => "/api/v1/tasks/$ahead->{id}"), 'pattern')
   ->{title}, 'Rotate the keys', 'the series\' task is untouched');
problem_is($ws->api($admin, PUT => "$occ/" . day(13),
                    json => { title => 'late' }),
           409, 'conflict', 'a date made is changed on its task: 409');

# a restart of the rule changes nothing made
made(repeat($ahead, rule => 'FREQ=DAILY;COUNT=5', lead_days => 30),
     'again');
settle('again');
is(scalar @{ copies($ahead) }, 3, 'the same rule again makes nothing twice');

# --- after done -------------------------------------------------------------------

my $chore = task(title => 'Water the plants', due_date => day(0));
$r = made(repeat($chore, rule => 'FREQ=DAILY;INTERVAL=3;COUNT=3',
                 mode => 'after_done', at => '00:00'), 'after done');
is($r->{summary}, '3 days after the previous one is done, 3 times',
   'after_done: its summary');
is($r->{next_date}, undef, '... it waits for the task to be done');

my ($done_col) = $dbh->selectrow_array(
    q{SELECT id FROM columns WHERE project_id = ? AND category = 'done'},
    undef, $pid);
made($ws->api($admin, PATCH => "/api/v1/tasks/$chore->{id}/move",
              json => { column_id => $done_col }), 'done');
$r = made($ws->api($admin, GET => "/api/v1/tasks/$chore->{id}/recurrence"),
          'after done');
is($r->{next_date}, day(3), 'done today: the next is due in three days');

# --- ends -------------------------------------------------------------------------

is($ws->api($admin, DELETE => "/api/v1/tasks/$past->{id}/recurrence")
   ->{status}, 204, 'a series stopped: 204');
is($ws->api($admin, GET => "/api/v1/tasks/$past->{id}/recurrence")
   ->{status}, 404, '... it is gone');
is(scalar @{ copies($past) }, 0, '... its occurrences with it');
my ($kept) = $dbh->selectrow_array(
    q{SELECT count(*) FROM tasks WHERE title = 'Check the backups'});
is($kept, 6, '... but not the tasks it made');

# the catalog's due index has the workspace at its next due time (the
# after_done series waits; the reminders' next notice is ahead)
my $next;
for (1 .. 50) {
    ($next) = $t->catalog->selectrow_array(
        q{SELECT due_at > now() FROM sweep_due
           WHERE sweep = 'planner' AND slug = ?}, undef, $ws->slug);
    last if $next;
    sleep 0.1;
}
ok($next, 'the due index has the workspace, due ahead, not now');

$t->done_testing;
