#!/usr/bin/perl

# The mail sender polls a workspace only when something is due there
# (the core sweeper's due index, catalog 018): many idle workspaces in the
# catalog are never asked; a write that queues mail has it sent within a
# second; a message waiting for its retry still goes after nginx restarts
# (no write wakes it: only the due index knows); a quiet workspace's
# digest goes at its time; a workspace with nothing due leaves the index;
# a read that notifies (the update reminders) has its mail sent too.
# Real nginx, PostgreSQL and an SMTP server on loopback (Kanban::SMTP).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Kanban::SMTP;
use File::Temp qw(tempfile);

my $smtp = Kanban::SMTP->new(auth => 'kanban:s3cret-pw');
my ($cfh, $creds) = tempfile('mail-creds-XXXXXX', TMPDIR => 1, UNLINK => 1);
print $cfh "kanban:s3cret-pw\n";
close $cfh;

my $port = $smtp->port;
my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_mail_server smtp://127.0.0.1:$port;
kanban_mail_credentials $creds;
kanban_mail_from noreply\@kanban.test;
kanban_mail_sweep 300ms;
kanban_mail_backoff 3s;
kanban_mail_timeout 3s;
kanban_mail_digest 4s;
EOF

my $catalog = $t->catalog;

sub mail_to {
    my ($addr, $timeout) = @_;
    my ($m) = $smtp->wait_for(sub { grep { $_->{to} eq $addr } @_ },
                              $timeout // 10);
    return $m;
}

sub due_row {
    my ($slug) = @_;
    return $catalog->selectrow_hashref(q{
        SELECT due_at, extract(epoch FROM due_at - now()) AS due_in
          FROM sweep_due WHERE sweep = 'mail' AND slug = ?}, undef, $slug);
}

# --- idle workspaces are never asked ----------------------------------------

my @idle = map { $t->signup(prefix => 'idle') } 1 .. 20;
my %idle_db = map { $t->db_name($_) => $_ } @idle;
my $in = join ',', map { $catalog->quote($_) } keys %idle_db;

my $ws = $t->workspace(prefix => 'due');
my $slug = $ws->slug;
my $admin = $ws->admin;

sleep 2;    # the sign-ups' own statements settle (the directory's sync)
my ($since) = $catalog->selectrow_array('SELECT now()');

# the old sender asked every active workspace every sweep (300 ms): in
# 3 s, 10 claims on each; now none, whatever else happens meanwhile
my $r = $ws->api($admin, POST => '/api/v1/users',
                 json => { email => "warm\@$slug.example", name => 'Warm Up' });
is($r->{status}, 201, 'a write on another workspace meanwhile');
sleep 3;

my $asked = $catalog->selectall_arrayref(qq{
    SELECT datname, query FROM pg_stat_activity
     WHERE datname IN ($in) AND backend_type = 'client backend'
       AND (state_change > ? OR query ~ 'mail_')}, undef, $since);
is(scalar @$asked, 0, '20 idle workspaces: not one statement in 3 s')
    or diag explain $asked;
my ($rows) = $catalog->selectrow_array(qq{
    SELECT count(*) FROM sweep_due WHERE slug IN (
        SELECT slug FROM tenants WHERE db_name IN ($in))});
is($rows, 0, 'and none is in the due index');

# --- a write that queues mail: sent within a second -------------------------

ok(mail_to("warm\@$slug.example"), 'the first write\'s mail went');

for my $i (1 .. 3) {
    my $to = "ivy$i\@$slug.example";
    $r = $ws->api($admin, POST => '/api/v1/users',
                  json => { email => $to, name => "Ivy $i" });
    is($r->{status}, 201, "invitation $i");
    ok(mail_to($to, 5), "invitation $i is mailed");
}

# measured here, from before the write to the message received
my $t0 = time;
$r = $ws->api($admin, POST => '/api/v1/users',
              json => { email => "quick\@$slug.example", name => 'Quick' });
my $m = $smtp->wait_for(sub { grep { $_->{to} eq "quick\@$slug.example" } @_ },
                        5);
my $took = time - $t0;
ok($m, 'a fourth invitation is mailed');
cmp_ok($took, '<', 1, sprintf('within a second of the write (%.0f ms)',
                              $took * 1000));

# nothing due: the workspace leaves the index
my $gone = 0;
for (1 .. 40) {
    if (!due_row($slug)) { $gone = 1; last }
    sleep 0.1;
}
ok($gone, 'all sent and nothing due: its row is deleted');

# --- a retry waits in the index across a restart ----------------------------

$smtp->stop;
my $dan = "dan\@$slug.example";
$r = $ws->api($admin, POST => '/api/v1/users',
              json => { email => $dan, name => 'Dan Delayed' });
is($r->{status}, 201, 'an invitation while the SMTP server is down');

my $dbh = $ws->dbh;
my $waiting;
for (1 .. 50) {
    $waiting = $dbh->selectrow_hashref(q{
        SELECT attempts, extract(epoch FROM next_attempt_at - now()) AS next_in
          FROM mail_outbox WHERE to_addr = ? AND status = 'queued'
           AND attempts >= 1 AND last_error IS NOT NULL}, undef, $dan);
    last if $waiting;
    sleep 0.1;
}
ok($waiting, 'its first attempt failed; it waits for the next');

my $row;
for (1 .. 30) {
    $row = due_row($slug);
    last if $row && $row->{due_in} > 0.5;
    sleep 0.1;
}
ok($row && $row->{due_in} > 0.5, sprintf(
   'the index has the workspace due at the retry, in %.1f s',
   $row ? $row->{due_in} : -1));

$t->stop;
$smtp->start;
$t->run;

# no request at all after the restart: only the index can find it
ok(mail_to($dan, 15), 'after a restart, the message still goes at its retry');

# --- a quiet workspace's digest goes at its time -----------------------------

my $dora = $ws->member('Dora Digest');
my $chose = time;
$r = $ws->api($dora, PUT => '/api/v1/me/mail-preferences',
              json => { kinds => { assigned => 'digest' } });
is($r->{status}, 200, 'Dora chooses a digest of assignments');
my $project = $ws->api($admin, POST => '/api/v1/projects',
                       json => { name => 'Digest', key => 'DIG' })->{json};
$r = $ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
              json => { title => 'Quietly assigned',
                        assignee_ids => [ $dora->{id} ] });
