#!/usr/bin/perl

# Team chat (modules/chat, sql/tenant/037_chat.sql): channels public and
# private, a project's channel, direct conversations found again for the
# same people; messages newest first with a cursor, threads with reply
# counts, edits and deletes by the author only (a tombstone stays), unread
# counts, mentions that notify, task keys resolved. A private channel is
# invisible to non-members, admins too, on every path: list, get,
# messages, members, search, the event stream, the GDPR export. Nothing
# crosses workspaces. Live: messages, edits, deletes and reads reach each
# member's stream, and a stream resumed with Last-Event-ID misses none.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(made problem_is);
use Kanban::SSE;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'chat');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $nobody = '00000000-0000-4000-8000-000000000000';

my $ann = $ws->member('Ann');
my $bob = $ws->member('Bob');
my $cat = $ws->member('Cat');

sub api { $ws->api(@_) }

sub channel {
    my ($who, %b) = @_;
    return made(api($who, POST => '/api/v1/chat/channels', json => \%b),
                'channel');
}

sub post {
    my ($who, $ch, $body, %o) = @_;
    return made(api($who, POST => "/api/v1/chat/channels/$ch->{id}/messages",
                    json => { body => $body, %o }), "post '$body'");
}

sub messages {
    my ($who, $ch, $query) = @_;
    return api($who, GET => "/api/v1/chat/channels/$ch->{id}/messages"
                            . (defined $query ? "?$query" : ''));
}

sub listed {
    my ($who) = @_;
    my $r = api($who, GET => '/api/v1/chat/channels');
    is($r->{status}, 200, 'list channels: 200') or diag $r->{body};
    return { map { $_->{id} => $_ } @{ $r->{json}{items} // [] } };
}

# --- channels ----------------------------------------------------------------

my $general = channel($ann, name => 'general');
is($general->{kind}, 'public', 'a channel is public by default');
ok($general->{member}, '... its creator a member');

my $r = api($bob, POST => '/api/v1/chat/channels', json => { name => 'GENERAL' });
problem_is($r, 409, 'already_exists', 'a name is unique without regard to case');

$r = api($bob, POST => '/api/v1/chat/channels', json => { name => '' });
problem_is($r, 422, 'validation_failed', 'an empty name: 422');

$r = api($bob, POST => '/api/v1/chat/channels', json => { name => 'x' x 81 });
problem_is($r, 422, 'validation_failed', 'a name of 81 characters: 422');

$r = api($bob, POST => '/api/v1/chat/channels',
         json => { name => 'ghosts', member_ids => [$nobody] });
problem_is($r, 422, 'validation_failed', 'a member who is nobody: 422');

my $secret = channel($ann, name => 'secret', private => JSON::XS::true,
                     member_ids => [$bob->{id}]);
is($secret->{kind}, 'private', 'a private channel');
is_deeply([ sort map { $_->{id} } @{ $secret->{members} } ],
          [ sort $ann->{id}, $bob->{id} ], '... with its members');

my $project = made(api($admin, POST => '/api/v1/projects',
                       json => { key => 'CHT', name => 'Chat project' }),
                   'project');
my $task = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                    json => { title => 'Fix the login page' }), 'task');

my $pc = channel($bob, name => 'cht', project_id => $project->{id});
is($pc->{project_id}, $project->{id}, "a project's channel");
$r = api($ann, POST => '/api/v1/chat/channels',
         json => { name => 'cht-two', project_id => $project->{id} });
problem_is($r, 409, 'already_exists', 'one channel a project');

# direct conversations: the same people find the same one
my $dm = made(api($ann, POST => '/api/v1/chat/channels',
                  json => { direct => JSON::XS::true,
                            member_ids => [$bob->{id}] }), 'direct');
is($dm->{kind}, 'direct', 'a direct conversation');
$r = api($bob, POST => '/api/v1/chat/channels',
         json => { direct => JSON::XS::true, member_ids => [$ann->{id}] });
is($r->{status}, 200, 'asking again, from the other side: 200');
is($r->{json}{id}, $dm->{id}, '... the same conversation');
$r = api($ann, POST => '/api/v1/chat/channels',
         json => { direct => JSON::XS::true,
                   member_ids => [$bob->{id}, $cat->{id}] });
is($r->{status}, 201, 'three people: another conversation');
isnt($r->{json}{id}, $dm->{id}, '... not the two-person one');
$r = api($ann, POST => '/api/v1/chat/channels',
         json => { direct => JSON::XS::true, member_ids => [$ann->{id}] });
problem_is($r, 422, 'validation_failed', 'a conversation with oneself: 422');

