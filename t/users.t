#!/usr/bin/perl

# People: users (create, invite, accept, open registration, read, list
# with paging and visibility, patch with versions, disable, GDPR export and
# erasure), teams and their members, skills; the sessions that end when a
# user is disabled or their password or role changes; the audit rows of
# every change and of no rejected one.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(problem_is error_for);

my $t = Kanban::Test->new->run;

my $slug = $t->signup(prefix => 'users');
my $dbh = $t->tenant_dbh($slug);
my $password = 'correct horse battery staple';
my $admin_email = "admin\@$slug.example";
my $nobody = '00000000-0000-4000-8000-000000000000';

sub login {
    my ($email, $pw, $host) = @_;
    return $t->req(POST => '/api/v1/auth/login', host => $host // $slug,
                   json => { email => $email, password => $pw // $password });
}

sub token {
    my $r = login(@_);
    die "login of $_[0]: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r->{json};
}

# api(METHOD, path, token, json => ..., host => ...)
sub api {
    my ($method, $path, $token, %o) = @_;
    return $t->req($method => $path, host => $o{host} // $slug,
                   headers => { $token ? (Authorization => "Bearer $token")
                                       : (),
                                %{ $o{headers} // {} } },
                   map { exists $o{$_} ? ($_ => $o{$_}) : () }
                   qw(json body));
}

sub refresh {
    my ($refresh) = @_;
    return $t->req(POST => '/api/v1/auth/refresh', host => $slug,
                   json => { refresh_token => $refresh });
}

sub last_activity_id {
    my ($id) = $dbh->selectrow_array(
        'SELECT coalesce(max(id), 0) FROM activity_log');
    return $id;
}

# the audit rows written after $mark
sub activity_since {
    my ($mark) = @_;
    return $dbh->selectall_arrayref(
        q{SELECT actor_id, entity_type, entity_id, action,
                 old_values::text AS old_values, new_values::text AS new_values
            FROM activity_log WHERE id > ? ORDER BY id},
        { Slice => {} }, $mark);
}

sub decode { $Kanban::Test::JSON->decode($_[0]) }

# a rejected write: the status and code, and no audit row
sub rejected {
    my ($r, $mark, $status, $code, $name) = @_;
    problem_is($r, $status, $code, $name);
    is(scalar @{ activity_since($mark) }, 0, "$name: no audit row");
}

my $admin = token($admin_email);
my $admin_id = $admin->{user}{id};
my $at = $admin->{access_token};

# --- create -----------------------------------------------------------------

my $mark = last_activity_id();
my $r = api(POST => '/api/v1/users', $at, json => {
    email => "carl\@$slug.example", name => 'Carl Contributor',
    password => 'carl has a long passphrase' });
is($r->{status}, 201, 'create a user: 201');
my $carl = $r->{json};
like($carl->{id} // '', qr/^[0-9a-f]{8}-[0-9a-f]{4}-/, '... with a UUID');
is($r->{headers}{location}, "/api/v1/users/$carl->{id}",
   '... and its Location');
is($carl->{role}, 'contributor', '... a contributor by default');
is($carl->{status}, 'active', '... active, having a password');
is($carl->{version}, 1, '... version 1');
ok(!exists $carl->{invite_token}, '... no invite token');
ok(!grep({ /password|hash/ } keys %$carl), '... no password nor hash shown');

my $rows = activity_since($mark);
is(scalar @$rows, 1, 'create: one audit row');
is($rows->[0]{action}, 'created', '... action created');
is($rows->[0]{entity_type}, 'user', '... of a user');
is($rows->[0]{entity_id}, $carl->{id}, '... that user');
is($rows->[0]{actor_id}, $admin_id, '... by the admin');

is(login("carl\@$slug.example", 'carl has a long passphrase')->{status}, 200,
   'the new user logs in with their password');

$r = api(POST => '/api/v1/users', $at, json => {
    email => "pam\@$slug.example", name => 'Pam Manager',
    role => 'project_manager', password => 'pam has a long passphrase' });
is($r->{status}, 201, 'create a project manager: 201');
is($r->{json}{role}, 'project_manager', '... with that role');
my $pam = $r->{json};

$mark = last_activity_id();
rejected(api(POST => '/api/v1/users', $at, json => {
             email => uc("carl\@$slug.example"), name => 'Carl Again',
             password => 'another long passphrase' }),
         $mark, 409, 'already_exists', 'a duplicate email in another case');

$r = api(POST => '/api/v1/users', $at, json => {
    email => "rex\@$slug.example", name => 'Rex', role => 'superuser',
    password => 'rex has a long passphrase' });
rejected($r, $mark, 422, 'validation_failed', 'an unknown role');
is(error_for($r, 'role')->{code}, 'invalid_value', '... invalid_value on role');

$r = api(POST => '/api/v1/users', $at, json => {
    email => 'not an email', name => 'Rex',
    password => 'rex has a long passphrase' });
rejected($r, $mark, 422, 'validation_failed', 'a bad email');
ok(error_for($r, 'email'), '... the error is on email');

for my $common ('basketball', '1234567890') {
    $r = api(POST => '/api/v1/users', $at, json => {
        email => "rex\@$slug.example", name => 'Rex', password => $common });
    rejected($r, $mark, 422, 'validation_failed', "a common password $common");
    is(error_for($r, 'password')->{code}, 'too_common', '... too_common');
}

$r = api(POST => '/api/v1/users', $at, json => {
    email => "rex\@$slug.example", password => 'rex has a long passphrase' });
rejected($r, $mark, 422, 'validation_failed', 'no name');
is(error_for($r, 'name')->{code}, 'required', '... name is required');

$r = api(POST => '/api/v1/users', $at, json => {
    email => "rex\@$slug.example", name => 'Rex', admin => JSON::XS::true() });
rejected($r, $mark, 422, 'validation_failed', 'an unknown field');

my ($rex) = $dbh->selectrow_array(
    'SELECT count(*) FROM users WHERE email = ?', undef, "rex\@$slug.example");
is($rex, 0, 'none of the rejected users exists');

# --- invitations ------------------------------------------------------------

$mark = last_activity_id();
$r = api(POST => '/api/v1/users', $at, json => {
    email => "ivy\@$slug.example", name => 'Ivy Invited' });
is($r->{status}, 201, 'invite (no password): 201');
my $ivy = $r->{json};
is($ivy->{status}, 'invited', '... the user is invited');
my $invite = $ivy->{invite_token} // '';
cmp_ok(length $invite, '>=', 32, '... with a one-time invite token');
my ($stored) = $dbh->selectrow_array(
    q{SELECT count(*) FROM users
       WHERE invite_hash = ? OR password_hash = ?}, undef, $invite, $invite);
is($stored, 0, '... which the database does not keep as such');

$r = api(GET => "/api/v1/users/$ivy->{id}", $at);
is($r->{json}{status}, 'invited', 'an invited user reads as invited');
ok(!exists $r->{json}{invite_token}, '... without the token');

problem_is(login("ivy\@$slug.example", 'ivy will choose this one'), 401,
           'invalid_credentials', 'an invited user cannot log in yet');

$mark = last_activity_id();
$r = $t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
             json => { invite_token => $invite, password => 'basketball' });
rejected($r, $mark, 422, 'validation_failed',
         'accepting with a common password');

$r = $t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
             json => { invite_token => $invite,
                       password => 'ivy will choose this one' });
is($r->{status}, 200, 'accept the invitation: 200');
is($r->{json}{id}, $ivy->{id}, '... the invited user');
is($r->{json}{status}, 'active', '... now active');
is(login("ivy\@$slug.example", 'ivy will choose this one')->{status}, 200,
   '... who logs in with the chosen password');
$rows = activity_since($mark);
is(join(',', map { $_->{action} } @$rows), 'invite_accepted',
   '... one audit row, invite_accepted');

$r = $t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
             json => { invite_token => $invite,
                       password => 'somebody else now' });
problem_is($r, 404, 'not_found', 'the invite token a second time: 404');
is(login("ivy\@$slug.example", 'somebody else now')->{status}, 401,
   '... and the password was not changed by it');

problem_is($t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
                   json => { invite_token => 'f' x 64,
                             password => 'a long enough one' }),
           404, 'not_found', 'an unknown invite token: 404');

# --- open registration ------------------------------------------------------

$mark = last_activity_id();
rejected($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "otto\@$slug.example", name => 'Otto',
                           password => 'otto likes long ones' }),
         $mark, 403, 'forbidden', 'register when invite only: 403');
