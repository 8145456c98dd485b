#!/usr/bin/perl

# The board under concurrent clients: task keys without gaps or duplicates
# when tasks are created at once; twenty clients moving fifty tasks at
# random, after which the board lists each task once, in rank order, with
# distinct ranks; many moves into one gap at once; WIP limits and versions
# that hold when the requests race.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(problem_is);

use List::Util qw(shuffle);
use Time::HiRes qw(time);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'race');
my $dbh = $ws->dbh;

srand($ENV{KANBAN_TEST_SEED} // time);
my $seed = srand;
note("random seed $seed (KANBAN_TEST_SEED to repeat)");

sub last_activity_id {
    my ($id) = $dbh->selectrow_array(
        'SELECT coalesce(max(id), 0) FROM activity_log');
    return $id;
}

sub count_activity {
    my ($mark, $action, $pid) = @_;
    my ($n) = $dbh->selectrow_array(
        q{SELECT count(*) FROM activity_log
           WHERE id > ? AND action = ? AND project_id = ?},
        undef, $mark, $action, $pid);
    return $n;
}

# Sends every request at once and waits for all the answers.
sub all_at_once {
    my (@conns) = @_;
    Kanban::Test::wait_all(\@conns, 60);
    return map { $_->response } @conns;
}

sub statuses {
    my %n;
    $n{ $_->{status} . ($_->{json} && $_->{json}{code}
                        ? " $_->{json}{code}" : '') }++ for @_;
    return join ', ', map { "$n{$_} x $_" } sort keys %n;
}

my $at = $ws->admin->{token};
my $pt = $ws->member('Pam', 'project_manager')->{token};
my $ct = $ws->member('Carl', 'contributor')->{token};
my @tokens = ($at, $pt, $ct);

sub project {
    my ($key) = @_;
    my $r = $ws->api($at, POST => '/api/v1/projects',
                     json => { key => $key, name => "Project $key" });
    die "project $key: $r->{status} $r->{body}" unless $r->{status} == 201;
    my $p = $r->{json};
    $r = $ws->api($at, GET => "/api/v1/projects/$p->{id}/columns");
    $p->{col} = { map { $_->{category} => $_ } @{ $r->{json}{items} } };
    return $p;
}

sub board {
    my ($p) = @_;
    my $r = $ws->api($at, GET => "/api/v1/projects/$p->{id}/kanban");
    die "kanban: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r->{json};
}

sub new_task {
    my ($p, $title, %json) = @_;
    my $r = $ws->api($at, POST => "/api/v1/projects/$p->{id}/tasks",
                     json => { title => $title, %json });
    die "task $title: $r->{status} $r->{body}" unless $r->{status} == 201;
    return $r->{json};
}

# Every column's tasks: listed with its own column, distinct ranks, sorted
# as listed (the ranks are byte strings, COLLATE "C"). Returns the problems.
sub board_problems {
    my ($board) = @_;
    my @bad;
    for my $c (@{ $board->{columns} }) {
        my %rank;
        my $prev;
        for my $task (@{ $c->{tasks} }) {
            push @bad, "$task->{key} listed in $c->{name} has column "
                       . "$task->{column_id}"
                if $task->{column_id} ne $c->{id};
            push @bad, "$task->{key} in $c->{name} has category "
                       . "$task->{category}"
                if $task->{category} ne $c->{category};
            push @bad, "rank $task->{rank} twice in $c->{name}"
                if $rank{ $task->{rank} }++;
            push @bad, "$task->{key}: rank $task->{rank} listed after $prev "
                       . "in $c->{name}"
                if defined $prev && !($prev lt $task->{rank});
            $prev = $task->{rank};
        }
    }
    return @bad;
}

sub lane {
    my ($board, $category) = @_;
    my ($c) = grep { $_->{category} eq $category } @{ $board->{columns} };
    return $c->{tasks};
}

# --- keys: 40 creates at once ------------------------------------------------------

my $kp = project('KEYS');
my $mark = last_activity_id();
my @res = all_at_once(map {
    $ws->send_api($tokens[$_ % 3], POST => "/api/v1/projects/$kp->{id}/tasks",
                  json => { title => "concurrent $_" })
} 1 .. 40);

is(scalar(grep { $_->{status} == 201 } @res), 40,
   '40 concurrent creates: all 201') or diag statuses(@res);
my @keys = sort { $a <=> $b }
           map { ($_->{json}{key} // '') =~ /^KEYS-(\d+)$/ ? $1 : -1 } @res;
is_deeply(\@keys, [ 1 .. 40 ], '... keys KEYS-1 to KEYS-40, each once');
my $numbers = $dbh->selectcol_arrayref(
    'SELECT number FROM tasks WHERE project_id = ? ORDER BY number',
    undef, $kp->{id});
is_deeply($numbers, [ 1 .. 40 ], '... and so in the database');
my %title_key = map { $_->{json}{title} => $_->{json}{key} } @res;
is(scalar keys %title_key, 40, '... one task per request');
is(count_activity($mark, 'created', $kp->{id}), 40,
   '... 40 created audit rows');
my $board = board($kp);
is(scalar @{ lane($board, 'backlog') }, 40, '... all 40 in the first column');
is_deeply([ board_problems($board) ], [],
          '... with distinct ranks, listed in rank order');

# a second wave where a quarter is refused: the others still leave no gap
$mark = last_activity_id();
@res = all_at_once(map {
    my $cat = (qw(todo review done))[$_ % 3];
    $ws->send_api($tokens[$_ % 3], POST => "/api/v1/projects/$kp->{id}/tasks",
                  json => { title => "wave 2 $_",
                            column_id => $kp->{col}{$cat}{id},
                            $_ % 4 == 0
                              ? (assignee_ids =>
                                     [ '00000000-0000-4000-8000-000000000000' ])
                              : () })
} 1 .. 20);
is(statuses(@res), '15 x 201, 5 x 422 validation_failed',
   '20 more at once, 5 with an unknown assignee: 15 made, 5 refused');
@keys = sort { $a <=> $b }
        map { $_->{json}{key} =~ /^KEYS-(\d+)$/ ? $1 : -1 }
        grep { $_->{status} == 201 } @res;
is_deeply(\@keys, [ 41 .. 55 ], '... the 15 got KEYS-41 to KEYS-55');
is(count_activity($mark, 'created', $kp->{id}), 15,
   '... 15 audit rows, none for the refused');
is(new_task($kp, 'after the waves')->{key}, 'KEYS-56',
   '... and the next one is KEYS-56');

# --- 20 clients moving 50 tasks at random ----------------------------------------------

my $mp = project('MOVES');
my @cats = qw(backlog todo in_progress review done);
my (%task, %where);             # id => task; id => category we last saw
for my $i (1 .. 50) {
    my $cat = $cats[$i % 5];
    my $task = new_task($mp, "task $i", column_id => $mp->{col}{$cat}{id});
    $task{ $task->{id} } = $task;
    $where{ $task->{id} } = $cat;
}
my %initial = %where;
my @ids = sort keys %task;

my ($clients, $per_client) = (20, 12);
my (@done, @slots, @left, $seq);
$mark = last_activity_id();

sub next_move {
    my ($client) = @_;
    my $id = $ids[ rand @ids ];
    my $cat = $cats[ rand @cats ];
    my %body = (column_id => $mp->{col}{$cat}{id});

    # an anchor from what we believe is in that column: it may have moved
    # on meanwhile, and then the move is refused with 422
    my @there = grep { $where{$_} eq $cat && $_ ne $id } @ids;
    my $how = int rand 3;
    if (@there && $how == 1) {
        $body{before_id} = $there[ rand @there ];
    } elsif (@there && $how == 2) {
        $body{after_id} = $there[ rand @there ];
    }

    # some carry the version last seen: they may be stale (409)
    $body{version} = $task{$id}{version} if rand() < 0.2;

    return { client => $client, id => $id, cat => $cat, body => \%body,
             send_seq => $seq++,
             conn => $ws->send_api($tokens[ $client % 2 ],
                                   PATCH => "/api/v1/tasks/$id/move",
                                   json => \%body) };
}

for my $i (0 .. $clients - 1) {
    $left[$i] = $per_client;
    $slots[$i] = next_move($i);
}

my $deadline = time + 60;
while (time < $deadline) {
    my @open = grep { defined } @slots;
    last unless @open;
    Kanban::Test::pump([ map { $_->{conn} } @open ], 0.02);

    for my $i (0 .. $#slots) {
        my $job = $slots[$i] or next;
        next unless $job->{conn}->done;

        $job->{done_seq} = $seq++;
        my $res = $job->{response} = $job->{conn}->response;
        delete $job->{conn};
        push @done, $job;
        if ($res->{status} == 200) {
            $task{ $job->{id} } = $res->{json};
            $where{ $job->{id} } = $job->{cat};
        }

        $slots[$i] = --$left[$i] > 0 ? next_move($i) : undef;
    }
}

is(scalar @done, $clients * $per_client,
   "$clients clients made $per_client moves each, all answered");
my @ok = grep { $_->{response}{status} == 200 } @done;
my @odd = grep {
    my $s = $_->{response}{status};
    my $code = ($_->{response}{json} // {})->{code} // '';
    !($s == 200
      || ($s == 422 && $code eq 'validation_failed'
          && ($_->{body}{before_id} || $_->{body}{after_id}))
      || ($s == 409 && $code eq 'version_conflict'
          && defined $_->{body}{version}))
} @done;
is(scalar @odd, 0, '... each answered 200, or 422 for an anchor that moved '
                   . 'away, or 409 for a stale version')
    or diag explain [ map { { status => $_->{response}{status},
                              body => $_->{body},
                              answer => substr($_->{response}{body}, 0, 300) } }
                      @odd[0 .. ($#odd > 4 ? 4 : $#odd)] ];
cmp_ok(scalar @ok, '>=', @done / 2, '... most of them moved')
    or diag statuses(map { $_->{response} } @done);
note('moves: ' . statuses(map { $_->{response} } @done));

$board = board($mp);
my %listed;
$listed{ $_->{id} }++ for map { @{ $_->{tasks} } } @{ $board->{columns} };
is_deeply([ sort keys %listed ], \@ids,
          'after the storm the board lists exactly the fifty tasks');
is_deeply([ grep { $listed{$_} != 1 } sort keys %listed ], [],
          '... each of them once');
is_deeply([ board_problems($board) ], [],
          '... every column with distinct ranks, listed in rank order');

my $db = $dbh->selectall_hashref(
    'SELECT id, column_id, rank FROM tasks WHERE project_id = ?', 'id',
    undef, $mp->{id});
is_deeply({ map { $_->{id} => "$_->{column_id} $_->{rank}" }
            map { @{ $_->{tasks} } } @{ $board->{columns} } },
          { map { $_ => "$db->{$_}{column_id} $db->{$_}{rank}" } keys %$db },
          '... as the database has them');

# Where each task ended: in the column of one of its successful moves (or
# where it began); and where its last successful move was alone, no other
# move of that task in flight with or after it, in exactly that column.
my %col_cat = map { $mp->{col}{$_}{id} => $_ } @cats;
my %final = map { $_->{id} => $col_cat{ $_->{column_id} } }
            map { @{ $_->{tasks} } } @{ $board->{columns} };
my (@lost, $checked);
for my $id (@ids) {
    my @mine = grep { $_->{id} eq $id } @done;
    my @won = grep { $_->{response}{status} == 200 } @mine;
    my %possible = map { $_->{cat} => 1 } @won;
    $possible{ $initial{$id} } = 1 unless @won;
    push @lost, "$task{$id}{key} ended in " . ($final{$id} // 'nowhere')
        unless $possible{ $final{$id} // '' };

    my ($last) = sort { $b->{done_seq} <=> $a->{done_seq} } @won;
    next unless $last;
    next if grep { $_ != $last && $_->{done_seq} > $last->{send_seq} } @mine;
    $checked++;
    push @lost, "$task{$id}{key}: last moved to $last->{cat}, is in "
                . ($final{$id} // 'nowhere')
        unless ($final{$id} // '') eq $last->{cat};
}
is_deeply(\@lost, [], 'no move was lost: each task is where its moves put it');
cmp_ok($checked // 0, '>=', 10, "... $checked of them by their last move alone");

is(count_activity($mark, 'moved', $mp->{id}), scalar @ok,
   '... one moved audit row per successful move, none for the refused');

# --- many moves into one gap at once ---------------------------------------------------

my $gp = project('GAP');
my $p_task = new_task($gp, 'P', column_id => $gp->{col}{review}{id});
my $q_task = new_task($gp, 'Q', column_id => $gp->{col}{review}{id});
my @movers = map { new_task($gp, "m$_") } 1 .. 20;

@res = all_at_once(map {
    $ws->send_api($at, PATCH => "/api/v1/tasks/$_->{id}/move",
                  json => { column_id => $gp->{col}{review}{id},
                            after_id => $p_task->{id} })
} @movers);
is(statuses(@res), '20 x 200', '20 moves at once, each just below P: all 200');
my @lane = map { $_->{title} } @{ lane(board($gp), 'review') };
is(scalar @lane, 22, '... Review holds 22');
is($lane[0], 'P', '... P first');
is($lane[-1], 'Q', '... Q last: all twenty went between them');
is_deeply([ board_problems(board($gp)) ], [],
          '... distinct ranks in order');
my %rank = map { $_->{json}{id} => $_->{json}{rank} } @res;
is_deeply({ map { $_->{id} => $_->{rank} } @{ lane(board($gp), 'review') } },
          { %rank, $p_task->{id} => $p_task->{rank},
            $q_task->{id} => $q_task->{rank} },
          '... each at the rank its answer gave');

@res = all_at_once(map {
    $ws->send_api($pt, PATCH => "/api/v1/tasks/$_->{id}/move",
                  json => { column_id => $gp->{col}{review}{id},
                            before_id => $p_task->{id} })
} @movers[0 .. 9]);
is(statuses(@res), '10 x 200', '10 of them at once just above P: all 200');
@lane = map { $_->{title} } @{ lane(board($gp), 'review') };
my ($p_at) = grep { $lane[$_] eq 'P' } 0 .. $#lane;
is($p_at, 10, '... P now comes after those ten');
is_deeply([ sort @lane[0 .. 9] ], [ sort map { $_->{title} } @movers[0 .. 9] ],
          '... which are the ten moved');
is($lane[-1], 'Q', '... and Q is still last');
is_deeply([ board_problems(board($gp)) ], [],
          '... distinct ranks in order');

# --- WIP limits and versions when requests race ----------------------------------------

my $wp = project('WIP');
my $lim = $ws->api($at, PATCH => "/api/v1/columns/$wp->{col}{in_progress}{id}",
                   json => { wip_limit => 3 });
is($lim->{status}, 200, 'In Progress limited to 3');
my @wt = map { new_task($wp, "w$_") } 1 .. 12;
$mark = last_activity_id();
@res = all_at_once(map {
    $ws->send_api($at, PATCH => "/api/v1/tasks/$_->{id}/move",
                  json => { column_id => $wp->{col}{in_progress}{id} })
} @wt);
is(statuses(@res), '3 x 200, 9 x 409 wip_limit_reached',
   '12 moves at once into a column limited to 3: 3 go in');
is(scalar @{ lane(board($wp), 'in_progress') }, 3,
   '... the column holds 3');
is(count_activity($mark, 'moved', $wp->{id}), 3, '... 3 moved audit rows');

$ws->api($at, PATCH => "/api/v1/columns/$wp->{col}{review}{id}",
         json => { wip_limit => 4 });
my ($before_max) = $dbh->selectrow_array(
    'SELECT max(number) FROM tasks WHERE project_id = ?', undef, $wp->{id});
$mark = last_activity_id();
@res = all_at_once(map {
    $ws->send_api($tokens[$_ % 3], POST => "/api/v1/projects/$wp->{id}/tasks",
                  json => { title => "into review $_",
                            column_id => $wp->{col}{review}{id} })
} 1 .. 10);
is(statuses(@res), '4 x 201, 6 x 409 wip_limit_reached',
   '10 creates at once into a column limited to 4: 4 made');
is(scalar @{ lane(board($wp), 'review') }, 4, '... the column holds 4');
is_deeply([ sort { $a <=> $b } map { $_->{json}{key} =~ /-(\d+)$/ ? $1 : -1 }
            grep { $_->{status} == 201 } @res ],
          [ $before_max + 1 .. $before_max + 4 ],
          '... with the next four keys, no gap for the refused');
is(count_activity($mark, 'created', $wp->{id}), 4, '... 4 audit rows');

my $vt = $wt[-1];
my $v = $ws->api($at, GET => "/api/v1/tasks/$vt->{id}")->{json}{version};
$mark = last_activity_id();
# into columns without a WIP limit: a move that takes the task's lock
# first and finds its column full is refused for that, and another wins
my @open = qw(backlog todo done);
@res = all_at_once(map {
    $ws->send_api($at, PATCH => "/api/v1/tasks/$vt->{id}/move",
                  json => { column_id => $wp->{col}{ $open[$_ % 3] }{id},
                            version => $v })
} 0 .. 9);
is(statuses(@res), '1 x 200, 9 x 409 version_conflict',
   '10 moves of one task at once, all with its version: one wins');
my ($winner) = grep { $_->{status} == 200 } @res;
my $r = $ws->api($at, GET => "/api/v1/tasks/$vt->{id}");
is($r->{json}{version}, $v + 1, '... the version went up once');
is($r->{json}{column_id}, $winner->{json}{column_id},
   "... the task is where the winner put it");
is(count_activity($mark, 'moved', $wp->{id}), 1, '... one audit row');

$v = $r->{json}{version};
$mark = last_activity_id();
@res = all_at_once(map {
    $ws->send_api($tokens[$_ % 2], PATCH => "/api/v1/tasks/$vt->{id}",
                  json => { title => "edit $_", version => $v })
} 1 .. 10);
is(statuses(@res), '1 x 200, 9 x 409 version_conflict',
   '10 edits at once with the same version: one wins');
($winner) = grep { $_->{status} == 200 } @res;
$r = $ws->api($at, GET => "/api/v1/tasks/$vt->{id}");
is($r->{json}{title}, $winner->{json}{title}, "... the winner's title stays");
is($r->{json}{version}, $v + 1, '... the version went up once');
is(count_activity($mark, 'updated', $wp->{id}), 1, '... one audit row');

Kanban::Test->done_testing;
