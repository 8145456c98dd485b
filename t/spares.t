#!/usr/bin/perl

# Spare databases kept by nginx itself (kanban_spare_databases 2): made in
# the background from the template until the server has two ready, taken
# by sign-ups, made again as they are taken; a making that died half-way
# (a row not ready for ten minutes) is made anew; a burst of sign-ups is
# followed by more spares than the number. A private stack: the
# shared one's sign-ups would take the spares.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);

my $stack = Kanban::Test::Stack->private;
my $t = Kanban::Test->new(stack => $stack, spares => 2)->run;
my $catalog = $t->catalog;
my $server = $stack->dbh('postgres');

sub ready {
    return map { $_->[0] } @{ $catalog->selectall_arrayref(
        'SELECT db_name FROM spare_databases WHERE ready'
        . ' ORDER BY created_at') };
}

sub exists_db {
    my ($db) = @_;
    return scalar $server->selectrow_array(
        'SELECT count(*) FROM pg_database WHERE datname = ?', undef, $db);
}

sub wait_for {
    my ($cond, $seconds) = @_;
    my $deadline = time + $seconds;
    until ($cond->()) {
        return 0 if time > $deadline;
        sleep 0.1;
    }
    return 1;
}

ok(wait_for(sub { ready() == 2 }, 30),
   'nginx made two spare databases on its own')
    or diag(explain($catalog->selectall_arrayref(
        'SELECT * FROM spare_databases')));
# rows handed out by one ask share its transaction's now()
my ($together) = $catalog->selectrow_array(
    'SELECT count(DISTINCT started_at) FROM spare_databases');
is($together, 1, '... side by side, both handed out by one ask '
                 . '(kanban_spare_databases_at_once 4)');
my @spares = ready();
is(scalar(grep { exists_db($_) } @spares), 2, '... both exist on the server');

my $one = $stack->dbh($spares[0]);
my ($users) = $one->selectrow_array('SELECT count(*) FROM users');
is($users, 0, '... copies of the template, no one in them');
$one->disconnect;

# --- taken by a sign-up -------------------------------------------------------

my $slug = $t->signup(prefix => 'spare');
my ($db) = $catalog->selectrow_array(
    'SELECT db_name FROM tenants WHERE slug = ?', undef, $slug);
is($db, $spares[0], 'a sign-up took the oldest spare (no CREATE DATABASE)');

my $w = Kanban::Test::Workspace->new($t, $slug);
my $r = $w->api($w->admin, GET => '/api/v1/workspace');
is("$r->{status} $r->{json}{name}", "200 Workspace $slug",
   '... its admin signs in, its name is set');
my ($audit) = $w->dbh->selectrow_array(
    "SELECT count(*) FROM activity_log WHERE entity_type = 'user'"
    . " AND action = 'created'");
is($audit, 1, '... and the admin\'s creation is audited');

ok(wait_for(sub { ready() == 2 }, 30),
   'the spare taken is made again in the background');
ok(!grep({ $_ eq $db } ready()), '... a new one, not the one taken');

# --- a slug taken takes no spare ---------------------------------------------

my @before = ready();
$r = $t->req(POST => '/api/v1/tenants', json => {
    slug => $slug, name => 'Again',
    admin => { email => 'eve@example.com',
               password => 'correct horse battery staple', name => 'Eve' } });
problem_is($r, 409, 'already_exists', 'the same slug again: 409');
is_deeply([ ready() ], \@before, '... and the spares are untouched');

# --- a making that died --------------------------------------------------------

# as a node killed between CREATE DATABASE and marking the row ready
# would leave it: the database half there, the row not ready, long ago
my $dead = 'kanban_s_' . ('d' x 32);
$server->do(qq{CREATE DATABASE "$dead" TEMPLATE kanban_tenant_template});
$catalog->do(q{
    INSERT INTO spare_databases (db_name, server, ready, started_at)
    VALUES (?, 'default', false, now() - interval '11 minutes')},
    undef, $dead);

ok(wait_for(sub { grep { $_ eq $dead } ready() }, 30),
   'a spare left half-made ten minutes ago is dropped and made anew');
ok(exists_db($dead), '... and exists');

# --- ahead by the recent rate ---------------------------------------------------

# six sign-ups within seconds: the server keeps as many ready as its last
# ten seconds took (up to four times kanban_spare_databases), not two
my $burst_from = time;
$t->signup(prefix => 'burst') for 1 .. 6;
my $burst_took = time - $burst_from;
ok(wait_for(sub { ready() >= 5 }, 30),
   sprintf('after six sign-ups in %.1f s, spares for the next ones: %d ready',
           $burst_took, scalar ready()))
    or diag(explain($catalog->selectall_arrayref(
        'SELECT db_name, ready, started_at FROM spare_databases')));
cmp_ok(scalar(ready()), '<=', 8, '... at most four times the number');

# --- off: none made --------------------------------------------------------------

$t->stop;
my $off = Kanban::Test->new(stack => $stack)->run;
$catalog->do('DELETE FROM spare_databases');
sleep 2.5;
my ($n) = $catalog->selectrow_array('SELECT count(*) FROM spare_databases');
is($n, 0, 'kanban_spare_databases 0 (the default): nginx makes none');
$off->stop;

Kanban::Test->done_testing;
