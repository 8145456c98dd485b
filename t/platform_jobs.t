#!/usr/bin/perl

# Long work as jobs the console sees: a sign-up's provisioning, a
# deletion (cancelled by a restore, ended by the purge), a move an
# operator queues through the API and a runner (kanbanctl jobs run) does,
# a runner killed in the middle of a move whose job is claimed again when
# its lease runs out, a deleted workspace's export by its admin during
# the grace period and every row back after the restore, and the
# roll-out of the tenant schema with one broken workspace among several,
# run twice.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX qw(setsid);
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);
use Kanban::Operator;

# a stack of its own: a second PostgreSQL server to move to, and a
# catalog whose every workspace is this file's
my $stack = Kanban::Test::Stack->private;
$stack->server_start('pg2');
$ENV{KANBAN_VAR} = $stack->{var};
$ENV{KANBAN_PG_PORT} = $stack->pg_port;
$ENV{KANBAN_TENANT_TTL} = '1s';
$ENV{KANBAN_MOVE_KEEP} = 1;
$ENV{KANBAN_JOB_LEASE} = 2;

my $t = Kanban::Test->new(stack => $stack, ttl => '1s')->run;
my $catalog = $t->catalog;
my $op = Kanban::Operator->new($t);
my $ctl = "$Kanban::Test::ROOT/conf/kanbanctl";

sub jobs {
    my ($query) = @_;
    my $r = $op->api(GET => "/api/v1/platform/jobs?$query");
    is($r->{status}, 200, "jobs?$query") or diag($r->{body});
    return $r->{json}{items};
}

sub job {
    my ($id) = @_;
    return $op->api(GET => "/api/v1/platform/jobs/$id")->{json};
}

sub wait_for {
    my ($what, $cond) = @_;
    my $deadline = time + 60;
    until ($cond->()) {
        return fail("$what: not within a minute") if time > $deadline;
        sleep 0.2;
    }
    return pass($what);
}

# --- provisioning -------------------------------------------------------------

my $ws = $t->workspace(prefix => 'jobs');
my $slug = $ws->slug;
my $admin = $ws->admin;

my $items = jobs("kind=provision&workspace=$slug");
is(scalar @$items, 1, 'a sign-up is a provision job');
is($items->[0]{state}, 'succeeded', '... succeeded');
is($items->[0]{progress}, 100, '... all the way');
is($items->[0]{requested_by}, 'sign-up', '... asked for by the sign-up');
ok($items->[0]{started_at} && $items->[0]{finished_at}, '... with its times');
is(job($items->[0]{id})->{id}, $items->[0]{id}, 'one job by its id');
problem_is($op->api(GET => '/api/v1/platform/jobs/'
                           . '00000000-0000-4000-8000-000000000000'),
           404, 'not_found', 'no such job: 404');
problem_is($op->api(GET => '/api/v1/platform/jobs?state=sleeping'), 422,
           'validation_failed', 'an unknown state: 422');

# a workspace's own token is no operator's
problem_is($t->req(GET => '/api/v1/platform/jobs',
                   headers => { Authorization => "Bearer $admin->{token}" }),
           401, 'unauthorized', "a workspace's token is useless for the jobs");
problem_is($t->req(POST => "/api/v1/platform/workspaces/$slug/move",
                   headers => { Authorization => "Bearer $admin->{token}" },
                   json => { server => 'pg2' }),
           401, 'unauthorized', '... and for a move');

# --- a move through the API, done by the runner ---------------------------------

my $project = $ws->api($admin, POST => '/api/v1/projects',
                       json => { name => 'Cargo', key => 'CAR' })->{json};
$ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
         json => { title => "Crate $_" }) for 1 .. 3;
my $tasks = $ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks")
               ->{json};

problem_is($op->api(POST => "/api/v1/platform/workspaces/$slug/move",
                    json => { server => 'nowhere' }), 422,
           'validation_failed', 'a move to no such server: 422');
problem_is($op->api(POST => "/api/v1/platform/workspaces/$slug/move",
                    json => { server => 'default' }), 409, 'conflict',
           'a move to where it is: 409');
problem_is($op->api(POST => "/api/v1/platform/workspaces/nope-$$/move",
                    json => { server => 'pg2' }), 404, 'not_found',
           'a move of no such workspace: 404');
