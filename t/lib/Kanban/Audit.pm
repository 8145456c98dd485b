package Kanban::Audit;

# The audit trail as tests look at it: the last row's id before a call,
# the rows a call wrote after it, and the two verdicts on a call (refused
# with no row; done with exactly one row of that action by that actor).
#
#     Kanban::Audit::watch($ws->dbh);
#     my $mark = last_activity_id();
#     rejected($r, $mark, 403, 'forbidden', 'a contributor deletes');
#     audited($mark, 'created', 'task', $id, $actor, 'a task made');

use strict;
use warnings;

use Exporter qw(import);
use Test::More ();
use Kanban::Test qw(problem_is);

our @EXPORT_OK = qw(last_activity_id activity_since rejected audited);

my $watched;

# the workspace database the functions look at, unless given another
sub watch { $watched = $_[0] }

sub last_activity_id {
    my ($db) = @_;
    my ($id) = ($db // $watched)->selectrow_array(
        'SELECT coalesce(max(id), 0) FROM activity_log');
    return $id;
}

sub activity_since {
    my ($mark) = @_;
    return $watched->selectall_arrayref(
        q{SELECT id, actor_id, project_id, entity_type, entity_id, action,
                 old_values::text AS old_values, new_values::text AS new_values
            FROM activity_log WHERE id > ? ORDER BY id},
        { Slice => {} }, $mark);
}

# a refused call: its status and code, and no audit row
sub rejected {
    my ($r, $mark, $status, $code, $name) = @_;
    problem_is($r, $status, $code, $name);
    my $rows = activity_since($mark);
    Test::More::is(scalar @$rows, 0, "$name: no audit row")
        or Test::More::diag(Test::More::explain($rows));
}

# a call done: exactly one audit row, that action on that entity by that
# actor; returns the row
sub audited {
    my ($mark, $action, $type, $id, $actor, $name) = @_;
    my $rows = activity_since($mark);
    my $row = $rows->[0] // {};
    Test::More::ok(@$rows == 1 && ($row->{action} // '') eq $action
                   && ($row->{entity_type} // '') eq $type
                   && ($row->{entity_id} // '') eq ($id // '')
                   && ($row->{actor_id} // '') eq $actor,
                   "$name: one audit row, $type $action by its actor")
        or Test::More::diag(Test::More::explain($rows));
    return $row;
}

1;
