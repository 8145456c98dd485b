#!/usr/bin/perl

# Insights: POST /api/v1/insights/analyze answers 202 at once and the
# worker makes the analysis: the five rules with their evidence (tasks,
# people, milestones, figures), a summary written from the data, and the
# answer of an LLM (a fake OpenAI-compatible server on loopback) given a
# digest without emails, validated; with the LLM slow, down, answering
# garbage or another shape, the result says so and the rules stand; with
# none configured too. The result is stored, readable as the latest of
# its kind, and published (insight.generated).

use strict;
use warnings;

use File::Temp qw(tempfile);
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Clock qw(today days_from);
use Kanban::Test;
use Kanban::Receiver;

my $llm = Kanban::Receiver->new;
my (undef, $keyfile) = tempfile('llm-key-XXXXXX', TMPDIR => 1, UNLINK => 1);
Kanban::Test::write_file($keyfile, "sk-test-0123456789\n");

my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_insights_llm_url @{[ $llm->url('/llm/v1/chat/completions') ]};
kanban_insights_llm_model fake-model;
kanban_insights_llm_key_file $keyfile;
kanban_insights_llm_timeout 2s;
EOF

my $ws = $t->workspace(prefix => 'ins');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $carl = $ws->member('Carl');
my $team = $ws->team('Payments team', $carl);

sub api { $ws->api(@_) }

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}" unless $r->{status} =~ /^20[012]$/;
    return $r->{json};
}

sub day { days_from(today(), $_[0]) }

# Payments: three quarters of its time gone, nothing done, 3 tasks
# blocked, a milestone overdue, its team (Carl) over 90 % busy
my $pay = made(api($admin, POST => '/api/v1/projects',
                   json => { key => 'PAY', name => 'Payments',
                             team_id => $team->{id}, status => 'active',
                             start_date => day(-30), due_date => day(10) }),
               'project');
my @tasks = map { made(api($admin, POST => "/api/v1/projects/$pay->{id}/tasks",
                           json => { title => "Pay $_" }), 'task') } 1 .. 6;
for my $k (@tasks[0 .. 2]) {
    made(api($admin, PATCH => "/api/v1/tasks/$k->{id}",
             json => { blocked => JSON::XS::true(),
                       blocked_reason => 'waiting for the bank' }), 'block');
}
my $late = made(api($admin, POST => "/api/v1/projects/$pay->{id}/milestones",
                    json => { name => 'Go-live', due_date => day(-2) }),
                'milestone');
for my $d (-13 .. 0) {
    my $date = day($d);
    my $dow = (gmtime Kanban::Clock::noon_of($date))[6];
    next if $dow == 0 || $dow == 6;
    made(api($carl, POST => '/api/v1/timesheets/entries',
             json => { date => $date, minutes => 540,
                       task_id => $tasks[3]{id} }), "time on $date");
}

# Ledger: fewer tasks done each of the last three weeks
my $led = made(api($admin, POST => '/api/v1/projects',
                   json => { key => 'LED', name => 'Ledger',
                             status => 'active' }), 'project');
my @done = map { made(api($admin, POST => "/api/v1/projects/$led->{id}/tasks",
                          json => { title => "Led $_" }), 'task') } 1 .. 6;
my @ago = (15, 15, 15, 8, 8, 1);             # days before this week's Monday
for my $i (0 .. 5) {
    $dbh->do("UPDATE tasks SET completed_at = day_start(date_trunc('week',
                  workspace_today())::date - ?::int) + interval '12 hours'
              WHERE id = ?", undef, $ago[$i], $done[$i]{id});
}

sub analyze {
    my (%body) = @_;
    my $t0 = time;
    my $r = api($admin, POST => '/api/v1/insights/analyze', json => \%body);
    return ($r, time - $t0);
}

