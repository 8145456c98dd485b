#!/usr/bin/perl

# Productivity and utilisation against a fixture computed by hand: tasks
# with due dates moved to done through the API (their completed_at then set
# in the database, to control the dates), time logged through the API, one
# capacity set by an admin. Who reads a team's figures; the CSV report
# parsed back (RFC 4180 quoting, formula cells defused).
#
# The period is Monday 16 to Friday 20 November 2026: 5 working days, so
# the default capacity is 2400 minutes.
#
#         done  due  on time  logged  capacity  score
#   Dan     4     3     2      1500     1200    .4*4/4 + .3*2/3 + .3*1   = 0.9
#   Eve     2     2     1      1200     2400    .4*2/4 + .3*1/2 + .3*0.5 = 0.5
#   Gina    0     0     -         0     2400    0
#   team    6     5     3      2700     6000    mean 0.4667; on time 0.6,
#                                               utilisation 0.45

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(made problem_is error_for);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'tsr');
my $dbh = $ws->dbh;

my $admin = $ws->admin;
my $gina = $ws->member('Gina', 'project_manager');
my $pam = $ws->member('Pam', 'project_manager');
my $dan = $ws->member('Dan');
my $eve = $ws->member('Eve');
my $gamma = $ws->team('Gamma', $gina, $dan, $eve);
my $other = $ws->team('Other', $pam);

sub api { $ws->api(@_) }

my $P = '/api/v1/timesheets/productivity';
my $U = '/api/v1/timesheets/reports/utilization';
my $period = 'from=2026-11-16&to=2026-11-20';

# --- capacity: admins set it -------------------------------------------------

is(made(api($dan, GET => "/api/v1/users/$dan->{id}"), 'Dan')
       ->{weekly_capacity_minutes}, 2400, 'capacity: 40 hours by default');
problem_is(api($dan, PATCH => "/api/v1/users/$dan->{id}",
               json => { weekly_capacity_minutes => 1 }),
           403, 'forbidden', 'people do not set their own capacity');
problem_is(api($gina, PATCH => "/api/v1/users/$dan->{id}",
               json => { weekly_capacity_minutes => 1 }),
           403, 'forbidden', "nor do their managers");
my $r = api($admin, PATCH => "/api/v1/users/$dan->{id}",
            json => { weekly_capacity_minutes => 10081 });
problem_is($r, 422, 'validation_failed', 'more than a week is 422');
ok(error_for($r, 'weekly_capacity_minutes'), '... naming the field');
is(made(api($admin, PATCH => "/api/v1/users/$dan->{id}",
            json => { weekly_capacity_minutes => 1200 }), 'capacity')
       ->{weekly_capacity_minutes}, 1200, 'an admin sets Dan to 20 hours');

# --- the fixture -------------------------------------------------------------

my $project = made(api($admin, POST => '/api/v1/projects', json => {
    key => 'PROD', name => 'Productivity', team_id => $gamma->{id} }),
    'project');
my ($done) = grep { $_->{category} eq 'done' } @{ made(api($admin,
    GET => "/api/v1/projects/$project->{id}/columns"), 'columns')->{items} };

# task(assignee, due, completed on) — completed undef: still open
sub task {
    my ($who, $due, $completed) = @_;
    my $task = made(api($gina, POST => "/api/v1/projects/$project->{id}/tasks",
                        json => { title => "Task of $who->{name}",
                                  assignee_ids => [ $who->{id} ],
                                  defined $due ? (due_date => $due) : () }),
                    'task');
    return $task unless defined $completed;
    my $moved = made(api($gina, PATCH => "/api/v1/tasks/$task->{id}/move",
                         json => { column_id => $done->{id} }), 'move');
    ok($moved->{completed_at}, "moved to done: completed_at set");
    $dbh->do('UPDATE tasks SET completed_at = ? WHERE id = ?', undef,
             "${completed}T15:00:00Z", $task->{id});
    return $task;
}

task($dan, '2026-11-18', '2026-11-17');      # on time
task($dan, '2026-11-18', '2026-11-19');      # late
task($dan, '2026-11-20', '2026-11-20');      # on the day: on time
task($dan, undef, '2026-11-18');             # no due date
task($dan, '2026-11-30', '2026-11-25');      # after the period
task($dan, '2026-11-19', undef);             # open
task($eve, '2026-11-20', '2026-11-16');      # on time
task($eve, '2026-11-16', '2026-11-17');      # late

sub log_time {
    my ($who, $date, $minutes) = @_;
    made(api($who, POST => '/api/v1/timesheets/entries',
             json => { date => $date, minutes => $minutes,
                       project_id => $project->{id},
                       billable => $minutes == 300 ? JSON::XS::true
                                                   : JSON::XS::false }),
         'time');
}

log_time($dan, '2026-11-16', 600);
log_time($dan, '2026-11-17', 600);
log_time($dan, '2026-11-18', 300);
log_time($dan, '2026-11-23', 480);           # after the period
log_time($eve, '2026-11-19', 1200);

