#!/usr/bin/perl

# What rules cost a task's write (alone: BENCH_ONLY=rules make bench).
# Two projects of one workspace, alike but for their rules: none, and 50
# (triggers on the moves and labels the writes make, each with a
# condition the tasks do not meet, so every write evaluates them all and
# none acts), then 50 of which one acts on each write (a comment). The
# writes alternate between the projects, one at a time, so that whatever
# else the machine does weighs on both: a move between two columns, then
# a label added, BENCH_RULE_WRITES times each. Printed: p50 and p99 of
# each, and the difference of the p99s (the goal: within 2 ms); and, as
# the machine's other work does not touch it, the evaluation alone:
# rules_fire() called 1,000 times in one statement on each project.

use strict;
use warnings;

use Time::HiRes qw(time);
use Kanban::Test;

$Kanban::Test::QUIET = 1;

my $N = $ENV{BENCH_RULE_WRITES} // 300;

my $t = Kanban::Test->new(log_level => 'warn')->run;
my $slug = $t->signup(prefix => 'rlb', name => 'Bench rules');
my $ws = Kanban::Test::Workspace->new($t, $slug);

sub api {
    my ($method, $path, %o) = @_;
    my $r = $ws->api($ws->admin, $method => $path, %o);
    die "$method $path: $r->{status} $r->{body}\n" unless $r->{status} =~ /^2/;
    return $r->{json};
}

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($p * $#v + 0.5)];
}

# a project with its columns and one task to write to
sub project {
    my ($key) = @_;
    my $p = api(POST => '/api/v1/projects', json => { key => $key,
                                                       name => $key });
    my %col = map { $_->{category} => $_ }
              @{ api(GET => "/api/v1/projects/$p->{id}/columns")->{items} };
    my $task = api(POST => "/api/v1/projects/$p->{id}/tasks",
                   json => { title => 'Bench', priority => 'low',
                             column_id => $col{todo}{id} });
    return { id => $p->{id}, col => \%col, task => $task, ms => [] };
}

# 50 rules the writes set off, none of whose conditions hold
sub rules {
    my ($p) = @_;
    my @cols = map { $p->{col}{$_}{id} } qw(todo in_progress review);
    for my $i (1 .. 50) {
        my $trigger = $i % 2
            ? { type => 'task_moved', column_id => $cols[$i % 3] }
            : { type => 'label_added', label => 'l' . ($i % 5) };
        api(POST => "/api/v1/projects/$p->{id}/rules", json => {
            name => "Rule $i", trigger => $trigger,
            conditions => [ { field => 'priority', op => 'eq',
                              value => 'urgent' },
                            { field => 'title', op => 'contains',
                              value => 'never' } ],
            actions => [ { type => 'comment', body => "Rule $i ran" } ] });
    }
}

# one write of each kind, timed
sub write_once {
    my ($p, $i) = @_;
    my $to = $p->{col}{ $i % 2 ? 'todo' : 'in_progress' }{id};
    my $t0 = time;
    my $r = $ws->api($ws->admin, PATCH => "/api/v1/tasks/$p->{task}{id}/move",
                     json => { column_id => $to });
    push @{ $p->{ms} }, (time - $t0) * 1000;
    die "move: $r->{status} $r->{body}\n" unless $r->{status} == 200;

    $t0 = time;
    $r = $ws->api($ws->admin, PATCH => "/api/v1/tasks/$p->{task}{id}",
                  json => { labels => [ 'l' . ($i % 5) ] });
    push @{ $p->{ms} }, (time - $t0) * 1000;
    die "label: $r->{status} $r->{body}\n" unless $r->{status} == 200;
}

sub line {
    my ($name, $p) = @_;
    printf "  %-44s n %4d   p50 %5.2f ms   p99 %5.2f ms\n", $name,
           scalar @{ $p->{ms} }, pct(0.5, @{ $p->{ms} }),
           pct(0.99, @{ $p->{ms} });
}

my $none = project('NONE');
my $fifty = project('FIFTY');
rules($fifty);

write_once($_, 0) for $none, $fifty;            # warm both
$_->{ms} = [] for $none, $fifty;

for my $i (1 .. $N) {
    write_once($none, $i);
    write_once($fifty, $i);
}

print "rules: a task's write (a move, a label added), one at a time\n";
line('no rules', $none);
line('50 rules evaluated, none acting', $fifty);
printf "  p99 difference: %+.2f ms (goal: within +2 ms)\n",
       pct(0.99, @{ $fifty->{ms} }) - pct(0.99, @{ $none->{ms} });

# one of the 50 acts on every write: its comment, run and audit rows
my $acting = project('ACT');
rules($acting);
api(POST => "/api/v1/projects/$acting->{id}/rules", json => {
    name => 'Acts', trigger => { type => 'label_added' },
    actions => [ { type => 'comment', body => 'A label was added.' } ] });
write_once($acting, 0);
$acting->{ms} = [];
write_once($acting, $_) for 1 .. $N;
line('50 rules, one acting on each label', $acting);

for my $p ([ 'no rules', $none ], [ '50 rules', $fifty ]) {
    my $t0 = time;
    $ws->dbh->do(q{DO $$ BEGIN FOR i IN 1 .. 1000 LOOP
                       PERFORM rules_fire('task_moved', '}
                 . $p->[1]{task}{id} . q{'::uuid, '{}');
                   END LOOP; END $$});
    printf "  rules_fire('task_moved'), %-16s %6.3f ms a call\n", "$p->[0]:",
           (time - $t0);
}

my $runs = $ws->dbh->selectrow_array(
    'SELECT count(*) FROM rule_runs WHERE project_id = ?', undef, $fifty->{id});
print "  runs in the project of 50 non-acting rules: $runs\n";

$t->stop;
