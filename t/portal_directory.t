#!/usr/bin/perl

# The portal's directory of members (who is a member where, in the
# catalog) follows the workspaces written to through nginx, and only
# them: with PORTAL_IDLE (200) more active workspaces in the catalog, some
# with changes queued by writes made outside nginx, a fresh nginx never
# connects to one of them, while a change in a workspace written to
# reaches the directory within 2 seconds, every time. kanbanctl
# portal-sync then takes every workspace's directory at once (an upgrade,
# a repair), and nginx goes on from there. A private stack: its catalog
# is this file's alone, and so is what portal-sync goes through.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Digest::SHA qw(sha256_hex);
use Kanban::Test;

my $IDLE = $ENV{PORTAL_IDLE} // 200;
my $ROUNDS = 5;
my $PASSWORD = 'correct horse battery staple';

# No webhooks sent from this nginx: its dispatcher would look at the
# workspaces that have webhooks, and this file counts connections.
my $stack = Kanban::Test::Stack->private;
my $t = Kanban::Test->new(stack => $stack, http => 'kanban_webhooks off;')
    ->run;
my $catalog = $t->catalog;

# --- the idle workspaces: nobody here writes to them -----------------------

# $IDLE active in the catalog; the first $REAL of them with a real
# database from the tenant template (its queue holds the policy change of
# tenant 045); the others have none (a database each would cost minutes
# to make here), so that an every-workspace poll would still have to go
# through all of them.
my $REAL = $ENV{PORTAL_IDLE_DBS} // 20;
my $tag = "pdir$$";
my @idle = map { "$tag-$_" } 1 .. $IDLE;
my $created = time;
for my $i (1 .. $IDLE) {
    my $db = "kanban_t_${tag}_$i";
    $catalog->do("CREATE DATABASE $db TEMPLATE kanban_tenant_template"
                 . " STRATEGY FILE_COPY") if $i <= $REAL;
    $catalog->do(q{
        INSERT INTO tenants (id, slug, name, status, db_name, server)
        VALUES (gen_random_uuid(), $1, $2, 'active', $3, 'default')},
        undef, "$tag-$i", "Idle $i", $db);
}
diag(sprintf '%d idle workspaces in the catalog, %d with a database, '
     . 'made in %.1f s', $IDLE, $REAL, time - $created);

# People who join some of them outside nginx (an import, psql): queued
# for the directory, and left there until a sync takes them.
my $quiet = "quiet.$$\@example.com";
my @quiet_in = grep { $_ % 5 == 1 } 1 .. $REAL;
for my $i (@quiet_in) {
    my $dbh = $stack->dbh("kanban_t_${tag}_$i");
    $dbh->do(q{INSERT INTO users (email, name, role, password_hash)
               VALUES ($1, 'Quinn', 'contributor', 'x')}, undef, $quiet);
    $dbh->disconnect;
}

# nginx's connections to the idle workspaces' databases
sub idle_backends {
    my ($n) = $catalog->selectrow_array(q{
        SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend'
           AND application_name <> 'kanban-test'
           AND datname LIKE $1}, undef, "kanban\\_t\\_${tag}\\_%");
    return $n;
}

sub memberships {
    my ($address, @slugs) = @_;
    my ($n) = $catalog->selectrow_array(q{
        SELECT count(*) FROM portal_members m JOIN tenants t
            ON t.id = m.tenant_id
         WHERE m.address_hash = $1 AND t.slug = ANY ($2)}, undef,
        sha256_hex(lc $address), \@slugs);
    return $n;
}

sub applied_idle {
    my ($n) = $catalog->selectrow_array(q{
        SELECT count(*) FROM portal_directory_applied a JOIN tenants t
            ON t.id = a.tenant_id WHERE t.slug = ANY ($1)}, undef, \@idle);
    return $n;
}

# seconds until $cond holds (undef: not within $timeout)
sub within {
    my ($cond, $timeout) = @_;
    my $t0 = time;
    while (time - $t0 < $timeout) {
        return time - $t0 if $cond->();
        sleep 0.02;
    }
    return undef;
}

is(idle_backends(), 0, 'no idle workspace database connected to at first');

# --- a workspace written to: each change within 2 seconds -----------------

my $ws = $t->workspace(prefix => 'pdir', name => 'Directory Works');
my @slug = ($ws->slug);

