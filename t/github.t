#!/usr/bin/perl

# The GitHub link, over the real nginx, PostgreSQL and Redis: a project's
# admins and managers link a repository and get its webhook URL and secret
# (once); GitHub's deliveries, built here as GitHub sends them (the payload
# shapes of GitHub's webhook documentation and @octokit/webhooks-examples,
# signed with X-Hub-Signature-256 over the exact body), link pull requests,
# branches and commits to the tasks they name and move the tasks by the
# rules, as GitHub in the audit trail and live on the event stream.
# Unsigned or wrongly signed deliveries are 401 and write nothing; a
# delivery sent again does nothing twice; a key of another workspace links
# nothing; a body over 1 MB is 413.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Kanban::Test qw(made problem_is);
use Kanban::SSE;

my $JSON = $Kanban::Test::JSON;

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'gh');
my $slug = $ws->slug;
my $dbh = $ws->dbh;

sub api { $ws->api(@_) }

my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');
my $alpha = $ws->team('Alpha', $pam, $carl);

my $project = made(api($admin, POST => '/api/v1/projects',
                       json => { key => 'VULN', name => 'Vulnerabilities',
                                 team_id => $alpha->{id} }), 'project');
my $pid = $project->{id};
my %col = map { $_->{category} => $_ }
          @{ api($admin, GET => "/api/v1/projects/$pid/columns")
             ->{json}{items} };

sub task {
    my ($title) = @_;
    return made(api($admin, POST => "/api/v1/projects/$pid/tasks",
                    json => { title => $title, column_id => $col{todo}{id} }),
                'task');
}

sub task_now { made(api($admin, GET => "/api/v1/tasks/$_[0]{id}"), 'task') }

my $t1 = task('Escape the search box');
my $t2 = task('Rate-limit the login form');
my $t3 = task('Rotate the API keys');
my $t4 = task('Pin the TLS versions');

# --- git_branch ----------------------------------------------------------------

is($t1->{key}, 'VULN-1', 'the first task is VULN-1');
is($t1->{git_branch}, 'vuln-1-escape-the-search-box',
   'git_branch: the key in lower case and the title slugged');
my $long = task("\x{c9}t\x{e9}: r\x{e9}\x{e9}crire   le   module d'authentification "
                . 'et tout le reste du code qui va avec, vraiment tout');
like($long->{git_branch}, qr/^vuln-5-t-r-crire-le-module-d-authentification/,
     'git_branch: ASCII only, runs of anything else one dash');
cmp_ok(length $long->{git_branch}, '<=', 60, 'git_branch: 60 characters at most');
unlike($long->{git_branch}, qr/-$/, 'git_branch: no dash at the end');
my $renamed = made(api($admin, PATCH => "/api/v1/tasks/$t4->{id}",
                       json => { title => 'Pin TLS 1.3' }), 'rename');
is($renamed->{git_branch}, 'vuln-4-pin-tls-1-3', 'git_branch follows the title');

# --- who may link, and what --------------------------------------------------------

my $path = "/api/v1/projects/$pid/integrations/github";

problem_is(api($carl, POST => $path, json => { repository => 'acme/vuln' }),
           403, 'forbidden', 'a contributor may not link a repository');
problem_is(api($carl, GET => $path), 403, 'forbidden',
           'nor see the links');
problem_is(api($pam, POST => $path, json => { repository => 'not a repo' }),
           422, 'validation_failed', 'a repository is owner/name');
problem_is(api($pam, POST => $path, json => {}), 422, 'validation_failed',
           'a repository is required');
problem_is(api($pam, POST => $path,
               json => { repository => 'acme/vuln',
                         rules => { review_column_id => $alpha->{id} } }),
           422, 'validation_failed', "a review column is the project's");

my $r = api($pam, POST => $path, json => { repository => 'acme/vuln-tracker' });
is($r->{status}, 201, "the team's project manager links a repository");
my $link = $r->{json};
like($link->{secret}, qr/^ghsec_[0-9a-f]{48}$/, '... the secret shown once');
is($link->{webhook_url}, "http://$slug.localhost:" . $t->port
                         . "/hooks/github/$link->{id}",
   "... the webhook URL on the workspace's host");
