#!/usr/bin/perl

# The console's workspaces: figures only, filtered, sorted and paged;
# suspend and resume (the workspace's users get 403 tenant_suspended at
# once, and everything is back as it was); plan and limits; every change
# in the platform audit log with who, what, when and from where.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Kanban::Test qw(problem_is error_for);
use Kanban::Operator;

my $t = Kanban::Test->new(ttl => '60s')->run;   # a change must not wait for it
my $catalog = $t->catalog;
my $op = Kanban::Operator->new($t);

# --- suspend and resume ------------------------------------------------------

my $ws = $t->workspace(prefix => 'opsus');
my $slug = $ws->slug;
my $admin = $ws->admin;

my $r = $ws->api($admin, POST => '/api/v1/projects',
                 json => { name => 'Runbook', key => 'RUN' });
is($r->{status}, 201, 'a project') or diag($r->{body});
my $project = $r->{json};
my @tasks = map {
    $ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
             json => { title => "Step $_" })->{json}
} 1 .. 3;
is(scalar(grep { $_->{id} } @tasks), 3, 'three tasks');

my $before = $ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks");
is($before->{status}, 200, 'the tasks read') or diag($before->{body});

$r = $op->api(PATCH => "/api/v1/platform/workspaces/$slug",
              json => { status => 'suspended' });
is($r->{status}, 200, 'an operator suspends the workspace') or diag($r->{body});
is($r->{json}{status}, 'suspended', '... it says so');

problem_is($ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks"),
           403, 'tenant_suspended', 'its admin\'s next read: 403 tenant_suspended');
problem_is($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                    json => { title => 'Not now' }),
           403, 'tenant_suspended', 'and a write');
problem_is($ws->try_login($admin->{email}), 403, 'tenant_suspended',
           'and a sign-in');

$r = $op->api(PATCH => "/api/v1/platform/workspaces/$slug",
              json => { status => 'active' });
is($r->{status}, 200, 'the operator resumes it') or diag($r->{body});

my $after = $ws->api($admin, GET => "/api/v1/projects/$project->{id}/tasks");
is($after->{status}, 200, 'its admin reads again, the same token');
is_deeply($after->{json}, $before->{json}, 'every task as it was');
is($ws->api($admin, GET => "/api/v1/tasks/$tasks[0]{id}")->{json}{title},
   'Step 1', 'one task in full');
is($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
            json => { title => 'Step 4' })->{status}, 201, 'and writes');

# --- plan and limits, and bad input ---------------------------------------

$r = $op->api(PATCH => "/api/v1/platform/workspaces/$slug",
              json => { plan => 'team',
                        limits => { max_users => 25,
                                    max_storage_bytes => 10_000_000_000,
                                    api_rate => 600 } });
is($r->{status}, 200, 'a plan and its limits') or diag($r->{body});
is_deeply($r->{json}{limits}, { max_users => 25,
                                max_storage_bytes => 10_000_000_000,
                                api_rate => 600 }, '... kept');
$r = $op->api(PATCH => "/api/v1/platform/workspaces/$slug",
              json => { limits => { api_rate => undef } });
is_deeply($r->{json}{limits}, { max_users => 25,
                                max_storage_bytes => 10_000_000_000,
                                api_rate => undef },
          'a limit set to null is no limit; the others stay');

$r = $op->api(PATCH => "/api/v1/platform/workspaces/$slug",
              json => { status => 'deleted' });
problem_is($r, 422, 'validation_failed', 'a status an operator cannot set');
ok(error_for($r, 'status'), '... named');
problem_is($op->api(PATCH => "/api/v1/platform/workspaces/$slug",
                    json => { limits => { max_users => 0 } }),
           422, 'validation_failed', 'a limit below 1');
problem_is($op->api(PATCH => "/api/v1/platform/workspaces/$slug",
                    json => { plan => 'Not A Plan!' }),
           422, 'validation_failed', 'a plan that is no name');
problem_is($op->api(PATCH => "/api/v1/platform/workspaces/$slug",
                    json => { owner => 'me' }),
           422, 'validation_failed', 'an unknown field');
problem_is($op->api(PATCH => '/api/v1/platform/workspaces/no-such-place',
                    json => { status => 'suspended' }),
           404, 'not_found', 'an unknown workspace');
problem_is($op->api(GET => '/api/v1/platform/workspaces/no-such-place'),
           404, 'not_found', '... read');

$catalog->do("UPDATE tenants SET status = 'moving' WHERE slug = ?", undef, $slug);
problem_is($op->api(PATCH => "/api/v1/platform/workspaces/$slug",
                    json => { status => 'suspended' }),
           409, 'conflict', 'a moving workspace keeps its status');
$catalog->do("UPDATE tenants SET status = 'active' WHERE slug = ?", undef, $slug);

# --- figures, filters, sorts and pages ------------------------------------

my $out = `$Kanban::Test::ROOT/conf/kanbanctl figures 2>&1`;
is($?, 0, 'kanbanctl figures') or diag($out);

$r = $op->api(GET => "/api/v1/platform/workspaces/$slug");
is($r->{status}, 200, 'one workspace as figures') or diag($r->{body});
is($r->{json}{users}, 1, 'its users');
is($r->{json}{tasks}, 4, 'its tasks');
cmp_ok($r->{json}{size_bytes}, '>', 1_000_000, 'its size');
ok($r->{json}{last_active_at}, 'its last activity');
is($r->{json}{server}, 'default', 'its server');
cmp_ok($r->{json}{schema_version}, '>', 30, 'its schema version');
ok(!grep({ /task|project|title/ && $_ ne 'tasks' } keys %{ $r->{json} }),
   'figures only, nothing of its contents');