ok(defined within(sub { memberships($ws->admin->{email}, @slug) == 1 }, 2),
   'a sign-up: its admin is in the directory within 2 s');

# a sign-up alone, nobody signed in yet: its admin can find it
my $fresh = $t->signup(prefix => 'pdsu');
ok(defined within(sub { memberships("admin\@$fresh.example", $fresh) == 1 },
                  2),
   'a sign-up alone: its admin is in the directory within 2 s');

my (@joined, @left);
for my $round (1 .. $ROUNDS) {
    my $email = "joiner.$round.$$\@example.com";
    my $r = $ws->api($ws->admin, POST => '/api/v1/users', json => {
        email => $email, name => "Joiner $round", role => 'contributor',
        password => $PASSWORD });
    is($r->{status}, 201, "round $round: a person joins");
    my $s = within(sub { memberships($email, @slug) == 1 }, 2);
    ok(defined $s, '... and is in the directory within 2 s');
    push @joined, $s // 2;

    $r = $ws->api($ws->admin, PATCH => "/api/v1/users/$r->{json}{id}",
                  json => { email => "moved.$round.$$\@example.com" });
    is($r->{status}, 200, '... changes address');
    $s = within(sub { memberships($email, @slug) == 0
                      && memberships("moved.$round.$$\@example.com",
                                     @slug) == 1 }, 2);
    ok(defined $s, '... the old one gone, the new one there within 2 s');
    push @left, $s // 2;
}

@joined = sort { $a <=> $b } @joined;
@left = sort { $a <=> $b } @left;
diag(sprintf 'directory behind a write, with %d idle workspaces: '
     . 'join median %.0f ms, max %.0f ms; address change median %.0f ms, '
     . 'max %.0f ms', $IDLE, 1000 * $joined[$#joined / 2],
     1000 * $joined[-1], 1000 * $left[$#left / 2], 1000 * $left[-1]);

# long enough for any poll of every workspace to have come round twice
sleep 2.5;

is(idle_backends(), 0,
   "no idle workspace's database was connected ($IDLE in the catalog)");
is(applied_idle(), 0, '... nor any of their queues applied');
is(memberships($quiet, @idle), 0,
   'a person added outside nginx waits in the queue');

# --- kanbanctl portal-sync -------------------------------------------------

# the workspaces without a database are out of the way of the sync
$catalog->do(q{UPDATE tenants SET status = 'suspended'
                WHERE slug = ANY ($1)}, undef, [@idle[$REAL .. $#idle]]);
@idle = @idle[0 .. $REAL - 1];

# a directory that lost a workspace's part (a restore of the catalog)
$catalog->do(q{DELETE FROM portal_members WHERE tenant_id =
                   (SELECT id FROM tenants WHERE slug = $1)}, undef, $slug[0]);
is(memberships($ws->admin->{email}, @slug), 0, 'a lost directory');

my $t0 = time;
my $out = $stack->ctl('portal-sync');
my $took = time - $t0;
like($out, qr/portal directory: \d+ workspaces synced \(0 failed\)/,
     'kanbanctl portal-sync: every workspace synced');
diag(sprintf 'kanbanctl portal-sync: %.1f s (%s)', $took, $out =~ s/\s+$//r);

is(memberships($ws->admin->{email}, @slug), 1, '... the lost part is back');
is(memberships("moved.$ROUNDS.$$\@example.com", @slug), 1,
   '... with every change made before');
is(memberships($quiet, @idle), scalar @quiet_in,
   '... the people added outside nginx are in it');
is(applied_idle(), $REAL, "... every idle workspace's queue applied");

my $dbh = $stack->dbh("kanban_t_${tag}_1");
is($dbh->selectrow_array('SELECT count(*) FROM portal_directory_changes'), 0,
   "... and emptied");
$dbh->disconnect;

# nginx goes on from where the sync left the queue
my $r = $ws->api($ws->admin, POST => '/api/v1/users', json => {
    email => "after.$$\@example.com", name => 'After', role => 'contributor',
    password => $PASSWORD });
is($r->{status}, 201, 'a person joins after the sync');
ok(defined within(sub { memberships("after.$$\@example.com", @slug) == 1 },
                  2), '... and is in the directory within 2 s');

$out = $stack->ctl('portal-sync');
like($out, qr/\(0 failed\)/, 'portal-sync again: nothing to repair');
is(memberships("after.$$\@example.com", @slug), 1, '... the same directory');

$t->done_testing;
