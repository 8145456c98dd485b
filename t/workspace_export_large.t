#!/usr/bin/perl

# A large workspace's export (EXPORT_TASKS tasks of about 1 KB of text
# that gzip cannot shrink much: tens of MB of JSON) is made by kanbanctl's
# runner in bounded memory: rows stream through a cursor and gzip to
# disk, the file goes into the database through a large object. The
# runner's largest process stays far below the size of the export; the
# downloaded file is whole: every table with every row the database
# holds, every task with its text intact, the size the job reports.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5;
use Encode;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::XS;
use Test::More;
use Time::HiRes qw(time);
use Kanban::Test;

# a stack of its own: the runner does every queued job of its catalog
my $stack = Kanban::Test::Stack->private;
$ENV{KANBAN_VAR} = $stack->{var};
$ENV{KANBAN_PG_PORT} = $stack->pg_port;

my $TASKS = $ENV{EXPORT_TASKS} // 40_000;

my $t = Kanban::Test->new(stack => $stack)->run;
my $ctl = "$Kanban::Test::ROOT/conf/kanbanctl";

my $ws = $t->workspace(prefix => 'wexl');
my $admin = $ws->admin;
my $project = $ws->api($admin, POST => '/api/v1/projects',
                       json => { name => 'Archive', key => 'ARC' })->{json};
my $odd = "Odd \x{2713} \"quoted\" \\ back\nline";
is($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
            json => { title => 'Through the API', description => $odd })
     ->{status}, 201, 'a task with quotes, a backslash and a newline');

# the rest written straight into its database, 30 random MD5s a task,
# without the triggers' bookkeeping (search, activity), which the export
# does not need and which would take minutes
my $dbh = $ws->dbh;
my $t0 = time;
$dbh->do('SET session_replication_role = replica');
$dbh->do(q{
    INSERT INTO tasks (project_id, number, title, description, column_id,
                       rank)
    SELECT $1, i + 1, 'Task ' || i,
           (SELECT string_agg(md5(i::text || '-' || k || random()), ' ')
              FROM generate_series(1, 30) k),
           (SELECT id FROM columns WHERE project_id = $1
             ORDER BY position LIMIT 1),
           lpad(i::text, 8, '0')
      FROM generate_series(1, $2) i}, undef, $project->{id}, $TASKS);
$dbh->do('UPDATE projects SET next_task_number = ? WHERE id = ?', undef,
         $TASKS + 2, $project->{id});
$dbh->do('SET session_replication_role = DEFAULT');
my ($raw) = $dbh->selectrow_array(
    'SELECT sum(octet_length(row_to_json(x)::text)) FROM tasks x');
diag sprintf '%d tasks written in %.1f s, %.1f MB of JSON', $TASKS + 1,
             time - $t0, $raw / 1e6;

# every table and its rows, as the database holds them
my $tables = $dbh->selectcol_arrayref(q{
    SELECT c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname = 'public'
       AND c.relname <> 'workspace_exports'});
my %rows = map {
    $_ => scalar $dbh->selectrow_array(qq{SELECT count(*) FROM "$_"})
} @$tables;

# --- queued, done by the runner, its memory measured -----------------------

my $r = $ws->api($admin, POST => '/api/v1/workspace/export');
is($r->{status}, 202, 'the admin asks for the export') or diag($r->{body});
my $job = $r->{json};

# GNU time: the largest resident size of the runner and every process it
# waited for (psql, awk, gzip), in KB
$t0 = time;
my $out = `/usr/bin/time -f 'maxrss %M' $ctl jobs run --once 2>&1`;
is($?, 0, 'kanbanctl jobs run --once') or diag($out);
my $took = time - $t0;
my ($rss) = $out =~ /maxrss (\d+)/;
ok(defined $rss, 'the runner\'s memory measured') or diag($out);
$rss //= 0;
diag sprintf 'the export made in %.1f s; largest process %.1f MB',
             $took, $rss / 1024;
cmp_ok($rss * 1024, '<', $raw / 2,
       'the runner holds far less than the export in memory');
cmp_ok($rss, '<', 64 * 1024, '... under 64 MB');

$r = $ws->api($admin, GET => "/api/v1/workspace/exports/$job->{id}");
is($r->{json}{state}, 'succeeded', 'the job succeeded') or diag($r->{body});

# --- the file, whole -----------------------------------------------------

$r = $ws->api($admin, GET => "/api/v1/workspace/exports/$job->{id}/download");
is($r->{status}, 200, 'the admin downloads it') or diag(substr $r->{body}, 0, 300);
my $job_now = $ws->api($admin, GET => "/api/v1/workspace/exports/$job->{id}")
                 ->{json};
is(length $r->{body}, $job_now->{bytes},
   'as many bytes as the job reports');
diag sprintf 'the file: %.1f MB gzip\'d', length($r->{body}) / 1e6;

gunzip(\$r->{body} => \my $json) or BAIL_OUT("not gzip: $GunzipError");
my $export = eval { JSON::XS->new->utf8->decode($json) };
ok($export, 'the whole file is one JSON document') or BAIL_OUT($@);
is($export->{format}, 'kanban-workspace-export', 'its format');
is($export->{workspace}, $ws->slug, 'its workspace');

is_deeply([ sort keys %{ $export->{tables} } ], [ sort @$tables ],
          'every table of the workspace');
my @short = grep { @{ $export->{tables}{$_} } != $rows{$_} } @$tables;
is_deeply(\@short, [], 'every table with every row the database holds')
    or diag(join ', ', map { "$_: " . @{ $export->{tables}{$_} }
                             . " of $rows{$_}" } @short);

my %want = map { $_->[0] => $_->[1] } @{ $dbh->selectall_arrayref(
    'SELECT id::text, md5(description) FROM tasks') };
my %got = map { $_->{id} => Digest::MD5::md5_hex(
                    Encode::encode('UTF-8', $_->{description})) }
              @{ $export->{tables}{tasks} };
is(scalar keys %got, $TASKS + 1, 'every task, once');
my @differ = grep { ($got{$_} // '') ne $want{$_} } keys %want;
is(scalar @differ, 0, 'every task\'s text as stored');
my ($api) = grep { $_->{title} eq 'Through the API' }
                 @{ $export->{tables}{tasks} };
is($api->{description}, $odd, '... quotes, backslash and newline intact');

$t->done_testing;
