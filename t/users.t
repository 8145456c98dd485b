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
use Kanban::Audit qw(last_activity_id activity_since rejected);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'users');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
Kanban::Audit::watch($dbh);
my $admin_email = "admin\@$slug.example";
my $nobody = '00000000-0000-4000-8000-000000000000';

sub refresh {
    my ($refresh) = @_;
    return $ws->api(undef, POST => '/api/v1/auth/refresh',
                    json => { refresh_token => $refresh });
}

sub decode { $Kanban::Test::JSON->decode($_[0]) }

my $admin = $ws->admin;
my $admin_id = $admin->{id};
my $at = $admin->{token};

# --- create -----------------------------------------------------------------

my $mark = last_activity_id();
my $r = $ws->api($at, POST => '/api/v1/users', json => {
    email => "carl\@$slug.example", name => 'Carl Contributor',
    password => 'Kay has a long passphrase' });
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

is($ws->try_login("carl\@$slug.example", 'Kay has a long passphrase')
       ->{status}, 200, 'the new user logs in with their password');

$r = $ws->api($at, POST => '/api/v1/users', json => {
    email => "pam\@$slug.example", name => 'Pam Manager',
    role => 'project_manager', password => 'Pem has a long passphrase' });
is($r->{status}, 201, 'create a project manager: 201');
is($r->{json}{role}, 'project_manager', '... with that role');
my $pam = $r->{json};

$mark = last_activity_id();
rejected($ws->api($at, POST => '/api/v1/users', json => {
                  email => uc("carl\@$slug.example"), name => 'Carl Again',
                  password => 'another long passphrase' }),
         $mark, 409, 'already_exists', 'a duplicate email in another case');

$r = $ws->api($at, POST => '/api/v1/users', json => {
    email => "rex\@$slug.example", name => 'Rex', role => 'superuser',
    password => 'Rax has a long passphrase' });
rejected($r, $mark, 422, 'validation_failed', 'an unknown role');
is(error_for($r, 'role')->{code}, 'invalid_value', '... invalid_value on role');

$r = $ws->api($at, POST => '/api/v1/users', json => {
    email => 'not an email', name => 'Rex',
    password => 'Rax has a long passphrase' });
rejected($r, $mark, 422, 'validation_failed', 'a bad email');
ok(error_for($r, 'email'), '... the error is on email');

for my $common ('basketball', '1234567890') {
    $r = $ws->api($at, POST => '/api/v1/users', json => {
        email => "rex\@$slug.example", name => 'Rex', password => $common });
    rejected($r, $mark, 422, 'validation_failed', "a common password $common");
    is(error_for($r, 'password')->{code}, 'too_common', '... too_common');
}

$r = $ws->api($at, POST => '/api/v1/users', json => {
    email => "rex\@$slug.example", password => 'Rax has a long passphrase' });
rejected($r, $mark, 422, 'validation_failed', 'no name');
is(error_for($r, 'name')->{code}, 'required', '... name is required');

$r = $ws->api($at, POST => '/api/v1/users', json => {
    email => "rex\@$slug.example", name => 'Rex', admin => JSON::XS::true() });
rejected($r, $mark, 422, 'validation_failed', 'an unknown field');

my ($rex) = $dbh->selectrow_array(
    'SELECT count(*) FROM users WHERE email = ?', undef, "rex\@$slug.example");
is($rex, 0, 'none of the rejected users exists');

# --- invitations ------------------------------------------------------------

$mark = last_activity_id();
$r = $ws->api($at, POST => '/api/v1/users', json => {
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

$r = $ws->api($at, GET => "/api/v1/users/$ivy->{id}");
is($r->{json}{status}, 'invited', 'an invited user reads as invited');
ok(!exists $r->{json}{invite_token}, '... without the token');

problem_is($ws->try_login("ivy\@$slug.example", 'she will choose this one'),
           401, 'invalid_credentials', 'an invited user cannot log in yet');

$mark = last_activity_id();
$r = $t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
             json => { invite_token => $invite, password => 'basketball' });
rejected($r, $mark, 422, 'validation_failed',
         'accepting with a common password');

$r = $t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
             json => { invite_token => $invite,
                       password => 'she will choose this one' });