is($r->{status}, 201, 'a task assigned to her, the last write');

$row = due_row($slug);
ok($row, 'the workspace is in the index for her digest');

my $digest = mail_to($dora->{email}, 15);
ok($digest, 'the digest goes with no write to the workspace');
like($digest ? $digest->{text} : '', qr/Quietly assigned/, 'with the task');
my $after = time - $chose;
cmp_ok($after, '>=', 3.5, sprintf('at its time (4 s after she chose), not '
                                  . 'before (%.1f s)', $after));

$row = due_row($slug);
ok($row && $row->{due_in} > 1,
   'and the index says when the next is due') or diag explain $row;

# --- a read that notifies: its mail goes too ----------------------------------

# a project's health read makes the update reminders that are due (tenant
# 025): a GET that writes, which wakes the sender as a write does
# (a workspace of its own: no digest steps it meanwhile)
my $ws2 = $t->workspace(prefix => 'remind');
my $boss = $ws2->admin;
my $ledger = $ws2->api($boss, POST => '/api/v1/projects',
                       json => { name => 'Ledger', key => 'LED',
                                 status => 'active',
                                 owner_id => $boss->{id} })->{json};
my ($isodow) = $ws2->dbh->selectrow_array(
    'SELECT extract(isodow FROM workspace_today())::int');
$r = $ws2->api($boss, PUT => '/api/v1/portfolio/settings',
               json => { update_weekday => $isodow });
is($r->{status}, 200, 'the update day is today');
sleep 1;        # that write's step is over: nothing due, nothing watched
ok(!due_row($ws2->slug), 'nothing due in it');
$t0 = time;
$r = $ws2->api($boss, GET => "/api/v1/projects/$ledger->{id}/health");
is($r->{status}, 200, 'its manager reads the project\'s health');
my ($due) = $smtp->wait_for(sub {
    grep { $_->{to} eq $boss->{email}
           && Kanban::SMTP::decoded($_->{headers}{subject})
              =~ /project update is due/ } @_ }, 3);
ok($due, sprintf('the update reminder the read made is mailed at once '
                 . '(%.0f ms)', (time - $t0) * 1000));

# the idle ones, still never asked
$asked = $catalog->selectall_arrayref(qq{
    SELECT datname FROM pg_stat_activity
     WHERE datname IN ($in) AND backend_type = 'client backend'
       AND (state_change > ? OR query ~ 'mail_')}, undef, $since);
is(scalar @$asked, 0, 'the idle workspaces were not asked through all this');

$t->done_testing;
