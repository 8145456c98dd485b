#!/usr/bin/perl

# One timeline across projects (issue 24): links between tasks of
# different projects (finish-to-start with a lag), refused when they
# close a cycle as dependencies within a project are; a task's new dates
# shift its dependents (previewed, applied on confirmation, or by
# themselves in a project that opts in); the critical path; baselines,
# and the schedule-slippage rule measured against one.
#
# The three-project chain, worked out by hand (dates count both ends; a
# successor may start lag + 1 days after its predecessor's due date):
#
#   ALP-1  03-01 .. 03-05
#   BET-1  03-08 .. 03-10   after ALP-1, lag 2: 03-05 + 1 + 2 = 03-08
#   GAM-1  03-11 .. 03-15   after BET-1, lag 0: 03-10 + 1     = 03-11
#   BET-2  03-12 .. 03-12   after ALP-1, lag 0: could start 03-06
#
# The portfolio finishes 03-15 (GAM-1). ALP-1, BET-1 and GAM-1 have no
# slack: the critical path. BET-2 has three days.
#
# ALP-1 due 03-08 (three days later): BET-1 must start 03-08 + 3 = 03-11,
# shifted 3 to 03-11 .. 03-13; GAM-1 must start 03-14, shifted 3 to
# 03-14 .. 03-18; BET-2 (could start 03-09, starts 03-12) stays.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(made problem_is);
use Kanban::Clock qw(today days_from);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'timeline');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $carl = $ws->member('Carl');

sub api { $ws->api(@_) }

my $today = today();

# ALP is late by the old rule (90% of its time gone, nothing done); the
# others have barely started
my %p;
for (['ALP', -90, 10], ['BET', -1, 100], ['GAM', -1, 100]) {
    my ($key, $from, $to) = @$_;
    $p{$key} = made(api($mia, POST => '/api/v1/projects',
                        json => { key => $key, name => "Project $key",
                                  status => 'active',
                                  start_date => days_from($today, $from),
                                  due_date => days_from($today, $to) }),
                    "project $key");
}

sub task {
    my ($key, $title, $start, $due) = @_;
    return made(api($mia, POST => "/api/v1/projects/$p{$key}{id}/tasks",
                    json => { title => $title,
                              start_date => "2030-$start",
                              due_date => "2030-$due" }), $title);
}

my $a1 = task('ALP', 'Order servers', '03-01', '03-05');
my $a2 = task('ALP', 'Rack servers', '03-02', '03-03');
my $b1 = task('BET', 'Install platform', '03-08', '03-10');
my $b2 = task('BET', 'Write runbook', '03-12', '03-12');
my $c1 = task('GAM', 'Migrate payments', '03-11', '03-15');

sub link_ {
    my ($who, $task, $on, $lag) = @_;
    return api($who, POST => "/api/v1/tasks/$task->{id}/predecessors",
               json => { depends_on_id => $on->{id},
                         defined $lag ? (lag_days => $lag) : () });
}

# --- links across projects ---------------------------------------------------

my $r = link_($mia, $b1, $a1, 2);
is($r->{status}, 201, 'a task depends on a task of another project');
is_deeply([@{ $r->{json} }{qw(task_id depends_on_id lag_days cross_project)}],
          [$b1->{id}, $a1->{id}, 2, JSON::XS::true()],
          '... finish-to-start with a lag of two days');
is($r->{headers}{location}, "/api/v1/tasks/$b1->{id}/dependencies/$a1->{id}",
   '... and where it is');
made(link_($mia, $c1, $b1), 'GAM-1 after BET-1');
made(link_($mia, $b2, $a1, 0), 'BET-2 after ALP-1');

problem_is(link_($mia, $a1, $c1), 422, 'dependency_cycle',
           'a link closing a cycle through three projects is refused');
made(link_($mia, $a2, $c1, 0), 'ALP-2 after GAM-1');
problem_is(api($mia, POST => "/api/v1/tasks/$a1->{id}/dependencies",
               json => { depends_on_id => $a2->{id} }),
           422, 'dependency_cycle',
           '... and so is a dependency within a project that closes one '
           . 'through the others');
is(api($mia, DELETE => "/api/v1/tasks/$a2->{id}/dependencies/$c1->{id}")
       ->{status}, 204, 'a link is removed as any dependency is');