is($r->{status}, 200, 'accept the invitation: 200');
is($r->{json}{id}, $ivy->{id}, '... the invited user');
is($r->{json}{status}, 'active', '... now active');
is($ws->try_login("ivy\@$slug.example", 'she will choose this one')
       ->{status}, 200, '... who logs in with the chosen password');
$rows = activity_since($mark);
is(join(',', map { $_->{action} } @$rows), 'invite_accepted',
   '... one audit row, invite_accepted');

$r = $t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
             json => { invite_token => $invite,
                       password => 'somebody else now' });
problem_is($r, 404, 'not_found', 'the invite token a second time: 404');
is($ws->try_login("ivy\@$slug.example", 'somebody else now')->{status}, 401,
   '... and the password was not changed by it');

problem_is($t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
                   json => { invite_token => 'f' x 64,
                             password => 'a long enough one' }),
           404, 'not_found', 'an unknown invite token: 404');

# --- open registration ------------------------------------------------------

$mark = last_activity_id();
rejected($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "otto\@$slug.example", name => 'Otto',
                           password => 'Oto likes long ones' }),
         $mark, 403, 'forbidden', 'register when invite only: 403');
is($ws->try_login("otto\@$slug.example", 'Oto likes long ones')->{status}, 401,
   '... and there is no such user');

$dbh->do(q{UPDATE settings SET value = 'true' WHERE key = 'open_registration'});

$r = $t->req(POST => '/api/v1/auth/register', host => $slug,
             json => { email => "otto\@$slug.example", name => 'Otto',
                       password => 'Oto likes long ones' });
is($r->{status}, 201, 'register when open: 201');
is($r->{json}{role}, 'contributor', '... as a contributor');
my $otto = $r->{json};
is($r->{headers}{location}, "/api/v1/users/$otto->{id}", '... Location');
is($ws->try_login("otto\@$slug.example", 'Oto likes long ones')->{status}, 200,
   '... who logs in');
$rows = activity_since($mark);
is(scalar @$rows, 1, '... one audit row');
is($rows->[0]{entity_id}, $otto->{id}, '... about the new user');

$mark = last_activity_id();
rejected($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "OTTO\@$slug.example", name => 'Otto 2',
                           password => 'Oto likes long ones' }),
         $mark, 409, 'already_exists', 'register a taken email');
rejected($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "olga\@$slug.example", name => 'Olga',
                           password => 'Ola likes long ones',
                           role => 'admin' }),
         $mark, 422, 'validation_failed', 'register cannot choose a role');
rejected($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "olga\@$slug.example", name => 'Olga',
                           password => 'basketball' }),
         $mark, 422, 'validation_failed', 'register with a common password');

$dbh->do(q{UPDATE settings SET value = 'false' WHERE key = 'open_registration'});
problem_is($t->req(POST => '/api/v1/auth/register', host => $slug,
                   json => { email => "olga\@$slug.example", name => 'Olga',
                             password => 'Ola likes long ones' }),
           403, 'forbidden', 'closed again: 403');

# --- read ---------------------------------------------------------------------

my $carl_s = $ws->login("carl\@$slug.example", 'Kay has a long passphrase');
my $ct = $carl_s->{token};

$r = $ws->api($at, GET => "/api/v1/users/$carl->{id}");
is($r->{status}, 200, 'an admin reads a user');
is($r->{json}{email}, "carl\@$slug.example", '... email');
is($r->{json}{name}, 'Carl Contributor', '... name');

is($ws->api($ct, GET => "/api/v1/users/$carl->{id}")->{status}, 200,
   'a contributor reads themself');
problem_is($ws->api($ct, GET => "/api/v1/users/$admin_id"), 404, 'not_found',
           "a contributor reading someone else: 404, not 403");
problem_is($ws->api($at, GET => "/api/v1/users/$nobody"), 404, 'not_found',
           'an unknown id: 404');
problem_is($ws->api($at, GET => '/api/v1/users/not-a-uuid'), 404, 'not_found',
           'a non-UUID id: 404');

# --- me, teams and skills -----------------------------------------------------

