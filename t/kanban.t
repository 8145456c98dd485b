#!/usr/bin/perl

# Projects, columns and tasks: each endpoint's happy path and documented
# errors; who may do what (admin, a project manager in a team, a
# contributor, nobody); moves with anchors, completed_at and progress; WIP
# limits and versions; subtree deletion; paging that stays stable while
# tasks are added; SQL-looking input taken literally; the audit rows of
# every write and of no rejected one; one workspace's ids meaning nothing
# in another.  The races are in t/kanban_concurrency.t.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(problem_is error_for);
use Kanban::Audit qw(last_activity_id activity_since rejected audited);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'kanban');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
Kanban::Audit::watch($dbh);
my $nobody = '00000000-0000-4000-8000-000000000000';

sub uri_escape {
    my ($s) = @_;
    utf8::encode($s);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub decode { $Kanban::Test::JSON->decode($_[0] // 'null') }

sub ids { [ map { $_->{id} } @{ $_[0] } ] }

# --- people -------------------------------------------------------------------

my $admin = $ws->admin;
my $at = $admin->{token};
my $admin_id = $admin->{id};

my $pam = $ws->member('Pam', 'project_manager');    # manages team Red
my $pete = $ws->member('Pete', 'project_manager');  # manages team Blue
my $carl = $ws->member('Carl', 'contributor');      # in team Red
my $cora = $ws->member('Cora', 'contributor');

my $red = $ws->team('Red', $pam, $carl);
my $blue = $ws->team('Blue', $pete);

# signed in again, now in their teams
my $pt = $ws->login($pam->{email})->{token};
my $pet = $ws->login($pete->{email})->{token};
my $ct = $ws->login($carl->{email})->{token};
my $cot = $ws->login($cora->{email})->{token};

# --- projects: create -------------------------------------------------------------

my $mark = last_activity_id();
my $r = $ws->api($at, POST => '/api/v1/projects', json => {
    key => 'vuln', name => 'Vulnerability management',
    description => 'patch all the things',
    start_date => '2026-01-05', due_date => '2026-06-30' });
is($r->{status}, 201, 'an admin creates a project: 201');
my $vuln = $r->{json};
like($vuln->{id} // '', qr/^[0-9a-f]{8}-[0-9a-f]{4}-/, '... with a UUID');
is($r->{headers}{location}, "/api/v1/projects/$vuln->{id}", '... Location');
is($vuln->{key}, 'VULN', '... the key upper-cased');
is($vuln->{name}, 'Vulnerability management', '... name');
is($vuln->{description}, 'patch all the things', '... description');
is($vuln->{status}, 'planning', '... planning by default');
is($vuln->{owner_id}, $admin_id, '... owned by the caller by default');
is($vuln->{team_id}, undef, '... no team');
is($vuln->{start_date}, '2026-01-05', '... start_date');
is($vuln->{due_date}, '2026-06-30', '... due_date');
is($vuln->{progress}, 0, '... progress 0');
is($vuln->{version}, 1, '... version 1');
audited($mark, 'created', 'project', $vuln->{id}, $admin_id, 'create');

$r = $ws->api($at, GET => "/api/v1/projects/$vuln->{id}/columns");
is($r->{status}, 200, 'list its columns: 200');
is_deeply([ map { [ @$_{qw(name category position)} ] }
            @{ $r->{json}{items} } ],
          [ [ 'Backlog', 'backlog', 0 ], [ 'To Do', 'todo', 1 ],
            [ 'In Progress', 'in_progress', 2 ], [ 'Review', 'review', 3 ],
            [ 'Done', 'done', 4 ] ],
          '... a new project has the five standard columns in order');
ok(!grep({ defined $_->{wip_limit} } @{ $r->{json}{items} }),
   '... without WIP limits');
my %vcol = map { $_->{category} => $_ } @{ $r->{json}{items} };

$mark = last_activity_id();
my %bad_project = (
    'a one-letter key'          => { key => 'V', name => 'x' },
    'an 11-letter key'          => { key => 'ABCDEFGHIJK', name => 'x' },
    'a key starting with a digit' => { key => '1AB', name => 'x' },
    'a key with a dash'         => { key => 'AB-C', name => 'x' },
    'no name'                   => { key => 'NONAME' },
    'no key'                    => { name => 'x' },
    'an unknown status'         => { key => 'BADST', name => 'x',
                                     status => 'dormant' },
    'due before start'          => { key => 'EARLY', name => 'x',
                                     start_date => '2026-05-01',
                                     due_date => '2026-04-30' },
    'a date that is no date'    => { key => 'BADDT', name => 'x',
                                     due_date => '2026-13-45' },
    'an unknown field'          => { key => 'UNK', name => 'x',
                                     colour => 'red' },
    'an unknown owner'          => { key => 'OWNER', name => 'x',
                                     owner_id => $nobody },
);
for my $what (sort keys %bad_project) {
    rejected($ws->api($at, POST => '/api/v1/projects',
                      json => $bad_project{$what}),
             $mark, 422, 'validation_failed', "create a project with $what");
}
$r = $ws->api($at, POST => '/api/v1/projects', json => { key => 'NONAME' });
is(error_for($r, 'name')->{code}, 'required', '... name is required');

rejected($ws->api($at, POST => '/api/v1/projects',
                  json => { key => 'Vuln', name => 'Another' }),
         $mark, 409, 'already_exists', 'a duplicate key in another case');
my ($projects) = $dbh->selectrow_array('SELECT count(*) FROM projects');
is($projects, 1, 'none of the rejected projects exists');

# roles: admins all; managers their teams' or no team's; contributors none
$r = $ws->api($pt, POST => '/api/v1/projects', json => {
    key => 'REDOPS', name => 'Red operations', team_id => $red->{id} });
is($r->{status}, 201, "a manager creates a project of their team");
my $redops = $r->{json};
is($redops->{team_id}, $red->{id}, '... of that team');
is($redops->{owner_id}, $pam->{id}, '... owned by the manager');

$r = $ws->api($pt, POST => '/api/v1/projects', json => {
    key => 'PAMX', name => 'Pam without a team' });
is($r->{status}, 201, 'a manager creates a project without a team');
my $pamx = $r->{json};

$r = $ws->api($pet, POST => '/api/v1/projects', json => {
    key => 'BLUE', name => 'Blue things', team_id => $blue->{id} });
is($r->{status}, 201, "the other team's manager creates theirs");
my $bluep = $r->{json};

$mark = last_activity_id();
rejected($ws->api($pt, POST => '/api/v1/projects', json => {
                  key => 'STEAL', name => 'x', team_id => $blue->{id} }),
         $mark, 403, 'forbidden', "a manager creating another team's project");
rejected($ws->api($ct, POST => '/api/v1/projects', json => {
                  key => 'CARL', name => 'x' }),
         $mark, 403, 'forbidden', 'a contributor creating a project');
rejected($ws->api($ct, POST => '/api/v1/projects', json => {
                  key => 'CARL', name => 'x', team_id => $red->{id} }),
         $mark, 403, 'forbidden', "... even one of their own team's");
$r = $ws->api(undef, POST => '/api/v1/projects', json => { key => 'ANON',
                                                          name => 'x' });
rejected($r, $mark, 401, 'unauthorized', 'create a project without a token');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/,
     '... with a Bearer challenge');
my ($steal) = $dbh->selectrow_array(
    q{SELECT count(*) FROM projects WHERE key IN ('STEAL', 'CARL', 'ANON')});
is($steal, 0, '... none of them exists');

# --- projects: read and list ---------------------------------------------------------

$r = $ws->api($at, GET => "/api/v1/projects/$vuln->{id}");
is($r->{status}, 200, 'read a project');
is($r->{json}{key}, 'VULN', '... the project');
is($r->{headers}{etag}, '"1"', '... ETag "1"');
is($r->{json}{progress}, 0, '... progress');
is($ws->api($ct, GET => "/api/v1/projects/$bluep->{id}")->{status}, 200,
   "a contributor reads any project, even another team's");
problem_is($ws->api(undef, GET => "/api/v1/projects/$vuln->{id}"), 401,
           'unauthorized', 'read a project without a token');
problem_is($ws->api($at, GET => "/api/v1/projects/$nobody"), 404, 'not_found',
           'read an unknown project');
problem_is($ws->api($at, GET => '/api/v1/projects/not-a-uuid'), 404,
           'not_found', 'read a non-UUID project id');

my $all_projects = $dbh->selectcol_arrayref(
    'SELECT id FROM projects ORDER BY id');
$r = $ws->api($ct, GET => '/api/v1/projects');
is($r->{status}, 200, 'a contributor lists projects');
is_deeply(ids($r->{json}{items}), $all_projects, '... all four, by id');
ok(exists $r->{json}{next_cursor} && !defined $r->{json}{next_cursor},
   '... next_cursor null');
problem_is($ws->api(undef, GET => '/api/v1/projects'), 401, 'unauthorized',
           'list projects without a token');

$r = $ws->api($at, GET => "/api/v1/projects?team_id=$red->{id}");
is_deeply(ids($r->{json}{items}), [ $redops->{id} ], 'filter by team_id');

{
    my (@seen, $cursor);
    for (1 .. 10) {
        my $r = $ws->api($at, GET => '/api/v1/projects?limit=3'
                                . (defined $cursor ? "&cursor=$cursor" : ''));
        last unless $r->{status} == 200 && @{ $r->{json}{items} } <= 3;
        push @seen, @{ ids($r->{json}{items}) };
        $cursor = $r->{json}{next_cursor} // last;
    }
    is_deeply(\@seen, $all_projects, 'limit=3: each project once, in order');
}
problem_is($ws->api($at, GET => '/api/v1/projects?cursor=zz'), 400,
           'bad_request', 'a cursor that is not ours: 400');

# --- projects: patch -----------------------------------------------------------------

$mark = last_activity_id();
$r = $ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
              json => { status => 'active', version => 1 });
is($r->{status}, 200, 'patch a project: 200');
is($r->{json}{status}, 'active', '... changed');
is($r->{json}{name}, 'Vulnerability management', '... the rest kept');
is($r->{json}{version}, 2, '... version 2');
is($r->{headers}{etag}, '"2"', '... ETag "2"');
my $row = audited($mark, 'updated', 'project', $vuln->{id}, $admin_id,
                  'patch');
is(decode($row->{old_values})->{status}, 'planning', '... old status');
is(decode($row->{new_values})->{status}, 'active', '... new status');

$mark = last_activity_id();
rejected($ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
                  json => { name => 'Stale', version => 1 }),
         $mark, 409, 'version_conflict', 'patch with a stale version');
rejected($ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
                  headers => { 'If-Match' => '"1"' },
                  json => { name => 'Stale' }),
         $mark, 409, 'version_conflict', 'patch with a stale If-Match');