# --- a private channel is invisible to non-members --------------------------

my $m_secret = post($ann, $secret, 'the launch code is zebrafish');

for my $who ([Cat => $cat], [admin => $admin]) {
    my ($name, $u) = @$who;
    ok(!listed($u)->{$secret->{id}}, "$name does not see the private channel listed");
    ok(!listed($u)->{$dm->{id}}, "$name does not see Ann and Bob's conversation");
    problem_is(api($u, GET => "/api/v1/chat/channels/$secret->{id}"),
               404, 'not_found', "$name: GET it: 404");
    problem_is(messages($u, $secret), 404, 'not_found',
               "$name: its messages: 404");
    problem_is(api($u, GET => "/api/v1/chat/channels/$secret->{id}/members"),
               404, 'not_found', "$name: its members: 404");
    problem_is(api($u, POST => "/api/v1/chat/channels/$secret->{id}/messages",
                   json => { body => 'let me in' }),
               404, 'not_found', "$name: posting to it: 404");
    problem_is(api($u, PUT => "/api/v1/chat/channels/$secret->{id}/members/$u->{id}"),
               404, 'not_found', "$name: joining it: 404");
    problem_is(api($u, PATCH => "/api/v1/chat/messages/$m_secret->{id}",
                   json => { body => 'x' }),
               404, 'not_found', "$name: editing its message: 404");
    problem_is(api($u, POST => "/api/v1/chat/channels/$secret->{id}/read"),
               404, 'not_found', "$name: reading it: 404");
    $r = api($u, GET => '/api/v1/search?q=zebrafish');
    is($r->{status}, 200, "$name: search");
    is(scalar @{ $r->{json}{items} }, 0, "$name: search finds nothing of it");
}

ok(listed($bob)->{$secret->{id}}, 'Bob, a member, sees it listed');
$r = api($bob, GET => '/api/v1/search?q=zebrafish');
my ($hit) = grep { $_->{type} eq 'message' } @{ $r->{json}{items} };
ok($hit, 'Bob finds its message in search');
is($hit && $hit->{channel_id}, $secret->{id}, '... with its channel');
like($hit && $hit->{highlight}, qr/«zebrafish»/, '... highlighted');

# public messages are searchable by everyone
post($bob, $general, 'the quarterly kangaroo review is on Friday');
$r = api($cat, GET => '/api/v1/search?q=kangaroo');
ok((grep { $_->{type} eq 'message' } @{ $r->{json}{items} }),
   "Cat finds a public channel's message");

# --- membership ---------------------------------------------------------------

$r = api($cat, PUT => "/api/v1/chat/channels/$general->{id}/members/$cat->{id}");
is($r->{status}, 200, 'Cat joins a public channel');
ok($r->{json}{member}, '... and is a member');

$r = api($bob, PUT => "/api/v1/chat/channels/$secret->{id}/members/$cat->{id}");
is($r->{status}, 200, 'Bob, a member, adds Cat to the private channel');
ok(listed($cat)->{$secret->{id}}, '... Cat sees it now');
is(messages($cat, $secret)->{status}, 200, '... and its messages');

$r = api($bob, DELETE => "/api/v1/chat/channels/$secret->{id}/members/$cat->{id}");
problem_is($r, 403, 'forbidden', 'Bob, not its creator, cannot remove Cat');
$r = api($ann, DELETE => "/api/v1/chat/channels/$secret->{id}/members/$cat->{id}");
is($r->{status}, 204, 'Ann, its creator, removes Cat');
ok(!listed($cat)->{$secret->{id}}, '... Cat no longer sees it');
problem_is(messages($cat, $secret), 404, 'not_found', '... nor its messages');

$r = api($ann, PUT => "/api/v1/chat/channels/$dm->{id}/members/$cat->{id}");
problem_is($r, 409, 'conflict', "a direct conversation's people are fixed");

$r = api($ann, GET => "/api/v1/chat/channels/$secret->{id}/members");
is($r->{status}, 200, 'members listed');
is(scalar @{ $r->{json}{items} }, 2, '... two');
is_deeply([ sort map { $_->{handle} } @{ $r->{json}{items} } ], ['ann', 'bob'],
          '... each with the handle that mentions them');

# --- messages: validation, order, cursor ---------------------------------------

$r = api($ann, POST => "/api/v1/chat/channels/$general->{id}/messages",
         json => { body => '' });
problem_is($r, 422, 'validation_failed', 'an empty body: 422');
$r = api($ann, POST => "/api/v1/chat/channels/$general->{id}/messages",
         json => { body => '   ' });