$mark = last_activity_id();
$r = $ws->api($at, POST => '/api/v1/teams',
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
rejected($ws->api($at, POST => '/api/v1/teams', json => { name => 'RED TEAM' }),
         $mark, 409, 'already_exists', 'a duplicate team name in another case');
rejected($ws->api($at, POST => '/api/v1/teams', json => { description => 'x' }),
         $mark, 422, 'validation_failed', 'a team without a name');

$r = $ws->api($at, POST => '/api/v1/teams', json => { name => 'Blue Team' });
is($r->{status}, 201, 'a second team');
my $blue = $r->{json};
is($blue->{description}, '', '... description defaults to empty');

$r = $ws->api($at, PUT => "/api/v1/teams/$red->{id}/members/$carl->{id}");
is($r->{status}, 204, 'add a member: 204');
is($r->{body}, '', '... no body');
is($ws->api($at, PUT => "/api/v1/teams/$red->{id}/members/$carl->{id}")
       ->{status}, 204, 'add the same member again: 204');
is($ws->api($at, PUT => "/api/v1/teams/$red->{id}/members/$pam->{id}")
       ->{status}, 204, 'add the manager');

$r = $ws->api($at, GET => "/api/v1/teams/$red->{id}");
is($r->{status}, 200, 'read a team');
is_deeply([ sort map { $_->{id} } @{ $r->{json}{members} } ],
          [ sort $carl->{id}, $pam->{id} ], '... its members, each once');
is_deeply([ sort map { $_->{name} } @{ $r->{json}{members} } ],
          [ 'Carl Contributor', 'Pam Manager' ], '... with their names');

$mark = last_activity_id();
rejected($ws->api($at, PUT => "/api/v1/teams/$nobody/members/$carl->{id}"),
         $mark, 404, 'not_found', 'add to an unknown team');
rejected($ws->api($at, PUT => "/api/v1/teams/$red->{id}/members/$nobody"),
         $mark, 404, 'not_found', 'add an unknown user');
problem_is($ws->api($at, PUT => "/api/v1/teams/$red->{id}/members/nope"),
           404, 'not_found', 'add a non-UUID user');

$r = $ws->api($at, GET => '/api/v1/teams');
is($r->{status}, 200, 'list teams');
is_deeply([ map { $_->{name} } @{ $r->{json}{items} } ],
          [ 'Blue Team', 'Red Team' ], '... an admin sees all');
ok(exists $r->{json}{next_cursor} && !defined $r->{json}{next_cursor},
   '... next_cursor null');

$r = $ws->api($ct, GET => '/api/v1/teams');
is_deeply([ map { $_->{name} } @{ $r->{json}{items} } ], [ 'Red Team' ],
          "a contributor sees the teams they belong to");
problem_is($ws->api($ct, GET => "/api/v1/teams/$blue->{id}"), 404, 'not_found',
           "... and not another team");
is($ws->api($ct, GET => "/api/v1/teams/$red->{id}")->{status}, 200,
   '... but their own');

$mark = last_activity_id();
$r = $ws->api($at, PATCH => "/api/v1/teams/$blue->{id}",
              json => { description => 'calm', version => 1 });
is($r->{status}, 200, 'patch a team: 200');
is($r->{json}{description}, 'calm', '... changed');
is($r->{json}{name}, 'Blue Team', '... the rest kept');
is($r->{json}{version}, 2, '... version 2');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');

$mark = last_activity_id();
rejected($ws->api($at, PATCH => "/api/v1/teams/$blue->{id}",
                  json => { description => 'stale', version => 1 }),
         $mark, 409, 'version_conflict', 'patch a team with a stale version');
is($ws->api($at, GET => "/api/v1/teams/$blue->{id}")->{json}{description},
   'calm', '... unchanged');
rejected($ws->api($at, PATCH => "/api/v1/teams/$blue->{id}",
                  json => { name => 'red team' }),
         $mark, 409, 'already_exists', 'rename a team to a taken name');
rejected($ws->api($at, PATCH => "/api/v1/teams/$nobody",
                  json => { name => 'X' }),
         $mark, 404, 'not_found', 'patch an unknown team');

# skills
$mark = last_activity_id();
$r = $ws->api($at, POST => '/api/v1/skills', json => { name => 'Perl' });
is($r->{status}, 201, 'create a skill: 201');
my $perl = $r->{json};
is($perl->{name}, 'Perl', '... name');
ok($r->{headers}{location}, '... Location');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');
my $c_skill = $ws->api($at, POST => '/api/v1/skills',
                       json => { name => 'C' })->{json};
my $sql_skill = $ws->api($at, POST => '/api/v1/skills',
                         json => { name => 'SQL' })->{json};

$mark = last_activity_id();
rejected($ws->api($at, POST => '/api/v1/skills', json => { name => 'perl' }),
         $mark, 409, 'already_exists', 'a duplicate skill name');

$r = $ws->api($ct, GET => '/api/v1/skills');
is($r->{status}, 200, 'a contributor lists skills');
is_deeply([ sort map { $_->{name} } @{ $r->{json}{items} } ],
          [ 'C', 'Perl', 'SQL' ], '... all of them');

$mark = last_activity_id();
$r = $ws->api($at, PUT => "/api/v1/users/$carl->{id}/skills", json => [
    { skill_id => $perl->{id}, level => 3 },
    { skill_id => $c_skill->{id}, level => 5 } ]);
is($r->{status}, 200, "set a user's skills: 200");
is_deeply([ sort { $a->{name} cmp $b->{name} } @{ $r->{json} // [] } ],
          [ { skill_id => $c_skill->{id}, name => 'C', level => 5 },
            { skill_id => $perl->{id}, name => 'Perl', level => 3 } ],
          '... the set with names and levels');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');

$r = $ws->api($at, PUT => "/api/v1/users/$carl->{id}/skills", json => [
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
$r = $ws->api($at, PUT => "/api/v1/users/$carl->{id}/skills", json => [
    { skill_id => $perl->{id}, level => 9 } ]);
rejected($r, $mark, 422, 'validation_failed', 'level 9');
ok(error_for($r, '[0].level'), '... the error is on [0].level');
rejected($ws->api($at, PUT => "/api/v1/users/$carl->{id}/skills",
                  json => { skill_id => $perl->{id}, level => 2 }),
         $mark, 422, 'validation_failed', 'a body that is no array');
rejected($ws->api($at, PUT => "/api/v1/users/$carl->{id}/skills",
                  json => [ { skill_id => $nobody, level => 2 } ]),
         $mark, 422, 'validation_failed', 'an unknown skill');
rejected($ws->api($at, PUT => "/api/v1/users/$nobody/skills",
                  json => [ { skill_id => $perl->{id}, level => 2 } ]),
         $mark, 404, 'not_found', 'skills of an unknown user');
$r = $ws->api($ct, GET => '/api/v1/auth/me');
is_deeply([ sort map { "$_->{name}:$_->{level}" } @{ $r->{json}{skills} } ],
          [ 'Perl:4', 'SQL:1' ], '... the rejected ones changed nothing');

$r = $ws->api($ct, PUT => "/api/v1/users/$carl->{id}/skills", json => [
    { skill_id => $perl->{id}, level => 5 } ]);
is($r->{status}, 200, 'a user sets their own skills');
is_deeply($r->{json}, [ { skill_id => $perl->{id}, name => 'Perl',
                          level => 5 } ], '... replaced');

$r = $ws->api($ct, GET => '/api/v1/auth/me');
is($r->{status}, 200, 'me');
is($r->{json}{id}, $carl->{id}, '... the user');
is_deeply([ map { $_->{name} } @{ $r->{json}{teams} } ], [ 'Red Team' ],
          '... with their teams');
is_deeply([ map { "$_->{name}:$_->{level}" } @{ $r->{json}{skills} } ],
          [ 'Perl:5' ], '... and skills');

$r = $ws->api($ct, PUT => "/api/v1/users/$carl->{id}/skills", json => []);
is($r->{status}, 200, 'an empty set');
is_deeply($r->{json}, [], '... clears the skills');
is_deeply($ws->api($ct, GET => '/api/v1/auth/me')->{json}{skills}, [],
          '... as me shows');

# member removal and team deletion
$mark = last_activity_id();
is($ws->api($at, DELETE => "/api/v1/teams/$red->{id}/members/$pam->{id}")
       ->{status}, 204, 'remove a member: 204');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');
$mark = last_activity_id();
rejected($ws->api($at, DELETE => "/api/v1/teams/$red->{id}/members/$pam->{id}"),
         $mark, 404, 'not_found', 'remove them again: 404');
is_deeply([ map { $_->{id} } @{ $ws->api($at, GET => "/api/v1/teams/$red->{id}")
                                    ->{json}{members} } ],
          [ $carl->{id} ], '... the team has the one member left');
is($ws->api($at, PUT => "/api/v1/teams/$red->{id}/members/$pam->{id}")
       ->{status}, 204, '(the manager back in the team)');

my $green = $ws->api($at, POST => '/api/v1/teams',
                     json => { name => 'Green Team' })->{json};
$ws->api($at, PUT => "/api/v1/teams/$green->{id}/members/$carl->{id}");
$mark = last_activity_id();
is($ws->api($at, DELETE => "/api/v1/teams/$green->{id}")->{status}, 204,
   'delete a team: 204');
is(scalar @{ activity_since($mark) }, 1, '... one audit row');
problem_is($ws->api($at, GET => "/api/v1/teams/$green->{id}"), 404, 'not_found',
           '... it is gone');
is_deeply([ map { $_->{name} } @{ $ws->api($ct, GET => '/api/v1/auth/me')
                                      ->{json}{teams} } ],
          [ 'Red Team' ], "... from its members' teams too");
$mark = last_activity_id();
rejected($ws->api($at, DELETE => "/api/v1/teams/$green->{id}"),
         $mark, 404, 'not_found', 'delete it again: 404');

# --- list: visibility and paging ----------------------------------------------

sub list_ids {
    my ($token, $limit) = @_;
    my (@ids, $cursor, $pages);
    while (1) {
        my $q = "?limit=$limit" . (defined $cursor ? "&cursor=$cursor" : '');
        my $r = $ws->api($token, GET => "/api/v1/users$q");
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

$r = $ws->api($at, GET => '/api/v1/users');
is($r->{status}, 200, 'list users');
is_deeply([ map { $_->{id} } @{ $r->{json}{items} } ], $all,
          '... an admin sees everyone, ordered by id');
is($r->{json}{next_cursor}, undef, '... one page');

is_deeply(list_ids($at, 2), $all,
          'limit=2: each user exactly once across the pages');

my $pam_s = $ws->login("pam\@$slug.example", 'Pem has a long passphrase');
my $pt = $pam_s->{token};
is_deeply(list_ids($pt, 1), [ sort $pam->{id}, $carl->{id} ],
          'a manager sees themself and the members of their teams');
is_deeply(list_ids($ct, 2), [ $carl->{id} ], 'a contributor only themself');

problem_is($ws->api($at, GET => '/api/v1/users?limit=abc'), 400, 'bad_request',
           'a limit that is no number: 400');
problem_is($ws->api($at, GET => '/api/v1/users?cursor=zz'), 400, 'bad_request',
           'a cursor that is not ours: 400');

# paging over 5 people in a workspace of their own
{
    my $ws2 = $t->workspace(prefix => 'page');
    my $s2 = $ws2->slug;
    my $a2 = $ws2->admin->{token};
    for my $i (1 .. 4) {
        my $r = $ws->api($a2, POST => '/api/v1/users', host => $s2,
                         json => { email => "p$i\@$s2.example",
                                   name => "P $i" });
        die "create: $r->{status}" unless $r->{status} == 201;
    }
    my (@ids, @pages, $cursor);
    for (1 .. 10) {
        my $r = $ws->api($a2, GET => '/api/v1/users?limit=2'
                                . (defined $cursor ? "&cursor=$cursor" : ''),
                         host => $s2);
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
    $r = $ws->api($a2, GET => '/api/v1/users', host => $s2);
    is(scalar @{ $r->{json}{items} }, 50, 'by default 50 a page');
    ok(defined $r->{json}{next_cursor}, '... and a cursor to more');
    $r = $ws->api($a2, GET => '/api/v1/users?limit=200', host => $s2);
    is(scalar @{ $r->{json}{items} }, 200, 'at most 200 a page');
    $r = $ws->api($a2, GET => '/api/v1/users?limit=1000', host => $s2);
    problem_is($r, 422, 'validation_failed', '... more is a 422');
}

# --- patch ----------------------------------------------------------------------

$mark = last_activity_id();
$r = $ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
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
rejected($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
                  json => { name => 'Stale', version => 1 }),
         $mark, 409, 'version_conflict', 'a stale version');
is($ws->api($at, GET => "/api/v1/users/$carl->{id}")->{json}{name}, 'Carl C.',
   '... the name unchanged');

# the same with If-Match, as API.md's conventions have it
$r = $ws->api($at, GET => "/api/v1/users/$carl->{id}");
ok($r->{headers}{etag}, 'a user carries an ETag');
rejected($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
                  headers => { 'If-Match' => '"1"' },
                  json => { name => 'Stale' }),
         $mark, 409, 'version_conflict', 'a stale If-Match');
is($ws->api($at, GET => "/api/v1/users/$carl->{id}")->{json}{name}, 'Carl C.',
   '... the name unchanged');
$ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
         json => { name => 'Carl C.' })
    if $ws->api($at, GET => "/api/v1/users/$carl->{id}")->{json}{name}
       ne 'Carl C.';
$mark = last_activity_id();
my $v = $ws->api($at, GET => "/api/v1/users/$carl->{id}")->{json}{version};

$r = $ws->api($ct, PATCH => "/api/v1/users/$carl->{id}",
              json => { name => 'Carl Himself',
                        email => "carl2\@$slug.example" });
is($r->{status}, 200, 'a user changes their own name and email');
is($r->{json}{name}, 'Carl Himself', '... name');
is($r->{json}{email}, "carl2\@$slug.example", '... email');
is($r->{json}{version}, $v + 1, '... the version one up');
is($ws->try_login("carl2\@$slug.example", 'Kay has a long passphrase')
       ->{status}, 200, '... and logs in with the new email');
is($ws->try_login("carl\@$slug.example", 'Kay has a long passphrase')
       ->{status}, 401, '... not the old one');

$mark = last_activity_id();
for my $patch ({ role => 'admin' }, { status => 'disabled' },
               { password => 'my very own new one' }) {
    my ($k) = keys %$patch;
    rejected($ws->api($ct, PATCH => "/api/v1/users/$carl->{id}",
                      json => $patch),
             $mark, 403, 'forbidden', "a contributor changing their own $k");
}
$r = $ws->api($at, GET => "/api/v1/users/$carl->{id}");
is($r->{json}{role}, 'contributor', '... the role unchanged');
is($r->{json}{version}, $v + 1, '... nothing changed');

rejected($ws->api($ct, PATCH => "/api/v1/users/$admin_id",
                  json => { name => 'Hacked' }),
         $mark, 404, 'not_found', "a contributor patching someone unseen: 404");
rejected($ws->api($pt, PATCH => "/api/v1/users/$carl->{id}",
                  json => { name => 'By Pam' }),
         $mark, 403, 'forbidden', "a manager patching a team member's name");
rejected($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
                  json => { role => 'boss' }),
         $mark, 422, 'validation_failed', 'patch to an unknown role');
rejected($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
                  json => { status => 'erased' }),
         $mark, 422, 'validation_failed', 'patch to a status not allowed');
rejected($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
                  json => { email => uc "pam\@$slug.example" }),
         $mark, 409, 'already_exists', "patch to someone else's email");
rejected($ws->api($at, PATCH => "/api/v1/users/$nobody",
                  json => { name => 'X' }),
         $mark, 404, 'not_found', 'patch an unknown user');
is($ws->api($at, GET => "/api/v1/users/$admin_id")->{json}{name}, 'Ada Admin',
   "the admin's name unchanged");

# a password change by an admin ends the user's sessions
my $carl_session = $ws->login("carl2\@$slug.example",
                              'Kay has a long passphrase');
$r = $ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
              json => { password => 'set by the admin today' });
is($r->{status}, 200, 'an admin sets a password');
problem_is(refresh($carl_session->{refresh}), 401, 'invalid_token',
           "... the user's refresh token died");
is($ws->try_login("carl2\@$slug.example", 'Kay has a long passphrase')
       ->{status}, 401, '... the old password fails');
is($ws->try_login("carl2\@$slug.example", 'set by the admin today')
       ->{status}, 200, '... the new one works');
problem_is($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
                    json => { password => 'basketball' }),
           422, 'validation_failed', 'an admin sets a common password: 422');