is(login("otto\@$slug.example", 'otto likes long ones')->{status}, 401,
   '... and there is no such user');

$dbh->do(q{UPDATE settings SET value = 'true' WHERE key = 'open_registration'});

$r = $t->req(POST => '/api/v1/auth/register', host => $slug,
             json => { email => "otto\@$slug.example", name => 'Otto',
                       password => 'otto likes long ones' });
is($r->{status}, 201, 'register when open: 201');
is($r->{json}{role}, 'contributor', '... as a contributor');
my $otto = $r->{json};
is($r->{headers}{location}, "/api/v1/users/$otto->{id}", '... Location');
is(login("otto\@$slug.example", 'otto likes long ones')->{status}, 200,
   '... who logs in');
$rows = activity_since($mark);
is(scalar @$rows, 1, '... one audit row');
is($rows->[0]{entity_id}, $otto->{id}, '... about the new user');

$mark = last_activity_id();
rejected($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "OTTO\@$slug.example", name => 'Otto 2',
                           password => 'otto likes long ones' }),
         $mark, 409, 'already_exists', 'register a taken email');
rejected($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "olga\@$slug.example", name => 'Olga',
                           password => 'olga likes long ones',
                           role => 'admin' }),
         $mark, 422, 'validation_failed', 'register cannot choose a role');
rejected($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "olga\@$slug.example", name => 'Olga',
                           password => 'basketball' }),
         $mark, 422, 'validation_failed', 'register with a common password');

$dbh->do(q{UPDATE settings SET value = 'false' WHERE key = 'open_registration'});
problem_is($t->req(POST => '/api/v1/auth/register', host => $slug,
                   json => { email => "olga\@$slug.example", name => 'Olga',
                             password => 'olga likes long ones' }),
           403, 'forbidden', 'closed again: 403');

