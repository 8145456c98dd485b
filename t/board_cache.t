#!/usr/bin/perl

# The kept board (sql/tenant/014_board_cache.sql): a board read after any
# write that changes what it shows shows the change, every time, because
# the write drops the kept board in its own transaction. Each step reads
# the board first (so one is kept), writes, and reads again. Then reads
# race moves, and the board after them is the one PostgreSQL builds from
# scratch.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'board');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $ann = $ws->member('Ann');

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}" unless $r->{status} =~ /^20[014]$/;
    return $r->{json};
}

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'BRD', name => 'Board' }),
                   'project');
my $path = "/api/v1/projects/$project->{id}/kanban";

sub board { made($ws->api($admin, GET => $path), 'board') }

sub kept {
    my ($body) = $dbh->selectrow_array(
        'SELECT body FROM board_cache WHERE project_id = ?', undef,
        $project->{id});
    return defined $body;
}

sub tasks_of {
    my ($board) = @_;
    return { map { my $c = $_; map { $_->{id} => { %$_, column => $c->{name} } }
                                   @{ $c->{tasks} } }
             @{ $board->{columns} } };
}

my %col = map { $_->{category} => $_ } @{ board()->{columns} };
ok(kept(), 'a board read is kept');
is_deeply(board(), board(), '... and read again the same');

# step(name, write, check): read (kept), write, read and check
sub step {
    my ($name, $write, $check) = @_;
    board();
    ok(kept(), "$name: kept before");
    $write->();
    ok(!kept(), "$name: the write dropped it");
    my $b = board();
    $check->($b) or diag explain $b;
}

my $task;
step('a task made', sub {
    $task = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                          json => { title => 'First' }), 'task');
}, sub { ok(tasks_of($_[0])->{$task->{id}}, 'a task made: on the board') });

step('a title changed', sub {
    made($ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
                  json => { title => 'Renamed' }), 'patch');
}, sub { is(tasks_of($_[0])->{$task->{id}}{title}, 'Renamed',
            'a title changed: the new title') });

step('a move', sub {
    made($ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}/move",
                  json => { column_id => $col{done}{id} }), 'move');
}, sub {
    my ($b) = @_;
    is(tasks_of($b)->{$task->{id}}{column}, $col{done}{name},
       'a move: in the new column') && is($b->{project}{progress}, 100,
                                          '... and the progress with it');
});

step('an assignee', sub {
    made($ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
                  json => { assignee_ids => [ $ann->{id} ] }), 'assign');
}, sub { is_deeply(tasks_of($_[0])->{$task->{id}}{assignee_ids},
                   [ $ann->{id} ], 'an assignee: shown') });

step('a column renamed', sub {
    made($ws->api($admin, PATCH => "/api/v1/columns/$col{done}{id}",
                  json => { name => 'Shipped', wip_limit => 9 }), 'column');
}, sub {
    my ($done) = grep { $_->{id} eq $col{done}{id} } @{ $_[0]{columns} };
    ok($done->{name} eq 'Shipped' && $done->{wip_limit} == 9
       && tasks_of($_[0])->{$task->{id}}{column} eq 'Shipped',
       'a column renamed: the new name and limit');
});

my $extra;
step('a column added', sub {
    $extra = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/columns",
                           json => { name => 'Parking', category => 'todo' }),
                  'column');
}, sub { ok(grep({ $_->{id} eq $extra->{id} } @{ $_[0]{columns} }),
            'a column added: shown') });

step('a column removed', sub {
    made($ws->api($admin, DELETE => "/api/v1/columns/$extra->{id}"),
         'delete column');
}, sub { ok(!grep({ $_->{id} eq $extra->{id} } @{ $_[0]{columns} }),
            'a column removed: gone') });

step('the project renamed', sub {
    made($ws->api($admin, PATCH => "/api/v1/projects/$project->{id}",
                  json => { name => 'Board two' }), 'project');
}, sub { is($_[0]{project}{name}, 'Board two', 'the project renamed') });

my $sub;
step('a subtask', sub {
    $sub = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'Child',
                                   parent_id => $task->{id} }), 'subtask');
}, sub { ok(tasks_of($_[0])->{$sub->{id}}, 'a subtask: on the board') });

step('the assignee deleted', sub {
    $dbh->do('DELETE FROM users WHERE id = ?', undef, $ann->{id});
}, sub { is_deeply(tasks_of($_[0])->{$task->{id}}{assignee_ids}, [],
                   'a person deleted: no longer assigned') });