problem_is(link_($mia, $b1, $a1, 400), 422, 'validation_failed',
           'a lag over a year is refused');
problem_is(link_($mia, $b1, { id => '00000000-0000-4000-8000-000000000000' }),
           422, 'validation_failed', 'a link to no task is refused');
problem_is(link_($carl, $b1, $a1), 403, 'forbidden',
           'a contributor links only the tasks they may change');

# --- the timeline and the critical path ------------------------------------

sub timeline { made(api($carl, GET => '/api/v1/portfolio/timeline'),
                    'timeline') }
sub tasks_of {
    my ($tl) = @_;
    return { map { $_->{key} => $_ } map { @{ $_->{tasks} } }
             @{ $tl->{projects} } };
}
sub dates {
    my ($tl) = @_;
    my $k = tasks_of($tl);
    return { map { $_ => "$k->{$_}{start_date}..$k->{$_}{due_date}" }
             keys %$k };
}

my $tl = timeline();
is_deeply([map { $_->{key} } @{ $tl->{projects} }], [qw(ALP BET GAM)],
          'the timeline has every project');
is_deeply(dates($tl),
          { 'ALP-1' => '2030-03-01..2030-03-05',
            'ALP-2' => '2030-03-02..2030-03-03',
            'BET-1' => '2030-03-08..2030-03-10',
            'BET-2' => '2030-03-12..2030-03-12',
            'GAM-1' => '2030-03-11..2030-03-15' }, '... with its tasks dated');
is_deeply([sort map { "$_->{task_id}<$_->{depends_on_id}+$_->{lag_days}"
                      . ($_->{cross_project} ? ' cross' : '') }
           @{ $tl->{links} }],
          [sort "$b1->{id}<$a1->{id}+2 cross", "$c1->{id}<$b1->{id}+0 cross",
                "$b2->{id}<$a1->{id}+0 cross"], '... and the links');
is($tl->{finish}, '2030-03-15', 'the portfolio finishes with GAM-1');
is_deeply($tl->{critical_path}, [$a1->{id}, $b1->{id}, $c1->{id}],
          'the critical path: ALP-1, BET-1, GAM-1');
my $k = tasks_of($tl);
ok(!$k->{'BET-2'}{critical} && !$k->{'ALP-2'}{critical},
   '... not the tasks with slack');
ok($k->{'BET-1'}{critical}, '... each of its tasks marked');
is_deeply([sort map { $_->{critical} ? 1 : 0 } @{ $tl->{links} }], [0, 1, 1],
          '... and its two links');

# --- moving a task: the preview, then the confirmation ----------------------

my $preview = "/api/v1/tasks/$a1->{id}/reschedule?due_date=2030-03-08";
$r = made(api($carl, GET => $preview), 'preview');
is_deeply([map { "$_->{key} $_->{new_start_date}..$_->{new_due_date} "
                 . "+$_->{shift_days}" } @{ $r->{shifts} }],
          ['BET-1 2030-03-11..2030-03-13 +3', 'GAM-1 2030-03-14..2030-03-18 +3'],
          'ALP-1 three days later shifts BET-1 and GAM-1 by three, not BET-2');
ok(!$r->{applied}, '... a preview');
is(dates(timeline())->{'BET-1'}, '2030-03-08..2030-03-10',
   '... that writes nothing');
problem_is(api($carl, GET => "/api/v1/tasks/$a1->{id}/reschedule"
                             . '?due_date=2030-02-01'), 422,
           'validation_failed', 'a due date before the start is refused');

problem_is(api($carl, POST => "/api/v1/tasks/$a1->{id}/reschedule",
               json => { due_date => '2030-03-08' }), 403, 'forbidden',
           'a contributor may not shift tasks that are not theirs');
is(dates(timeline())->{'ALP-1'}, '2030-03-01..2030-03-05',
   '... and nothing moved');

$r = made(api($mia, POST => "/api/v1/tasks/$a1->{id}/reschedule",
              json => { due_date => '2030-03-08' }), 'apply');
ok($r->{applied}, 'confirmed, the move is applied');
$tl = timeline();
is_deeply(dates($tl),
          { 'ALP-1' => '2030-03-01..2030-03-08',
            'ALP-2' => '2030-03-02..2030-03-03',
            'BET-1' => '2030-03-11..2030-03-13',
            'BET-2' => '2030-03-12..2030-03-12',
            'GAM-1' => '2030-03-14..2030-03-18' },
          '... to the task and its dependents, as previewed');
