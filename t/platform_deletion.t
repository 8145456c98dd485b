#!/usr/bin/perl

# A workspace deleted by an operator: 410 tenant_deleted at once, restored
# within the grace period with every row back and the status it had;
# after it, kanbanctl purge drops its database and the slug stays
# reserved; the audit log has each step.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Kanban::Test qw(problem_is);
use Kanban::Operator;

my $t = Kanban::Test->new(ttl => '60s')->run;
my $catalog = $t->catalog;
my $op = Kanban::Operator->new($t);

my $ws = $t->workspace(prefix => 'opdel');
my $slug = $ws->slug;
my $admin = $ws->admin;

my $project = $ws->api($admin, POST => '/api/v1/projects',
                       json => { name => 'Archive', key => 'ARC' })->{json};
$ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
         json => { title => "Box $_" }) for 1 .. 5;
my $before = $ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks");
is(scalar @{ $before->{json}{items} }, 5, 'five tasks');

my $r = $op->api(DELETE => "/api/v1/platform/workspaces/$slug");
is($r->{status}, 200, 'an operator deletes the workspace') or diag($r->{body});
is($r->{json}{status}, 'deleting', '... it is being deleted');
ok($r->{json}{purge_after}, '... restorable until purge_after');
ok($r->{json}{deleted_at}, '... since deleted_at');

problem_is($ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks"),
           410, 'tenant_deleted', 'its users get 410 tenant_deleted at once');
is($ws->try_login($admin->{email})->{status}, 200,
   '... but its admin signs in, for the export (t/platform_jobs.t)');
problem_is($op->api(DELETE => "/api/v1/platform/workspaces/$slug"), 409,
           'conflict', 'deleted twice: 409');
problem_is($op->api(PATCH => "/api/v1/platform/workspaces/$slug",
                    json => { status => 'active' }), 409, 'conflict',
           'a deleted workspace is restored, not set active');

$r = $op->api(GET => "/api/v1/platform/workspaces?status=deleting&q=$slug");
is_deeply([map { $_->{slug} } @{ $r->{json}{items} }], [$slug],
          'the console lists it as deleting');

$r = $op->api(POST => "/api/v1/platform/workspaces/$slug/restore");
is($r->{status}, 200, 'restored within the grace period') or diag($r->{body});
is($r->{json}{status}, 'active', '... active as it was');
is($r->{json}{purge_after}, undef, '... nothing to purge');

my $after = $ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks");
is($after->{status}, 200, 'its admin reads again with the same token');
is_deeply($after->{json}, $before->{json}, 'every task as it was');
problem_is($op->api(POST => "/api/v1/platform/workspaces/$slug/restore"), 409,
           'conflict', 'restoring one that is not deleted: 409');

# a suspended workspace comes back suspended
$op->api(PATCH => "/api/v1/platform/workspaces/$slug",
         json => { status => 'suspended' });
$op->api(DELETE => "/api/v1/platform/workspaces/$slug");
$r = $op->api(POST => "/api/v1/platform/workspaces/$slug/restore");
is($r->{json}{status}, 'suspended', 'a suspended one comes back suspended');
problem_is($ws->api($admin, GET => '/api/v1/workspace'), 403,
           'tenant_suspended', '... and answers as such');
$op->api(PATCH => "/api/v1/platform/workspaces/$slug",
         json => { status => 'active' });

# after the grace period: no restore; purge drops the database, the slug
# stays taken
my $db = $t->db_name($slug);
$op->api(DELETE => "/api/v1/platform/workspaces/$slug");
$catalog->do("UPDATE tenants SET purge_after = now() - interval '1 second'
               WHERE slug = ?", undef, $slug);
problem_is($op->api(POST => "/api/v1/platform/workspaces/$slug/restore"), 410,
           'gone', 'after the grace period there is no restore');

my $out = `$Kanban::Test::ROOT/conf/kanbanctl purge 2>&1`;
is($?, 0, 'kanbanctl purge') or diag($out);
my ($exists) = $t->stack->dbh('postgres')->selectrow_array(
    'SELECT count(*) FROM pg_database WHERE datname = ?', undef, $db);
is($exists, 0, 'the database is dropped');
$r = $op->api(GET => "/api/v1/platform/workspaces/$slug");
is($r->{json}{status}, 'deleted', 'the catalog keeps the row as deleted');
problem_is($ws->api($admin, GET => '/api/v1/workspace'), 410,
           'tenant_deleted', 'its host still says 410 tenant_deleted');
$r = $t->req(POST => '/api/v1/tenants', json => {
    slug => $slug, name => 'Squatter',
    admin => { email => "eve\@$slug.example", password => 'a fine long password',
               name => 'Eve' } });
is($r->{status}, 409, 'the slug stays reserved') or diag($r->{body});

my $mig = `$Kanban::Test::ROOT/conf/kanbanctl migrate 2>&1`;
is($?, 0, 'migrations skip the purged workspace') or diag($mig);

$r = $op->api(GET => "/api/v1/platform/audit?workspace=$slug&limit=200");
my @actions = map { $_->{action} } reverse @{ $r->{json}{items} };
is_deeply(\@actions, [qw(workspace.deleted workspace.restored
                         workspace.suspended workspace.deleted
                         workspace.restored workspace.resumed
                         workspace.deleted workspace.purged)],
          'the audit log has every step');

$t->done_testing;