step('a task deleted', sub {
    made($ws->api($admin, DELETE => "/api/v1/tasks/$task->{id}"), 'delete');
}, sub {
    my $on = tasks_of($_[0]);
    ok(!$on->{$task->{id}} && !$on->{$sub->{id}},
       'a task deleted: gone, with its subtask');
});

my $blocked = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                            json => { title => 'Waits' }), 'task');
board();
my $r = $ws->api($admin, PATCH => "/api/v1/tasks/$blocked->{id}",
                 json => { title => '' });
is($r->{status}, 422, 'a rejected write ...');
ok(kept(), '... leaves the kept board alone');

problem_is($ws->api($admin, GET => '/api/v1/projects/'
                                   . '00000000-0000-4000-8000-000000000000'
                                   . '/kanban'),
           404, 'not_found', 'an unknown project: 404, nothing kept');

# --- reads racing moves ------------------------------------------------------------

my @ids = map {
    made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                  json => { title => "Race $_" }), 'task')->{id}
} 1 .. 10;
my @columns = map { $_->{id} } @{ board()->{columns} };

my @conns;
for my $round (0 .. 4) {
    for my $i (0 .. $#ids) {
        push @conns, $t->send_req(PATCH => "/api/v1/tasks/$ids[$i]/move",
            host => $ws->slug,
            headers => { Authorization => "Bearer $admin->{token}" },
            json => { column_id => $columns[($i + $round) % @columns] });
        push @conns, $t->send_req(GET => $path, host => $ws->slug,
            headers => { Authorization => "Bearer $admin->{token}" });
    }
    Kanban::Test::wait_all(\@conns, 60);
}
my @bad = grep { $_->response->{status} !~ /^200$/ } @conns;
is(scalar @bad, 0, '100 moves and 50 reads at once: all 200')
    or diag explain [ map { $_->response->{status} } @bad ];

my $kept = board();
$dbh->do('DELETE FROM board_cache');
is_deeply($kept, board(),
          'after them, the kept board is the one built from scratch');

$ws->api($admin, DELETE => "/api/v1/projects/$project->{id}");
my ($left) = $dbh->selectrow_array(
    'SELECT count(*) FROM board_cache WHERE project_id = ?', undef,
    $project->{id});
is($left, 0, 'a deleted project leaves no kept board behind');


# --- a read racing its project's delete ---------------------------------------------
# The read builds the board while the project is there and keeps it only
# after the delete has committed (held back by a lock on board_cache, as
# a slow reader would be). Nothing may be kept of the deleted project: its
# board answers 404 afterwards, not the board of before.

my $doomed = made($ws->api($admin, POST => '/api/v1/projects',
                           json => { key => 'DEL', name => 'Deleted' }),
                  'project');
made($ws->api($admin, POST => "/api/v1/projects/$doomed->{id}/tasks",
              json => { title => 'Gone soon' }), 'task');
my $doomed_path = "/api/v1/projects/$doomed->{id}/kanban";
$dbh->do('DELETE FROM board_cache WHERE project_id = ?', undef, $doomed->{id});

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

my $auth = { Authorization => "Bearer $admin->{token}" };
my $read = $t->send_req(GET => $doomed_path, host => $ws->slug,
                        headers => $auth);
ok(Kanban::Test::wait_until([$read], sub { waiting(1) }, 20),
   'race with a delete: the read waits to keep its board');
my $delete = $t->send_req(DELETE => "/api/v1/projects/$doomed->{id}",
                          host => $ws->slug, headers => $auth);
ok(Kanban::Test::wait_until([$read, $delete], sub { waiting(2) }, 20),
   '... and the delete is under way');
$holder->commit;
Kanban::Test::wait_all([$read, $delete], 30);
is($read->response->{status}, 200, '... the read answers the board it built');
is($delete->response->{status}, 204, '... the delete answers 204');
problem_is($ws->api($admin, GET => $doomed_path), 404, 'not_found',
           '... and afterwards the board is 404, not the one kept before');
my ($orphans) = $dbh->selectrow_array(
    'SELECT count(*) FROM board_cache WHERE project_id = ?', undef,
    $doomed->{id});
is($orphans, 0, '... and nothing of it is kept');
$holder->disconnect;

$t->done_testing;