is_deeply($tl->{critical_path}, [$a1->{id}, $b1->{id}, $c1->{id}],
          '... the chain still critical');
is($dbh->selectrow_array(
       "SELECT count(*) FROM activity_log WHERE action = 'rescheduled'"),
   3, '... each change in the activity log');
is(made(api($mia, GET => "/api/v1/tasks/$c1->{id}"), 'task')->{due_date},
   '2030-03-18', "... and in the task's own document");

# --- a project that opts in follows by itself -------------------------------

problem_is(api($carl, PUT => "/api/v1/projects/$p{GAM}{id}/schedule",
               json => { auto_shift => JSON::XS::true() }), 403, 'forbidden',
           'a contributor may not opt a project in');
made(api($mia, PUT => "/api/v1/projects/$p{GAM}{id}/schedule",
         json => { auto_shift => JSON::XS::true() }), 'opt in');

made(api($mia, PATCH => "/api/v1/tasks/$b1->{id}",
         json => { due_date => '2030-03-15' }), 'BET-1 two days longer');
is(dates(timeline())->{'GAM-1'}, '2030-03-16..2030-03-20',
   'GAM-1 follows BET-1 by itself: two days later');

made(api($mia, PATCH => "/api/v1/tasks/$a1->{id}",
         json => { due_date => '2030-03-10' }), 'ALP-1 two days longer');
is_deeply([@{ dates(timeline()) }{qw(BET-1 GAM-1)}],
          ['2030-03-11..2030-03-15', '2030-03-16..2030-03-20'],
          'BET-1 (not opted in) stays, and so does GAM-1 after it');

# --- baselines and slippage ---------------------------------------------------

sub rules {
    my ($key) = @_;
    my $h = made(api($mia, GET => "/api/v1/projects/$p{$key}{id}/health"),
                 'health');
    return { map { $_->{rule} => $_ } @{ $h->{reasons} } };
}

ok(rules('ALP')->{schedule_slippage},
   'without a baseline ALP slips by the old rule (90% of the time gone)');
ok(!rules('GAM')->{schedule_slippage}, '... GAM does not');

problem_is(api($carl, POST => '/api/v1/portfolio/baselines',
               json => { name => 'Plan' }), 403, 'forbidden',
           'a contributor may not save a baseline');
problem_is(api($mia, POST => '/api/v1/portfolio/baselines',
               json => { name => '' }), 422, 'validation_failed',
           'a baseline needs a name');
$r = api($mia, POST => '/api/v1/portfolio/baselines',
         json => { name => 'Plan of record' });
is($r->{status}, 201, 'a project manager saves a baseline');
is($r->{json}{tasks}, 5, '... of every dated task');
is_deeply([map { $_->{name} } @{ made(api($carl, GET =>
              '/api/v1/portfolio/baselines'), 'list')->{items} }],
          ['Plan of record'], '... listed');

ok(!rules('ALP')->{schedule_slippage},
   'with a baseline, ALP does not slip: its finish is the baseline\'s');

made(api($mia, POST => "/api/v1/tasks/$c1->{id}/reschedule",
         json => { start_date => '2030-03-18', due_date => '2030-03-22' }),
     'GAM-1 two days later');
my $slip = rules('GAM')->{schedule_slippage};
ok($slip, 'GAM-1 two days later: GAM slips');
is_deeply([@{ $slip->{evidence}{figures} }{qw(baseline_finish
                                               current_finish slip_days)}],
          ['2030-03-20', '2030-03-22', 2], '... two days past the baseline');

$tl = timeline();
my ($gam) = grep { $_->{key} eq 'GAM' } @{ $tl->{projects} };
is($gam->{slippage}{slip_days}, 2, 'the timeline shows the slippage');
is_deeply([@{ tasks_of($tl)->{'GAM-1'} }{qw(baseline_due_date due_date)}],
          ['2030-03-20', '2030-03-22'], '... and the baseline bar of GAM-1');

# a project's own baseline is the latest for it
made(api($mia, POST => '/api/v1/portfolio/baselines',
         json => { name => 'GAM replanned', project_id => $p{GAM}{id} }),
     'project baseline');
ok(!rules('GAM')->{schedule_slippage},
   "replanned: GAM is measured against its own newer baseline");

done_testing;
