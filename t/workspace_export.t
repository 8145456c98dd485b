#!/usr/bin/perl

# A workspace's full export as a job: its admin queues it, kanbanctl's
# runner does it (progress on the operators' stream), the admin follows it
# and downloads the gzip'd JSON with every task in it; asked twice, one
# job; a runner killed in the middle has it started over by the next and
# it succeeds at its second attempt; an operator queues one too and never
# reads it; during the deletion's grace period the admin still exports,
# a member does not; a newer export replaces the older file.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::XS;
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);
use Kanban::Operator;
use Kanban::SSE;

# a stack of its own: the runner does every queued job of its catalog
my $stack = Kanban::Test::Stack->private;
$ENV{KANBAN_VAR} = $stack->{var};
$ENV{KANBAN_PG_PORT} = $stack->pg_port;
$ENV{KANBAN_JOB_LEASE} = 2;

my $t = Kanban::Test->new(stack => $stack, ttl => '1s')->run;
my $catalog = $t->catalog;
my $op = Kanban::Operator->new($t);
my $ctl = "$Kanban::Test::ROOT/conf/kanbanctl";

my $ws = $t->workspace(prefix => 'wex');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $mel = $ws->member('Mel', 'contributor');

my $project = $ws->api($admin, POST => '/api/v1/projects',
                       json => { name => 'Ledger', key => 'LED' })->{json};
$ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
         json => { title => "Entry $_ \x{2713} \"quoted\" \\ back" }) for 1 .. 3;

sub run_jobs {
    my $out = `$ctl jobs run --once 2>&1`;
    is($?, 0, 'kanbanctl jobs run --once') or diag($out);
}

sub export_file {
    my ($r) = @_;
    gunzip(\$r->{body} => \my $json) or return undef;
    return eval { JSON::XS->new->utf8->decode($json) };
}

# --- asked, done, downloaded ------------------------------------------------------

my $stream = Kanban::SSE->open($t, 'localhost', $op->token,
                               path => '/api/v1/platform/events',
                               host_header => 'localhost:' . $t->port);
is($stream->status, 200, "the operators' stream is open");

my $r = $ws->api($admin, POST => '/api/v1/workspace/export');
is($r->{status}, 202, 'an admin asks for the full export') or diag($r->{body});
my $job = $r->{json};
is($job->{state}, 'queued', '... queued');
is($job->{progress}, 0, '... not started');

$r = $ws->api($admin, POST => '/api/v1/workspace/export');
is($r->{status}, 202, 'asked again') or diag($r->{body});
is($r->{json}{id}, $job->{id}, '... the same job');

problem_is($ws->api($mel, POST => '/api/v1/workspace/export'), 403,
           'forbidden', 'a contributor may not');
problem_is($ws->api($admin, GET => "/api/v1/workspace/exports/$job->{id}/download"),
           404, 'not_found', 'nothing to download before it is done');

run_jobs();

$r = $ws->api($admin, GET => "/api/v1/workspace/exports/$job->{id}");
is($r->{status}, 200, 'its state') or diag($r->{body});
is($r->{json}{state}, 'succeeded', '... succeeded');
is($r->{json}{progress}, 100, '... all the way');
cmp_ok($r->{json}{bytes}, '>', 0, '... with its size');
cmp_ok($r->{json}{tables}, '>', 10, '... and its tables');

