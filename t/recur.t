#!/usr/bin/perl

# Recurring tasks: a task repeats by an RFC 5545 rule. The dates of each
# rule are checked against dates worked out by hand, in Europe/Berlin:
# the instant a date's task is made moves an hour in UTC across the
# daylight-saving changes (the last Sundays of March and October), a
# monthly rule on the 31st skips the months without one and -1 is every
# month's last day (29 February in a leap year), "2TU" is the second
# Tuesday, an every-other-week rule runs through a week 53, COUNT and
# UNTIL end a series; all in years to come, whenever this runs. The
# planner then makes the dates that are due, once each: a skipped date
# makes nothing, a changed one makes its change, the series is not
# touched; after_done waits for the last task to be done.

use strict;
use warnings;

use Test::More;
use List::Util qw(first);
use Time::HiRes qw(sleep time);
use Kanban::Clock qw(days_from iso_week week_monday);
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

# In years to come: a series that starts in the past has its dates made at
# once and its next date moved on, and one may start at most ten years
# ahead. $Y is next year; $L the first leap year after it; $W the first
# year after this one with an ISO week 53.
my $this_year = (gmtime)[5] + 1900;
my $Y = $this_year + 1;
my $L = first { $_ % 4 == 0 && ($_ % 100 || $_ % 400 == 0) }
        $this_year + 2 .. $this_year + 6;
my $W = first { iso_week("$_-12-28") eq "$_-W53" }
        $this_year + 1 .. $this_year + 7;

sub wday { (gmtime Kanban::Clock::noon_of($_[0]))[6] }     # 0 is Sunday
sub last_day_of { days_from(sprintf('%04d-%02d-01', $_[1] == 12
                                    ? ($_[0] + 1, 1) : ($_[0], $_[1] + 1)), -1) }
# the last weekday $w (0 is Sunday) of a month
sub last_wday {
    my ($y, $m, $w) = @_;
    my $d = last_day_of($y, $m);
    return days_from($d, -((wday($d) - $w) % 7));
}
# the $n-th weekday $w of a month
sub nth_wday {
    my ($y, $m, $w, $n) = @_;
    my $d = sprintf '%04d-%02d-01', $y, $m;
    return days_from($d, ($w - wday($d)) % 7 + 7 * ($n - 1));
}
sub compact { $_[0] =~ s/-//gr }

# Berlin changes to summer time at 01:00 UTC on March's last Sunday, and
# back on October's
my $spring = last_wday($Y, 3, 0);
my $autumn = last_wday($Y, 10, 0);

my $daily = task();
my $r = repeat($daily, rule => 'FREQ=DAILY;COUNT=5',
               start_date => days_from($spring, -2));
is($r->{status}, 201, 'a task made to repeat: 201');
is($r->{json}{summary}, 'Daily, 5 times', '... with its summary');
is($r->{json}{time_zone}, 'Europe/Berlin', '... in the workspace\'s zone');
is($r->{json}{next_date}, days_from($spring, -2), '... its first date next');
like($r->{headers}{location}, qr{/api/v1/tasks/$daily->{id}/recurrence$},
     '... and its Location');

is_deeply([ map { "$_->{date} $_->{starts_at}" }
            @{ dates($daily, "$Y-03-01", 10) } ],
          [ map { my $d = days_from($spring, $_);
                  "$d ${d}T" . ($_ < 0 ? '08' : '07') . ':00:00+00:00' }
                -2 .. 2 ],
          "daily at 09:00 Berlin across $spring: 08:00 UTC, then "
          . '07:00 UTC; COUNT=5 ends it');

$r = repeat($daily, rule => 'FREQ=DAILY;UNTIL=' . compact(days_from($autumn, 1)),
            at => '09:30', start_date => days_from($autumn, -2));
is($r->{status}, 200, 'the rule changed: 200');
is_deeply([ map { "$_->{date} $_->{starts_at}" }
            @{ dates($daily, days_from($autumn, -2), 10) } ],
          [ map { my $d = days_from($autumn, $_);
                  "$d ${d}T" . ($_ < 0 ? '07' : '08') . ':30:00+00:00' }
                -2 .. 1 ],
          "at 09:30 across $autumn: 07:30 UTC, then 08:30 UTC; "
          . 'UNTIL is the last day');

my $monthly = task();
made(repeat($monthly, rule => 'FREQ=MONTHLY;BYMONTHDAY=31',
            start_date => "$Y-01-01"), 'the 31st');
is(day_list($monthly, "$Y-01-01", 7),
   join(' ', map { "$Y-$_-31" } qw(01 03 05 07 08 10 12)),
   'monthly on the 31st: the months without one have no date');

made(repeat($monthly, rule => 'FREQ=MONTHLY;BYMONTHDAY=-1',
            start_date => ($L - 1) . '-11-01'), 'the last');
is(day_list($monthly, ($L - 1) . '-11-01', 6),
   ($L - 1) . '-11-30 ' . ($L - 1) . "-12-31 $L-01-31 $L-02-29 $L-03-31 "
   . "$L-04-30",
   "BYMONTHDAY=-1: each month's last day, 29 February in $L");
is(made($ws->api($admin, GET => "/api/v1/tasks/$monthly->{id}/recurrence"),
        'get')->{summary},
   'Monthly on the last day', '... said so');

made(repeat($monthly, rule => 'FREQ=MONTHLY;BYDAY=2TU;COUNT=4',
            start_date => "$Y-01-01"), 'the 2nd Tuesday');
is(day_list($monthly, "$Y-01-01", 10),
   join(' ', map { nth_wday($Y, $_, 2, 2) } 1 .. 4),
   'monthly on the 2nd Tuesday, 4 times');

made(repeat($monthly, rule => 'FREQ=MONTHLY;BYDAY=-1FR',
            start_date => "$Y-01-01"), 'the last Friday');
is(day_list($monthly, "$Y-01-01", 3),
   join(' ', map { last_wday($Y, $_, 5) } 1 .. 3),
   'monthly on the last Friday');

my $weekly = task();
my $w51 = week_monday("$W-W51");
$r = made(repeat($weekly, rule => 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE',
                 start_date => $w51), 'every other week');
is($r->{summary}, 'Every 2 weeks on Mon, Wed', 'the panel\'s summary');
is(day_list($weekly, $w51, 6),
   join(' ', map { days_from($w51, $_) } 0, 2, 14, 16, 28, 30),
   "every other week on Monday and Wednesday: $W-W51, $W-W53, "
   . ($W + 1) . '-W02');

made(repeat($weekly, rule => 'FREQ=WEEKLY', start_date => "$W-12-24"),
     'weekly');
is(day_list($weekly, "$W-12-24", 3), "$W-12-24 $W-12-31 " . ($W + 1) . '-01-07',
   'weekly on the start\'s day, through week 53');

made(repeat($weekly, rule => 'FREQ=YEARLY;COUNT=3',
            start_date => "$L-02-29"), 'leap day');
is(day_list($weekly, "$L-01-01", 5),
   join(' ', map { ($L + $_) . '-02-29' } 0, 4, 8),
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