# --- read ---------------------------------------------------------------------

my $carl_s = token("carl\@$slug.example", 'carl has a long passphrase');
my $ct = $carl_s->{access_token};

$r = api(GET => "/api/v1/users/$carl->{id}", $at);
is($r->{status}, 200, 'an admin reads a user');
is($r->{json}{email}, "carl\@$slug.example", '... email');
is($r->{json}{name}, 'Carl Contributor', '... name');

is(api(GET => "/api/v1/users/$carl->{id}", $ct)->{status}, 200,
   'a contributor reads themself');
problem_is(api(GET => "/api/v1/users/$admin_id", $ct), 404, 'not_found',
           "a contributor reading someone else: 404, not 403");
problem_is(api(GET => "/api/v1/users/$nobody", $at), 404, 'not_found',
           'an unknown id: 404');
problem_is(api(GET => '/api/v1/users/not-a-uuid', $at), 404, 'not_found',
           'a non-UUID id: 404');

# --- me, teams and skills -----------------------------------------------------

$mark = last_activity_id();
$r = api(POST => '/api/v1/teams', $at,
         json => { name => 'Red Team', description => 'the red ones' });
is($r->{status}, 201, 'create a team: 201');
my $red = $r->{json};
is($r->{headers}{location}, "/api/v1/teams/$red->{id}", '... Location');
is($red->{name}, 'Red Team', '... name');
is($red->{description}, 'the red ones', '... description');
is_deeply($red->{members}, [], '... no members yet');
is($red->{version}, 1, '... version 1');
$rows = activity_since($mark);
is(scalar @$rows, 1, '... one audit row');
is($rows->[0]{entity_type}, 'team', '... about a team');

$mark = last_activity_id();
rejected(api(POST => '/api/v1/teams', $at, json => { name => 'RED TEAM' }),
         $mark, 409, 'already_exists', 'a duplicate team name in another case');
rejected(api(POST => '/api/v1/teams', $at, json => { description => 'x' }),
         $mark, 422, 'validation_failed', 'a team without a name');

$r = api(POST => '/api/v1/teams', $at, json => { name => 'Blue Team' });
is($r->{status}, 201, 'a second team');
my $blue = $r->{json};
is($blue->{description}, '', '... description defaults to empty');

$r = api(PUT => "/api/v1/teams/$red->{id}/members/$carl->{id}", $at);
is($r->{status}, 204, 'add a member: 204');
is($r->{body}, '', '... no body');
is(api(PUT => "/api/v1/teams/$red->{id}/members/$carl->{id}", $at)->{status},
   204, 'add the same member again: 204');
is(api(PUT => "/api/v1/teams/$red->{id}/members/$pam->{id}", $at)->{status},
   204, 'add the manager');

$r = api(GET => "/api/v1/teams/$red->{id}", $at);
is($r->{status}, 200, 'read a team');
is_deeply([ sort map { $_->{id} } @{ $r->{json}{members} } ],
          [ sort $carl->{id}, $pam->{id} ], '... its members, each once');
is_deeply([ sort map { $_->{name} } @{ $r->{json}{members} } ],
          [ 'Carl Contributor', 'Pam Manager' ], '... with their names');

$mark = last_activity_id();
rejected(api(PUT => "/api/v1/teams/$nobody/members/$carl->{id}", $at),
         $mark, 404, 'not_found', 'add to an unknown team');
rejected(api(PUT => "/api/v1/teams/$red->{id}/members/$nobody", $at),
         $mark, 404, 'not_found', 'add an unknown user');
problem_is(api(PUT => "/api/v1/teams/$red->{id}/members/nope", $at),
           404, 'not_found', 'add a non-UUID user');

$r = api(GET => '/api/v1/teams', $at);
is($r->{status}, 200, 'list teams');
is_deeply([ map { $_->{name} } @{ $r->{json}{items} } ],
          [ 'Blue Team', 'Red Team' ], '... an admin sees all');
ok(exists $r->{json}{next_cursor} && !defined $r->{json}{next_cursor},
   '... next_cursor null');

$r = api(GET => '/api/v1/teams', $ct);
is_deeply([ map { $_->{name} } @{ $r->{json}{items} } ], [ 'Red Team' ],
          "a contributor sees the teams they belong to");
problem_is(api(GET => "/api/v1/teams/$blue->{id}", $ct), 404, 'not_found',
           "... and not another team");
is(api(GET => "/api/v1/teams/$red->{id}", $ct)->{status}, 200,
   '... but their own');

$mark = last_activity_id();
$r = api(PATCH => "/api/v1/teams/$blue->{id}", $at,
         json => { description => 'calm', version => 1 });
is($r->{status}, 200, 'patch a team: 200');
is($r->{json}{description}, 'calm', '... changed');
is($r->{json}{name}, 'Blue Team', '... the rest kept');
is($r->{json}{version}, 2, '... version 2');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');