rejected($ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
                  json => { due_date => '2025-12-31' }),
         $mark, 422, 'validation_failed', 'patch due before start');
rejected($ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
                  json => { status => 'dormant' }),
         $mark, 422, 'validation_failed', 'patch to an unknown status');
rejected($ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
                  json => { owner_id => $nobody }),
         $mark, 422, 'validation_failed', 'patch to an unknown owner');
rejected($ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
                  json => { colour => 'red' }),
         $mark, 422, 'validation_failed', 'patch an unknown field');
rejected($ws->api($at, PATCH => "/api/v1/projects/$nobody",
                  json => { name => 'x' }),
         $mark, 404, 'not_found', 'patch an unknown project');
$r = $ws->api($at, GET => "/api/v1/projects/$vuln->{id}");
is($r->{json}{name}, 'Vulnerability management', '... the name unchanged');
is($r->{json}{due_date}, '2026-06-30', '... the due date unchanged');
is($r->{json}{version}, 2, '... still version 2');

$r = $ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
              headers => { 'If-Match' => '"2"' },
              json => { description => 'the current If-Match' });
is($r->{status}, 200, 'patch with the current If-Match: 200');
is($r->{json}{version}, 3, '... version 3');

$r = $ws->api($at, PATCH => "/api/v1/projects/$vuln->{id}",
              json => { due_date => undef });
is($r->{status}, 200, 'patch due_date to null');
is($r->{json}{due_date}, undef, '... clears it (merge patch)');
is($r->{json}{start_date}, '2026-01-05', '... and leaves the rest');

$mark = last_activity_id();
$r = $ws->api($pt, PATCH => "/api/v1/projects/$redops->{id}",
              json => { status => 'active' });
is($r->{status}, 200, "a manager patches their team's project");
audited($mark, 'updated', 'project', $redops->{id}, $pam->{id},
        "manager's patch");
is($ws->api($pt, PATCH => "/api/v1/projects/$pamx->{id}",
            json => { name => 'Pam X' })->{status}, 200,
   '... and a project without a team');

$mark = last_activity_id();
rejected($ws->api($pt, PATCH => "/api/v1/projects/$bluep->{id}",
                  json => { name => 'Red now' }),
         $mark, 403, 'forbidden', "a manager patching another team's project");
rejected($ws->api($pt, PATCH => "/api/v1/projects/$redops->{id}",
                  json => { team_id => $blue->{id} }),
         $mark, 403, 'forbidden',
         "a manager handing their project to another team");
rejected($ws->api($pet, PATCH => "/api/v1/projects/$redops->{id}",
                  json => { name => 'Blue now' }),
         $mark, 403, 'forbidden', "the other team's manager patching it");
rejected($ws->api($ct, PATCH => "/api/v1/projects/$redops->{id}",
                  json => { name => 'Carl was here' }),
         $mark, 403, 'forbidden',
         "a contributor patching their own team's project");
rejected($ws->api(undef, PATCH => "/api/v1/projects/$redops->{id}",
                  json => { name => 'x' }),
         $mark, 401, 'unauthorized', 'patch a project without a token');
$r = $ws->api($at, GET => "/api/v1/projects/$redops->{id}");
is($r->{json}{name}, 'Red operations', '... the name unchanged');
is($r->{json}{team_id}, $red->{id}, '... the team unchanged');
is($ws->api($at, GET => "/api/v1/projects/$bluep->{id}")->{json}{name},
   'Blue things', "... the other team's project unchanged");

$r = $ws->api($at, GET => '/api/v1/projects?status=active');
is_deeply([ sort @{ ids($r->{json}{items}) } ],
          [ sort $vuln->{id}, $redops->{id} ], 'filter by status');

# --- columns -----------------------------------------------------------------

sub columns_of {
    my ($pid) = @_;
    my $r = $ws->api($at, GET => "/api/v1/projects/$pid/columns");
    return $r->{json}{items} // [];
}

sub column_order {
    my ($pid) = @_;
    return join ' ', map { "$_->{position}:$_->{name}" } @{ columns_of($pid) };
}

$mark = last_activity_id();
$r = $ws->api($at, POST => "/api/v1/projects/$vuln->{id}/columns",
              json => { name => 'QA', category => 'review', position => 3 });
is($r->{status}, 201, 'add a column at position 3: 201');
my $qa = $r->{json};
is($r->{headers}{location}, "/api/v1/columns/$qa->{id}", '... Location');
is($qa->{name}, 'QA', '... name');
is($qa->{category}, 'review', '... category');
is($qa->{position}, 3, '... position 3');
is($qa->{wip_limit}, undef, '... no WIP limit');
audited($mark, 'created', 'column', $qa->{id}, $admin_id, 'add a column');
is(column_order($vuln->{id}),
   '0:Backlog 1:To Do 2:In Progress 3:QA 4:Review 5:Done',
   '... the columns after it move one down');

$r = $ws->api($at, POST => "/api/v1/projects/$vuln->{id}/columns",
              json => { name => 'Archive', category => 'done',
                        wip_limit => 5 });
is($r->{status}, 201, 'add a column without a position');
is($r->{json}{position}, 6, '... it goes last');
is($r->{json}{wip_limit}, 5, '... with its WIP limit');
my $archive = $r->{json};

$mark = last_activity_id();
rejected($ws->api($at, POST => "/api/v1/projects/$vuln->{id}/columns",
                  json => { name => 'Odd', category => 'limbo' }),
         $mark, 422, 'validation_failed', 'a column of an unknown category');
rejected($ws->api($at, POST => "/api/v1/projects/$vuln->{id}/columns",
                  json => { category => 'todo' }),
         $mark, 422, 'validation_failed', 'a column without a name');
rejected($ws->api($at, POST => "/api/v1/projects/$vuln->{id}/columns",
                  json => { name => 'Zero', wip_limit => 0 }),
         $mark, 422, 'validation_failed', 'a WIP limit of 0');
rejected($ws->api($at, POST => "/api/v1/projects/$nobody/columns",
                  json => { name => 'Lost' }),
         $mark, 404, 'not_found', 'a column of an unknown project');