problem_is($op->api(POST => "/api/v1/platform/workspaces/$slug/move",
                    json => { server => 'Bad Name' }), 422,
           'validation_failed', 'a malformed server name: 422');

my $r = $op->api(POST => "/api/v1/platform/workspaces/$slug/move",
                 json => { server => 'pg2' });
is($r->{status}, 202, 'an operator queues a move') or diag($r->{body});
my $move = $r->{json};
is($move->{state}, 'queued', '... queued');
is($move->{kind}, 'move', '... a move');
is($move->{params}{server}, 'pg2', '... to pg2');
is($move->{requested_by}, $op->email, '... asked for by the operator');
problem_is($op->api(POST => "/api/v1/platform/workspaces/$slug/move",
                    json => { server => 'pg2' }), 409, 'conflict',
           'a second move while one is queued: 409');

my $out = `$ctl jobs run --once 2>&1`;
is($?, 0, 'kanbanctl jobs run --once') or diag($out);
$move = job($move->{id});
is($move->{state}, 'succeeded', 'the runner did the move')
    or diag(explain($move));
is($move->{progress}, 100, '... all the way');
is($move->{attempts}, 1, '... at the first attempt');
is(scalar $catalog->selectrow_array(
       'SELECT server FROM tenants WHERE slug = ?', undef, $slug), 'pg2',
   'the workspace is on pg2');
sleep 1.2;   # every node's tenant cache
is_deeply($ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks")
             ->{json}, $tasks, 'its tasks read as before, from pg2');

$r = $op->api(GET => "/api/v1/platform/audit?workspace=$slug");
is($r->{json}{items}[0]{action}, 'workspace.move_queued',
   'the move is in the audit log');

# --- a runner killed in the middle of a move -------------------------------------

# The catalog's row held by us: the move copies the database, then waits
# for the row to open its window. The runner is killed there, its lease
# runs out, and the next runner does the move again from the start.
$r = $op->api(POST => "/api/v1/platform/workspaces/$slug/move",
              json => { server => 'default' });
is($r->{status}, 202, 'a move back is queued') or diag($r->{body});
$move = $r->{json};

my $holder = $stack->dbh('kanban_catalog');
$holder->begin_work;
$holder->do('SELECT 1 FROM tenants WHERE slug = ? FOR UPDATE', undef, $slug);

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    setsid();
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    exec $ctl, 'jobs', 'run';
    exit 127;
}

wait_for('the runner reaches the window (60%)',
         sub { (job($move->{id})->{progress} // 0) >= 60 });
kill 'KILL', -$pid;
waitpid $pid, 0;
# its statement waiting for our row dies with it, as a node's would
$catalog->do(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = 'kanban_catalog' AND wait_event_type = 'Lock'
                  AND pid <> pg_backend_pid()});
$holder->rollback;

is(job($move->{id})->{state}, 'running', 'killed: the job still says running');
sleep 2.5;   # its lease (KANBAN_JOB_LEASE) runs out
$out = `$ctl jobs run --once 2>&1`;
is($?, 0, 'the next runner') or diag($out);
$move = job($move->{id});
is($move->{state}, 'succeeded', 'the move was claimed again and done')
    or diag(explain($move));
is($move->{attempts}, 2, '... at its second attempt');
is(scalar $catalog->selectrow_array(
       'SELECT server || \' \' || status FROM tenants WHERE slug = ?', undef,
       $slug), 'default active', 'the workspace is back on default, active');
sleep 1.2;
is_deeply($ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks")
             ->{json}, $tasks, '... every task as it was');

# --- a runner killed inside a move's window ------------------------------------------

# What a runner killed after the window opened leaves: the catalog says
# moving, the old database is read-only, the job running with a lease
# that runs out. Before, the workspace stayed read-only until fixed by
# hand; the next runner rolls the window back and does the move again.
sub killed_in_window {
    my ($target, $attempts) = @_;
    my $r = $op->api(POST => "/api/v1/platform/workspaces/$slug/move",
                     json => { server => $target });
    is($r->{status}, 202, "a move to $target is queued") or diag($r->{body});
    my $id = $r->{json}{id};
    my ($db, $dsn) = $catalog->selectrow_array(
        'SELECT db_name, db_dsn FROM tenants WHERE slug = ?', undef, $slug);
    $catalog->do(q{UPDATE jobs SET state = 'running', attempts = ?,
                          progress = 60, started_at = now(),
                          lease_until = now() - interval '1 second'
                    WHERE id = ?}, undef, $attempts, $id);
    $catalog->do(q{UPDATE tenants SET status = 'moving' WHERE slug = ?},
                 undef, $slug);
    $stack->dbh('postgres', $dsn)->do(
        qq{ALTER DATABASE "$db" SET default_transaction_read_only = on});
    sleep 1.2;   # every node's tenant cache
    problem_is($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                        json => { title => 'Stuck?' }),
               503, 'tenant_moving', '... stopped inside its window: writes refused');
    return $id;
}

my $stuck = killed_in_window('pg2', 1);
$out = `$ctl jobs run --once 2>&1`;
is($?, 0, 'the next runner') or diag($out);
like($out, qr/rolled back/, '... rolls the window back') or diag($out);
$move = job($stuck);
is($move->{state}, 'succeeded', '... and does the move again') or diag(explain($move));
is($move->{attempts}, 2, '... at its second attempt');
is(scalar $catalog->selectrow_array(
       'SELECT server || \' \' || status FROM tenants WHERE slug = ?', undef,
       $slug), 'pg2 active', 'the workspace is on pg2, active');
sleep 1.2;
is($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
            json => { title => 'Written after the recovery' })->{status}, 201,
   '... and takes writes');