# a role change too
$carl_session = $ws->login("carl2\@$slug.example", 'set by the admin today');
$r = $ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
              json => { role => 'project_manager' });
is($r->{status}, 200, 'an admin changes a role');
is($r->{json}{role}, 'project_manager', '... changed');
problem_is(refresh($carl_session->{refresh}), 401, 'invalid_token',
           "... the user's refresh token died");
is($ws->login("carl2\@$slug.example", 'set by the admin today')->{role},
   'project_manager', '... a new login carries the new role');
$ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
         json => { role => 'contributor' });

# a name change does not
$carl_session = $ws->login("carl2\@$slug.example", 'set by the admin today');
$ws->api($at, PATCH => "/api/v1/users/$carl->{id}", json => { name => 'Carl' });
is(refresh($carl_session->{refresh})->{status}, 200,
   'a name change leaves the sessions alone');

# disabling
$carl_session = $ws->login("carl2\@$slug.example", 'set by the admin today');
$r = $ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
              json => { status => 'disabled' });
is($r->{status}, 200, 'an admin disables a user');
is($r->{json}{status}, 'disabled', '... disabled');
problem_is(refresh($carl_session->{refresh}), 401, 'invalid_token',
           "... the user's refresh token died");
problem_is($ws->try_login("carl2\@$slug.example", 'set by the admin today'),
           401, 'invalid_credentials', '... and they cannot log in');