is($link->{rules}{review_column_id}, $col{review}{id},
   '... the review column by default the review category');
ok($link->{rules}{move_on_open_to_review} && $link->{rules}{move_on_merge_to_done},
   '... both rules on');
problem_is(api($admin, POST => $path,
               json => { repository => 'acme/vuln-tracker' }),
           409, 'conflict', 'the same repository twice: 409');

my $list = made(api($pam, GET => $path), 'list');
is(scalar @{ $list->{items} }, 1, 'the list has the link');
ok(!exists $list->{items}[0]{secret}, '... and never its secret');
my ($stored) = $dbh->selectrow_array(
    'SELECT secret FROM github_integrations WHERE id = ?', undef, $link->{id});
isnt($stored, $link->{secret}, 'the secret is stored sealed');

my $secret = $link->{secret};
my $hook = "/hooks/github/$link->{id}";

# --- deliveries as GitHub sends them -------------------------------------------------

my $delivery_n = 0;
sub delivery_id {
    return sprintf('%08x-cc78-11e3-81ab-4c9367dc%04x', 0x72d3162e, ++$delivery_n);
}

my %repository = (
    id => 1296269, node_id => 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
    name => 'vuln-tracker', full_name => 'acme/vuln-tracker', private => JSON::XS::false,
    owner => { login => 'acme', id => 1, type => 'Organization' },
    html_url => 'https://github.com/acme/vuln-tracker',
    url => 'https://api.github.com/repos/acme/vuln-tracker',
    default_branch => 'main',
);
my %sender = (login => 'octocat', id => 583231, type => 'User',
              html_url => 'https://github.com/octocat');

