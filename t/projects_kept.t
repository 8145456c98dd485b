#!/usr/bin/perl

# GET /api/v1/projects answers each project's document as kept beside its
# board (sql/tenant/042_project_kept.sql): a list read after any write that
# changes a project's fields or its progress shows the change, every time,
# because the write drops the kept document in its own transaction. Then
# list reads race moves, and a read held back while a move commits: the
# list after them is the one built from scratch.

use strict;
use warnings;

use Test::More;
use Kanban::Test;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'plist');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $auth = { Authorization => "Bearer $admin->{token}" };

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}" unless $r->{status} =~ /^20[014]$/;
    return $r->{json};
}

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'PRG', name => 'Progress' }),
                   'project');
my $other = made($ws->api($admin, POST => '/api/v1/projects',
                          json => { key => 'OTH', name => 'Other' }),
                 'project');
my %col = map { $_->{category} => $_->{id} } @{ made($ws->api($admin,
    GET => "/api/v1/projects/$project->{id}/kanban"), 'board')->{columns} };
my @tasks = map {
    made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                  json => { title => "Task $_" }), 'task')
} 1 .. 4;

sub listed {
    my $list = made($ws->api($admin, GET => '/api/v1/projects'), 'list');
    my ($p) = grep { $_->{id} eq $project->{id} } @{ $list->{items} };
    return $p;
}

sub kept {
    my ($doc) = $dbh->selectrow_array(
        'SELECT project_doc FROM board_cache WHERE project_id = ?', undef,
        $project->{id});
    return defined $doc;
}

sub move {
    my ($task, $category) = @_;
    made($ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}/move",
                  json => { column_id => $col{$category} }), 'move');
}

is(listed()->{progress}, 0, 'four tasks, none done: progress 0');
ok(kept(), '... and the project\'s document is kept');
is_deeply(listed(), listed(), '... and read again the same');

# step(name, write, expected progress): read (kept), write, read
sub step {
    my ($name, $write, $check) = @_;
    listed();
    ok(kept(), "$name: kept before");
    $write->();
    ok(!kept(), "$name: the write dropped it");
    $check->(listed());
    ok(kept(), "$name: kept again after the read");
}

step('a task moved to done', sub { move($tasks[0], 'done') },
     sub { is($_[0]{progress}, 25, '... progress 25') });
step('another', sub { move($tasks[1], 'done') },
     sub { is($_[0]{progress}, 50, '... progress 50') });
step('one moved back', sub { move($tasks[1], 'todo') },
     sub { is($_[0]{progress}, 25, '... progress 25') });
step('a task deleted', sub {
         $ws->api($admin, DELETE => "/api/v1/tasks/$tasks[3]{id}")->{status}
             == 204 or die 'delete';
     },
     sub { is($_[0]{progress}, 33, '... one of three done: 33') });
step('the project renamed', sub {
         made($ws->api($admin, PATCH => "/api/v1/projects/$project->{id}",
                       json => { name => 'Renamed' }), 'rename');
     },
     sub { is($_[0]{name}, 'Renamed', '... its new name listed') });
step('the done column made another category', sub {
         made($ws->api($admin, PATCH => "/api/v1/columns/$col{done}",
                       json => { category => 'in_progress' }), 'column');
     },
     sub { is($_[0]{progress}, 0, '... none done any more: 0') });
made($ws->api($admin, PATCH => "/api/v1/columns/$col{done}",
              json => { category => 'done' }), 'column back');

# --- reads racing moves ------------------------------------------------------------

my @conns;
for my $round (0 .. 4) {
    for my $i (0 .. 2) {
        push @conns, $t->send_req(PATCH => "/api/v1/tasks/$tasks[$i]{id}/move",
            host => $ws->slug, headers => $auth,
            json => { column_id => $col{ ($round + $i) % 2 ? 'done' : 'todo' } });
        push @conns, $t->send_req(GET => '/api/v1/projects',
                                  host => $ws->slug, headers => $auth);
    }
    Kanban::Test::wait_all(\@conns, 60);
}
my @bad = grep { $_->response->{status} != 200 } @conns;
is(scalar @bad, 0, '15 moves and 15 list reads at once: all 200')
    or diag explain [ map { $_->response->{status} } @bad ];

my $kept = listed();
$dbh->do('UPDATE board_cache SET project_doc = NULL');
$dbh->do('UPDATE projects_list_kept SET body = NULL');
is_deeply($kept, listed(),
          'after them, the kept document is the one built from scratch');

# --- a read held back while a move commits ------------------------------------------
# The read has built the document from before the move and waits to keep
# it (a lock on board_cache, as a slow reader would); the move commits
# meanwhile. Whatever order they finish in, the list afterwards shows the
# move.

listed();
$dbh->do('UPDATE board_cache SET project_doc = NULL');
$dbh->do('UPDATE projects_list_kept SET body = NULL');
my $before = $kept->{progress};
my $target = $tasks[0];
my ($in_done) = $dbh->selectrow_array(
    'SELECT column_id = ? FROM tasks WHERE id = ?', undef, $col{done},
    $target->{id});

my $holder = $t->tenant_dbh($ws->slug);
$holder->begin_work;
$holder->do('LOCK board_cache IN EXCLUSIVE MODE');

sub waiting {
    my ($n) = @_;
    my ($waits) = $dbh->selectrow_array(
        q{SELECT count(*) FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND application_name <> ?}, undef, $Kanban::Test::APP_NAME);
    return $waits >= $n;
}

my $read = $t->send_req(GET => '/api/v1/projects', host => $ws->slug,
                        headers => $auth);
ok(Kanban::Test::wait_until([$read], sub { waiting(1) }, 20),
   'race with a move: the list read waits to keep what it built');
my $mv = $t->send_req(PATCH => "/api/v1/tasks/$target->{id}/move",
                      host => $ws->slug, headers => $auth,
                      json => { column_id => $col{ $in_done ? 'todo'
                                                            : 'done' } });
ok(Kanban::Test::wait_until([$read, $mv], sub { waiting(2) }, 20),
   '... and the move is committing');
$holder->commit;
Kanban::Test::wait_all([$read, $mv], 30);
is($read->response->{status} . ' ' . $mv->response->{status}, '200 200',
   '... both answer 200');
my $after = listed()->{progress};
isnt($after, $before, "... and the list afterwards shows the move "
                      . "(progress $before -> $after)");
$dbh->do('UPDATE board_cache SET project_doc = NULL');
$dbh->do('UPDATE projects_list_kept SET body = NULL');
is($after, listed()->{progress}, '... as built from scratch');
$holder->disconnect;

# --- a deleted project ----------------------------------------------------------------

$ws->api($admin, DELETE => "/api/v1/projects/$other->{id}");
my $list = made($ws->api($admin, GET => '/api/v1/projects'), 'list');
ok(!grep({ $_->{id} eq $other->{id} } @{ $list->{items} }),
   'a deleted project is no longer listed');

$t->done_testing;
