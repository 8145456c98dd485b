#!/usr/bin/perl

# Notifications as their recipients see them: each kind (assigned,
# mentioned, commented, approved) made by someone else's write and never by
# one's own; mentions found where they are meant and nowhere else (emails
# in running text, strangers, people of other workspaces, SQL-looking
# text); made in the write's transaction (a rejected write notifies no
# one); read one, read all, the unread filter and count; pages newest
# first that new notifications do not shift; nobody reads or marks
# another person's, nor another workspace's; gone with an erased person
# or a deleted task.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'notif');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $ann = $ws->member('Ann');
my $bob = $ws->member('Bob');
my $nobody = '00000000-0000-4000-8000-000000000000';

# the body of a write that must succeed, or the file stops here
sub inbox {
    my ($who, $query) = @_;
    my $r = $ws->api($who, GET => '/api/v1/notifications'
                                  . (defined $query ? "?$query" : ''));
    die "inbox: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r->{json};
}

# [kind, actor name, task key] of each of the newest $n notifications
sub latest {
    my ($who, $n) = @_;
    my $items = inbox($who, "limit=$n")->{items};
    return [ map { [ $_->{kind}, $_->{actor} && $_->{actor}{name},
                     $_->{task} && $_->{task}{key} ] } @$items ];
}

sub count_of {
    my ($who) = @_;
    my ($n) = $dbh->selectrow_array(
        'SELECT count(*) FROM notifications WHERE user_id = ?', undef,
        $who->{id});
    return $n;
}

sub comment {
    my ($who, $task, $body) = @_;
    return made($ws->api($who, POST => "/api/v1/tasks/$task->{id}/comments",
                         json => { body => $body }), "comment '$body'");
}

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'NOTE', name => 'Notes' }),
                   'project');

sub task {
    my ($who, %f) = @_;
    return made($ws->api($who, POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'A task', %f }), 'task');
}


###########################################################################
# assigned

my %mark = map { $_->{name} => count_of($_) } $admin, $pam, $ann, $bob;

my $t1 = task($admin, title => 'Patch the VPN',
              assignee_ids => [ $ann->{id}, $admin->{id} ]);

is_deeply(latest($ann, 5), [ [ 'assigned', 'Ada Admin', $t1->{key} ] ],
          'assigned at create: the assignee is told, by whom, of which task');
is(count_of($admin), $mark{'Ada Admin'}, 'assigning oneself tells no one');

my $n = inbox($ann)->{items}[0];
is_deeply([ sort keys %$n ],
          [ qw(actor created_at data id kind read_at task) ],
          'a notification has id, kind, actor, task, data, read_at, '
          . 'created_at');
is_deeply($n->{actor}, { id => $admin->{id}, name => 'Ada Admin' },
          'the actor is {id, name}');
is_deeply($n->{task}, { id => $t1->{id}, key => $t1->{key},
                        title => 'Patch the VPN',
                        project_id => $project->{id} },
          'the task is {id, key, title, project_id}');
is($n->{read_at}, undef, 'it is unread');
like($n->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/,
     'created_at is a time');

my $own = task($bob, title => 'Mine', assignee_ids => [ $bob->{id} ]);
is(count_of($bob), $mark{Bob}, 'a contributor taking their own task: none');

my $r = $ws->api($admin, PATCH => "/api/v1/tasks/$t1->{id}",
                 json => { assignee_ids => [ $ann->{id}, $admin->{id},
                                             $bob->{id} ] });
is($r->{status}, 200, 'an assignee added by PATCH');
is_deeply(latest($bob, 5), [ [ 'assigned', 'Ada Admin', $t1->{key} ] ],
          'the added assignee is told');
is(count_of($ann), $mark{Ann} + 1, 'who was assigned already is not again');

$r = $ws->api($admin, PATCH => "/api/v1/tasks/$t1->{id}",
              json => { title => 'Patch the VPN now' });
is(count_of($bob), $mark{Bob} + 1, 'a PATCH that assigns no one: none');
is(inbox($bob)->{items}[0]{task}{title}, 'Patch the VPN now',
   'the task is shown as it is now');

$r = $ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
              json => { title => 'Never made',
                        assignee_ids => [ $pam->{id}, $nobody ] });
is($r->{status}, 422, 'a task with an unknown assignee is refused');
is(count_of($pam), $mark{Pam}, '... and the rolled-back write told no one');


###########################################################################
# commented and mentioned

%mark = map { $_->{name} => count_of($_) } $admin, $pam, $ann, $bob;