is($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
            json => { status => 'active' })->{status}, 200, 'enabled again');
$ct = $ws->login("carl2\@$slug.example", 'set by the admin today')->{token};
ok($ct, '... they log in');

# --- delete ---------------------------------------------------------------------

my $dan = $ws->api($at, POST => '/api/v1/users', json => {
    email => "dan\@$slug.example", name => 'Dan',
    password => 'Don has a long passphrase' })->{json};
my $dan_session = $ws->login("dan\@$slug.example", 'Don has a long passphrase');

$mark = last_activity_id();
$r = $ws->api($at, DELETE => "/api/v1/users/$dan->{id}");
is($r->{status}, 204, 'delete a user: 204');
is($ws->api($at, GET => "/api/v1/users/$dan->{id}")->{json}{status}, 'disabled',
   '... who is disabled');
problem_is(refresh($dan_session->{refresh}), 401, 'invalid_token',
           '... whose refresh token died');
problem_is($ws->try_login("dan\@$slug.example", 'Don has a long passphrase'),
           401, 'invalid_credentials', '... and who cannot log in');
$rows = activity_since($mark);
is(scalar @$rows, 1, '... one audit row');
is($rows->[0]{entity_id}, $dan->{id}, '... about them');

$mark = last_activity_id();
rejected($ws->api($at, DELETE => "/api/v1/users/$admin_id"),
         $mark, 409, 'conflict', 'an admin deleting themself');
