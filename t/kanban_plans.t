#!/usr/bin/perl

# Planning around the board: comments, dependencies (cycles of any length),
# milestones, sprints and the backlog; the timeline (Gantt data with each
# task's progress); the portfolio overview with its rule-based risk flags,
# each built to fire and built not to; ranked full-text search with
# highlights, SQL-looking queries taken as text.  Who may do what, the
# audit row of every write and of no rejected one.  Events are in
# t/events.t.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(made problem_is error_for);
use Kanban::Audit qw(last_activity_id rejected audited);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'plans');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
Kanban::Audit::watch($dbh);
my $nobody = '00000000-0000-4000-8000-000000000000';

# the body of a write that must succeed, or the file stops here
sub uri_escape {
    my ($s) = @_;
    utf8::encode($s);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub ids { [ map { $_->{id} } @{ $_[0] // [] } ] }

# a date relative to the database's today, as the API writes dates
sub day {
    my ($offset, $db) = @_;
    my ($d) = ($db // $dbh)->selectrow_array(
        q{SELECT to_char(current_date + ?::int, 'YYYY-MM-DD')}, undef,
        $offset);
    return $d;
}

# --- people and projects -------------------------------------------------------

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

sub project {
    my ($token, %o) = @_;
    return made($ws->api($token, POST => '/api/v1/projects', json => \%o),
                "project $o{key}");
}

sub columns {
    my ($pid) = @_;
    my $r = $ws->api($at, GET => "/api/v1/projects/$pid/columns");
    return { map { $_->{category} => $_ } @{ $r->{json}{items} // [] } };
}

sub task {
    my ($pid, $title, %o) = @_;
    return made($ws->api(delete $o{token} // $at,
                         POST => "/api/v1/projects/$pid/tasks",
                         json => { title => $title, %o }), "task $title");
}

my $plan = project($pt, key => 'PLAN', name => 'Release planning',
                   team_id => $red->{id});
my $blues = project($pet, key => 'BLUES', name => 'Blue things',
                    team_id => $blue->{id});
my $loose = project($at, key => 'LOOSE', name => 'No team');
my %pcol = %{ columns($plan->{id}) };

my %tk = map { $_ => task($plan->{id}, "Task $_") } qw(A B C D E);
my $carls = task($plan->{id}, 'Carl reports this', token => $ct);
my $assigned = task($plan->{id}, 'Carl is on this',
                    assignee_ids => [ $carl->{id} ]);
my $foreign = task($blues->{id}, 'A blue task');

my ($r, $mark);

# --- comments -------------------------------------------------------------------

$mark = last_activity_id();
$r = $ws->api($ct, POST => "/api/v1/tasks/$tk{A}{id}/comments",
              json => { body => 'First: the build is red' });
is($r->{status}, 201, "a contributor comments on a task not theirs: 201");
my $c1 = $r->{json};
like($c1->{id} // '', qr/^[0-9a-f]{8}-[0-9a-f]{4}-/, '... with a UUID');
is($r->{headers}{location}, "/api/v1/comments/$c1->{id}", '... Location');
is($c1->{body}, 'First: the build is red', '... the body');
is($c1->{author_id}, $carl->{id}, '... the caller is its author');
is($c1->{task_id}, $tk{A}{id}, '... on that task');
audited($mark, 'created', 'comment', $c1->{id}, $carl->{id}, 'comment');

my $c2 = made($ws->api($cot, POST => "/api/v1/tasks/$tk{A}{id}/comments",
                       json => { body => "Second: «ça marche» ✓" }),
              'comment 2');
my $c3 = made($ws->api($at, POST => "/api/v1/tasks/$tk{A}{id}/comments",
                       json => { body => 'Third' }), 'comment 3');
my $long = made($ws->api($pt, POST => "/api/v1/tasks/$tk{B}{id}/comments",
                         json => { body => 'x' x 20000 }), 'a long comment');
is(length($long->{body}), 20000, 'a comment of 20000 characters: 201');
$r = $ws->api($pt, POST => "/api/v1/tasks/$tk{B}{id}/comments",
              json => { body => 'é' x 20000 });
is($r->{status}, 201, '... of 20000 two-byte characters: 201 (characters, '
                      . 'not bytes)');
is(length($r->{json}{body} // ''), 20000, '... all of them kept');

$r = $ws->api($cot, GET => "/api/v1/tasks/$tk{A}{id}/comments");
is($r->{status}, 200, "list a task's comments: 200");
is_deeply(ids($r->{json}{items}), [ $c1->{id}, $c2->{id}, $c3->{id} ],
          '... oldest first');
is_deeply([ map { $_->{author_name} } @{ $r->{json}{items} } ],
          [ 'Carl', 'Cora', 'Ada Admin' ], "... with their authors' names");
is($r->{json}{items}[1]{body}, "Second: «ça marche» ✓",
   '... the text as written, UTF-8 and all');
is_deeply(ids($ws->api($at, GET => "/api/v1/tasks/$tk{C}{id}/comments")
              ->{json}{items}), [], 'a task without comments: an empty list');

$mark = last_activity_id();
my %bad_comment = (
    'an empty body'              => { body => '' },
    'a body of 20001 characters' => { body => 'x' x 20001 },
    'a body of 20001 two-byte characters' => { body => 'é' x 20001 },
    'no body'                    => {},
    'a body that is a number'    => { body => 42 },
    'an unknown field'           => { body => 'hi', mood => 'happy' },
);
for my $what (sort keys %bad_comment) {
    $mark = last_activity_id();
    rejected($ws->api($at, POST => "/api/v1/tasks/$tk{A}{id}/comments",
                      json => $bad_comment{$what}),
             $mark, 422, 'validation_failed', "a comment with $what");
}
rejected($ws->api($at, POST => "/api/v1/tasks/$nobody/comments",
                  json => { body => 'hello?' }),
         $mark, 404, 'not_found', 'a comment on an unknown task');
rejected($ws->api(undef, POST => "/api/v1/tasks/$tk{A}{id}/comments",
                  json => { body => 'anonymous' }),
         $mark, 401, 'unauthorized', 'a comment without a token');
problem_is($ws->api($at, GET => "/api/v1/tasks/$nobody/comments"), 404,
           'not_found', 'the comments of an unknown task');
is(scalar @{ $ws->api($at, GET => "/api/v1/tasks/$tk{A}{id}/comments")
             ->{json}{items} }, 3, '... the task still has three comments');

# change and remove: the author or an admin
$mark = last_activity_id();
$r = $ws->api($ct, PATCH => "/api/v1/comments/$c1->{id}",
              json => { body => 'First: the build is green again' });
is($r->{status}, 200, 'the author edits their comment: 200');
is($r->{json}{body}, 'First: the build is green again', '... the new text');
audited($mark, 'updated', 'comment', $c1->{id}, $carl->{id},
        'edit a comment');

$mark = last_activity_id();
rejected($ws->api($cot, PATCH => "/api/v1/comments/$c1->{id}",
                  json => { body => 'Cora was here' }),
         $mark, 403, 'forbidden', "a contributor editing another's comment");
rejected($ws->api($pt, PATCH => "/api/v1/comments/$c1->{id}",
                  json => { body => 'Pam was here' }),
         $mark, 403, 'forbidden', "a manager editing another's comment");
rejected($ws->api($ct, PATCH => "/api/v1/comments/$c1->{id}",
                  json => { body => '' }),
         $mark, 422, 'validation_failed', 'the author emptying a comment');
rejected($ws->api($at, PATCH => "/api/v1/comments/$nobody",
                  json => { body => 'x' }),
         $mark, 404, 'not_found', 'edit an unknown comment');
rejected($ws->api(undef, PATCH => "/api/v1/comments/$c1->{id}",
                  json => { body => 'x' }),
         $mark, 401, 'unauthorized', 'edit a comment without a token');
rejected($ws->api($cot, DELETE => "/api/v1/comments/$c1->{id}"),
         $mark, 403, 'forbidden', "a contributor deleting another's comment");
rejected($ws->api($pt, DELETE => "/api/v1/comments/$c2->{id}"),
         $mark, 403, 'forbidden', "a manager deleting another's comment");
rejected($ws->api($at, DELETE => "/api/v1/comments/$nobody"),
         $mark, 404, 'not_found', 'delete an unknown comment');
is($ws->api($at, GET => "/api/v1/tasks/$tk{A}{id}/comments")
       ->{json}{items}[0]{body},
   'First: the build is green again', '... the comment is as its author left it');

$mark = last_activity_id();
$r = $ws->api($at, PATCH => "/api/v1/comments/$c2->{id}",
              json => { body => 'Moderated' });
is($r->{status}, 200, "an admin edits another's comment: 200");
is($r->{json}{body}, 'Moderated', '... the new text');
audited($mark, 'updated', 'comment', $c2->{id}, $admin_id,
        "admin's edit");

$mark = last_activity_id();
is($ws->api($ct, DELETE => "/api/v1/comments/$c1->{id}")->{status}, 204,
   'the author deletes their comment: 204');
audited($mark, 'deleted', 'comment', $c1->{id}, $carl->{id},
        'delete a comment');
$mark = last_activity_id();
is($ws->api($at, DELETE => "/api/v1/comments/$c2->{id}")->{status}, 204,
   "an admin deletes another's comment: 204");
audited($mark, 'deleted', 'comment', $c2->{id}, $admin_id,
        "admin's delete");
is_deeply(ids($ws->api($at, GET => "/api/v1/tasks/$tk{A}{id}/comments")
              ->{json}{items}), [ $c3->{id} ], '... one comment is left');
$mark = last_activity_id();
rejected($ws->api($ct, DELETE => "/api/v1/comments/$c1->{id}"),
         $mark, 404, 'not_found', 'delete a deleted comment');
rejected($ws->api($ct, PATCH => "/api/v1/comments/$c1->{id}",
                  json => { body => 'back?' }),
         $mark, 404, 'not_found', 'edit a deleted comment');

# --- dependencies ---------------------------------------------------------------

sub depend {
    my ($token, $task, $on) = @_;
    return $ws->api($token, POST => "/api/v1/tasks/$task->{id}/dependencies",
                    json => { depends_on_id => ref $on ? $on->{id} : $on });
}

sub deps_of {
    my ($pid) = @_;
    my $r = $ws->api($at, GET => "/api/v1/projects/$pid/timeline");
    return { map { $_->{id} => [ sort @{ $_->{dependencies} // [] } ] }
             @{ $r->{json}{tasks} // [] } };
}

$mark = last_activity_id();
$r = depend($pt, $tk{A}, $tk{B});
is($r->{status}, 201, 'A depends on B: 201');
audited($mark, 'dependency_added', 'task', $tk{A}{id}, $pam->{id},
        'add a dependency');
is(depend($pt, $tk{A}, $tk{B})->{status}, 201, '... again: 201 (idempotent)');
is_deeply(deps_of($plan->{id})->{ $tk{A}{id} }, [ $tk{B}{id} ],
          '... A depends on B once');
is(depend($at, $tk{B}, $tk{C})->{status}, 201, 'B depends on C');
is(depend($at, $tk{C}, $tk{D})->{status}, 201, 'C depends on D');

$mark = last_activity_id();
rejected(depend($at, $tk{A}, $tk{A}), $mark, 422, 'dependency_cycle',
         'A depends on itself');
rejected(depend($at, $tk{B}, $tk{A}), $mark, 422, 'dependency_cycle',
         'B on A closes a cycle of two');
rejected(depend($at, $tk{C}, $tk{A}), $mark, 422, 'dependency_cycle',
         'C on A closes a cycle of three');
rejected(depend($at, $tk{D}, $tk{A}), $mark, 422, 'dependency_cycle',
         'D on A closes a cycle of four');
rejected(depend($at, $tk{D}, $tk{B}), $mark, 422, 'dependency_cycle',
         'D on B closes a cycle of three further down');
rejected(depend($at, $tk{A}, $foreign), $mark, 422, 'validation_failed',
         'a dependency on a task of another project');
rejected(depend($at, $tk{A}, $nobody), $mark, 422, 'validation_failed',
         'a dependency on an unknown task');
rejected(depend($at, $tk{A}, 'not-a-uuid'), $mark, 422, 'validation_failed',
         'a dependency on something that is no id');
rejected($ws->api($at, POST => "/api/v1/tasks/$tk{A}{id}/dependencies",
                  json => {}),
         $mark, 422, 'validation_failed', 'a dependency without depends_on_id');
rejected(depend($at, { id => $nobody }, $tk{A}), $mark, 404, 'not_found',
         'a dependency of an unknown task');
rejected(depend($ct, $tk{E}, $tk{D}), $mark, 403, 'forbidden',
         "a contributor adding a dependency to a task not theirs");
rejected(depend(undef, $tk{E}, $tk{D}), $mark, 401, 'unauthorized',
         'a dependency without a token');
is_deeply(deps_of($plan->{id}),
          { $tk{A}{id} => [ $tk{B}{id} ], $tk{B}{id} => [ $tk{C}{id} ],
            $tk{C}{id} => [ $tk{D}{id} ],
            map { $_->{id} => [] } $tk{D}, $tk{E}, $carls, $assigned },
          '... the chain A -> B -> C -> D is all there is');

is(depend($at, $tk{A}, $tk{D})->{status}, 201,
   'A on D as well (a shortcut, no cycle): 201');
is(depend($at, $tk{E}, $tk{A})->{status}, 201, 'E on A: 201');
is(depend($ct, $carls, $tk{D})->{status}, 201,
   'a contributor on a task they reported: 201');
is(depend($ct, $assigned, $tk{D})->{status}, 201,
   'a contributor on a task assigned to them: 201');

# removal
$mark = last_activity_id();
rejected($ws->api($ct,
                  DELETE => "/api/v1/tasks/$tk{B}{id}/dependencies/$tk{C}{id}"),
         $mark, 403, 'forbidden', "a contributor removing another's dependency");
rejected($ws->api($at,
                  DELETE => "/api/v1/tasks/$tk{B}{id}/dependencies/$tk{D}{id}"),
         $mark, 404, 'not_found', 'remove a dependency that is not there');
rejected($ws->api($at,
                  DELETE => "/api/v1/tasks/$tk{B}{id}/dependencies/$nobody"),
         $mark, 404, 'not_found', 'remove a dependency on an unknown task');
rejected($ws->api($at,
                  DELETE => "/api/v1/tasks/$nobody/dependencies/$tk{B}{id}"),
         $mark, 404, 'not_found', 'remove a dependency of an unknown task');
rejected($ws->api(undef,
                  DELETE => "/api/v1/tasks/$tk{B}{id}/dependencies/$tk{C}{id}"),
         $mark, 401, 'unauthorized', 'remove a dependency without a token');

$r = $ws->api($pt,
              DELETE => "/api/v1/tasks/$tk{B}{id}/dependencies/$tk{C}{id}");
is($r->{status}, 204, 'remove B on C: 204');
audited($mark, 'dependency_removed', 'task', $tk{B}{id}, $pam->{id},
        'remove a dependency');
is_deeply(deps_of($plan->{id})->{ $tk{B}{id} }, [], '... B depends on nothing');
$mark = last_activity_id();
rejected($ws->api($pt,
                  DELETE => "/api/v1/tasks/$tk{B}{id}/dependencies/$tk{C}{id}"),
         $mark, 404, 'not_found', '... removing it again');
is(depend($at, $tk{C}, $tk{B})->{status}, 201,
   '... and C on B, a cycle before, is allowed now');
$mark = last_activity_id();
rejected(depend($at, $tk{B}, $tk{E}), $mark, 422, 'dependency_cycle',
         'B on E closes B <- C <- A <- E');

# --- milestones -----------------------------------------------------------------

sub milestone_names {
    my ($pid) = @_;
    my $r = $ws->api($ct, GET => "/api/v1/projects/$pid/milestones");
    return [ map { $_->{name} } @{ $r->{json}{items} // [] } ];
}

$mark = last_activity_id();
$r = $ws->api($pt, POST => "/api/v1/projects/$plan->{id}/milestones",
              json => { name => 'Beta', due_date => '2026-09-30' });
is($r->{status}, 201, "a manager adds a milestone to their team's project");
my $beta = $r->{json};
is($r->{headers}{location}, "/api/v1/milestones/$beta->{id}", '... Location');
is($beta->{name}, 'Beta', '... name');
is($beta->{due_date}, '2026-09-30', '... due date');
is($beta->{status}, 'upcoming', '... upcoming by default');
is($beta->{project_id}, $plan->{id}, '... of the project');
is($beta->{version}, 1, '... version 1');
audited($mark, 'created', 'milestone', $beta->{id}, $pam->{id},
        'add a milestone');

$r = $ws->api($at, POST => "/api/v1/projects/$plan->{id}/milestones", json => {
    name => 'Alpha', due_date => '2026-06-30', status => 'achieved',
    description => 'internal users only' });
is($r->{status}, 201, 'an admin adds an achieved milestone');
my $alpha = $r->{json};
is($alpha->{status}, 'achieved', '... achieved');
is($alpha->{description}, 'internal users only', '... its description');
is($ws->api($pet, POST => "/api/v1/projects/$loose->{id}/milestones",
            json => { name => 'Loose end', due_date => '2026-12-01' })
       ->{status}, 201, 'any manager adds one to a project without a team');

$mark = last_activity_id();
my %bad_milestone = (
    'no name'           => { due_date => '2026-10-01' },
    'an empty name'     => { name => '', due_date => '2026-10-01' },
    'no due date'       => { name => 'GA' },
    'a date that is no date' => { name => 'GA', due_date => '2026-02-30' },
    'an unknown status' => { name => 'GA', due_date => '2026-10-01',
                             status => 'done' },
    'an unknown field'  => { name => 'GA', due_date => '2026-10-01',
                             owner => 'me' },
);
for my $what (sort keys %bad_milestone) {
    $mark = last_activity_id();
    rejected($ws->api($at, POST => "/api/v1/projects/$plan->{id}/milestones",
                      json => $bad_milestone{$what}),
             $mark, 422, 'validation_failed', "a milestone with $what");
}
# API.md: dates are YYYY-MM-DD; 01/10/2026 is January or October
$mark = last_activity_id();
rejected($ws->api($at, POST => "/api/v1/projects/$loose->{id}/milestones",
                  json => { name => 'GA', due_date => '01/10/2026' }),
         $mark, 422, 'validation_failed', 'a milestone dated 01/10/2026');
$mark = last_activity_id();
my $ga = { name => 'GA', due_date => '2026-10-01' };
rejected($ws->api($pet, POST => "/api/v1/projects/$plan->{id}/milestones",
                  json => $ga),
         $mark, 403, 'forbidden', "another team's manager adding a milestone");
rejected($ws->api($ct, POST => "/api/v1/projects/$plan->{id}/milestones",
                  json => $ga),
         $mark, 403, 'forbidden', 'a contributor adding a milestone');
rejected($ws->api(undef, POST => "/api/v1/projects/$plan->{id}/milestones",
                  json => $ga),
         $mark, 401, 'unauthorized', 'a milestone without a token');
rejected($ws->api($at, POST => "/api/v1/projects/$nobody/milestones",
                  json => $ga),
         $mark, 404, 'not_found', 'a milestone of an unknown project');

is_deeply(milestone_names($plan->{id}), [ 'Alpha', 'Beta' ],
          'a contributor lists the milestones, by due date');
problem_is($ws->api($at, GET => "/api/v1/projects/$nobody/milestones"), 404,
           'not_found', 'the milestones of an unknown project');

# patch with versions
$mark = last_activity_id();
$r = $ws->api($pt, PATCH => "/api/v1/milestones/$beta->{id}",
              json => { due_date => '2026-10-15', version => 1 });
is($r->{status}, 200, 'a manager moves a milestone with the current version');
is($r->{json}{due_date}, '2026-10-15', '... the new due date');
is($r->{json}{name}, 'Beta', '... the rest unchanged');
is($r->{json}{version}, 2, '... version 2');
is($r->{headers}{etag}, '"2"', '... ETag "2"');
audited($mark, 'updated', 'milestone', $beta->{id}, $pam->{id},
        'patch a milestone');

$mark = last_activity_id();
rejected($ws->api($pt, PATCH => "/api/v1/milestones/$beta->{id}",
                  json => { name => 'Beta 1' },
                  headers => { 'If-Match' => '"1"' }),
         $mark, 409, 'version_conflict', 'patch a milestone with a stale If-Match');
rejected($ws->api($pt, PATCH => "/api/v1/milestones/$beta->{id}",
                  json => { name => 'Beta 1', version => 1 }),
         $mark, 409, 'version_conflict', 'patch a milestone with a stale version');
rejected($ws->api($pt, PATCH => "/api/v1/milestones/$beta->{id}",
                  json => { status => 'late' }),
         $mark, 422, 'validation_failed', 'patch a milestone to an unknown status');
rejected($ws->api($pt, PATCH => "/api/v1/milestones/$beta->{id}",
                  json => { due_date => 'soon' }),
         $mark, 422, 'validation_failed', 'patch a milestone to no date');
rejected($ws->api($pet, PATCH => "/api/v1/milestones/$beta->{id}",
                  json => { name => 'Blue beta' }),
         $mark, 403, 'forbidden', "another team's manager patching a milestone");
rejected($ws->api($ct, PATCH => "/api/v1/milestones/$beta->{id}",
                  json => { status => 'achieved' }),
         $mark, 403, 'forbidden', 'a contributor patching a milestone');
rejected($ws->api($at, PATCH => "/api/v1/milestones/$nobody",
                  json => { name => 'x' }),
         $mark, 404, 'not_found', 'patch an unknown milestone');
$r = $ws->api($at, GET => "/api/v1/projects/$plan->{id}/milestones");
my ($beta_now) = grep { $_->{id} eq $beta->{id} } @{ $r->{json}{items} };
is_deeply([ @{ $beta_now // {} }{qw(name status due_date version)} ],
          [ 'Beta', 'upcoming', '2026-10-15', 2 ],
          '... the milestone is as the last good patch left it');

$r = $ws->api($pt, PATCH => "/api/v1/milestones/$beta->{id}",
              json => { status => 'achieved' },
              headers => { 'If-Match' => '"2"' });
is($r->{status}, 200, 'patch with the current If-Match: 200');
is($r->{json}{status}, 'achieved', '... achieved');
is($r->{json}{version}, 3, '... version 3');

# delete
$mark = last_activity_id();
rejected($ws->api($ct, DELETE => "/api/v1/milestones/$alpha->{id}"),
         $mark, 403, 'forbidden', 'a contributor deleting a milestone');
rejected($ws->api($pet, DELETE => "/api/v1/milestones/$alpha->{id}"),
         $mark, 403, 'forbidden', "another team's manager deleting a milestone");
rejected($ws->api($at, DELETE => "/api/v1/milestones/$nobody"),
         $mark, 404, 'not_found', 'delete an unknown milestone');
is($ws->api($pt, DELETE => "/api/v1/milestones/$alpha->{id}")->{status}, 204,
   'a manager deletes a milestone: 204');
audited($mark, 'deleted', 'milestone', $alpha->{id}, $pam->{id},
        'delete a milestone');
is_deeply(milestone_names($plan->{id}), [ 'Beta' ], '... it is gone');
$mark = last_activity_id();
rejected($ws->api($pt, DELETE => "/api/v1/milestones/$alpha->{id}"),
         $mark, 404, 'not_found', 'delete it again');

# --- sprints and the backlog ------------------------------------------------------

$mark = last_activity_id();
$r = $ws->api($pt, POST => "/api/v1/projects/$plan->{id}/sprints", json => {
    name => 'Sprint 1', goal => 'ship the beta',
    start_date => '2026-09-01', end_date => '2026-09-14' });
is($r->{status}, 201, "a manager plans a sprint: 201");
my $s1 = $r->{json};
like($r->{headers}{location} // '', qr{^/api/v1/sprints/\Q$s1->{id}\E$},
     '... Location');
is_deeply([ @$s1{qw(name goal start_date end_date state project_id)} ],
          [ 'Sprint 1', 'ship the beta', '2026-09-01', '2026-09-14',
            'planned', $plan->{id} ], '... as sent, planned by default');
audited($mark, 'created', 'sprint', $s1->{id}, $pam->{id}, 'plan a sprint');

my $s2 = made($ws->api($at, POST => "/api/v1/projects/$plan->{id}/sprints",
                       json => { name => 'Sprint 2', state => 'active',
                                 start_date => '2026-09-15',
                                 end_date => '2026-09-15' }),
              'sprint 2');
is($s2->{state}, 'active', 'a one-day sprint, active');
my $blue_sprint = made($ws->api($pet,
                                POST => "/api/v1/projects/$blues->{id}/sprints",
                                json => { name => 'Blue sprint' }),
                       'blue sprint');
is($blue_sprint->{start_date}, undef, 'a sprint without dates');

$mark = last_activity_id();
my %bad_sprint = (
    'an end before its start' => { name => 'S', start_date => '2026-09-10',
                                   end_date => '2026-09-09' },
    'an unknown state'        => { name => 'S', state => 'running' },
    'no name'                 => { goal => 'nameless' },
    'a date that is no date'  => { name => 'S', start_date => '2026-09-31' },
    'an unknown field'        => { name => 'S', velocity => 30 },
);
for my $what (sort keys %bad_sprint) {
    $mark = last_activity_id();
    rejected($ws->api($at, POST => "/api/v1/projects/$plan->{id}/sprints",
                      json => $bad_sprint{$what}),
             $mark, 422, 'validation_failed', "a sprint with $what");
}
rejected($ws->api($ct, POST => "/api/v1/projects/$plan->{id}/sprints",
                  json => { name => 'Mine' }),
         $mark, 403, 'forbidden', 'a contributor planning a sprint');
rejected($ws->api($pet, POST => "/api/v1/projects/$plan->{id}/sprints",
                  json => { name => 'Mine' }),
         $mark, 403, 'forbidden', "another team's manager planning a sprint");
rejected($ws->api($at, POST => "/api/v1/projects/$nobody/sprints",
                  json => { name => 'Lost' }),
         $mark, 404, 'not_found', 'a sprint of an unknown project');

$mark = last_activity_id();
$r = $ws->api($pt, PATCH => "/api/v1/sprints/$s1->{id}",
              json => { state => 'active', goal => 'ship the beta, really' });
is($r->{status}, 200, 'a manager starts a sprint: 200');
is($r->{json}{state}, 'active', '... active');
is($r->{json}{goal}, 'ship the beta, really', '... the new goal');
is($r->{json}{end_date}, '2026-09-14', '... the rest unchanged');
audited($mark, 'updated', 'sprint', $s1->{id}, $pam->{id}, 'patch a sprint');

$mark = last_activity_id();
rejected($ws->api($pt, PATCH => "/api/v1/sprints/$s1->{id}",
                  json => { end_date => '2026-08-31' }),
         $mark, 422, 'validation_failed', 'patch a sprint to end before it starts');
rejected($ws->api($pt, PATCH => "/api/v1/sprints/$s1->{id}",
                  json => { state => 'paused' }),
         $mark, 422, 'validation_failed', 'patch a sprint to an unknown state');
rejected($ws->api($ct, PATCH => "/api/v1/sprints/$s1->{id}",
                  json => { state => 'closed' }),
         $mark, 403, 'forbidden', 'a contributor closing a sprint');
rejected($ws->api($pet, PATCH => "/api/v1/sprints/$s1->{id}",
                  json => { state => 'closed' }),
         $mark, 403, 'forbidden', "another team's manager closing a sprint");
rejected($ws->api($at, PATCH => "/api/v1/sprints/$nobody",
                  json => { state => 'closed' }),
         $mark, 404, 'not_found', 'patch an unknown sprint');

# tasks in sprints and milestones
$mark = last_activity_id();
$r = $ws->api($ct, POST => "/api/v1/projects/$plan->{id}/tasks", json => {
    title => 'Sprinting', sprint_id => $s1->{id},
    milestone_id => $beta->{id} });
is($r->{status}, 201, 'a task created in a sprint and for a milestone');
my $sprinting = $r->{json};
is($sprinting->{sprint_id}, $s1->{id}, '... its sprint');
is($sprinting->{milestone_id}, $beta->{id}, '... its milestone');
$r = $ws->api($at, PATCH => "/api/v1/tasks/$tk{A}{id}",
              json => { sprint_id => $s1->{id} });
is($r->{status}, 200, 'a task patched into a sprint');
is($r->{json}{sprint_id}, $s1->{id}, '... its sprint');
$r = $ws->api($at, PATCH => "/api/v1/tasks/$tk{B}{id}",
              json => { sprint_id => $s2->{id}, milestone_id => $beta->{id} });
is($r->{json}{sprint_id}, $s2->{id}, 'another into the second sprint');
is($r->{json}{milestone_id}, $beta->{id}, '... and for the milestone');

$mark = last_activity_id();
rejected($ws->api($at, POST => "/api/v1/projects/$plan->{id}/tasks",
                  json => { title => 'x', sprint_id => $blue_sprint->{id} }),
         $mark, 422, 'validation_failed', "a task in another project's sprint");
rejected($ws->api($at, POST => "/api/v1/projects/$plan->{id}/tasks",
                  json => { title => 'x', sprint_id => $nobody }),
         $mark, 422, 'validation_failed', 'a task in an unknown sprint');
rejected($ws->api($at, POST => "/api/v1/projects/$blues->{id}/tasks",
                  json => { title => 'x', milestone_id => $beta->{id} }),
         $mark, 422, 'validation_failed', "a task for another project's milestone");
rejected($ws->api($at, PATCH => "/api/v1/tasks/$tk{C}{id}",
                  json => { sprint_id => $blue_sprint->{id} }),
         $mark, 422, 'validation_failed', "a task patched into another project's sprint");
rejected($ws->api($at, PATCH => "/api/v1/tasks/$foreign->{id}",
                  json => { milestone_id => $beta->{id} }),
         $mark, 422, 'validation_failed',
         "a task patched for another project's milestone");
is($ws->api($at, GET => "/api/v1/tasks/$tk{C}{id}")->{json}{sprint_id}, undef,
   '... the task is still in the backlog');

my $plan_tasks = 8;     # A..E, two of Carl's, Sprinting
$r = $ws->api($ct, GET => "/api/v1/projects/$plan->{id}/sprints");
is($r->{status}, 200, "a contributor lists a project's sprints");
my %sprint = map { $_->{id} => $_ } @{ $r->{json}{items} // [] };
is_deeply([ sort keys %sprint ], [ sort $s1->{id}, $s2->{id} ],
          "... the project's two sprints");
is($sprint{ $s1->{id} }{task_count}, 2, '... two tasks in the first');
is($sprint{ $s2->{id} }{task_count}, 1, '... one in the second');
is($r->{json}{backlog_count}, $plan_tasks - 3,
   '... the backlog is every task without a sprint');

$r = $ws->api($at, PATCH => "/api/v1/tasks/$tk{A}{id}",
              json => { sprint_id => undef });
is($r->{status}, 200, 'a task patched out of its sprint (null)');
is($r->{json}{sprint_id}, undef, '... no sprint');
$r = $ws->api($at, GET => "/api/v1/projects/$plan->{id}/sprints");
is($r->{json}{backlog_count}, $plan_tasks - 2, '... it is back in the backlog');
is_deeply([ map { $_->{task_count} }
            sort { $a->{name} cmp $b->{name} } @{ $r->{json}{items} } ],
          [ 1, 1 ], '... and no longer counted in the sprint');
problem_is($ws->api($at, GET => "/api/v1/projects/$nobody/sprints"), 404,
           'not_found', 'the sprints of an unknown project');

# --- timeline -------------------------------------------------------------------

{
    my $tl = project($at, key => 'GANTT', name => 'Timeline',
                     start_date => '2026-03-02', due_date => '2026-05-29');
    my %col = %{ columns($tl->{id}) };
    my $m = made($ws->api($at, POST => "/api/v1/projects/$tl->{id}/milestones",
                          json => { name => 'Launch',
                                    due_date => '2026-05-15' }),
                 'milestone Launch');
    my %x;
    for my $cat (qw(backlog todo in_progress review done)) {
        $x{$cat} = task($tl->{id}, "In $cat", column_id => $col{$cat}{id});
    }
    my $parent = task($tl->{id}, 'Epic', column_id => $col{in_progress}{id},
                      start_date => '2026-03-02', due_date => '2026-04-30',
                      milestone_id => $m->{id}, blocked => JSON::XS::true,
                      assignee_ids => [ $carl->{id}, $cora->{id} ]);
    my @sub = map {
        task($tl->{id}, "Part $_", parent_id => $parent->{id},
             column_id => $col{ $_ == 1 ? 'done' : 'todo' }{id})
    } 1 .. 4;
    made(depend($at, $x{review}, $x{in_progress}), 'dependency');
    made(depend($at, $x{review}, $x{todo}), 'dependency');

    $r = $ws->api($cot, GET => "/api/v1/projects/$tl->{id}/timeline");
    is($r->{status}, 200, 'a contributor reads the timeline: 200');
    my $j = $r->{json};
    is($j->{project}{id}, $tl->{id}, '... of the project');
    is($j->{project}{due_date}, '2026-05-29', '... with its dates');
    my %row = map { $_->{id} => $_ } @{ $j->{tasks} // [] };
    is(scalar keys %row, 10, '... every task of it, subtasks too');
    is_deeply({ map { $_ => $row{ $x{$_}{id} }{progress} } keys %x },
              { backlog => 0, todo => 0, in_progress => 50, review => 75,
                done => 100 },
              "... a task's progress follows its column");
    is($row{ $parent->{id} }{progress}, 25,
       "... a parent's is its subtasks' done share (1 of 4), not its column");
    my $e = $row{ $parent->{id} } // {};
    is_deeply([ @$e{qw(key title start_date due_date category milestone_id)} ],
              [ $parent->{key}, 'Epic', '2026-03-02', '2026-04-30',
                'in_progress', $m->{id} ],
              '... key, title, dates, category and milestone');
    ok($e->{blocked} && !$row{ $x{todo}{id} }{blocked}, '... blocked or not');
    is_deeply([ sort @{ $e->{assignee_ids} // [] } ],
              [ sort $carl->{id}, $cora->{id} ], '... assignees');
    is_deeply([ map { $row{ $_->{id} }{parent_id} } @sub ],
              [ ($parent->{id}) x 4 ], '... subtasks name their parent');
    is($e->{parent_id}, undef, '... the parent has none');
    is_deeply([ sort @{ $row{ $x{review}{id} }{dependencies} // [] } ],
              [ sort $x{in_progress}{id}, $x{todo}{id} ],
              '... dependencies by id');
    is_deeply($row{ $x{todo}{id} }{dependencies}, [], '... or none');
    is_deeply(ids($j->{milestones}), [ $m->{id} ], '... and the milestones');

    # a subtask finished moves its parent
    made($ws->api($at, PATCH => "/api/v1/tasks/$sub[1]{id}/move",
                  json => { column_id => $col{done}{id} }), 'move');
    $r = $ws->api($at, GET => "/api/v1/projects/$tl->{id}/timeline");
    my ($p2) = grep { $_->{id} eq $parent->{id} } @{ $r->{json}{tasks} };
    is($p2->{progress}, 50, '... two subtasks of four done: 50');

    problem_is($ws->api($at, GET => "/api/v1/projects/$nobody/timeline"), 404,
               'not_found', 'the timeline of an unknown project');
    problem_is($ws->api(undef, GET => "/api/v1/projects/$tl->{id}/timeline"),
               401, 'unauthorized', 'the timeline without a token');
}

# --- search ---------------------------------------------------------------------

{
    my $sp = project($at, key => 'FISH', name => 'Zebrafish lab',
                     description => 'where the fish live');
    my $twice = task($sp->{id}, 'zebrafish zebrafish tank');
    my $both = task($sp->{id}, 'Zebrafish feeding',
                    description => 'feed the zebrafish daily');
    my $once = task($sp->{id}, 'Aquarium upkeep',
                    description => 'check on the zebrafish');
    my $none = task($sp->{id}, 'Goldfish', description => 'not that one');
    my $cm = made($ws->api($cot, POST => "/api/v1/tasks/$none->{id}/comments",
                           json => { body => 'the zebrafish look hungry' }),
                  'comment');

    sub search {
        my ($q, $token, %o) = @_;
        return $ws->api($token // $at,
                        GET => '/api/v1/search'
                               . (defined $q ? '?q=' . uri_escape($q) : ''),
                        %o);
    }

    $r = search('zebrafish', $cot);
    is($r->{status}, 200, 'a contributor searches: 200');
    my @items = @{ $r->{json}{items} // [] };
    my %hit = map { ("$_->{type} $_->{id}" => $_) } @items;
    is_deeply([ sort keys %hit ],
              [ sort "comment $cm->{id}", "project $sp->{id}",
                     map { "task $_->{id}" } $twice, $both, $once ],
              '... the tasks, the project and the comment with the word');
    my $pos = sub {
        my ($id) = @_;
        my ($i) = grep { $items[$_]{id} eq $id } 0 .. $#items;
        return $i // 99;
    };
    my $rank = sub { $hit{"task $_[0]"}{rank} // 0 };
    ok($rank->($twice->{id}) > $rank->($once->{id}),
       '... twice in the title ranks above once in the description')
        or diag explain \@items;
    ok($rank->($both->{id}) > $rank->($once->{id}),
       '... title and description rank above the description alone');
    ok($pos->($twice->{id}) < $pos->($once->{id})
       && $pos->($both->{id}) < $pos->($once->{id}),
       '... and are listed before it');
    my @ranks = map { $_->{rank} } @items;
    is_deeply(\@ranks, [ sort { $b <=> $a } @ranks ], '... best rank first');
    is($hit{"comment $cm->{id}"}{project_id}, $sp->{id},
       "... a comment's project is its task's");
    is($hit{"task $once->{id}"}{project_id}, $sp->{id}, "... a task's project");
    like($hit{"task $once->{id}"}{title} // '', qr/Aquarium upkeep/,
         "... a task's title");
    like($hit{"project $sp->{id}"}{title} // '', qr/Zebrafish lab/,
         "... a project's name as its title");

    my @marked = map { [ $_->{highlight} =~ /«([^»]*)»/g ] } @items;
    ok(!grep({ !@$_ } @marked), '... every highlight marks a match')
        or diag explain \@items;
    ok(!grep({ lc $_ ne 'zebrafish' } map { @$_ } @marked),
       '... only the word is marked') or diag explain \@marked;
    like($hit{"comment $cm->{id}"}{highlight}, qr/the «zebrafish» look hungry/,
         '... in its context');
    like($hit{"project $sp->{id}"}{highlight}, qr/«Zebrafish» lab/,
         '... as it is written');

    is_deeply(search('axolotl')->{json}{items}, [], 'no match: no items');
    is_deeply([ map { $_->{id} } @{ search('goldfish')->{json}{items} } ],
              [ $none->{id} ], 'one match: that task');

    my $before = last_activity_id();
    problem_is(search(undef), 400, 'bad_request', 'search without q');
    problem_is(search(''), 400, 'bad_request', 'search with an empty q');
    problem_is(search('z' x 501), 400, 'bad_request', 'a q of 501 characters');
    is(search('z' x 500)->{status}, 200, 'a q of 500 characters: 200');
    is(search('é' x 500)->{status}, 200,
       'a q of 500 two-byte characters: 200');
    problem_is(search('é' x 501), 400, 'bad_request',
               'a q of 501 two-byte characters');
    problem_is($ws->api(undef, GET => '/api/v1/search?q=zebrafish'), 401,
               'unauthorized', 'search without a token');

    my ($tasks_before) = $dbh->selectrow_array('SELECT count(*) FROM tasks');
    for my $q (q{'; DROP TABLE tasks; --}, '%', '\\', q{"unbalanced},
               q{zebrafish' OR '1'='1}, '!@#$%^&*()', ' & | ! : * ') {
        $r = search($q);
        is($r->{status}, 200, "q=$q: 200");
        is(ref $r->{json}{items}, 'ARRAY', '... a list');
    }
    ok(!grep({ $_->{type} eq 'task' && $_->{id} eq $none->{id} }
             @{ search('%')->{json}{items} }),
       '... % is no wildcard');
    my ($tasks_after) = $dbh->selectrow_array('SELECT count(*) FROM tasks');
    is($tasks_after, $tasks_before, 'the tasks are all still there');
    my ($tables) = $dbh->selectrow_array(
        q{SELECT count(*) FROM pg_tables
           WHERE tablename IN ('tasks', 'projects', 'comments')});
    is($tables, 3, '... and so are the tables');
    is(last_activity_id(), $before, 'searching writes nothing');
}

# --- the portfolio and its risks --------------------------------------------------

{
    # a workspace of its own, so that every project in it is known
    my $rw = $t->workspace(prefix => 'risk');
    my $wdb = $rw->dbh;
    my $wt = $rw->admin->{token};
    my $w = sub { $rw->api($wt, @_) };
    my $d = sub { day($_[0], $wdb) };

    my %p;
    my $proj = sub {
        my ($key, %o) = @_;
        $p{$key} = made($w->(POST => '/api/v1/projects',
                             json => { key => $key, name => "Project $key",
                                       %o }), "project $key");
        return ($p{$key}, {
            map { $_->{category} => $_ }
            @{ $w->(GET => "/api/v1/projects/$p{$key}{id}/columns")
               ->{json}{items} } });
    };
    my $wtask = sub {
        my ($pid, $title, %o) = @_;
        return made($w->(POST => "/api/v1/projects/$pid/tasks",
                         json => { title => $title, %o }), "task $title");
    };
    my $mile = sub {
        my ($pid, $name, $due, $status) = @_;
        return made($w->(POST => "/api/v1/projects/$pid/milestones",
                         json => { name => $name, due_date => $due,
                                   status => $status }), "milestone $name");
    };

    # schedule slippage: 61 % of the time gone, 50 % done is 11 points
    # behind; 60 % gone and 50 % done is only 10
    for (['SLIP', -61, 39, 'active'], ['EDGE', -60, 40, 'active'],
         ['DONE', -61, 39, 'completed'], ['CANC', -61, 39, 'cancelled'],
         ['HOLD', -61, 39, 'on_hold'])
    {
        my ($key, $from, $to, $status) = @$_;
        my ($pr, $col) = $proj->($key, start_date => $d->($from),
                                 due_date => $d->($to), status => $status);
        $wtask->($pr->{id}, 'done', column_id => $col->{done}{id});
        $wtask->($pr->{id}, 'open', column_id => $col->{todo}{id});
    }
    my ($ahead, $acol) = $proj->('AHEAD', start_date => $d->(-10),
                                 due_date => $d->(90), status => 'active');
    $wtask->($ahead->{id}, 'nothing done yet');

    # blocked: three open ones fire; two open and one done do not
    my ($blk, $bcol) = $proj->('BLK', status => 'active');
    $wtask->($blk->{id}, "stuck $_", blocked => JSON::XS::true) for 1 .. 3;
    $wtask->($blk->{id}, 'free');
    $wtask->($blk->{id}, 'late', due_date => $d->(-1));
    $wtask->($blk->{id}, 'late but done', due_date => $d->(-3),
             column_id => $bcol->{done}{id});
    $wtask->($blk->{id}, 'due tomorrow', due_date => $d->(1));
    my ($blk2, $b2col) = $proj->('BLK2');
    $wtask->($blk2->{id}, "stuck $_", blocked => JSON::XS::true) for 1 .. 2;
    $wtask->($blk2->{id}, 'stuck but done', blocked => JSON::XS::true,
             column_id => $b2col->{done}{id});

    # milestones: an upcoming one past its date fires; achieved or still
    # ahead does not
    my ($late) = $proj->('LATE');
    my $overdue = $mile->($late->{id}, 'Missed the date', $d->(-2), 'upcoming');
    my ($ontime) = $proj->('ONTIME');
    my $achieved = $mile->($ontime->{id}, 'Made it', $d->(-2), 'achieved');
    my $soon = $mile->($ontime->{id}, 'Soon', $d->(10), 'upcoming');
    my $later = $mile->($ontime->{id}, 'Later', $d->(40), 'upcoming');
    my $early = $mile->($ontime->{id}, 'Early', $d->(5), 'achieved');
    my $missed = $mile->($ontime->{id}, 'Gave up', $d->(-5), 'missed');
    my $long_ago = $mile->($ontime->{id}, 'Long ago', $d->(-200), 'achieved');

    # velocity: tasks done in each of the last three full weeks, set in
    # the database; those done this week do not count
    my $weeks = sub {
        my ($key, @per_week) = @_;          # 3 weeks ago, 2, last week, now
        my ($pr, $col) = $proj->($key, status => 'active');
        my $w_ago = 3;
        for my $n (@per_week) {
            for (1 .. $n) {
                my $tk = $wtask->($pr->{id}, "done $w_ago weeks ago",
                                  column_id => $col->{done}{id});
                $wdb->do(q{UPDATE tasks SET completed_at
                             = date_trunc('week', now())
                               - make_interval(weeks => ?)
                               + interval '2 days 12 hours'
                            WHERE id = ?}, undef, $w_ago, $tk->{id})
                    if $w_ago > 0;
            }
            $w_ago--;
        }
    };
    $weeks->('VEL', 3, 2, 1, 5);
    $weeks->('FLAT', 3, 2, 2, 0);
    $weeks->('RISE', 1, 2, 3, 0);
    $weeks->('DIP', 3, 1, 2, 0);

    $r = $w->(GET => '/api/v1/portfolio/overview');
    is($r->{status}, 200, 'the portfolio overview: 200');
    my $o = $r->{json} // {};
    my %row = map { $_->{key} => $_ } @{ $o->{projects} // [] };
    is_deeply([ sort keys %row ], [ sort keys %p ], '... every project');

    my %flags = map {
        my $k = $_;
        $k => [ sort map { $_->{rule} } @{ $row{$k}{risk_flags} // [] } ]
    } keys %row;
    is_deeply(\%flags, {
        SLIP => [ 'schedule_slippage' ], EDGE => [], DONE => [], CANC => [],
        HOLD => [ 'schedule_slippage' ], AHEAD => [],
        BLK => [ 'blocked_tasks' ], BLK2 => [],
        LATE => [ 'overdue_milestones' ], ONTIME => [],
        VEL => [ 'declining_velocity' ], FLAT => [], RISE => [], DIP => [],
    }, '... the risk flags fire exactly where their rules say')
        or diag explain { map { $_ => $row{$_}{risk_flags} } keys %row };
    ok(!grep({ !defined $_->{detail} || !length $_->{detail} }
             map { @{ $_->{risk_flags} // [] } } values %row),
       '... each flag with a detail');

    is($row{SLIP}{progress}, 50, '... a project with one of two tasks done: 50');
    is($row{VEL}{progress}, 100, '... all done: 100');
    is($row{AHEAD}{progress}, 0, '... none done: 0');
    is($row{BLK}{blocked_tasks}, 3, '... blocked tasks: the open ones');
    is($row{BLK2}{blocked_tasks}, 2, '... not those done');
    is($row{BLK}{overdue_tasks}, 1,
       '... overdue tasks: past due and not done');
    is($row{SLIP}{overdue_tasks}, 0, '... none where nothing is due');

    is_deeply($o->{projects_by_status},
              { active => 8, completed => 1, cancelled => 1, on_hold => 1,
                planning => 3 },
              '... projects by status');

    my @upcoming = @{ ids($o->{upcoming_milestones}) };
    is_deeply(\@upcoming, [ $soon->{id} ],
              '... upcoming milestones: upcoming and due within 30 days')
        or diag explain $o->{upcoming_milestones};
    my %recent = map { $_ => 1 } @{ ids($o->{recent_milestones}) };
    ok($recent{ $achieved->{id} }, '... recent milestones: one just achieved');
    ok(!$recent{ $later->{id} } && !$recent{ $soon->{id} },
       '... not those still ahead');
    ok(!$recent{ $long_ago->{id} }, '... nor one long past');

    # the flags follow the data
    made($w->(PATCH => "/api/v1/milestones/$overdue->{id}",
              json => { status => 'achieved' }), 'milestone achieved');
    my ($stuck) = grep { $_->{title} eq 'stuck 1' }
                  @{ $w->(GET => "/api/v1/projects/$blk->{id}/tasks")
                     ->{json}{items} };
    made($w->(PATCH => "/api/v1/tasks/$stuck->{id}",
              json => { blocked => JSON::XS::false }), 'unblock');
    made($w->(PATCH => "/api/v1/projects/$p{SLIP}{id}",
              json => { status => 'completed' }), 'complete');
    $r = $w->(GET => '/api/v1/portfolio/overview');
    %row = map { $_->{key} => $_ } @{ $r->{json}{projects} // [] };
    is_deeply([ map { scalar @{ $row{$_}{risk_flags} // [ 1 ] } }
                qw(LATE BLK SLIP) ], [ 0, 0, 0 ],
              '... and go when the milestone is achieved, a task unblocked, '
              . 'the project completed');
    is($row{BLK}{blocked_tasks}, 2, '... two blocked now');
    is($r->{json}{projects_by_status}{completed}, 2, '... two completed now');

    problem_is($rw->api(undef, GET => '/api/v1/portfolio/overview'),
               401, 'unauthorized', 'the overview without a token');

    # the first workspace's projects are not in this one's, and back
    $r = $ws->api($at, GET => '/api/v1/portfolio/overview');
    is_deeply([ sort map { $_->{key} } @{ $r->{json}{projects} // [] } ],
              [ qw(BLUES FISH GANTT LOOSE PLAN) ],
              "another workspace's overview has only its own projects");
    is_deeply(search('zebrafish', $wt, host => $rw->slug)->{json}{items}, [],
              "... and its search finds nothing of this one's");

    my $amark = last_activity_id();
    my ($c_any) = @{ $ws->api($at, GET => "/api/v1/tasks/$tk{B}{id}/comments")
                     ->{json}{items} };
    for my $probe (
        [ GET => "/api/v1/tasks/$tk{A}{id}/comments" ],
        [ POST => "/api/v1/tasks/$tk{A}{id}/comments", json => { body => 'x' } ],
        [ PATCH => "/api/v1/comments/$c_any->{id}", json => { body => 'x' } ],
        [ DELETE => "/api/v1/comments/$c_any->{id}" ],
        [ POST => "/api/v1/tasks/$tk{E}{id}/dependencies",
          json => { depends_on_id => $tk{D}{id} } ],
        [ DELETE => "/api/v1/tasks/$tk{A}{id}/dependencies/$tk{D}{id}" ],
        [ GET => "/api/v1/projects/$plan->{id}/milestones" ],
        [ POST => "/api/v1/projects/$plan->{id}/milestones",
          json => { name => 'x', due_date => '2026-10-01' } ],
        [ PATCH => "/api/v1/milestones/$beta->{id}", json => { name => 'x' } ],
        [ DELETE => "/api/v1/milestones/$beta->{id}" ],
        [ GET => "/api/v1/projects/$plan->{id}/sprints" ],
        [ POST => "/api/v1/projects/$plan->{id}/sprints",
          json => { name => 'x' } ],
        [ PATCH => "/api/v1/sprints/$s1->{id}", json => { name => 'x' } ],
        [ GET => "/api/v1/projects/$plan->{id}/timeline" ],
    ) {
        my ($method, $path, %o) = @$probe;
        problem_is($w->($method, $path, %o), 404, 'not_found',
                   "another workspace's admin: $method $path is 404");
    }
    is(last_activity_id(), $amark, "... this workspace's audit trail unchanged");
}

Kanban::Test->done_testing;
