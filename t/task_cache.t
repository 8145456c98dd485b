#!/usr/bin/perl

# The kept task (sql/tenant/026_task_cache.sql): GET /api/v1/tasks/{id}
# after any write that changes what it shows shows the change, every time,
# because the write drops the kept document in its own transaction. Each
# step reads the task first (so it is kept), writes, and reads again. Then
# reads race writes, and the task after them is the one PostgreSQL builds
# from scratch; a task deleted while it is read is gone.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'taskc');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $ann = $ws->member('Ann');

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}" unless $r->{status} =~ /^20[014]$/;
    return $r->{json};
}

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'TKC', name => 'Tasks' }),
                   'project');
my %col = map { $_->{category} => $_ }
          @{ made($ws->api($admin, GET => "/api/v1/projects/$project->{id}/kanban"),
                  'board')->{columns} };
my $task = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'First', labels => ['a'] }),
                'task');
my $path = "/api/v1/tasks/$task->{id}";

sub read_task {
    my $r = $ws->api($admin, GET => $path);
    die "GET $path: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r;
}

sub kept {
    my ($body) = $dbh->selectrow_array(
        'SELECT body FROM task_cache WHERE task_id = ?', undef, $task->{id});
    return defined $body;
}

my $first = read_task();
ok(kept(), 'a task read is kept');
my $again = read_task();
is($again->{body}, $first->{body}, '... and read again the same bytes');
is($again->{headers}{etag}, $first->{headers}{etag}, '... and ETag');
is_deeply($first->{json}, $task, 'the kept task is what its creation answered');

# step(name, write, check): read (kept), write, read and check
sub step {
    my ($name, $write, $check) = @_;
    read_task();
    ok(kept(), "$name: kept before");
    $write->();
    ok(!kept(), "$name: the write dropped it");
    my $r = read_task();
    $check->($r->{json}, $r) or diag explain $r->{json};
}

step('a title changed', sub {
    made($ws->api($admin, PATCH => $path, json => { title => 'Renamed' }),
         'patch');
}, sub {
    my ($j, $r) = @_;
    is($j->{title}, 'Renamed', 'a title changed: the new title')
        && is($r->{headers}{etag}, "\"$j->{version}\"",
              '... and the new version as ETag');
});

step('a move', sub {
    made($ws->api($admin, PATCH => "$path/move",
                  json => { column_id => $col{in_progress}{id} }), 'move');
}, sub {
    my ($j) = @_;
    is($j->{column_id}, $col{in_progress}{id}, 'a move: the new column')
        && is($j->{category}, 'in_progress', '... and its category');
});

step('an assignee', sub {
    made($ws->api($admin, PATCH => $path,
                  json => { assignee_ids => [ $ann->{id} ] }), 'assign');
}, sub { is_deeply($_[0]{assignee_ids}, [ $ann->{id} ], 'an assignee: shown') });

step('labels and a custom field', sub {
    my $field = made($ws->api($admin, POST => '/api/v1/custom-fields',
                              json => { name => 'Points', type => 'number',
                                        project_id => $project->{id} }),
                     'field');
    made($ws->api($admin, PATCH => $path,
                  json => { labels => ['x', 'y'],
                            custom_fields => { $field->{id} => 3 } }),
         'labels');
}, sub {
    my ($j) = @_;
    is_deeply([ $j->{labels}, [ values %{ $j->{custom_fields} } ] ],
              [ ['x', 'y'], [3] ], 'labels and a custom field: shown');
});

step("the column's category", sub {
    made($ws->api($admin, PATCH => "/api/v1/columns/$col{in_progress}{id}",
                  json => { category => 'review' }), 'column');
}, sub { is($_[0]{category}, 'review', "the column's category: the new one") });

step("the project's key", sub {
    $dbh->do('UPDATE projects SET key = ? WHERE id = ?', undef, 'TKD',
             $project->{id});
}, sub { like($_[0]{key}, qr/^TKD-\d+$/, "the project's key: in the task's") });

step('the assignee deleted', sub {
    $dbh->do('DELETE FROM users WHERE id = ?', undef, $ann->{id});
}, sub { is_deeply($_[0]{assignee_ids}, [], 'a person deleted: no longer assigned') });