problem_is($r, 422, 'validation_failed', 'a body of spaces: 422');
$r = api($ann, POST => "/api/v1/chat/channels/$general->{id}/messages",
         json => { body => 'x' x 10001 });
problem_is($r, 422, 'validation_failed', 'a body of 10,001 characters: 422');
$r = api($ann, POST => "/api/v1/chat/channels/$general->{id}/messages",
         json => { body => 'hi', parent_id => $m_secret->{id} });
problem_is($r, 422, 'validation_failed',
           "a parent of another channel: 422");
$r = api($ann, POST => "/api/v1/chat/channels/$nobody/messages",
         json => { body => 'hi' });
problem_is($r, 404, 'not_found', 'no such channel: 404');

my $busy = channel($ann, name => 'busy');
my @sent = map { post($ann, $busy, "message $_") } 1 .. 5;
$r = messages($bob, $busy, 'limit=2');
is_deeply([ map { $_->{body} } @{ $r->{json}{items} } ],
          ['message 5', 'message 4'], 'newest first, a page of two');
my $cursor = $r->{json}{next_cursor};
ok($cursor, '... with a cursor');
post($ann, $busy, 'message 6');
$r = messages($bob, $busy, "limit=2&cursor=$cursor");
is_deeply([ map { $_->{body} } @{ $r->{json}{items} } ],
          ['message 3', 'message 2'], 'the next page, unshifted by a new message');
$r = messages($bob, $general, "cursor=$cursor");
problem_is($r, 400, 'bad_request', "another channel's cursor: 400");

# --- threads ---------------------------------------------------------------

my $root = post($ann, $general, 'release on Thursday?');
my $reply = post($bob, $general, 'yes', parent_id => $root->{id});
is($reply->{parent_id}, $root->{id}, 'a reply');
my $reply2 = post($cat, $general, 'agreed', parent_id => $reply->{id});
is($reply2->{parent_id}, $root->{id}, "a reply to a reply is its thread's");

