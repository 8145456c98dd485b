#!/usr/bin/perl

# The weekly update's draft by an LLM (issue 19): with one configured (a
# fake OpenAI-compatible server on loopback), GET .../updates/draft offers
# its text, says so (source llm) and keeps the rules' health; the LLM is
# given the project's digest without emails, people or task titles. With
# the LLM slow, down, failing, answering garbage or another shape, the
# rules' draft stands and the answer says why; without one configured the
# draft is the rules' as before (t/portfolio_updates.t).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use Kanban::Test qw(made problem_is);
use Kanban::Receiver;

my $llm = Kanban::Receiver->new;

my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_insights_llm_url @{[ $llm->url('/llm/v1/chat/completions') ]};
kanban_insights_llm_model fake-model;
kanban_insights_llm_timeout 2s;
EOF

my $ws = $t->workspace(prefix => 'draft');
my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $carl = $ws->member('Carl');
my $team = $ws->team('Payments team', $mia, $carl);

sub api { $ws->api(@_) }

# Payments: three tasks blocked, so at risk
my $pay = made(api($mia, POST => '/api/v1/projects',
                   json => { key => 'PAY', name => 'Payments',
                             status => 'active', team_id => $team->{id},
                             owner_id => $mia->{id} }), 'project');
for my $i (1 .. 3) {
    my $k = made(api($mia, POST => "/api/v1/projects/$pay->{id}/tasks",
                     json => { title => "Secret title $i" }), 'task');
    made(api($mia, PATCH => "/api/v1/tasks/$k->{id}",
             json => { blocked => JSON::XS::true(),
                       blocked_reason => 'waiting for the bank' }), 'block');
}
my $draft_url = "/api/v1/projects/$pay->{id}/updates/draft";

# --- the LLM writes it ------------------------------------------------------

$llm->mode('draft');
my $r = api($carl, GET => $draft_url);
is($r->{status}, 200, 'the draft: 200');
is($r->{json}{source}, 'llm', '... written by the LLM');
like($r->{json}{text}, qr/^Payments is at risk: 3 tasks are blocked\./,
     "... its text");
is($r->{json}{health}, 'at_risk', "... the rules' health");
is($r->{json}{llm}{status}, 'completed', '... llm.status completed');
is($r->{json}{llm}{model}, 'fake-model', '... and the model');

my ($call) = grep { $_->{path} =~ m{^/llm/} } $llm->requests;
ok($call, 'the LLM was asked');
is($call->{json}{model}, 'fake-model', '... for the model');
like($call->{json}{messages}[0]{content}, qr/weekly status update/,
     '... to write the weekly update');
my $digest = $call->{json}{messages}[1]{content} // '';
like($digest, qr/blocked_tasks/, '... given the digest with the rules');
like($digest, qr/"health":\s*"at_risk"/, '... and the health');
unlike($digest, qr/\@/, '... without an email');
unlike($digest, qr/Secret title|waiting for the bank|Mia|Carl/,
       '... without task titles or people');

problem_is(api($carl, GET => '/api/v1/projects/'
                             . '00000000-0000-4000-8000-000000000000'
                             . '/updates/draft'),
           404, 'not_found', 'an unknown project: 404');
problem_is(api($carl, GET => '/api/v1/projects/nope/updates/draft'),
           404, 'not_found', 'not a UUID: 404');

# --- the LLM in trouble: the rules' draft stands ----------------------------

for my $case ([ 'slow', 'timed_out' ], [ 'down', 'failed' ],
              [ '500', 'failed' ], [ 'garbage', 'invalid' ],
              [ 'shape', 'invalid' ], [ 'ok', 'invalid' ])
{
    my ($mode, $want) = @$case;
    $llm->mode($mode);
    my $t0 = time;
    my $r = api($carl, GET => $draft_url);
    my $took = time - $t0;
    is($r->{status}, 200, "LLM $mode: 200");
    is($r->{json}{source}, 'rules', "... the rules' draft");
    like($r->{json}{text}, qr/^Payments is at risk\./, '... its text');
    is($r->{json}{llm}{status}, $want, "... llm.status $want");
    ok($r->{json}{llm}{error}, "... and why: $r->{json}{llm}{error}");
    cmp_ok($took, '<', 3, '... within the timeout') if $mode eq 'slow';
}

# --- the worker stays free while the LLM thinks -------------------------------

$llm->mode('slow');
my $slow = $t->send_req(GET => $draft_url, host => $ws->slug,
                        headers => { Authorization => "Bearer $carl->{token}",
                                     Accept => 'application/json' });
Kanban::Test::pump([$slow], 0.2) for 1 .. 3;
my $t0 = time;
is(api($carl, GET => "/api/v1/projects/$pay->{id}")->{status}, 200,
   'another request while the LLM is slow');
cmp_ok(time - $t0, '<', 1, '... answered at once');
Kanban::Test::wait_all([$slow], 10);
is($slow->response->{json}{llm}{status}, 'timed_out',
   'and the slow draft ends as timed_out');

done_testing;