read_task();
my $r = $ws->api($admin, PATCH => $path, json => { title => '' });
is($r->{status}, 422, 'a rejected write ...');
ok(kept(), '... leaves the kept task alone');

made($ws->api($admin, PATCH => "/api/v1/columns/$col{todo}{id}",
              json => { name => 'To do now' }), 'column renamed');
ok(kept(), "another column's change leaves it alone too");

read_task();
made($ws->api($admin, DELETE => $path), 'delete');
problem_is($ws->api($admin, GET => $path), 404, 'not_found',
           'a deleted task is gone, though it was kept');
my ($left) = $dbh->selectrow_array(
    'SELECT count(*) FROM task_cache WHERE task_id = ?', undef, $task->{id});
is($left, 0, '... and leaves no kept document behind');

problem_is($ws->api($admin, GET => '/api/v1/tasks/'
                                   . '00000000-0000-4000-8000-000000000000'),
           404, 'not_found', 'an unknown task: 404');

# --- reads racing writes ------------------------------------------------------

my @ids = map {
    made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                  json => { title => "Race $_" }), 'task')->{id}
} 1 .. 8;
my @columns = map { $_->{id} } values %col;
my $auth = { Authorization => "Bearer $admin->{token}" };

my @conns;
for my $round (1 .. 5) {
    my @round;
    for my $i (0 .. $#ids) {
        push @round, $t->send_req(PATCH => "/api/v1/tasks/$ids[$i]",
            host => $ws->slug, headers => $auth,
            json => { title => "Race $i round $round" });
        push @round, $t->send_req(PATCH => "/api/v1/tasks/$ids[$i]/move",
            host => $ws->slug, headers => $auth,
            json => { column_id => $columns[($i + $round) % @columns] });
        push @round, $t->send_req(GET => "/api/v1/tasks/$ids[$i]",
            host => $ws->slug, headers => $auth) for 1 .. 3;
    }
    Kanban::Test::wait_all(\@round, 60);
    push @conns, @round;

    # every write of the round has answered: a read now shows them all
    my @stale = grep {
        my $j = made($ws->api($admin, GET => "/api/v1/tasks/$ids[$_]"), 'read');
        $j->{title} ne "Race $_ round $round"
            || $j->{column_id} ne $columns[($_ + $round) % @columns]
    } 0 .. $#ids;
    is_deeply(\@stale, [], "round $round: every read after the writes shows them");
}
my @bad = grep { $_->response->{status} != 200 } @conns;
is(scalar @bad, 0, '80 writes and 120 reads at once: all 200')
    or diag explain [ map { $_->response->{status} } @bad ];

my %kept = map { $_ => read_task_id($_) } @ids;
sub read_task_id { made($ws->api($admin, GET => "/api/v1/tasks/$_[0]"), 'read') }
$dbh->do('DELETE FROM task_cache');
is_deeply({ map { $_ => read_task_id($_) } @ids }, \%kept,
          'after them, each kept task is the one built from scratch');

# reads racing deletes: a read either finds the task or answers 404, and
# nothing is kept of a deleted task
@conns = ();
for my $id (@ids) {
    push @conns, $t->send_req(GET => "/api/v1/tasks/$id", host => $ws->slug,
                              headers => $auth) for 1 .. 2;
    push @conns, $t->send_req(DELETE => "/api/v1/tasks/$id", host => $ws->slug,
                              headers => $auth);
    push @conns, $t->send_req(GET => "/api/v1/tasks/$id", host => $ws->slug,
                              headers => $auth) for 1 .. 2;
}
Kanban::Test::wait_all(\@conns, 60);
@bad = grep { $_->response->{status} !~ /^(200|204|404)$/ } @conns;
is(scalar @bad, 0, 'reads racing deletes: 200, 204 or 404 only')
    or diag explain [ map { $_->response->{status} } @bad ];
is(scalar(grep { $ws->api($admin, GET => "/api/v1/tasks/$_")->{status} != 404 }
           @ids), 0, 'after them, every deleted task is 404');
($left) = $dbh->selectrow_array('SELECT count(*) FROM task_cache');
is($left, 0, '... and nothing is kept of them');

$t->done_testing;