rejected($ws->api($ct, POST => "/api/v1/projects/$redops->{id}/columns",
                  json => { name => 'Mine' }),
         $mark, 403, 'forbidden', 'a contributor adding a column');
rejected($ws->api($pt, POST => "/api/v1/projects/$bluep->{id}/columns",
                  json => { name => 'Mine' }),
         $mark, 403, 'forbidden',
         "a manager adding a column to another team's project");
rejected($ws->api(undef, POST => "/api/v1/projects/$redops->{id}/columns",
                  json => { name => 'Mine' }),
         $mark, 401, 'unauthorized', 'add a column without a token');
is(scalar @{ columns_of($bluep->{id}) }, 5, "... the other team's board has five");
is(scalar @{ columns_of($redops->{id}) }, 5, '... and so has the own one');

$r = $ws->api($pt, POST => "/api/v1/projects/$redops->{id}/columns",
              json => { name => 'Triage', category => 'backlog',
                        position => 0 });
is($r->{status}, 201, "a manager adds a column to their team's project");
is(column_order($redops->{id}),
   '0:Triage 1:Backlog 2:To Do 3:In Progress 4:Review 5:Done',
   '... at the top');
problem_is($ws->api($at, GET => "/api/v1/projects/$nobody/columns"), 404,
           'not_found', 'columns of an unknown project');
problem_is($ws->api(undef, GET => "/api/v1/projects/$vuln->{id}/columns"), 401,
           'unauthorized', 'columns without a token');
is($ws->api($ct, GET => "/api/v1/projects/$vuln->{id}/columns")->{status}, 200,
   'a contributor reads the columns');

# patch
$mark = last_activity_id();
$r = $ws->api($at, PATCH => "/api/v1/columns/$qa->{id}",
              json => { position => 0, version => $qa->{version} });
is($r->{status}, 200, 'move a column to the top: 200');
is($r->{json}{position}, 0, '... position 0');
is($r->{json}{version}, $qa->{version} + 1, '... the version one up');
is($r->{headers}{etag}, '"' . ($qa->{version} + 1) . '"', '... ETag');
audited($mark, 'updated', 'column', $qa->{id}, $admin_id, 'patch a column');
is(column_order($vuln->{id}),
   '0:QA 1:Backlog 2:To Do 3:In Progress 4:Review 5:Done 6:Archive',
   '... the others reordered behind it');

$r = $ws->api($at, PATCH => "/api/v1/columns/$qa->{id}",
              json => { position => 4, name => 'Quality', wip_limit => 2 });
is($r->{status}, 200, 'rename, limit and move down');
is($r->{json}{name}, 'Quality', '... renamed');
is($r->{json}{wip_limit}, 2, '... limited');
is(column_order($vuln->{id}),
   '0:Backlog 1:To Do 2:In Progress 3:Review 4:Quality 5:Done 6:Archive',
   '... and placed at 4');
my $qa_version = $r->{json}{version};

$r = $ws->api($at, PATCH => "/api/v1/columns/$qa->{id}",
              json => { position => 99 });
is($r->{json}{position}, 6, 'a position past the end puts it last');
is(column_order($vuln->{id}),
   '0:Backlog 1:To Do 2:In Progress 3:Review 4:Done 5:Archive 6:Quality',
   '... the others closing up');
$ws->api($at, PATCH => "/api/v1/columns/$qa->{id}", json => { position => 4 });
is(column_order($vuln->{id}),
   '0:Backlog 1:To Do 2:In Progress 3:Review 4:Quality 5:Done 6:Archive',
   '... and back to 4');
$qa_version = $ws->api($at, PATCH => "/api/v1/columns/$qa->{id}",
                       json => { wip_limit => 2 })->{json}{version};

$r = $ws->api($at, PATCH => "/api/v1/columns/$qa->{id}",
              json => { wip_limit => undef });
is($r->{status}, 200, 'wip_limit null');
is($r->{json}{wip_limit}, undef, '... clears the limit');
is($r->{json}{name}, 'Quality', '... and keeps the name');

$mark = last_activity_id();
rejected($ws->api($at, PATCH => "/api/v1/columns/$qa->{id}",
                  json => { name => 'Stale', version => $qa_version }),
         $mark, 409, 'version_conflict', 'patch a column with a stale version');
rejected($ws->api($at, PATCH => "/api/v1/columns/$qa->{id}",
                  headers => { 'If-Match' => "\"$qa_version\"" },
                  json => { name => 'Stale' }),
         $mark, 409, 'version_conflict', '... or a stale If-Match');
rejected($ws->api($at, PATCH => "/api/v1/columns/$qa->{id}",
                  json => { category => 'limbo' }),
         $mark, 422, 'validation_failed', 'patch to an unknown category');
rejected($ws->api($ct, PATCH => "/api/v1/columns/$qa->{id}",
                  json => { name => 'Carl' }),
         $mark, 403, 'forbidden', 'a contributor patching a column');
rejected($ws->api(undef, PATCH => "/api/v1/columns/$qa->{id}",
                  json => { name => 'Anon' }),
         $mark, 401, 'unauthorized', 'patch a column without a token');
rejected($ws->api($at, PATCH => "/api/v1/columns/$nobody",
                  json => { name => 'x' }),
         $mark, 404, 'not_found', 'patch an unknown column');
my $blue_todo = (grep { $_->{category} eq 'todo' } @{ columns_of($bluep->{id}) })[0];
rejected($ws->api($pt, PATCH => "/api/v1/columns/$blue_todo->{id}",
                  json => { name => 'Red To Do' }),
         $mark, 403, 'forbidden',
         "a manager patching another team's column");
rejected($ws->api($pt, DELETE => "/api/v1/columns/$blue_todo->{id}"),
         $mark, 403, 'forbidden', "... or deleting it");
is($ws->api($pet, PATCH => "/api/v1/columns/$blue_todo->{id}",
            json => { name => 'Blue To Do' })->{status}, 200,
   "its own team's manager may");
is(column_order($vuln->{id}),
   '0:Backlog 1:To Do 2:In Progress 3:Review 4:Quality 5:Done 6:Archive',
   'the rejected patches changed nothing');

# --- tasks: create ---------------------------------------------------------------------

$mark = last_activity_id();
$r = $ws->api($ct, POST => "/api/v1/projects/$vuln->{id}/tasks",
              json => { title => 'Patch openssl' });