my @seen = $stream->until(sub {
    ($_[0]{event} // '') eq 'job.updated' && $_[0]{data}{id} eq $job->{id}
        && $_[0]{data}{state} eq 'succeeded' }, 10);
my @progress = grep { ($_->{event} // '') eq 'job.updated'
                      && $_->{data}{id} eq $job->{id} } @seen;
is($progress[-1]{data}{state}, 'succeeded',
   'the operators saw it done, live');
ok(grep({ $_->{data}{state} eq 'running' && $_->{data}{progress} > 5
          && $_->{data}{progress} < 100 } @progress),
   '... and its progress on the way');

$r = $ws->api($admin, GET => "/api/v1/workspace/exports/$job->{id}/download");
is($r->{status}, 200, 'the admin downloads it') or diag($r->{body});
like($r->{headers}{'content-type'}, qr{^application/gzip}, '... gzip');
like($r->{headers}{'content-disposition'},
     qr{^attachment; filename="\Q$slug\E-export\.json\.gz"}, '... as a file');
my $file = export_file($r);
ok($file, '... of JSON') or diag($GunzipError);
is($file->{format}, 'kanban-workspace-export', '... in its format');
is($file->{workspace}, $slug, '... of this workspace');
my @titles = sort map { $_->{title} } @{ $file->{tables}{tasks} };
is_deeply(\@titles, [map { "Entry $_ \x{2713} \"quoted\" \\ back" } 1 .. 3],
          '... with every task, every character kept');
ok($file->{tables}{users} && !exists $file->{tables}{workspace_exports},
   '... every table but the exports themselves');

problem_is($ws->api($mel, GET => "/api/v1/workspace/exports/$job->{id}/download"),
           403, 'forbidden', 'a contributor downloads nothing');
problem_is($ws->api($admin, GET => '/api/v1/workspace/exports/'
                                   . '00000000-0000-4000-8000-000000000000'),
           404, 'not_found', 'no such export: 404');
my $other = $t->workspace(prefix => 'wexo');
problem_is($other->api($other->admin, GET => "/api/v1/workspace/exports/$job->{id}"),
           404, 'not_found', "another workspace's admin: 404");
problem_is($other->api($other->admin,
                       GET => "/api/v1/workspace/exports/$job->{id}/download"),
           404, 'not_found', '... and no file');

# --- a runner killed in the middle: started over --------------------------------

$r = $ws->api($admin, POST => '/api/v1/workspace/export');
is($r->{status}, 202, 'a second export') or diag($r->{body});
my $second = $r->{json};
isnt($second->{id}, $job->{id}, '... a new job');
# what a runner killed with kill -9 leaves: running, its lease run out
$catalog->do(q{UPDATE jobs SET state = 'running', attempts = 1,
                      progress = 40, started_at = now(),
                      lease_until = now() - interval '1 second'
                WHERE id = ?}, undef, $second->{id});
run_jobs();
$r = $ws->api($admin, GET => "/api/v1/workspace/exports/$second->{id}");
is($r->{json}{state}, 'succeeded', 'the next runner started it over: done')
    or diag(explain($r->{json}));
is($r->{json}{attempts}, 2, '... at its second attempt');
is($ws->api($admin, GET => "/api/v1/workspace/exports/$job->{id}/download")
      ->{status}, 404, 'the older file is gone: the newest is kept');
is(export_file($ws->api($admin,
       GET => "/api/v1/workspace/exports/$second->{id}/download"))
       ->{workspace}, $slug, 'the newer one downloads');

# --- the recent exports, as a page that reloads finds them ---------------------------

$r = $ws->api($admin, GET => '/api/v1/workspace/exports');
is($r->{status}, 200, 'the recent exports') or diag($r->{body});
is_deeply([ map { $_->{id} } @{ $r->{json}{items} } ],
          [ $second->{id}, $job->{id} ], '... newest first');
is($r->{json}{items}[0]{state}, 'succeeded', '... with their state');
problem_is($ws->api($mel, GET => '/api/v1/workspace/exports'), 403,
           'forbidden', '... an admin\'s only');
is_deeply($other->api($other->admin, GET => '/api/v1/workspace/exports')
              ->{json}{items}, [], "... none of another workspace's");

# --- an operator's export -------------------------------------------------------------

$r = $op->api(POST => "/api/v1/platform/workspaces/$slug/export");
is($r->{status}, 202, 'an operator queues an export') or diag($r->{body});
is($r->{json}{kind}, 'export', '... an export job');
is($r->{json}{requested_by}, $op->email, '... asked for by the operator');
my $audit = $op->api(GET => "/api/v1/platform/audit?workspace=$slug"
                            . '&action=workspace.export_queued')->{json};
is(scalar @{ $audit->{items} }, 1, '... audited');
problem_is($op->api(POST => "/api/v1/platform/workspaces/nope-$$/export"),
           404, 'not_found', 'no such workspace: 404');
run_jobs();
is($op->api(GET => "/api/v1/platform/jobs/$r->{json}{id}")->{json}{state},
   'succeeded', '... done by the runner');
is($ws->api($admin, GET => "/api/v1/workspace/exports/$r->{json}{id}")
      ->{json}{state}, 'succeeded', "... and its workspace's admin sees it");

# --- during the deletion's grace period -------------------------------------------------

is($op->api(DELETE => "/api/v1/platform/workspaces/$slug")->{status}, 200,
   'the workspace is deleted');
sleep 1.2;    # the tenant cache's ttl
my $grace = $ws->login($admin->{email});
$r = $ws->api($grace, POST => '/api/v1/workspace/export');
is($r->{status}, 202, 'its admin still exports during the grace period')
    or diag($r->{body});
run_jobs();
$r = $ws->api($grace, GET => "/api/v1/workspace/exports/$r->{json}{id}/download");
is($r->{status}, 200, '... and downloads it') or diag($r->{body});
is(scalar @{ export_file($r)->{tables}{tasks} }, 3, '... every task in it');
is($ws->api($grace, GET => '/api/v1/workspace/exports')->{status}, 200,
   '... and finds its exports');
# gone for a member, as every other route is (not the admins' route's 403)
problem_is($ws->api($mel, POST => '/api/v1/workspace/export'), 410,
           'tenant_deleted', 'a member asking for the export: 410');
problem_is($ws->api($mel, GET => "/api/v1/projects/$project->{id}/tasks"),
           410, 'tenant_deleted', '... and reads nothing else');

done_testing;
