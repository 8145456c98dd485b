#!/usr/bin/perl

# The shipped rate limits against a person working fast in the web UI:
# an nginx with the API zone's figures of conf/kanbanctl (the rate and
# burst `make run` ships), a project with enough on it to look at, and
# t/browser/session/*.test.mjs going through every screen quickly, thrice,
# as one project manager, expecting no 429 (README, "Rate limits").

use strict;
use warnings;

use File::Temp qw(tempdir);
use IPC::Run qw(run timeout);
use JSON::XS;
use Test::More;

use lib 't/lib';
use Kanban::Test;

my $ROOT = $Kanban::Test::ROOT;
my $CHROMIUM = $ENV{KANBAN_CHROMIUM} // '/usr/bin/chromium';
my $TIMEOUT = 150;

my ($node) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';
plan skip_all => 'no node in PATH (make deps installs nodejs)' unless $node;
plan skip_all => "no Chromium at $CHROMIUM" unless -x $CHROMIUM;
plan skip_all => 'the web UI is not built (make ui)'
    unless -e "$ROOT/html/dist/index.html";
plan skip_all => 't/browser/node_modules is missing (t/run installs it)'
    unless -e "$ROOT/t/browser/node_modules/playwright-core/package.json";

# what make run ships: kanbanctl's defaults
my $ctl = Kanban::Test::read_file("$ROOT/conf/kanbanctl");
my ($rate) = $ctl =~ /^API_RATE=\$\{KANBAN_API_RATE:-([^}]+)\}/m;
my ($burst) = $ctl =~ /^API_BURST=\$\{KANBAN_API_BURST:-(\d+)\}/m;
ok($rate && $burst, "the shipped API limits: rate $rate, burst $burst");
# KANBAN_API_BURST=100 shows what a smaller burst would do
$burst = $ENV{KANBAN_API_BURST} if $ENV{KANBAN_API_BURST};

my $t = Kanban::Test->new(api_rate => $rate, api_burst => $burst)->run;
my $ws = $t->workspace(prefix => 'heavy');
my $admin = $ws->admin;
my $pia = $ws->member('Pia Manager', 'project_manager');

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}\n" unless $r->{status} =~ /^20[01]$/;
    return $r->{json};
}

# the admin fills a project (the admin's own bucket, not Pia's)
my $p = made($ws->api($admin, POST => '/api/v1/projects', json => {
    key => 'OPS', name => 'Operations', status => 'active' }), 'project');
my @cols = @{ made($ws->api($admin,
    GET => "/api/v1/projects/$p->{id}/columns"), 'columns')->{items} };
my @tasks;
for my $i (1 .. 24) {
    push @tasks, made($ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
        json => { title => "Operations task $i",
                  column_id => $cols[$i % @cols]{id},
                  assignee_ids => [ $pia->{id} ] }), "task $i");
}
made($ws->api($admin, POST => "/api/v1/tasks/$tasks[0]{id}/comments",
              json => { body => 'Have a look at this one.' }), 'comment');

my $dir = tempdir('session-XXXXXX', DIR => $Kanban::Test::TMP,
                  CLEANUP => !$ENV{KANBAN_TEST_LEAVE});
Kanban::Test::write_file("$dir/fixture.json", JSON::XS->new->utf8->encode({
    base => 'http://' . $ws->slug . '.localhost:' . $t->port,
    chromium => $CHROMIUM,
    email => $pia->{email},
    project => $p->{id},
    task => $tasks[0]{title},
    rate => $rate, burst => $burst,
}));
local $ENV{KANBAN_BROWSER_FIXTURE} = "$dir/fixture.json";
local $ENV{TMPDIR} = $dir;
delete local $ENV{LD_PRELOAD};

my ($out, $err) = ('', '');
my @files = sort glob "$ROOT/t/browser/session/*.test.mjs";
my $ran = eval {
    run([ $node, '--test', '--test-reporter=tap', @files ],
        '<', \undef, '>', \$out, '2>', \$err, timeout($TIMEOUT));
    1;
};
my $status = $ran ? $? >> 8 : "killed after ${TIMEOUT}s: $@";
my $seen = 0;
for (split /\n/, $out) {
    diag($1) if /^# (?:\\# )?(\d+ API requests.*)$/;
    next unless /^(not )?ok \d+ - (.*?)(?: # (SKIP|TODO).*)?$/;
    $seen++;
    ok(!$1, "browser: $2");
}
ok($seen, 'the session test ran');
is($status, 0, 'node --test t/browser/session succeeded')
    or diag("node --test said:\n$out\n$err");

Kanban::Test::done_testing();