rejected($ws->api($at, DELETE => "/api/v1/users/$admin_id?erase=true"),
         $mark, 409, 'conflict', '... or erasing themself');
is($ws->try_login($admin_email)->{status}, 200, '... still logs in');
rejected($ws->api($at, DELETE => "/api/v1/users/$nobody"),
         $mark, 404, 'not_found', 'delete an unknown user');
rejected($ws->api($ct, DELETE => "/api/v1/users/$pam->{id}"),
         $mark, 403, 'forbidden', 'a contributor deleting someone');

# --- GDPR export and erasure ------------------------------------------------------

my $eve = $ws->api($at, POST => '/api/v1/users', json => {
    email => "eve\@$slug.example", name => 'Eve Erasable',
    password => 'Ava has a long passphrase' })->{json};
$ws->api($at, PUT => "/api/v1/teams/$red->{id}/members/$eve->{id}");
$ws->api($at, PUT => "/api/v1/users/$eve->{id}/skills",
         json => [ { skill_id => $sql_skill->{id}, level => 2 } ]);
my $eve_session = $ws->login("eve\@$slug.example", 'Ava has a long passphrase');
my $et = $eve_session->{token};
$ws->api($et, PATCH => "/api/v1/users/$eve->{id}",
         json => { name => 'Eve E.' });