# a pull_request payload: the fields GitHub sends that matter here and
# enough of the rest to be its shape
sub pr_payload {
    my (%o) = @_;
    my $n = $o{number};
    return {
        action => $o{action},
        number => $n,
        pull_request => {
            url => "https://api.github.com/repos/acme/vuln-tracker/pulls/$n",
            id => 279147437 + $n, node_id => "MDExOlB1bGxSZXF1ZXN0$n",
            html_url => "https://github.com/acme/vuln-tracker/pull/$n",
            diff_url => "https://github.com/acme/vuln-tracker/pull/$n.diff",
            number => $n,
            state => $o{state} // 'open',
            locked => JSON::XS::false,
            title => $o{title},
            user => { %sender },
            body => $o{body},
            created_at => '2026-12-06T11:00:00Z',
            updated_at => $o{updated_at} // '2026-12-06T11:05:00Z',
            closed_at => $o{merged} || ($o{state} // '') eq 'closed'
                         ? '2026-12-06T11:30:00Z' : undef,
            merged_at => $o{merged} ? '2026-12-06T11:30:00Z' : undef,
            merge_commit_sha => $o{merged} ? 'e5bd3914e2e596debea16f433f57875b5b90bcd6' : undef,
            draft => $o{draft} ? JSON::XS::true : JSON::XS::false,
            head => { label => "octocat:$o{branch}", ref => $o{branch},
                      sha => 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
                      user => { %sender }, repo => { %repository } },
            base => { label => 'acme:main', ref => 'main',
                      sha => 'f95f852bd8fca8fcc58a9a2d6c842781e32a215e',
                      user => { login => 'acme' }, repo => { %repository } },
            author_association => 'MEMBER',
            merged => $o{merged} ? JSON::XS::true : JSON::XS::false,
            mergeable => undef, comments => 0, commits => 1,
            additions => 10, deletions => 2, changed_files => 1,
        },
        repository => { %repository },
        sender => { %sender },
    };
}

# sends a body as GitHub does: JSON, signed with the secret (or as told)
sub deliver {
    my ($event, $payload, %o) = @_;
    my $body = ref $payload ? $JSON->encode($payload) : $payload;
    my $id = $o{delivery} // delivery_id();
    my %h = (
        'Content-Type' => 'application/json',
        'User-Agent' => 'GitHub-Hookshot/044aadd',
        'X-GitHub-Event' => $event,
        'X-GitHub-Delivery' => $id,
        'X-GitHub-Hook-ID' => '292430182',
        'X-Hub-Signature-256' => exists $o{signature} ? $o{signature}
            : 'sha256=' . hmac_sha256_hex($body, $o{secret} // $secret),
    );
    my $res = $t->req(POST => $o{path} // $hook, host => $slug, body => $body,
                      headers => \%h);
    $res->{delivery} = $id;
    return $res;
}

sub links { made(api($carl, GET => "/api/v1/tasks/$_[0]{id}/links"), 'links')->{items} }

sub audit_count {
    my ($sql) = $dbh->selectrow_array('SELECT count(*) FROM activity_log');
    return $sql;
}

# ping, on the hook's creation
$r = deliver(ping => { zen => 'Design for failure.', hook_id => 292430182,
                       hook => { type => 'Repository', id => 292430182,
                                 events => ['pull_request', 'push', 'create'],
                                 config => { content_type => 'json',
                                             url => $link->{webhook_url} } },
                       repository => { %repository }, sender => { %sender } });
is($r->{status}, 200, 'ping: 200');
is($r->{json}{event}, 'ping', '... answered as ping');

# --- forged, unsigned, malformed ----------------------------------------------------------

my $opened1 = pr_payload(action => 'opened', number => 7,
                         title => 'Fixes VULN-1: escape the search box',
                         body => "Escapes the query.\n\nFixes vuln-1",
                         branch => 'vuln-1-escape-the-search-box');
my $before = audit_count();
my ($deliveries_before) = $dbh->selectrow_array(
    'SELECT count(*) FROM github_deliveries');

problem_is(deliver(pull_request => $opened1, signature => undef), 401,
           'unauthorized', 'no X-Hub-Signature-256: 401');
problem_is(deliver(pull_request => $opened1, secret => 'ghsec_not-the-secret'),
           401, 'unauthorized', 'signed with another secret: 401');
my $good = 'sha256=' . hmac_sha256_hex($JSON->encode($opened1), $secret);
problem_is(deliver(pull_request => { %$opened1, action => 'closed' },
                   signature => $good),
           401, 'unauthorized', "another body's signature: 401");
problem_is(deliver(pull_request => $opened1, signature => 'sha1=' . ('0' x 40)),
           401, 'unauthorized', 'a SHA-1 signature alone: 401');
is(audit_count(), $before, '... nothing written');
my ($deliveries_after) = $dbh->selectrow_array(
    'SELECT count(*) FROM github_deliveries');
is($deliveries_after, $deliveries_before, '... no delivery taken');
is(task_now($t1)->{column_id}, $col{todo}{id}, '... the task not moved');

problem_is(deliver(pull_request => '{"action": "opened"'), 422,
           'validation_failed', 'a body that is not JSON: 422');
problem_is(deliver(pull_request => $opened1, delivery => 'not a delivery id!'),
           422, 'validation_failed', 'a malformed X-GitHub-Delivery: 422');
problem_is(deliver(pull_request => $opened1,
                   path => '/hooks/github/00000000-0000-4000-8000-000000000000'),
           404, 'not_found', 'an unknown link: 404');

my $big = '{"zen": "' . ('x' x (1024 * 1024 + 10)) . '"}';
problem_is(deliver(ping => $big), 413, 'payload_too_large',
           'a body over 1 MB: 413');

# --- a pull request opened: linked, moved to review, as GitHub, live ---------------------

my $stream = Kanban::SSE->open($t, $slug, $admin->{token},
                               query => "project_id=$pid");
is($stream->status, 200, 'an event stream is open');

$r = deliver(pull_request => $opened1);
is($r->{status}, 200, 'pull_request opened: 200');
is($r->{json}{linked}, 1, '... one task linked');
is($r->{json}{moved}, 1, '... one task moved');
is(task_now($t1)->{column_id}, $col{review}{id}, '... VULN-1 is in Review');

my $links = links($t1);
is(scalar @$links, 1, 'VULN-1 has one link');
is($links->[0]{kind}, 'pull_request', '... a pull request');
is($links->[0]{url}, 'https://github.com/acme/vuln-tracker/pull/7', '... its URL');
is($links->[0]{number}, 7, '... its number');
is($links->[0]{state}, 'open', '... open');
is($links->[0]{author}, 'octocat', '... by its author');
is($links->[0]{title}, 'Fixes VULN-1: escape the search box', '... its title');

my $moves = made(api($carl, GET => "/api/v1/tasks/$t1->{id}/activity"),
                 'activity')->{items};
my ($move) = grep { $_->{action} eq 'moved' } @$moves;
ok($move, 'the move is in the task\'s audit trail');
is($move->{actor_id}, undef, '... no person did it');
is($move->{actor_name}, 'GitHub', '... GitHub did');
is($move->{new_values}{column_id}, $col{review}{id}, '... to Review');
is($move->{new_values}{pull_request}, 'https://github.com/acme/vuln-tracker/pull/7',
   '... for the pull request');

my $project_activity = made(api($carl, GET => "/api/v1/projects/$pid/activity"),
                            'project activity')->{items};
ok((grep { $_->{action} eq 'moved' && ($_->{actor_name} // '') eq 'GitHub' }
    @$project_activity), "the project's audit trail shows GitHub's move");

my ($ev) = grep { $_->{event} eq 'task.moved' && $_->{data}{id} eq $t1->{id} }
    $stream->until(sub { $_[0]{event} eq 'task.moved'
                         && $_[0]{data}{id} eq $t1->{id} }, 5);
ok($ev, 'task.moved is on the event stream');
is($ev && $ev->{data}{column_id}, $col{review}{id}, '... with the new column');

# --- the same delivery again: nothing twice ----------------------------------------------

$before = audit_count();
$r = deliver(pull_request => $opened1, delivery => $r->{delivery});
is($r->{status}, 200, 'the same delivery again: 200');
ok($r->{json}{duplicate}, '... told it is one');
is(audit_count(), $before, '... no audit row');
is(scalar @{ links($t1) }, 1, '... no second link');

# --- merged: done; an update of the link, not another ------------------------------------

$r = deliver(pull_request => pr_payload(
    action => 'closed', number => 7, state => 'closed', merged => 1,
    title => 'Fixes VULN-1: escape the search box', body => 'Fixes vuln-1',
    branch => 'vuln-1-escape-the-search-box', updated_at => '2026-12-06T11:30:00Z'));
is($r->{status}, 200, 'pull_request closed, merged: 200');
my $now = task_now($t1);
is($now->{column_id}, $col{done}{id}, '... VULN-1 is done');
ok($now->{completed_at}, '... and completed');
$links = links($t1);
is(scalar @$links, 1, '... still one link');
is($links->[0]{state}, 'merged', '... now merged');

# --- closed unmerged: the link says so, the task stays -------------------------------------

deliver(pull_request => pr_payload(action => 'opened', number => 8,
        title => 'Rate limits', body => 'For VULN-3.', branch => 'limits'));
is(task_now($t3)->{column_id}, $col{review}{id}, 'VULN-3 named in the body: Review');
deliver(pull_request => pr_payload(action => 'closed', number => 8,
        state => 'closed', title => 'Rate limits', body => 'For VULN-3.',
        branch => 'limits'));
is(task_now($t3)->{column_id}, $col{review}{id}, 'closed unmerged: VULN-3 stays');
is(links($t3)->[0]{state}, 'closed', '... its pull request closed');

# --- the board's cards and the task carry their pull requests' states -----------------------

sub card {
    my ($task) = @_;
    my $board = made(api($carl, GET => "/api/v1/projects/$pid/kanban"), 'board');
    my ($c) = grep { $_->{id} eq $task->{id} }
              map { @{ $_->{tasks} } } @{ $board->{columns} };
    return $c;
}
is_deeply([ map { "$_->{number} $_->{state}" } @{ card($t1)->{pull_requests} } ],
          [ '7 merged' ], 'the board\'s card of VULN-1: its pull request merged');
is_deeply([ map { "$_->{number} $_->{state}" } @{ card($t3)->{pull_requests} } ],
          [ '8 closed' ], '... of VULN-3: closed');
is(card($t3)->{pull_requests}[0]{url}, links($t3)->[0]{url}, '... with its URL');
is_deeply(task_now($t3)->{pull_requests}, card($t3)->{pull_requests},
          '... and so does the task');
deliver(pull_request => pr_payload(action => 'opened', number => 80,
        title => 'Rate limits, again', body => 'For VULN-3.', branch => 'limits-2'));
is_deeply([ map { "$_->{number} $_->{state}" } @{ card($t3)->{pull_requests} } ],
          [ '80 open', '8 closed' ],
          'a new pull request: the kept board is built again, the open one first');

# --- a draft does not move; ready_for_review does -------------------------------------------

deliver(pull_request => pr_payload(action => 'opened', number => 9, draft => 1,
        title => 'WIP', body => '', branch => 'vuln-4-pin-tls-1-3'));
is(task_now($t4)->{column_id}, $col{todo}{id}, 'a draft naming VULN-4 by its branch: no move');
is(links($t4)->[0]{state}, 'draft', '... linked as a draft');
deliver(pull_request => pr_payload(action => 'ready_for_review', number => 9,
        title => 'WIP', body => '', branch => 'vuln-4-pin-tls-1-3'));
is(task_now($t4)->{column_id}, $col{review}{id}, 'ready_for_review: Review');

# --- a rule off: no move ---------------------------------------------------------------------

problem_is(api($carl, PATCH => "$path/$link->{id}",
               json => { rules => { move_on_open_to_review => JSON::XS::false } }),
           403, 'forbidden', 'a contributor may not change the rules');
$r = api($pam, PATCH => "$path/$link->{id}",
         json => { rules => { move_on_open_to_review => JSON::XS::false } });
is($r->{status}, 200, 'the manager turns the review rule off');
ok(!$r->{json}{rules}{move_on_open_to_review}, '... off');
ok($r->{json}{rules}{move_on_merge_to_done}, '... the other still on');

$r = deliver(pull_request => pr_payload(action => 'opened', number => 10,
             title => 'VULN-2 login limits', body => undef, branch => 'x'));
is($r->{json}{moved}, 0, 'the rule off: nothing moved');
is(task_now($t2)->{column_id}, $col{todo}{id}, '... VULN-2 stays in To Do');
is(scalar @{ links($t2) }, 1, '... but linked');

made(api($pam, PATCH => "$path/$link->{id}",
         json => { rules => { move_on_open_to_review => JSON::XS::true } }), 'rule on');

# --- WIP limits: GitHub's move is refused as a person's is ------------------------------------

made(api($admin, PATCH => "/api/v1/columns/$col{review}{id}",
         json => { wip_limit => 2 }), "wip");
$r = deliver(pull_request => pr_payload(action => 'reopened', number => 10,
             title => 'VULN-2 login limits', body => undef, branch => 'x'));
is($r->{status}, 200, 'a full Review column: the delivery is still taken');
is(task_now($t2)->{column_id}, $col{todo}{id}, '... VULN-2 not moved');
my ($refused) = grep { $_->{action} eq 'move_refused' }
    @{ made(api($carl, GET => "/api/v1/tasks/$t2->{id}/activity"), 'a')->{items} };
is($refused && $refused->{new_values}{reason}, 'wip_limit_reached',
   '... the audit trail says why');
is($refused && $refused->{actor_name}, 'GitHub', '... as GitHub');
made(api($admin, PATCH => "/api/v1/columns/$col{review}{id}",
         json => { wip_limit => undef }), 'no wip');

# --- push: the branch and each commit; create: a branch --------------------------------------

$r = deliver(push => {
    ref => 'refs/heads/vuln-2-rate-limit-the-login-form',
    before => 'f95f852bd8fca8fcc58a9a2d6c842781e32a215e',
    after => '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
    created => JSON::XS::false, deleted => JSON::XS::false, forced => JSON::XS::false,
    base_ref => undef,
    compare => 'https://github.com/acme/vuln-tracker/compare/f95f852bd8fc...0d1a26e67d8f',
    commits => [
        { id => '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
          tree_id => 'f9d2a07e9488b91af2641b26b9407fe22a451433',
          distinct => JSON::XS::true,
          message => "Limit sign-ins per address\n\nRefs vuln-2, and not XVULN-3 or VULN-33x.",
          timestamp => '2026-12-06T12:01:00+01:00',
          url => 'https://github.com/acme/vuln-tracker/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
          author => { name => 'Mona Lisa', email => 'mona@example.com', username => 'monalisa' },
          committer => { name => 'GitHub', email => 'noreply@github.com', username => 'web-flow' },
          added => [], removed => [], modified => ['src/login.c'] },
    ],
    head_commit => undef,
    repository => { %repository },
    pusher => { name => 'monalisa', email => 'mona@example.com' },
    sender => { %sender },
});
is($r->{status}, 200, 'push: 200');
my %kinds = map { $_->{kind} => $_ } @{ links($t2) };
is($kinds{branch}{title}, 'vuln-2-rate-limit-the-login-form', '... VULN-2 has its branch');
is($kinds{branch}{url},
   'https://github.com/acme/vuln-tracker/tree/vuln-2-rate-limit-the-login-form',
   '... with its URL');
is($kinds{commit}{sha}, '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c', '... and its commit');
is($kinds{commit}{title}, 'Limit sign-ins per address', '... the message\'s first line');
is($kinds{commit}{author}, 'monalisa', '... by its author');
ok(!(grep { $_->{kind} eq 'commit' } @{ links($t3) }),
   'XVULN-3 and VULN-33x name no task (word-bounded)');

$r = deliver(create => { ref => 'VULN-5-the-long-one', ref_type => 'branch',
                         master_branch => 'main', description => undef,
                         pusher_type => 'user', repository => { %repository },
                         sender => { %sender } });
is($r->{status}, 200, 'create: 200');
is(links($long)->[0]{kind}, 'branch', 'a branch created names VULN-5: linked');
is($r->{json}{moved}, 0, '... and nothing moved');
my @told = $stream->until(sub { $_[0]{event} eq 'task.updated'
                                 && $_[0]{data}{id} eq $long->{id} }, 5);
my ($linked_ev) = grep { $_->{event} eq 'task.updated' && $_->{data}{id} eq $long->{id} } @told;
ok($linked_ev, 'a delivery that only links is on the event stream (task.updated)');
is($linked_ev && $linked_ev->{data}{key}, $long->{key},
   '... with the task, so its panel reads its links again');
ok((grep { $_->{event} eq 'task.updated' && $_->{data}{id} eq $t2->{id} } @told),
   '... as is the push that linked VULN-2 a branch and a commit');

# --- another workspace's key ------------------------------------------------------------------

my $ows = $t->workspace(prefix => 'gho');
my $oproject = made($ows->api($ows->admin, POST => '/api/v1/projects',
                              json => { key => 'ZED', name => 'Zed' }), 'other');
my $ot = made($ows->api($ows->admin, POST => "/api/v1/projects/$oproject->{id}/tasks",
                        json => { title => 'Theirs' }), 'their task');
is($ot->{key}, 'ZED-1', "another workspace's task ZED-1");
$r = deliver(pull_request => pr_payload(action => 'opened', number => 11,
             title => 'Fixes ZED-1', body => 'ZED-1', branch => 'zed-1-theirs'));
is($r->{json}{linked}, 0, "a key of another workspace links nothing");
my ($their_links) = $ows->dbh->selectrow_array('SELECT count(*) FROM task_links');
is($their_links, 0, '... nothing in the other workspace either');
problem_is($ows->api($ows->admin, GET => "/api/v1/tasks/$t1->{id}/links"), 404,
           'not_found', "this workspace's task is not the other's");

my $body = $JSON->encode({ zen => 'Wrong host.' });
my $res = $t->req(POST => $hook, host => $ows->slug, body => $body, headers => {
    'Content-Type' => 'application/json', 'X-GitHub-Event' => 'ping',
    'X-GitHub-Delivery' => delivery_id(),
    'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $secret) });
problem_is($res, 404, 'not_found',
           "this link's URL on another workspace's host: 404");

# --- unlinked --------------------------------------------------------------------------------

is(api($pam, DELETE => "$path/$link->{id}")->{status}, 204, 'the manager unlinks it');
problem_is(deliver(ping => { zen => 'Gone.' }), 404, 'not_found',
           'deliveries to it: 404');
is(scalar @{ links($t1) }, 1, 'the tasks keep their links');

$t->done_testing;