is($r->{status}, 201, 'a contributor creates a task: 201');
my $t1 = $r->{json};
is($r->{headers}{location}, "/api/v1/tasks/$t1->{id}", '... Location');
is($t1->{key}, 'VULN-1', '... key VULN-1');
is($t1->{project_id}, $vuln->{id}, '... project_id');
is($t1->{title}, 'Patch openssl', '... title');
is($t1->{column_id}, $vcol{backlog}{id}, '... in the first column');
is($t1->{category}, 'backlog', '... category backlog');
is($t1->{reporter_id}, $carl->{id}, '... reported by the caller');
is($t1->{priority}, 'medium', '... priority medium');
is_deeply($t1->{assignee_ids}, [], '... no assignees');
is_deeply($t1->{labels}, [], '... no labels');
is($t1->{parent_id}, undef, '... no parent');
ok(!$t1->{blocked}, '... not blocked');
is($t1->{completed_at}, undef, '... not completed');
ok(defined $t1->{rank} && length $t1->{rank}, '... a rank');
is($t1->{version}, 1, '... version 1');
like($t1->{created_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/,
     '... created_at');
$row = audited($mark, 'created', 'task', $t1->{id}, $carl->{id},
               'create a task');
is($row->{project_id}, $vuln->{id}, '... the row names the project');

$r = $ws->api($at, POST => "/api/v1/projects/$vuln->{id}/tasks", json => {
    title => 'Rotate keys', description => 'all of them',
    column_id => $vcol{todo}{id}, priority => 'high',
    assignee_ids => [ $carl->{id} ], labels => [ 'security', 'infra' ],
    start_date => '2026-02-01', due_date => '2026-06-30',
    estimate_minutes => 90, blocked => JSON::XS::true(),
    blocked_reason => 'waiting for the HSM' });
is($r->{status}, 201, 'a task with every field');
my $t2 = $r->{json};
is($t2->{key}, 'VULN-2', '... VULN-2');
is($t2->{column_id}, $vcol{todo}{id}, '... in the column asked for');
is($t2->{category}, 'todo', '... its category');
is($t2->{description}, 'all of them', '... description');
is($t2->{priority}, 'high', '... priority');
is_deeply($t2->{assignee_ids}, [ $carl->{id} ], '... assignees');
is_deeply([ sort @{ $t2->{labels} } ], [ 'infra', 'security' ], '... labels');
is($t2->{start_date}, '2026-02-01', '... start_date');
is($t2->{due_date}, '2026-06-30', '... due_date');
is($t2->{estimate_minutes}, 90, '... estimate_minutes');
ok($t2->{blocked}, '... blocked');
is($t2->{blocked_reason}, 'waiting for the HSM', '... blocked_reason');
is($t2->{reporter_id}, $admin_id, '... reported by the admin');

$mark = last_activity_id();
my $redops_todo = (grep { $_->{category} eq 'todo' }
                   @{ columns_of($redops->{id}) })[0];
my $red_task = $ws->api($at, POST => "/api/v1/projects/$redops->{id}/tasks",
                        json => { title => 'Red task' })->{json};
$mark = last_activity_id();
my %bad_task = (
    'no title'                  => { description => 'x' },
    'an empty title'            => { title => '' },
    "another project's column"  => { title => 'x',
                                     column_id => $redops_todo->{id} },
    'an unknown column'         => { title => 'x', column_id => $nobody },
    'an unknown parent'         => { title => 'x', parent_id => $nobody },
    "another project's parent"  => { title => 'x',
                                     parent_id => $red_task->{id} },
    'an unknown assignee'       => { title => 'x',
                                     assignee_ids => [ $nobody ] },
    'an unknown priority'       => { title => 'x', priority => 'whenever' },
    'a date that is no date'    => { title => 'x', due_date => '2026-02-30' },
    'a negative estimate'       => { title => 'x', estimate_minutes => -5 },
    'labels that are no array'  => { title => 'x', labels => 'security' },
    'an unknown field'          => { title => 'x', colour => 'red' },
);
for my $what (sort keys %bad_task) {
    rejected($ws->api($at, POST => "/api/v1/projects/$vuln->{id}/tasks",
                      json => $bad_task{$what}),
             $mark, 422, 'validation_failed', "create a task with $what");
}
rejected($ws->api($at, POST => "/api/v1/projects/$nobody/tasks",
                  json => { title => 'x' }),
         $mark, 404, 'not_found', 'a task in an unknown project');
rejected($ws->api(undef, POST => "/api/v1/projects/$vuln->{id}/tasks",
                  json => { title => 'x' }),
         $mark, 401, 'unauthorized', 'create a task without a token');
my ($vuln_tasks) = $dbh->selectrow_array(
    'SELECT count(*) FROM tasks WHERE project_id = ?', undef, $vuln->{id});
is($vuln_tasks, 2, 'none of the rejected tasks exists');

$r = $ws->api($at, POST => "/api/v1/projects/$vuln->{id}/tasks", json => {
    title => 'Audit firewall', column_id => $vcol{todo}{id},
    labels => [ 'security' ], due_date => '2026-03-01' });
is($r->{json}{key}, 'VULN-3',
   'the next task is VULN-3: rejected ones took no number');
my $t3 = $r->{json};

$r = $ws->api($pt, POST => "/api/v1/projects/$vuln->{id}/tasks", json => {
    title => 'Order the HSM', parent_id => $t2->{id} });
is($r->{status}, 201, 'a subtask (by a manager): 201');
my $sub1 = $r->{json};
is($sub1->{parent_id}, $t2->{id}, '... with its parent');
is($sub1->{key}, 'VULN-4', '... VULN-4');

# --- tasks: read and list ---------------------------------------------------------------

$r = $ws->api($ct, GET => "/api/v1/tasks/$t2->{id}");
is($r->{status}, 200, 'read a task');
is($r->{json}{key}, 'VULN-2', '... the task');
is($r->{headers}{etag}, '"1"', '... ETag "1"');
is_deeply($r->{json}, $t2, '... as it was created');
problem_is($ws->api($at, GET => "/api/v1/tasks/$nobody"), 404, 'not_found',
           'read an unknown task');
problem_is($ws->api(undef, GET => "/api/v1/tasks/$t2->{id}"), 401,
           'unauthorized', 'read a task without a token');

sub task_ids {
    my ($pid, $query, $token) = @_;
    my $r = $ws->api($token // $at,
                     GET => "/api/v1/projects/$pid/tasks?$query");
    return "$r->{status} $r->{body}" unless $r->{status} == 200;
    return ids($r->{json}{items});
}

sub sorted { [ sort @_ ] }

is_deeply(task_ids($vuln->{id}, ''),
          sorted($t1->{id}, $t2->{id}, $t3->{id}, $sub1->{id}),
          'list tasks: all four, ordered by id');
is_deeply(task_ids($vuln->{id}, '', $ct),
          sorted($t1->{id}, $t2->{id}, $t3->{id}, $sub1->{id}),
          '... a contributor sees them too');
is_deeply(task_ids($vuln->{id}, "column_id=$vcol{todo}{id}"),
          sorted($t2->{id}, $t3->{id}), '... by column_id');
is_deeply(task_ids($vuln->{id}, 'category=backlog'),
          sorted($t1->{id}, $sub1->{id}), '... by category');
is_deeply(task_ids($vuln->{id}, "assignee_id=$carl->{id}"),
          [ $t2->{id} ], '... by assignee_id');
is_deeply(task_ids($vuln->{id}, 'label=security'),
          sorted($t2->{id}, $t3->{id}), '... by label');
is_deeply(task_ids($vuln->{id}, 'label=infra'), [ $t2->{id} ],
          '... by another label');
is_deeply(task_ids($vuln->{id}, "parent_id=$t2->{id}"), [ $sub1->{id} ],
          '... by parent_id');
is_deeply(task_ids($vuln->{id}, 'due_before=2026-04-01'), [ $t3->{id} ],
          '... by due_before');
is_deeply(task_ids($vuln->{id}, 'q=ROTATE'), [ $t2->{id} ],
          '... by q, case-insensitive');
is_deeply(task_ids($vuln->{id}, 'q=zebra'), [], '... q matching nothing');
is_deeply(task_ids($vuln->{id}, 'label=security&column_id='
                                . $vcol{todo}{id} . '&due_before=2026-12-31'),
          sorted($t2->{id}, $t3->{id}), '... filters combined');
problem_is($ws->api($at, GET => "/api/v1/projects/$nobody/tasks"), 404,
           'not_found', 'tasks of an unknown project');
problem_is($ws->api(undef, GET => "/api/v1/projects/$vuln->{id}/tasks"), 401,
           'unauthorized', 'list tasks without a token');
problem_is($ws->api($at, GET => "/api/v1/projects/$vuln->{id}/tasks?limit=x"),
           400, 'bad_request', 'a limit that is no number');
problem_is($ws->api($at, GET => "/api/v1/projects/$vuln->{id}/tasks"
                              . '?due_before=soon'),
           400, 'bad_request', 'a due_before that is no date');

$r = $ws->api($ct, GET => "/api/v1/tasks/$t2->{id}/subtasks");
is($r->{status}, 200, 'subtasks');
is_deeply(ids($r->{json}{items}), [ $sub1->{id} ], '... the one child');
problem_is($ws->api($at, GET => "/api/v1/tasks/$nobody/subtasks"), 404,
           'not_found', 'subtasks of an unknown task');

# --- tasks: patch ----------------------------------------------------------------------

$mark = last_activity_id();
$r = $ws->api($ct, PATCH => "/api/v1/tasks/$t1->{id}",
              json => { title => 'Patch openssl 3.x', version => 1 });
is($r->{status}, 200, 'a contributor patches a task they reported');
is($r->{json}{title}, 'Patch openssl 3.x', '... changed');
is($r->{json}{version}, 2, '... version 2');
is($r->{headers}{etag}, '"2"', '... ETag "2"');
$row = audited($mark, 'updated', 'task', $t1->{id}, $carl->{id},
               'patch a task');
is(decode($row->{old_values})->{title}, 'Patch openssl', '... old title');
is(decode($row->{new_values})->{title}, 'Patch openssl 3.x', '... new title');

$r = $ws->api($ct, PATCH => "/api/v1/tasks/$t2->{id}",
              json => { blocked => JSON::XS::false(),
                        blocked_reason => undef });
is($r->{status}, 200, 'a contributor patches a task assigned to them');
ok(!$r->{json}{blocked}, '... unblocked');
is($r->{json}{blocked_reason}, undef, '... the reason cleared by null');
is($r->{json}{title}, 'Rotate keys', '... the rest kept');
is_deeply($r->{json}{assignee_ids}, [ $carl->{id} ], '... assignees kept');

$mark = last_activity_id();
rejected($ws->api($ct, PATCH => "/api/v1/tasks/$t3->{id}",
                  json => { title => 'Not mine' }),
         $mark, 403, 'forbidden',
         'a contributor patching a task neither theirs nor assigned');
rejected($ws->api($cot, PATCH => "/api/v1/tasks/$t1->{id}",
                  json => { title => "Cora's now" }),
         $mark, 403, 'forbidden', "a contributor patching another's task");
rejected($ws->api($cot, DELETE => "/api/v1/tasks/$t1->{id}"),
         $mark, 403, 'forbidden', "... deleting it");
rejected($ws->api($cot, PATCH => "/api/v1/tasks/$t1->{id}/move",
                  json => { column_id => $vcol{todo}{id} }),
         $mark, 403, 'forbidden', '... moving it');
rejected($ws->api(undef, PATCH => "/api/v1/tasks/$t1->{id}",
                  json => { title => 'Anon' }),
         $mark, 401, 'unauthorized', 'patch a task without a token');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t1->{id}",
                  json => { title => 'Stale', version => 1 }),
         $mark, 409, 'version_conflict', 'patch a task with a stale version');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t1->{id}",
                  headers => { 'If-Match' => '"1"' },
                  json => { title => 'Stale' }),
         $mark, 409, 'version_conflict', '... or a stale If-Match');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t1->{id}",
                  json => { column_id => $vcol{done}{id} }),
         $mark, 422, 'validation_failed', 'column_id is not patched (move)');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t1->{id}",
                  json => { priority => 'whenever' }),
         $mark, 422, 'validation_failed', 'patch to an unknown priority');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t1->{id}",
                  json => { assignee_ids => [ $nobody ] }),
         $mark, 422, 'validation_failed', 'patch to an unknown assignee');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$nobody",
                  json => { title => 'x' }),
         $mark, 404, 'not_found', 'patch an unknown task');