# --- productivity ------------------------------------------------------------

sub near {
    my ($got, $want, $name) = @_;
    ok(defined $got && abs($got - $want) < 0.0001, $name)
        or diag('got ' . ($got // 'null') . ", want $want");
}

$r = api($dan, GET => "$P/me?$period");
is($r->{status}, 200, "Dan's productivity");
my $d = $r->{json};
is($d->{tasks_completed}, 4, 'Dan completed 4 in the period');
near($d->{on_time_rate}, 2 / 3, '... 2 of 3 with a due date on time');
near($d->{utilization_rate}, 1, '... 1500 of 1200 minutes: capped at 1');
near($d->{score}, 0.9, '... score 0.4 + 0.2 + 0.3 = 0.9');
is($d->{from}, '2026-11-16', '... from');
is($d->{to}, '2026-11-20', '... to');

$d = api($eve, GET => "$P/me?$period")->{json};
is($d->{tasks_completed}, 2, 'Eve completed 2');
near($d->{on_time_rate}, 0.5, '... half on time');
near($d->{utilization_rate}, 0.5, '... 1200 of 2400 minutes');
near($d->{score}, 0.5, '... score 0.2 + 0.15 + 0.15 = 0.5 (Dan is the best)');

$d = api($gina, GET => "$P/me?$period")->{json};
is($d->{tasks_completed}, 0, 'Gina completed none');
is($d->{on_time_rate}, undef, '... no on-time rate without due dates');
near($d->{score}, 0, '... score 0');

$d = api($pam, GET => "$P/me?$period")->{json};
near($d->{score}, 0, 'Pam, alone in her team: score 0');

$d = api($dan, GET => "$P/me?from=2026-11-16&to=2026-11-30")->{json};
is($d->{tasks_completed}, 5, 'a longer period counts the later task too');

$r = api($gina, GET => "$P/team/$gamma->{id}?$period");
is($r->{status}, 200, 'Gina reads her team');
my $team = $r->{json};
is($team->{tasks_completed}, 6, 'the team completed 6');
near($team->{on_time_rate}, 0.6, '... 3 of 5 on time');
near($team->{utilization_rate}, 0.45, '... 2700 of 6000 minutes');
near($team->{score}, (0.9 + 0.5 + 0) / 3, '... score: the mean of members');
my %m = map { $_->{user_id} => $_ } @{ $team->{members} };
is(scalar keys %m, 3, '... with its three members');
near($m{ $dan->{id} }{score}, 0.9, '... Dan 0.9');
near($m{ $eve->{id} }{score}, 0.5, '... Eve 0.5');
near($m{ $gina->{id} }{score}, 0, '... Gina 0');
is($m{ $dan->{id} }{capacity_minutes}, 1200, "... Dan's capacity");

is(api($admin, GET => "$P/team/$gamma->{id}?$period")->{status}, 200,
   'an admin reads any team');
problem_is(api($pam, GET => "$P/team/$gamma->{id}?$period"), 403,
           'forbidden', "another team's manager may not");
problem_is(api($dan, GET => "$P/team/$gamma->{id}?$period"), 403,
           'forbidden', 'a contributor may not');
problem_is(api($admin, GET => "$P/team/00000000-0000-4000-8000-000000000000"),
           404, 'not_found', 'no such team');
problem_is(api($dan, GET => "$P/me?from=2026-11-20&to=2026-11-16"), 400,
           'bad_request', 'a backwards period is 400');
problem_is(api($dan, GET => "$P/me?from=soon"), 400, 'bad_request',
           'a malformed date is 400');
problem_is(api(undef, GET => "$P/me"), 401, 'unauthorized', 'no token: 401');
is(api($dan, GET => "$P/me")->{status}, 200, 'no period: the last 30 days');

# --- the utilisation report --------------------------------------------------

# a name a spreadsheet would run as a formula, with a comma and quotes
my $evil = '=HYPERLINK("http://x.example","Eve"), Jr';
made(api($admin, PATCH => "/api/v1/users/$eve->{id}",
         json => { name => $evil }), 'rename Eve');

$r = api($gina, GET => "$U?$period&team_id=$gamma->{id}");
is($r->{status}, 200, 'Gina reads the report of her team');
like($r->{headers}{'content-type'}, qr{^application/json}, '... as JSON');
my %row = map { $_->{user_id} => $_ } @{ $r->{json}{items} };
is(scalar keys %row, 3, '... one row a member');
is($r->{json}{working_days}, 5, '... of 5 working days');
is($row{ $dan->{id} }{logged_minutes}, 1500, 'Dan logged 1500');
is($row{ $dan->{id} }{capacity_minutes}, 1200, '... of 1200');
near($row{ $dan->{id} }{utilization_rate}, 1.25, '... 125 %: not capped');
is($row{ $dan->{id} }{billable_minutes}, 300, '... 300 billable');
is($row{ $eve->{id} }{capacity_minutes}, 2400, 'Eve: 2400');
near($row{ $eve->{id} }{utilization_rate}, 0.5, '... 50 %');
is($r->{json}{total}{logged_minutes}, 2700, 'the total logged');

$r = api($gina, GET => "$U?from=2026-11-16&to=2026-11-22");
is($r->{json}{working_days}, 5, 'a whole week has 5 working days');
is_deeply([ sort map { $_->{user_id} } @{ $r->{json}{items} } ],
          [ sort map { $_->{id} } $gina, $dan, $eve ],
          "without a team: the manager's people");
%row = map { $_->{user_id} => $_ } @{ api($gina,
    GET => "$U?from=2026-11-16&to=2026-11-24&team_id=$gamma->{id}")
    ->{json}{items} };
is($row{ $eve->{id} }{capacity_minutes}, 3360,
   '7 working days: 2400 / 5 * 7 = 3360');
is($row{ $dan->{id} }{logged_minutes}, 1980, '... and the later time counts');
$r = api($admin, GET => "$U?$period");
is(scalar @{ $r->{json}{items} }, 5, 'the admin: everyone');

# CSV
sub parse_csv {
    my ($text) = @_;
    my (@rows, @row, $cell);
    my $i = 0;
    my $n = length $text;
    while ($i < $n) {
        my $c = substr $text, $i, 1;
        if ($c eq '"') {
            $cell = '';
            $i++;
            while ($i < $n) {
                my $q = index $text, '"', $i;
                die "unterminated quote" if $q < 0;
                $cell .= substr $text, $i, $q - $i;
                if (substr($text, $q + 1, 1) eq '"') {
                    $cell .= '"';
                    $i = $q + 2;
                } else {
                    $i = $q + 1;
                    last;
                }
            }
        } else {
            my ($plain) = substr($text, $i) =~ /^([^,\r\n"]*)/;
            $cell = $plain;
            $i += length $plain;
        }
        push @row, $cell;
        my $sep = substr $text, $i, 2;
        if ($sep =~ /^,/) {
            $i++;
        } elsif ($sep eq "\r\n") {
            push @rows, [ @row ];
            @row = ();
            $i += 2;
        } elsif ($i >= $n) {
            push @rows, [ @row ];
        } else {
            die "bad CSV at $i: " . substr($text, $i, 20);
        }
    }
    return \@rows;
}

$r = api($gina, GET => "$U?$period&team_id=$gamma->{id}",
         headers => { Accept => 'text/csv' });
is($r->{status}, 200, 'Accept: text/csv');
is($r->{headers}{'content-type'}, 'text/csv; charset=utf-8',
   '... is text/csv');
like($r->{headers}{'content-disposition'},
     qr/^attachment; filename="utilization-2026-11-16-2026-11-20\.csv"$/,
     '... a download');
like($r->{body}, qr/\r\n\z/, '... lines end in CRLF');
my $csv = eval { parse_csv($r->{body}) };
ok($csv, '... parses as RFC 4180') or diag $@;
is_deeply($csv->[0], [ qw(user_id name email logged_minutes billable_minutes
                          capacity_minutes utilization_rate) ],
          '... header row');
is(scalar @$csv, 4, '... and a row a member');
my %line = map { $_->[0] => $_ } @$csv[1 .. $#$csv];
is_deeply([ @{ $line{ $dan->{id} } }[3 .. 6] ],
          [ 1500, 300, 1200, '1.2500' ], "Dan's figures");
is($line{ $eve->{id} }[1], "'$evil",
   'a formula cell is quoted and starts with an apostrophe');
like($r->{body}, qr/"'=HYPERLINK\(""http/, '... its quotes doubled');
is(scalar(grep { @$_ != 7 } @$csv), 0, 'every row has 7 cells');

problem_is(api($pam, GET => "$U?$period&team_id=$gamma->{id}"), 403,
           'forbidden', "another team's manager: 403");
problem_is(api($dan, GET => "$U?$period"), 403, 'forbidden',
           'a contributor: 403');
problem_is(api($dan, GET => "$U?$period", headers => { Accept => 'text/csv' }),
           403, 'forbidden', '... in CSV too');
problem_is(api($gina, GET => "$U?from=2026-11-20&to=2026-11-16"), 400,
           'bad_request', 'a backwards period: 400');
problem_is(api(undef, GET => $U), 401, 'unauthorized', 'no token: 401');

# --- another workspace -------------------------------------------------------

my $b = $t->workspace(prefix => 'tsr');
problem_is($b->api($b->admin, GET => "$P/team/$gamma->{id}"), 404,
           'not_found', "B's admin, A's team: 404");
is(scalar @{ $b->api($b->admin, GET => $U)->{json}{items} }, 1,
   "B's report has B's one person");
problem_is($t->req(GET => "$P/me", host => $ws->slug,
                   headers => { Authorization => "Bearer $b->{admin}{token}" }),
           401, 'unauthorized', "B's token on A's host");

Kanban::Test->done_testing;
