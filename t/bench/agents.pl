#!/usr/bin/perl

# The built-in breakdown agent never holds up a worker (BENCH_ONLY=agents
# make bench): an unrelated GET (the project list), asked one after
# another, alone and then while BENCH_AGENT_CALLS breakdown sessions wait
# on a slow model (the loopback fake of Kanban::Receiver, mode "slow": 5 s).
# Each session is opened by delegating a task, and the write that opened
# it wakes the agents' sweep, which starts it (nobody reads the sessions).
# The figure is the GET's p50 and p99 in both, how many sessions asked the
# model on their own, and how long the delegations took.

use strict;
use warnings;

use Kanban::Receiver;
use Kanban::Test;
use Time::HiRes qw(time sleep);

$Kanban::Test::QUIET = 1;

my $CALLS = $ENV{BENCH_AGENT_CALLS} // 40;
my $GETS = $ENV{BENCH_AGENT_GETS} // 300;

my $llm = Kanban::Receiver->new;
my $t = Kanban::Test->new(log_level => 'warn', http => <<"EOF")->run;
kanban_insights_llm_url @{[ $llm->url('/llm/v1/chat/completions') ]};
kanban_insights_llm_timeout 30s;
EOF

my $ws = $t->workspace(prefix => 'agb');
my $admin = $ws->admin;
my $p = $ws->api($admin, POST => '/api/v1/projects',
                 json => { key => 'AGB', name => 'Bench' })->{json};
my $agent = $ws->api($admin, POST => '/api/v1/agents',
                     json => { name => 'Breakdown', kind => 'builtin',
                               builtin => 'breakdown' })->{json};
my @tasks = map {
    $ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
             json => { title => "Task $_" })->{json}
} 1 .. $CALLS;

sub pct {
    my ($q, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($q * $#v + 0.5)];
}

sub gets {
    my @ms;
    for (1 .. $GETS) {
        my $t0 = time;
        my $r = $ws->api($admin, GET => '/api/v1/projects');
        die "GET: $r->{status}\n" unless $r->{status} == 200;
        push @ms, 1000 * (time - $t0);
    }
    return (pct(0.5, @ms), pct(0.99, @ms));
}

my ($p50, $p99) = gets();
printf "agents: an unrelated GET alone: p50 %.1f ms, p99 %.1f ms (%d GETs)\n",
       $p50, $p99, $GETS;

$llm->mode('slow');
my $started = time;
my @kick;
for my $task (@tasks) {
    my $t0 = time;
    my $r = $ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
                     json => { delegate_id => $agent->{id} });
    die "delegate: $r->{status}\n" unless $r->{status} == 200;
    push @kick, 1000 * (time - $t0);
}
my ($w50, $w99) = gets();
my $during = time - $started;
my $asked = grep { $_->{path} =~ m{^/llm/} } $llm->requests;
printf "agents: %d breakdown sessions delegated, %d started on their own "
       . "(asked of the model); the delegations: p50 %.1f ms, p99 %.1f ms\n",
       $CALLS, $asked, pct(0.5, @kick), pct(0.99, @kick);
printf "agents: the same GET while they wait on a 5 s model: p50 %.1f ms, "
       . "p99 %.1f ms (measured within %.1f s of their start)\n",
       $w50, $w99, $during;

$llm->stop;
$t->stop;