$r = $ws->api($at, GET => "/api/v1/tasks/$t1->{id}");
is($r->{json}{title}, 'Patch openssl 3.x', '... the title unchanged');
is($r->{json}{priority}, 'medium', '... the priority unchanged');
is_deeply($r->{json}{assignee_ids}, [], '... no assignee added');
is($r->{json}{column_id}, $vcol{backlog}{id}, '... the column unchanged');
is($r->{json}{version}, 2, '... still version 2');
is($ws->api($at, GET => "/api/v1/tasks/$t3->{id}")->{json}{title},
   'Audit firewall', "... the contributor's target unchanged");

$r = $ws->api($pt, PATCH => "/api/v1/tasks/$t3->{id}", json => {
    assignee_ids => [ $cora->{id}, $carl->{id} ], labels => [ 'network' ],
    due_date => undef, priority => 'urgent' });
is($r->{status}, 200, 'a manager patches any task');
is_deeply($r->{json}{assignee_ids}, sorted($cora->{id}, $carl->{id}),
          '... assignees replaced');
is_deeply($r->{json}{labels}, [ 'network' ], '... labels replaced');
is($r->{json}{due_date}, undef, '... due_date cleared');
is($r->{json}{priority}, 'urgent', '... priority');
is($ws->api($ct, PATCH => "/api/v1/tasks/$t3->{id}",
            json => { description => 'now assigned to me' })->{status}, 200,
   '... and now the assigned contributor may patch it');
$r = $ws->api($pt, PATCH => "/api/v1/tasks/$t3->{id}",
              json => { assignee_ids => [] });
is_deeply($r->{json}{assignee_ids}, [], 'an empty assignee list clears them');
is_deeply(task_ids($vuln->{id}, "assignee_id=$cora->{id}"), [],
          '... the assignee filter agrees');

# parents: never the task itself nor one of its subtasks
my $grand = $ws->api($at, POST => "/api/v1/projects/$vuln->{id}/tasks",
                     json => { title => 'Grandchild',
                               parent_id => $sub1->{id} })
            ->{json};
$mark = last_activity_id();
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t2->{id}",
                  json => { parent_id => $t2->{id} }),
         $mark, 422, 'validation_failed', 'a task as its own parent');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t2->{id}",
                  json => { parent_id => $sub1->{id} }),
         $mark, 422, 'validation_failed', 'a child as the parent');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t2->{id}",
                  json => { parent_id => $grand->{id} }),
         $mark, 422, 'validation_failed', 'a grandchild as the parent');
rejected($ws->api($at, PATCH => "/api/v1/tasks/$t2->{id}",
                  json => { parent_id => $red_task->{id} }),
         $mark, 422, 'validation_failed', "another project's task as parent");
is($ws->api($at, GET => "/api/v1/tasks/$t2->{id}")->{json}{parent_id}, undef,
   '... the task is still top-level');

$r = $ws->api($at, PATCH => "/api/v1/tasks/$grand->{id}",
              json => { parent_id => $t3->{id} });
is($r->{status}, 200, 'reparent a task');
is($r->{json}{parent_id}, $t3->{id}, '... the new parent');
is_deeply(task_ids($vuln->{id}, "parent_id=$t3->{id}"), [ $grand->{id} ],
          '... listed under it');
$r = $ws->api($at, PATCH => "/api/v1/tasks/$grand->{id}",
              json => { parent_id => undef });
is($r->{json}{parent_id}, undef, 'parent_id null makes it top-level');

# --- moves --------------------------------------------------------------------------------

my $mv = $ws->api($at, POST => '/api/v1/projects',
                  json => { key => 'MV', name => 'Moves' })->{json};
my %col = map { $_->{category} => $_ } @{ columns_of($mv->{id}) };

