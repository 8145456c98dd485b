#!/usr/bin/perl

# Model calls never hold up a worker (BENCH_ONLY=ai make bench): an
# unrelated GET (the project list), asked one after another, alone and
# then while BENCH_AI_CALLS update drafts (GET .../updates/draft, each
# waiting on the LLM gateway) are held 5 s by a slow model (the loopback
# fake of Kanban::Receiver, mode "slow-draft"). The figure is the GET's p50 and
# p99 in both, and how long the drafts took (the model's 5 s, not more).

use strict;
use warnings;

use Kanban::Receiver;
use Kanban::Test;
use POSIX qw(_exit);
use Time::HiRes qw(time sleep);

$Kanban::Test::QUIET = 1;

my $CALLS = $ENV{BENCH_AI_CALLS} // 40;
my $GETS = $ENV{BENCH_AI_GETS} // 300;

my $llm = Kanban::Receiver->new;
my $t = Kanban::Test->new(log_level => 'warn', http => <<"EOF")->run;
kanban_insights_llm_url @{[ $llm->url('/llm/v1/chat/completions') ]};
kanban_insights_llm_timeout 30s;
EOF

my $ws = $t->workspace(prefix => 'aib');
my $admin = $ws->admin;
my $p = $ws->api($admin, POST => '/api/v1/projects',
                 json => { key => 'AIB', name => 'Bench' })->{json};

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

$llm->mode('draft');
$ws->api($admin, GET => "/api/v1/projects/$p->{id}/updates/draft");  # warm
my ($p50, $p99) = gets();
printf "ai: an unrelated GET alone: p50 %.1f ms, p99 %.1f ms (%d GETs)\n",
       $p50, $p99, $GETS;

$llm->mode('slow-draft');
my $started = time;
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    my @c = map { $ws->send_api($admin,
                      GET => "/api/v1/projects/$p->{id}/updates/draft") }
            1 .. $CALLS;
    Kanban::Test::wait_all(\@c, 60);
    my $ok = grep { $_->response->{status} == 200
                    && ($_->response->{json}{source} // '') eq 'llm' } @c;
    printf "ai: %d of %d drafts written by the model, all in %.1f s\n",
           $ok, $CALLS, time - $started;
    _exit(0);
}

sleep 1.5;                             # the drafts are waiting on the model
my ($w50, $w99) = gets();
my $during = time - $started;
waitpid $pid, 0;
printf "ai: the same GET while %d drafts wait on a 5 s model: p50 %.1f ms, "
       . "p99 %.1f ms (measured within %.1f s of their start)\n",
       $CALLS, $w50, $w99, $during;

$llm->stop;
$t->stop;