$mark = last_activity_id();
rejected(api(PATCH => "/api/v1/teams/$blue->{id}", $at,
             json => { description => 'stale', version => 1 }),
         $mark, 409, 'version_conflict', 'patch a team with a stale version');
is(api(GET => "/api/v1/teams/$blue->{id}", $at)->{json}{description}, 'calm',
   '... unchanged');
rejected(api(PATCH => "/api/v1/teams/$blue->{id}", $at,
             json => { name => 'red team' }),
         $mark, 409, 'already_exists', 'rename a team to a taken name');
rejected(api(PATCH => "/api/v1/teams/$nobody", $at, json => { name => 'X' }),
         $mark, 404, 'not_found', 'patch an unknown team');

# skills
$mark = last_activity_id();
$r = api(POST => '/api/v1/skills', $at, json => { name => 'Perl' });
is($r->{status}, 201, 'create a skill: 201');
my $perl = $r->{json};
is($perl->{name}, 'Perl', '... name');
ok($r->{headers}{location}, '... Location');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');
my $c_skill = api(POST => '/api/v1/skills', $at, json => { name => 'C' })->{json};
my $sql_skill = api(POST => '/api/v1/skills', $at, json => { name => 'SQL' })->{json};

$mark = last_activity_id();
rejected(api(POST => '/api/v1/skills', $at, json => { name => 'perl' }),
         $mark, 409, 'already_exists', 'a duplicate skill name');

$r = api(GET => '/api/v1/skills', $ct);
is($r->{status}, 200, 'a contributor lists skills');
is_deeply([ sort map { $_->{name} } @{ $r->{json}{items} } ],
          [ 'C', 'Perl', 'SQL' ], '... all of them');

$mark = last_activity_id();
$r = api(PUT => "/api/v1/users/$carl->{id}/skills", $at, json => [
    { skill_id => $perl->{id}, level => 3 },
    { skill_id => $c_skill->{id}, level => 5 } ]);
