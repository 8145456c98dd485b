#!/usr/bin/perl

# Analytics against a fixture whose history is known: four tasks made and
# moved through the API, their audit rows and dates then set to a week
# three to four weeks before today (Sunday to Saturday, so that the
# finished tasks fall in one ISO week and the week lies within the default
# "last 30 days" on any date), so that every figure of the project overview (categories,
# created and completed per day, throughput per ISO week, cycle time p50
# and p85, cumulative flow, overdue) can be worked out by hand. The
# workspace figures count people, tasks and human share-link visits.
# Periods are checked, the tenant view is for admins, and ids of another
# workspace mean nothing.

use strict;
use warnings;

use Test::More;
use Kanban::Clock qw(today days_from monday iso_week);
use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'stats');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $carl = $ws->member('Carl');

# day(1) is a Sunday 21 to 27 days ago; day(7) the Saturday after it
my $sunday = days_from(monday(days_from(today(), -20)), -1);
sub day { days_from($sunday, $_[0] - 1) }

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'STA', name => 'Stats' }),
                   'project');
my %column = map { $_->{category} => $_->{id} }
    @{ made($ws->api($admin, GET => "/api/v1/projects/$project->{id}/columns"),
            'columns')->{items} };

my %task;
for my $name (qw(A B C D)) {
    $task{$name} = made($ws->api($admin,
        POST => "/api/v1/projects/$project->{id}/tasks",
        json => { title => "Task $name",
                  $name eq 'D' ? (due_date => day(6)) : () }),
        "task $name");
}

sub move {
    my ($name, $category) = @_;
    made($ws->api($admin, PATCH => "/api/v1/tasks/$task{$name}{id}/move",
                  json => { column_id => $column{$category} }),
         "move $name to $category");
}

move(A => 'in_progress');
move(A => 'done');
move(B => 'in_progress');
move(C => 'done');

# The history, in UTC: A made day 1 10:00, started day 2 10:00, done day 4
# 10:00 (48 h from start); C made day 2 00:00, done day 3 12:00 without
# being started (36 h from creation); B made day 3 09:00, started day 5
# 09:00; D made day 5 09:00, due day 6, never moved.
sub at {
    my ($name, $action, $category, $time) = @_;
    my $n = $dbh->do(
        q{UPDATE activity_log SET created_at = ?::timestamptz
           WHERE entity_type = 'task' AND entity_id = ? AND action = ?
             AND new_values->>'category' = ?},
        undef, $time, $task{$name}{id}, $action, $category);
    die "no $action row of $name into $category" unless $n == 1;
}

for (['A', day(1) . ' 10:00Z', undef],
     ['B', day(3) . ' 09:00Z', undef],
     ['C', day(2) . ' 00:00Z', day(3) . ' 12:00Z'],
     ['D', day(5) . ' 09:00Z', undef])
{
    my ($name, $created, $completed) = @$_;
    $dbh->do(q{UPDATE tasks SET created_at = ?::timestamptz WHERE id = ?},
             undef, $created, $task{$name}{id});
    at($name, 'created', 'backlog', $created);
    $dbh->do(q{UPDATE tasks SET completed_at = ?::timestamptz WHERE id = ?},
             undef, $completed, $task{$name}{id}) if $completed;
}
at(A => 'moved', 'in_progress', day(2) . ' 10:00Z');
at(A => 'moved', 'done', day(4) . ' 10:00Z');
$dbh->do(q{UPDATE tasks SET completed_at = ?::timestamptz WHERE id = ?},
         undef, day(4) . ' 10:00Z', $task{A}{id});
at(B => 'moved', 'in_progress', day(5) . ' 09:00Z');
at(C => 'moved', 'done', day(3) . ' 12:00Z');

# --- the project overview ------------------------------------------------------

my $path = "/api/v1/analytics/projects/$project->{id}/overview";
my $r = $ws->api($carl, GET => "$path?from=" . day(1) . "&to=" . day(7));
is($r->{status}, 200, 'a contributor reads the overview of a week');
my $o = $r->{json};

is_deeply($o->{tasks_by_category},
          { backlog => 1, todo => 0, in_progress => 1, review => 0,
            done => 2 },
          'tasks by category, as they are now');

sub per_day {
    my ($series) = @_;
    return { map { $_->{date} => $_->{count} } @$series };
}

is_deeply(per_day($o->{created_per_day}),
          { day(1) => 1, day(2) => 1, day(3) => 1,
            day(4) => 0, day(5) => 1, day(6) => 0,
            day(7) => 0 },
          'created per day, every day of the period');
is_deeply(per_day($o->{completed_per_day}),
          { day(1) => 0, day(2) => 0, day(3) => 1,
            day(4) => 1, day(5) => 0, day(6) => 0,
            day(7) => 0 },
          'completed per day');