# what else is hers: time, a comment, a share link, a notification
my $eproj = $ws->api($at, POST => '/api/v1/projects',
                     json => { key => 'EVE', name => 'Eve\'s' })->{json};
my $etask = $ws->api($at, POST => "/api/v1/projects/$eproj->{id}/tasks",
                     json => { title => 'Hers', assignee_ids => [ $eve->{id} ]
                             })->{json};
$ws->api($et, POST => '/api/v1/timesheets/entries',
         json => { date => '2026-11-16', minutes => 90,
                   description => 'eve worked', task_id => $etask->{id} });
$ws->api($et, POST => "/api/v1/tasks/$etask->{id}/comments",
         json => { body => 'eve says hi' });
$ws->api($et, POST => '/api/v1/share-links',
         json => { task_id => $etask->{id}, password => 'a long secret' });

$r = $ws->api($at, GET => "/api/v1/users/$eve->{id}/export");
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
is_deeply([ map { $_->{description} } @{ $x->{time_entries} } ],
          [ 'eve worked' ], '... their time entries');
is_deeply([ map { $_->{body} } @{ $x->{comments} } ], [ 'eve says hi' ],
          '... their comments');
is(scalar @{ $x->{share_links} }, 1, '... their share links');
ok(!grep({ /hash|secret/ } map { keys %$_ } @{ $x->{share_links} }),
   '... without their password hashes or keys');