sub result_of {
    my ($id, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    my $r;
    while (time < $deadline) {
        $r = api($admin, GET => "/api/v1/insights/analyze/$id")->{json};
        return $r if $r->{status} =~ /^(completed|failed)$/;
        sleep 0.1;
    }
    return $r;
}

# --- refusals ------------------------------------------------------------------

is(api($admin, POST => '/api/v1/insights/analyze',
       json => { project_id => $pay->{id}, kind => 'horoscope' })->{status},
   422, 'an unknown kind');
is(api($admin, POST => '/api/v1/insights/analyze',
       json => { project_id => '00000000-0000-4000-8000-000000000000',
                 kind => 'risk_assessment' })->{status},
   422, 'an unknown project');
is(api($admin, GET => "/api/v1/insights/projects/$pay->{id}/risks")->{status},
   404, 'no risk assessment yet');

# --- the LLM answers -----------------------------------------------------------

$llm->mode('ok');
my ($r, $took) = analyze(project_id => $pay->{id}, kind => 'risk_assessment');
is($r->{status}, 202, 'an analysis is accepted');
is($r->{json}{status}, 'pending', '... pending');
cmp_ok($took, '<', 0.5, '... at once');

my $a = result_of($r->{json}{id});
is($a->{status}, 'completed', 'it completes');
is($a->{model}, 'fake-model', '... with the model named');
my %rule = map { $_->{rule} => $_ } @{ $a->{result}{risks} };
is_deeply([ sort keys %rule ],
          [ qw(blocked_tasks overdue_milestones schedule_slippage
               team_utilisation) ], 'the four rules Payments breaks');
is_deeply([ sort map { $_->{key} } @{ $rule{blocked_tasks}{evidence}{tasks} } ],
          [ sort map { $_->{key} } @tasks[0 .. 2] ],
          'blocked_tasks: which tasks');
is($rule{overdue_milestones}{evidence}{milestones}[0]{id}, $late->{id},
   'overdue_milestones: which milestone');
cmp_ok($rule{schedule_slippage}{evidence}{figures}{time_elapsed_pct}, '>', 50,
       'schedule_slippage: the time gone');
is($rule{schedule_slippage}{evidence}{figures}{work_done_pct}, 0,
   '... and the work done');
my ($who) = @{ $rule{team_utilisation}{evidence}{people} };
is($who->{id}, $carl->{id}, 'team_utilisation: who');
cmp_ok($who->{utilisation}, '>', 0.9, '... and how busy');
ok(!exists $who->{email}, '... no email');
like($a->{result}{summary}, qr/Payments/, 'a summary from the data');
is($a->{result}{llm}{status}, 'completed', "the LLM's part: completed");
is($a->{result}{llm}{answer}{risks}[0]{severity}, 'high',
   '... its answer, validated');

my ($call) = grep { $_->{path} =~ m{^/llm/} } $llm->requests;
ok($call, 'the LLM was asked');
is($call->{headers}{authorization}, 'Bearer sk-test-0123456789',
   '... with the key of the key file');
is($call->{json}{model}, 'fake-model', '... for the model');
my $digest = $call->{json}{messages}[1]{content} // '';
like($digest, qr/schedule_slippage/, '... given the digest');
unlike($digest, qr/\@/, '... without an email');
unlike($digest, qr/Pay 1|waiting for the bank|Carl/,
       '... without titles or names');

my $latest = api($admin, GET => "/api/v1/insights/projects/$pay->{id}/risks");
is($latest->{status}, 200, 'the latest risk assessment');
is($latest->{json}{id}, $a->{id}, '... is this one');

my ($ev) = $dbh->selectrow_array(
    "SELECT data->>'id' FROM events WHERE type = 'insight.generated'
      ORDER BY id DESC LIMIT 1");
is($ev, $a->{id}, 'insight.generated is in the event log');

# --- the portfolio, no LLM trouble: the velocity rule ------------------------

is(api($carl, GET => '/api/v1/insights/portfolio/summary')->{status}, 404,
   'no portfolio summary yet: 404');
($r) = analyze(project_id => 'portfolio', kind => 'executive_summary');
$a = result_of($r->{json}{id});
is($a->{status}, 'completed', 'the portfolio: completed');
my ($vel) = grep { $_->{rule} eq 'declining_velocity' } @{ $a->{result}{risks} };
ok($vel, 'declining_velocity for Ledger');
is($vel && $vel->{project}{key}, 'LED', '... named');
is_deeply($vel && $vel->{evidence}{figures}{done_per_week}, [3, 2, 1],
          '... 3, 2, 1 done in the last three weeks');
like($a->{result}{summary}, qr/2 active projects/, 'a portfolio summary');

# the portfolio's latest, as its dashboard reads it first
my $latest_p = api($carl, GET => '/api/v1/insights/portfolio/summary');
is($latest_p->{status}, 200, 'the latest portfolio summary, for any member');
is($latest_p->{json}{id}, $a->{id}, '... is this one');
is($latest_p->{json}{project_id}, undef, '... of the portfolio');

# --- the LLM slow, down, answering garbage or another shape -------------------

for my $case ([ 'slow', 'timed_out' ], [ 'down', 'failed' ],
              [ '500', 'failed' ], [ 'garbage', 'invalid' ],
              [ 'shape', 'invalid' ])
{
    my ($mode, $want) = @$case;
    $llm->mode($mode);
    my ($r, $took) = analyze(project_id => $pay->{id},
                             kind => 'progress_analysis');
    cmp_ok($took, '<', 0.5, "LLM $mode: the request answers at once");
    my $a = result_of($r->{json}{id}, 10);
    is($a->{status}, 'completed', "LLM $mode: completed");
    is($a->{result}{llm}{status}, $want, "... the LLM's part: $want");
    ok($a->{result}{llm}{error}, "... and why: $a->{result}{llm}{error}");
    ok(!exists $a->{result}{llm}{answer}, '... no answer kept');
    is(scalar @{ $a->{result}{risks} }, 4, '... the rules stand');
    ok(!defined $a->{model}, '... no model credited');
}

is(api($admin, GET => "/api/v1/insights/projects/$pay->{id}/progress-insights")
   ->{json}{result}{llm}{status}, 'invalid', 'the latest progress analysis');

$t->stop;

# --- no LLM configured -----------------------------------------------------------

my $plain = Kanban::Test->new->run;
$r = $plain->req(POST => '/api/v1/insights/analyze', host => $ws->slug,
                 headers => { Authorization => "Bearer $admin->{token}" },
                 json => { project_id => $pay->{id},
                           kind => 'recommendations' });
is($r->{status}, 202, 'without an LLM: accepted');
my $deadline = time + 10;
my $got;
while (time < $deadline) {
    $got = $plain->req(GET => "/api/v1/insights/analyze/$r->{json}{id}",
                       host => $ws->slug,
                       headers => { Authorization => "Bearer $admin->{token}" })
        ->{json};
    last if $got->{status} eq 'completed';
    sleep 0.1;
}
is($got->{result}{llm}{status}, 'not_configured', '... the result says so');
like($got->{result}{summary}, qr/First, unblock the blocked tasks/,
     '... a recommendation from the data');
is(scalar @{ $got->{result}{risks} }, 4, '... the rules stand');

# --- who may ask; an analysis whose worker stopped --------------------------

$r = $plain->req(POST => '/api/v1/insights/analyze', host => $ws->slug,
                 headers => { Authorization => "Bearer $carl->{token}" },
                 json => { project_id => 'portfolio',
                           kind => 'executive_summary' });
is($r->{status}, 403, 'a contributor reads insights but cannot ask for one');

# as if the worker that took it had been killed: pending ever since
my ($stuck) = $dbh->selectrow_array(
    "INSERT INTO insights (project_id, kind, status, started_at, created_at)
     VALUES (?, 'risk_assessment', 'running', now() - interval '6 minutes',
             now() - interval '6 minutes') RETURNING id", undef, $pay->{id});
my ($young) = $dbh->selectrow_array(
    "INSERT INTO insights (project_id, kind, created_at)
     VALUES (?, 'risk_assessment', now() - interval '1 minute')
     RETURNING id", undef, $pay->{id});
$got = $plain->req(GET => "/api/v1/insights/analyze/$stuck",
                   host => $ws->slug,
                   headers => { Authorization => "Bearer $carl->{token}" })
    ->{json};
is($got->{status}, 'failed', 'an analysis nobody finished in 5 minutes fails');
like($got->{result}{error}, qr/interrupted/, '... and says why');
is($plain->req(GET => "/api/v1/insights/analyze/$young", host => $ws->slug,
               headers => { Authorization => "Bearer $carl->{token}" })
   ->{json}{status}, 'pending', 'a young one is left to its worker');

$llm->stop;

Kanban::Test->done_testing;