# the same at its last attempt: failed, the workspace writable where it was
$stuck = killed_in_window('default', 3);
$out = `$ctl jobs run --once 2>&1`;
is($?, 0, 'the next runner') or diag($out);
$move = job($stuck);
is($move->{state}, 'failed', 'a move out of attempts is failed');
is(scalar $catalog->selectrow_array(
       'SELECT server || \' \' || status FROM tenants WHERE slug = ?', undef,
       $slug), 'pg2 active', '... the workspace active where it was');
sleep 1.2;
my $written = $ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                       json => { title => 'Writable again' });
is($written->{status}, 201, '... and writable again') or diag($written->{body});

# work whose runner died and cannot start over (again) is failed with the
# reason: an export at its third attempt (t/workspace_export.t has one
# started over)
my ($dead) = $catalog->selectrow_array(q{
    INSERT INTO jobs (kind, workspace, state, requested_by, attempts,
                      started_at, lease_until)
    VALUES ('export', ?, 'running', 'test', 3, now(),
            now() - interval '1 minute') RETURNING id}, undef, $slug);
$out = `$ctl jobs run --once 2>&1`;
my $failed = job($dead);
is($failed->{state}, 'failed', 'an expired export at its third attempt is failed');
like($failed->{error}, qr/runner stopped/, '... saying why');

# --- deletion ----------------------------------------------------------------

my $gone = $t->workspace(prefix => 'jobsdel');
$op->api(DELETE => '/api/v1/platform/workspaces/' . $gone->slug);
$items = jobs('kind=delete&workspace=' . $gone->slug);
is($items->[0]{state}, 'running', 'a deletion runs through its grace period');
ok($items->[0]{params}{purge_after}, '... until purge_after');
$op->api(POST => '/api/v1/platform/workspaces/' . $gone->slug . '/restore');
$items = jobs('kind=delete&workspace=' . $gone->slug);
is($items->[0]{state}, 'failed', 'a restore cancels it');
like($items->[0]{error}, qr/restored/, '... saying so');

$op->api(DELETE => '/api/v1/platform/workspaces/' . $gone->slug);
$catalog->do(q{UPDATE tenants SET purge_after = now() - interval '1 second'
                WHERE slug = ?}, undef, $gone->slug);
$out = `$ctl purge 2>&1`;
is($?, 0, 'kanbanctl purge') or diag($out);
$items = jobs('kind=delete&workspace=' . $gone->slug);
is(scalar @$items, 2, 'two deletions of it');
is($items->[0]{state}, 'succeeded', 'the purge ends the second');
is($items->[0]{progress}, 100, '... all the way');

# --- the export during the grace period, and every row back -----------------------

