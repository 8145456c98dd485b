#!/usr/bin/perl

# PostgreSQL's disk full: a workspace's tasks and audit rows are moved to
# a tablespace on a tmpfs of 8 MiB, and tasks with 20,000-character
# descriptions are created until it is full. Each write then fails whole,
# with a clear 503 (problem+json, code unavailable), never half-applied,
# while reads go on; once the filesystem grows, writes succeed again with
# the same nginx. (The WAL stays on the main disk: a full WAL disk stops
# PostgreSQL itself, which t/faults/pg_kill.pl covers as a crash.)
# Needs root to mount a tmpfs; skipped where that is refused.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);
use Faults;

my $stack = Kanban::Test::Stack->private;
my $dir = $stack->{var} . '/small';
mkdir $dir;
system('mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', $dir) == 0
    or plan skip_all => 'cannot mount a tmpfs here';
END { system('umount', '-l', $dir) if $dir && -d $dir }
system('chown', 'postgres:postgres', $dir) == 0 or die "chown: $?";

my $t = Kanban::Test->new(stack => $stack)->run;
my $ws = $t->workspace(prefix => 'faultdisk');
my $at = $ws->admin->{token};
my $r = $ws->api($at, POST => '/api/v1/projects',
                 json => { key => 'DSK', name => 'Disk' });
my $project = $r->{json}{id};

$stack->dbh('postgres')->do("CREATE TABLESPACE small LOCATION '$dir'");
my $dbh = $ws->dbh;
$dbh->do("ALTER TABLE $_ SET TABLESPACE small") for qw(tasks activity_log);

my @chars = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
my $text = sub { join '', map { $chars[rand @chars] } 1 .. 20000 };

my (%status, @order);
my $full;
for my $i (1 .. 2000) {
    my $title = "disk $i";
    $r = $ws->api($at, POST => "/api/v1/projects/$project/tasks",
                  json => { title => $title, description => $text->() });
    $status{$title} = $r->{status};
    push @order, $title;
    if ($r->{status} != 201) {
        $full = $r;
        last;
    }
}
ok($full, 'the tablespace filled up after ' . (@order - 1) . ' tasks');
problem_is($full, 503, 'unavailable', 'a write then: 503 unavailable');

# more writes: all refused the same way; reads go on
my @more = map {
    my $title = "disk more $_";
    my $x = $ws->api($at, POST => "/api/v1/projects/$project/tasks",
                     json => { title => $title, description => $text->() });
    $status{$title} = $x->{status};
    $x->{status};
} 1 .. 10;
is(scalar(grep { $_ != 503 } @more), 0, '10 more writes: all 503')
    or diag("@more");
is($ws->api($at, GET => "/api/v1/projects/$project")->{status}, 200,
   'reads still answer');

# room again
system('mount', '-o', 'remount,size=64m', $dir) == 0 or die "remount: $?";
my $start = time;
$r = $ws->api($at, POST => "/api/v1/projects/$project/tasks",
              json => { title => 'disk after', description => $text->() });
is($r->{status}, 201, 'room again: a write succeeds, the same nginx');
$status{'disk after'} = $r->{status};

my $rows = $dbh->selectall_hashref(
    q{SELECT t.title, count(a.id) AS audits
        FROM tasks t LEFT JOIN activity_log a
          ON a.entity_type = 'task' AND a.entity_id = t.id
         AND a.action = 'created'
       WHERE t.project_id = ? GROUP BY t.title}, 'title', undef, $project);
my @acked = grep { $status{$_} == 201 } keys %status;
is(scalar(grep { !$rows->{$_} } @acked), 0, 'every 201 is stored');
is(scalar(grep { $status{$_} != 201 } keys %$rows), 0,
   'no refused write is stored');
is(scalar(grep { $rows->{$_}{audits} != 1 } keys %$rows), 0,
   'each stored task has its audit row');

# the refusals are logged, as errors (not alerts)
my $log = Kanban::Test::read_file($t->var . '/log/error.log');
like($log, qr/No space left on device|could not extend/,
     'the error log says why');

printf STDERR "faults: disk_full: full after %d tasks of 20,000 characters "
    . "in 8 MiB; then %d writes: %s; reads 200; after growing it, a write "
    . "%s\n", @order - 1, 1 + @more, join(' ', $full->{status}, @more),
    $status{'disk after'};

$dbh->disconnect;
# PostgreSQL still holds its files there: lazily, before the stack goes
system('umount', '-l', $dir);
undef $dir;
Kanban::Test->done_testing;
