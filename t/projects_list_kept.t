#!/usr/bin/perl

# GET /api/v1/projects kept whole (sql/tenant/102_projects_list_kept.sql):
# an admin's list ('full', with every budget's figures) and a
# contributor's ('plain', with none) are kept as read when they hold every
# project, and answer any first page whose limit is above that; a project
# manager's list and any page with a cursor, a filter or a limit too
# small are built each time. Every write to what the list shows drops
# both in its transaction, so a read after it shows it; a read never
# waits for a writer to keep a list, and never keeps one built before a
# write that committed while it built.

use strict;
use warnings;

use JSON::PP ();
use Test::More;
use Kanban::Test;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'plk');
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $mia = $ws->member('Mia', 'project_manager');
my $pam = $ws->member('Pam', 'project_manager');
my $dan = $ws->member('Dan');
my $team = $ws->team('Kept', $mia, $dan);
$ws->team('Elsewhere', $pam);

sub api { $ws->api(@_) }
sub made { Kanban::Test::made(@_) }

my $fig = made(api($mia, POST => '/api/v1/projects', json => {
    key => 'FIG', name => 'Figures', team_id => $team->{id},
    status => 'active' }), 'project');
my $nob = made(api($mia, POST => '/api/v1/projects', json => {
    key => 'NOB', name => 'No budget', team_id => $team->{id} }), 'project');
made(api($mia, PUT => "/api/v1/projects/$fig->{id}/budget",
         json => { hours => 10, amount => 200 }), 'budget');