# t1: reporter Ada, assignees Ann, Ada, Bob
comment($ann, $t1, 'Looks good to me');
is_deeply(latest($admin, 1), [ [ 'commented', 'Ann', $t1->{key} ] ],
          'the reporter is told of a comment');
is_deeply(latest($bob, 1), [ [ 'commented', 'Ann', $t1->{key} ] ],
          'an assignee is told of a comment');
is(count_of($ann), $mark{Ann}, 'the author of a comment is not');
is(count_of($pam), $mark{Pam}, 'someone with no part in the task is not');

my $c = comment($admin, $t1, "\@ann please check, cc \@BOB\@$slug.example.");
is_deeply(latest($ann, 1), [ [ 'mentioned', 'Ada Admin', $t1->{key} ] ],
          '@ and the local part of the email is a mention');
is_deeply(latest($bob, 1), [ [ 'mentioned', 'Ada Admin', $t1->{key} ] ],
          '@ and the whole email, in other case, before a full stop');
is(count_of($ann), $mark{Ann} + 1, 'a mentioned assignee is told once');
is(count_of($bob), $mark{Bob} + 2, '... as is the other');
is_deeply(inbox($ann)->{items}[0]{data},
          { comment_id => $c->{id},
            excerpt => "\@ann please check, cc \@BOB\@$slug.example." },
          'data has the comment and an excerpt');

%mark = map { $_->{name} => count_of($_) } $admin, $pam, $ann, $bob;
comment($pam, $t1, '@Pam notes to self, (@ann) and @bob: and @ann again');
is(count_of($pam), $mark{Pam}, 'mentioning oneself tells no one');
is(count_of($ann), $mark{Ann} + 1, 'two mentions of one person: one');
is(latest($ann, 1)->[0][0], 'mentioned', 'a mention in parentheses');
is(latest($bob, 1)->[0][0], 'mentioned', 'a mention before a colon');
is(latest($admin, 1)->[0][0], 'commented', 'the reporter: commented');

# t2: reported by Pam, nobody assigned
my $t2 = task($pam, title => 'Quiet task');
%mark = map { $_->{name} => count_of($_) } $admin, $pam, $ann, $bob;

comment($bob, $t2, "Write to ann\@$slug.example or x\@ann, "
                   . "not \@annabel, \@nobody or \@admin\@elsewhere.example");
is(count_of($ann), $mark{Ann},
   'an email in running text, @ inside a word, a longer handle: no mention');
is(count_of($admin), $mark{'Ada Admin'},
   'the same local part at another domain: no mention');
is_deeply(latest($pam, 1), [ [ 'commented', 'Bob', $t2->{key} ] ],
          'the reporter is still told of the comment');

my $other = $t->workspace(prefix => 'notif-x');
my $stranger = $other->member('Zed');
my ($before) = $dbh->selectrow_array('SELECT count(*) FROM notifications');
comment($bob, $t2, "\@zed and \@$stranger->{email}, hello");
my ($after) = $dbh->selectrow_array('SELECT count(*) FROM notifications');
is($after, $before + 1, 'people of another workspace: only the reporter '
                        . 'is told');

my $dis = $ws->member('Dee');
$r = $ws->api($admin, DELETE => "/api/v1/users/$dis->{id}");
is($r->{status}, 204, 'a member disabled');
comment($bob, $t2, '@dee are you there?');
is(count_of($dis), 0, 'a disabled member is not mentioned');

# two people share a local part: only the whole email names one
made($ws->api($admin, POST => '/api/v1/users',
              json => { email => 'ann@elsewhere.example', name => 'Other Ann',
                        password => 'correct horse battery staple' }),
     'a second ann');
%mark = map { $_->{name} => count_of($_) } $ann;
comment($bob, $t2, '@ann is ambiguous now');
is(count_of($ann), $mark{Ann}, 'an ambiguous local part mentions no one');
comment($bob, $t2, "\@ann\@$slug.example is not");
is(count_of($ann), $mark{Ann} + 1, '... the whole email still does');

my $sql = "\@ann\@$slug.example'); DELETE FROM notifications; "
          . "DROP TABLE users; --";
comment($bob, $t2, $sql);
is(count_of($ann), $mark{Ann} + 2, 'SQL-looking text: a mention like any');
is(inbox($ann)->{items}[0]{data}{excerpt}, $sql, '... kept as text');
($after) = $dbh->selectrow_array('SELECT count(*) FROM notifications');
ok($after > $before, '... and nothing was deleted');


###########################################################################
# approved: for the timesheets' writer