is_deeply([ map { $_->{kind} } @{ $x->{notifications} } ], [ 'assigned' ],
          '... their notifications');
is_deeply($x->{timesheets}, [], '... their weeks (none submitted)');
is_deeply($x->{attachments}, [], '... their attachments (none)');
my %actions = map { $_->{action} => 1 } @{ $x->{activity} };
ok($actions{created} && $actions{updated}, '... and their activity')
    or diag explain $x->{activity};

$r = $ws->api($et, GET => "/api/v1/users/$eve->{id}/export");
is($r->{status}, 200, 'a user exports themself');
is($r->{json}{user}{id}, $eve->{id}, '... their own data');
problem_is($ws->api($ct, GET => "/api/v1/users/$eve->{id}/export"), 404,
           'not_found', "a contributor exporting someone else: 404");
problem_is($ws->api($pt, GET => "/api/v1/users/$eve->{id}/export"), 404,
           'not_found', "a manager exporting a team member: 404");

my ($audit_before) = $dbh->selectrow_array(
    q{SELECT count(*) FROM activity_log
       WHERE entity_type = 'user' AND entity_id = ?}, undef, $eve->{id});
cmp_ok($audit_before, '>=', 3, 'Ava has audit rows');

$mark = last_activity_id();
$r = $ws->api($at, DELETE => "/api/v1/users/$eve->{id}?erase=true");
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

problem_is($ws->api($at, GET => "/api/v1/users/$eve->{id}"), 404, 'not_found',
           'an erased user: GET 404');
ok(!grep({ $_ eq $eve->{id} } @{ list_ids($at, 200) }), '... not listed');
ok(!grep({ $_->{id} eq $eve->{id} }
         @{ $ws->api($at, GET => "/api/v1/teams/$red->{id}")
                ->{json}{members} }),
   '... not a team member');
problem_is($ws->api($at, GET => "/api/v1/users/$eve->{id}/export"), 404,
           'not_found', '... no export');
problem_is($ws->try_login("eve\@$slug.example", 'Ava has a long passphrase'),
           401, 'invalid_credentials', '... no login');
problem_is(refresh($eve_session->{refresh}), 401, 'invalid_token',
           '... no refresh');
problem_is($ws->api($at, PATCH => "/api/v1/users/$eve->{id}",
                    json => { name => 'Back' }),
           404, 'not_found', '... no patch');
problem_is($ws->api($at, DELETE => "/api/v1/users/$eve->{id}?erase=true"),
           404, 'not_found', '... erased once only');
is($ws->api($at, POST => '/api/v1/users', json => {
            email => "eve\@$slug.example", name => 'Another Eve',
            password => 'a new one, long enough' })->{status}, 201,
   '... and the email is free again');

Kanban::Test->done_testing;