sub page { made(api($_[0], GET => '/api/v1/projects' . ($_[1] // '')), 'list') }

sub item {
    my ($page, $pid) = @_;
    my ($p) = grep { $_->{id} eq $pid } @{ $page->{items} };
    return $p;
}

# the kept bodies, variant => text or undef
sub kept {
    return { map { $_->[0] => $_->[1] } @{ $dbh->selectall_arrayref(
        'SELECT variant, body FROM projects_list_kept') } };
}

$dbh->do('UPDATE projects_list_kept SET body = NULL');
my $full = page($admin);
my $plain = page($dan);
my $k = kept();
ok(defined $k->{full} && defined $k->{plain}, 'an admin\'s and a '
   . 'contributor\'s first page are kept');
is_deeply(JSON::PP->new->decode($k->{full}), $full, '... the admin\'s as read');
is_deeply(page($admin), $full, '... and read again the same');
is_deeply(page($dan), $plain, '... the contributor\'s too');
is(item($full, $fig->{id})->{budget}{hours}, 10,
   'the admin\'s page has the figures');
ok(!exists item($plain, $fig->{id})->{budget},
   'the contributor\'s has none');
ok(exists item(page($mia), $fig->{id})->{budget},
   'the team\'s manager reads them (built, not kept)');
ok(!exists item(page($pam), $fig->{id})->{budget},
   'another team\'s manager does not');
is_deeply(kept(), $k, '... and neither manager\'s page was kept');

my $one = page($admin, '?limit=1');
is(scalar @{ $one->{items} }, 1, 'a limit is honoured');
ok(defined $one->{next_cursor}, '... with a cursor to the next page');
is(scalar @{ page($admin, "?cursor=$one->{next_cursor}")->{items} }, 1,
   '... which has the other project');
is(scalar @{ page($dan, '?status=active')->{items} }, 1,
   'a filter is honoured');
is_deeply(kept(), $k, '... and none of these pages was kept');

# which reads the kept list answers: put a marker in it
my $marker = '{"items" : [], "next_cursor" : null}';
$dbh->do('UPDATE projects_list_kept SET body = ? WHERE variant = ?', undef,
         $marker, 'full');
is_deeply([ map { scalar @{ page($admin, $_)->{items} } }
                '', '?limit=200', '?limit=3', '?limit=2', '?limit=1' ],
          [ 0, 0, 0, 2, 1 ], 'the kept list (2 projects) answers the first '
          . 'page at the default limit, the web UI\'s 200 and 3; not 2 or 1');
is(scalar @{ page($mia)->{items} }, 2, '... nor a project manager');
$dbh->do('UPDATE projects_list_kept SET body = NULL');

# step(name, write, check): both pages kept, the write drops both, the
# next reads show it
sub step {
    my ($name, $write, $check) = @_;
    page($admin);
    page($dan);
    my $before = kept();
    ok(defined $before->{full} && defined $before->{plain},
       "$name: kept before");
    $write->();
    my $after = kept();
    ok(!defined $after->{full} && !defined $after->{plain},
       "$name: the write dropped both");
    $check->(page($admin), page($dan));
}

my $task = made(api($admin, POST => "/api/v1/projects/$fig->{id}/tasks",
                    json => { title => 'One' }), 'task');
my %col = map { $_->{category} => $_->{id} } @{ made(api($admin,
    GET => "/api/v1/projects/$fig->{id}/kanban"), 'board')->{columns} };

step('a task done', sub {
         made(api($admin, PATCH => "/api/v1/tasks/$task->{id}/move",
                  json => { column_id => $col{done} }), 'move');
     },
     sub { is(item($_[1], $fig->{id})->{progress}, 100, '... progress 100') });
step('the project renamed', sub {
         made(api($mia, PATCH => "/api/v1/projects/$fig->{id}",
                  json => { name => 'Renamed' }), 'rename');
     },
     sub { is(item($_[0], $fig->{id})->{name}, 'Renamed', '... renamed');
           is(item($_[1], $fig->{id})->{name}, 'Renamed', '... for both') });
my $spent;
step('time logged against the budget', sub {
         made(api($dan, POST => '/api/v1/timesheets/entries', json => {
             project_id => $fig->{id}, date => '2026-11-02',
             minutes => 90, billable => \1 }), 'entry');
     },
     sub { $spent = item($_[0], $fig->{id})->{budget}{spent_minutes};
           is($spent, 90, '... the admin reads 90 minutes spent');
           ok(!exists item($_[1], $fig->{id})->{budget},
              '... the contributor still nothing') });
step('the budget changed', sub {
         made(api($mia, PUT => "/api/v1/projects/$fig->{id}/budget",
                  json => { hours => 20, amount => 400 }), 'budget');
     },
     sub { is(item($_[0], $fig->{id})->{budget}{spent_minutes}, $spent,
              '... the figures still listed') });
my $new;
step('a project made', sub {
         $new = made(api($admin, POST => '/api/v1/projects',
                         json => { key => 'NEW', name => 'New' }), 'new');
     },
     sub { ok(item($_[0], $new->{id}) && item($_[1], $new->{id}),
              '... listed for both') });
step('a project deleted', sub {
         is(api($admin, DELETE => "/api/v1/projects/$new->{id}")->{status},
            204, 'deleted');
     },
     sub { ok(!item($_[0], $new->{id}) && !item($_[1], $new->{id}),
              '... gone for both') });

# A writer holds the kept row (as one committing would): a read that
# finds nothing kept builds its page, answers at once, and keeps nothing.
$dbh->do('UPDATE projects_list_kept SET body = NULL');
my $holder = $t->tenant_dbh($ws->slug);
$holder->begin_work;
$holder->do('SELECT 1 FROM projects_list_kept FOR UPDATE');
my $r = api($admin, GET => '/api/v1/projects');
is($r->{status}, 200, 'a read while a writer holds the kept row: 200');
ok(!defined kept()->{full}, '... and it kept nothing');
$holder->rollback;
$holder->disconnect;

# Reads race moves: every page read after the moves is the one built
# from scratch.
my @conns;
for my $round (0 .. 4) {
    for my $who ($admin, $dan) {
        push @conns, $t->send_req(PATCH => "/api/v1/tasks/$task->{id}/move",
            host => $ws->slug, headers => { Authorization =>
                                            "Bearer $admin->{token}" },
            json => { column_id => $col{ $round % 2 ? 'done' : 'todo' } });
        push @conns, $t->send_req(GET => '/api/v1/projects',
            host => $ws->slug,
            headers => { Authorization => "Bearer $who->{token}" });
    }
    Kanban::Test::wait_all(\@conns, 60);
}
is(scalar(grep { $_->response->{status} != 200 } @conns), 0,
   '10 moves and 10 page reads at once: all 200');
my @kept = (page($admin), page($dan));
$dbh->do('UPDATE projects_list_kept SET body = NULL');
$dbh->do('UPDATE board_cache SET project_doc = NULL');
is_deeply([ page($admin), page($dan) ], \@kept,
          'after them, the kept pages are the ones built from scratch');

$t->done_testing;
