#!/usr/bin/perl

# The background sweeps leave a workspace alone once nothing is due in it.
# A write wakes the planner, the mail sender and the built-in agents'
# sweep in its workspace; each asks once, learns that nothing is due, and
# does not come back: no statements in the workspace's database while
# nobody uses it, and no row in the catalog's due index.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use Kanban::Test;

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'idle');
my $admin = $ws->admin;
my $db = $t->db_name($ws->slug);
my $catalog = $t->catalog;

my $r = $ws->api($admin, POST => '/api/v1/projects',
                 json => { key => 'IDL', name => 'Quiet' });
is($r->{status}, 201, 'a project made: a write the sweeps are woken by');
$r = $ws->api($admin, POST => "/api/v1/projects/$r->{json}{id}/tasks",
              json => { title => 'Nothing due here' });
is($r->{status}, 201, 'a task without a due date, another write');

sleep 2;    # the wakes' steps and their statistics settle

sub commits {
    $catalog->do('SELECT pg_stat_clear_snapshot()');
    my ($n) = $catalog->selectrow_array(
        'SELECT xact_commit FROM pg_stat_database WHERE datname = ?',
        undef, $db);
    return $n;
}

my $before = commits();
sleep 3;
my $during = commits() - $before;

cmp_ok($during, '<', 10,
       'an idle workspace: under 10 transactions in 3 s (no sweep loops)')
    or diag "$during transactions in 3 s";

my ($rows) = $catalog->selectrow_array(
    'SELECT count(*) FROM sweep_due WHERE slug = ?', undef, $ws->slug);
is($rows, 0, 'and it is not in the catalog\'s due index');

$t->done_testing;