sub new_task {
    my ($pid, $title, %o) = @_;
    my $r = $ws->api($o{token} // $at, POST => "/api/v1/projects/$pid/tasks",
                     json => { title => $title, %{ $o{json} // {} } });
    die "create $title: $r->{status} $r->{body}" unless $r->{status} == 201;
    return $r->{json};
}

sub board {
    my ($pid) = @_;
    my $r = $ws->api($at, GET => "/api/v1/projects/$pid/kanban");
    die "kanban: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r->{json};
}

# the titles of a column on the board, in order
sub lane {
    my ($pid, $category) = @_;
    my ($c) = grep { $_->{category} eq $category } @{ board($pid)->{columns} };
    return join ' ', map { $_->{title} } @{ $c->{tasks} };
}

sub move {
    my ($task, %body) = @_;
    my $token = delete $body{token} // $at;
    return $ws->api($token, PATCH => "/api/v1/tasks/$task->{id}/move",
                    json => \%body);
}

my %mt = map { $_ => new_task($mv->{id}, $_,
                              json => { column_id => $col{todo}{id} }) }
         qw(A B C);
is(lane($mv->{id}, 'todo'), 'A B C', 'new tasks go to the end of a column');

$r = board($mv->{id});
is($r->{project}{id}, $mv->{id}, 'the board: the project');
is_deeply([ map { $_->{name} } @{ $r->{columns} } ],
          [ 'Backlog', 'To Do', 'In Progress', 'Review', 'Done' ],
          '... its columns by position');
ok(!grep({ !exists $_->{wip_limit} || !exists $_->{version} }
         @{ $r->{columns} }), '... each with wip_limit and version');
problem_is($ws->api($at, GET => "/api/v1/projects/$nobody/kanban"), 404,
           'not_found', 'the board of an unknown project');
problem_is($ws->api(undef, GET => "/api/v1/projects/$mv->{id}/kanban"), 401,
           'unauthorized', 'the board without a token');
is($ws->api($cot, GET => "/api/v1/projects/$mv->{id}/kanban")->{status}, 200,
   'a contributor reads the board');

$mark = last_activity_id();
$r = move($mt{C}, column_id => $col{todo}{id}, before_id => $mt{A}{id});
is($r->{status}, 200, 'move C before A: 200');
is($r->{json}{id}, $mt{C}{id}, '... the task');
ok(defined $r->{json}{rank} && !ref $r->{json}{rank}, '... a rank string');
is($r->{json}{version}, 2, '... version 2');
is(lane($mv->{id}, 'todo'), 'C A B', '... the board: C A B');
$row = audited($mark, 'moved', 'task', $mt{C}{id}, $admin_id, 'move');
is($row->{project_id}, $mv->{id}, '... the row names the project');

$r = move($mt{C}, column_id => $col{todo}{id}, after_id => $mt{A}{id});
is($r->{status}, 200, 'move C after A');
is(lane($mv->{id}, 'todo'), 'A C B', '... A C B');
my ($board_c) = grep { $_->{id} eq $mt{C}{id} }
                map { @{ $_->{tasks} } } @{ board($mv->{id})->{columns} };
is($board_c->{rank}, $r->{json}{rank}, '... the rank the board has');

is(move($mt{A}, column_id => $col{todo}{id}, after_id => $mt{B}{id})
   ->{status}, 200, 'move A after the last one');
is(lane($mv->{id}, 'todo'), 'C B A', '... C B A');
is(move($mt{A}, column_id => $col{todo}{id}, before_id => $mt{C}{id})
   ->{status}, 200, 'move A before the first one');
is(lane($mv->{id}, 'todo'), 'A C B', '... A C B');
is(move($mt{A}, column_id => $col{todo}{id})->{status}, 200,
   'move A without an anchor');
is(lane($mv->{id}, 'todo'), 'C B A', '... to the end of its column');

$r = move($mt{B}, column_id => $col{in_progress}{id});
is($r->{status}, 200, 'move B to another column');
is($r->{json}{column_id}, $col{in_progress}{id}, '... column_id');
is($r->{json}{category}, 'in_progress', '... the category follows');
is(lane($mv->{id}, 'todo'), 'C A', '... gone from To Do');
is(lane($mv->{id}, 'in_progress'), 'B', '... in In Progress');
is(move($mt{C}, column_id => $col{in_progress}{id}, before_id => $mt{B}{id})
   ->{status}, 200, 'move C into that column before B');
is(lane($mv->{id}, 'in_progress'), 'C B', '... C B');
is($ws->api($at, GET => "/api/v1/tasks/$mt{C}{id}")->{json}{category},
   'in_progress', '... and reading it says so');

$r = move($mt{B}, column_id => $col{done}{id});
is($r->{status}, 200, 'move B to Done');
is($r->{json}{category}, 'done', '... category done');
like($r->{json}{completed_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/,
     '... completed_at set');
is($ws->api($at, GET => "/api/v1/projects/$mv->{id}")->{json}{progress}, 33,
   '... one of three done: progress 33');
new_task($mv->{id}, 'sub of B', json => { parent_id => $mt{B}{id} });
is($ws->api($at, GET => "/api/v1/projects/$mv->{id}")->{json}{progress}, 33,
   '... subtasks do not count');
is(board($mv->{id})->{project}{progress}, 33, '... the board says so too');
is(move($mt{C}, column_id => $col{done}{id})->{status}, 200, 'C to Done');
is($ws->api($at, GET => "/api/v1/projects/$mv->{id}")->{json}{progress}, 67,
   '... two of three: 67');

$r = move($mt{B}, column_id => $col{review}{id});
is($r->{status}, 200, 'B back to Review');
is($r->{json}{completed_at}, undef, '... completed_at cleared');
is($r->{json}{category}, 'review', '... category review');
is($ws->api($at, GET => "/api/v1/projects/$mv->{id}")->{json}{progress}, 33,
   '... progress 33 again');

$mark = last_activity_id();
my $a_version = $ws->api($at, GET => "/api/v1/tasks/$mt{A}{id}")
    ->{json}{version};
rejected(move($mt{A}, column_id => $col{todo}{id},
              before_id => $mt{B}{id}),
         $mark, 422, 'validation_failed', 'an anchor in another column');
rejected(move($mt{A}, column_id => $col{todo}{id}, after_id => $nobody),
         $mark, 422, 'validation_failed', 'an unknown anchor');
rejected(move($mt{A}, column_id => $vcol{todo}{id}),
         $mark, 422, 'validation_failed', "another project's column");
rejected(move($mt{A}, column_id => $nobody),
         $mark, 422, 'validation_failed', 'an unknown column');
rejected(move($mt{A}, after_id => $mt{C}{id}),
         $mark, 422, 'validation_failed', 'a move without column_id');
{
    # one anchor or the other (API.md: before_id? | after_id?), not both
    my $x = new_task($mv->{id}, 'X');
    my $m = last_activity_id();
    rejected(move($x, column_id => $col{review}{id}, before_id => $mt{B}{id},
                  after_id => $mt{B}{id}),
             $m, 422, 'validation_failed', 'a move with before_id and after_id');
    $ws->api($at, DELETE => "/api/v1/tasks/$x->{id}");
    $mark = last_activity_id();
}
rejected($ws->api($at, PATCH => "/api/v1/tasks/$mt{A}{id}/move",
                  headers => { 'If-Match' => '"' . ($a_version - 1) . '"' },
                  json => { column_id => $col{review}{id} }),
         $mark, 409, 'version_conflict', 'a move with a stale If-Match');
rejected(move($mt{A}, column_id => $col{review}{id},
              version => $a_version - 1),
         $mark, 409, 'version_conflict', 'a move with a stale version');
rejected(move({ id => $nobody }, column_id => $col{review}{id}),
         $mark, 404, 'not_found', 'move an unknown task');
rejected($ws->api(undef, PATCH => "/api/v1/tasks/$mt{A}{id}/move",
                  json => { column_id => $col{review}{id} }),
         $mark, 401, 'unauthorized', 'a move without a token');
$r = $ws->api($at, GET => "/api/v1/tasks/$mt{A}{id}");
is($r->{json}{column_id}, $col{todo}{id}, '... A is still in To Do');
is($r->{json}{version}, $a_version, '... at its version');

$r = move($mt{A}, column_id => $col{review}{id}, version => $a_version,
          after_id => $mt{B}{id});
is($r->{status}, 200, 'a move with the current version');
is($r->{json}{version}, $a_version + 1, '... one up');
is(lane($mv->{id}, 'review'), 'B A', '... after B');

$r = $ws->api($at, POST => "/api/v1/projects/$mv->{id}/tasks",
              json => { title => 'Born done', column_id => $col{done}{id} });
is($r->{json}{category}, 'done', 'a task created in Done');
like($r->{json}{completed_at} // '', qr/^\d{4}-\d\d-\d\dT/,
     '... is completed at once');
$ws->api($at, DELETE => "/api/v1/tasks/$r->{json}{id}");

# a contributor moves their own and assigned tasks only
my $own = new_task($mv->{id}, 'Carl own', token => $ct);
my $given = new_task($mv->{id}, 'Given to Carl',
                     json => { assignee_ids => [ $carl->{id} ] });
is(move($own, column_id => $col{todo}{id}, token => $ct)->{status}, 200,
   'a contributor moves a task they reported');
is(move($given, column_id => $col{todo}{id}, token => $ct)->{status}, 200,
   '... and one assigned to them');
$mark = last_activity_id();
rejected(move($mt{A}, column_id => $col{todo}{id}, token => $ct),
         $mark, 403, 'forbidden', '... not any other');
is($ws->api($at, GET => "/api/v1/tasks/$mt{A}{id}")->{json}{column_id},
   $col{review}{id}, '... which stays where it was');

# WIP limits
my $wip = $ws->api($at, PATCH => "/api/v1/columns/$col{review}{id}",
                   json => { wip_limit => 2 });
is($wip->{status}, 200, 'Review limited to 2 (it holds B and A)');
$mark = last_activity_id();
rejected(move($mt{C}, column_id => $col{review}{id}),
         $mark, 409, 'wip_limit_reached', 'moving into a full column');
rejected($ws->api($at, POST => "/api/v1/projects/$mv->{id}/tasks",
                  json => { title => 'One too many',
                            column_id => $col{review}{id} }),
         $mark, 409, 'wip_limit_reached', 'creating in a full column');
is($ws->api($at, GET => "/api/v1/tasks/$mt{C}{id}")->{json}{column_id},
   $col{done}{id}, '... C stays in Done');
is(lane($mv->{id}, 'review'), 'B A', '... Review holds B and A');
$r = move($mt{A}, column_id => $col{review}{id}, before_id => $mt{B}{id});
is($r->{status}, 200, 'moving within a full column is fine');
is(lane($mv->{id}, 'review'), 'A B', '... A B');
my $next = new_task($mv->{id}, 'Numbered');
like($next->{key}, qr/^MV-(\d+)$/, 'a task after the refused create');
my ($max_number) = $dbh->selectrow_array(
    q{SELECT max(number) FROM tasks WHERE project_id = ? AND id <> ?},
    undef, $mv->{id}, $next->{id});
is($next->{key}, 'MV-' . ($max_number + 1), '... takes the next number');
$ws->api($at, PATCH => "/api/v1/columns/$col{review}{id}",
         json => { wip_limit => undef });
is(move($mt{C}, column_id => $col{review}{id})->{status}, 200,
   'the limit cleared: the move goes through');

# --- column deletion ----------------------------------------------------------------------

$mark = last_activity_id();
rejected($ws->api($at, DELETE => "/api/v1/columns/$col{review}{id}"),
         $mark, 409, 'conflict', 'delete a column with tasks');
is(scalar @{ columns_of($mv->{id}) }, 5, '... it stays');
rejected($ws->api($ct, DELETE => "/api/v1/columns/$archive->{id}"),
         $mark, 403, 'forbidden', 'a contributor deleting a column');
rejected($ws->api(undef, DELETE => "/api/v1/columns/$archive->{id}"),
         $mark, 401, 'unauthorized', 'delete a column without a token');
$r = $ws->api($at, DELETE => "/api/v1/columns/$archive->{id}");
is($r->{status}, 204, 'delete an empty column: 204');
audited($mark, 'deleted', 'column', $archive->{id}, $admin_id,
        'delete a column');
ok(!grep({ $_->{id} eq $archive->{id} } @{ columns_of($vuln->{id}) }),
   '... it is gone');
$mark = last_activity_id();
rejected($ws->api($at, DELETE => "/api/v1/columns/$archive->{id}"),
         $mark, 404, 'not_found', 'delete it again');

# a column's category carries its tasks along
$r = $ws->api($at, PATCH => "/api/v1/columns/$col{todo}{id}",
              json => { category => 'in_progress' });
is($r->{status}, 200, 'To Do becomes an in_progress column');
is($ws->api($at, GET => "/api/v1/tasks/$own->{id}")->{json}{category},
   'in_progress', "... its tasks' category follows");

# --- subtree deletion ---------------------------------------------------------------------

my $root = new_task($vuln->{id}, 'Root');
my $kid1 = new_task($vuln->{id}, 'Kid 1', json => { parent_id => $root->{id} });
my $kid2 = new_task($vuln->{id}, 'Kid 2', json => { parent_id => $root->{id} });
my $gkid = new_task($vuln->{id}, 'Grandkid',
                    json => { parent_id => $kid1->{id} });
my $bystander = new_task($vuln->{id}, 'Bystander');

$r = $ws->api($at, GET => "/api/v1/tasks/$root->{id}/subtasks");
is_deeply([ sort @{ ids($r->{json}{items}) } ],
          sorted($kid1->{id}, $kid2->{id}),
          'subtasks are the direct children only');

$mark = last_activity_id();
rejected($ws->api($ct, DELETE => "/api/v1/tasks/$root->{id}"),
         $mark, 403, 'forbidden', "a contributor deleting someone's tree");
$r = $ws->api($at, DELETE => "/api/v1/tasks/$root->{id}");
is($r->{status}, 204, 'delete a task with two levels below it: 204');
is($r->{body}, '', '... no body');
for ([ root => $root ], [ child => $kid1 ], [ 'second child' => $kid2 ],
     [ grandchild => $gkid ]) {
    problem_is($ws->api($at, GET => "/api/v1/tasks/$_->[1]{id}"), 404,
               'not_found', "... the $_->[0] is gone");
}
my ($left) = $dbh->selectrow_array(
    'SELECT count(*) FROM tasks WHERE id IN (?, ?, ?, ?)', undef,
    map { $_->{id} } $root, $kid1, $kid2, $gkid);
is($left, 0, '... no row of the tree is left');
is($ws->api($at, GET => "/api/v1/tasks/$bystander->{id}")->{status}, 200,
   '... a task beside it stays');
my $rows = activity_since($mark);
is_deeply([ sort map { "$_->{action} $_->{entity_id}" } @$rows ],
          [ sort map { "deleted $_->{id}" } $root, $kid1, $kid2, $gkid ],
          '... a deleted row for each of the four');
$mark = last_activity_id();
rejected($ws->api($at, DELETE => "/api/v1/tasks/$root->{id}"),
         $mark, 404, 'not_found', 'delete it again');
rejected($ws->api(undef, DELETE => "/api/v1/tasks/$bystander->{id}"),
         $mark, 401, 'unauthorized', 'delete a task without a token');

$mark = last_activity_id();
$r = $ws->api($ct, DELETE => "/api/v1/tasks/$t1->{id}");
is($r->{status}, 204, 'a contributor deletes a task they reported');
audited($mark, 'deleted', 'task', $t1->{id}, $carl->{id}, "... ");

# --- the audit trail over HTTP --------------------------------------------------------------

$r = $ws->api($ct, GET => "/api/v1/tasks/$t3->{id}/activity");
is($r->{status}, 200, "a task's activity");
my $db_rows = $dbh->selectall_arrayref(
    q{SELECT id, action FROM activity_log
       WHERE entity_type = 'task' AND entity_id = ? ORDER BY id},
    { Slice => {} }, $t3->{id});
is_deeply([ map { "$_->{id} $_->{action}" } @{ $r->{json}{items} } ],
          [ map { "$_->{id} $_->{action}" } @$db_rows ],
          '... every row of it, in order');
is(join(',', map { $_->{action} } @{ $r->{json}{items} }),
   'created,updated,updated,updated', '... created, then three updates');
is($r->{json}{items}[0]{actor_name}, 'Ada Admin', '... who created it');
is($r->{json}{items}[1]{actor_name}, 'Pam', '... who changed it');
is_deeply($r->{json}{items}[1]{old_values}{labels}, [ 'security' ],
          '... the old values');
is_deeply($r->{json}{items}[1]{new_values}{labels}, [ 'network' ],
          '... and the new');
problem_is($ws->api($at, GET => "/api/v1/tasks/$nobody/activity"), 404,
           'not_found', 'activity of an unknown task');

$r = $ws->api($at, GET => "/api/v1/tasks/$mt{A}{id}/activity");
my @moves = grep { $_->{action} eq 'moved' } @{ $r->{json}{items} };
cmp_ok(scalar @moves, '>=', 4, "a moved task's activity has its moves");
is($moves[-1]{new_values}{column_id}, $col{review}{id},
   '... the last one into Review');

$r = $ws->api($cot, GET => "/api/v1/projects/$mv->{id}/activity");
is($r->{status}, 200, "a project's activity");
my $mv_rows = $dbh->selectcol_arrayref(
    'SELECT id FROM activity_log WHERE project_id = ? ORDER BY id DESC',
    undef, $mv->{id});
is_deeply([ map { $_->{id} } @{ $r->{json}{items} } ], $mv_rows,
          '... every row of the project, newest first');
ok((grep { $_->{action} eq 'created' && $_->{entity_id} eq $mv->{id} }
    @{ $r->{json}{items} }), '... its creation among them');
problem_is($ws->api($at, GET => "/api/v1/projects/$nobody/activity"), 404,
           'not_found', 'activity of an unknown project');
problem_is($ws->api(undef, GET => "/api/v1/projects/$mv->{id}/activity"), 401,
           'unauthorized', 'activity without a token');

# --- paging that holds while tasks are added ---------------------------------------------------

{
    my $pg = $ws->api($at, POST => '/api/v1/projects',
                      json => { key => 'PAGE', name => 'Paging' })->{json};
    my @orig = map { new_task($pg->{id}, "orig $_")->{id} } 1 .. 12;
    my (%count, @sizes, $cursor, $pages, $extra);
    while (1) {
        my $r = $ws->api($at, GET => "/api/v1/projects/$pg->{id}/tasks?limit=4"
                                . (defined $cursor ? "&cursor=$cursor" : ''));
        last unless $r->{status} == 200;
        push @sizes, scalar @{ $r->{json}{items} };
        $count{$_}++ for @{ ids($r->{json}{items}) };
        $cursor = $r->{json}{next_cursor};
        last if !defined $cursor || ++$pages > 30;
        new_task($pg->{id}, 'inserted ' . ++$extra) for 1 .. 3;
    }
    is_deeply([ grep { ($count{$_} // 0) != 1 } @orig ], [],
              'paging with inserts between pages: each original task once');
    is_deeply([ grep { $count{$_} > 1 } keys %count ], [],
              '... and no task twice');
    ok(!grep({ $_ > 4 } @sizes), '... never more than 4 a page');
    cmp_ok(scalar @sizes, '>=', 4, '... over four pages or more');
}

# --- SQL-looking input is data -----------------------------------------------------------------

my $sqlish = q{'; DROP TABLE tasks; --};
$r = $ws->api($at, POST => "/api/v1/projects/$vuln->{id}/tasks",
              json => { title => $sqlish, labels => [ "x'); --" ],
                        description => q{" OR 1=1 --} });
is($r->{status}, 201, 'a task titled like an injection: 201');
my $inj = $r->{json};
is($inj->{title}, $sqlish, '... the title as sent');
is($ws->api($at, GET => "/api/v1/tasks/$inj->{id}")->{json}{title}, $sqlish,
   '... read back as sent');
my ($stored) = $dbh->selectrow_array('SELECT title FROM tasks WHERE id = ?',
                                     undef, $inj->{id});
is($stored, $sqlish, '... stored as sent');
is_deeply(task_ids($vuln->{id}, 'q=' . uri_escape($sqlish)), [ $inj->{id} ],
          '... found by q with the same text');
is_deeply(task_ids($vuln->{id}, 'q=' . uri_escape("' OR '1'='1")), [],
          "q=' OR '1'='1 matches nothing");
is_deeply(task_ids($vuln->{id}, 'label=' . uri_escape("x'); --")),
          [ $inj->{id} ], 'a label with quotes is filtered on literally');
my ($tables) = $dbh->selectrow_array(
    q{SELECT count(*) FROM pg_tables WHERE tablename = 'tasks'});
is($tables, 1, 'the tasks table is still there');

my $pct = new_task($vuln->{id}, 'Coverage at 100%');
my $thousand = new_task($vuln->{id}, 'Coverage at 1000 lines');
my $under = new_task($vuln->{id}, 'rename foo_bar');
new_task($vuln->{id}, 'rename fooXbar');
is_deeply(task_ids($vuln->{id}, 'q=' . uri_escape('100%')), [ $pct->{id} ],
          'q=100% matches the percent sign literally');
is_deeply(task_ids($vuln->{id}, 'q=' . uri_escape('o_b')), [ $under->{id} ],
          'q=o_b matches the underscore literally');

$r = $ws->api($at, POST => '/api/v1/projects',
              json => { key => 'SQLI',
                        name => q{Robert'); DROP TABLE projects;--} });
is($r->{status}, 201, 'a project named like an injection');
is($ws->api($at, GET => "/api/v1/projects/$r->{json}{id}")->{json}{name},
   q{Robert'); DROP TABLE projects;--}, '... read back as sent');

# --- another workspace sees nothing of this one ----------------------------------------------

{
    my $ows = $t->workspace(prefix => 'kanban');
    my $other = $ows->slug;
    my $before = $ws->api($at, GET => "/api/v1/projects/$mv->{id}/kanban")
        ->{body};
    my $vbefore = $ws->api($at, GET => "/api/v1/projects/$vuln->{id}")->{body};
    my $amark = last_activity_id();
    my $b = sub { $ows->api($ows->admin, @_) };

    my @probes = (
        [ GET => "/api/v1/projects/$mv->{id}" ],
        [ PATCH => "/api/v1/projects/$mv->{id}", json => { name => 'Mine' } ],
        [ DELETE => "/api/v1/projects/$vuln->{id}" ],
        [ GET => "/api/v1/projects/$mv->{id}/kanban" ],
        [ GET => "/api/v1/projects/$mv->{id}/columns" ],
        [ POST => "/api/v1/projects/$mv->{id}/columns",
          json => { name => 'Mine' } ],
        [ PATCH => "/api/v1/columns/$col{review}{id}",
          json => { name => 'Mine' } ],
        [ DELETE => "/api/v1/columns/$col{backlog}{id}" ],
        [ GET => "/api/v1/projects/$mv->{id}/tasks" ],
        [ POST => "/api/v1/projects/$mv->{id}/tasks",
          json => { title => 'Mine' } ],
        [ GET => "/api/v1/tasks/$mt{A}{id}" ],
        [ PATCH => "/api/v1/tasks/$mt{A}{id}", json => { title => 'Mine' } ],
        [ PATCH => "/api/v1/tasks/$mt{A}{id}/move",
          json => { column_id => $col{todo}{id} } ],
        [ DELETE => "/api/v1/tasks/$mt{B}{id}" ],
        [ GET => "/api/v1/tasks/$t2->{id}/subtasks" ],
        [ GET => "/api/v1/tasks/$mt{A}{id}/activity" ],
        [ GET => "/api/v1/projects/$mv->{id}/activity" ],
    );
    for my $p (@probes) {
        my ($method, $path, %o) = @$p;
        problem_is($b->($method, $path, %o), 404, 'not_found',
                   "another workspace's admin: $method $path is 404");
    }
    is($ws->api($at, GET => "/api/v1/projects/$mv->{id}/kanban")->{body},
       $before, "... this workspace's board is unchanged");
    is($ws->api($at, GET => "/api/v1/projects/$vuln->{id}")->{body}, $vbefore,
       '... and so is its other project');
    is(last_activity_id(), $amark, '... and its audit trail');

    problem_is($ws->api($at, GET => "/api/v1/projects/$mv->{id}",
                        host => $other),
               401, 'unauthorized', "this workspace's token on the other host");
    problem_is($ws->api($ows->admin, GET => "/api/v1/projects/$mv->{id}"), 401,
               'unauthorized', "the other's token on this host");

    $r = $b->(POST => '/api/v1/projects', json => { key => 'VULN',
                                                    name => 'Their own' });
    is($r->{status}, 201, 'the other workspace has a VULN of its own');
    is_deeply(ids($b->(GET => '/api/v1/projects')->{json}{items}),
              [ $r->{json}{id} ], '... and lists only that');
}

# --- project deletion ------------------------------------------------------------------------

$mark = last_activity_id();
rejected($ws->api($pt, DELETE => "/api/v1/projects/$bluep->{id}"),
         $mark, 403, 'forbidden', "a manager deleting another team's project");
rejected($ws->api($ct, DELETE => "/api/v1/projects/$redops->{id}"),
         $mark, 403, 'forbidden', 'a contributor deleting a project');
rejected($ws->api(undef, DELETE => "/api/v1/projects/$redops->{id}"),
         $mark, 401, 'unauthorized', 'delete a project without a token');
rejected($ws->api($at, DELETE => "/api/v1/projects/$nobody"),
         $mark, 404, 'not_found', 'delete an unknown project');
is($ws->api($at, GET => "/api/v1/projects/$bluep->{id}")->{status}, 200,
   '... the projects are all there');

$r = $ws->api($pt, DELETE => "/api/v1/projects/$redops->{id}");
is($r->{status}, 204, "a manager deletes their team's project");
audited($mark, 'deleted', 'project', $redops->{id}, $pam->{id},
        'delete a project');
is($ws->api($pet, DELETE => "/api/v1/projects/$bluep->{id}")->{status}, 204,
   '... and the other manager theirs');
is($ws->api($pt, DELETE => "/api/v1/projects/$pamx->{id}")->{status}, 204,
   '... and a manager one without a team');

$mark = last_activity_id();
$r = $ws->api($at, DELETE => "/api/v1/projects/$mv->{id}");
is($r->{status}, 204, 'an admin deletes a project with tasks: 204');
problem_is($ws->api($at, GET => "/api/v1/projects/$mv->{id}"), 404, 'not_found',
           '... it is gone');
problem_is($ws->api($at, GET => "/api/v1/tasks/$mt{A}{id}"), 404, 'not_found',
           '... and its tasks');
problem_is($ws->api($at, PATCH => "/api/v1/columns/$col{done}{id}",
                    json => { name => 'x' }), 404, 'not_found',
           '... and its columns');
my ($rest) = $dbh->selectrow_array(
    q{SELECT (SELECT count(*) FROM tasks WHERE project_id = $1)
           + (SELECT count(*) FROM columns WHERE project_id = $1)},
    undef, $mv->{id});
is($rest, 0, '... not a row of either is left');
ok((grep { $_->{action} eq 'deleted' && $_->{entity_type} eq 'project'
           && $_->{entity_id} eq $mv->{id} } @{ activity_since($mark) }),
   '... an audit row says it was deleted');
$mark = last_activity_id();
rejected($ws->api($at, DELETE => "/api/v1/projects/$mv->{id}"),
         $mark, 404, 'not_found', 'delete it again');
ok(!grep({ $_ eq $mv->{id} }
         @{ ids($ws->api($at, GET => '/api/v1/projects')->{json}{items}) }),
   'the list has it no more');

Kanban::Test->done_testing;