my ($aid) = $dbh->selectrow_array(
    q{SELECT notification_add(?, 'approved', ?, NULL,
                              '{"week": "2026-W47"}')}, undef,
    $ann->{id}, $pam->{id});
ok($aid, 'notification_add() makes an approval notification');
$n = inbox($ann)->{items}[0];
is_deeply([ @$n{qw(id kind task data)} ],
          [ $aid, 'approved', undef, { week => '2026-W47' } ],
          '... with no task and its data');
is_deeply($n->{actor}, { id => $pam->{id}, name => 'Pam' }, '... by Pam');

my ($self) = $dbh->selectrow_array(
    q{SELECT notification_add(?, 'approved', ?, NULL, NULL)}, undef,
    $ann->{id}, $ann->{id});
is($self, undef, 'notification_add() tells no one of their own action');

ok(!eval {
       $dbh->do(q{SELECT notification_add(?, 'bogus', NULL, NULL, NULL)},
                undef, $ann->{id});
       1 }, 'an unknown kind is refused');


###########################################################################
# read, read-all, unread

my $list = inbox($ann);
my $unread = $list->{unread_count};
ok($unread >= 5, "unread_count counts ($unread)");
is($unread, scalar(grep { !defined $_->{read_at} } @{ $list->{items} }),
   '... every unread one');

my $first = $list->{items}[0];
$r = $ws->api($ann, POST => "/api/v1/notifications/$first->{id}/read");
is($r->{status}, 200, 'mark one read');
is($r->{json}{id}, $first->{id}, '... answers with it');
my $read_at = $r->{json}{read_at};
ok($read_at, '... read_at is set');
is(inbox($ann)->{unread_count}, $unread - 1, '... one fewer unread');

$r = $ws->api($ann, POST => "/api/v1/notifications/$first->{id}/read");
is($r->{status}, 200, 'marking it read again');
is($r->{json}{read_at}, $read_at, '... keeps when it was first read');
is(inbox($ann)->{unread_count}, $unread - 1, '... and the count');

my $only = inbox($ann, 'unread=true');
ok(!grep({ $_->{id} eq $first->{id} } @{ $only->{items} }),
   '?unread=true leaves the read one out');
is(scalar @{ $only->{items} }, $unread - 1, '... and has all the others');
is(scalar @{ inbox($ann, 'unread=false')->{items} },
   scalar @{ $list->{items} }, '?unread=false is all');
$r = $ws->api($ann, GET => '/api/v1/notifications?unread=maybe');
problem_is($r, 422, 'validation_failed', '?unread=maybe: 422');
is($r->{json}{errors}[0]{field}, 'unread', '... naming the parameter');

# isolation
my $bobs = inbox($bob)->{unread_count};
problem_is($ws->api($bob, POST => '/api/v1/notifications/'
                                  . "$list->{items}[1]{id}/read"),
           404, 'not_found', "another person's notification is not found");
ok(!defined inbox($ann)->{items}[1]{read_at}, '... and stays unread');
problem_is($ws->api($bob, POST => "/api/v1/notifications/$nobody/read"),
           404, 'not_found', 'an unknown id');
problem_is($ws->api($bob, POST => '/api/v1/notifications/nope/read'),
           404, 'not_found', 'a malformed id');
problem_is($other->api($other->admin,
                       POST => "/api/v1/notifications/$list->{items}[1]{id}"
                               . '/read'),
           404, 'not_found', "another workspace's admin: not found");
is($other->api($other->admin, GET => '/api/v1/notifications')->{json}
       {unread_count}, 0, '... whose own list is empty');
is(inbox($bob)->{unread_count}, $bobs, "Bob's own are untouched");

for my $req ([ GET => '/api/v1/notifications' ],
             [ POST => "/api/v1/notifications/$first->{id}/read" ],
             [ POST => '/api/v1/notifications/read-all' ])
{
    problem_is($ws->api(undef, @$req), 401, 'unauthorized',
               "$req->[0] $req->[1] without a token");
}
problem_is($ws->api($stranger, GET => '/api/v1/notifications'),
           401, 'unauthorized', "another workspace's token");

$r = $ws->api($ann, POST => '/api/v1/notifications/read-all');
is($r->{status}, 204, 'read-all');
$list = inbox($ann);
is($list->{unread_count}, 0, '... none unread');
ok(!grep({ !defined $_->{read_at} } @{ $list->{items} }), '... all read');
is(scalar @{ inbox($ann, 'unread=true')->{items} }, 0,
   '... the unread list is empty');