my $mark = "opls$$";
my @slugs = map { $t->signup(prefix => "$mark-$_") } 1 .. 5;
# each sign-up's own measure (t/platform_figures_live.t) lands first, so
# that the figures written below are the last
for (1 .. 50) {
    my ($n) = $catalog->selectrow_array(
        q{SELECT count(*) FROM tenant_figures f JOIN tenants t
             ON t.id = f.tenant_id WHERE t.slug LIKE ? || '-%'}, undef, $mark);
    last if $n == 5;
    select undef, undef, undef, 0.2;
}
my %size = (0 => 300, 1 => 100, 2 => 500, 3 => 200, 4 => 400);
for my $i (0 .. 4) {
    $catalog->do('INSERT INTO tenant_figures (tenant_id, users, tasks, size_bytes)
                  SELECT id, ?, ?, ? FROM tenants WHERE slug = ?
                  ON CONFLICT (tenant_id) DO UPDATE
                     SET users = EXCLUDED.users, tasks = EXCLUDED.tasks,
                         size_bytes = EXCLUDED.size_bytes',
                 undef, $i + 1, 10 * $i, $size{$i}, $slugs[$i]);
}

sub walk {
    my ($query) = @_;
    my (@got, $cursor, $pages);
    do {
        my $path = "/api/v1/platform/workspaces?q=$mark&limit=2&$query"
                   . (defined $cursor ? "&cursor=$cursor" : '');
        my $r = $op->api(GET => $path);
        die "$path: $r->{status} $r->{body}" unless $r->{status} == 200;
        is($r->{json}{total}, 5, "total: every match ($query)") unless $pages;
        push @got, map { $_->{slug} } @{ $r->{json}{items} };
        $cursor = $r->{json}{next_cursor};
        $pages++;
    } while (defined $cursor && $pages < 10);
    return (\@got, $pages);
}

my ($got, $pages) = walk('sort=-created_at');
is_deeply($got, [reverse @slugs], 'newest first, in pages of two');
is($pages, 3, '... three pages, the last without a cursor');
($got) = walk('sort=created_at');
is_deeply($got, \@slugs, 'oldest first');
($got) = walk('sort=size');
is_deeply($got, [@slugs[1, 3, 0, 4, 2]], 'by size, smallest first');
($got) = walk('sort=-size');
is_deeply($got, [@slugs[2, 4, 0, 3, 1]], 'by size, largest first');
($got) = walk('sort=-users');
is_deeply($got, [reverse @slugs], 'by users');

$op->api(PATCH => "/api/v1/platform/workspaces/$slugs[1]",
         json => { status => 'suspended' });
$r = $op->api(GET => "/api/v1/platform/workspaces?q=$mark&status=suspended");
is_deeply([map { $_->{slug} } @{ $r->{json}{items} }], [$slugs[1]],
          'filtered by status');
$r = $op->api(GET => "/api/v1/platform/workspaces?q=$mark&server=default&limit=200");
is(scalar @{ $r->{json}{items} }, 5, 'filtered by server');
$r = $op->api(GET => "/api/v1/platform/workspaces?q=$mark&server=elsewhere");
is_deeply($r->{json}{items}, [], '... none on another');
$r = $op->api(GET => '/api/v1/platform/workspaces?q=' . uc("$mark-3"));
is_deeply([map { $_->{slug} } @{ $r->{json}{items} }], [$slugs[2]],
          'q matches a part of the slug, any case');

problem_is($op->api(GET => '/api/v1/platform/workspaces?sort=name'), 422,
           'validation_failed', 'an unknown sort');
problem_is($op->api(GET => '/api/v1/platform/workspaces?status=gone'), 422,
           'validation_failed', 'an unknown status');
problem_is($op->api(GET => '/api/v1/platform/workspaces?limit=0'), 422,
           'validation_failed', 'a page of none');
problem_is($op->api(GET => '/api/v1/platform/workspaces?cursor=junk'), 422,
           'validation_failed', 'a cursor the list did not give');

# --- the audit of it all -----------------------------------------------------

$r = $op->api(GET => "/api/v1/platform/audit?workspace=$slug");
is($r->{status}, 200, 'the workspace\'s audit') or diag($r->{body});
my @actions = map { $_->{action} } reverse @{ $r->{json}{items} };
is_deeply(\@actions, [qw(workspace.suspended workspace.resumed
                         workspace.updated workspace.updated)],
          'every change, in order');
my $e = $r->{json}{items}[-1];
is($e->{operator}{email}, $op->email, 'who');
is($e->{address}, '127.0.0.1', 'from where');
like($e->{at}, qr/^\d{4}-\d\d-\d\dT/, 'when');
is($e->{details}{before}{status}, 'active', 'what it was before');
is($e->{details}{change}{status}, 'suspended', 'what changed');

$r = $op->api(GET => "/api/v1/platform/audit?workspace=$slug&limit=1");
is(scalar @{ $r->{json}{items} }, 1, 'a page of one');
my $cursor = $r->{json}{next_cursor};
ok($cursor, '... with a cursor');
$r = $op->api(GET => "/api/v1/platform/audit?workspace=$slug&limit=3&cursor=$cursor");
is(scalar @{ $r->{json}{items} }, 3, 'the rest');
is($r->{json}{next_cursor}, undef, '... and no more');
$r = $op->api(GET => '/api/v1/platform/audit?action=workspace.resumed&limit=200');
ok(!grep({ $_->{action} ne 'workspace.resumed' } @{ $r->{json}{items} }),
   'filtered by action');

$t->done_testing;