is($r->{status}, 200, "set a user's skills: 200");
is_deeply([ sort { $a->{name} cmp $b->{name} } @{ $r->{json} // [] } ],
          [ { skill_id => $c_skill->{id}, name => 'C', level => 5 },
            { skill_id => $perl->{id}, name => 'Perl', level => 3 } ],
          '... the set with names and levels');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');

$r = api(PUT => "/api/v1/users/$carl->{id}/skills", $at, json => [
    { skill_id => $perl->{id}, level => 4 },
    { skill_id => $sql_skill->{id}, level => 1 } ]);
is_deeply([ sort { $a->{name} cmp $b->{name} } @{ $r->{json} // [] } ],
          [ { skill_id => $perl->{id}, name => 'Perl', level => 4 },
            { skill_id => $sql_skill->{id}, name => 'SQL', level => 1 } ],
          'set again: the previous set is replaced');
my ($n) = $dbh->selectrow_array(
    'SELECT count(*) FROM user_skills WHERE user_id = ?', undef, $carl->{id});
is($n, 2, '... two rows in the database');

$mark = last_activity_id();
$r = api(PUT => "/api/v1/users/$carl->{id}/skills", $at, json => [
    { skill_id => $perl->{id}, level => 9 } ]);
rejected($r, $mark, 422, 'validation_failed', 'level 9');
ok(error_for($r, '[0].level'), '... the error is on [0].level');
rejected(api(PUT => "/api/v1/users/$carl->{id}/skills", $at,
             json => { skill_id => $perl->{id}, level => 2 }),
         $mark, 422, 'validation_failed', 'a body that is no array');
rejected(api(PUT => "/api/v1/users/$carl->{id}/skills", $at,
             json => [ { skill_id => $nobody, level => 2 } ]),
         $mark, 422, 'validation_failed', 'an unknown skill');
rejected(api(PUT => "/api/v1/users/$nobody/skills", $at,
             json => [ { skill_id => $perl->{id}, level => 2 } ]),
         $mark, 404, 'not_found', 'skills of an unknown user');
$r = api(GET => '/api/v1/auth/me', $ct);
is_deeply([ sort map { "$_->{name}:$_->{level}" } @{ $r->{json}{skills} } ],
          [ 'Perl:4', 'SQL:1' ], '... the rejected ones changed nothing');

$r = api(PUT => "/api/v1/users/$carl->{id}/skills", $ct, json => [
    { skill_id => $perl->{id}, level => 5 } ]);
is($r->{status}, 200, 'a user sets their own skills');
is_deeply($r->{json}, [ { skill_id => $perl->{id}, name => 'Perl',
                          level => 5 } ], '... replaced');

$r = api(GET => '/api/v1/auth/me', $ct);
is($r->{status}, 200, 'me');
is($r->{json}{id}, $carl->{id}, '... the user');
is_deeply([ map { $_->{name} } @{ $r->{json}{teams} } ], [ 'Red Team' ],
          '... with their teams');
is_deeply([ map { "$_->{name}:$_->{level}" } @{ $r->{json}{skills} } ],
          [ 'Perl:5' ], '... and skills');

$r = api(PUT => "/api/v1/users/$carl->{id}/skills", $ct, json => []);
is($r->{status}, 200, 'an empty set');
is_deeply($r->{json}, [], '... clears the skills');
is_deeply(api(GET => '/api/v1/auth/me', $ct)->{json}{skills}, [],
          '... as me shows');

# member removal and team deletion
$mark = last_activity_id();
is(api(DELETE => "/api/v1/teams/$red->{id}/members/$pam->{id}", $at)
       ->{status}, 204, 'remove a member: 204');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');
$mark = last_activity_id();
rejected(api(DELETE => "/api/v1/teams/$red->{id}/members/$pam->{id}", $at),
         $mark, 404, 'not_found', 'remove them again: 404');
is_deeply([ map { $_->{id} } @{ api(GET => "/api/v1/teams/$red->{id}", $at)
                                    ->{json}{members} } ],
          [ $carl->{id} ], '... the team has the one member left');
is(api(PUT => "/api/v1/teams/$red->{id}/members/$pam->{id}", $at)->{status},
   204, '(the manager back in the team)');

my $green = api(POST => '/api/v1/teams', $at,
                json => { name => 'Green Team' })->{json};
api(PUT => "/api/v1/teams/$green->{id}/members/$carl->{id}", $at);
$mark = last_activity_id();
is(api(DELETE => "/api/v1/teams/$green->{id}", $at)->{status}, 204,
   'delete a team: 204');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');
problem_is(api(GET => "/api/v1/teams/$green->{id}", $at), 404, 'not_found',
           '... it is gone');
is_deeply([ map { $_->{name} } @{ api(GET => '/api/v1/auth/me', $ct)
                                      ->{json}{teams} } ],
          [ 'Red Team' ], "... from its members' teams too");
$mark = last_activity_id();
rejected(api(DELETE => "/api/v1/teams/$green->{id}", $at),
         $mark, 404, 'not_found', 'delete it again: 404');

# --- list: visibility and paging ----------------------------------------------

sub list_ids {
    my ($token, $limit) = @_;
    my (@ids, $cursor, $pages);
    while (1) {
        my $q = "?limit=$limit" . (defined $cursor ? "&cursor=$cursor" : '');
        my $r = api(GET => "/api/v1/users$q", $token);
        return "$r->{status} $r->{body}" unless $r->{status} == 200;
        return "more than $limit items" if @{ $r->{json}{items} } > $limit;
        push @ids, map { $_->{id} } @{ $r->{json}{items} };
        $cursor = $r->{json}{next_cursor};
        last unless defined $cursor;
        return 'no end' if ++$pages > 50;
    }
    return \@ids;
}

my $all = $dbh->selectcol_arrayref(
    q{SELECT id FROM users WHERE status <> 'erased' ORDER BY id});
is(scalar @$all, 5, 'the workspace has five people now');

$r = api(GET => '/api/v1/users', $at);
is($r->{status}, 200, 'list users');
is_deeply([ map { $_->{id} } @{ $r->{json}{items} } ], $all,
          '... an admin sees everyone, ordered by id');
is($r->{json}{next_cursor}, undef, '... one page');

is_deeply(list_ids($at, 2), $all,
          'limit=2: each user exactly once across the pages');

my $pam_s = token("pam\@$slug.example", 'pam has a long passphrase');
my $pt = $pam_s->{access_token};
is_deeply(list_ids($pt, 1), [ sort $pam->{id}, $carl->{id} ],
          'a manager sees themself and the members of their teams');
is_deeply(list_ids($ct, 2), [ $carl->{id} ], 'a contributor only themself');

problem_is(api(GET => '/api/v1/users?limit=abc', $at), 400, 'bad_request',
           'a limit that is no number: 400');
problem_is(api(GET => '/api/v1/users?cursor=zz', $at), 400, 'bad_request',
           'a cursor that is not ours: 400');

# paging over 5 people in a workspace of their own
{
    my $s2 = $t->signup(prefix => 'page');
    my $a2 = token("admin\@$s2.example", undef, $s2)->{access_token};
    for my $i (1 .. 4) {
        my $r = api(POST => '/api/v1/users', $a2, host => $s2,
                    json => { email => "p$i\@$s2.example", name => "P $i" });
        die "create: $r->{status}" unless $r->{status} == 201;
    }
    my (@ids, @pages, $cursor);
    for (1 .. 10) {
        my $r = api(GET => '/api/v1/users?limit=2'
                           . (defined $cursor ? "&cursor=$cursor" : ''),
                    $a2, host => $s2);
        last unless $r->{status} == 200;
        push @pages, scalar @{ $r->{json}{items} };
        push @ids, map { $_->{id} } @{ $r->{json}{items} };
        $cursor = $r->{json}{next_cursor};
        last unless defined $cursor;
    }
    my $want = $t->tenant_dbh($s2)->selectcol_arrayref(
        'SELECT id FROM users ORDER BY id');
    is(scalar @$want, 5, 'a workspace of five');
    is_deeply(\@ids, $want, 'limit=2 over five users: each exactly once, in order');
    is(scalar(grep { $_ > 2 } @pages), 0, '... never more than 2 a page');
    cmp_ok(scalar @pages, '>=', 3, '... on three pages or more');

    # default and maximum page sizes
    $t->tenant_dbh($s2)->do(q{INSERT INTO users (email, name)
        SELECT 'bulk' || i || '@x.example', 'Bulk ' || i
          FROM generate_series(1, 250) i});
    $r = api(GET => '/api/v1/users', $a2, host => $s2);
    is(scalar @{ $r->{json}{items} }, 50, 'by default 50 a page');
    ok(defined $r->{json}{next_cursor}, '... and a cursor to more');
    $r = api(GET => '/api/v1/users?limit=1000', $a2, host => $s2);
    is(scalar @{ $r->{json}{items} }, 200, 'at most 200 a page');
}

# --- patch ----------------------------------------------------------------------

$mark = last_activity_id();
$r = api(PATCH => "/api/v1/users/$carl->{id}", $at,
         json => { name => 'Carl C.', version => 1 });
is($r->{status}, 200, 'an admin patches a name: 200');
is($r->{json}{name}, 'Carl C.', '... changed');
is($r->{json}{email}, "carl\@$slug.example", '... the rest kept');
is($r->{json}{version}, 2, '... version 2');
$rows = activity_since($mark);
is(scalar @$rows, 1, '... one audit row');
is($rows->[0]{action}, 'updated', '... updated');
is(decode($rows->[0]{old_values})->{name}, 'Carl Contributor',
   '... with the old name');
is(decode($rows->[0]{new_values})->{name}, 'Carl C.', '... and the new');

$mark = last_activity_id();
rejected(api(PATCH => "/api/v1/users/$carl->{id}", $at,
             json => { name => 'Stale', version => 1 }),
         $mark, 409, 'version_conflict', 'a stale version');
is(api(GET => "/api/v1/users/$carl->{id}", $at)->{json}{name}, 'Carl C.',
   '... the name unchanged');

# the same with If-Match, as API.md's conventions have it
$r = api(GET => "/api/v1/users/$carl->{id}", $at);
ok($r->{headers}{etag}, 'a user carries an ETag');
rejected(api(PATCH => "/api/v1/users/$carl->{id}", $at,
             headers => { 'If-Match' => '"1"' }, json => { name => 'Stale' }),
         $mark, 409, 'version_conflict', 'a stale If-Match');
is(api(GET => "/api/v1/users/$carl->{id}", $at)->{json}{name}, 'Carl C.',
   '... the name unchanged');
api(PATCH => "/api/v1/users/$carl->{id}", $at, json => { name => 'Carl C.' })
    if api(GET => "/api/v1/users/$carl->{id}", $at)->{json}{name} ne 'Carl C.';
$mark = last_activity_id();
my $v = api(GET => "/api/v1/users/$carl->{id}", $at)->{json}{version};

$r = api(PATCH => "/api/v1/users/$carl->{id}", $ct,
         json => { name => 'Carl Himself', email => "carl2\@$slug.example" });
is($r->{status}, 200, 'a user changes their own name and email');
is($r->{json}{name}, 'Carl Himself', '... name');
is($r->{json}{email}, "carl2\@$slug.example", '... email');
is($r->{json}{version}, $v + 1, '... the version one up');
is(login("carl2\@$slug.example", 'carl has a long passphrase')->{status},
   200, '... and logs in with the new email');
is(login("carl\@$slug.example", 'carl has a long passphrase')->{status},
   401, '... not the old one');

$mark = last_activity_id();
for my $patch ({ role => 'admin' }, { status => 'disabled' },
               { password => 'my very own new one' }) {
    my ($k) = keys %$patch;
    rejected(api(PATCH => "/api/v1/users/$carl->{id}", $ct, json => $patch),
             $mark, 403, 'forbidden', "a contributor changing their own $k");
}
$r = api(GET => "/api/v1/users/$carl->{id}", $at);
is($r->{json}{role}, 'contributor', '... the role unchanged');
is($r->{json}{version}, $v + 1, '... nothing changed');

rejected(api(PATCH => "/api/v1/users/$admin_id", $ct,
             json => { name => 'Hacked' }),
         $mark, 404, 'not_found', "a contributor patching someone unseen: 404");
rejected(api(PATCH => "/api/v1/users/$carl->{id}", $pt,
             json => { name => 'By Pam' }),
         $mark, 403, 'forbidden', "a manager patching a team member's name");
rejected(api(PATCH => "/api/v1/users/$carl->{id}", $at,
             json => { role => 'boss' }),
         $mark, 422, 'validation_failed', 'patch to an unknown role');
rejected(api(PATCH => "/api/v1/users/$carl->{id}", $at,
             json => { status => 'erased' }),
         $mark, 422, 'validation_failed', 'patch to a status not allowed');
rejected(api(PATCH => "/api/v1/users/$carl->{id}", $at,
             json => { email => uc "pam\@$slug.example" }),
         $mark, 409, 'already_exists', "patch to someone else's email");
rejected(api(PATCH => "/api/v1/users/$nobody", $at, json => { name => 'X' }),
         $mark, 404, 'not_found', 'patch an unknown user');
is(api(GET => "/api/v1/users/$admin_id", $at)->{json}{name}, 'Ada Admin',
   "the admin's name unchanged");

# a password change by an admin ends the user's sessions
my $carl_session = token("carl2\@$slug.example", 'carl has a long passphrase');
$r = api(PATCH => "/api/v1/users/$carl->{id}", $at,
         json => { password => 'set by the admin today' });
is($r->{status}, 200, 'an admin sets a password');
problem_is(refresh($carl_session->{refresh_token}), 401, 'invalid_token',
           "... the user's refresh token died");
is(login("carl2\@$slug.example", 'carl has a long passphrase')->{status}, 401,
   '... the old password fails');
is(login("carl2\@$slug.example", 'set by the admin today')->{status}, 200,
   '... the new one works');
problem_is(api(PATCH => "/api/v1/users/$carl->{id}", $at,
               json => { password => 'basketball' }),
           422, 'validation_failed', 'an admin sets a common password: 422');

# a role change too
$carl_session = token("carl2\@$slug.example", 'set by the admin today');
$r = api(PATCH => "/api/v1/users/$carl->{id}", $at,
         json => { role => 'project_manager' });
is($r->{status}, 200, 'an admin changes a role');
is($r->{json}{role}, 'project_manager', '... changed');
problem_is(refresh($carl_session->{refresh_token}), 401, 'invalid_token',
           "... the user's refresh token died");
is(token("carl2\@$slug.example", 'set by the admin today')->{user}{role},
   'project_manager', '... a new login carries the new role');
api(PATCH => "/api/v1/users/$carl->{id}", $at, json => { role => 'contributor' });

# a name change does not
$carl_session = token("carl2\@$slug.example", 'set by the admin today');
api(PATCH => "/api/v1/users/$carl->{id}", $at, json => { name => 'Carl' });
is(refresh($carl_session->{refresh_token})->{status}, 200,
   'a name change leaves the sessions alone');

# disabling
$carl_session = token("carl2\@$slug.example", 'set by the admin today');
$r = api(PATCH => "/api/v1/users/$carl->{id}", $at,
         json => { status => 'disabled' });
is($r->{status}, 200, 'an admin disables a user');
is($r->{json}{status}, 'disabled', '... disabled');
problem_is(refresh($carl_session->{refresh_token}), 401, 'invalid_token',
           "... the user's refresh token died");
problem_is(login("carl2\@$slug.example", 'set by the admin today'), 401,
           'invalid_credentials', '... and they cannot log in');
is(api(PATCH => "/api/v1/users/$carl->{id}", $at,
       json => { status => 'active' })->{status}, 200, 'enabled again');
$ct = token("carl2\@$slug.example", 'set by the admin today')->{access_token};
ok($ct, '... they log in');

# --- delete ---------------------------------------------------------------------

my $dan = api(POST => '/api/v1/users', $at, json => {
    email => "dan\@$slug.example", name => 'Dan',
    password => 'dan has a long passphrase' })->{json};
my $dan_session = token("dan\@$slug.example", 'dan has a long passphrase');

$mark = last_activity_id();
$r = api(DELETE => "/api/v1/users/$dan->{id}", $at);
is($r->{status}, 204, 'delete a user: 204');
is(api(GET => "/api/v1/users/$dan->{id}", $at)->{json}{status}, 'disabled',
   '... who is disabled');
problem_is(refresh($dan_session->{refresh_token}), 401, 'invalid_token',
           '... whose refresh token died');
problem_is(login("dan\@$slug.example", 'dan has a long passphrase'), 401,
           'invalid_credentials', '... and who cannot log in');
$rows = activity_since($mark);
is(scalar @$rows, 1, '... one audit row');
is($rows->[0]{entity_id}, $dan->{id}, '... about them');

$mark = last_activity_id();
rejected(api(DELETE => "/api/v1/users/$admin_id", $at),
         $mark, 409, 'conflict', 'an admin deleting themself');
rejected(api(DELETE => "/api/v1/users/$admin_id?erase=true", $at),
         $mark, 409, 'conflict', '... or erasing themself');
is(login($admin_email)->{status}, 200, '... still logs in');
rejected(api(DELETE => "/api/v1/users/$nobody", $at),
         $mark, 404, 'not_found', 'delete an unknown user');
rejected(api(DELETE => "/api/v1/users/$pam->{id}", $ct),
         $mark, 403, 'forbidden', 'a contributor deleting someone');

# --- GDPR export and erasure ------------------------------------------------------

my $eve = api(POST => '/api/v1/users', $at, json => {
    email => "eve\@$slug.example", name => 'Eve Erasable',
    password => 'eve has a long passphrase' })->{json};
api(PUT => "/api/v1/teams/$red->{id}/members/$eve->{id}", $at);
api(PUT => "/api/v1/users/$eve->{id}/skills", $at,
    json => [ { skill_id => $sql_skill->{id}, level => 2 } ]);
my $eve_session = token("eve\@$slug.example", 'eve has a long passphrase');
my $et = $eve_session->{access_token};
api(PATCH => "/api/v1/users/$eve->{id}", $et, json => { name => 'Eve E.' });

$r = api(GET => "/api/v1/users/$eve->{id}/export", $at);
is($r->{status}, 200, 'an admin exports a user');
my $x = $r->{json};
like($x->{exported_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/,
     '... exported_at');
is($x->{user}{id}, $eve->{id}, '... the user');
is($x->{user}{email}, "eve\@$slug.example", '... their email');
is($x->{user}{name}, 'Eve E.', '... their name');
ok(!grep({ /password|hash/ } keys %{ $x->{user} }), '... no password hash');
is_deeply([ map { $_->{name} } @{ $x->{teams} } ], [ 'Red Team' ],
          '... their teams');
is_deeply([ map { "$_->{name}:$_->{level}" } @{ $x->{skills} } ], [ 'SQL:2' ],
          '... their skills');
cmp_ok(scalar @{ $x->{sessions} }, '>=', 1, '... their sessions');
ok(!grep({ /token|hash/ } map { keys %$_ } @{ $x->{sessions} }),
   '... without the secrets');
my %actions = map { $_->{action} => 1 } @{ $x->{activity} };
ok($actions{created} && $actions{updated}, '... and their activity')
    or diag explain $x->{activity};

$r = api(GET => "/api/v1/users/$eve->{id}/export", $et);
is($r->{status}, 200, 'a user exports themself');
is($r->{json}{user}{id}, $eve->{id}, '... their own data');
problem_is(api(GET => "/api/v1/users/$eve->{id}/export", $ct), 404,
           'not_found', "a contributor exporting someone else: 404");
problem_is(api(GET => "/api/v1/users/$eve->{id}/export", $pt), 404,
           'not_found', "a manager exporting a team member: 404");

my ($audit_before) = $dbh->selectrow_array(
    q{SELECT count(*) FROM activity_log
       WHERE entity_type = 'user' AND entity_id = ?}, undef, $eve->{id});
cmp_ok($audit_before, '>=', 3, 'eve has audit rows');

$mark = last_activity_id();
$r = api(DELETE => "/api/v1/users/$eve->{id}?erase=true", $at);
is($r->{status}, 204, 'erase a user: 204');

my $row = $dbh->selectrow_hashref('SELECT * FROM users WHERE id = ?', undef,
                                  $eve->{id});
is($row->{name}, 'Deleted user', 'erased: the name is "Deleted user"');
is($row->{email}, "erased-$eve->{id}\@deleted.invalid", '... the email gone');
is($row->{password_hash}, undef, '... no password');
my ($tm) = $dbh->selectrow_array(
    'SELECT count(*) FROM team_members WHERE user_id = ?', undef, $eve->{id});
is($tm, 0, '... no teams');
my ($us) = $dbh->selectrow_array(
    'SELECT count(*) FROM user_skills WHERE user_id = ?', undef, $eve->{id});
is($us, 0, '... no skills');
my ($rt) = $dbh->selectrow_array(
    'SELECT count(*) FROM refresh_tokens WHERE user_id = ?', undef, $eve->{id});
is($rt, 0, '... no sessions');
my ($valued) = $dbh->selectrow_array(
    q{SELECT count(*) FROM activity_log
       WHERE entity_type = 'user' AND entity_id = ?
         AND (old_values IS NOT NULL OR new_values IS NOT NULL)},
    undef, $eve->{id});
is($valued, 0, '... their audit rows hold no values');
my ($kept) = $dbh->selectrow_array(
    q{SELECT count(*) FROM activity_log
       WHERE entity_type = 'user' AND entity_id = ? AND id <= ?},
    undef, $eve->{id}, $mark);
is($kept, $audit_before, '... but stay, as rows');
my ($named) = $dbh->selectrow_array(
    q{SELECT count(*) FROM activity_log
       WHERE entity_type = 'user' AND entity_id = ?
         AND (old_values::text ~* 'eve' OR new_values::text ~* 'eve')},
    undef, $eve->{id});
is($named, 0, '... none names them');

problem_is(api(GET => "/api/v1/users/$eve->{id}", $at), 404, 'not_found',
           'an erased user: GET 404');
ok(!grep({ $_ eq $eve->{id} } @{ list_ids($at, 200) }), '... not listed');
ok(!grep({ $_->{id} eq $eve->{id} }
         @{ api(GET => "/api/v1/teams/$red->{id}", $at)->{json}{members} }),
   '... not a team member');
problem_is(api(GET => "/api/v1/users/$eve->{id}/export", $at), 404,
           'not_found', '... no export');
problem_is(login("eve\@$slug.example", 'eve has a long passphrase'), 401,
           'invalid_credentials', '... no login');
problem_is(refresh($eve_session->{refresh_token}), 401, 'invalid_token',
           '... no refresh');
problem_is(api(PATCH => "/api/v1/users/$eve->{id}", $at,
               json => { name => 'Back' }), 404, 'not_found', '... no patch');
problem_is(api(DELETE => "/api/v1/users/$eve->{id}?erase=true", $at),
           404, 'not_found', '... erased once only');
is(api(POST => '/api/v1/users', $at, json => {
       email => "eve\@$slug.example", name => 'Another Eve',
       password => 'new eve has a long one' })->{status}, 201,
   '... and the email is free again');

Kanban::Test->done_testing;