$r = messages($ann, $general);
my ($listed_root) = grep { $_->{id} eq $root->{id} } @{ $r->{json}{items} };
is($listed_root->{reply_count}, 2, 'the thread start has its reply count');
ok(!(grep { ($_->{parent_id} // '') eq $root->{id} } @{ $r->{json}{items} }),
   "replies are not in the channel's list");
$r = messages($ann, $general, "parent_id=$root->{id}");
is_deeply([ map { $_->{body} } @{ $r->{json}{items} } ], ['agreed', 'yes'],
          "the thread's replies");

# --- edits and deletes: the author only ----------------------------------------

$r = api($bob, PATCH => "/api/v1/chat/messages/$root->{id}",
         json => { body => 'hijacked' });
problem_is($r, 403, 'forbidden', "Bob cannot edit Ann's message");
$r = api($admin, DELETE => "/api/v1/chat/messages/$root->{id}");
problem_is($r, 403, 'forbidden', "nor can an admin delete it");
$r = api($ann, PATCH => "/api/v1/chat/messages/$root->{id}",
         json => { body => 'release on Friday?' });
is($r->{status}, 200, 'Ann edits her message');
ok($r->{json}{edited_at}, '... marked edited');
$r = api($ann, DELETE => "/api/v1/chat/messages/$root->{id}");
is($r->{status}, 204, 'Ann deletes it');
$r = messages($cat, $general);
($listed_root) = grep { $_->{id} eq $root->{id} } @{ $r->{json}{items} };
ok($listed_root && $listed_root->{deleted}, 'a tombstone stays');
is($listed_root && $listed_root->{body}, undef, '... without its text');
is($listed_root && $listed_root->{reply_count}, 2, '... with its replies');
problem_is(api($ann, PATCH => "/api/v1/chat/messages/$root->{id}",
               json => { body => 'back' }), 410, 'gone', 'editing a deleted one: 410');
problem_is(api($ann, DELETE => "/api/v1/chat/messages/$root->{id}"),
           404, 'not_found', 'deleting it again: 404');

# --- unread counts ----------------------------------------------------------

my $room = channel($ann, name => 'room', member_ids => [$bob->{id}]);
post($ann, $room, "unread $_") for 1 .. 3;
is(listed($bob)->{$room->{id}}{unread_count}, 3, 'Bob has 3 unread');
is(listed($ann)->{$room->{id}}{unread_count}, 0, "Ann's own are read");
$r = api($bob, POST => "/api/v1/chat/channels/$room->{id}/read");
is($r->{status}, 200, 'Bob reads the channel');
is($r->{json}{unread_count}, 0, '... 0 unread');
post($ann, $room, 'one more');
is(listed($bob)->{$room->{id}}{unread_count}, 1, 'a new message: 1 unread');
is(listed($cat)->{$room->{id}}{unread_count}, 0,
   "a public channel Cat has not joined counts nothing for her");

# --- mentions and task references -------------------------------------------

my $before = api($cat, GET => '/api/v1/notifications')->{json}{unread_count};
my $m = post($ann, $general, '@cat please look at CHT-1 and NOPE-9');
is_deeply([ map { $_->{id} } @{ $m->{mentions} } ], [$cat->{id}],
          'the mention is resolved');
is_deeply($m->{tasks}, [{ id => $task->{id}, key => 'CHT-1',
                          title => 'Fix the login page',
                          project_id => $project->{id} }],
          "a task's key resolved to its key and title; no such task: none");
$r = api($cat, GET => '/api/v1/notifications');
is($r->{json}{unread_count}, $before + 1, 'Cat is notified');
is($r->{json}{items}[0]{kind}, 'mentioned', '... mentioned');
is($r->{json}{items}[0]{data}{message_id}, $m->{id}, '... of the message');

# a mention in a private channel of someone outside it notifies nobody
$before = api($cat, GET => '/api/v1/notifications')->{json}{unread_count};
post($ann, $secret, '@cat should not hear of zebrafish');
is(api($cat, GET => '/api/v1/notifications')->{json}{unread_count}, $before,
   'a non-member mentioned in a private channel is not notified');

# --- GDPR export and erasure ---------------------------------------------------

$r = api($ann, GET => "/api/v1/users/$ann->{id}/export");
is($r->{status}, 200, 'Ann exports her data');
ok((grep { ($_->{body} // '') =~ /zebrafish/ } @{ $r->{json}{chat_messages} }),
   '... with her private-channel message');
$r = api($admin, GET => "/api/v1/users/$ann->{id}/export");
ok(!(grep { ($_->{body} // '') =~ /zebrafish/ } @{ $r->{json}{chat_messages} }),
   "an admin's export of Ann leaves out a private channel the admin is not in");
ok((grep { ($_->{body} // '') =~ /message 1/ } @{ $r->{json}{chat_messages} }),
   '... but has her public messages');

my $dan = $ws->member('Dan');
my $dch = channel($dan, name => 'dan-room');
post($dan, $dch, 'dan wrote this');
$r = api($admin, DELETE => "/api/v1/users/$dan->{id}?erase=true");
is($r->{status}, 204, 'Dan is erased');
$r = messages($ann, $dch);
is($r->{json}{items}[0]{body}, undef, "his messages' text is gone");
ok($r->{json}{items}[0]{deleted}, '... tombstones');

# --- isolation between workspaces --------------------------------------------

my $other = $t->workspace(prefix => 'chat2');
my $oadmin = $other->admin;
$r = $other->api($oadmin, GET => '/api/v1/chat/channels');
is(scalar @{ $r->{json}{items} }, 0, 'another workspace has no channels of this one');
problem_is($other->api($oadmin, GET => "/api/v1/chat/channels/$general->{id}"),
           404, 'not_found', "this workspace's channel by id there: 404");
problem_is($other->api($oadmin, POST => "/api/v1/chat/channels/$general->{id}/messages",
                       json => { body => 'hello?' }),
           404, 'not_found', '... posting to it: 404');
$r = $t->req(GET => '/api/v1/chat/channels', host => $other->slug,
             headers => { Authorization => "Bearer $ann->{token}" });
is($r->{status}, 401, "this workspace's token on the other's host: 401");

# --- live: the event stream -----------------------------------------------------

my $sb = Kanban::SSE->open($t, $slug, $bob->{token});
my $sc = Kanban::SSE->open($t, $slug, $cat->{token});
my $sa = Kanban::SSE->open($t, $slug, $admin->{token});
is($sb->status, 200, "Bob's stream");

my $live = post($ann, $secret, 'live in secret');
my @ev = $sb->until(sub { $_[0]{event} eq 'chat.message.created'
                          && $_[0]{data}{id} eq $live->{id} }, 5);
ok(@ev && $ev[-1]{data}{id} eq $live->{id},
   "Bob's stream gets the private channel's message");
my $live_pub = post($ann, $general, 'live in general');
$sc->until(sub { ($_[0]{data}{id} // '') eq $live_pub->{id} }, 5);
$sa->until(sub { ($_[0]{data}{id} // '') eq $live_pub->{id} }, 5);
ok(!(grep { ($_->{data}{channel_id} // '') eq $secret->{id}
            || ($_->{data}{id} // '') eq $secret->{id} }
     $sc->quiet(0.3)), 'Cat gets nothing of the private channel');

# the public one reached Cat and the admin; the private one neither
my $resume_from = $ev[-1]{id};

api($ann, PATCH => "/api/v1/chat/messages/$live->{id}",
    json => { body => 'live in secret, edited' });
api($ann, DELETE => "/api/v1/chat/messages/$live->{id}");
@ev = $sb->until(sub { $_[0]{event} eq 'chat.message.deleted' }, 5);
is_deeply([ map { $_->{event} }
            grep { ($_->{data}{id} // '') eq $live->{id} } @ev ],
          ['chat.message.updated', 'chat.message.deleted'],
          'Bob gets the edit and the delete');
is($ev[-1]{data}{deleted}, JSON::XS::true, '... the tombstone');

api($bob, POST => "/api/v1/chat/channels/$secret->{id}/read");
@ev = $sb->until(sub { $_[0]{event} eq 'chat.read' }, 5);
is($ev[-1]{event}, 'chat.read', 'a read reaches the reader');
is($ev[-1]{data}{channel_id}, $secret->{id}, '... for the channel');

# nothing of the private channel reached Cat or the admin, at any time
for my $s ([Cat => $sc], [admin => $sa]) {
    my @seen = grep { ($_->{event} // '') =~ /^chat\./ } $s->[1]->quiet(0.5);
    ok(!(grep { ($_->{data}{channel_id} // $_->{data}{id} // '') eq $secret->{id} }
         @seen), "$s->[0]'s stream never had the private channel");
}

# resume: a stream from Bob's last seen id before the edit gets the edit,
# the delete and the read, nothing lost
my $sr = Kanban::SSE->open($t, $slug, $bob->{token},
                           last_event_id => $resume_from);
@ev = $sr->until(sub { $_[0]{event} eq 'chat.read' }, 5);
is_deeply([ map { $_->{event} }
            grep { ($_->{data}{id} // '') eq $live->{id}
                   || $_->{event} eq 'chat.read' } @ev ],
          ['chat.message.updated', 'chat.message.deleted', 'chat.read'],
          'resumed with Last-Event-ID: every chat event since, in order');

# membership reaches the one added
my $sd = Kanban::SSE->open($t, $slug, $cat->{token});
api($ann, PUT => "/api/v1/chat/channels/$secret->{id}/members/$cat->{id}");
@ev = $sd->until(sub { $_[0]{event} eq 'chat.channel.updated' }, 5);
is($ev[-1]{event}, 'chat.channel.updated', 'Cat, added, hears of the channel');
my $after = post($bob, $secret, 'welcome Cat');
@ev = $sd->until(sub { ($_[0]{data}{id} // '') eq $after->{id} }, 5);
is($ev[-1]{data}{body}, 'welcome Cat', '... and gets its messages from then on');

$_->close for $sb, $sc, $sa, $sr, $sd;

# another node: Bob's browser on node 2 gets what Ann writes on node 1,
# and a stream there resumed from before it catches up; the admin's,
# resumed from the same point, gets nothing of the private channel
my $n2 = Kanban::Test->new->run;
my ($mark) = $ws->dbh->selectrow_array('SELECT max(id) FROM events');
my $s2 = Kanban::SSE->open($n2, $slug, $bob->{token}, last_event_id => $mark);
is($s2->status, 200, "Bob's stream on another node");
my $across = post($ann, $secret, 'across the nodes');
@ev = $s2->until(sub { ($_[0]{data}{id} // '') eq $across->{id} }, 10);
is(@ev && $ev[-1]{data}{body}, 'across the nodes',
   '... gets the private message written on node 1');
$s2->close;
my $later = post($ann, $secret, 'while Bob was away');
my $s3 = Kanban::SSE->open($n2, $slug, $bob->{token}, last_event_id => $mark);
@ev = $s3->until(sub { ($_[0]{data}{id} // '') eq $later->{id} }, 10);
is_deeply([ map { $_->{data}{body} } grep { $_->{event} eq 'chat.message.created' } @ev ],
          ['across the nodes', 'while Bob was away'],
          '... and, resumed there, both, in order');
my $sx = Kanban::SSE->open($n2, $slug, $admin->{token}, last_event_id => $mark);
post($bob, $general, 'a public one after');
my @seen = $sx->until(sub { ($_[0]{data}{channel_id} // '') eq $general->{id} }, 5);
ok(@seen && !(grep { ($_->{data}{channel_id} // '') eq $secret->{id} } @seen),
   "the admin's stream there, resumed from the same point, gets the public "
   . "message and nothing of the private channel");
$_->close for $s3, $sx;

$t->done_testing;
