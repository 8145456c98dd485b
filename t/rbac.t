#!/usr/bin/perl

# Who may do what with people, teams and skills: every route of them called
# as an admin, a project manager (in a team with a contributor), a
# contributor and nobody, against the rules of API.md; what the refused
# calls left unchanged; and tenant isolation: a token of one workspace on
# another's host, another workspace's admin on this one's ids.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new->run;

my $slug = $t->signup(prefix => 'rbac');
my $dbh = $t->tenant_dbh($slug);
my $password = 'correct horse battery staple';
my @roles = qw(admin pm contributor none);
my %code = (401 => 'unauthorized', 403 => 'forbidden', 404 => 'not_found',
            409 => 'conflict');

sub login {
    my ($email, $host) = @_;
    my $r = $t->req(POST => '/api/v1/auth/login', host => $host // $slug,
                    json => { email => $email, password => $password });
    die "login of $email: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r->{json};
}

sub api {
    my ($method, $path, $token, %o) = @_;
    return $t->req($method => $path, host => $o{host} // $slug,
                   headers => { $token ? (Authorization => "Bearer $token")
                                       : () },
                   exists $o{json} ? (json => $o{json}) : ());
}

# a status, and for an error the problem with its code
sub status_is {
    my ($r, $status, $name) = @_;
    return problem_is($r, $status, $code{$status}, $name) if $status >= 400;
    is($r->{status}, $status, $name) or diag substr($r->{body}, 0, 300);
}

my $admin = login("admin\@$slug.example");
my $at = $admin->{access_token};

sub user {
    my ($name, %o) = @_;
    my $r = api(POST => '/api/v1/users', $at, json => {
        email => lc("$name\@$slug.example"), name => $name,
        password => $password, %o });
    die "create $name: $r->{status} $r->{body}" unless $r->{status} == 201;
    return $r->{json};
}

sub team {
    my ($name, @members) = @_;
    my $r = api(POST => '/api/v1/teams', $at, json => { name => $name });
    die "create $name: $r->{status} $r->{body}" unless $r->{status} == 201;
    for (@members) {
        my $m = api(PUT => "/api/v1/teams/$r->{json}{id}/members/$_->{id}",
                    $at);
        die "member: $m->{status} $m->{body}" unless $m->{status} == 204;
    }
    return $r->{json};
}

my $pam = user('Pam', role => 'project_manager');
my $carl = user('Carl');
my $cleo = user('Cleo');
my $dora = user('Dora');
my $mo = user('Mo');
my $team = team('Alpha', $pam, $carl);
my $other_team = team('Beta', $cleo);
my $member_team = team('Gamma');
my $skill = api(POST => '/api/v1/skills', $at, json => { name => 'Go' })
    ->{json};

my %user = (admin => $admin->{user}, pm => $pam, contributor => $carl);
my %token = (admin => $at,
             pm => login("pam\@$slug.example")->{access_token},
             contributor => login("carl\@$slug.example")->{access_token},
             none => undef);
my $cleo_token = login("cleo\@$slug.example")->{access_token};