my $keep = $t->workspace(prefix => 'jobsexp');
my $boss = $keep->admin;
my $mel = $keep->member('Mel', 'contributor');
my $plan = $keep->api($boss, POST => '/api/v1/projects',
                      json => { name => 'Ledger', key => 'LED' })->{json};
for my $n (1 .. 4) {
    my $task = $keep->api($boss, POST => "/api/v1/projects/$plan->{id}/tasks",
                          json => { title => "Entry $n" })->{json};
    $keep->api($mel, POST => "/api/v1/tasks/$task->{id}/comments",
               json => { body => "checked $n" });
}

# every table's rows, but the sign-ins' own (sessions, their log)
sub rows {
    my ($dbh) = @_;
    my %n;
    for my $table (@{ $dbh->selectcol_arrayref(q{
            SELECT tablename FROM pg_tables WHERE schemaname = 'public'
             ORDER BY tablename}) }) {
        ($n{$table}) = $dbh->selectrow_array(
            'SELECT count(*) FROM ' . $dbh->quote_identifier($table));
    }
    return \%n;
}
sub export_of {
    my ($r) = @_;
    my %e = %{ $r->{json} // {} };
    delete $e{exported_at};
    return \%e;
}
my $rows = rows($keep->dbh);
my $export = export_of($keep->api($boss,
                                  GET => "/api/v1/projects/$plan->{id}/export"));
ok(scalar @{ $export->{tasks} // [] } == 4, 'the export has the four tasks');

is($op->api(DELETE => '/api/v1/platform/workspaces/' . $keep->slug)->{status},
   200, 'deleted');
problem_is($keep->api($boss, GET => '/api/v1/workspace'), 410,
           'tenant_deleted', 'the workspace answers 410 tenant_deleted');
problem_is($keep->api($boss, POST => '/api/v1/projects',
                      json => { name => 'More', key => 'MOR' }),
           410, 'tenant_deleted', '... to a write too');

my $in = $keep->try_login($boss->{email});
is($in->{status}, 200, 'its admin can still sign in') or diag($in->{body});
my $grace = $in->{json}{access_token};
my $list = $keep->api($grace, GET => '/api/v1/projects');
is($list->{status}, 200, '... list the projects');
is_deeply([ map { $_->{id} } @{ $list->{json}{items} } ], [ $plan->{id} ],
          '... the one project');
my $got = $keep->api($grace, GET => "/api/v1/projects/$plan->{id}/export");
is($got->{status}, 200, '... and download its export') or diag($got->{body});
is_deeply(export_of($got), $export, '... all of it, as before the delete');
problem_is($keep->api($grace, GET => "/api/v1/projects/$plan->{id}/tasks"),
           410, 'tenant_deleted', '... and nothing else');

my $mel_in = $keep->try_login($mel->{email});
my $mel_token = $mel_in->{json}{access_token} // $mel->{token};
problem_is($keep->api($mel_token, GET => "/api/v1/projects/$plan->{id}/export"),
           410, 'tenant_deleted', 'a member gets no export');
problem_is($keep->api($mel, GET => '/api/v1/projects'), 410, 'tenant_deleted',
           '... nor the list');

is($op->api(POST => '/api/v1/platform/workspaces/' . $keep->slug . '/restore')
      ->{status}, 200, 'restored');
my $back = rows($keep->dbh);
my @auth = grep { /session|refresh|login|token/ } keys %$back;
delete @{$back}{@auth};
delete @{$rows}{@auth};
is_deeply($back, $rows, 'every row of every table is back ('
          . (keys %$rows) . ' tables)');
is_deeply(export_of($keep->api($boss,
                               GET => "/api/v1/projects/$plan->{id}/export")),
          $export, '... the same export');
is($keep->api($mel, GET => "/api/v1/projects/$plan->{id}/tasks")->{status}, 200,
   'its members work again');

# --- the roll-out of the schema ----------------------------------------------------

my @many = map { $t->workspace(prefix => 'jobsmig') } 1 .. 4;
my $broken = $many[1]->slug;
my ($latest) = $catalog->selectrow_array(
    "SELECT max(schema_version) FROM tenants WHERE status = 'active'");
# every workspace as if a version behind by the catalog's count, and one
# whose database cannot be reached
$catalog->do(q{UPDATE tenants SET schema_version = 40
                WHERE status IN ('active', 'suspended')});
my ($db) = $catalog->selectrow_array(
    'SELECT db_name FROM tenants WHERE slug = ?', undef, $broken);
$catalog->do(q{UPDATE tenants SET db_name = 'kanban_t_missing' WHERE slug = ?},
             undef, $broken);

$r = $op->api(GET => '/api/v1/platform/schema-versions');
is_deeply($r->{json}{versions}, [ { version => 40, workspaces => 6 } ],
          'the console: six workspaces on version 40');

$out = `$ctl migrate 2>&1`;
isnt($?, 0, 'kanbanctl migrate says that one failed') or diag($out);
like($out, qr/\Q$broken\E/, '... naming it');
$items = jobs('kind=migrate');
is(scalar @$items, 1, 'the roll-out is one job');
my $mig = $items->[0];
is($mig->{state}, 'failed', '... failed');
like($mig->{error}, qr/1 of 6 workspaces failed/, '... 1 of 6');
is_deeply($mig->{result}, { target => $mig->{params}{target}, total => 6,
                            migrated => 5, failed => 1 },
          '... the others went on') or diag(explain($mig));
is_deeply([ map { $_->{workspace} } @{ $mig->{failures} } ], [ $broken ],
          '... the broken one recorded');
like($mig->{failures}[0]{error}, qr/kanban_t_missing|database/,
     '... with its error');

$r = $op->api(GET => '/api/v1/platform/schema-versions');
my %on = map { $_->{version} => $_->{workspaces} } @{ $r->{json}{versions} };
is_deeply(\%on, { $mig->{params}{target} => 5, 40 => 1 },
          'the console: five on the new version, one behind');
ok($mig->{params}{target} >= $latest, '... the newest tenant schema');

# mended, run again: it resumes, and only the one left is migrated
$catalog->do('UPDATE tenants SET db_name = ? WHERE slug = ?', undef, $db,
             $broken);
my %before = map { @$_ } @{ $catalog->selectall_arrayref(
    'SELECT slug, updated_at::text FROM tenants') };
$out = `$ctl migrate 2>&1`;
is($?, 0, 'kanbanctl migrate again') or diag($out);
$items = jobs('kind=migrate');
is(scalar @$items, 1, 'the same job, resumed');
$mig = $items->[0];
is($mig->{state}, 'succeeded', '... succeeded');
is($mig->{attempts}, 2, '... at its second attempt');
is_deeply($mig->{result}, { target => $mig->{params}{target}, total => 1,
                            migrated => 1, failed => 0 },
          '... only the one left') or diag(explain($mig));
is_deeply($mig->{failures}, [], '... no failure left');
my %after = map { @$_ } @{ $catalog->selectall_arrayref(
    'SELECT slug, updated_at::text FROM tenants') };
is_deeply([ grep { $before{$_} ne $after{$_} } sort keys %after ], [ $broken ],
          '... the others untouched');
$r = $op->api(GET => '/api/v1/platform/schema-versions');
is_deeply($r->{json}{versions},
          [ { version => $mig->{params}{target}, workspaces => 6 } ],
          'the console: all six on the new version');
is($many[1]->api($many[1]->admin, GET => '/api/v1/workspace')->{status}, 200,
   'the mended workspace answers');

# a queued roll-out is the runner's too
$catalog->do(q{INSERT INTO jobs (kind, requested_by) VALUES ('migrate', 'test')});
$out = `$ctl jobs run --once 2>&1`;
is($?, 0, 'the runner takes a queued migrate') or diag($out);
is(jobs('kind=migrate')->[0]{state}, 'succeeded', '... and does it');

# pages
$items = jobs('limit=2');
is(scalar @$items, 2, 'a page of two');
$r = $op->api(GET => '/api/v1/platform/jobs?limit=2');
my $next = $op->api(GET => "/api/v1/platform/jobs?limit=2&cursor="
                           . $r->{json}{next_cursor})->{json}{items};
ok(!grep({ my $id = $_->{id}; grep { $_->{id} eq $id } @$items } @$next),
   'the next page has other jobs');

$t->done_testing;