is(inbox($bob)->{unread_count}, $bobs, "... and Bob's are not read");
is($ws->api($ann, POST => '/api/v1/notifications/read-all')->{status}, 204,
   'read-all again');


###########################################################################
# pages

my $t3 = task($admin, title => 'Busy', assignee_ids => [ $pam->{id} ]);
comment($bob, $t3, "note $_") for 1 .. 6;

my $all = inbox($pam, 'limit=200')->{items};
my @seen;
$list = inbox($pam, 'limit=3');
is(scalar @{ $list->{items} }, 3, 'limit=3: a page of three');
ok($list->{next_cursor}, '... and a cursor');
push @seen, @{ $list->{items} };
is($list->{items}[0]{data}{excerpt}, 'note 6', 'newest first');

comment($bob, $t3, "late $_") for 1 .. 2;
is(inbox($pam, 'limit=1')->{items}[0]{data}{excerpt}, 'late 2',
   'a new one is first on the first page');

while ($list->{next_cursor}) {
    $list = inbox($pam, "limit=3&cursor=$list->{next_cursor}");
    push @seen, @{ $list->{items} };
}
is_deeply([ map { $_->{id} } @seen ], [ map { $_->{id} } @$all ],
          'the pages hold every earlier one once, in order, though new '
          . 'ones came');
is(inbox($pam)->{next_cursor}, undef, 'a list that fits has no cursor');

problem_is($ws->api($pam, GET => "/api/v1/notifications?cursor=$nobody"),
           400, 'bad_request', 'a cursor this list never gave');
problem_is($ws->api($bob, GET => "/api/v1/notifications?cursor=$all->[0]{id}"),
           400, 'bad_request', "another person's cursor");
problem_is($ws->api($pam, GET => '/api/v1/notifications?cursor=zzz'),
           400, 'bad_request', 'a malformed cursor');
problem_is($ws->api($pam, GET => '/api/v1/notifications?limit=many'),
           400, 'bad_request', 'a malformed limit');
for my $n (0, 201, -1) {
    my $r = $ws->api($pam, GET => "/api/v1/notifications?limit=$n");
    problem_is($r, 422, 'validation_failed', "limit=$n: 422");
    is_deeply([ map { "$_->{field} $_->{code}" } @{ $r->{json}{errors} } ],
              [ 'limit out_of_range' ], '... naming the parameter');
}


###########################################################################
# gone with what they are about

$r = $ws->api($admin, DELETE => "/api/v1/tasks/$t3->{id}");
is($r->{status}, 204, 'a task deleted');
ok(!grep({ $_->{task} && $_->{task}{id} eq $t3->{id} }
         @{ inbox($pam, 'limit=200')->{items} }),
   '... its notifications are gone');

comment($bob, $t1, 'Last words');
ok(count_of($bob) > 0, 'Bob has notifications');
$r = $ws->api($admin, DELETE => "/api/v1/users/$bob->{id}?erase=true");
is($r->{status}, 204, 'Bob erased');
is(count_of($bob), 0, '... and his notifications with him');
is_deeply(inbox($admin)->{items}[0]{actor},
          { id => $bob->{id}, name => 'Deleted user' },
          'what he did shows "Deleted user"');

my $gone = $ws->member('Gus');
comment($admin, $t1, '@gus hello');
is(count_of($gone), 1, 'Gus is mentioned');
$dbh->do('DELETE FROM users WHERE id = ?', undef, $gone->{id});
is(count_of($gone), 0, 'a deleted person takes their notifications along');

# --- approved: a manager approves Ann's week --------------------------------

my $team = $ws->team('Approvers', $pam, $ann);
my $week = '2026-W40';
made($ws->api($ann, POST => '/api/v1/timesheets/entries',
              json => { date => '2026-09-29', minutes => 60 }), 'entry');
made($ws->api($ann, POST => '/api/v1/timesheets/weekly/submit',
              json => { week => $week }), 'submit');
is(latest($ann, 1)->[0][0] // '', 'commented',
   'submitting one\'s own week notifies no one');
made($ws->api($pam, POST => '/api/v1/timesheets/weekly/approve',
              json => { user_id => $ann->{id}, week => $week }), 'approve');
my $approved = inbox($ann, 'limit=1')->{items}[0];
is($approved->{kind}, 'approved', 'Ann hears her week was approved');
is($approved->{actor}{name}, 'Pam', '... by Pam');
is($approved->{data}{week}, $week, '... which week');
is($approved->{task}, undef, '... about no task');

$t->done_testing;