# the role's own user; nobody's "own" is Carl's
sub self_id { ($user{ $_[0] } // $carl)->{id} }

# per-role victims of the destructive routes
my (%victim, %erasee, %doomed_team);
for my $role (@roles) {
    $victim{$role} = user("Victim-$role");
    $erasee{$role} = user("Erasee-$role");
    $doomed_team{$role} = team("Doomed-$role");
}

# --- what each sees ------------------------------------------------------------

sub ids { [ sort map { $_->{id} } @{ $_[0]{json}{items} // [] } ] }

my $everyone = $dbh->selectcol_arrayref(
    q{SELECT id::text FROM users WHERE status <> 'erased' ORDER BY id});
is_deeply(ids(api(GET => '/api/v1/users?limit=200', $at)), $everyone,
          'users: an admin sees everyone');
is_deeply(ids(api(GET => '/api/v1/users', $token{pm})),
          [ sort $pam->{id}, $carl->{id} ],
          'users: a manager sees themself and their team');
is_deeply(ids(api(GET => '/api/v1/users', $token{contributor})),
          [ $carl->{id} ], 'users: a contributor only themself');

sub team_names { [ sort map { $_->{name} } @{ $_[0]{json}{items} // [] } ] }

is_deeply(team_names(api(GET => '/api/v1/teams', $at)),
          [ sort 'Alpha', 'Beta', 'Gamma', map { "Doomed-$_" } @roles ],
          'teams: an admin sees all');
is_deeply(team_names(api(GET => '/api/v1/teams', $token{pm})), [ 'Alpha' ],
          "teams: a manager sees their team");
is_deeply(team_names(api(GET => '/api/v1/teams', $token{contributor})),
          [ 'Alpha' ], "teams: a contributor sees their team");
is_deeply(team_names(api(GET => '/api/v1/teams', $cleo_token)), [ 'Beta' ],
          "teams: another contributor sees theirs");

# --- the table ------------------------------------------------------------------

my $mark = do {
    my ($id) = $dbh->selectrow_array(
        'SELECT coalesce(max(id), 0) FROM activity_log');
    $id;
};

my %level = (admin => 1, pm => 2, contributor => 3, none => 4);

my @table = (
    # method, path (or sub of the role), body (or sub), admin pm contr. none
    [ GET => '/api/v1/users', undef, 200, 200, 200, 401 ],
    [ POST => '/api/v1/users',
      sub { { email => "new-$_[0]\@$slug.example", name => "New $_[0]",
              password => $password } },
      201, 403, 403, 401 ],
    [ GET => "/api/v1/users/$carl->{id}", undef, 200, 200, 200, 401 ],
    [ GET => "/api/v1/users/$pam->{id}", undef, 200, 200, 404, 401 ],
    [ GET => "/api/v1/users/$cleo->{id}", undef, 200, 404, 404, 401 ],
    [ GET => "/api/v1/users/$admin->{user}{id}", undef, 200, 404, 404, 401 ],
    [ PATCH => "/api/v1/users/$carl->{id}",
      sub { { name => "Carl by $_[0]" } }, 200, 403, 200, 401 ],
    [ PATCH => "/api/v1/users/$cleo->{id}",
      sub { { name => "Cleo by $_[0]" } }, 200, 404, 404, 401 ],
    [ PATCH => sub { '/api/v1/users/' . self_id($_[0]) },
      sub { { name => "Self of $_[0]", email => "self-$_[0]\@$slug.example" } },
      200, 200, 200, 401 ],
    [ PATCH => sub { '/api/v1/users/' . self_id($_[0]) },
      sub { { role => $_[0] eq 'pm' ? 'project_manager' : $_[0] eq 'admin'
                      ? 'admin' : 'contributor' } },
      200, 403, 403, 401 ],
    [ PATCH => sub { '/api/v1/users/' . self_id($_[0]) },
      { status => 'active' }, 200, 403, 403, 401 ],
    [ PATCH => sub { '/api/v1/users/'
                     . ($_[0] eq 'admin' ? $dora->{id} : self_id($_[0])) },
      { password => 'a new password for me' }, 200, 403, 403, 401 ],
    [ PATCH => "/api/v1/users/$carl->{id}", { role => 'admin' },
      undef, 403, 403, 401 ],
    [ PATCH => sub { '/api/v1/users/' . self_id($_[0]) },
      { weekly_capacity_minutes => 2400 }, 200, 403, 403, 401 ],
    [ PATCH => "/api/v1/users/$carl->{id}", { weekly_capacity_minutes => 1 },
      undef, 403, 403, 401 ],
    [ DELETE => sub { "/api/v1/users/$victim{ $_[0] }{id}" }, undef,
      204, 403, 403, 401 ],
    [ DELETE => sub { "/api/v1/users/$erasee{ $_[0] }{id}?erase=true" }, undef,
      204, 403, 403, 401 ],
    [ GET => sub { '/api/v1/users/' . self_id($_[0]) . '/export' }, undef,
      200, 200, 200, 401 ],
    [ GET => "/api/v1/users/$carl->{id}/export", undef, 200, 404, 200, 401 ],
    [ GET => "/api/v1/users/$cleo->{id}/export", undef, 200, 404, 404, 401 ],
    [ PUT => sub { '/api/v1/users/' . self_id($_[0]) . '/skills' },
      sub { [ { skill_id => $skill->{id}, level => $level{ $_[0] } } ] },
      200, 200, 200, 401 ],
    [ PUT => "/api/v1/users/$carl->{id}/skills",
      sub { [ { skill_id => $skill->{id}, level => $level{ $_[0] } } ] },
      200, 403, 200, 401 ],
    [ PUT => "/api/v1/users/$cleo->{id}/skills",
      sub { [ { skill_id => $skill->{id}, level => $level{ $_[0] } } ] },
      200, 404, 404, 401 ],

    [ GET => '/api/v1/teams', undef, 200, 200, 200, 401 ],
    [ POST => '/api/v1/teams', sub { { name => "Team of $_[0]" } },
      201, 403, 403, 401 ],
    [ GET => "/api/v1/teams/$team->{id}", undef, 200, 200, 200, 401 ],
    [ GET => "/api/v1/teams/$other_team->{id}", undef, 200, 404, 404, 401 ],
    [ PATCH => "/api/v1/teams/$team->{id}",
      sub { { description => "by $_[0]" } }, 200, 403, 403, 401 ],
    [ PATCH => "/api/v1/teams/$other_team->{id}",
      sub { { description => "by $_[0]" } }, 200, 403, 403, 401 ],
    [ DELETE => sub { "/api/v1/teams/$doomed_team{ $_[0] }{id}" }, undef,
      204, 403, 403, 401 ],
    [ PUT => "/api/v1/teams/$member_team->{id}/members/$mo->{id}", undef,
      204, 403, 403, 401 ],
    [ PUT => "/api/v1/teams/$team->{id}/members/$cleo->{id}", undef,
      undef, 403, 403, 401 ],
    [ DELETE => "/api/v1/teams/$member_team->{id}/members/$mo->{id}", undef,
      204, 403, 403, 401 ],
    [ DELETE => "/api/v1/teams/$team->{id}/members/$carl->{id}", undef,
      undef, 403, 403, 401 ],

    [ GET => '/api/v1/skills', undef, 200, 200, 200, 401 ],
    [ POST => '/api/v1/skills', sub { { name => "Skill of $_[0]" } },
      201, 403, 403, 401 ],

    [ GET => '/api/v1/auth/me', undef, 200, 200, 200, 401 ],
);

for my $row (@table) {
    my ($method, $path, $body, @want) = @$row;
    for my $i (0 .. $#roles) {
        my $role = $roles[$i];
        next unless defined $want[$i];
        my $p = ref $path ? $path->($role) : $path;
        my $b = ref $body eq 'CODE' ? $body->($role) : $body;
        my $r = api($method => $p, $token{$role},
                    defined $b ? (json => $b) : ());
        (my $shown = $p) =~ s/[0-9a-f]{8}-[0-9a-f-]{27}/{id}/g;
        status_is($r, $want[$i], "$role: $method $shown");
    }
}

# a token that is no token
problem_is(api(GET => '/api/v1/users', 'not.a.token'), 401, 'unauthorized',
           'a garbage token: 401');

# --- what the refused calls left alone ---------------------------------------------

sub one {
    my ($sql, @bind) = @_;
    my ($v) = $dbh->selectrow_array($sql, undef, @bind);
    return $v;
}

is(one('SELECT count(*) FROM users WHERE email LIKE ?', 'new-%'), 1,
   'of the users created, only the admin\'s exists');
is(one('SELECT name FROM users WHERE email = ?', "new-admin\@$slug.example"),
   'New admin', '... which is the admin\'s');
is(one('SELECT status FROM users WHERE id = ?', $victim{admin}{id}),
   'disabled', "the admin's delete disabled its victim");
is(one('SELECT status FROM users WHERE id = ?', $erasee{admin}{id}),
   'erased', "the admin's erase erased its victim");
for my $role (qw(pm contributor none)) {
    is(one('SELECT status FROM users WHERE id = ?', $victim{$role}{id}),
       'active', "$role\'s delete left its victim active");
    is(one('SELECT name FROM users WHERE id = ?', $erasee{$role}{id}),
       "Erasee-$role", "$role\'s erase left its victim alone");
    is(one('SELECT count(*) FROM teams WHERE name = ?', "Team of $role"), 0,
       "$role created no team");
    is(one('SELECT count(*) FROM teams WHERE id = ?', $doomed_team{$role}{id}),
       1, "$role deleted no team");
    is(one('SELECT count(*) FROM skills WHERE name = ?', "Skill of $role"), 0,
       "$role created no skill");
}
is(one('SELECT count(*) FROM teams WHERE id = ?', $doomed_team{admin}{id}), 0,
   "the admin deleted a team");
is(one('SELECT name FROM users WHERE id = ?', $cleo->{id}), 'Cleo by admin',
   "Cleo's name is the admin's doing only");
is(one('SELECT role FROM users WHERE id = ?', $carl->{id}), 'contributor',
   'Carl is still a contributor');
is(one('SELECT role FROM users WHERE id = ?', $pam->{id}), 'project_manager',
   'Pam is still a project manager');
is(one('SELECT level FROM user_skills WHERE user_id = ?', $carl->{id}), 3,
   "Carl's skill level is his own, not the manager's");
is(one('SELECT level FROM user_skills WHERE user_id = ?', $cleo->{id}), 1,
   "Cleo's skill level is the admin's");
is(one('SELECT description FROM teams WHERE id = ?', $team->{id}), 'by admin',
   "the team's description is the admin's");
is_deeply($dbh->selectcol_arrayref(
              'SELECT user_id::text FROM team_members WHERE team_id = ?
                ORDER BY user_id', undef, $team->{id}),
          [ sort $pam->{id}, $carl->{id} ],
          "the team's members are as they were: none added, none removed");
is(one('SELECT count(*) FROM team_members WHERE team_id = ?',
       $member_team->{id}), 0, "the admin's member added and removed");

is(one('SELECT count(*) FROM activity_log WHERE id > ? AND actor_id IS NULL',
       $mark), 0, 'every audit row of the table names its actor');

my %by = map { ($_->[0] // 'nobody') => $_->[1] } @{ $dbh->selectall_arrayref(
    q{SELECT actor_id::text, count(*) FROM activity_log
       WHERE id > ? GROUP BY actor_id}, undef, $mark) };
is($by{ $pam->{id} } // 0, 2,
   "the manager's audit rows: their own name, their own skills");
is($by{ $carl->{id} } // 0, 4,
   "the contributor's: their name twice, their skills twice");

# --- tenant isolation ------------------------------------------------------------

my $other = $t->signup(prefix => 'rbac');
my $bt = login("admin\@$other.example", $other)->{access_token};

for my $role (qw(admin pm contributor)) {
    for my $route ([ GET => '/api/v1/users' ], [ GET => '/api/v1/auth/me' ],
                   [ GET => '/api/v1/teams' ], [ GET => '/api/v1/skills' ])
    {
        problem_is(api(@$route, $token{$role}, host => $other), 401,
                   'unauthorized',
                   "$role of A on B's host: $route->[0] $route->[1]");
    }
}
problem_is(api(POST => '/api/v1/users', $at, host => $other,
               json => { email => "spy\@$other.example", name => 'Spy',
                         password => $password }),
           401, 'unauthorized', "A's admin creating a user on B: 401");
problem_is(api(DELETE => "/api/v1/users/$admin->{user}{id}", $at,
               host => $other),
           401, 'unauthorized', "A's admin deleting on B: 401");

sub snapshot {
    my @s;
    for my $table (qw(users teams team_members skills user_skills)) {
        push @s, $dbh->selectall_arrayref(
            "SELECT to_jsonb(x)::text FROM $table x ORDER BY 1");
    }
    push @s, one('SELECT count(*) FROM activity_log');
    push @s, one('SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL');
    return \@s;
}

my $before = snapshot();
my $b_team = api(POST => '/api/v1/teams', $bt, host => $other,
                 json => { name => 'B team' })->{json};
ok($b_team->{id}, "B's admin has a team of B's");

my @cross = (
    [ GET => "/api/v1/users/$carl->{id}" ],
    [ PATCH => "/api/v1/users/$carl->{id}", { name => 'From B' } ],
    [ PATCH => "/api/v1/users/$carl->{id}", { status => 'disabled' } ],
    [ DELETE => "/api/v1/users/$carl->{id}" ],
    [ DELETE => "/api/v1/users/$pam->{id}?erase=true" ],
    [ GET => "/api/v1/users/$carl->{id}/export" ],
    [ PUT => "/api/v1/users/$carl->{id}/skills", [] ],
    [ GET => "/api/v1/teams/$team->{id}" ],
    [ PATCH => "/api/v1/teams/$team->{id}", { name => 'From B' } ],
    [ DELETE => "/api/v1/teams/$team->{id}" ],
    [ PUT => "/api/v1/teams/$team->{id}/members/$carl->{id}" ],
    [ DELETE => "/api/v1/teams/$team->{id}/members/$carl->{id}" ],
    [ PUT => "/api/v1/teams/$b_team->{id}/members/$carl->{id}" ],
);
for my $c (@cross) {
    my ($method, $path, $body) = @$c;
    (my $shown = $path) =~ s/[0-9a-f]{8}-[0-9a-f-]{27}/{id}/g;
    problem_is(api($method => $path, $bt, host => $other,
                   defined $body ? (json => $body) : ()),
               404, 'not_found', "B's admin, A's id: $method $shown");
}

problem_is(api(DELETE => "/api/v1/teams/$b_team->{id}", $at, host => $other),
           401, 'unauthorized', "A's admin deleting B's team on B's host");
problem_is(api(PUT => "/api/v1/teams/$b_team->{id}/members/$carl->{id}", $at,
               host => $other),
           401, 'unauthorized', "A's admin adding to B's team on B's host");
is(api(GET => "/api/v1/teams/$b_team->{id}", $bt, host => $other)->{status},
   200, "... B's team is still there");

my $b_ids = ids(api(GET => '/api/v1/users?limit=200', $bt, host => $other));
is(scalar @$b_ids, 1, "B's admin lists B's one user");
ok(!grep({ my $id = $_; grep { $_ eq $id } @$everyone } @$b_ids),
   '... none of A\'s');
is(scalar @{ api(GET => "/api/v1/teams/$b_team->{id}", $bt, host => $other)
                 ->{json}{members} // [] }, 0,
   "B's team has no member of A's");
is(scalar @{ api(GET => '/api/v1/teams', $bt, host => $other)
                 ->{json}{items} // [] }, 1, "B sees its one team only");

is_deeply(snapshot(), $before, "A's data is unchanged, to the row");
is(api(GET => "/api/v1/users/$carl->{id}", $at)->{status}, 200,
   "A's admin still reads Carl");
is(api(GET => '/api/v1/auth/me', $token{contributor})->{status}, 200,
   "... and Carl's token still works on A");

Kanban::Test->done_testing;
