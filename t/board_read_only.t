#!/usr/bin/perl

# A workspace's database made read-only, as kanbanctl move-workspace does
# while the copy catches up (ALTER DATABASE ... SET
# default_transaction_read_only, then its sessions ended): a read that
# finds nothing kept builds the board, the task or the project list and
# answers it, without keeping it (tenant 053). Before, the board and the
# task answered 500 ("cannot execute UPDATE in a read-only transaction").
# Once writable again, reads keep what they build as before.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use Kanban::Test;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'rdonly');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $db = $t->db_name($ws->slug);

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}" unless $r->{status} =~ /^20[014]$/;
    return $r->{json};
}

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'RO', name => 'Read only' }),
                   'project');
my $board = "/api/v1/projects/$project->{id}/kanban";
my $task = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'Before the move' }), 'task');

made($ws->api($admin, GET => $board), 'board');
made($ws->api($admin, GET => "/api/v1/tasks/$task->{id}"), 'task');

# a write drops what was kept: the reads below must build it
made($ws->api($admin, PATCH => "/api/v1/tasks/$task->{id}",
              json => { title => 'Renamed before the move' }), 'patch');

sub kept {
    my ($board_body) = $dbh->selectrow_array(
        'SELECT body FROM board_cache WHERE project_id = ?', undef,
        $project->{id});
    my ($task_body) = $dbh->selectrow_array(
        'SELECT body FROM task_cache WHERE task_id = ?', undef, $task->{id});
    return (defined $board_body ? 1 : 0, defined $task_body ? 1 : 0);
}

is_deeply([kept()], [0, 0], 'the write dropped the kept board and task');

# what the move does to the source database
sub read_only {
    my ($on) = @_;
    $dbh->do(qq{ALTER DATABASE "$db" }
             . ($on ? 'SET default_transaction_read_only = on'
                    : 'RESET default_transaction_read_only'));
    $dbh->do(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND application_name = 'kanban-nginx'});
    sleep 0.3;    # the workers see their idle connections end
}

read_only(1);

for my $round (1 .. 3) {
    my $r = $ws->api($admin, GET => $board);
    is($r->{status}, 200, "read-only, read $round: the board answers");
    my ($seen) = grep { $_->{id} eq $task->{id} }
                 map { @{ $_->{tasks} } } @{ $r->{json}{columns} || [] };
    is($seen && $seen->{title}, 'Renamed before the move',
       "... with the write made before");

    $r = $ws->api($admin, GET => "/api/v1/tasks/$task->{id}");
    is($r->{status}, 200, "read-only, read $round: the task answers");
    is($r->{json}{title}, 'Renamed before the move', '... as written');

    $r = $ws->api($admin, GET => '/api/v1/projects');
    is($r->{status}, 200, "read-only, read $round: the project list answers");
}

is_deeply([kept()], [0, 0], 'nothing was kept while read-only');

read_only(0);

made($ws->api($admin, GET => $board), 'board');
made($ws->api($admin, GET => "/api/v1/tasks/$task->{id}"), 'task');
is_deeply([kept()], [1, 1], 'writable again: reads keep what they build');

my @errors = grep { /read-only transaction/ }
             split /\n/, Kanban::Test::read_file($t->var . '/log/error.log');
is_deeply(\@errors, [], 'no read-only error in the log');

$t->done_testing;