is_deeply($o->{throughput_per_week}, [ { week => iso_week(day(2)), completed => 2 } ],
          'throughput per ISO week');
is_deeply($o->{cycle_time_hours}, { p50 => 42, p85 => 46.2, tasks => 2 },
          'cycle time: p50 and p85 of 48 h and 36 h');

my %flow = map { $_->{date} => $_ } @{ $o->{cumulative_flow} };
sub flow_is {
    my ($date, %want) = @_;
    my %all = (backlog => 0, todo => 0, in_progress => 0, review => 0,
               done => 0, %want);
    my %got = %{ $flow{$date} // {} };
    delete $got{date};
    is_deeply(\%got, \%all, "cumulative flow on $date");
}
flow_is(day(1), backlog => 1);
flow_is(day(2), backlog => 1, in_progress => 1);
flow_is(day(3), backlog => 1, in_progress => 1, done => 1);
flow_is(day(4), backlog => 1, done => 2);
flow_is(day(5), backlog => 1, in_progress => 1, done => 2);
flow_is(day(7), backlog => 1, in_progress => 1, done => 2);
is(scalar @{ $o->{cumulative_flow} }, 7, '... one entry a day');

is($o->{overdue}{count}, 1, 'one task overdue');
is($o->{overdue}{tasks}[0]{key}, 'STA-4', '... D, by its key');

$r = $ws->api($carl, GET => "$path?from=" . day(5) . "&to=" . day(7));
is_deeply($r->{json}{cycle_time_hours}, { p50 => undef, p85 => undef,
                                          tasks => 0 },
          'no task finished in a period: no cycle time');

$r = $ws->api($carl, GET => $path);
is(scalar @{ $r->{json}{created_per_day} }, 30,
   'by default the last 30 days');

problem_is($ws->api($carl, GET => "$path?from=" . day(7) . "&to=" . day(1)),
           400, 'bad_request', 'a period that ends before it starts: 400');
problem_is($ws->api($carl, GET => "$path?from=2025-01-01&to=2026-11-01"),
           400, 'bad_request', 'a period over 366 days: 400');
problem_is($ws->api($carl, GET => "$path?from=yesterday"),
           400, 'bad_request', 'a date that is not one: 400');
problem_is($ws->api($carl, GET =>
               '/api/v1/analytics/projects/00000000-0000-4000-8000-'
               . '000000000000/overview'),
           404, 'not_found', 'an unknown project: 404');
problem_is($ws->api(undef, GET => $path), 401, 'unauthorized',
           'no token: 401');

# --- the workspace --------------------------------------------------------------

my $link = made($ws->api($carl, POST => '/api/v1/share-links',
                         json => { task_id => $task{A}{id} }), 'link');
for my $agent ('Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
               'Mozilla/5.0 (Macintosh) Safari/605.1.15')
{
    is($ws->api(undef, GET => "/s/$link->{code}",
                headers => { 'User-Agent' => $agent })->{status},
       302, 'a visit of a share link');
}
# a chat app's crawler gets the task's preview, and is not counted
is($ws->api(undef, GET => "/s/$link->{code}",
            headers => { 'User-Agent' =>
                'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' })
   ->{status}, 200, 'a crawler\'s visit: the preview');

my $tenant;
for (1 .. 40) {            # visits reach PostgreSQL within a second or so
    $tenant = made($ws->api($admin, GET => '/api/v1/analytics/tenant'),
                   'tenant analytics');
    last if $tenant->{link_visits} == 2;
    select undef, undef, undef, 0.1;
}
is($tenant->{link_visits}, 2, 'the workspace: two visits by people, '
                              . 'the crawler left out');
is($tenant->{active_users}, 2, '... two people active (admin, Carl)');
is($tenant->{tasks_created}, 4, '... four tasks made in the last 30 days');
my ($today) = grep { $_->{link_visits} } @{ $tenant->{per_day} };
ok($today && $today->{link_visits} == 2, '... per day');

$r = $ws->api($admin, GET => '/api/v1/analytics/tenant?from=' . day(1)
                             . '&to=' . day(7));
is($r->{json}{tasks_created}, 4, 'in the fixture week: four tasks made');
is($r->{json}{tasks_completed}, 2, '... two finished');

problem_is($ws->api($carl, GET => '/api/v1/analytics/tenant'), 403,
           'forbidden', 'the workspace figures are for admins');

# --- another workspace ----------------------------------------------------------

my $other = $t->workspace(prefix => 'other');
problem_is($other->api($other->admin, GET => $path), 404, 'not_found',
           "another workspace's admin: the project does not exist there");
$r = $other->api($other->admin, GET => '/api/v1/analytics/tenant');
is($r->{json}{link_visits}, 0, '... and its figures are its own');

$t->done_testing;
