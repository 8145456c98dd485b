#!/usr/bin/perl

# Every route of every route table, called as nobody,
# as a contributor and as a project manager: a route for members is 401
# without a token, one for managers 403 to a contributor, one for admins
# 403 to a manager, whatever its body or ids, and before anything runs
# (no audit row). Public routes answer without a token. A route added to
# the table is covered here without a line more.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);

# Every route table: each module's own, handed to the router with
# ngx_kanban_routes_add. An entry names its method, path, host and access
# itself, or through a macro whose body does ({ method, pattern, HOST,
# ACCESS, ...}): one of its file's, or one of the core's route header
# (ngx_kanban_sql_route).
sub route_macros {
    my ($src) = @_;
    my %macro;

    while ($src =~ /\#define\s+(\w+)\(method,\s*pattern,([^)]*)\)\s*\\\s*
                    \{\s*method,\s*pattern,\s*
                    (?:NGX_KANBAN_HOST_(\w+),)?\s*
                    (?:NGX_KANBAN_ACCESS_(\w+)|(access))/gx)
    {
        $macro{$1} = { host => $3 // 'TENANT', access => $4 };
    }

    return %macro;
}

my %core_macro = route_macros(Kanban::Test::read_file(
    "$Kanban::Test::ROOT/ngx_kanban_module/ngx_kanban_routes.h"));
ok($core_macro{ngx_kanban_sql_route}, "the core's route macro read");

my @routes;
for my $file (glob("$Kanban::Test::ROOT/modules/*.c"),
              glob("$Kanban::Test::ROOT/modules/*/*.c"))
{
    my $src = Kanban::Test::read_file($file);
    my %macro = (%core_macro, route_macros($src));

    while ($src =~ /(\w+)\(NGX_HTTP_(\w+),\s*"([^"]+)",
                    (?:\s*NGX_KANBAN_ACCESS_(\w+))?/gx)
    {
        my $m = $macro{$1} or next;
        push @routes, { method => $2, path => $3, host => $m->{host},
                        access => $m->{access} // $4 // next };
    }

    while ($src =~ /\{\s*NGX_HTTP_(\w+),\s*"([^"]+)",
                    (?:\s*NGX_KANBAN_HOST_(\w+),)?
                    \s*NGX_KANBAN_ACCESS_(\w+)/gx)
    {
        push @routes, { method => $1, path => $2, host => $3 // 'TENANT',
                        access => $4 };
    }
}

my %tables = map { $_->{path} =~ m{^/api/v1/(insights|webhooks)} ? ($1 => 1)
                                                                  : () }
             @routes;
ok($tables{insights} && $tables{webhooks},
   "the modules' own tables read too");
cmp_ok(scalar @routes, '>', 90, 'the route table read: ' . @routes
                                . ' routes');

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'roles');
my $carl = $ws->member('Carl');
my $pam = $ws->member('Pam', 'project_manager');
my $dbh = $ws->dbh;

my $id = '00000000-0000-4000-8000-000000000000';
sub path_of {
    my ($p) = @_;
    $p =~ s/\{code\}/AAAAAAAAAA/g;
    $p =~ s/\{[a-z_]+\}/$id/g;
    return $p;
}

my ($mark) = $dbh->selectrow_array(
    'SELECT coalesce(max(id), 0) FROM activity_log');

for my $r (grep { $_->{host} eq 'TENANT' } @routes) {
    my ($method, $path) = ($r->{method}, path_of($r->{path}));
    my $name = "$method $r->{path}";

    if ($r->{access} eq 'PUBLIC') {
        my $res = $ws->api(undef, $method => $path);
        isnt($res->{status}, 401, "$name: public, no 401");
        next;
    }

    problem_is($ws->api(undef, $method => $path), 401, 'unauthorized',
               "$name: nobody");

    if ($r->{access} eq 'MANAGER' || $r->{access} eq 'ADMIN') {
        problem_is($ws->api($carl, $method => $path), 403, 'forbidden',
                   "$name: a contributor");
    }

    if ($r->{access} eq 'ADMIN') {
        problem_is($ws->api($pam, $method => $path), 403, 'forbidden',
                   "$name: a project manager");
    }
}

my ($after) = $dbh->selectrow_array(
    'SELECT count(*) FROM activity_log WHERE id > ?', undef, $mark);
is($after, 0, 'no refused call left an audit row');

$t->done_testing;
